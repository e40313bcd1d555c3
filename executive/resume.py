"""Checkpoints of a running tree, and a fresh tree set back to one: how an interrupted run (a
crash, SIGKILL, a power cut, a shutdown) continues where it left off instead of from zero.

A checkpoint holds, per behaviour path, what a behaviour must remember to carry on:

=======================================  ==================================================
behaviour                                state
=======================================  ==================================================
sequence / fallback with memory,         ``{"at": i}``: the child it was running
  running
parallel, running                        ``{"ended": {i: "SUCCESS"|"FAILURE"}}``: branches done
repeat (py_trees' and ours), running     ``{"count": n}``: rounds done
once (py_trees' OneShot), ended          ``{"final": "SUCCESS"|"FAILURE"}``: kept for the run
a behaviour with ``checkpoint()``        whatever it returns; ``restore(state, clock)`` takes it
                                         back (retry: attempt and backoff left; timeout and
                                         wait: mission time left)
=======================================  ==================================================

Leaves that were running are not in it: on resume they start again (their goals are sent again).
Reactive composites (``memory: false``) re-check from their first child anyway. Times are stored as
what was *left*, so time the executive was down does not count.

:func:`capture` runs on the executor thread after a tick; :func:`restore` on a tree compiled from
the same mission before its first tick. Nothing here imports ROS.

A run's log holds what a resume needs (executive/run.py writes it):

- ``run_started``: the mission (its file, or ``sources/goal.yaml`` for mission text), the
  overrides, and ``sources``: every file the mission was read from, with its SHA-256 and a copy
  under the run's ``sources/`` directory (a changed mission is refused with the difference named).
- ``checkpoint`` after every tick in which a leaf finished, synced to disk (``os.fsync``): the
  states above; the blackboard is in the ``blackboard`` events before it (whole, never cut).
- ``run_finished`` with outcome ``interrupted`` (a shutdown, or written by the next executive's
  sweep after a crash); ``resumed_as`` once a run has been resumed, naming the new run.

:func:`interrupted_run` reads all of it into an :class:`Interrupted`.
"""
import difflib
import functools
import hashlib
import pathlib
from dataclasses import dataclass, field

import py_trees
from py_trees.common import Status

from executive import runlog

CHECKPOINT = "checkpoint"
SOURCES_DIR = "sources"
GOAL_TEXT = "goal.yaml"         # the copy of a mission given as text
DIFFERENCES_SHOWN = 3           # differing lines named per changed file

STATUS = {"SUCCESS": Status.SUCCESS, "FAILURE": Status.FAILURE}


def _memory_composite(behaviour) -> bool:
    return isinstance(behaviour, (py_trees.composites.Sequence, py_trees.composites.Selector)) and \
        getattr(behaviour, "memory", False)


def capture(root, paths: dict, clock, behaviours=None) -> dict:
    """{path: state} for every behaviour under ``root`` that holds progress (see the module's table).
    ``behaviours``: the tree's :func:`stateful` ones, when the caller keeps them (a run does: it
    checkpoints after every leaf, and most of a big tree is leaves)."""
    states = {}
    for behaviour in stateful(root.iterate()) if behaviours is None else behaviours:
        state = _state_of(behaviour, clock)
        if state:
            states[paths[behaviour.id]] = state
    return states


def stateful(behaviours) -> list:
    """Those of ``behaviours`` that can hold progress (:func:`_state_of` is None for every other)."""
    return [b for b in behaviours if hasattr(b, "checkpoint") or _memory_composite(b) or
            isinstance(b, (py_trees.decorators.OneShot, py_trees.composites.Parallel, py_trees.decorators.Repeat))]


def _state_of(behaviour, clock):
    if hasattr(behaviour, "checkpoint"):
        return behaviour.checkpoint(clock) if behaviour.status == Status.RUNNING or \
            getattr(behaviour, "checkpoint_when_ended", False) else None
    if isinstance(behaviour, py_trees.decorators.OneShot):
        final = behaviour.final_status
        return {"final": final.name} if final in (Status.SUCCESS, Status.FAILURE) else None
    if behaviour.status != Status.RUNNING:
        return None
    if _memory_composite(behaviour) and behaviour.current_child is not None:
        return {"at": behaviour.children.index(behaviour.current_child)}
    if isinstance(behaviour, py_trees.composites.Parallel):
        ended = {i: c.status.name for i, c in enumerate(behaviour.children) if c.status in STATUS.values()}
        return {"ended": ended} if ended else {"ended": {}}
    if isinstance(behaviour, py_trees.decorators.Repeat):
        return {"count": behaviour.success}
    return None


class ResumeError(ValueError):
    """A checkpoint that does not fit the tree (the mission changed, or the log is not ours)."""


