"""One run of a mission: its tree, its log, its progress, its ending. No rclpy here: the host (the
executive node) owns time, ROS and the tick; a run only records and decides what a tick meant.

States: ``running`` -> (``paused`` <-> ``running``) -> ``halting`` (its tree stopped, waiting for the
goals it cancelled to end) -> ``done``; or ``running`` -> ``done`` when the tree finishes, through
``halting`` when its end stopped branches whose goals have not ended yet (logged as ``settling``).
"""
import time
from dataclasses import dataclass, field

from py_trees.common import Status

from behaviors import failures
from behaviors.failures import failure_of
from behaviors.leaf import RemoteLeaf, release

SUCCEEDED, FAILED, INVALID, CANCELED, UNREACHABLE = "succeeded", "failed", "invalid", "canceled", "unreachable"
ERROR, INTERRUPTED = "error", "interrupted"    # an internal fault; the executive stopped mid-mission
RUNNING, PAUSED, HALTING, DONE = "running", "paused", "halting", "done"


@dataclass
class RunResult:
    outcome: str
    failed_behavior: str = ""
    message: str = ""
    errors: list = field(default_factory=list)
    failure: dict = None        # the Failure record (reason, message, status, error_code)
    run_id: str = ""            # the run's log directory name; empty when no run started


def pre_order(behaviour):
    """``behaviour`` and everything under it, parents first (py_trees' iterate() is post-order)."""
    yield behaviour
    for child in behaviour.children:
        yield from pre_order(child)


def paths_of(root) -> dict:
    """behaviour id -> 'root/child/grandchild' for every behaviour under ``root``. Siblings of the
    same name (two unnamed ``navigate`` leaves, say) are told apart as ``navigate``, ``navigate#2``:
    the log, the report and the viewer key everything by path."""
    out = {}
    taken = set()
    for behaviour in pre_order(root):
        parent = out.get(behaviour.parent.id) if behaviour.parent is not None and behaviour is not root else None
        path = f"{parent}/{behaviour.name}" if parent else behaviour.name
        unique, n = path, 1
        while unique in taken:
            n += 1
            unique = f"{path}#{n}"
        taken.add(unique)
        out[behaviour.id] = unique
    return out


def kind_of(behaviour) -> str:
    node = getattr(behaviour, "mission_node", None)
    return node.kind if node is not None else type(behaviour).__name__


