"""One run of a mission: its tree, its log, its progress, its ending. No rclpy here: the host (the
executive node) owns ROS and when to tick; a run ticks its tree, records what each tick did and
decides what it meant.

States: ``running`` -> (``paused`` <-> ``running``) -> ``halting`` (its tree stopped, waiting for the
goals it cancelled to end) -> ``done``; or ``running`` -> ``done`` when the tree finishes, through
``halting`` when its end stopped branches whose goals have not ended yet (logged as ``settling``).

**Shown status.** py_trees resets a finished behaviour to INVALID when its parent restarts or stops
it, and a halt resets everything. What a run shows (log, snapshots, views) is each behaviour's latest
status in the run instead: ``RUNNING``, ``SUCCESS``, ``FAILURE``, ``HALTED`` (stopped while running),
``SKIPPED``, or ``INVALID`` (never run). Status changes are logged in tick order, so the log reads as
cause before effect.

**Root cause.** A failed run names the first failure in tick order that a decorator did not cause
(``failed_behavior``, ``failure``), and lists every failure that explains it (``failures``: each
option of a failed fallback, in order); see :func:`behaviors.failures.causes`.

**Time.** The run's :class:`~behaviors.clock.MissionClock` stops while the run is paused, so
timeouts, waits and retry backoff count only unpaused time; pause spans are in the log.

**Checkpoints.** After every tick in which a leaf finished, the run logs a ``checkpoint`` (see
executive/resume.py) and syncs its log to disk, so that an interrupted run can be resumed from it
(a resumed run is built by the host with the tree already set back: ``origin["resumed_from"]``).
"""
import math
import time
from dataclasses import dataclass, field

import py_trees
from py_trees.common import Status
from py_trees.decorators import Decorator

from behaviors import failures
from behaviors.clock import MissionClock
from behaviors.failures import FailureTracker
from behaviors.leaf import GoalBook, RemoteLeaf, release
from behaviors.messages import to_data
from executive import resume
from executive.runlog import process_identity

SUCCEEDED, FAILED, INVALID, CANCELED, UNREACHABLE = "succeeded", "failed", "invalid", "canceled", "unreachable"
ERROR, INTERRUPTED = "error", "interrupted"    # an internal fault; the executive stopped mid-mission
RUNNING, PAUSED, HALTING, DONE = "running", "paused", "halting", "done"
# Shown statuses (names as in the log, the snapshots' BehaviorState and the views).
SHOWN = ("INVALID", "RUNNING", "SUCCESS", "FAILURE", "HALTED", "SKIPPED")
BLACKBOARD_EVENT_PERIOD = 1.0   # s: the most often one key's changes are logged, between checkpoints
TERMINAL = (Status.SUCCESS, Status.FAILURE)


@dataclass
class RunResult:
    outcome: str
    failed_behavior: str = ""
    message: str = ""
    errors: list = field(default_factory=list)
    failure: dict = None        # the root cause's Failure record (reason, message, status, error_code)
    run_id: str = ""            # the run's log directory name; empty when no run started
    failures: list = field(default_factory=list)   # every failure that explains it: {path, reason, message}
    resumed_from: str = ""      # the run this one resumed (its run id), if it is a resume


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


def progress_of(behaviour) -> float:
    """How much of ``behaviour``'s work is done, 0..1, from the live statuses: a sequence counts its
    finished children and the running one's share, a parallel averages its children, a fallback
    its running option, ``repeat`` its rounds (a behaviour may define ``progress(child_share)``)."""
    if behaviour.status == Status.SUCCESS:
        return 1.0
    children = behaviour.children
    if not children:
        return 0.0
    if hasattr(behaviour, "progress"):
        child = children[0]
        return behaviour.progress(0.0 if child.status == Status.SUCCESS else progress_of(child))
    if isinstance(behaviour, py_trees.decorators.Repeat):
        child = behaviour.decorated
        share = 0.0 if child.status == Status.SUCCESS else progress_of(child)
        return min(1.0, (behaviour.success + share) / max(1, behaviour.num_success))
    if isinstance(behaviour, py_trees.composites.Sequence):
        done = sum(c.status == Status.SUCCESS for c in children)
        running = next((c for c in children if c.status == Status.RUNNING), None)
        return (done + (progress_of(running) if running is not None else 0.0)) / len(children)
    if isinstance(behaviour, py_trees.composites.Parallel):
        return sum(progress_of(c) for c in children) / len(children)
    if isinstance(behaviour, py_trees.composites.Selector):
        return max((progress_of(c) for c in children if c.status == Status.RUNNING), default=0.0)
    return progress_of(children[0])     # decorators: their child's share


