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
"""
import py_trees
from py_trees.common import Status

STATUS = {"SUCCESS": Status.SUCCESS, "FAILURE": Status.FAILURE}


def _memory_composite(behaviour) -> bool:
    return isinstance(behaviour, (py_trees.composites.Sequence, py_trees.composites.Selector)) and \
        getattr(behaviour, "memory", False)


def capture(root, paths: dict, clock) -> dict:
    """{path: state} for every behaviour under ``root`` that holds progress (see the module's table)."""
    states = {}
    stack = [root]
    while stack:
        behaviour = stack.pop()
        stack.extend(behaviour.children)
        state = _state_of(behaviour, clock)
        if state:
            states[paths[behaviour.id]] = state
    return states


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


def interrupted_leaves(events) -> list:
    """Paths of the leaves a run's log shows running when it stopped (they will run again)."""
    last = {}
    for event in events:
        if event.get("event") == "status" and event.get("leaf"):
            last[event["path"]] = event["status"]
    return [path for path, status in last.items() if status == "RUNNING"]