def restore(root, paths: dict, states: dict, clock) -> None:
    """Set a freshly compiled ``root`` to the checkpoint ``states`` (from :func:`capture` on the
    same mission): running composites at their child, loops at their round, timers with the time
    they had left on ``clock``. Raises ResumeError naming a path that is not in the tree or whose
    state does not fit it."""
    by_path = {path: b for b, path in ((b, paths[b.id]) for b in root.iterate())}
    for path in sorted(states, key=lambda p: p.count("/")):     # parents before children
        behaviour = by_path.get(path)
        if behaviour is None:
            raise ResumeError(f"the checkpoint names {path!r}, which the mission's tree does not have")
        try:
            _restore_one(behaviour, states[path], clock)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ResumeError(f"{path}: the checkpoint's state {states[path]!r} does not fit ({exc})") from None


def _restore_one(behaviour, state: dict, clock):
    if hasattr(behaviour, "restore"):
        behaviour.restore(state, clock)
    elif "final" in state:
        behaviour.final_status = STATUS[state["final"]]
        behaviour.status = behaviour.final_status
        return
    elif "at" in state:
        behaviour.current_child = behaviour.children[int(state["at"])]
    elif "ended" in state:
        for index, status in state["ended"].items():
            behaviour.children[int(index)].status = STATUS[status]
    elif "count" in state:
        behaviour.success = int(state["count"])
    else:
        raise ValueError("an unknown kind of state")
    behaviour.status = Status.RUNNING


# -- the run log's side ----------------------------------------------------------------------------
def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def record_sources(run_dir, sources: dict, text: str = None) -> dict:
    """Copy a mission's files into ``run_dir/sources`` and describe them for ``run_started``:
    ``{"sources": [{path, sha256, copy}], "text": copy of the mission text or None}``. ``sources``
    is path -> text of every file read (the model's ``sources``); ``text`` a mission given as text.
    A copy that cannot be written is left out (the hash still guards the resume)."""
    directory = pathlib.Path(run_dir) / SOURCES_DIR
    listed, copied_text = [], None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        directory = None
    for number, (path, content) in enumerate(sorted(sources.items())):
        copy = f"{SOURCES_DIR}/{number:02d}_{pathlib.Path(path).name}"
        listed.append(dict(path=str(path), sha256=sha256(content), copy=_write(directory, copy, content)))
    if text is not None:
        copied_text = _write(directory, f"{SOURCES_DIR}/{GOAL_TEXT}", text)
    return dict(sources=listed, text=copied_text)


def _write(directory, relative: str, content: str):
    if directory is None:
        return None
    try:
        (directory.parent / relative).write_text(content, encoding="utf-8")
        return relative
    except OSError:
        return None


@dataclass
class Interrupted:
    """An interrupted run, read from its log: what a resume starts from."""
    run_dir: pathlib.Path
    run_id: str
    started: dict                   # the run_started event
    states: dict                    # the last checkpoint's states ({} without a checkpoint: from the start)
    blackboard: dict                # key -> value as of the last checkpoint (plain data)
    again: list = field(default_factory=list)   # paths of leaves that will run again
    checkpoints: int = 0
    clock: object = None            # the MissionClock the tree was set back on (executive/node.py)
    auto: bool = False              # resumed by resume_interrupted at start

    @functools.cached_property
    def mission_text(self):
        """The mission's text when it was given as text (read from the run's copy), else None."""
        copy = self.started.get("text")
        return (self.run_dir / copy).read_text(encoding="utf-8") if copy else None

    @property
    def mission_file(self) -> str:
        return self.started.get("file", "")

    @property
    def overrides(self) -> list:
        return list(self.started.get("overrides") or [])


def interrupted_run(run_dir) -> Interrupted:
    """Read the run in ``run_dir`` for a resume. Raises ResumeError when it cannot be resumed: no
    log, not ended ``interrupted`` (still running, or ended otherwise), already resumed."""
    run_dir = pathlib.Path(run_dir)
    try:
        events = runlog.read(run_dir)
    except (OSError, ValueError) as exc:
        raise ResumeError(f"run {run_dir.name}: its log cannot be read ({exc})") from None
    if not events or events[0].get("event") != "run_started":
        raise ResumeError(f"run {run_dir.name}: its log does not start with run_started")
    ends = [e for e in events if e.get("event") == "run_finished"]
    resumed = [e.get("run_id") for e in events if e.get("event") == "resumed_as"]
    if resumed:
        raise ResumeError(f"run {run_dir.name} was resumed already, as {resumed[-1]}")
    if not ends:
        raise ResumeError(f"run {run_dir.name} has not ended: its executive may still run it (a killed one is "
                          "closed as interrupted when an executive of the same node name starts)")
    if ends[-1].get("outcome") != "interrupted":
        raise ResumeError(f"run {run_dir.name} ended {ends[-1].get('outcome')}; only interrupted runs resume "
                          "(stopped by a shutdown or a crash, not by a cancel)")
    last = max((i for i, e in enumerate(events) if e.get("event") == CHECKPOINT), default=-1)
    blackboard = {}
    for event in events[:last + 1]:
        if event.get("event") == "blackboard":
            blackboard[event["key"]] = event.get("value")
    states = events[last]["states"] if last >= 0 else {}
    return Interrupted(run_dir, run_dir.name, events[0], states, blackboard, _again(events, last),
                       sum(e.get("event") == CHECKPOINT for e in events))


