"""The executive node's ROS parameters: one table with each parameter's default, range and whether
it may change while the node runs.

Parameters are served over DDS like the ExecuteMission action, so anyone on the robot's network
can set them. Hence:

- every number has a range (``ParameterDescriptor.floating_point_range`` / ``integer_range``),
  checked by rclpy both at start and on every set: NaN, infinities and absurd values are refused
  with the range in the reason (``ros2 param describe`` shows it);
- what is read only at start (the viewer, the start-up mission, the limits, the directories that
  decide which files the executive reads and writes) is ``read_only``: ``ros2 param set`` answers
  "Trying to set a read-only parameter" instead of "successful" and nothing happening. Limits and
  directories are start-only on purpose: a peer that may send goals must not be able to lift the
  limits on them, or point the executive at files of its choosing.

``tick_rate`` is capped at MAX_TICK_RATE: results, feedback and deadlines tick the tree at once
anyway, the periodic tick only polls (a server gone, a goal timeout), and 1e9 Hz burns a core.
"""
import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.parameter import Parameter

GOAL_POLICIES = ("reject", "preempt")
MAX_TICK_RATE = 100.0       # Hz


@dataclass(frozen=True)
class Spec:
    default: Any                # a value, or a Parameter.Type for an array that defaults to empty
    description: str
    range: Optional[Tuple[float, float]] = None    # inclusive
    start_only: bool = False
    choices: Tuple[str, ...] = ()


PARAMETERS = {
    # where missions are read from, where logs go
    "missions_dir": Spec("", "directory searched for missions by name before the package's own (goals may name "
                             "missions in these two only)", start_only=True),
    "mission_path": Spec("", "more directories of missions and mission libraries, separated by ':' (searched after "
                             "missions_dir, before the package's own; the MISSION_PATH environment variable's "
                             "come next)", start_only=True),
    "log_dir": Spec("", "where run logs go (default $ROS_HOME/mission_logs)", start_only=True),
    # behaviour while running
    "tick_rate": Spec(10.0, "ticks per second while a mission runs (results and feedback also wake the tree)",
                      (1.0, MAX_TICK_RATE)),
    "goal_policy": Spec("reject", "what a goal arriving during a mission does: reject (it) or preempt (the mission)",
                        choices=GOAL_POLICIES),
    "pause_cancels_goals": Spec(True, "pausing cancels goals in flight (they are sent again on resume)"),
    "halt_timeout": Spec(10.0, "seconds a cancel or preemption waits for cancelled goals to end", (0.1, 3600.0)),
    "setup_timeout": Spec(15.0, "seconds to set up a mission's tree", (0.1, 600.0), start_only=True),
    # a mission run at start (launch files)
    "mission": Spec("", "a mission to run as soon as the node starts (name, path or YAML text)", start_only=True),
    "mission_parameters": Spec(Parameter.Type.STRING_ARRAY, "name=value overrides for that mission", start_only=True),
    "exit_when_done": Spec(False, "exit once that mission ends (exit code as `mission run`)", start_only=True),
    "resume_interrupted": Spec(False, "at start, resume this node's newest run if it was interrupted (a crash or a "
                                      "shutdown) instead of starting `mission`; a run that was itself resumed this "
                                      "way is not resumed again",
                               start_only=True),
    # the browser viewer
    "viewer": Spec(False, "serve the browser viewer (executive/viewer) while the node runs", start_only=True),
    "viewer_port": Spec(8765, "the viewer's TCP port (0: any free port, logged)", (0, 65535), start_only=True),
    "viewer_host": Spec("127.0.0.1", "the viewer's address; anything but loopback exposes it to the network",
                        start_only=True),
    "viewer_allow_control": Spec(False, "the viewer may cancel and start missions", start_only=True),
    "viewer_allowed_hosts": Spec(Parameter.Type.STRING_ARRAY, "more host names the viewer answers to (besides "
                                 "its addresses, localhost and this machine's names)", start_only=True),
    # Groot2's monitoring protocol (executive/groot2.py)
    "groot2": Spec(False, "serve Groot2's monitoring protocol (BT.CPP's Groot2Publisher) while the node runs",
                   start_only=True),
    "groot2_port": Spec(1667, "Groot2's port (requests); the next port is Groot2's too (notices)", (1, 65534),
                        start_only=True),
    "groot2_host": Spec("127.0.0.1", "the address Groot2 is served on; anything but loopback exposes the mission "
                                     "and its blackboard to the network", start_only=True),
    # limits on what a goal may cost (README: "Limits")
    "max_goal_size": Spec(262144, "bytes of mission text (or name) one goal may carry", (1, 16 * 2 ** 20),
                          start_only=True),
    "max_overrides": Spec(100, "name=value overrides one goal may carry", (0, 10000), start_only=True),
    "max_override_size": Spec(4096, "bytes of one name=value override", (1, 2 ** 20), start_only=True),
    "max_nodes": Spec(5000, "behaviours one mission may have once its subtrees and includes are expanded",
                      (1, 1_000_000), start_only=True),
    "load_timeout": Spec(10.0, "seconds loading one goal's mission may take (it loads off the executor's thread)",
                         (0.1, 600.0), start_only=True),
    "max_loading_goals": Spec(100, "goals waiting to be loaded at once; more are rejected until some are answered",
                              (1, 100000), start_only=True),
    "max_error_size": Spec(2000, "characters of one error message in a result or log (longer ones are cut, "
                                 "and say so)", (80, 2 ** 20), start_only=True),
    "max_errors": Spec(100, "validation errors one result lists (then how many more there were)", (1, 100000),
                       start_only=True),
    "result_timeout": Spec(30, "seconds the action server keeps a finished goal's result for clients",
                           (1, 86400), start_only=True),
    "max_logged_payload": Spec(4096, "characters of one feedback, result or response payload in the run log "
                                     "(longer ones are cut, and say so; blackboard values are never cut)",
                               (64, 2 ** 24), start_only=True),
}


