"""Small behaviours that need no ROS: blackboard conditions, set, wait, log; and the comparison
language shared by conditions and result checks.

Comparisons are ``(path, operator, value)`` with operators ``== != < <= > >= in not_in`` and
nothing else: no expressions are evaluated.
"""
import math
import operator

import py_trees
from py_trees.common import Access, Status

from behaviors.clock import UsesMissionTime
from behaviors.failures import CONDITION, Failure
from behaviors.messages import get_path

OPERATORS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "in": lambda a, b: a in b, "not_in": lambda a, b: a not in b,
}


class Check:
    """``path operator value`` evaluated against a message or plain data."""

    def __init__(self, path: str, op: str, value):
        if op not in OPERATORS:
            raise ValueError(f"unknown comparison {op!r}; use one of {' '.join(OPERATORS)}")
        self.path, self.op, self.value = path, op, value
        self._compare = OPERATORS[op]

    def holds(self, data) -> bool:
        """True when the comparison holds; a missing path or incomparable types do not hold."""
        try:
            return bool(self._compare(get_path(data, self.path) if self.path else data, self.value))
        except (KeyError, IndexError, TypeError):
            return False

    def describe(self, data) -> str:
        try:
            actual = get_path(data, self.path) if self.path else data
        except (KeyError, IndexError, TypeError):
            actual = "<missing>"
        return f"{self.path or 'value'} {self.op} {self.value!r} does not hold (it is {actual!r})"

    def __repr__(self):
        return f"Check({self.path!r} {self.op} {self.value!r})"


class _BlackboardUser(py_trees.behaviour.Behaviour):
    def __init__(self, name, keys: dict):
        super().__init__(name)
        self.blackboard = self.attach_blackboard_client(name=name)
        for key, access in keys.items():
            self.blackboard.register_key(key=key, access=access)


class CheckBlackboard(_BlackboardUser):
    """Compare a blackboard value (or a field of it) with a constant.

    SUCCESS when the comparison holds; FAILURE when it does not or the key is not set. Never RUNNING.
    """

    def __init__(self, name: str, key: str, op: str, value, field: str = ""):
        super().__init__(name, {key: Access.READ})
        self.key = key
        self.check = Check(field, op, value)
        self.failure = None

    def update(self):
        self.failure = None
        if not self.blackboard.exists(self.key):
            self.failure = Failure(CONDITION, f"blackboard key {self.key} is not set")
            return Status.FAILURE
        data = self.blackboard.get(self.key)
        if self.check.holds(data):
            return Status.SUCCESS
        self.failure = Failure(CONDITION, f"{self.key}: {self.check.describe(data)}")
        self.feedback_message = self.failure.message
        return Status.FAILURE


class SetBlackboard(_BlackboardUser):
    """Write a constant to the blackboard. Always SUCCESS."""

    def __init__(self, name: str, key: str, value):
        super().__init__(name, {key: Access.WRITE})
        self.key, self.value = key, value

    def update(self):
        self.blackboard.set(self.key, self.value, overwrite=True)
        return Status.SUCCESS


class Wait(UsesMissionTime, py_trees.behaviour.Behaviour):
    """RUNNING for ``duration`` seconds of mission time after it starts (time while the mission is
    paused does not count), then SUCCESS. Never blocks a tick: while RUNNING it asks the host to
    tick it when the time is up (``wake_in``)."""

    def __init__(self, name: str, duration: float, clock=None):
        super().__init__(name)
        self.duration = float(duration)
        if clock is not None:
            self.clock = clock
        self._until = 0.0
        self._shown = None

    def initialise(self):
        self._until = self.clock() + self.duration
        self._shown = None

    def checkpoint(self, clock) -> dict:
        """For a resume (executive/resume.py): the mission time left."""
        return {"left": max(0.0, self._until - self.clock())}

    def restore(self, state: dict, clock) -> None:
        self.clock = clock
        self._until = clock() + float(state["left"])
        self._shown = None

    def update(self):
        remaining = self._until - self.clock()
        if remaining <= 0:
            self.feedback_message = ""      # nothing is left once it has waited
            return Status.SUCCESS
        self.wake_in(remaining)
        # Whole seconds: a message that changed every tick would make every tick a tree change
        # (a snapshot published, a redraw) for nothing a person could read.
        seconds = math.ceil(remaining)
        if seconds != self._shown:
            self._shown = seconds
            self.feedback_message = f"{seconds} s left"
        return Status.RUNNING


class Log(py_trees.behaviour.Behaviour):
    """Write a message to the log at the given level. Always SUCCESS."""

    LEVELS = ("debug", "info", "warning", "error")

    def __init__(self, name: str, message: str, level: str = "info"):
        super().__init__(name)
        if level not in self.LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(self.LEVELS)}")
        self.message, self.level = message, level
        self._logger = None
        self._events = None

    def setup(self, **kwargs):
        node = kwargs.get("node")
        # A child logger (<node>.log): a host can set the missions' own messages' level apart from
        # its own (``mission run`` shows them in its live view instead).
        self._logger = node.get_logger().get_child("log") if node is not None else None
        self._events = kwargs.get("events")

    def update(self):
        if self._events is not None:
            self._events(self, "log", {"level": self.level, "message": self.message})
        if self._logger is not None:
            getattr(self._logger, "warn" if self.level == "warning" else self.level)(self.message)
        else:
            getattr(self.logger, "warning" if self.level == "warning" else self.level)(self.message)
        self.feedback_message = self.message
        return Status.SUCCESS
