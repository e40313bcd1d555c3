"""Decorators py_trees lacks, and py_trees' own where ours must record why they fail.

- :class:`RetryWithBackoff` and :class:`Repeat` count as BT.CPP's RetryUntilSuccessful and
  Repeat do (0 runs nothing, -1 forever; py_trees' Repeat has neither).
- :class:`Refresh` calls a service leaf every few seconds in the background and keeps its last
  outcome on the blackboard, so a reactive condition checks fresh data.

Every decorator that turns its child's success or running into a failure records a
:class:`~behaviors.failures.Failure` (``self.failure``), so the failure has a reason that the result,
the log and ``retry_on`` see: :class:`Timeout` (``timeout``), :class:`Invert` (``inverted``, when the
child succeeded) and :class:`ForceFailure` (``forced_failure``). A failure that passes through a
decorator keeps its child's reason. Time counts mission time (paused time excluded; see
:mod:`behaviors.clock`).

Where py_trees writes a debugging text as the feedback message (``running [status: 0 success from
2]``, ``time still ticking ... [remaining: 1.99581...s]``), the subclasses here keep py_trees'
behaviour and say it in words: ``1 of 2 done``, ``2 s left``. A decorator that finished with SUCCESS
says nothing (nothing is left to do); one that failed says why; while its child runs, a decorator
that only maps outcomes shows the child's feedback.
"""
import math
import random

import time

import py_trees
from py_trees.common import Access, Status
from py_trees.decorators import Decorator

from behaviors import failures
from behaviors.clock import UsesMissionTime
from behaviors.failures import Failure, FailureTracker


class RetryWithBackoff(UsesMissionTime, Decorator):
    """Retry a failing child up to ``max_attempts`` times, waiting longer between attempts.
    As BT.CPP's RetryUntilSuccessful counts: 0 fails without running the child; -1 retries forever.

    The n-th wait is ``min(max_delay, initial_delay * factor**(n-1))``, scaled by a seeded random
    factor in ``[1 - jitter, 1 + jitter]``. While waiting the child is not ticked and no tick is
    blocked. Only failures whose reason (see :mod:`behaviors.failures`) is in ``retry_on`` (all, when
    None) and not in ``no_retry_on`` are retried.

    Status:
        SUCCESS: the child succeeded
        RUNNING: the child is running, or a failed attempt is waiting to be retried
        FAILURE: the child failed on its last allowed attempt, or with a reason not to retry
    """

    def __init__(self, name, child, max_attempts=3, initial_delay=1.0, factor=2.0, max_delay=30.0,
                 jitter=0.0, seed=None, retry_on=None, no_retry_on=(), clock=None):
        super().__init__(name=name, child=child)
        if max_attempts < -1:
            raise ValueError(f"{name}: max_attempts is a count (0 runs nothing) or -1 (forever)")
        if not 0.0 <= jitter < 1.0:
            raise ValueError(f"{name}: jitter must be in [0, 1)")
        self.max_attempts = int(max_attempts)
        self.initial_delay, self.factor, self.max_delay, self.jitter = initial_delay, factor, max_delay, jitter
        self.retry_on = None if retry_on is None else set(retry_on)
        self.no_retry_on = set(no_retry_on)
        self._random = random.Random(seed)
        if clock is not None:
            self.clock = clock
        self.attempt = 0
        self.delays = []            # the waits chosen in this run, for the log and tests
        self._resume_at = None
        self._failures = FailureTracker()   # why each attempt failed, seen as the child is ticked

    def initialise(self):
        self.attempt = 1
        self.delays = []
        self._resume_at = None

    def checkpoint(self, clock) -> dict:
        """For a resume (executive/resume.py): the attempt, and the backoff left (mission time)."""
        left = None if self._resume_at is None else max(0.0, self._resume_at - self.clock())
        return {"attempt": self.attempt, "backoff_left": left, "delays": list(self.delays)}

    def restore(self, state: dict, clock) -> None:
        self.clock = clock
        self.attempt = int(state["attempt"])
        self.delays = [float(d) for d in state.get("delays", [])]
        left = state.get("backoff_left")
        self._resume_at = None if left is None else clock() + float(left)

    def tick(self):
        if self.status != Status.RUNNING:
            self.initialise()
        if self.max_attempts == 0:
            self.feedback_message = "attempts: 0: the child is not run"
            self.stop(Status.FAILURE)
            yield self
            return
        if self._resume_at is not None:
            remaining = self._resume_at - self.clock()
            if remaining > 0:
                self.feedback_message = f"attempt {self.attempt} failed; retrying in {remaining:.1f} s"
                self.wake_in(remaining)
                self.status = Status.RUNNING
                yield self
                return
            self._resume_at = None
            self.attempt += 1
        yield from self._failures.tick(self.decorated)
        new_status = self.update()
        if new_status != Status.RUNNING:
            self.stop(new_status)
        self.status = new_status
        yield self

    def update(self):
        child = self.decorated.status
        if child != Status.FAILURE:
            running = child == Status.RUNNING and self.max_attempts != 1
            of = f" of {self.max_attempts}" if self.max_attempts != -1 else ""
            self.feedback_message = f"attempt {self.attempt}{of}" if running else ""
            return child
        _, failure = self._failures.root_cause(self.decorated)
        reason = failure.reason if failure else None
        retryable = (self.retry_on is None or reason in self.retry_on) and reason not in self.no_retry_on
        if not retryable:
            self.feedback_message = f"not retrying a failure of reason {reason}"
            return Status.FAILURE
        if self.max_attempts != -1 and self.attempt >= self.max_attempts:
            self.feedback_message = f"gave up after {self.attempt} attempts"
            return Status.FAILURE
        delay = min(self.max_delay, self.initial_delay * self.factor ** (self.attempt - 1))
        delay *= 1.0 + self._random.uniform(-self.jitter, self.jitter)
        self.delays.append(delay)
        self._resume_at = self.clock() + delay
        if delay > 0:           # else the host ticks again at once: this tick made progress
            self.wake_in(delay)
        self.feedback_message = f"attempt {self.attempt} failed ({reason}); retrying in {delay:.1f} s"
        return Status.RUNNING