def descriptor(name: str, spec: Spec, writable: bool = False) -> ParameterDescriptor:
    d = ParameterDescriptor(description=spec.description, read_only=spec.start_only and not writable)
    if spec.choices:
        d.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.range is not None:
        low, high = spec.range
        if isinstance(spec.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
        else:
            d.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
    return d


def declare(node, writable=()) -> None:
    """Declare every parameter on ``node`` (values given at start included). Raises ValueError
    naming the parameter and its range for a value rclpy or :func:`check` refuses. ``writable``:
    start-only parameters to declare writable all the same (to be undeclared and declared again
    by someone else, which rclpy refuses for a read-only one)."""
    for name, spec in PARAMETERS.items():
        d = descriptor(name, spec, name in writable)
        try:
            if isinstance(spec.default, Parameter.Type):
                # Declared with a type, an array given no value stays uninitialised, and then a
                # get_parameters naming it (ros2 param dump) answers nothing at all: give it [].
                initial = ParameterDescriptor(description=d.description, type=spec.default.value)
                node.declare_parameter(name, spec.default, initial)
                if node.get_parameter_or(name).value is None:
                    node.set_parameters([Parameter(name, spec.default, [])])
                d.type = spec.default.value
                node.set_descriptor(name, d)
            else:
                node.declare_parameter(name, spec.default, d)
        except (ParameterException, TypeError, ValueError) as exc:
            reason = _reason(exc)
            if "out of range" in reason and spec.range is not None:
                reason = f"the value given is out of range (allowed: {spec.range[0]:g} to {spec.range[1]:g})"
            raise ValueError(f"parameter {name}: {reason}") from None
    checked = check([node.get_parameter(n) for n in PARAMETERS if n in _CHECKED])
    if not checked.successful:      # values given at start never pass through the set callback
        raise ValueError(checked.reason)


_CHECKED = {n for n, s in PARAMETERS.items() if s.choices or (s.range is not None and isinstance(s.default, float))}


def check(params) -> SetParametersResult:
    """The checks rclpy's descriptors do not make: choices, and finite floats (a range is checked by
    rclpy, but belt and braces for NaN costs nothing). Never raises."""
    try:
        for p in params:
            spec = PARAMETERS.get(p.name)
            if spec is None:
                continue
            if spec.choices and p.value not in spec.choices:
                return SetParametersResult(successful=False, reason=f"{p.name} must be one of {spec.choices}")
            if spec.range is not None and isinstance(spec.default, float) and not (
                    isinstance(p.value, (int, float)) and not isinstance(p.value, bool) and math.isfinite(p.value)
                    and spec.range[0] <= p.value <= spec.range[1]):
                return SetParametersResult(successful=False, reason=f"{p.name} must be a number in "
                                                                    f"[{spec.range[0]:g}, {spec.range[1]:g}]")
        return SetParametersResult(successful=True)
    except Exception as exc:    # a parameter callback must never raise into rclpy's service
        return SetParametersResult(successful=False, reason=f"cannot check the value: {type(exc).__name__}")


def _reason(exc) -> str:
    text = str(exc)
    return text.split("Reason: ", 1)[-1] if "Reason: " in text else text

