"""Fault injection knobs of the simulated servers, as ROS parameters.

Each server has these parameters under its own name (e.g. ``navigate_to_pose.reject_all``); values
come from the ``faults:`` section of the config file (or ``--ros-args -p``) and, except the start-up
knobs, can be changed while the sim runs (``ros2 param set /robot1/robot_sim
navigate_to_pose.abort_after 2.0``). A knob is read when the phase it affects begins, so a change
applies to the next goal or call that reaches that phase. Durations are simulated seconds (see
``--time-scale``). A value of 0, false or "" disables a knob. Bad values are refused with a reason,
at start-up (exit 2) and at run time (the parameter set fails).

The knobs are orthogonal: each changes one thing the server does, and they combine (e.g.
``accept_delay`` with ``exit_after_goals`` and ``exit_phase: goal_request`` dies while the goal
request is unanswered, ``accept_delay`` seconds after it arrived).
"""
import random
from dataclasses import dataclass, field, fields

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

# Where in a goal's life ``exit_after_goals`` ends the process (see ActionFaults.exit_phase).
EXIT_PHASES = ("goal_request", "accepted", "executing", "finished", "cancel_request")
# What ``result_status_override`` can make get_result answer.
OVERRIDE_STATUSES = ("", "succeeded", "aborted", "canceled", "unknown")

STARTUP = {"startup": True}     # field metadata: read once, when the server is created


@dataclass
class ActionFaults:
    """The knobs of one simulated action server (mirrors what real servers do on a bad day)."""

    accept_delay: float = 0.0
    """Seconds before answering a goal request. Meanwhile the goal is *pending* in ``sim_status``,
    and a cancel naming its id is answered ERROR_UNKNOWN_GOAL_ID (as rclcpp and rclpy servers do:
    the goal does not exist yet) and counted as ``cancel_while_pending``."""
    reject_all: bool = False
    """Answer every goal request REJECT."""
    abort_after: float = 0.0
    """ABORT each goal this many seconds after it starts executing."""
    abort_probability: float = 0.0
    """ABORT each goal, after its first step, with this probability (seeded by the config's ``seed``)."""
    stall_feedback: bool = False
    """Publish no feedback."""
    result_delay: float = 0.0
    """Seconds between reaching the goal and reporting the terminal state (the goal stays EXECUTING)."""
    result_timeout: float = field(default=10.0, metadata=STARTUP)
    """Seconds a finished goal's result is kept for late get_result requests (rclpy's ActionServer
    ``result_timeout``); 0: discarded at once, so a get_result sent after the goal ended is answered
    STATUS_UNKNOWN. Start-up only: rclpy takes it when the server is created, so it is read-only at
    run time. The default is the config's top-level ``result_timeout``."""
    result_status_override: str = ""
    """One of ``succeeded``, ``aborted``, ``canceled``, ``unknown``: get_result answers this status
    (with the goal's real result message) while the status topic showed the goal's true terminal
    status. A server contradicting itself; "" off."""
    feedback_after_result: float = 0.0
    """Publish one stray feedback message for the goal this many seconds after it reached its
    terminal state (after its result went out; use e.g. 0.01 for "at once"); 0 off."""
    refuse_cancel: bool = False
    """Refuse every cancel request of a running goal (the cancel callback answers REJECT); the goal
    runs on. Counted as ``cancel_refused``. The client gets no goal in ``goals_canceling``; rclpy
    (which the sim runs on) leaves ``return_code`` ERROR_NONE, where rclcpp servers (Nav2,
    ros2_control) say ERROR_REJECTED: a client must read an empty list as refused."""
    cancel_delay: float = 0.0
    """After accepting a cancel, keep executing (moving, publishing feedback) this many seconds
    before ending CANCELED. The goal is CANCELING meanwhile."""
    exit_after_goals: int = 0
    """Exit the process abruptly (``os._exit(17)``, no goodbye to DDS) in goal N: the first goal,
    from the Nth goal request this server received on, that reaches ``exit_phase``; 0 off."""
    exit_phase: str = "executing"
    """Where ``exit_after_goals`` strikes: ``goal_request`` (request received, unanswered, after
    ``accept_delay``), ``accepted`` (answered ACCEPT, not yet executing), ``executing`` (after its
    first step and feedback), ``finished`` (terminal state published, result not sent),
    ``cancel_request`` (a cancel request for it arrived, unanswered)."""


