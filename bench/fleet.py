"""Fleet: 50 simulated robots in one ``mission-sim --robots 50`` process, one mission driving all
of them in parallel (a ``parallel`` of 50 sequences of navigate goals), against raw rclpy driving
the same 50 robots at once from one process. Reports the executive's CPU time per robot (this
process's, DDS threads included, the same for both) and wall time; goals lost must be 0."""
import json
import time

from bench import common
from bench.common import line, median
from bench.fan_out import RawChains, mission_text

ROBOTS = 50
GOALS_PER_ROBOT = 6
ROUNDS = 3
TIME_SCALE = 5.0
SIM_CONFIG = {"result_timeout": 2}


def run():
    import rclpy
    from std_srvs.srv import Trigger

    from executive.runlog import read
    from executive.tools.launcher import SimProcess

    started = time.monotonic()
    fleet = SimProcess("", config=SIM_CONFIG, time_scale=TIME_SCALE, robots=ROBOTS)
    ready = time.monotonic() - started
    rclpy.init()
    try:
        node, executor = common.executive("bench_fleet_executive")
        raw_node, raw_executor = common.raw_node("bench_fleet_raw")
        raw = RawChains(raw_node, raw_executor, [fleet.name("navigate_to_pose", robot) for robot in fleet.namespaces])
        status = {robot: node.create_client(Trigger, fleet.name("sim_status", robot)) for robot in fleet.namespaces}

        def counts():
            out = []
            for client in status.values():
                future = client.call_async(Trigger.Request())
                executor.spin_until_future_complete(future, timeout_sec=30)
                out.append(json.loads(future.result().message)["navigate_to_pose"])
            return out

        text = mission_text(fleet.namespaces, GOALS_PER_ROBOT, name="fleet")

        def executive_run():
            cpu, wall = time.process_time(), time.perf_counter()
            run = node.start(text)
            while not run.done:
                executor.spin_once(timeout_sec=0.1)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert run.result.outcome == "succeeded", run.result
            results = sum(e["event"] == "result" and e.get("status") == "SUCCEEDED" for e in read(run.log.path))
            return cpu, wall, results

        def raw_run():
            cpu = time.process_time()
            wall = raw.run(goals=GOALS_PER_ROBOT)
            return time.process_time() - cpu, wall

        raw.run(goals=2)                                    # warm up: discovery, first goals
        executive_run()
        before = counts()
        ours, base = [], []
        for i in range(ROUNDS):
            pair = [lambda: ours.append(executive_run()), lambda: base.append(raw_run())]
            for measure in (pair if i % 2 == 0 else reversed(pair)):
                measure()
        after = counts()
        per_robot = 1e3 / ROBOTS
        yield line(f"{ROBOTS} robots x {GOALS_PER_ROBOT} goals: CPU per robot (ms)",
                   per_robot * median([o[0] for o in ours]), per_robot * median([b[0] for b in base]), "ms")
        yield line("  wall (s)", median([o[1] for o in ours]), median([b[1] for b in base]), "s")
        yield (f"{'':44} rounds: executive CPU {', '.join(f'{o[0]:.2f}' for o in ours)} s, wall "
               f"{', '.join(f'{o[1]:.2f}' for o in ours)} s; raw CPU {', '.join(f'{b[0]:.2f}' for b in base)} s, "
               f"wall {', '.join(f'{b[1]:.2f}' for b in base)} s")
        total = ROUNDS * ROBOTS * GOALS_PER_ROBOT
        results = sum(o[2] for o in ours)
        succeeded = sum(a.get("succeeded", 0) - b.get("succeeded", 0) for a, b in zip(after, before))
        unfinished = sum(a["pending"] + a["active"] for a in after)
        yield (f"{'':44} executive goals: {results} succeeded of {total}: lost {total - results} "
               f"(target 0: {'met' if results == total else 'MISSED'}); sims: {succeeded} of {2 * total} "
               f"succeeded, {unfinished} unfinished; the 50-robot sim was ready in {ready:.1f} s")
        node.destroy_node()
        raw_node.destroy_node()
    finally:
        rclpy.try_shutdown()
        fleet.stop()
