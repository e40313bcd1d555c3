"""BehaviorTree.CPP v4's decorators and leaves that py_trees lacks, and its pre- and post-conditions.

Each mirrors the BT.CPP node of the same name (``include/behaviortree_cpp/decorators/*.h``,
``actions/*.h``, ``TreeNode::executeTick`` of BT.CPP 4.8), checked against the real library in
test/test_btcpp_import.py. Skipped behaviours end with SUCCESS and ``skipped = True`` (see
:mod:`behaviors.composites`). Scripts are :class:`~executive.language.expressions.Program` of the
``btcpp`` dialect, evaluated as BT.CPP's script interpreter does (:mod:`executive.language.btcpp_script`).
"""
import re

import py_trees
from py_trees.common import Status
from py_trees.decorators import Decorator

from behaviors import decorators
from behaviors.basics import BlackboardEnv, _BlackboardUser, _keys
from behaviors.clock import UsesMissionTime
from behaviors.composites import SKIPPED, PassesSkipped, Ported, forget, halt, idle, tick_child
from behaviors.failures import SCRIPT, Failure
from executive.language import btcpp_script
from executive.language.expressions import EvalError


class Invert(PassesSkipped, decorators.Invert):
    """:class:`behaviors.decorators.Invert`; a skipped child makes it skipped (BT.CPP's Inverter)."""


class ForceSuccess(PassesSkipped, decorators.ForceSuccess):
    """:class:`behaviors.decorators.ForceSuccess`; a skipped child makes it skipped."""


class ForceFailure(PassesSkipped, decorators.ForceFailure):
    """:class:`behaviors.decorators.ForceFailure`; a skipped child makes it skipped."""


class Timeout(PassesSkipped, decorators.Timeout):
    """:class:`behaviors.decorators.Timeout`; a skipped child makes it skipped."""


class Repeat(Ported, decorators.Repeat):
    """:class:`behaviors.decorators.Repeat` ticked as BT.CPP's Repeat: a child that succeeded at
    once gives the tick back (RUNNING) and runs again in the next; one that succeeded after running
    runs again in the same tick. A skipped child makes it skipped."""

    def step(self):
        if self.status != Status.RUNNING:
            self.count = 0
        while self.times == -1 or self.count < self.times:
            idle = self.decorated.status != Status.RUNNING
            result = yield from tick_child(self.decorated)
            if result == SKIPPED:
                self.decorated.stop(Status.INVALID)
                self.feedback_message = ""
                return SKIPPED
            if result == Status.FAILURE:
                forget([self.decorated])
            if result != Status.SUCCESS:
                self.feedback_message = f"failed after {self._done()}" if result == Status.FAILURE \
                    else f"{self._done()} done"
                return result
            self.count += 1
            forget([self.decorated])
            if self.until is not None and self.until.holds(self.env):
                break
            if idle and (self.times == -1 or self.count < self.times):
                self.feedback_message = f"{self._done()} done"
                return Status.RUNNING
        self.feedback_message = ""
        return Status.SUCCESS


class RetryUntilSuccessful(Ported, Decorator):
    """BT.CPP's RetryUntilSuccessful: a failed child runs again at once, up to ``max_attempts``
    attempts in all (-1 forever, 0 fails without running it). A child that failed at once gives
    the tick back (RUNNING) first, as BT.CPP does. A retry with a backoff or failure reasons is
    :class:`RetryWithBackoff`.

    Status:
        SUCCESS: the child succeeded
        RUNNING: the child is running, or failed and runs again in the next tick
        FAILURE: the child failed on the last attempt (its reason is the retry's)
        skipped: the child was skipped
    """

    def __init__(self, name, child, max_attempts):
        super().__init__(name=name, child=child)
        self.max_attempts, self.failed = int(max_attempts), 0

    def checkpoint(self, clock) -> dict:
        """For a resume (executive/resume.py): the attempts that failed."""
        return {"failed": self.failed}

    def restore(self, state: dict, clock) -> None:
        self.failed = int(state["failed"])

    def step(self):
        if self.status != Status.RUNNING:
            self.failed = 0
        while self.max_attempts == -1 or self.failed < self.max_attempts:
            idle = self.decorated.status != Status.RUNNING
            result = yield from tick_child(self.decorated)
            if result == SKIPPED:
                self.decorated.stop(Status.INVALID)
                return SKIPPED
            if result == Status.SUCCESS:
                forget([self.decorated])
            if result != Status.FAILURE:
                self.feedback_message = "" if result == Status.SUCCESS else self.decorated.feedback_message
                return result
            forget([self.decorated])
            self.failed += 1
            more = self.max_attempts == -1 or self.failed < self.max_attempts
            self.feedback_message = f"attempt {self.failed} failed" if more else f"gave up after {self.failed} attempts"
            if idle and more:
                return Status.RUNNING
        return Status.FAILURE


