"""Small behaviours that need no ROS: blackboard conditions and scripts, set, wait, log.

Conditions and scripts take expressions compiled by :mod:`executive.language.expressions` (the
one place they are parsed and evaluated); :class:`BlackboardEnv` lets them read and write the
py_trees blackboard.
"""
import math

import py_trees
from py_trees.common import Access, Status

from behaviors.clock import UsesMissionTime
from behaviors.failures import CONDITION, SCRIPT, Failure
from executive.language.expressions import Check, EvalError, Program


class BlackboardEnv:
    """Expression names as keys of a py_trees blackboard client ('battery' is '/battery')."""

    def __init__(self, client):
        self.client = client

    @staticmethod
    def key(name: str) -> str:
        name = name.lstrip("@")
        return name if name.startswith("/") else f"/{name}"

    def exists(self, name) -> bool:
        return self.client.exists(self.key(name))

    def lookup(self, name):
        if not self.client.exists(self.key(name)):
            raise EvalError(f"blackboard key {name} is not set")
        return self.client.get(self.key(name))

    def assign(self, name, value):
        self.client.set(self.key(name), value, overwrite=True)


class _BlackboardUser(py_trees.behaviour.Behaviour):
    def __init__(self, name, keys: dict):
        super().__init__(name)
        self.blackboard = self.attach_blackboard_client(name=name)
        for key, access in keys.items():
            self.blackboard.register_key(key=key, access=access)


def _keys(program: Program, access=Access.READ) -> dict:
    """Blackboard keys a program reads (READ) and writes (WRITE, which py_trees lets read too)."""
    keys = {BlackboardEnv.key(name): Access.READ for name in program.reads()}
    keys.update({BlackboardEnv.key(name): Access.WRITE for name in program.writes()})
    return keys


class CheckBlackboard(_BlackboardUser):
    """Evaluate a check on the blackboard, e.g. ``battery >= 20`` or ``pose.x > 1 and ready``.

    SUCCESS when the check holds; FAILURE when it does not, or cannot be evaluated (a key not
    set, a type that does not fit): ``failure`` (reason ``condition``) names the values read.
    Never RUNNING.
    """

    def __init__(self, name: str, check: Check):
        super().__init__(name, _keys(check.program))
        self.check = check
        self.env = BlackboardEnv(self.blackboard)
        self.failure = None

    def update(self):
        self.failure = None
        if self.check.holds(self.env):
            self.feedback_message = ""
            return Status.SUCCESS
        self.failure = Failure(CONDITION, self.check.describe(self.env))
        self.feedback_message = self.failure.message
        return Status.FAILURE


class Script(_BlackboardUser):
    """Run statements on the blackboard (``count += 1; done := count >= 3``), BT.CPP's Script.

    SUCCESS once they ran; FAILURE (reason ``script``) when one cannot be evaluated, with what
    went wrong (BT.CPP throws instead). Never RUNNING.
    """

    def __init__(self, name: str, program: Program, enums: dict = None):
        super().__init__(name, _keys(program))
        self.program, self.enums = program, enums
        self.env = BlackboardEnv(self.blackboard)
        self.failure = None

    def update(self):
        from executive.language import btcpp_script, evaluate

        self.failure = None
        try:
            if self.program.dialect == "btcpp":
                btcpp_script.run(self.program, self.env, self.enums)
            else:
                evaluate.run(self.program, self.env)
        except EvalError as exc:
            self.failure = Failure(SCRIPT, f"{self.program.text.strip()}: {exc.message}")
            self.feedback_message = self.failure.message
            return Status.FAILURE
        self.feedback_message = ""
        return Status.SUCCESS


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
