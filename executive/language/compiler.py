"""Mission model → py_trees tree of :mod:`behaviors`. Builds behaviours only: ROS handles arrive
later, in ``setup(node=...)``, so compiling needs no ROS graph.
"""
import py_trees

from behaviors import actions, basics, btcpp, composites, decorators, plugins, services, topics
from behaviors.leaf import check_request
from executive.language.model import Mission, Node, bb_key, is_bb_ref


def compile_mission(mission: Mission) -> py_trees.behaviour.Behaviour:
    """The mission's tree. Its root is named after the mission."""
    return run_steps(compile_steps(mission))


def compile_steps(mission: Mission):
    """:func:`compile_mission` one behaviour at a time: a generator that yields after each behaviour
    it builds and returns the root, so a host can give its thread back in between (see
    executive/loading.py). What it built is released if a builder raises or it is dropped."""
    root = yield from build_steps(mission.root)
    if root.name == mission.root.kind:
        root.name = mission.name
    return root


def run_steps(steps):
    """Run a generator of steps to its end; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def seed_blackboard(mission: Mission) -> None:
    """Write the mission's initial blackboard values (before its first tick)."""
    for key, value in mission.blackboard.items():
        py_trees.blackboard.Blackboard.set(key, value)


def build(node: Node) -> py_trees.behaviour.Behaviour:
    return run_steps(build_steps(node))


def build_steps(node: Node):
    """Build ``node``'s behaviour, children first, yielding after each behaviour; returns it."""
    made = []
    frames = [(node, [])]       # (node, its children built so far): no recursion, however deep
    try:
        while True:
            current, children = frames[-1]
            if len(children) < len(current.children):
                frames.append((current.children[len(children)], []))
                continue
            frames.pop()
            behaviour = BUILDERS[current.kind](current, children)
            behaviour.mission_node = current    # for errors, the log and the viewer: where it was written
            if current.fields.get("safe_to_repeat") is False:
                behaviour.safe_to_repeat = False    # read by a resume (executive/resume.py)
            made.append(behaviour)
            if not frames:
                return behaviour
            frames[-1][1].append(behaviour)
            yield
    except BaseException:       # a builder raised, or the steps were dropped: nothing stays registered
        from behaviors.leaf import release

        for behaviour in made:
            release(behaviour)
        raise


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


def _action_options(f):
    return dict(server_timeout=f["server_timeout"], goal_timeout=f.get("timeout"),
                feedback_key=f.get("feedback"), result_key=f.get("result"), feedback_format=f.get("feedback_format"),
                wait_for_cancelled=f.get("wait_for_cancelled", True))


def _navigate(node):
    f = node.fields
    pose = f["pose"]
    common = dict(action_name=remote_name(node, "action"), action_type=f["type"], **_action_options(f))
    if is_bb_ref(pose):
        return dict(pose_key=bb_key(pose["bb"]), **common)
    return dict(x=pose["x"], y=pose["y"], yaw=pose.get("yaw", 0.0), frame=pose.get("frame", "map"), **common)


def _follow_trajectory(node):
    f = node.fields
    return dict(joint_names=f["joints"], points=[(p["time"], p["positions"]) for p in f["points"]],
                action_name=remote_name(node, "action"), action_type=f["type"], **_action_options(f))


def _move_arm(node):
    f = node.fields
    return dict(named_pose=f.get("pose"), joints=f.get("joints"), velocity_scaling=f["velocity_scaling"],
                action_name=remote_name(node, "action"), action_type=f["type"], **_action_options(f))


def _action(node):
    f = node.fields
    constants, from_bb = split_blackboard(f["goal"])
    return dict(action_type=f["type"], action_name=remote_name(node, "action"), goal=constants,
                goal_from_blackboard=from_bb, result_check=f.get("success"), **_action_options(f))


def _service_options(f):
    return dict(server_timeout=f["server_timeout"], call_timeout=f["timeout"], response_key=f.get("response"))


def _service(node):
    f = node.fields
    constants, from_bb = split_blackboard(f["request"])
    success = f["success"] if "success" in f else services.SUCCESS_FIELD   # success: null accepts any
    return dict(service_type=f["type"], service_name=remote_name(node, "service"), request=constants,
                request_from_blackboard=from_bb, success_check=success, **_service_options(f))


def _health_check(node):
    return dict(service_name=remote_name(node, "service"), **_service_options(node.fields))