class MissionRun:
    """A compiled mission being run; ``log`` is a :class:`~executive.runlog.RunLog` or None."""

    def __init__(self, mission, root, log=None, goal_id: str = ""):
        self.mission = mission
        self.root = root
        self.log = log
        self.goal_id = goal_id
        self.paths = paths_of(root)
        self.behaviours = list(pre_order(root))
        self.leaves = [b for b in self.behaviours if not b.children]
        self.state = RUNNING
        self.result = None
        self.ticks = 0
        self.started = time.monotonic()
        self.interrupted = []           # leaves stopped by a pause, sent again on resume
        self.halt_reason = None
        self.halt_timeout = 10.0        # s to wait for cancelled goals to end (the host sets it)
        self._settled_result = None     # the tree's own result, while waiting for its stopped goals
        self._halt_outcome = CANCELED
        self._halt_deadline = 0.0
        self._seen = {b.id: (b.status, b.feedback_message) for b in self.behaviours}
        self._completed = set()         # leaves that finished at least once
        self._write("run_started", mission=mission.name, file=mission.file, parameters=mission.parameters,
                    run_id=self.run_id, goal_id=goal_id, tree=self.structure())

    def structure(self) -> list:
        """The tree's shape, pre-order: ``{path, name, kind, leaf, parent}`` per behaviour, ``parent``
        the index of its parent in this list (-1 for the root). Logged in ``run_started`` so that a
        log alone can redraw the tree (``mission view``)."""
        index = {b.id: i for i, b in enumerate(self.behaviours)}
        return [dict(path=self.paths[b.id], name=b.name, kind=kind_of(b), leaf=not b.children,
                     parent=index.get(b.parent.id, -1) if b.parent is not None and b is not self.root else -1)
                for b in self.behaviours]

    # -- hooks for the leaves ---------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.log.run_id if self.log else ""

    def on_leaf_event(self, behaviour, name, data):
        self._write(name, path=self.paths.get(behaviour.id, behaviour.name), **data)

    def _write(self, event, **data):
        if self.log is not None:
            self.log.write(event, **data)

    # -- what the host asks ----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def paused(self) -> bool:
        return self.state == PAUSED

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def active_path(self) -> str:
        tip = self.root.tip()
        return self.paths.get(tip.id, "") if tip is not None else ""

    def progress(self) -> float:
        """Share of the mission's leaves that have finished at least once; 1.0 only on success."""
        if self.result is not None and self.result.outcome == SUCCEEDED:
            return 1.0
        return min(0.99, len(self._completed) / max(1, len(self.leaves)))

    def goals_in_flight(self) -> int:
        return sum(b.goals_in_flight() for b in self.behaviours if hasattr(b, "goals_in_flight"))

    # -- ticking ---------------------------------------------------------------------------------
    def after_tick(self) -> bool:
        """Record what the tick changed and finish the run if the tree finished. True if any
        behaviour's status or feedback message changed (a snapshot is due)."""
        self.ticks += 1
        changed = self.record_changes()
        if self.root.status in (Status.SUCCESS, Status.FAILURE):
            result = self._result_of_tree()
            left = self.goals_in_flight()
            if left:    # e.g. a parallel's other branches, stopped: their goals were just cancelled
                self._settle(result, left)
            else:
                self._finish(result)
        return changed

    def _settle(self, result: RunResult, left: int):
        """The tree ended with goals still in flight: end the run (with ``result``) only once they
        have, so that a result always means the mission has nothing left running on any robot."""
        self.state = HALTING
        self._settled_result = result
        self._halt_deadline = time.monotonic() + self.halt_timeout
        self._write("settling", outcome=result.outcome, goals_in_flight=left)

    def record_changes(self) -> bool:
        changed = False
        for behaviour in self.behaviours:
            now = (behaviour.status, behaviour.feedback_message)
            before = self._seen[behaviour.id]
            if now == before:
                continue
            changed = True
            self._seen[behaviour.id] = now
            if now[0] == before[0]:
                continue
            leaf = not behaviour.children
            if leaf and now[0] in (Status.SUCCESS, Status.FAILURE):
                self._completed.add(behaviour.id)
            data = dict(path=self.paths[behaviour.id], kind=kind_of(behaviour), leaf=leaf,
                        previous=before[0].name, status=now[0].name, feedback=behaviour.feedback_message)
            failure = getattr(behaviour, "failure", None)
            if now[0] == Status.FAILURE and failure is not None:
                data["failure"] = failure.as_dict()
            self._write("status", **data)
        return changed

    def _result_of_tree(self) -> RunResult:
        if self.root.status == Status.SUCCESS:
            return RunResult(SUCCEEDED, message="mission succeeded")
        behaviour, failure = failure_of(self.root)
        path = self.paths.get(behaviour.id, behaviour.name)
        if failure is None:
            return RunResult(FAILED, path, f"{path} failed: {behaviour.feedback_message or 'no reason given'}")
        outcome = UNREACHABLE if failure.reason == failures.SERVER_UNAVAILABLE else FAILED
        return RunResult(outcome, path, f"{path}: {failure}", failure=failure.as_dict())

    def _finish(self, result: RunResult):
        result.run_id = self.run_id
        self.result = result
        self.state = DONE
        self._write("run_finished", outcome=result.outcome, failed_behavior=result.failed_behavior,
                    message=result.message, failure=result.failure, seconds=round(self.elapsed(), 4))
        if self.log is not None:
            self.log.close()

    # -- pause, halt ----------------------------------------------------------------------------
    def pause(self, cancel_goals: bool) -> str:
        if self.state != RUNNING:
            return f"cannot pause a run that is {self.state}"
        self.state = PAUSED
        self.interrupted = []
        if cancel_goals:
            for leaf in self.leaves:
                if isinstance(leaf, RemoteLeaf) and leaf.status == Status.RUNNING:
                    leaf.stop(Status.INVALID)       # cancels its goal; ticked again it sends a new one
                    self.interrupted.append(self.paths[leaf.id])
        self._write("paused", cancel_goals=cancel_goals, interrupted=self.interrupted)
        self.record_changes()
        return "paused" + (f"; cancelled {', '.join(self.interrupted)}" if self.interrupted else "")

    def resume(self) -> str:
        if self.state != PAUSED:
            return f"cannot resume a run that is {self.state}"
        self.state = RUNNING
        self._write("resumed", resend=self.interrupted)
        return "resumed" + (f"; sending again {', '.join(self.interrupted)}" if self.interrupted else "")

    def halt(self, reason: str, timeout: float, outcome: str = CANCELED):
        """Stop the tree (its leaves cancel their goals) and wait up to ``timeout`` s for those goals."""
        if self.state in (HALTING, DONE):
            return
        self.state = HALTING
        self.halt_reason = reason
        self._halt_outcome = outcome
        self._halt_deadline = time.monotonic() + timeout
        self._write("halting", reason=reason, active=self.active_path())
        self.root.stop(Status.INVALID)
        self.record_changes()

    def poll_halt(self) -> bool:
        """While halting: True (and the run done) once no goal is in flight or the wait is over."""
        if self.state != HALTING:
            return self.done
        left = self.goals_in_flight()
        if left and time.monotonic() < self._halt_deadline:
            return False
        self._write("halted", goals_in_flight=left)
        note = f"{left} goal(s) still in flight after the halt timeout" if left else ""
        result = self._settled_result
        if result is None:
            result = RunResult(self._halt_outcome, message="; ".join(filter(None, [self.halt_reason, note])))
        elif note:
            result.message = f"{result.message}; {note}"
        self._finish(result)
        return True

    def shutdown(self):
        """Release the leaves' clients; call once the run is done and its tree discarded."""
        release(self.root)


def invalid(errors) -> RunResult:
    return RunResult(INVALID, message=f"invalid mission: {len(errors)} error(s)", errors=[str(e) for e in errors])