class RetryWithBackoff(PassesSkipped, decorators.RetryWithBackoff):
    """:class:`behaviors.decorators.RetryWithBackoff`; a skipped child makes it skipped (BT.CPP's
    RetryUntilSuccessful)."""


def _board(behaviour, programs):
    """A blackboard env for ``programs``' reads and writes, on a client of ``behaviour``."""
    keys = {}
    for program in programs:
        if program is not None:
            keys.update({k: a for k, a in _keys(program).items() if keys.get(k) != py_trees.common.Access.WRITE})
    client = behaviour.attach_blackboard_client(name=behaviour.name)
    for key, access in keys.items():
        client.register_key(key=key, access=access)
    return BlackboardEnv(client)


class ScriptError(RuntimeError):
    """A pre- or post-condition could not be evaluated (BT.CPP throws from the tick)."""


class Conditions(Ported, Decorator):
    """BT.CPP's pre- and post-conditions of a node (its ``_failureIf``, ``_successIf``, ``_skipIf``,
    ``_while``, ``_onSuccess``, ``_onFailure``, ``_onHalted``, ``_post`` attributes) around the
    behaviour ``child`` they were written on.

    Before a tick of a child that is not running, in this order: ``failure_if`` true ends it with
    FAILURE, ``success_if`` true with SUCCESS, ``skip_if`` true skips it, ``while_true`` false skips
    it; none of these ticks the child. While it runs, ``while_true`` turning false halts it (and
    runs ``on_halted``) and skips it. After it ended with SUCCESS or FAILURE (by a condition or by
    its own tick), ``on_success`` or ``on_failure`` runs, then ``post``; when it is halted,
    ``on_halted``. A condition or script that cannot be evaluated fails this with reason
    ``script`` (BT.CPP throws). A skipped child is shown skipped too (status SUCCESS, ``skipped``),
    though it was not ticked: it is the node the mission's author wrote the condition on.
    """

    PRE = ("failure_if", "success_if", "skip_if", "while_true")
    same_node = True        # one BT.CPP node with its child: reset together (composites.forget)
    POST = ("on_success", "on_failure", "on_halted", "post")

    def __init__(self, name, child, **scripts):
        super().__init__(name=name, child=child)
        unknown = set(scripts) - set(self.PRE + self.POST)
        if unknown:
            raise ValueError(f"{name}: unknown conditions {sorted(unknown)}")
        self.scripts = {k: v for k, v in scripts.items() if v is not None}
        self.env = _board(self, self.scripts.values())
        self.failure = None

    def _run(self, which):
        program = self.scripts.get(which)
        if program is None:
            return None
        try:
            return btcpp_script.run(program, self.env)
        except EvalError as exc:
            raise ScriptError(f"{program.text.strip()}: {exc.message}") from None

    def _holds(self, which) -> bool:
        try:
            return btcpp_script.to_bool(self._run(which))
        except EvalError as exc:
            raise ScriptError(f"{self.scripts[which].text.strip()}: {exc.message}") from None

    def step(self):
        self.failure = None
        try:
            result = self._pre()
        except ScriptError as exc:
            return self._error(exc)
        if result is None:
            self.decorated.skipped = False      # (shown skipped by an earlier tick of this)
            result = yield from tick_child(self.decorated)
        elif result == SKIPPED:     # the node written is the one shown skipped (its tick never ran)
            self.decorated.status, self.decorated.skipped = Status.SUCCESS, True
        if result in (Status.SUCCESS, Status.FAILURE):
            try:
                self._run("on_success" if result == Status.SUCCESS else "on_failure")
                self._run("post")
            except ScriptError as exc:
                return self._error(exc)
        self.feedback_message = self.decorated.feedback_message if result == Status.RUNNING else ""
        return result

    def _pre(self):
        """The status a pre-condition gives (the child not ticked), or None."""
        if idle(self):      # BT.CPP checks them only on a node IDLE or SKIPPED
            for which, status in (("failure_if", Status.FAILURE), ("success_if", Status.SUCCESS),
                                  ("skip_if", SKIPPED)):
                if which in self.scripts and self._holds(which):
                    return status
            if "while_true" in self.scripts and not self._holds("while_true"):
                return SKIPPED
        elif self.status == Status.RUNNING and "while_true" in self.scripts and not self._holds("while_true"):
            self.decorated.stop(Status.INVALID)
            self._run("on_halted")
            return SKIPPED
        return None

    def _error(self, exc):
        halt(self.decorated)
        self.failure = Failure(SCRIPT, str(exc))
        self.feedback_message = self.failure.message
        return Status.FAILURE

    def stop(self, new_status=Status.INVALID):
        was_running = self.status == Status.RUNNING
        super().stop(new_status)
        if new_status == Status.INVALID and was_running:
            try:
                self._run("on_halted")
            except ScriptError as exc:
                self.logger.warning(str(exc))


