"""Tick cost of a compiled 1,000-behaviour mission against the same tree built in py_trees, compile
time, and the executive's tick jitter at 50 Hz against a bare rclpy timer."""
import time

import py_trees

from bench.common import line, median, percentile
from executive import paths

LEAVES = 999        # + the parallel = 1,000 behaviours
TICKS = 200
ROUNDS = 5
JITTER_SECONDS = 6.0


def mission_text(leaves=LEAVES) -> str:
    children = "\n".join(f"      - wait: {{name: w{i}, seconds: 1000}}" for i in range(leaves))
    return f"name: wide\ntree:\n  parallel:\n    name: wide\n    policy: all\n    children:\n{children}\n"


def compiled_tree():
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve_text
    return compile_mission(resolve_text(mission_text(), paths.missions_dir()))


def direct_tree():
    policy = py_trees.common.ParallelPolicy.SuccessOnAll()
    return py_trees.composites.Parallel("wide", policy=policy, children=[
        py_trees.timers.Timer(f"w{i}", duration=1000.0) for i in range(LEAVES)])


def navigate_text(leaves=LEAVES) -> str:
    legs = "\n".join(f"      - navigate: {{name: leg{i}, pose: {{x: {i % 7}.0, y: {i % 5}.0}}}}" for i in range(leaves))
    return f"name: legs\nrobot: r\ntree:\n  sequence:\n    name: legs\n    children:\n{legs}\n"


def compiled_navigate_tree():
    """YAML text to tree: loading, the schema, resolution, every leaf's goal checked against
    its interface, compiling."""
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve_text
    return compile_mission(resolve_text(navigate_text(), paths.missions_dir()))


def direct_navigate_tree():
    from behaviors.actions import NavigateTo
    return py_trees.composites.Sequence("legs", memory=True, children=[
        NavigateTo(f"leg{i}", x=float(i % 7), y=float(i % 5), action_name="/r/navigate_to_pose") for i in range(LEAVES)])


def per_tick(root) -> float:
    started = time.perf_counter()
    for _ in range(TICKS):
        root.tick_once()
    return (time.perf_counter() - started) / TICKS


def timed(build):
    started = time.perf_counter()
    root = build()
    return time.perf_counter() - started, root


def jitter(tick_rate=50.0):
    """p99 |interval - period| of the executive's timer ticks, and of a bare rclpy timer's."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from executive.node import ExecutiveNode

    period = 1.0 / tick_rate
    stamps = []

    class Timed(ExecutiveNode):
        def _tick(self):
            stamps.append(time.monotonic())
            super()._tick()

    rclpy.init()
    try:
        node = Timed("bench_jitter", serve=False, parameter_overrides=[
            Parameter("tick_rate", value=tick_rate), Parameter("log_dir", value="/tmp/bench_logs")])
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        run = node.start(mission_text())
        deadline = time.monotonic() + JITTER_SECONDS
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        node.halt("benchmark over")
        while not run.done:
            executor.spin_once(timeout_sec=0.1)
        ours = [abs(b - a - period) for a, b in zip(stamps[5:], stamps[6:])]
        node.destroy_node()
        bare, base_stamps = rclpy.create_node("bench_bare_timer"), []
        bare.create_timer(period, lambda: base_stamps.append(time.monotonic()))
        executor = SingleThreadedExecutor()
        executor.add_node(bare)
        deadline = time.monotonic() + JITTER_SECONDS
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        base = [abs(b - a - period) for a, b in zip(base_stamps[5:], base_stamps[6:])]
        bare.destroy_node()
    finally:
        rclpy.try_shutdown()
    return ours, base


def run():
    from behaviors.leaf import release

    compile_times, direct_times, ours, base = [], [], [], []
    nav_times, nav_direct = [], []
    for _ in range(ROUNDS):
        for build, times in ((compiled_navigate_tree, nav_times), (direct_navigate_tree, nav_direct)):
            seconds, root = timed(build)
            times.append(seconds)
            release(root)
        seconds, compiled = timed(compiled_tree)
        compile_times.append(seconds)
        seconds, direct = timed(direct_tree)
        direct_times.append(seconds)
        assert len(list(compiled.iterate())) == len(list(direct.iterate())) == LEAVES + 1
        ours.append(per_tick(compiled))
        base.append(per_tick(direct))
    yield line("per tick, 1,000 behaviours (ms)", 1e3 * median(ours), 1e3 * median(base), "ms", 1.10)
    yield line("build 1,000-behaviour tree: YAML->tree (ms)", 1e3 * median(compile_times),
               1e3 * median(direct_times), "ms", 10.0)
    yield line("  the same, 999 navigate leaves (ms)", 1e3 * median(nav_times), 1e3 * median(nav_direct), "ms", 10.0)
    ours_j, base_j = jitter()
    yield line("tick jitter at 50 Hz, p99 (ms)", 1e3 * percentile(ours_j, 99), 1e3 * percentile(base_j, 99), "ms")
    yield line("tick jitter at 50 Hz, p50 (ms)", 1e3 * percentile(ours_j, 50), 1e3 * percentile(base_j, 50), "ms")
    yield f"{'':44} ticks measured: {len(ours_j)} (executive), {len(base_j)} (bare timer)"
