"""Fault injection knobs of the simulated servers, as ROS parameters settable at runtime.

Each action server has these parameters under its own name (e.g. ``navigate_to_pose.reject_all``);
values come from the ``faults:`` section of the config file and can be changed while the sim runs
(``ros2 param set /robot1/robot_sim navigate_to_pose.abort_after 2.0``). Durations are simulated
seconds. A value of 0 (or false) disables a knob.
"""
import random
from dataclasses import dataclass, fields

from rcl_interfaces.msg import ParameterDescriptor


@dataclass
class ActionFaults:
    accept_delay: float = 0.0        # wait this long before answering a goal request
    reject_all: bool = False         # reject every goal
    abort_after: float = 0.0         # abort each goal this long after it starts executing
    abort_probability: float = 0.0   # abort each goal with this probability (seeded)
    stall_feedback: bool = False     # stop publishing feedback
    exit_after_goals: int = 0        # exit the process abruptly once this many goals were accepted
    result_delay: float = 0.0        # wait this long after finishing before reporting the result


@dataclass
class ServiceFaults:
    response_delay: float = 0.0      # wait this long before answering
    fail_all: bool = False           # answer every request with success=false


KNOBS = {"action": ActionFaults, "service": ServiceFaults}


class Faults:
    """Live view of one server's fault parameters, plus its seeded random source."""

    def __init__(self, node, server: str, kind: str, initial: dict, seed: int):
        spec = KNOBS[kind]
        unknown = set(initial) - {f.name for f in fields(spec)}
        if unknown:
            raise ValueError(f"unknown fault knob(s) for {server}: {', '.join(sorted(unknown))}")
        self._node = node
        self._names = {}
        for f in fields(spec):
            name = f"{server}.{f.name}"
            value = f.type(initial.get(f.name, f.default))
            node.declare_parameter(name, value, ParameterDescriptor(description=f"fault injection: {f.name}", dynamic_typing=True))
            self._names[f.name] = name
        # String seeds hash deterministically, so every server gets its own repeatable stream.
        self.rng = random.Random(f"{seed}:{server}")

    def __getattr__(self, knob):
        try:
            name = self.__dict__["_names"][knob]
        except KeyError:
            raise AttributeError(knob) from None
        return self._node.get_parameter(name).value