class KeepRunningUntilFailure(Ported, Decorator):
    """BT.CPP's KeepRunningUntilFailure: RUNNING while the child runs or succeeds (it starts
    again on the next tick); FAILURE when it fails. A skipped child leaves it RUNNING."""

    def step(self):
        result = yield from tick_child(self.decorated)
        if result in (Status.SUCCESS, Status.FAILURE):
            forget([self.decorated])
        return Status.FAILURE if result == Status.FAILURE else Status.RUNNING


class RunOnce(Ported, Decorator):
    """BT.CPP's RunOnce: the child runs to its end once; afterwards this is skipped
    (``then_skip``, BT.CPP's default) or returns the child's final status without ticking it."""

    def __init__(self, name, child, then_skip=True):
        super().__init__(name=name, child=child)
        self.then_skip = bool(then_skip)
        self.final_status = None

    def step(self):
        if self.final_status is not None:
            return SKIPPED if self.then_skip else self.final_status
        result = yield from tick_child(self.decorated)
        if result in (Status.SUCCESS, Status.FAILURE):
            self.final_status = result
            forget([self.decorated])
        return result


class Precondition(Ported, Decorator):
    """BT.CPP's Precondition: when the ``if`` script holds (checked until the child starts) the
    child runs to its end and this ends as it does; otherwise this returns ``otherwise`` (a
    Status or SKIPPED; BT.CPP's ``else``) without ticking it."""

    def __init__(self, name, child, check, otherwise=Status.FAILURE):
        super().__init__(name=name, child=child)
        self.check, self.otherwise = check, otherwise
        self.env = _board(self, [check])
        self._running = False
        self.failure = None

    def step(self):
        self.failure = None
        if not self._running:
            try:
                self._running = btcpp_script.to_bool(btcpp_script.run(self.check, self.env))
            except EvalError as exc:
                self.failure = Failure(SCRIPT, f"{self.check.text.strip()}: {exc.message}")
                return Status.FAILURE
        if not self._running:
            return self.otherwise
        result = yield from tick_child(self.decorated)
        if result in (Status.SUCCESS, Status.FAILURE):
            self._running = False
            forget([self.decorated])
        return result

    def stop(self, new_status=Status.INVALID):
        if new_status == Status.INVALID:
            self._running = False
        super().stop(new_status)


