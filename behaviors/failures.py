"""Why a behaviour failed: one record type and one table of reasons, shared by every leaf, decorator,
the executive, the run log and the views.

Every behaviour that *causes* a failure sets ``self.failure`` (a :class:`Failure`) when it returns
FAILURE: leaves for what their server or check did, decorators when they turn success or a running
child into failure (timeout, force_failure, invert). :func:`root_cause` finds the failure that
explains a failed subtree; retry decorators decide on its reason, and the executive reports it.

=====================  =========================================================================
reason                 meaning
=====================  =========================================================================
server_unavailable     no server within the leaf's ``server_timeout``
rejected               the action server refused the goal
aborted                the action server aborted the goal (preempted by another client included)
canceled               the goal was cancelled by someone else
timeout                a goal, call or goal request took longer than allowed, or a ``timeout``
                       decorator's time ran out (time while paused does not count)
server_lost            the server left the graph (or restarted and no longer has the goal)
result_lost            the goal ended, but neither its result nor its final status could be had
result_check           the goal succeeded, but its result failed the leaf's check
response               a service answered, and its response failed the leaf's check
invalid_goal           the goal or request could not be built (a blackboard key missing or unfit)
server_busy            the server still held a cancelled goal of this run past ``halt_timeout``
condition              a condition evaluated false (or its blackboard key is not set)
script                 a script statement could not be evaluated (a key not set, a type unfit)
forced_failure         ``force_failure``: the child succeeded and was turned into a failure
inverted               ``invert``: the child succeeded and was turned into a failure
internal_error         a fault of the executive itself (a bug) in one of the leaf's callbacks;
                       logged with its traceback (the mission's outcome is then ``error``)
=====================  =========================================================================
"""
from dataclasses import dataclass
from typing import Optional

from py_trees.common import Status

SERVER_UNAVAILABLE = "server_unavailable"
REJECTED = "rejected"
ABORTED = "aborted"
CANCELED = "canceled"
TIMEOUT = "timeout"
SERVER_LOST = "server_lost"
RESULT_LOST = "result_lost"
RESULT_CHECK = "result_check"
RESPONSE = "response"
INVALID_GOAL = "invalid_goal"
SERVER_BUSY = "server_busy"
CONDITION = "condition"
SCRIPT = "script"
FORCED_FAILURE = "forced_failure"
INVERTED = "inverted"
INTERNAL_ERROR = "internal_error"

REASONS = (SERVER_UNAVAILABLE, REJECTED, ABORTED, CANCELED, TIMEOUT, SERVER_LOST, RESULT_LOST, RESULT_CHECK,
           RESPONSE, INVALID_GOAL, SERVER_BUSY, CONDITION, SCRIPT, FORCED_FAILURE, INVERTED,
           INTERNAL_ERROR)
# Failures a decorator makes of its child's success: the root cause only when nothing else failed.
DECORATOR_REASONS = (FORCED_FAILURE, INVERTED)


@dataclass
class Failure:
    reason: str
    message: str
    status: Optional[str] = None       # the goal's final status name, for actions
    error_code: Optional[int] = None   # the result's error code, when it has one

    def __post_init__(self):
        if self.reason not in REASONS:
            raise ValueError(f"unknown failure reason {self.reason!r}; the table is behaviors.failures.REASONS")

    @property
    def by_decorator(self) -> bool:
        """A failure a decorator made of its child's success (not a timeout: that is real)."""
        return self.reason in DECORATOR_REASONS

    def as_dict(self) -> dict:
        # By hand: dataclasses.asdict deep-copies field by field, and a retry of instant failures
        # logs one of these per attempt.
        return {"reason": self.reason, "message": self.message, "status": self.status, "error_code": self.error_code}

    def __str__(self):
        code = f" (error {self.error_code})" if self.error_code not in (None, 0) else ""
        return f"{self.reason}{code}: {self.message}"


class FailureTracker:
    """Why each behaviour of a tree failed, recorded in tick order as the tree is ticked.

    py_trees resets finished behaviours to INVALID as their parents move on (a fallback clears its
    failed options when it tries the next one), so a failed tree no longer shows what failed under
    it. The tracker watches every behaviour as it is ticked (the order :meth:`tick` yields them,
    children before parents) and, when one fails, records what explains it then: its own failure
    record (a leaf, or a decorator that made the failure), or the explanations of its children that
    failed since it started this time. Use :meth:`tick` to tick a root through it.
    """

    def __init__(self):
        self.ticks = 0
        self._started = {}      # behaviour id -> tick its current activation began
        self._running = {}      # behaviour id -> behaviour, for those RUNNING when last seen
        self._why = {}          # behaviour id -> (tick, [(behaviour, Failure or None), ...])

    def tick(self, root):
        """Tick ``root`` once, watching every behaviour; yields them as ``root.tick()`` does."""
        self.ticks += 1
        for behaviour in root.tick():
            self.observe(behaviour)
            yield behaviour
        self.forget_reset()

    def observe(self, behaviour):
        """``behaviour`` was just ticked (call in tick order, once per yield)."""
        status, key = behaviour.status, behaviour.id
        if key not in self._running:
            self._started[key] = self.ticks
        if status == Status.RUNNING:
            self._running[key] = behaviour
        else:
            self._running.pop(key, None)
        if status == Status.FAILURE:
            self._why[key] = (self.ticks, self._explain(behaviour))

    def forget_reset(self):
        """Note behaviours reset without being ticked (stopped by a parent, a pause, a halt): their
        next run is a new activation. Only those last seen RUNNING can have been, so the tree is
        not walked."""
        for key, behaviour in list(self._running.items()):
            if behaviour.status == Status.INVALID:
                del self._running[key]

    def _explain(self, behaviour) -> list:
        own = getattr(behaviour, "failure", None)
        if own is not None:
            return [(behaviour, own)]
        since = self._started.get(behaviour.id, 0)
        found = []
        for child in behaviour.children:
            why = self._why.get(child.id)
            if why is not None and why[0] >= since:
                found.extend(why[1])
        return found or [(behaviour, None)]

    def causes(self, behaviour) -> list:
        """The (behaviour, Failure) pairs that explain ``behaviour``'s last failure, in tick order,
        failures a decorator made of a success last (see :func:`order`); empty if it never failed."""
        return order(self._why.get(behaviour.id, (0, []))[1])

    def root_cause(self, behaviour):
        """The first failure in tick order that a decorator did not cause; else the first a
        decorator caused; (behaviour, None) when nothing below recorded a reason."""
        found = self.causes(behaviour)
        return found[0] if found else (behaviour, None)


def order(explained: list) -> list:
    """Explanations with a reason first (those not made by a decorator, then those made by one),
    each group in tick order; failures without a reason last."""
    real = [c for c in explained if c[1] is not None and not c[1].by_decorator]
    made = [c for c in explained if c[1] is not None and c[1].by_decorator]
    return real + made + [c for c in explained if c[1] is None]