def _calibrate(node):
    return dict(reset=node.fields["reset"], service_name=remote_name(node, "service"), **_service_options(node.fields))


# Leaves that talk to a server: their class and the arguments a model node gives it.
REMOTE = {
    "navigate": (actions.NavigateTo, _navigate),
    "follow_trajectory": (actions.FollowTrajectory, _follow_trajectory),
    "move_arm": (actions.MoveArm, _move_arm),
    "action": (actions.ActionClient, _action),
    "health_check": (services.HealthCheck, _health_check),
    "calibrate": (services.Calibrate, _calibrate),
    "service": (services.ServiceClient, _service),
}


def _subscribe(node):
    f = node.fields
    return dict(topic=remote_name(node, "topic"), message_type=f["type"], key=f["key"], field=f.get("field"),
                qos=f["qos"], stale_after=f.get("stale_after"))


def _wait_for_message(node):
    f = node.fields
    return dict(topic=remote_name(node, "topic"), message_type=f["type"], check=f.get("check"),
                timeout=f.get("timeout"), key=f.get("key"), qos=f["qos"])


def _publish(node):
    f = node.fields
    constants, from_bb = split_blackboard(f["message"])
    return dict(topic=remote_name(node, "topic"), message_type=f["type"], fields=constants,
                fields_from_blackboard=from_bb, rate=f.get("rate"), qos=f["qos"])


# Topic leaves: their class and the arguments a model node gives it.
TOPIC = {
    "subscribe": (topics.Subscribe, _subscribe),
    "wait_for_message": (topics.WaitForMessage, _wait_for_message),
    "publish": (topics.Publish, _publish),
}


def check_interface(node: Node):
    """Check a leaf's interface type and constant goal, request or message fields against the
    installed interfaces, from the model alone: no behaviour is made (validation builds no second
    tree). Returns the interface class; raises InterfaceError (see
    :func:`behaviors.leaf.check_request`, :func:`behaviors.topics.check_message`)."""
    if node.kind in PLUGINS:
        from behaviors.messages import import_type

        kind = next(k for f, k in (("action", "action"), ("service", "srv"), ("topic", "msg")) if f in node.fields)
        return import_type(node.fields["type"], kind)
    if node.kind in TOPIC:
        a = TOPIC[node.kind][1](node)
        return topics.check_message(a["message_type"], a.get("fields"), a.get("fields_from_blackboard", ()),
                                    a.get("field"))
    cls, arguments = REMOTE[node.kind]
    interface_type, fields, from_blackboard = cls.request_of(**arguments(node))
    return check_request(cls.KIND, interface_type, fields, from_blackboard)[0]


def _retry(node, children):
    f = node.fields
    backoff = f.get("backoff") or {}
    if backoff.get("initial") == 0 and set(backoff) <= {"initial", "factor", "max"} and \
            not f.get("retry_on") and not f.get("no_retry_on"):
        return btcpp.RetryUntilSuccessful(node.name, children[0], _count(f, "attempts"))   # BT.CPP's, exactly
    return btcpp.RetryWithBackoff(
        node.name, children[0], max_attempts=_count(f, "attempts"), initial_delay=backoff.get("initial", 1.0),
        factor=backoff.get("factor", 2.0), max_delay=backoff.get("max", 30.0), jitter=backoff.get("jitter", 0.0),
        seed=backoff.get("seed"), retry_on=f.get("retry_on"), no_retry_on=f.get("no_retry_on") or ())


def _count(fields, name) -> int:
    """A repeat's or retry's count: -1 (forever) for forever: true or a repeat with only until:."""
    value = fields.get(name)
    return -1 if value is None or fields.get("forever") else int(value)


def _parallel(node, children):
    """BT.CPP's Parallel: policy all is success_count -1, failure_count 1; one is 1 and -1."""
    f = node.fields
    success, failure = (-1, 1) if f["policy"] == "all" else (1, -1)
    success = success if f.get("success_count") is None else f["success_count"]
    failure = failure if f.get("failure_count") is None else f["failure_count"]
    return composites.Parallel(node.name, success_count=success, failure_count=failure, children=children)


def _once(node, children):
    if node.fields.get("then_skip"):
        return btcpp.RunOnce(node.name, children[0], then_skip=True)
    return D.OneShot(node.name, children[0], policy=py_trees.common.OneShotPolicy.ON_COMPLETION)


