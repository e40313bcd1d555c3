"""What the benchmarks share: an isolated ROS environment, statistics and the result lines."""
import os
import random
import statistics

from executive import dds


def isolate():
    """Keep benchmark traffic on this machine and off other runs' domains."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(150, 230)))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    dds.use_profile()


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[index]


def median(values) -> float:
    return statistics.median(values)


def line(name: str, ours: float, baseline: float, unit: str, target: float = None) -> str:
    """One result: ours, the baseline, their ratio and whether it meets the target ratio."""
    ratio = ours / baseline if baseline else float("inf")
    verdict = "" if target is None else ("  (target <= %.2f: %s)" % (target, "met" if ratio <= target else "MISSED"))
    return f"{name:44} {ours:10.3f} {unit:3} vs baseline {baseline:10.3f} {unit:3}  ratio {ratio:5.2f}{verdict}"


def executive(name: str):
    """(ExecutiveNode without an action server, its SingleThreadedExecutor) in this process, logging
    runs to a fresh temporary directory and only warnings to the console; rclpy must be initialised."""
    import tempfile

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from executive.node import ExecutiveNode, freeze_startup_objects

    node = ExecutiveNode(name, serve=False, parameter_overrides=[
        Parameter("log_dir", value=tempfile.mkdtemp(prefix="bench_logs_"))])
    node.get_logger().set_level(rclpy.logging.LoggingSeverity.WARN)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    freeze_startup_objects()        # as mission-executive and mission run do
    return node, executor


def raw_node(name: str):
    """(a plain rclpy node, its own SingleThreadedExecutor) for a raw baseline; rclpy must be
    initialised. The baseline never shares the executive's node or executor: a client converts
    every status message of its action (each one carries every goal the server remembers), so a
    shared executor made each side pay for the other's clients, and the side that spun more (the
    executive) paid more."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    node = rclpy.create_node(name)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    return node, executor
