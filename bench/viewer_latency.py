"""Viewer latency: a status change until the browser viewer's SSE stream delivers it.

Against the same change arriving at a raw rclpy subscriber of ~/tree_snapshots.

The change's own time is the ``wall`` of its ``status`` event in the run log (written in the tick
that saw it); both receivers stamp arrivals with the same clock, in this process."""
import http.client
import json
import pathlib
import tempfile
import threading
import time
import urllib.parse

from bench.common import line, percentile

STEPS = 40
STEP_SECONDS = 0.15
ROUNDS = 2
TARGET_MS = 200.0


def mission_text() -> str:
    steps = "\n".join(f"      - wait: {{name: step {i}, seconds: {STEP_SECONDS}}}" for i in range(STEPS))
    return f"name: viewer_latency\ntree:\n  sequence:\n    name: steps\n    children:\n{steps}\n"


class SseArrivals:
    """Reads the viewer's stream on a thread; ``first[(run_id, path, status)]`` = wall time of arrival."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.connection.request("GET", "/api/stream")
        self.response = self.connection.getresponse()
        self.first = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        kind = None
        try:
            for raw in self.response:
                text = raw.decode().rstrip("\n")
                if text.startswith("event: "):
                    kind = text[7:]
                elif text.startswith("data: ") and kind == "state":
                    now = time.time()
                    state = json.loads(text[6:])
                    for node in state["nodes"]:
                        self.first.setdefault((state["run_id"], node["path"], node["status"]), now)
        except OSError:
            pass


def snapshot_paths(msg) -> list:
    paths = []
    for b in msg.behaviors:
        paths.append(f"{paths[b.parent]}/{b.name}" if b.parent >= 0 else b.name)
    return paths


def run():
    import rclpy
    from rclpy.action import ActionClient

    from executive import runlog
    from executive.tools.launcher import ExecutiveProcess
    from executive.snapshots import SNAPSHOT_QOS
    from mission_interfaces.action import ExecuteMission
    from mission_interfaces.msg import BehaviorState, TreeSnapshot

    names = {BehaviorState.RUNNING: "RUNNING", BehaviorState.SUCCESS: "SUCCESS",
             BehaviorState.FAILURE: "FAILURE", BehaviorState.INVALID: "INVALID"}
    log_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench_viewer_logs_"))
    executive = ExecutiveProcess({"log_dir": str(log_dir), "viewer": True, "viewer_port": 0},
                                 namespace="bench_viewer_exec")
    rclpy.init()
    try:
        url = executive.wait_line("VIEWER", 10).split()[1]
        sse = SseArrivals(url)
        node = rclpy.create_node("bench_viewer_probe")
        ros_first = {}

        def on_snapshot(msg):
            now = time.time()
            for path, b in zip(snapshot_paths(msg), msg.behaviors):
                ros_first.setdefault((msg.run_id, path, names[b.status]), now)
        node.create_subscription(TreeSnapshot, f"{executive.node_name}/tree_snapshots", on_snapshot, SNAPSHOT_QOS)
        client = ActionClient(node, ExecuteMission, executive.action_name)
        if not client.wait_for_server(timeout_sec=30):
            raise TimeoutError("no executive")
        ours, base = [], []
        for _ in range(ROUNDS):
            accepted = client.send_goal_async(ExecuteMission.Goal(mission=mission_text()))
            rclpy.spin_until_future_complete(node, accepted, timeout_sec=30)
            result = accepted.result().get_result_async()
            rclpy.spin_until_future_complete(node, result, timeout_sec=60 + STEPS * STEP_SECONDS)
            if not result.done():
                raise TimeoutError("the mission did not end")
            newest = max(log_dir.iterdir(), key=lambda d: d.stat().st_mtime)
            events = runlog.read(newest)
            run_id = events[0]["run_id"]
            deadline = time.monotonic() + 5     # the last arrivals may trail the result
            changes = [e for e in events if e["event"] == "status" and e["leaf"] and e["status"] == "SUCCESS"]
            while time.monotonic() < deadline and not all(
                    (run_id, e["path"], "SUCCESS") in sse.first and (run_id, e["path"], "SUCCESS") in ros_first
                    for e in changes):
                rclpy.spin_once(node, timeout_sec=0.05)
            for e in changes:
                key = (run_id, e["path"], "SUCCESS")
                if key in sse.first and key in ros_first:
                    ours.append(sse.first[key] - e["wall"])
                    base.append(ros_first[key] - e["wall"])
        if not ours:
            raise RuntimeError("no change was seen by both receivers")
        for q in (50, 99):
            yield line(f"status change to SSE client, p{q} (ms)", 1e3 * percentile(ours, q),
                       1e3 * percentile(base, q), "ms")
        verdict = "met" if 1e3 * percentile(ours, 99) <= TARGET_MS else "MISSED"
        yield f"{'':44} target p99 <= {TARGET_MS:.0f} ms: {verdict} ({len(ours)} changes; baseline: rclpy subscriber)"
        sse.connection.close()
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
        executive.stop()
