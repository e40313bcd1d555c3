"""Server loss: how soon a SIGKILLed server leaves a client's ROS graph.

A mission-sim with the package's Fast DDS profile (executive/dds: 3 s lease) against one on Fast
DDS's defaults (no profile), on this venv's distribution (Fast DDS 2.x on Jazzy, 3.x on Kilted)."""
import os
import signal
import time

import rclpy
from rclpy.node import Node

from bench.common import line, median
from executive import dds
from executive.tools.launcher import SimProcess

ROUNDS = 2
GIVE_UP = 60.0


def _present(node, namespace: str) -> bool:
    return ("robot_sim", f"/{namespace}") in node.get_node_names_and_namespaces()


def _spin_until(node, predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.02)
    return predicate()


def detection(node, env: dict, namespace: str) -> float:
    """Seconds from SIGKILL of a sim started with ``env`` to its node leaving ``node``'s graph."""
    robot = SimProcess(namespace, env=env)
    try:
        if not _spin_until(node, lambda: _present(node, namespace), 20.0):
            raise RuntimeError(f"/{namespace}/robot_sim never appeared")
        robot.proc.send_signal(signal.SIGKILL)
        robot.proc.wait(10)
        killed = time.monotonic()
        if not _spin_until(node, lambda: not _present(node, namespace), GIVE_UP):
            raise RuntimeError(f"/{namespace}/robot_sim still in the graph after {GIVE_UP} s")
        return time.monotonic() - killed
    finally:
        robot.stop()


def run():
    without = {k: v for k, v in os.environ.items() if k not in dds.VARIABLES.values()}
    # The launcher gives a child our profile unless the environment names one: name an empty file
    # of profiles for the baseline, so that it runs on Fast DDS's defaults.
    empty = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench_no_profile_{os.getpid()}.xml")
    with open(empty, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8" ?>\n<dds xmlns="http://www.eprosima.com"><profiles/></dds>\n')
    baseline_env = {**without, **{name: empty for name in dds.VARIABLES.values()}}
    rclpy.init()
    node = Node("bench_server_loss")
    ours, baseline = [], []
    try:
        for i in range(ROUNDS):
            ours.append(detection(node, dict(without), f"loss_ours_{os.getpid()}_{i}"))
            baseline.append(detection(node, baseline_env, f"loss_default_{os.getpid()}_{i}"))
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        os.unlink(empty)
    yield line("killed server gone from the graph (s)", median(ours), median(baseline), "s")
    yield (f"{'':45}Fast DDS {dds.fastdds_major()}.x; rounds: ours "
           f"{', '.join(f'{v:.1f}' for v in ours)}; default {', '.join(f'{v:.1f}' for v in baseline)}")
