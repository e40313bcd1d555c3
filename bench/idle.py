"""Idle cost: the CPU a ``mission-executive`` process uses over SECONDS while it waits for goals,
and while a mission is paused, from /proc/<pid>/stat; against a plain rclpy node process that
only spins. Target: under 1% of one core for both."""
import os
import subprocess
import sys
import tempfile
import time

from bench.common import line

SECONDS = 20.0
SETTLE = 2.0
TARGET_PERCENT = 1.0
RAW = """
import rclpy
from std_srvs.srv import Trigger
rclpy.init()
node = rclpy.create_node("raw_idle")
node.create_service(Trigger, "~/pause", lambda request, response: response)
print("READY", flush=True)
try:
    rclpy.spin(node)
except BaseException:       # stopped by the benchmark
    pass
"""
LONG_WAIT = "name: paused\ntree: {wait: {seconds: 1000}}\n"


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")      # utime + stime


def percent_of_a_core(pid: int) -> float:
    time.sleep(SETTLE)
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(SECONDS)
    return 100.0 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def verdict(percent):
    return f"  (target < {TARGET_PERCENT:g}% of a core: {'met' if percent < TARGET_PERCENT else 'MISSED'})"


def run():
    import rclpy
    from rclpy.action import ActionClient
    from std_srvs.srv import Trigger

    from executive.tools.launcher import ExecutiveProcess
    from mission_interfaces.action import ExecuteMission

    raw = subprocess.Popen([sys.executable, "-c", RAW], stdout=subprocess.PIPE, text=True)
    executive = ExecutiveProcess({"log_dir": tempfile.mkdtemp(prefix="bench_idle_logs_")}, namespace="bench_idle")
    rclpy.init()
    try:
        assert raw.stdout.readline().startswith("READY")
        baseline = percent_of_a_core(raw.pid)
        idle = percent_of_a_core(executive.proc.pid)
        yield line(f"idle executive, % of a core over {SECONDS:g} s", idle, baseline, "%") + verdict(idle)
        node = rclpy.create_node("bench_idle_client")
        client = ActionClient(node, ExecuteMission, executive.action_name)
        if not client.wait_for_server(timeout_sec=30):
            raise TimeoutError("no executive")
        accepted = client.send_goal_async(ExecuteMission.Goal(mission=LONG_WAIT))
        rclpy.spin_until_future_complete(node, accepted, timeout_sec=30)
        handle = accepted.result()
        pause = node.create_client(Trigger, f"{executive.node_name}/pause")
        if not pause.wait_for_service(timeout_sec=30):
            raise TimeoutError("no pause service")
        answer = pause.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(node, answer, timeout_sec=30)
        assert answer.result().success, answer.result().message
        paused = percent_of_a_core(executive.proc.pid)
        yield line(f"paused mission, % of a core over {SECONDS:g} s", paused, baseline, "%") + verdict(paused)
        cancel = handle.cancel_goal_async()
        rclpy.spin_until_future_complete(node, cancel, timeout_sec=30)
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
        executive.stop()
        raw.terminate()
        raw.wait()
