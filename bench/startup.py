"""Start-up: ``mission run inspection --sim`` from process start to its first request to the robot,
against a plain rclpy script that starts the same sim and sends its first request."""
import subprocess
import sys
import tempfile
import time

from bench.common import line, median
from executive import runlog
from executive.tools.launcher import BIN

ROUNDS = 5
RAW = """
import time, rclpy
from executive.tools.launcher import SimProcess
from std_srvs.srv import Trigger
sim = SimProcess("robot1")
rclpy.init()
node = rclpy.create_node("raw_startup")
client = node.create_client(Trigger, sim.name("health_check"))
while not client.service_is_ready():
    rclpy.spin_once(node, timeout_sec=0.01)
future = client.call_async(Trigger.Request())
print(time.time(), flush=True)
rclpy.spin_until_future_complete(node, future, timeout_sec=10)
node.destroy_node()
rclpy.shutdown()
sim.stop()
"""


def ours() -> float:
    logs = tempfile.mkdtemp(prefix="bench_logs_")
    started = time.time()
    subprocess.run([str(BIN / "mission"), "run", "inspection", "--sim", "--time-scale", "8", "--log-dir", logs],
                   check=True, capture_output=True, timeout=120)
    events = runlog.read(next(__import__("pathlib").Path(logs).glob(f"*/{runlog.FILE_NAME}")))
    first = next(e for e in events if e["event"] in ("goal_sent", "call_sent"))
    return first["wall"] - started


def raw() -> float:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", RAW], check=True, capture_output=True, text=True, timeout=120)
    return float(done.stdout.split()[0]) - started


def run():
    ours_s, raw_s = [], []
    for _ in range(ROUNDS):
        ours_s.append(ours())
        raw_s.append(raw())
    yield line("process start to first request (s)", median(ours_s), median(raw_s), "s", 1.05)
    yield f"{'':44} rounds: mission run {', '.join(f'{v:.3f}' for v in ours_s)}; raw {', '.join(f'{v:.3f}' for v in raw_s)}"