@dataclass
class ServiceFaults:
    """The knobs of one simulated service server."""

    response_delay: float = 0.0
    """Seconds before answering."""
    fail_all: bool = False
    """Answer every request with success=false ("injected fault: fail_all")."""
    exit_after_calls: int = 0
    """Never answer call N: the process exits abruptly (``os._exit(17)``) when the answer to the
    Nth call of this service is due (after ``response_delay``); 0 off."""


@dataclass
class BatteryFaults:
    """The knobs of the simulated battery's ``battery_state`` topic (sim/battery.py)."""

    drain_factor: float = 0.0
    """Drain this many times faster than the configured ``battery.drain_per_metre``; 0 off."""
    drop: float = 0.0
    """Take this much charge (0..1) at once: a dying cell. Each new value is applied once, at the
    next message (set it again to another value for another drop); 0 off."""
    stop_publishing: bool = False
    """Publish no more ``battery_state`` (the charge still changes): data that goes stale."""


KNOBS = {"action": ActionFaults, "service": ServiceFaults, "topic": BatteryFaults}


def check(knob: str, value) -> str:
    """Why ``value`` is not a valid setting of ``knob``, or ""."""
    if knob == "exit_phase" and value not in EXIT_PHASES:
        return f"exit_phase must be one of {', '.join(EXIT_PHASES)}, not {value!r}"
    if knob == "result_status_override" and value not in OVERRIDE_STATUSES:
        return f"result_status_override must be one of {', '.join(OVERRIDE_STATUSES[1:])} or empty, not {value!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return f"{knob} must not be negative, got {value}"
    if knob in ("abort_probability", "drop") and value > 1:
        return f"{knob} must be within [0, 1], got {value}"
    return ""


# The servers of a plain mission-sim and the kind of their knobs.
SERVERS = {"navigate_to_pose": "action", "follow_joint_trajectory": "action", "move_arm": "action",
           "health_check": "service", "calibrate": "service", "battery_state": "topic"}
# Served with --ros2-control as well; a configuration may set their knobs (sim/config.py checks
# configurations against SERVERS, CONTROL_SERVERS, KNOBS and check()).
CONTROL_SERVERS = {"joint_trajectory_controller": "action"}


def knobs_off(servers: dict = None) -> dict:
    """Parameter values that turn every run-time knob of ``servers`` ({name: "action" or
    "service"}, default :data:`SERVERS`) off; start-up knobs (read-only) are left out."""
    return {f"{server}.{f.name}": f.default for server, kind in (servers or SERVERS).items()
            for f in fields(KNOBS[kind]) if not f.metadata.get("startup")}


class Faults:
    """Live view of one server's fault parameters, plus its seeded random source.

    ``defaults`` overrides the dataclass defaults (the config's top-level ``result_timeout``).
    Raises ValueError naming the server and knob for an unknown knob or a bad value."""

    def __init__(self, node, server: str, kind: str, initial: dict, seed: int, defaults: dict = None):
        spec = KNOBS[kind]
        known = {f.name for f in fields(spec)}
        unknown = set(initial) - known
        if unknown:
            raise ValueError(f"unknown fault knob(s) for {server}: {', '.join(sorted(unknown))}")
        defaults = {k: v for k, v in (defaults or {}).items() if k in known}
        self._node = node
        self._names = {}
        for f in fields(spec):
            name = f"{server}.{f.name}"
            try:
                value = f.type(initial.get(f.name, defaults.get(f.name, f.default)))
            except (TypeError, ValueError):
                raise ValueError(f"{name}: {initial[f.name]!r} is not a {f.type.__name__}") from None
            descriptor = ParameterDescriptor(description=f"fault injection: {f.name}", dynamic_typing=True,
                                             read_only=bool(f.metadata.get("startup")))
            value = node.declare_parameter(name, value, descriptor).value   # --ros-args -p wins
            reason = check(f.name, value)
            if reason:
                raise ValueError(f"{server}: {reason}")
            self._names[f.name] = name
        self._by_parameter = {name: knob for knob, name in self._names.items()}
        node.add_on_set_parameters_callback(self._check_update)
        # String seeds hash deterministically, so every server gets its own repeatable stream.
        self.rng = random.Random(f"{seed}:{server}")

    def _check_update(self, parameters):
        for parameter in parameters:
            knob = self._by_parameter.get(parameter.name)
            reason = knob and check(knob, parameter.value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def __getattr__(self, knob):
        try:
            name = self.__dict__["_names"][knob]
        except KeyError:
            raise AttributeError(knob) from None
        return self._node.get_parameter(name).value
