"""The shapes missions are written in: repeat, retry, parallel and subtree, each against the raw rclpy
loop that does the same work, in the same process (on its own node and executor), against the same sim
servers, in the same run.

- repeat: ``repeat`` 200 times one navigate goal that succeeds at once; raw: 200 goals in a row.
- retry: ``retry`` with 200 attempts and no backoff of a goal the server aborts at once (issue 17's
  "instant goals"); raw: 200 goals in a row, each aborted. The same with a goal the server rejects,
  the least work a goal can be (one request, no result); raw: 200 goals, each rejected.
- parallel: ``parallel`` of 4 robots' sequences of 50 goals; raw: 4 chains of 50 goals at once
  (callback chains on one executor). The 4 robots are one ``mission-sim --robots 4`` process.
- subtree: ``repeat`` 200 times a subtree holding the navigate goal; raw: 200 goals in a row.
"""
import time

from bench import common
from bench.common import line, median
from bench.fan_out import RawChains

GOALS = 200
PARALLEL_ROBOTS = 4
PARALLEL_GOALS = 50
ROUNDS = 7
TARGET = 1.10
# Few remembered goals: each status message carries them all (ROS_WHEELS.md, item 2).
SIM_CONFIG = {"result_timeout": 2}
LEG = "{navigate: {name: leg, pose: {x: 0.0, y: 0.0}}}"


def repeat_mission(robot) -> str:
    return f"name: repeat\nrobot: {robot}\ntree:\n  repeat: {{name: laps, times: {GOALS}, child: {LEG}}}\n"


def retry_mission(robot) -> str:
    return (f"name: retry\nrobot: {robot}\ntree:\n  retry: {{name: again, attempts: {GOALS}, backoff: {{initial: 0}}, "
            f"child: {LEG}}}\n")


def subtree_mission(robot) -> str:
    return (f"name: subtree\nrobot: {robot}\nsubtrees:\n  leg:\n    tree: {{sequence: {{children: [{LEG}]}}}}\n"
            f"tree:\n  repeat: {{name: laps, times: {GOALS}, child: {{subtree: {{use: leg}}}}}}\n")


def parallel_mission(robots) -> str:
    lines = ["name: parallel", "tree:", "  parallel:", "    name: robots", "    policy: all", "    children:"]
    for robot in robots:
        lines += ["      - sequence:", f"          name: {robot}", f"          robot: {robot}", "          children:"]
        lines += [f"            - {LEG}"] * PARALLEL_GOALS
    return "\n".join(lines) + "\n"


def _goal():
    from mission_interfaces.action import NavigateToPose

    goal = NavigateToPose.Goal()
    goal.pose.header.frame_id = "map"
    goal.pose.pose.orientation.w = 1.0
    return goal


def _client(node, executor, action_name):
    from behaviors.actions import GoalClient as ActionClient   # rclpy's, without Kilted's leak

    from mission_interfaces.action import NavigateToPose

    clients = node.__dict__.setdefault("_bench_clients", {})
    if action_name not in clients:
        clients[action_name] = ActionClient(node, NavigateToPose, action_name)
    client = clients[action_name]
    deadline = time.monotonic() + 30
    while not client.server_is_ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{action_name} not discovered within 30 s")
        executor.spin_once(timeout_sec=0.05)
    return client


def raw_goals(node, executor, action_name, goals=GOALS, accepted=True, status=4) -> float:
    """Seconds for ``goals`` sequential goals; each must end with ``status`` (4: SUCCEEDED, 6: ABORTED)
    or, ``accepted=False``, be rejected."""
    client = _client(node, executor, action_name)
    goal = _goal()
    started = time.perf_counter()
    for _ in range(goals):
        sent = client.send_goal_async(goal)
        executor.spin_until_future_complete(sent, timeout_sec=10)
        handle = sent.result()
        assert handle is not None and handle.accepted == accepted, handle
        if accepted:
            result = handle.get_result_async()
            executor.spin_until_future_complete(result, timeout_sec=10)
            assert result.result().status == status, result.result().status
    return time.perf_counter() - started


