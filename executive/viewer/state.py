"""What the browser viewer shows of a run, as plain JSON-able dicts built on the executor thread.

Nothing here keeps a reference to a py_trees or rclpy object: :func:`snapshot` copies what the page
needs (the HTTP threads read only these copies).
"""
import json

from py_trees.common import Status

from behaviors.messages import to_data
from executive.run import kind_of

VALUE_LIMIT = 200       # characters of a blackboard value's repr
BLACKBOARD_LIMIT = 200  # keys shown
FEEDBACK_LIMIT = 500
DATA_LIMIT = 4000       # characters of a running action's latest feedback message, as JSON
SAYS = ("RUNNING", "FAILURE")   # statuses whose feedback message is shown (a finished leaf has nothing left)


def display(value, limit: int = VALUE_LIMIT) -> str:
    """A blackboard value as people read it: JSON for plain data and messages (``true``,
    ``"dock"``, ``{"x": 1.0}``), else ``repr``; cut to ``limit`` characters."""
    try:
        text = json.dumps(to_data(value), ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        return safe_repr(value, limit)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def safe_repr(value, limit: int = VALUE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters; a repr that raises is named, not propagated."""
    try:
        text = repr(value)
    except Exception as exc:        # a user's object with a broken __repr__ must not stop the tick
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def active_ids(run) -> set:
    """Ids of the behaviours from the run's root down to its tip (the active path)."""
    tip = run.root.tip()
    ids = set()
    while tip is not None:
        ids.add(tip.id)
        if tip is run.root:
            break
        tip = tip.parent
    return ids


def feedback_data(behaviour) -> str:
    """The latest action feedback message of a running action leaf as compact JSON ('' if none)."""
    message = getattr(behaviour, "feedback", None)
    if message is None or behaviour.status != Status.RUNNING:
        return ""
    try:
        text = json.dumps(to_data(message), default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        text = safe_repr(message, DATA_LIMIT)
    return text if len(text) <= DATA_LIMIT else text[:DATA_LIMIT - 1] + "…"


def blackboard(storage: dict) -> dict:
    """The blackboard's keys (sorted) with their values as :func:`display` shows them."""
    keys = sorted(storage, key=str)[:BLACKBOARD_LIMIT]
    return {str(k): display(storage[k]) for k in keys}


def result_of(run):
    if run.result is None:
        return None
    return dict(outcome=run.result.outcome, failed_behavior=run.result.failed_behavior,
                message=run.result.message, errors=list(run.result.errors))


def shown_status(run, behaviour) -> str:
    """What the page shows: the run's status of ``behaviour`` (a finished one keeps its outcome;
    HALTED, SKIPPED), see executive/run.py."""
    return run.shown_status(behaviour)


def snapshot(run, storage: dict) -> dict:
    """The run as the page draws it: the tree in pre-order (``parent`` is an index into ``nodes``,
    -1 for the root), the active path, the blackboard ``storage``, state, progress and result."""
    active = active_ids(run)
    index = {}
    nodes = []
    for b in run.behaviours:
        index[b.id] = len(nodes)
        parent = index.get(b.parent.id, -1) if b.parent is not None and b is not run.root else -1
        status = shown_status(run, b)
        nodes.append(dict(id=index[b.id], parent=parent, name=run.paths[b.id].rsplit("/", 1)[-1], kind=kind_of(b),
                          leaf=not b.children, path=run.paths[b.id], status=status, active=b.id in active,
                          feedback=(b.feedback_message or "")[:FEEDBACK_LIMIT] if status in SAYS else "",
                          data=feedback_data(b) if not b.children else ""))
    return dict(live=True, mission=run.mission.name, file=str(run.mission.file or ""), run_id=run.run_id,
                state=run.state, tick=run.ticks, elapsed=round(run.elapsed(), 3),
                progress=round(run.progress(), 4), active_path=run.active_path(), nodes=nodes,
                running=[n["path"] for n in nodes if n["leaf"] and n["status"] == Status.RUNNING.name],
                blackboard=blackboard(storage), result=result_of(run),
                root_cause=run.root_cause or (run.result.failed_behavior if run.result else ""))


def idle() -> dict:
    """What a live executive with no run yet shows."""
    return dict(live=True, state="idle", nodes=[], blackboard={}, result=None, run_id="")