def _again(events, last: int) -> list:
    """Leaves that will run again: running at the last checkpoint, or started after it (before a
    shutdown's halt, whose statuses are not the mission's doing)."""
    again = dict.fromkeys(_running_at(events[:last + 1]))
    for event in events[last + 1:]:
        if event.get("event") == "halting":
            break
        if event.get("event") == "status" and event.get("leaf") and event.get("status") == "RUNNING":
            again[event["path"]] = None
    return list(again)


def _running_at(events) -> list:
    last = {}
    for event in events:
        if event.get("event") == "status" and event.get("leaf"):
            last[event["path"]] = event["status"]
    return [p for p, s in last.items() if s == "RUNNING"]


def changed_sources(interrupted: Interrupted) -> list:
    """How the mission's files differ from when the run started, one sentence per file (empty
    when none changed): removed, unreadable, or the first lines that differ."""
    changes = []
    for source in interrupted.started.get("sources") or []:
        path = pathlib.Path(source["path"])
        try:
            now = path.read_text(encoding="utf-8")
        except OSError as exc:
            changes.append(f"{path}: cannot be read now ({exc.strerror or exc})")
            continue
        if sha256(now) == source["sha256"]:
            continue
        before = _copy(interrupted.run_dir, source.get("copy"))
        if before is None:
            changes.append(f"{path}: changed since the run started (no copy kept to compare)")
            continue
        lines = [line for line in difflib.unified_diff(before.splitlines(), now.splitlines(), lineterm="", n=0)
                 if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        first = _first_changed_line(before, now)
        shown = "; ".join(repr(line) for line in lines[:DIFFERENCES_SHOWN]) + \
            (f" (and {len(lines) - DIFFERENCES_SHOWN} more lines)" if len(lines) > DIFFERENCES_SHOWN else "")
        changes.append(f"{path}: changed since the run started, from line {first}: {shown}")
    return changes


def _first_changed_line(before: str, now: str) -> int:
    a, b = before.splitlines(), now.splitlines()
    for number, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            return number
    return min(len(a), len(b)) + 1


def _copy(run_dir, relative):
    if not relative:
        return None
    try:
        return (pathlib.Path(run_dir) / relative).read_text(encoding="utf-8")
    except OSError:
        return None


def not_safe_to_repeat(root, paths: dict, again) -> list:
    """Paths among ``again`` whose behaviour is marked ``safe_to_repeat: false``."""
    by_path = {paths[b.id]: b for b in root.iterate()}
    return [p for p in again if p in by_path and getattr(by_path[p], "safe_to_repeat", True) is False]


def find_run(log_dir, reference: str, node_name: str) -> pathlib.Path:
    """The run directory ``reference`` names: a run id (a directory of ``log_dir``), a path to a run
    directory, or empty for the newest run ``node_name`` started (whatever its end:
    :func:`interrupted_run` says whether it resumes); ``latest``: :func:`latest_interrupted`.
    Raises ResumeError when there is none."""
    log_dir = pathlib.Path(log_dir)
    if reference == "latest":
        return latest_interrupted(log_dir, node_name).run_dir
    if reference:
        if "/" in reference or reference in (".", ".."):
            path = pathlib.Path(reference)
        else:
            path = log_dir / reference
        if not (path / "events.jsonl").is_file():
            raise ResumeError(f"no run {reference!r} in {log_dir}")
        return path
    for path in reversed(runlog.run_dirs(log_dir)):
        if not node_name or runlog.first_event(path).get("node") == node_name:
            return path
    raise ResumeError(f"no run of {node_name or 'any executive'} in {log_dir}")


def plan_for(log_dir, reference: str, node_name: str) -> "Interrupted":
    """:func:`interrupted_run` of the run :func:`find_run` finds (each log read once)."""
    if reference == "latest":
        return latest_interrupted(log_dir, node_name)
    return interrupted_run(find_run(log_dir, reference, node_name))


def latest_interrupted(log_dir, node_name: str = "") -> "Interrupted":
    """The newest run in ``log_dir`` (of ``node_name``, or of any executive when empty) that can be
    resumed, read (see :func:`interrupted_run`). Raises ResumeError when there is none."""
    for path in reversed(runlog.run_dirs(log_dir)):
        if node_name and runlog.first_event(path).get("node") != node_name:
            continue
        try:
            return interrupted_run(path)
        except ResumeError:
            continue
    raise ResumeError(f"no interrupted run {'of ' + node_name + ' ' if node_name else ''}in {log_dir} "
                      "(only runs stopped by a shutdown or a crash resume, once)")
