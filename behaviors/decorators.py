"""Decorators py_trees lacks, and py_trees' own where ours must record why they fail.

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

import py_trees
from py_trees.common import Status
from py_trees.decorators import Decorator

from behaviors import failures
from behaviors.clock import UsesMissionTime
from behaviors.failures import Failure, FailureTracker


class RetryWithBackoff(UsesMissionTime, Decorator):
    """Retry a failing child up to ``max_attempts`` times, waiting longer between attempts.

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
        if max_attempts < 1:
            raise ValueError(f"{name}: max_attempts must be at least 1")
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
            running = child == Status.RUNNING and self.max_attempts > 1
            self.feedback_message = f"attempt {self.attempt} of {self.max_attempts}" if running else ""
            return child
        _, failure = self._failures.root_cause(self.decorated)
        reason = failure.reason if failure else None
        retryable = (self.retry_on is None or reason in self.retry_on) and reason not in self.no_retry_on
        if not retryable:
            self.feedback_message = f"not retrying a failure of reason {reason}"
            return Status.FAILURE
        if self.attempt >= self.max_attempts:
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


class Repeat(py_trees.decorators.Repeat):
    """py_trees' Repeat (the child to SUCCESS ``num_success`` times; FAILURE at its first failure)
    with feedback ``1 of 2 done`` while running and ``failed after 1 of 2`` on failure."""

    def update(self):
        status = super().update()
        if status == Status.RUNNING:
            self.feedback_message = f"{self.success} of {self.num_success} done"
        elif status == Status.FAILURE:
            self.feedback_message = f"failed after {self.success} of {self.num_success}"
        else:
            self.feedback_message = ""
        return status


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
