"""Soak: 5,000 navigate goals through one executive process (50 ExecuteMission goals of 100 legs
each): its RSS and open file descriptors before and after, against a plain rclpy client process
sending the same 5,000 goals to the same sim. Targets: RSS growth under 20 MB, fd growth 0."""
import json
import os
import subprocess
import sys
import tempfile
import time

from bench.action_overhead import mission_text
from bench.common import line

MISSIONS = 50
LEGS = 100
SIM_CONFIG = {"result_timeout": 2}      # the sim forgets finished goals quickly (ROS_WHEELS.md item 2)


def usage(pid) -> tuple:
    """(RSS in MB, open file descriptors) of process ``pid``."""
    status = open(f"/proc/{pid}/status").read()
    rss_kb = int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])
    return rss_kb / 1024.0, len(os.listdir(f"/proc/{pid}/fd"))


def raw_client(action_name: str, goals: int) -> dict:
    """In a process of its own: warm up, then ``goals`` sequential goals with a plain ActionClient."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from bench.action_overhead import raw_rclpy

    rclpy.init()
    node = rclpy.create_node(f"bench_soak_raw_{os.getpid()}")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    raw_rclpy(node, executor, action_name, LEGS)
    before = usage(os.getpid())
    for _ in range(goals // LEGS):
        raw_rclpy(node, executor, action_name, LEGS)
    after = usage(os.getpid())
    node.destroy_node()
    rclpy.try_shutdown()
    return {"before": before, "after": after}


def send_missions(executive, sim, count: int, samples: list):
    """``count`` ExecuteMission goals of LEGS legs each, one after another; each must succeed."""
    import rclpy
    from rclpy.action import ActionClient
    from rclpy.executors import SingleThreadedExecutor

    from mission_interfaces.action import ExecuteMission

    node = rclpy.create_node(f"bench_soak_client_{len(samples)}")   # unique: one node per call
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    client = ActionClient(node, ExecuteMission, executive.action_name)

    def wait(future, timeout=120.0):
        executor.spin_until_future_complete(future, timeout_sec=timeout)
        if not future.done():
            raise TimeoutError(f"no answer from {executive.action_name} within {timeout} s")
        return future.result()

    deadline = time.monotonic() + 30
    while not client.server_is_ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{executive.action_name} not discovered within 30 s")
        executor.spin_once(timeout_sec=0.05)
    text = mission_text(sim.namespace, LEGS)
    try:
        for _ in range(count):
            handle = wait(client.send_goal_async(ExecuteMission.Goal(mission=text)))
            assert handle.accepted
            result = wait(handle.get_result_async()).result
            assert result.outcome_code == ExecuteMission.Result.OUTCOME_SUCCEEDED, result.message
            samples.append(usage(executive.proc.pid))
    finally:
        client.destroy()
        node.destroy_node()


def run():
    import rclpy

    from executive.tools.launcher import ExecutiveProcess, SimProcess

    sim = SimProcess("bench_soak", config=SIM_CONFIG)
    executive = ExecutiveProcess({"log_dir": tempfile.mkdtemp(prefix="bench_soak_logs_")}, node_name="bench_soak")
    rclpy.init()
    try:
        samples = []
        send_missions(executive, sim, 2, samples)                 # warm up: discovery, first runs
        before = usage(executive.proc.pid)
        started = time.monotonic()
        send_missions(executive, sim, MISSIONS, samples)
        seconds = time.monotonic() - started
        after = usage(executive.proc.pid)
        raw = subprocess.run([sys.executable, "-m", "bench.soak", "--raw", sim.name("navigate_to_pose"),
                              str(MISSIONS * LEGS)], capture_output=True, text=True, timeout=600)
        if raw.returncode:
            raise RuntimeError(f"raw soak client failed: {raw.stderr[-2000:]}")
        base = json.loads(raw.stdout.strip().splitlines()[-1])
        goals = MISSIONS * LEGS
        rss, base_rss = after[0] - before[0], base["after"][0] - base["before"][0]
        fds, base_fds = after[1] - before[1], base["after"][1] - base["before"][1]
        yield (line(f"RSS growth over {goals} goals (MB)", rss, base_rss, "MB")
               + f"  (target < 20 MB: {'met' if rss < 20 else 'MISSED'})")
        yield (f"{'fd growth':44} {fds:10d}     vs baseline {base_fds:10d}      "
               f"(target 0: {'met' if fds <= 0 else 'MISSED'})")
        yield (f"{'':44} executive RSS {before[0]:.1f} -> {after[0]:.1f} MB, fds {before[1]} -> {after[1]}; "
               f"raw client RSS {base['before'][0]:.1f} -> {base['after'][0]:.1f} MB")
        half = len(samples) // 2
        yield (f"{'':44} RSS after missions 2, {half}, {len(samples)}: "
               f"{samples[1][0]:.1f}, {samples[half - 1][0]:.1f}, {samples[-1][0]:.1f} MB; "
               f"{goals} goals in {seconds:.1f} s")
    finally:
        rclpy.try_shutdown()
        executive.stop()
        sim.stop()


if __name__ == "__main__" and sys.argv[1:2] == ["--raw"]:
    from bench.common import isolate

    isolate()
    print(json.dumps(raw_client(sys.argv[2], int(sys.argv[3]))))
