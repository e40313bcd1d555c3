"""Decorators py_trees lacks. Use py_trees' own (Timeout, Repeat, Inverter, OneShot, ...) first.
"""
import random
import time

from py_trees.common import Status
from py_trees.decorators import Decorator

from behaviors.failures import failure_of


class RetryWithBackoff(Decorator):
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
                 jitter=0.0, seed=None, retry_on=None, no_retry_on=(), clock=time.monotonic):
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
        self._clock = clock
        self.attempt = 0
        self.delays = []            # the waits chosen in this run, for the log and tests
        self._resume_at = None

    def initialise(self):
        self.attempt = 1
        self.delays = []
        self._resume_at = None

    def tick(self):
        if self.status != Status.RUNNING:
            self.initialise()
        if self._resume_at is not None:
            remaining = self._resume_at - self._clock()
            if remaining > 0:
                self.feedback_message = f"attempt {self.attempt} failed; retrying in {remaining:.1f} s"
                self.status = Status.RUNNING
                yield self
                return
            self._resume_at = None
            self.attempt += 1
        yield from self.decorated.tick()
        new_status = self.update()
        if new_status != Status.RUNNING:
            self.stop(new_status)
        self.status = new_status
        yield self

    def update(self):
        child = self.decorated.status
        if child != Status.FAILURE:
            self.feedback_message = f"attempt {self.attempt}/{self.max_attempts}: {child.value}"
            return child
        _, failure = failure_of(self.decorated)
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
        self._resume_at = self._clock() + delay
        self.feedback_message = f"attempt {self.attempt} failed ({reason}); retrying in {delay:.1f} s"
        return Status.RUNNING