def _switch(node, children):

    client = py_trees.blackboard.Client(name=node.name)
    key = bb_key(node.fields["variable"])
    client.register_key(key=key, access=py_trees.common.Access.READ)

    def read():
        return client.get(key) if client.exists(key) else None
    return composites.Switch(node.name, node.fields["cases"], read, btcpp.switch_matches, children=children)


STATUS = {"success": py_trees.common.Status.SUCCESS, "failure": py_trees.common.Status.FAILURE,
          "running": py_trees.common.Status.RUNNING, "skipped": composites.SKIPPED}


def _plugin(node, children):
    """A plugin's behaviour: ``Class(name, **fields)``, remote names under the robot's namespace."""
    fields = dict(node.fields)
    for name in ("action", "service", "topic"):
        if isinstance(fields.get(name), str):
            fields[name] = remote_name(node, name)
    if children:
        fields["child"] = children[0]
    return PLUGINS[node.kind].behaviour_class()(node.name, **fields)


PLUGINS = plugins.registry()
D = decorators      # py_trees' decorators with feedback messages for people (behaviors/decorators.py)
BUILDERS = {
    # composites and decorators: BT.CPP's, SKIPPED included (behaviors/composites.py, behaviors/btcpp.py)
    "sequence": lambda n, c: composites.Sequence(n.name, memory=n.fields["memory"], children=c,
                                                 yields=n.fields.get("yields", False)),
    "fallback": lambda n, c: composites.Fallback(n.name, memory=n.fields["memory"], children=c,
                                                 yields=n.fields.get("yields", False)),
    "parallel": _parallel,
    "retry": _retry,
    "timeout": lambda n, c: btcpp.Timeout(n.name, c[0], duration=float(n.fields["seconds"])),
    "repeat": lambda n, c: btcpp.Repeat(n.name, c[0], times=_count(n.fields, "times"), until=n.fields.get("until")),
    "refresh": lambda n, c: D.Refresh(n.name, c[0], every=n.fields["every"], key=n.fields["key"]),
    "invert": lambda n, c: btcpp.Invert(n.name, c[0]),
    "force_success": lambda n, c: btcpp.ForceSuccess(n.name, c[0]),
    "force_failure": lambda n, c: btcpp.ForceFailure(n.name, c[0]),
    "once": _once,
    "sequence_with_memory": lambda n, c: composites.SequenceWithMemory(n.name, children=c),
    "parallel_all": lambda n, c: composites.ParallelAll(n.name, n.fields["max_failures"], children=c),
    "if_then_else": lambda n, c: composites.IfThenElse(n.name, children=c),
    "while_do_else": lambda n, c: composites.WhileDoElse(n.name, children=c),
    "switch": _switch,
    "keep_running_until_failure": lambda n, c: btcpp.KeepRunningUntilFailure(n.name, c[0]),
    "delay": lambda n, c: btcpp.Delay(n.name, c[0], n.fields["seconds"]),
    "precondition": lambda n, c: btcpp.Precondition(n.name, c[0], n.fields["if"], STATUS[n.fields["else"]]),
    "conditions": lambda n, c: btcpp.Conditions(n.name, c[0], **{k: n.fields.get(k) for k in btcpp.Conditions.PRE +
                                                                   btcpp.Conditions.POST}),
    "loop": lambda n, c: btcpp.Loop(n.name, c[0], n.fields["queue"], bb_key(n.fields["value"]),
                                    STATUS[n.fields["if_empty"]]),
    "always_success": lambda n, c: btcpp.Always(n.name, py_trees.common.Status.SUCCESS),
    "always_failure": lambda n, c: btcpp.Always(n.name, py_trees.common.Status.FAILURE),
    "unset": lambda n, c: btcpp.UnsetBlackboard(n.name, bb_key(n.fields["key"])),
    **{kind: (lambda n, c, cls=cls, arguments=arguments: cls(n.name, **arguments(n)))
       for kind, (cls, arguments) in {**REMOTE, **TOPIC}.items()},
    "wait": lambda n, c: basics.Wait(n.name, float(n.fields["seconds"])),
    "condition": lambda n, c: basics.CheckBlackboard(n.name, n.fields["check"]),
    "script": lambda n, c: basics.Script(n.name, n.fields["code"]),
    "set": lambda n, c: basics.SetBlackboard(n.name, n.fields["key"], n.fields["value"]),
    "log": lambda n, c: basics.Log(n.name, n.fields["message"], n.fields["level"]),
    **{kind: _plugin for kind in PLUGINS},
}
