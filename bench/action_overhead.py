"""Action overhead: a mission of 200 sequential navigate goals against a sim server that succeeds
at once, against a plain rclpy client sending the same 200 goals (same process, its own node and
executor, same server)."""
import time

from bench import common
from bench.common import line, median

GOALS = 200
ROUNDS = 5
SIM_CONFIG = {"result_timeout": 2}   # few remembered goals: each status message carries them all


def mission_text(robot: str, goals=GOALS) -> str:
    legs = "\n".join(f"      - navigate: {{name: leg{i}, pose: {{x: 0.0, y: 0.0}}}}" for i in range(goals))
    return f"name: legs\nrobot: {robot}\ntree:\n  sequence:\n    name: legs\n    children:\n{legs}\n"


def raw_rclpy(node, executor, action_name, goals=GOALS) -> float:
    """Seconds for ``goals`` sequential goals with a plain rclpy ActionClient (GoalClient: without Kilted's leaked future)."""
    from behaviors.actions import GoalClient as ActionClient   # rclpy's, without Kilted's leak

    from mission_interfaces.action import NavigateToPose

    client = getattr(node, "_bench_client", None) or ActionClient(node, NavigateToPose, action_name)
    node._bench_client = client
    while not client.server_is_ready():
        executor.spin_once(timeout_sec=0.05)
    goal = NavigateToPose.Goal()
    goal.pose.header.frame_id = "map"
    goal.pose.pose.orientation.w = 1.0
    started = time.perf_counter()
    for _ in range(goals):
        accepted = client.send_goal_async(goal)
        executor.spin_until_future_complete(accepted, timeout_sec=10)
        result = accepted.result().get_result_async()
        executor.spin_until_future_complete(result, timeout_sec=10)
        assert result.result().status == 4, result.result().status      # SUCCEEDED
    return time.perf_counter() - started


def executive_run(node, executor, robot) -> float:
    """Seconds from starting the mission to its end, on the executive (ticking at 10 Hz)."""
    started = time.perf_counter()
    run = node.start(mission_text(robot))
    while not run.done:
        executor.spin_once(timeout_sec=0.1)
    assert run.result.outcome == "succeeded", run.result
    return time.perf_counter() - started


def run():
    import rclpy

    from executive.tools.launcher import SimProcess

    sim = SimProcess("bench_overhead", config=SIM_CONFIG)
    rclpy.init()
    try:
        node, executor = common.executive("bench_overhead_executive")
        raw_node, raw_executor = common.raw_node("bench_overhead_raw")
        action = sim.name("navigate_to_pose")
        raw_rclpy(raw_node, raw_executor, action, 20)      # warm up both: discovery, first goals
        executive_run(node, executor, sim.namespace)
        ours, base = [], []
        for i in range(ROUNDS):                             # alternate which goes first
            pair = [lambda: ours.append(executive_run(node, executor, sim.namespace)),
                    lambda: base.append(raw_rclpy(raw_node, raw_executor, action))]
            for measure in (pair if i % 2 == 0 else reversed(pair)):
                measure()
        yield line(f"{GOALS} sequential goals, total (s)", median(ours), median(base), "s", 1.15)
        yield line("per goal (ms)", 1e3 * median(ours) / GOALS, 1e3 * median(base) / GOALS, "ms", 1.15)
        yield f"{'':44} rounds: executive {', '.join(f'{v:.3f}' for v in ours)}; raw {', '.join(f'{v:.3f}' for v in base)}"
        node.destroy_node()
        raw_node.destroy_node()
    finally:
        rclpy.try_shutdown()
        sim.stop()