class MissionRun:
    """A compiled mission being run; ``log`` is a :class:`~executive.runlog.RunLog` or None;
    ``node_name`` is the host's fully qualified node name, logged so that a restarted executive
    finds the runs it left unfinished. ``origin`` says how it was asked for, for a resume:
    ``overrides`` (the ``name=value`` strings), ``text`` (the mission's YAML when given as text),
    ``resumed_from`` and ``auto_resumed``; ``clock`` is the clock a resumed tree was set back on."""

    def __init__(self, mission, root, log=None, goal_id: str = "", node_name: str = "", origin: dict = None,
                 clock: MissionClock = None):
        self.mission = mission
        self.root = root
        self.log = log
        self.goal_id = goal_id
        self.paths = paths_of(root)
        self.behaviours = list(pre_order(root))
        self.leaves = [b for b in self.behaviours if not b.children]
        self.clock = clock or MissionClock()
        origin = origin or {}
        self.resumed_from = origin.get("resumed_from", "")
        self.goals = GoalBook()
        self.failures = FailureTracker()
        self.state = RUNNING
        self.result = None
        self.ticks = 0
        self.started = time.monotonic()
        self.interrupted = []           # leaves stopped by a pause, sent again on resume
        self.halt_reason = None
        self.halt_timeout = 10.0        # s to wait for cancelled goals to end (the host sets it)
        self.root_cause = None          # path of the behaviour the failure is attributed to
        self._settled_result = None     # the tree's own result, while waiting for its stopped goals
        self._halt_outcome = CANCELED
        self._halt_deadline = 0.0
        self._index = {b.id: b for b in self.behaviours}
        self._shown = {b.id: "INVALID" for b in self.behaviours}
        self._feedback = {b.id: b.feedback_message for b in self.behaviours}
        self._changed = False
        self._final_progress = None
        self._blackboard = {}           # key -> (value as last logged, when)
        self._blackboard_due = {}       # key -> value changed but not logged yet (rate limit)
        self._completed = set()         # leaves that finished at least once
        self._remote = [b for b in self.behaviours if hasattr(b, "open_goals")]
        self._ended_in_tick = set()     # ids of behaviours the current tick visited that ended
        self._shown_running = {}        # id -> behaviour shown RUNNING: only these change unticked
        self._full_pass = True          # the next after_tick looks at every behaviour (a restore came first)
        self._observed = False          # begin_tick ran since the last after_tick: observe saw the tick
        self.progressed = False         # the last tick made progress (see observe)
        self.checkpoints = 0
        self._stateful = resume.stateful(self.behaviours)   # the behaviours a checkpoint looks at
        self._checkpoint_due = bool(self.resumed_from)  # a resumed run's first checkpoint: where it starts
        directory = getattr(log, "directory", None)     # a test's log may be any object with write()
        sources = resume.record_sources(directory, mission.sources, origin.get("text")) if directory else {}
        self._write("run_started", mission=mission.name, file=mission.file, parameters=mission.parameters,
                    overrides=list(origin.get("overrides") or []), run_id=self.run_id, goal_id=goal_id,
                    node=node_name, process=process_identity(), tree=self.structure(), **sources,
                    resumed_from=self.resumed_from, auto_resumed=bool(origin.get("auto_resumed")))

    def structure(self) -> list:
        """The tree's shape, pre-order: ``{path, name, kind, leaf, parent}`` per behaviour, ``parent``
        the index of its parent in this list (-1 for the root). Logged in ``run_started`` so that a
        log alone can redraw the tree (``mission view``)."""
        index = {b.id: i for i, b in enumerate(self.behaviours)}
        return [dict(path=self.paths[b.id], name=b.name, kind=kind_of(b), leaf=not b.children,
                     parent=index.get(b.parent.id, -1) if b.parent is not None and b is not self.root else -1)
                for b in self.behaviours]

    def setup_kwargs(self) -> dict:
        """What the run gives its behaviours' ``setup`` besides the host's node and wake (see
        :mod:`behaviors.leaf`): its clock, its goal book, the event hook and the halt timeout."""
        return dict(clock=self.clock, goals=self.goals, events=self.on_leaf_event, halt_timeout=self.halt_timeout)

    # -- hooks for the leaves ---------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.log.run_id if self.log else ""

    def on_leaf_event(self, behaviour, name, data):
        self._write(name, path=self.paths.get(behaviour.id, behaviour.name), **data)

    def _write(self, event, **data):
        if self.log is not None:
            self.log.write(event, **data)

    def note(self, event, **data):
        """Log an event that may arrive after the run ended (a late cancel request, say)."""
        if self.log is not None:
            self.log.write_late(event, **data)

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

    def shown_status(self, behaviour) -> str:
        """The behaviour's latest status in this run, one of :data:`SHOWN`."""
        return self._shown.get(behaviour.id, "INVALID")

    def progress(self) -> float:
        """Share of the mission's work done, 0..1: repeat rounds and the running leaf's place count;
        1.0 only on success, frozen at the end (a single failing leaf is 0, not 99%)."""
        if self.result is not None and self.result.outcome == SUCCEEDED:
            return 1.0
        if self._final_progress is not None:
            return self._final_progress
        return self._live_progress()

    def _live_progress(self) -> float:
        """progress_of the tree, below 1.0; 0.0 if it cannot be had (a count too big for a float):
        progress is for people, and must never keep a run from halting or finishing."""
        try:
            return min(0.99, progress_of(self.root))
        except (ArithmeticError, ValueError, TypeError):
            return 0.0

    def open_goals(self) -> list:
        """Every goal of the run not yet ended on its server: ``{path, goal_id, server, state,
        abandoned}`` (see :meth:`behaviors.actions.ActionClient.open_goals`)."""
        return [dict(path=self.paths[b.id], **g) for b in self._remote for g in b.open_goals()]

    def goals_in_flight(self) -> int:
        return len(self.open_goals())

    # -- ticking ---------------------------------------------------------------------------------
    def tick(self) -> bool:
        """Tick the tree once, recording each behaviour's status in tick order. True when the tick
        changed a status or a feedback message (a snapshot is due)."""
        self.begin_tick()
        for behaviour in self.root.tick():
            self.observe(behaviour)
        return self.after_tick()

    def tick_until_idle(self, tick_once=None, max_ticks: int = 1, budget: float = math.inf) -> tuple:
        """Tick until nothing can progress without an outside event (see :meth:`observe`), for at
        most ``max_ticks`` ticks and ``budget`` seconds. ``tick_once()`` (default :meth:`tick`)
        ticks once and returns whether something changed. Returns ``(changed, more)``: whether a
        status or feedback message changed, and whether the last tick made progress that the bounds
        cut short (the host ticks again soon, after serving what waits meanwhile). ``max_ticks=1``
        is the classic one tick per round."""
        tick_once = tick_once or self.tick
        changed = False
        started = time.monotonic()
        for _ in range(max_ticks):
            changed = tick_once() or changed
            if not self.progressed or self.state != RUNNING:
                return changed, False
            if time.monotonic() - started > budget:
                break
        return changed, True

    def begin_tick(self):
        """A tick of the tree begins (called by :meth:`tick`, or a tree visitor's initialise)."""
        self.failures.ticks += 1
        self._ended_in_tick.clear()
        self._observed = True
        self.progressed = False

    def observe(self, behaviour):
        """A behaviour was just ticked (called in tick order, by :meth:`tick` or a tree visitor).

        The tick made progress, so that ticking again at once may do more, when a behaviour
        reached a terminal status it was not shown with (its parent, or a condition reading what
        it wrote, moves on in the next tick), or when a decorator is still RUNNING after its child
        ended in this tick: a loop (repeat, retry) that runs the child again. A condition that keeps
        its result, a leaf that sent a request or waits for one, a retry waiting out its backoff:
        none is progress; the tree then sleeps until a callback, a deadline or the periodic tick."""
        status = behaviour.status
        if status in TERMINAL:
            self._ended_in_tick.add(behaviour.id)
            if self._shown.get(behaviour.id) != status.name:
                self.progressed = True
        elif status == Status.RUNNING and isinstance(behaviour, Decorator) and \
                behaviour.decorated.id in self._ended_in_tick:
            self.progressed = True
        if behaviour.id in self._index:
            self.failures.observe(behaviour)
            if behaviour.status != Status.INVALID:      # a skipped one ended SUCCESS, shown SKIPPED (BT.CPP)
                self._show(behaviour, "SKIPPED" if getattr(behaviour, "skipped", False) else behaviour.status.name)
            if behaviour.feedback_message != self._feedback[behaviour.id]:
                self._feedback[behaviour.id] = behaviour.feedback_message
                self._changed = True

    def after_tick(self) -> bool:
        """Record what the tick changed and finish the run if the tree finished. True if any
        behaviour's status or feedback message changed (a snapshot is due)."""
        self.ticks += 1
        self.failures.forget_reset()
        self.goals.poll()
        # A tick nobody observed (the root ticked directly, then after_tick) is read in full.
        changed = self.record_changes(full=self._full_pass or not self._observed)
        self._full_pass = self._observed = False
        if self._checkpoint_due and self.root.status == Status.RUNNING:
            self.checkpoint()
        if self.root.status in (Status.SUCCESS, Status.FAILURE):
            self._final_progress = self._live_progress()
            result = self._result_of_tree()
            left = self.goals_in_flight()
            if left:    # e.g. a parallel's other branches, stopped: their goals were just cancelled
                self._settle(result, left)
            else:
                self._finish(result)
        return changed

    def checkpoint(self):
        """Log where the run is (executive/resume.py) and sync the log to disk: after a tick in which
        a leaf finished, when the tree is between steps (a checkpoint taken inside a tick could name
        a sequence's finished child as still to run)."""
        self._checkpoint_due = False
        if self.log is None:
            return
        self.checkpoints += 1
        self._write(resume.CHECKPOINT, states=resume.capture(self.root, self.paths, self.clock, self._stateful))
        if hasattr(self.log, "sync"):
            self.log.sync()

    def _settle(self, result: RunResult, left: int):
        """The tree ended with goals still in flight: end the run (with ``result``) only once they
        have, so that a result always means the mission has nothing left running on any robot."""
        self.state = HALTING
        self._settled_result = result
        self._halt_deadline = time.monotonic() + self.halt_timeout
        self._write("settling", outcome=result.outcome, goals_in_flight=left)

    def record_changes(self, full: bool = True) -> bool:
        """Catch what ticks did not show: behaviours reset while running (HALTED), statuses changed
        outside a tick (a pause, a halt, a restore), feedback messages, blackboard changes. True if
        anything shown changed since the last call. After a tick (``full=False``) only those
        shown RUNNING are looked at: :meth:`observe` saw the ones the tick visited, and one neither
        ticked nor running changes nothing shown (its parent stops it only while it runs); a tree
        of hundreds of finished behaviours would otherwise pay a pass over all of them per tick."""
        behaviours = self.behaviours if full else list(self._shown_running.values())
        for behaviour in behaviours:
            status = behaviour.status
            if status == Status.INVALID:
                if self._shown[behaviour.id] == "RUNNING":
                    self._show(behaviour, "HALTED")
            elif getattr(behaviour, "skipped", False):
                self._show(behaviour, "SKIPPED")
            else:
                self._show(behaviour, status.name)
            if behaviour.feedback_message != self._feedback[behaviour.id]:
                self._feedback[behaviour.id] = behaviour.feedback_message
                self._changed = True
        self._log_blackboard()
        changed, self._changed = self._changed, False
        return changed

    def _show(self, behaviour, status: str):
        previous = self._shown[behaviour.id]
        if status == previous:
            return
        self._shown[behaviour.id] = status
        if status == "RUNNING":
            self._shown_running[behaviour.id] = behaviour
        elif previous == "RUNNING":
            del self._shown_running[behaviour.id]
        self._feedback[behaviour.id] = behaviour.feedback_message
        self._changed = True
        leaf = not behaviour.children
        if leaf and status in ("SUCCESS", "FAILURE"):
            self._completed.add(behaviour.id)
        data = dict(path=self.paths[behaviour.id], kind=kind_of(behaviour), leaf=leaf, previous=previous,
                    status=status, feedback=behaviour.feedback_message)
        failure = getattr(behaviour, "failure", None)
        if status == "FAILURE" and failure is not None:
            data["failure"] = failure.as_dict()
        self._write("status", **data)
        if leaf and status in ("SUCCESS", "FAILURE"):
            self._log_blackboard(checkpoint=True)
            self._checkpoint_due = True

    def _log_blackboard(self, checkpoint: bool = False):
        """Log blackboard keys whose value changed: at most once per BLACKBOARD_EVENT_PERIOD per key,
        and every pending change when a leaf finishes (a checkpoint)."""
        if self.log is None:
            return
        now = time.monotonic()
        for key, value in py_trees.blackboard.Blackboard.storage.items():
            logged = self._blackboard.get(key)
            if logged is not None and (logged[0] is value or _same(logged[0], value)):
                self._blackboard_due.pop(key, None)
                continue
            self._blackboard_due[key] = value
        for key in list(self._blackboard_due):
            logged = self._blackboard.get(key)
            if checkpoint or logged is None or now - logged[1] >= BLACKBOARD_EVENT_PERIOD:
                value = self._blackboard_due.pop(key)
                self._blackboard[key] = (value, now)
                self._write("blackboard", key=key, value=to_data(value))

    def _result_of_tree(self) -> RunResult:
        if self.root.status == Status.SUCCESS:
            return RunResult(SUCCEEDED, message="mission succeeded")
        found = self.failures.causes(self.root)
        listed = [dict(path=self.paths.get(b.id, b.name), reason=f.reason, message=f.message) for b, f in found
                  if f is not None]
        behaviour, failure = found[0] if found else (self.root, None)
        if failure is None:     # nothing below recorded a reason: the deepest failure says why in words
            path = self.paths.get(behaviour.id, behaviour.name)
            self.root_cause = path
            return RunResult(FAILED, path, f"{path} failed: {behaviour.feedback_message or 'no reason given'}")
        path = self.paths.get(behaviour.id, behaviour.name)
        self.root_cause = path
        outcome = {failures.SERVER_UNAVAILABLE: UNREACHABLE, failures.INTERNAL_ERROR: ERROR}.get(failure.reason, FAILED)
        message = f"{path}: {failure}"
        if len(listed) > 1:
            message += "; also: " + "; ".join(f"{f['path']}: {f['reason']}" for f in listed[1:])
        return RunResult(outcome, path, message, failure=failure.as_dict(), failures=listed)

    def _finish(self, result: RunResult):
        result.run_id = self.run_id
        result.resumed_from = self.resumed_from
        problem = getattr(self.log, "problem", "")     # never silently: the result says the log is incomplete
        if problem:
            result.message = f"{result.message} (run log incomplete: {problem})"
        self.result = result
        self.state = DONE
        self._log_blackboard(checkpoint=True)
        self._write("run_finished", outcome=result.outcome, failed_behavior=result.failed_behavior,
                    message=result.message, failure=result.failure, failures=result.failures,
                    seconds=round(self.elapsed(), 4), paused_seconds=round(self.clock.paused_seconds(), 4),
                    progress=round(self.progress(), 4))
        if self.log is not None:
            self.log.close()

    # -- pause, halt ----------------------------------------------------------------------------
    def pause(self, cancel_goals: bool) -> tuple:
        """(paused, message): True when the run was running and is now paused."""
        if self.state != RUNNING:
            return False, f"cannot pause a run that is {self.state}"
        self.state = PAUSED
        self.clock.pause()
        self.interrupted = []
        if cancel_goals:
            for leaf in self.leaves:
                if isinstance(leaf, RemoteLeaf) and leaf.status == Status.RUNNING:
                    leaf.stop(Status.INVALID)       # cancels its goal; ticked again it sends a new one
                    self.interrupted.append(self.paths[leaf.id])
        self._write("paused", cancel_goals=cancel_goals, interrupted=self.interrupted)
        self.record_changes()
        return True, "paused" + (f"; cancelled {', '.join(self.interrupted)}" if self.interrupted else "")

    def resume(self) -> tuple:
        """(resumed, message): True when the run was paused and now runs again."""
        if self.state != PAUSED:
            return False, f"cannot resume a run that is {self.state}"
        self.state = RUNNING
        span = self.clock.resume()
        self._write("resumed", resend=self.interrupted, paused_seconds=round(span, 4))
        return True, "resumed" + (f"; sending again {', '.join(self.interrupted)}" if self.interrupted else "")

    def halt(self, reason: str, timeout: float, outcome: str = CANCELED):
        """Stop the tree (its leaves cancel their goals) and wait up to ``timeout`` s for those goals."""
        if self.state in (HALTING, DONE):
            return
        if self.state == PAUSED:
            self.clock.resume()
        self.state = HALTING
        self.halt_reason = reason
        self._halt_outcome = outcome
        self._halt_deadline = time.monotonic() + timeout
        self._write("halting", reason=reason, outcome=outcome, active=self.active_path())
        self._final_progress = self._live_progress()
        self.root.stop(Status.INVALID)
        self.record_changes()

    def poll_halt(self) -> bool:
        """While halting: True (and the run done) once no goal is in flight or the wait is over.
        Goals still open then are logged (``goal_abandoned``) and named in the result's message."""
        if self.state != HALTING:
            return self.done
        left = self.open_goals()
        if left and time.monotonic() < self._halt_deadline:
            return False
        for goal in left:
            self._write("goal_abandoned", **goal)
        self._write("halted", goals_in_flight=len(left))
        note = "; ".join(_describe_open(g) for g in left)
        result = self._settled_result
        if result is None:
            result = RunResult(self._halt_outcome, message="; ".join(filter(None, [self.halt_reason, note])))
        elif note:
            result.message = f"{result.message}; {note}"
        self._finish(result)
        return True

    def abandon(self, result: RunResult):
        """End the run at once with ``result``, without waiting for anything (its tree could not
        even be stopped: an internal fault). Its open goals are logged as abandoned."""
        try:
            left = self.open_goals()
        except Exception:
            left = []
        for goal in left:
            self._write("goal_abandoned", **goal)
        self._finish(result)

    def shutdown(self):
        """Release the leaves' clients; call once the run is done and its tree discarded."""
        release(self.root)


def _describe_open(goal: dict) -> str:
    short = goal["goal_id"][:8]
    if goal["state"] == "unanswered":
        return f"goal {short} to {goal['server']} was never answered; it may still start"
    return f"goal {short} on {goal['server']} was still {goal['state']} after the halt timeout"


def _same(a, b) -> bool:
    """Equal plain values (a message is compared by identity only: comparing it is not cheap)."""
    plain = (bool, int, float, str, type(None))
    return isinstance(a, plain) and isinstance(b, plain) and type(a) is type(b) and a == b


def invalid(errors) -> RunResult:
    return RunResult(INVALID, message=f"invalid mission: {len(errors)} error(s)", errors=[str(e) for e in errors])