def executive_run(node, executor, text, outcome="succeeded") -> float:
    """Seconds from starting the mission to its end, on the executive (ticking at 10 Hz)."""
    started = time.perf_counter()
    run = node.start(text)
    assert not hasattr(run, "outcome"), run       # a RunResult: the mission did not start
    while not run.done:
        executor.spin_once(timeout_sec=0.1)
    assert run.result.outcome == outcome, run.result
    return time.perf_counter() - started


def measure(ours, raw):
    """ROUNDS of each, alternating which goes first; (our times, raw times)."""
    mine, base = [], []
    for i in range(ROUNDS):
        pair = [lambda: mine.append(ours()), lambda: base.append(raw())]
        for step in (pair if i % 2 == 0 else reversed(pair)):
            step()
    return mine, base


def report(name, mine, base):
    yield line(name, median(mine), median(base), "s", TARGET)
    yield f"{'':44} rounds: executive {', '.join(f'{v:.3f}' for v in mine)}; raw {', '.join(f'{v:.3f}' for v in base)}"


def run():
    import rclpy

    from executive.tools.launcher import SimProcess

    sim = SimProcess("bench_shapes", config=SIM_CONFIG)
    rejecting = SimProcess("bench_shapes_reject", config={**SIM_CONFIG, "faults": {"navigate_to_pose": {"reject_all": True}}})
    aborting = SimProcess("bench_shapes_abort",
                          config={**SIM_CONFIG, "faults": {"navigate_to_pose": {"abort_probability": 1.0}}})
    fleet = SimProcess("", config=SIM_CONFIG, robots=PARALLEL_ROBOTS)
    rclpy.init()
    try:
        node, executor = common.executive("bench_shapes_executive")
        raw_node, raw_executor = common.raw_node("bench_shapes_raw")
        action = sim.name("navigate_to_pose")
        rejected = rejecting.name("navigate_to_pose")
        aborted = aborting.name("navigate_to_pose")
        chains = RawChains(raw_node, raw_executor, [fleet.name("navigate_to_pose", robot) for robot in fleet.namespaces],
                           goal=lambda i: _goal())
        # Warm up: discovery, first goals, every mission once.
        raw_goals(raw_node, raw_executor, action, 20)
        raw_goals(raw_node, raw_executor, rejected, 5, accepted=False)
        raw_goals(raw_node, raw_executor, aborted, 5, status=6)
        chains.run(goals=5)
        for text, outcome in ((repeat_mission(sim.namespace), "succeeded"), (retry_mission(rejecting.namespace), "failed"),
                              (retry_mission(aborting.namespace), "failed"),
                              (parallel_mission(fleet.namespaces), "succeeded"),
                              (subtree_mission(sim.namespace), "succeeded")):
            executive_run(node, executor, text, outcome)

        mine, base = measure(lambda: executive_run(node, executor, repeat_mission(sim.namespace)),
                             lambda: raw_goals(raw_node, raw_executor, action))
        yield from report(f"repeat: {GOALS} goals (s)", mine, base)
        mine, base = measure(lambda: executive_run(node, executor, retry_mission(aborting.namespace), "failed"),
                             lambda: raw_goals(raw_node, raw_executor, aborted, status=6))
        yield from report(f"retry, no backoff: {GOALS} aborted goals (s)", mine, base)
        mine, base = measure(lambda: executive_run(node, executor, retry_mission(rejecting.namespace), "failed"),
                             lambda: raw_goals(raw_node, raw_executor, rejected, accepted=False))
        yield from report(f"retry, no backoff: {GOALS} rejected goals (s)", mine, base)
        mine, base = measure(lambda: executive_run(node, executor, parallel_mission(fleet.namespaces)),
                             lambda: chains.run(goals=PARALLEL_GOALS))
        yield from report(f"parallel: {PARALLEL_ROBOTS} robots x {PARALLEL_GOALS} goals (s)", mine, base)
        mine, base = measure(lambda: executive_run(node, executor, subtree_mission(sim.namespace)),
                             lambda: raw_goals(raw_node, raw_executor, action))
        yield from report(f"subtree: repeat of a subtree, {GOALS} goals (s)", mine, base)
        node.destroy_node()
        raw_node.destroy_node()
    finally:
        rclpy.try_shutdown()
        for process in (sim, rejecting, aborting, fleet):
            process.stop()