class Delay(UsesMissionTime, Ported, Decorator):
    """BT.CPP's Delay: RUNNING for ``seconds`` of mission time, then the child runs and this ends
    as it does (the next run waits again)."""

    def __init__(self, name, child, seconds, clock=None):
        super().__init__(name=name, child=child)
        self.seconds = float(seconds)
        if clock is not None:
            self.clock = clock
        self._until = None

    def step(self):
        if self._until is None:
            self._until = self.clock() + self.seconds
        left = self._until - self.clock()
        if left > 0:
            self.wake_in(left)
            self.feedback_message = f"{left:.1f} s before starting"
            return Status.RUNNING
        self.feedback_message = ""
        result = yield from tick_child(self.decorated)
        if result in (Status.SUCCESS, Status.FAILURE):
            self._until = None
            forget([self.decorated])
        return result

    def stop(self, new_status=Status.INVALID):
        if new_status == Status.INVALID:
            self._until = None
        super().stop(new_status)


class Loop(Ported, Decorator):
    """BT.CPP's LoopInt/LoopDouble/LoopString/LoopBool: each run takes a copy of ``queue``; while
    the child is not running, the next value is taken from it and written to blackboard ``key``,
    and the child runs. RUNNING while values are left, or after the child ended (the next tick
    takes the next value); FAILURE when the child fails; ``if_empty`` (a Status or SKIPPED) once
    no value is left."""

    def __init__(self, name, child, queue, key, if_empty=Status.SUCCESS):
        super().__init__(name=name, child=child)
        self.queue, self.key, self.if_empty = list(queue), key, if_empty
        self.client = self.attach_blackboard_client(name=name)
        self.client.register_key(key=key, access=py_trees.common.Access.WRITE)
        self._left, self._child_running = [], False

    def step(self):
        if idle(self):      # a copy of the queue for each run; one that ended keeps its (empty) copy
            self._left, self._child_running = list(self.queue), False
        if not self._child_running:
            if not self._left:
                return self.if_empty
            self.client.set(self.key, self._left.pop(0), overwrite=True)
            self.feedback_message = f"{len(self.queue) - len(self._left)} of {len(self.queue)}"
        result = yield from tick_child(self.decorated)
        self._child_running = result == Status.RUNNING
        if result in (Status.SUCCESS, Status.FAILURE):
            forget([self.decorated])
        return Status.FAILURE if result == Status.FAILURE else Status.RUNNING


class Always(py_trees.behaviour.Behaviour):
    """BT.CPP's AlwaysSuccess / AlwaysFailure: ``status`` at once, every tick."""

    def __init__(self, name, status: Status):
        super().__init__(name)
        self.result = status

    def update(self):
        return self.result


class UnsetBlackboard(_BlackboardUser):
    """BT.CPP's UnsetBlackboard: removes entry ``key`` (nothing when it is not set). Always SUCCESS."""

    def __init__(self, name, key):
        super().__init__(name, {key: py_trees.common.Access.WRITE})
        self.key = key

    def update(self):
        self.blackboard.unset(self.key)
        return Status.SUCCESS


_INT = re.compile(r"-?\d+")
_REAL = re.compile(r"-?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf(inity)?|nan)", re.IGNORECASE)


def switch_matches(value, case: str) -> bool:
    """BT.CPP's Switch comparison (``details::CheckStringEquality``) of a blackboard value (as
    BT.CPP writes it as text) and a case: equal text, else equal leading integers, else leading
    reals within float epsilon."""
    try:
        text = btcpp_script.to_text(btcpp_script.read(value))
    except EvalError:
        return False
    if text == case:
        return True
    left, right = _INT.match(text), _INT.match(case)
    if left and right and int(left[0]) == int(right[0]) and abs(int(left[0])) < 2 ** 31:
        return True
    left, right = _REAL.match(text), _REAL.match(case)
    return bool(left and right) and abs(float(left[0]) - float(right[0])) <= btcpp_script.FLT_EPSILON
