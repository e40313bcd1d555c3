"""Fan-out: 10 simulated robots (one process each), one mission driving all of them in parallel,
500 navigate goals in all; against raw rclpy driving the same robots in parallel from one process,
and against the ideal (one robot alone, its 50 goals in a row). Goals lost must be 0."""
import json
import time

from bench import common
from bench.common import line, median

ROBOTS = 10
GOALS_PER_ROBOT = 50
ROUNDS = 3
TIME_SCALE = 5.0
# Short legs (0.25 m at 0.5 m/s: 0.1 s of wall time at TIME_SCALE), few remembered goals.
SIM_CONFIG = {"result_timeout": 2}
POSES = ({"x": 0.25, "y": 0.0}, {"x": 0.0, "y": 0.0})


def mission_text(robots, goals=GOALS_PER_ROBOT, name="fan_out") -> str:
    """One ``parallel`` of a sequence of ``goals`` short legs per robot."""
    lines = [f"name: {name}", "tree:", "  parallel:", "    name: all robots", "    policy: all", "    children:"]
    for robot in robots:
        lines += ["      - sequence:", f"          name: {robot}", f"          robot: {robot}", "          children:"]
        for i in range(goals):
            pose = POSES[i % 2]
            lines.append(f"            - navigate: {{name: leg{i}, pose: {{x: {pose['x']}, y: {pose['y']}}}}}")
    return "\n".join(lines) + "\n"


def goal_for(i):
    from mission_interfaces.action import NavigateToPose

    goal = NavigateToPose.Goal()
    goal.pose.header.frame_id = "map"
    goal.pose.pose.position.x = POSES[i % 2]["x"]
    goal.pose.pose.orientation.w = 1.0
    return goal


class RawChains:
    """Each robot's goals in a row, all robots at once, with plain rclpy ActionClients (GoalClient: rclpy's, without the future Kilted's leaks per goal)."""

    def __init__(self, node, executor, action_names, goal=goal_for):
        """``goal(i)``: the i-th goal of each chain."""
        from behaviors.actions import GoalClient as ActionClient   # rclpy's, without Kilted's leak

        from mission_interfaces.action import NavigateToPose

        self.executor = executor
        self.goal = goal
        self.clients = [ActionClient(node, NavigateToPose, name) for name in action_names]
        deadline = time.monotonic() + 30
        while not all(c.server_is_ready() for c in self.clients):
            if time.monotonic() > deadline:
                raise TimeoutError("fan-out sims not discovered within 30 s")
            executor.spin_once(timeout_sec=0.05)

    def run(self, clients=None, goals=GOALS_PER_ROBOT) -> float:
        clients = clients or self.clients
        left = {id(c): goals for c in clients}
        failures = []

        def send(client):
            future = client.send_goal_async(self.goal(goals - left[id(client)]))
            future.add_done_callback(lambda f: accepted(client, f))

        def accepted(client, future):
            future.result().get_result_async().add_done_callback(lambda f: finished(client, f))

        def finished(client, future):
            if future.result().status != 4:             # SUCCEEDED
                failures.append(future.result().status)
            left[id(client)] -= 1
            if left[id(client)]:
                send(client)

        started = time.perf_counter()
        for client in clients:
            send(client)
        deadline = time.monotonic() + 120
        while any(left.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw fan-out unfinished: {left}")
            self.executor.spin_once(timeout_sec=0.1)
        assert not failures, failures
        return time.perf_counter() - started


def navigation_counts(probe, sims) -> list:
    return [json.loads(probe(sim).message)["navigate_to_pose"] for sim in sims]


def run():
    import rclpy
    from std_srvs.srv import Trigger

    from executive.tools.launcher import SimProcess
    from executive.runlog import read

    sims = []
    rclpy.init()
    try:
        for i in range(ROBOTS):
            sims.append(SimProcess(f"fan{i}", config=SIM_CONFIG, time_scale=TIME_SCALE))
        node, executor = common.executive("bench_fan_out_executive")
        raw_node, raw_executor = common.raw_node("bench_fan_out_raw")
        raw = RawChains(raw_node, raw_executor, [sim.name("navigate_to_pose") for sim in sims])
        status_clients = {sim.namespace: node.create_client(Trigger, sim.name("sim_status")) for sim in sims}

        def probe(sim):
            future = status_clients[sim.namespace].call_async(Trigger.Request())
            executor.spin_until_future_complete(future, timeout_sec=10)
            return future.result()

        text = mission_text([sim.namespace for sim in sims])
        builds = []     # seconds of each run spent loading and compiling the mission (in its wall time)

        def executive_run():
            started = time.perf_counter()
            run = node.start(text)
            builds.append(time.perf_counter() - started)
            while not run.done:
                executor.spin_once(timeout_sec=0.1)
            elapsed = time.perf_counter() - started
            assert run.result.outcome == "succeeded", run.result
            events = read(run.log.path)
            sent = sum(e["event"] == "goal_sent" for e in events)
            results = sum(e["event"] == "result" and e.get("status") == "SUCCEEDED" for e in events)
            return elapsed, sent, results

        raw.run(goals=4)                                      # warm up: discovery, first goals
        executive_run()
        before = navigation_counts(probe, sims)
        ours, base, ideal, sent, results = [], [], [], 0, 0
        for i in range(ROUNDS):
            ideal.append(raw.run(clients=raw.clients[i % ROBOTS:i % ROBOTS + 1]))
            pair = [lambda: ours.append(executive_run()), lambda: base.append(raw.run())]
            for measure in (pair if i % 2 == 0 else reversed(pair)):
                measure()
        after = navigation_counts(probe, sims)
        for elapsed, s, r in ours:
            sent, results = sent + s, results + r
        walls = [o[0] for o in ours]
        expected_sim = ROUNDS * (2 * ROBOTS * GOALS_PER_ROBOT + GOALS_PER_ROBOT)
        succeeded = sum(a.get("succeeded", 0) - b.get("succeeded", 0) for a, b in zip(after, before))
        unfinished = sum(a["pending"] + a["active"] for a in after)
        yield line(f"{ROBOTS} robots x {GOALS_PER_ROBOT} goals, wall (s)", median(walls), median(base), "s", 1.05)
        yield line("  the same against the ideal (s)", median(walls), median(ideal), "s")
        yield f"{'':44} of which loading and compiling the 511-behaviour mission: {median(builds):.2f} s"
        yield (f"{'':44} rounds: executive {', '.join(f'{v:.2f}' for v in walls)}; raw "
               f"{', '.join(f'{v:.2f}' for v in base)}; one robot alone {', '.join(f'{v:.2f}' for v in ideal)}")
        total = ROUNDS * ROBOTS * GOALS_PER_ROBOT
        lost = total - results
        yield (f"{'':44} executive goals: {sent} sent, {results} succeeded of {total}: lost {lost}"
               f" ({'target 0: met' if lost == 0 and sent == total else 'target 0: MISSED'})")
        yield (f"{'':44} sims: {succeeded} goals succeeded of {expected_sim} sent by both clients; "
               f"{unfinished} unfinished")
        node.destroy_node()
        raw_node.destroy_node()
    finally:
        rclpy.try_shutdown()
        for sim in sims:
            sim.stop()
