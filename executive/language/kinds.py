"""The mission language: every node kind, its fields, and what they mean.

The one definition the JSON Schema (:mod:`executive.language.schema`), the checks and the compiler
all read. A node is a mapping with one key, its kind: ``{navigate: {pose: dock}}``.
"""
from dataclasses import dataclass, field
from typing import Any, Optional

from behaviors import failures

REASONS = list(failures.REASONS)     # the one table (behaviors/failures.py); no ROS is imported with it
PARAMETER_TYPES = {"float": (int, float), "int": (int,), "string": (str,), "bool": (bool,)}


@dataclass
class Field:
    type: str                      # number integer string boolean any mapping strings node nodes pose points
    required: bool = False         # backoff check joints
    default: Any = None
    doc: str = ""
    enum: Optional[list] = None
    blackboard: bool = False       # the value may be {bb: key}, read when the leaf starts


@dataclass
class Kind:
    category: str                  # composite, decorator, leaf, reference
    doc: str
    fields: dict = field(default_factory=dict)


def _remote(default_name, default_type, kind):
    noun = "action server" if kind == "action" else "service"
    return {
        kind: Field("string", default=default_name, doc=f"{noun} name, relative to the robot's namespace"),
        "type": Field("string", default=default_type, doc=f"{kind} type, e.g. {default_type}"),
        "server_timeout": Field("number", default=5.0, doc=f"seconds to wait for the {noun}"),
    }


_ACTION_OUTPUTS = {
    "timeout": Field("number", doc="seconds before the goal is cancelled and the leaf fails"),
    "wait_for_cancelled": Field("boolean", default=True,
                                doc="before sending, wait for a goal of this mission still being cancelled on the "
                                    "same server to end (up to halt_timeout); false sends at once"),
    "feedback": Field("string", doc="blackboard key for the latest feedback"),
    "result": Field("string", doc="blackboard key for the result"),
    # Not `feedback:` (a blackboard key, above): a one-line summary for people (behaviors/feedback.py).
    "feedback_format": Field("string", doc="the running leaf's feedback line: feedback fields and format specs "
                                           "only, e.g. '{distance_remaining:.1f} m left'"),
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
    }),
    "fallback": Kind("composite", "try children in order until one succeeds (a selector)", {
        "children": Field("nodes", required=True),
        # Like BehaviorTree.CPP's Fallback: a failed option is not retried while a later one runs.
        # memory: false re-checks earlier options every tick (BT.CPP's ReactiveFallback).
        "memory": Field("boolean", default=True,
                        doc="resume at the running option; false re-checks earlier options every tick"),
    }),
    "parallel": Kind("composite", "run children together", {
        "children": Field("nodes", required=True),
        "policy": Field("string", default="all", enum=["all", "one"],
                        doc="all: succeed when all succeed; one: succeed when one does"),
    }),
    # decorators
    "retry": Kind("decorator", "retry a failing child with exponential backoff", {
        "child": Field("node", required=True),
        "attempts": Field("integer", required=True, doc="attempts in all, at least 1"),
        "backoff": Field("backoff", doc="{initial, factor, max, jitter, seed}"),
        "retry_on": Field("strings", enum=REASONS, doc="retry only failures of these reasons"),
        "no_retry_on": Field("strings", enum=REASONS, doc="never retry failures of these reasons"),
    }),
    "timeout": Kind("decorator", "fail (and stop the child) after some seconds", {
        "child": Field("node", required=True), "seconds": Field("number", required=True)}),
    "repeat": Kind("decorator", "run the child to success this many times", {
        "child": Field("node", required=True), "times": Field("integer", required=True)}),
    "invert": Kind("decorator", "success becomes failure and failure success", {"child": Field("node", required=True)}),
    "force_success": Kind("decorator", "failure becomes success", {"child": Field("node", required=True)}),
    "force_failure": Kind("decorator", "success becomes failure", {"child": Field("node", required=True)}),
    "once": Kind("decorator", "run the child to completion once, then keep its result", {
        "child": Field("node", required=True)}),
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
        "velocity_scaling": Field("number", default=1.0),
        **_remote("move_arm", "mission_interfaces/action/MoveArm", "action"), **_ACTION_OUTPUTS}),
    "action": Kind("leaf", "send a goal of any action type", {
        "type": Field("string", required=True, doc="e.g. nav2_msgs/action/NavigateToPose"),
        "action": Field("string", required=True, doc="action server name"),
        "goal": Field("mapping", default={}, doc="goal fields; any value may be {bb: key}"),
        "success": Field("check", doc="a result check such as 'error_code == 0'"),
        "server_timeout": Field("number", default=5.0), **_ACTION_OUTPUTS}),
    "health_check": Kind("leaf", "call the robot's health check (std_srvs/Trigger)", {
        **_remote("health_check", "std_srvs/srv/Trigger", "service"),
        "timeout": Field("number", default=10.0), "response": Field("string")}),
    "calibrate": Kind("leaf", "calibrate (std_srvs/SetBool data=true), or reset with reset: true", {
        "reset": Field("boolean", default=False),
        **_remote("calibrate", "std_srvs/srv/SetBool", "service"),
        "timeout": Field("number", default=30.0), "response": Field("string")}),
    "service": Kind("leaf", "call a service of any type", {
        "type": Field("string", required=True), "service": Field("string", required=True),
        "request": Field("mapping", default={}, doc="request fields; any value may be {bb: key}"),
        "success": Field("check", doc="a response check; default 'success == true', none: any response"),
        "server_timeout": Field("number", default=5.0), "timeout": Field("number", default=10.0),
        "response": Field("string", doc="blackboard key for the response")}),
    "wait": Kind("leaf", "wait some seconds", {"seconds": Field("number", required=True)}),
    "condition": Kind("leaf", "check the blackboard, e.g. 'battery >= 20'", {
        "check": Field("check", required=True)}),
    "set": Kind("leaf", "write a value to the blackboard", {
        "key": Field("string", required=True), "value": Field("any", required=True)}),
    "log": Kind("leaf", "write a message to the log", {
        "message": Field("string", required=True),
        "level": Field("string", default="info", enum=["debug", "info", "warning", "error"])}),
    # references
    "subtree": Kind("reference", "use a subtree defined under subtrees: in this file", {
        "use": Field("string", required=True), "params": Field("mapping", default={})}),
    "include": Kind("reference", "use a subtree from another mission file", {
        "file": Field("string", required=True, doc="path relative to this file"),
        "subtree": Field("string", doc="a subtree of that file; its tree: when omitted"),
        "params": Field("mapping", default={})}),
}

TOP_LEVEL = ["name", "description", "robot", "parameters", "poses", "blackboard", "subtrees", "tree"]