class Repeat(Decorator):
    """Run the child to success ``times`` times, as BT.CPP's Repeat (``num_cycles``): 0 succeeds
    without running the child, -1 repeats until the child fails. ``until`` (a blackboard
    :class:`~executive.language.expressions.Check`), when given, is checked after each success.
    A success starts the child again on the next tick, never in the same one (a tick never loops).
    Feedback ``1 of 2 done`` while running, ``failed after 1 of 2`` on failure.

    Status:
        SUCCESS: the child succeeded ``times`` times, or ``until`` held after a success
        RUNNING: the child is running, or succeeded and runs again on the next tick
        FAILURE: the child failed (its reason is the repeat's)
    """

    def __init__(self, name, child, times=-1, until=None):
        super().__init__(name=name, child=child)
        if times < -1:
            raise ValueError(f"{name}: times is a count (0 runs nothing) or -1 (forever)")
        self.times, self.until = int(times), until
        self.count = 0
        self.env = None
        if until is not None:
            from behaviors.basics import BlackboardEnv

            client = self.attach_blackboard_client(name=name)
            for key in until.program.reads():
                client.register_key(key=BlackboardEnv.key(key), access=Access.READ)
            self.env = BlackboardEnv(client)

    def initialise(self):
        self.count = 0

    def tick(self):
        if self.times != 0:
            yield from super().tick()
            return
        self.feedback_message = ""
        self.stop(Status.SUCCESS)
        yield self

    def _done(self) -> str:
        return f"{self.count} of {self.times}" if self.times != -1 else f"{self.count}"

    def update(self):
        child = self.decorated.status
        if child == Status.FAILURE:
            self.feedback_message = f"failed after {self._done()}"
            return child
        if child != Status.SUCCESS:
            self.feedback_message = f"{self._done()} done"
            return child
        self.count += 1
        if (self.until is not None and self.until.holds(self.env)) or (self.times != -1 and self.count >= self.times):
            self.feedback_message = ""
            return Status.SUCCESS
        self.feedback_message = f"{self._done()} done"
        return Status.RUNNING

    def progress(self, child_share: float) -> float:
        """Rounds done (and the running one's share) of ``times``; 0 when it has no end."""
        if self.times <= 0:
            return 0.0
        return min(1.0, (self.count + child_share) / self.times)

    def checkpoint(self, clock) -> dict:
        """What a resumed run needs (executive/resume.py): the rounds done."""
        return {"count": self.count}

    def restore(self, state: dict, clock) -> None:
        self.count = int(state["count"])


def _passing(message: str, child) -> str:
    return f"{message}: {child.feedback_message}" if child.feedback_message else message


class Timeout(UsesMissionTime, Decorator):
    """Fail, stopping the child, when it has run ``duration`` seconds of mission time (time while
    the mission is paused does not count). Mirrors py_trees' Timeout, with a reason.

    Status:
        RUNNING: the child is running and time is left
        SUCCESS / FAILURE: the child's, when it finished in time (a failure keeps its reason)
        FAILURE: time ran out (reason ``timeout``); the child is stopped (its goal cancelled)
    """

    def __init__(self, name, child, duration: float):
        super().__init__(name=name, child=child)
        self.duration = float(duration)
        self.failure = None
        self._deadline = 0.0

    def initialise(self):
        self.failure = None
        self._deadline = self.clock() + self.duration
        self.feedback_message = ""

    def checkpoint(self, clock) -> dict:
        """For a resume (executive/resume.py): the mission time left."""
        return {"left": max(0.0, self._deadline - self.clock())}

    def restore(self, state: dict, clock) -> None:
        self.clock = clock
        self.failure = None
        self._deadline = clock() + float(state["left"])

    def update(self):
        child = self.decorated.status
        if child == Status.RUNNING and self.clock() >= self._deadline:
            self.decorated.stop(Status.INVALID)
            self.failure = Failure(failures.TIMEOUT, f"{self.decorated.name} did not finish within "
                                                     f"{self.duration:g} s")
            self.feedback_message = f"timed out after {self.duration:g} s"
            return Status.FAILURE
        # Whole seconds: a text that changed every tick would make every tick a tree change.
        self.feedback_message = f"{math.ceil(max(0.0, self._deadline - self.clock()))} s left" \
            if child == Status.RUNNING else ""
        if child == Status.RUNNING:
            self.wake_in(self._deadline - self.clock())
        return child


