"""The mission language: every node kind, its fields, and what they mean.

The one definition the JSON Schema (:mod:`executive.language.schema`), the checks and the compiler
all read. A node is a mapping with one key, its kind: ``{navigate: {pose: dock}}``.

Every number a mission gives is finite, and every count, duration and rate has bounds here; the
schema and the resolver both read them.
"""
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from behaviors import failures

REASONS = list(failures.REASONS)     # the one table (behaviors/failures.py); no ROS is imported with it
DIALECTS = ["yaml", "btcpp"]
HOUR, DAY, MANY = 3600.0, 86400.0, 1_000_000
# A pose parameter is a pose name (of the poses where its value is written) or {x, y, yaw, frame}.
PARAMETER_TYPES = {"float": (int, float), "int": (int,), "string": (str,), "bool": (bool,), "pose": (str, dict)}


# Topic QoS by preset name (rclpy's qos_profile_sensor_data and the like), or a mapping of these.
QOS_PRESETS = {
    "default": {"reliability": "reliable", "durability": "volatile", "depth": 10},
    "sensor_data": {"reliability": "best_effort", "durability": "volatile", "depth": 5},
    "transient_local": {"reliability": "reliable", "durability": "transient_local", "depth": 1},
}
QOS_POLICIES = {"reliability": ["reliable", "best_effort"], "durability": ["volatile", "transient_local"]}


