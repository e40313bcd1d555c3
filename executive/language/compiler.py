"""Mission model → py_trees tree of :mod:`behaviors`. Builds behaviours only: ROS handles arrive
later, in ``setup(node=...)``, so compiling needs no ROS graph.
"""
import py_trees
from py_trees.common import ParallelPolicy

from behaviors import actions, basics, decorators, services
from behaviors.basics import Check
from executive.language.model import Mission, Node, bb_key, is_bb_ref


def compile_mission(mission: Mission) -> py_trees.behaviour.Behaviour:
    """The mission's tree. Its root is named after the mission."""
    root = build(mission.root)
    if root.name == mission.root.kind:
        root.name = mission.name
    return root


def seed_blackboard(mission: Mission) -> None:
    """Write the mission's initial blackboard values (before its first tick)."""
    for key, value in mission.blackboard.items():
        py_trees.blackboard.Blackboard.set(key, value)


def build(node: Node) -> py_trees.behaviour.Behaviour:
    behaviour = BUILDERS[node.kind](node, [build(c) for c in node.children])
    behaviour.mission_node = node       # for errors, the log and the viewer: where it was written
    return behaviour


def remote_name(node: Node, field: str) -> str:
    """The action or service name for a leaf: under its robot's namespace unless absolute."""
    name = node.fields[field]
    if name.startswith("/") or not node.robot:
        return name
    return f"/{node.robot}/{name}"


def split_blackboard(values: dict, prefix=""):
    """{'pose': {'bb': 'target'}, 'speed': 1} -> ({'speed': 1}, {'pose': '/target'})"""
    constants, from_bb = {}, {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if is_bb_ref(value):
            from_bb[path] = bb_key(value["bb"])
        elif isinstance(value, dict):
            inner_constants, inner_bb = split_blackboard(value, f"{path}.")
            constants.update(inner_constants)
            from_bb.update(inner_bb)
        else:
            constants[path] = value
    return constants, from_bb


def _check(parsed):
    return None if parsed is None else Check(*parsed)


def _action_options(f):
    return dict(server_timeout=f["server_timeout"], goal_timeout=f.get("timeout"),
                feedback_key=f.get("feedback"), result_key=f.get("result"), feedback_format=f.get("feedback_format"),
                wait_for_cancelled=f.get("wait_for_cancelled", True))


def _navigate(node, _):
    f = node.fields
    pose = f["pose"]
    common = dict(action_name=remote_name(node, "action"), action_type=f["type"], **_action_options(f))
    if is_bb_ref(pose):
        return actions.NavigateTo(node.name, pose_key=bb_key(pose["bb"]), **common)
    return actions.NavigateTo(node.name, x=pose["x"], y=pose["y"], yaw=pose.get("yaw", 0.0),
                              frame=pose.get("frame", "map"), **common)


def _follow_trajectory(node, _):
    f = node.fields
    return actions.FollowTrajectory(node.name, f["joints"], [(p["time"], p["positions"]) for p in f["points"]],
                                    action_name=remote_name(node, "action"), action_type=f["type"],
                                    **_action_options(f))


def _move_arm(node, _):
    f = node.fields
    return actions.MoveArm(node.name, named_pose=f.get("pose"), joints=f.get("joints"),
                           velocity_scaling=f["velocity_scaling"], action_name=remote_name(node, "action"),
                           action_type=f["type"], **_action_options(f))


def _action(node, _):
    f = node.fields
    constants, from_bb = split_blackboard(f["goal"])
    return actions.ActionClient(node.name, f["type"], remote_name(node, "action"), goal=constants,
                                goal_from_blackboard=from_bb, result_check=_check(f.get("success")),
                                **_action_options(f))


def _service_options(f):
    return dict(server_timeout=f["server_timeout"], call_timeout=f["timeout"], response_key=f.get("response"))


def _service(node, _):
    f = node.fields
    constants, from_bb = split_blackboard(f["request"])
    success = _check(f["success"]) if "success" in f else services.SUCCESS_FIELD
    return services.ServiceClient(node.name, f["type"], remote_name(node, "service"), request=constants,
                                  request_from_blackboard=from_bb, success_check=success, **_service_options(f))


def _health_check(node, _):
    return services.HealthCheck(node.name, service_name=remote_name(node, "service"), **_service_options(node.fields))


def _calibrate(node, _):
    f = node.fields
    return services.Calibrate(node.name, reset=f["reset"], service_name=remote_name(node, "service"),
                              **_service_options(f))


def _condition(node, _):
    path, op, value = node.fields["check"]
    key, _, field = path.partition(".")
    return basics.CheckBlackboard(node.name, bb_key(key), op, value, field=field)


def _retry(node, children):
    f = node.fields
    backoff = f.get("backoff") or {}
    return decorators.RetryWithBackoff(
        node.name, children[0], max_attempts=f["attempts"], initial_delay=backoff.get("initial", 1.0),
        factor=backoff.get("factor", 2.0), max_delay=backoff.get("max", 30.0), jitter=backoff.get("jitter", 0.0),
        seed=backoff.get("seed"), retry_on=f.get("retry_on"), no_retry_on=f.get("no_retry_on") or ())


def _parallel(node, children):
    policy = ParallelPolicy.SuccessOnAll() if node.fields["policy"] == "all" else ParallelPolicy.SuccessOnOne()
    return py_trees.composites.Parallel(node.name, policy=policy, children=children)


D = decorators      # py_trees' decorators with feedback messages for people (behaviors/decorators.py)
BUILDERS = {
    "sequence": lambda n, c: py_trees.composites.Sequence(n.name, memory=n.fields["memory"], children=c),
    "fallback": lambda n, c: py_trees.composites.Selector(n.name, memory=n.fields["memory"], children=c),
    "parallel": _parallel,
    "retry": _retry,
    "timeout": lambda n, c: decorators.Timeout(n.name, c[0], duration=float(n.fields["seconds"])),
    "repeat": lambda n, c: D.Repeat(n.name, c[0], num_success=int(n.fields["times"])),
    "invert": lambda n, c: decorators.Invert(n.name, c[0]),
    "force_success": lambda n, c: decorators.ForceSuccess(n.name, c[0]),
    "force_failure": lambda n, c: decorators.ForceFailure(n.name, c[0]),
    "once": lambda n, c: D.OneShot(n.name, c[0], policy=py_trees.common.OneShotPolicy.ON_COMPLETION),
    "navigate": _navigate,
    "follow_trajectory": _follow_trajectory,
    "move_arm": _move_arm,
    "action": _action,
    "health_check": _health_check,
    "calibrate": _calibrate,
    "service": _service,
    "wait": lambda n, c: basics.Wait(n.name, float(n.fields["seconds"])),
    "condition": _condition,
    "set": lambda n, c: basics.SetBlackboard(n.name, n.fields["key"], n.fields["value"]),
    "log": lambda n, c: basics.Log(n.name, n.fields["message"], n.fields["level"]),
}