class Invert(Decorator):
    """Success becomes failure (reason ``inverted``) and failure success. Mirrors py_trees' Inverter."""

    def __init__(self, name, child):
        super().__init__(name=name, child=child)
        self.failure = None

    def update(self):
        child = self.decorated.status
        self.failure = None
        if child == Status.SUCCESS:
            self.failure = Failure(failures.INVERTED, f"{self.decorated.name} succeeded, and invert makes that a "
                                                      "failure")
            self.feedback_message = "succeeded, inverted to failure"
            return Status.FAILURE
        if child == Status.FAILURE:
            self.feedback_message = ""
            return Status.SUCCESS
        self.feedback_message = self.decorated.feedback_message
        return child


class ForceFailure(Decorator):
    """Success becomes failure (reason ``forced_failure``); a failure keeps its own reason.
    Mirrors py_trees' SuccessIsFailure and BT.CPP's ForceFailure."""

    def __init__(self, name, child):
        super().__init__(name=name, child=child)
        self.failure = None

    def update(self):
        child = self.decorated.status
        self.failure = None
        self.feedback_message = self.decorated.feedback_message if child == Status.RUNNING else \
            _passing("failed", self.decorated) if child == Status.FAILURE else ""
        if child == Status.SUCCESS:
            self.failure = Failure(failures.FORCED_FAILURE, f"{self.decorated.name} succeeded, and force_failure "
                                                            "makes that a failure")
            self.feedback_message = "succeeded, forced to failure"
            return Status.FAILURE
        return child


class ForceSuccess(Decorator):
    """Failure becomes success. Mirrors py_trees' FailureIsSuccess and BT.CPP's ForceSuccess."""

    def update(self):
        child = self.decorated.status
        self.feedback_message = _passing("failed, counted as success", self.decorated) \
            if child == Status.FAILURE else self.decorated.feedback_message if child == Status.RUNNING else ""
        return Status.SUCCESS if child == Status.FAILURE else child


class OneShot(py_trees.decorators.OneShot):
    """py_trees' OneShot (runs the child to completion once, then keeps that status) without its
    debugging text: nothing once it has succeeded."""

    def terminate(self, new_status):
        super().terminate(new_status)
        if self.feedback_message == "oneshot completed":
            self.feedback_message = ""


class Refresh(UsesMissionTime, Decorator):
    """Call a service leaf every ``every`` seconds (mission time) in the background of its parent,
    and keep its last outcome on the blackboard at ``key``::

        {ok: true/false, outcome: 'success'|'failure', response: <the response or None>,
         failure: {reason, message, ...} or None, count: calls so far, stamp: time.time()}

    A call starts when the last one started ``every`` seconds ago and ended; it runs over the
    following ticks while the decorator already reports SUCCESS, so the children after it in a
    ``memory: false`` sequence keep running. Halted (stopped INVALID by its parent), it abandons
    a pending call; started again, it waits for a fresh outcome.

    Status:
        RUNNING: the first call since it started has not ended
        SUCCESS: an outcome is on the blackboard (a condition after it decides what it means)
    """

    def __init__(self, name, child, every, key, clock=None, wall=time.time):
        super().__init__(name=name, child=child)
        if not every > 0:
            raise ValueError(f"{name}: every must be positive")
        self.every, self.key = float(every), key
        if clock is not None:
            self.clock = clock
        self._wall = wall
        self.blackboard = self.attach_blackboard_client(name=name)
        self.blackboard.register_key(key=key, access=Access.WRITE)
        self.record = None
        self.count = 0
        self._started_at = None

    def initialise(self):
        self.record = None
        self._started_at = None

    def tick(self):
        if self.status == Status.INVALID:
            self.initialise()
        child, now = self.decorated, self.clock()
        due = child.status != Status.RUNNING and (self._started_at is None or now - self._started_at >= self.every)
        if due or child.status == Status.RUNNING:
            if due:
                self._started_at = now
            yield from child.tick()
            if child.status in (Status.SUCCESS, Status.FAILURE):
                self._keep(child)
        if child.status != Status.RUNNING:      # be ticked when the next call is due
            self.wake_in(max(0.0, self._started_at + self.every - self.clock()))
        self.status = self.update()
        yield self

    def update(self):
        if self.record is None:
            self.feedback_message = "waiting for the first outcome"
            return Status.RUNNING
        self.feedback_message = ""
        return Status.SUCCESS

    def _keep(self, child):
        self.count += 1
        ok = child.status == Status.SUCCESS
        failure = getattr(child, "failure", None)
        self.record = {"ok": ok, "outcome": "success" if ok else "failure",
                       "response": getattr(child, "response", None),
                       "failure": None if ok or failure is None else failure.as_dict(),
                       "count": self.count, "stamp": self._wall()}
        self.blackboard.set(self.key, self.record, overwrite=True)