@dataclass
class Field:
    type: str                      # number integer string boolean any mapping strings node nodes pose points
    required: bool = False         # backoff check script joints qos
    default: Any = None
    doc: str = ""
    enum: Optional[list] = None
    blackboard: bool = False       # the value may be {bb: key}, read when the leaf starts
    minimum: Optional[float] = None     # bounds of a number or integer (every one is finite too)
    maximum: Optional[float] = None
    exclusive_minimum: bool = False     # minimum itself is not allowed
    exclusive_maximum: bool = False

    @staticmethod
    def number(value) -> str:
        """1000000 as 1000000 (not 1e+06), 0.5 as 0.5."""
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"

    def bounds(self) -> str:
        """The allowed range in words: 'greater than 0 and at most 3600'."""
        low = high = ""
        if self.minimum is not None:
            low = f"{'greater than' if self.exclusive_minimum else 'at least'} {self.number(self.minimum)}"
        if self.maximum is not None:
            high = f"{'less than' if self.exclusive_maximum else 'at most'} {self.number(self.maximum)}"
        if low and high and not (self.exclusive_minimum or self.exclusive_maximum):
            return f"between {self.number(self.minimum)} and {self.number(self.maximum)}"
        return " and ".join(p for p in (low, high) if p)

    def out_of_bounds(self, value) -> str:
        """Why number ``value`` does not fit this field ('' when it does)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ""
        if not math.isfinite(value):
            return f"{value} is not a finite number"
        too_low = self.minimum is not None and (value <= self.minimum if self.exclusive_minimum
                                                else value < self.minimum)
        too_high = self.maximum is not None and (value >= self.maximum if self.exclusive_maximum
                                                 else value > self.maximum)
        return f"must be {self.bounds()}, got {self.number(value)}" if too_low or too_high else ""


def seconds(doc, minimum=0.0, maximum=DAY, exclusive=True, **kwargs):
    """A duration in seconds, positive (or from ``minimum``) and at most a day unless given."""
    return Field("number", doc=doc, minimum=minimum, maximum=maximum, exclusive_minimum=exclusive, **kwargs)


def count(doc, **kwargs):
    """A count as BT.CPP counts: -1 is forever, 0 runs nothing (a warning), at most a million."""
    return Field("integer", doc=doc, minimum=-1, maximum=MANY, **kwargs)


@dataclass
class Kind:
    category: str                  # composite, decorator, leaf, reference
    doc: str
    fields: dict = field(default_factory=dict)


BACKOFF = {
    "initial": seconds("the first wait, seconds", exclusive=False, maximum=HOUR),
    "factor": Field("number", doc="each wait is the last one times this", minimum=1.0, maximum=100.0),
    "max": seconds("the longest wait, seconds", exclusive=False),
    "jitter": Field("number", doc="each wait varies by up to this fraction", minimum=0.0, maximum=1.0,
                    exclusive_maximum=True),
    "seed": Field("integer", doc="seed of the jitter", minimum=0, maximum=2 ** 32 - 1),
}
POINT_TIME = seconds("seconds from the start of the trajectory", exclusive=False)


def _remote(default_name, default_type, kind):
    noun = "action server" if kind == "action" else "service"
    return {
        kind: Field("string", default=default_name, doc=f"{noun} name, relative to the robot's namespace"),
        "type": Field("string", default=default_type, doc=f"{kind} type, e.g. {default_type}"),
        "server_timeout": seconds(f"seconds to wait for the {noun}", maximum=HOUR, default=5.0),
    }


_ACTION_OUTPUTS = {
    "timeout": seconds("seconds before the goal is cancelled and the leaf fails"),
    "wait_for_cancelled": Field("boolean", default=True,
                                doc="before sending, wait for a goal of this mission still being cancelled on the "
                                    "same server to end (up to halt_timeout); false sends at once"),
    "feedback": Field("string", doc="blackboard key for the latest feedback"),
    "result": Field("string", doc="blackboard key for the result"),
    # Not `feedback:` (a blackboard key, above): a one-line summary for people (behaviors/feedback.py).
    "feedback_format": Field("string", doc="the running leaf's feedback line: feedback fields and format specs "
                                           "only, e.g. '{distance_remaining:.1f} m left'"),
}

_TOPIC = {
    "topic": Field("string", required=True, doc="topic name, relative to the robot's namespace"),
    "type": Field("string", required=True, doc="message type, e.g. sensor_msgs/msg/BatteryState"),
    "qos": Field("qos", default="default",
                 doc="default, sensor_data (best effort), transient_local (latched), or {reliability, durability, "
                     "depth}"),
}

COMMON = {
    "name": Field("string", doc="the behaviour's name in the tree (defaults to the kind)"),
    "robot": Field("string", doc="robot namespace for the leaves below, e.g. robot1"),
}

KINDS = {
    # composites
    "sequence": Kind("composite", "run children in order; fails at the first failure", {
        "children": Field("nodes", required=True),
        "memory": Field("boolean", default=True, doc="resume at the running child instead of restarting"),
        "yields": Field("boolean", default=False, doc="after a child that succeeded at once, give the tick back "
                                                      "and run the next in the next tick (BT.CPP's AsyncSequence)"),
    }),
    "fallback": Kind("composite", "try children in order until one succeeds (a selector)", {
        "children": Field("nodes", required=True),
        # Like BehaviorTree.CPP's Fallback: a failed option is not retried while a later one runs.
        # memory: false re-checks earlier options every tick (BT.CPP's ReactiveFallback).
        "memory": Field("boolean", default=True,
                        doc="resume at the running option; false re-checks earlier options every tick"),
        "yields": Field("boolean", default=False, doc="after an option that failed at once, give the tick back "
                                                      "and try the next in the next tick (BT.CPP's AsyncFallback)"),
    }),
    "parallel": Kind("composite", "run children together", {
        "children": Field("nodes", required=True),
        "policy": Field("string", default="all", enum=["all", "one"],
                        doc="all: succeed when all succeed; one: succeed when one does"),
        # BT.CPP's Parallel thresholds; either one given makes the parallel BT.CPP's exactly.
        "success_count": Field("integer", minimum=-MANY, maximum=MANY,
                               doc="succeed once this many children succeeded (BT.CPP's success_count; "
                                   "-1 all, -2 all but one, ...)"),
        "failure_count": Field("integer", minimum=-MANY, maximum=MANY,
                               doc="fail once this many children failed (BT.CPP's failure_count; -1 all)"),
    }),
    # decorators
    "retry": Kind("decorator", "retry a failing child with exponential backoff", {
        "child": Field("node", required=True),
        "attempts": count("attempts in all (BT.CPP's num_attempts): 0 fails without running the child, "
                          "-1 retries forever"),
        "forever": Field("boolean", doc="retry until the child succeeds (attempts: -1)"),
        "backoff": Field("backoff", doc="{initial, factor, max, jitter, seed}"),
        "retry_on": Field("strings", enum=REASONS, doc="retry only failures of these reasons"),
        "no_retry_on": Field("strings", enum=REASONS, doc="never retry failures of these reasons"),
    }),
    "timeout": Kind("decorator", "fail (and stop the child) after some seconds", {
        "child": Field("node", required=True), "seconds": seconds("seconds", required=True)}),
    "repeat": Kind("decorator", "run the child to success this many times; a failure ends it", {
        "child": Field("node", required=True),
        "times": count("successes in all (BT.CPP's num_cycles): 0 succeeds without running the child, "
                       "-1 repeats forever"),
        "forever": Field("boolean", doc="repeat until the child fails (times: -1)"),
        "until": Field("check", doc="stop with success once this blackboard check holds after a run")}),
    "refresh": Kind("decorator", "call a service leaf every few seconds in the background and keep its "
                                 "last outcome on the blackboard", {
        "child": Field("node", required=True, doc="a service leaf (service, health_check, calibrate)"),
        "every": seconds("seconds between the start of one call and the next", required=True),
        "key": Field("string", required=True,
                     doc="blackboard key for {ok, outcome, response, failure, count, stamp}")}),
    "invert": Kind("decorator", "success becomes failure and failure success", {"child": Field("node", required=True)}),
    "force_success": Kind("decorator", "failure becomes success", {"child": Field("node", required=True)}),
    "force_failure": Kind("decorator", "success becomes failure", {"child": Field("node", required=True)}),
    "once": Kind("decorator", "run the child to completion once, then keep its result", {
        "child": Field("node", required=True),
        "then_skip": Field("boolean", default=False,
                           doc="after that, be skipped instead of keeping the result (BT.CPP's RunOnce default)")}),
    # leaves
    "navigate": Kind("leaf", "drive the base to a pose", {
        "pose": Field("pose", required=True, blackboard=True, doc="a pose name, {x, y, yaw, frame}, or {bb: key}"),
        **_remote("navigate_to_pose", "mission_interfaces/action/NavigateToPose", "action"), **_ACTION_OUTPUTS}),
    "follow_trajectory": Kind("leaf", "follow a joint trajectory", {
        "joints": Field("strings", required=True, doc="joint names"),
        "points": Field("points", required=True, doc="[{time, positions}], times increasing"),
        **_remote("follow_joint_trajectory", "mission_interfaces/action/FollowJointTrajectory", "action"),
        **_ACTION_OUTPUTS}),
    "move_arm": Kind("leaf", "move the arm to a named pose or to joint positions", {
        "pose": Field("string", doc="a named arm pose, e.g. home"),
        "joints": Field("joints", doc="{joint name: position}"),
        "velocity_scaling": Field("number", default=1.0, minimum=0.0, maximum=1.0, exclusive_minimum=True),
        **_remote("move_arm", "mission_interfaces/action/MoveArm", "action"), **_ACTION_OUTPUTS}),
    "action": Kind("leaf", "send a goal of any action type", {
        "type": Field("string", required=True, doc="e.g. nav2_msgs/action/NavigateToPose"),
        "action": Field("string", required=True, doc="action server name"),
        "goal": Field("mapping", default={}, doc="goal fields; any value may be {bb: key}"),
        "success": Field("check", doc="a result check such as 'error_code == 0'"),
        "server_timeout": seconds("seconds to wait for the action server", maximum=HOUR, default=5.0),
        **_ACTION_OUTPUTS}),
    "health_check": Kind("leaf", "call the robot's health check (std_srvs/Trigger)", {
        **_remote("health_check", "std_srvs/srv/Trigger", "service"),
        "timeout": seconds("seconds to wait for the response", maximum=HOUR, default=10.0),
        "response": Field("string")}),
    "calibrate": Kind("leaf", "calibrate (std_srvs/SetBool data=true), or reset with reset: true", {
        "reset": Field("boolean", default=False),
        **_remote("calibrate", "std_srvs/srv/SetBool", "service"),
        "timeout": seconds("seconds to wait for the response", maximum=HOUR, default=30.0),
        "response": Field("string")}),
    "service": Kind("leaf", "call a service of any type", {
        "type": Field("string", required=True), "service": Field("string", required=True),
        "request": Field("mapping", default={}, doc="request fields; any value may be {bb: key}"),
        "success": Field("check", doc="a response check; default 'success == true', none: any response"),
        "server_timeout": seconds("seconds to wait for the service", maximum=HOUR, default=5.0),
        "timeout": seconds("seconds to wait for the response", maximum=HOUR, default=10.0),
        "response": Field("string", doc="blackboard key for the response")}),
    "subscribe": Kind("leaf", "keep the latest message of a topic (or one field of it) on the blackboard", {
        **_TOPIC,
        "key": Field("string", required=True, doc="blackboard key for {data, fresh, age, count, stamp}"),
        "field": Field("string", doc="a dotted field path: keep only this field as data, e.g. percentage"),
        "stale_after": seconds("seconds after which the last message is no longer fresh (fresh: false)")}),
    "wait_for_message": Kind("leaf", "wait for a message on a topic whose check holds", {
        **_TOPIC,
        "check": Field("check", doc="a check of the message's fields, e.g. 'percentage > 0.9'; none: any message"),
        "timeout": seconds("seconds before the leaf fails (reason timeout)"),
        "key": Field("string", doc="blackboard key for the message")}),
    "publish": Kind("leaf", "publish a message on a topic: once, or at a rate while running", {
        **_TOPIC,
        "message": Field("mapping", default={}, doc="message fields; any value may be {bb: key}"),
        "rate": Field("number", minimum=0.0, maximum=1000.0, exclusive_minimum=True,
                      doc="Hz: publish at this rate while running (RUNNING until halted); none: once")}),
    "wait": Kind("leaf", "wait some seconds", {"seconds": seconds("seconds", exclusive=False, required=True)}),
    "condition": Kind("leaf", "check the blackboard, e.g. 'battery >= 20'", {
        "check": Field("check", required=True),
        "dialect": Field("string", default="yaml", enum=DIALECTS, doc="btcpp: BT.CPP's ScriptCondition rules")}),
    "script": Kind("leaf", "run statements on the blackboard, e.g. 'count += 1; done := count >= 3'", {
        "code": Field("script", required=True),
        "dialect": Field("string", default="yaml", enum=DIALECTS, doc="btcpp: BT.CPP's Script rules")}),
    "set": Kind("leaf", "write a value to the blackboard", {
        "key": Field("string", required=True), "value": Field("any", required=True)}),
    "log": Kind("leaf", "write a message to the log", {
        "message": Field("string", required=True),
        "level": Field("string", default="info", enum=["debug", "info", "warning", "error"])}),
    # references
    "subtree": Kind("reference", "use a subtree defined under subtrees: in this file", {
        "use": Field("string", required=True), "params": Field("mapping", default={})}),
    "include": Kind("reference", "use a subtree from another mission file", {
        "file": Field("string", required=True,
                      doc="a path relative to this file, else to each mission root (the search path), or "
                          "package://<package>/missions/<file> of an installed package"),
        "subtree": Field("string", doc="a subtree of that file; its tree: when omitted"),
        "params": Field("mapping", default={})}),
}

# BehaviorTree.CPP's built-in nodes that the kinds above do not express; their meaning is BT.CPP's
# (behaviors/composites.py, behaviors/btcpp.py). Scripts in them are of the btcpp dialect.
_BTCPP_SCRIPT = "a BT.CPP script"
KINDS.update({
    "sequence_with_memory": Kind("composite", "run children in order; after a failure, start again at the child "
                                              "that failed (BT.CPP's SequenceWithMemory)", {
        "children": Field("nodes", required=True)}),
    "parallel_all": Kind("composite", "run every child to its end; fail if max_failures of them failed "
                                      "(BT.CPP's ParallelAll)", {
        "children": Field("nodes", required=True),
        "max_failures": Field("integer", default=1, minimum=-MANY, maximum=MANY,
                              doc="failures that make it fail (-1: all children)")}),
    "if_then_else": Kind("composite", "if the first child succeeds run the second, else the third "
                                      "(BT.CPP's IfThenElse)", {"children": Field("nodes", required=True)}),
    "while_do_else": Kind("composite", "tick the first child each tick; while it succeeds run the second, "
                                       "while it fails the third (BT.CPP's WhileDoElse)", {
        "children": Field("nodes", required=True)}),
    "switch": Kind("composite", "run the child whose case equals a blackboard entry, else the last "
                                "(BT.CPP's Switch2..Switch6)", {
        "children": Field("nodes", required=True),
        "variable": Field("string", required=True, doc="the blackboard entry compared"),
        "cases": Field("strings", required=True, doc="one value per child but the last")}),
    "keep_running_until_failure": Kind("decorator", "run the child again and again until it fails "
                                                    "(BT.CPP's KeepRunningUntilFailure)", {
        "child": Field("node", required=True)}),
    "delay": Kind("decorator", "wait some seconds, then run the child (BT.CPP's Delay)", {
        "child": Field("node", required=True),
        "seconds": seconds("seconds before the child starts", exclusive=False, required=True)}),
    "precondition": Kind("decorator", "run the child only if a script holds (BT.CPP's Precondition)", {
        "child": Field("node", required=True),
        "if": Field("script", required=True, doc=_BTCPP_SCRIPT + " checked until the child starts"),
        "else": Field("string", default="failure", enum=["success", "failure", "running", "skipped"],
                      doc="the status when it does not hold"),
        "dialect": Field("string", default="btcpp", enum=DIALECTS)}),
    "conditions": Kind("decorator", "BT.CPP's pre- and post-conditions of the child (_skipIf, _onSuccess, ...)", {
        "child": Field("node", required=True),
        "failure_if": Field("script", doc="_failureIf: fail without running the child when it holds"),
        "success_if": Field("script", doc="_successIf: succeed without running the child when it holds"),
        "skip_if": Field("script", doc="_skipIf: skip the child when it holds"),
        "while_true": Field("script", doc="_while: skip the child when it does not hold; halt it when it stops "
                                          "holding"),
        "on_success": Field("script", doc="_onSuccess: run after the child succeeded"),
        "on_failure": Field("script", doc="_onFailure: run after the child failed"),
        "on_halted": Field("script", doc="_onHalted: run when the child is halted"),
        "post": Field("script", doc="_post: run after the child ended"),
        "dialect": Field("string", default="btcpp", enum=DIALECTS)}),
    "loop": Kind("decorator", "run the child once for each value of a queue, written to the blackboard first "
                              "(BT.CPP's LoopInt, LoopDouble, LoopString, LoopBool)", {
        "child": Field("node", required=True),
        "queue": Field("any", required=True, doc="the values, in order"),
        "value": Field("string", required=True, doc="blackboard key each value is written to"),
        "type": Field("string", default="string", enum=["int", "double", "string", "bool"],
                      doc="the values' type (which of BT.CPP's Loop nodes)"),
        "if_empty": Field("string", default="success", enum=["success", "failure", "skipped"],
                          doc="the status when the queue is empty")}),
    "always_success": Kind("leaf", "succeed at once (BT.CPP's AlwaysSuccess)"),
    "always_failure": Kind("leaf", "fail at once (BT.CPP's AlwaysFailure)"),
    "unset": Kind("leaf", "remove a blackboard entry (BT.CPP's UnsetBlackboard)", {
        "key": Field("string", required=True)}),
})

# Every leaf that acts on a robot may say that running it twice is harmful (a resume sends the
# interrupted leaf again: executive/resume.py).
SAFE_TO_REPEAT = Field("boolean", default=True,
                       doc="false: a resume that would send this leaf again (it was running when the run stopped) "
                           "is refused with that reason")
for _kind in KINDS.values():
    if _kind.category == "leaf" and ("action" in _kind.fields or "service" in _kind.fields):
        _kind.fields["safe_to_repeat"] = SAFE_TO_REPEAT

TOP_LEVEL = ["name", "description", "robot", "parameters", "poses", "blackboard", "subtrees", "tree"]
BUILTIN = frozenset(KINDS)      # the kinds of the language itself; the others come from plugins
RESERVED = ("name", "robot", "child", "children")


def _plugin_kinds() -> dict:
    """Kinds of the installed behaviour plugins (behaviors/plugins.py). Raises PluginError."""
    from behaviors import plugins

    out = {}
    for kind, plugin in plugins.registry().items():
        where = f"behaviour plugin {plugin.entry_point!r} of package {plugin.package!r}"
        if kind in KINDS:
            raise plugins.PluginError(f"{where}: {kind!r} is a built-in kind of the mission language")
        clash = [name for name in plugin.parameters if name in RESERVED]
        if clash:
            raise plugins.PluginError(f"{where}: parameter {clash[0]!r} is reserved ({', '.join(RESERVED)})")
        fields = dict(plugin.parameters)
        if plugin.category == "decorator":
            fields["child"] = Field("node", required=True)
        out[kind] = Kind(plugin.category, plugin.doc, fields)
    return out


KINDS.update(_plugin_kinds())
PLUGIN_KINDS = frozenset(KINDS) - BUILTIN
