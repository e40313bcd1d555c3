"""What checkpoints cost (issue #24): after every tick in which a leaf finished, a run logs where
it is and syncs its log to disk (executive/run.py ``checkpoint``), so that a resume after a power
cut starts from there.

- repeat: ``repeat`` 200 times one navigate goal that succeeds at once (200 checkpoints), against
  the same mission in the same process with checkpoints turned off (``MissionRun.checkpoint`` and
  ``RunLog.sync`` replaced by no-ops for the baseline rounds), and against raw rclpy.
- per checkpoint: the time of one ``checkpoint()`` call (capture, JSON line, ``os.fsync``) and of
  its ``fsync`` alone, on the log directory's file system (here the machine's disk).
"""
import time

from bench import common
from bench.common import line, median, percentile
from bench.shapes import GOALS, SIM_CONFIG, executive_run, raw_goals, repeat_mission

ROUNDS = 5
TARGET = 1.10


class Timed:
    """Wraps ``owner.name`` to add each call's seconds to ``self.times`` (or to skip it: ``off``)."""

    def __init__(self, owner, name):
        self.owner, self.name, self.original = owner, name, getattr(owner, name)
        self.times, self.off = [], False
        timed = self

        def wrapper(*args, **kwargs):
            if timed.off:
                return None
            started = time.perf_counter()
            try:
                return timed.original(*args, **kwargs)
            finally:
                timed.times.append(time.perf_counter() - started)
        setattr(owner, name, wrapper)

    def restore(self):
        setattr(self.owner, self.name, self.original)


def run():
    import rclpy

    from executive.run import MissionRun
    from executive.runlog import RunLog
    from executive.tools.launcher import SimProcess

    sim = SimProcess("bench_checkpoint", config=SIM_CONFIG)
    rclpy.init()
    checkpoint, sync = Timed(MissionRun, "checkpoint"), Timed(RunLog, "sync")
    try:
        node, executor = common.executive("bench_checkpoint_executive")
        raw_node, raw_executor = common.raw_node("bench_checkpoint_raw")
        action, text = sim.name("navigate_to_pose"), repeat_mission(sim.namespace)
        raw_goals(raw_node, raw_executor, action, 20)   # warm up: discovery, first goals, the mission once
        executive_run(node, executor, text)

        def without():
            checkpoint.off = sync.off = True
            try:
                return executive_run(node, executor, text)
            finally:
                checkpoint.off = sync.off = False
        checkpoint.times.clear()
        sync.times.clear()
        mine, base, raw = [], [], []
        for i in range(ROUNDS):
            steps = [lambda: mine.append(executive_run(node, executor, text)), lambda: base.append(without()),
                     lambda: raw.append(raw_goals(raw_node, raw_executor, action))]
            for step in (steps if i % 2 == 0 else reversed(steps)):
                step()
        yield line(f"repeat, {GOALS} goals: checkpoints on vs off (s)", median(mine), median(base), "s", TARGET)
        yield f"{'':44} rounds: on {', '.join(f'{v:.3f}' for v in mine)}; off {', '.join(f'{v:.3f}' for v in base)}"
        yield line(f"repeat, {GOALS} goals, checkpoints on, vs raw (s)", median(mine), median(raw), "s")
        per = [t * 1e3 for t in checkpoint.times]
        fsync = [t * 1e3 for t in sync.times]
        yield (f"{'one checkpoint (ms)':44} median {median(per):.3f}  p99 {percentile(per, 99):.3f}  "
               f"({len(per)} checkpoints; {GOALS} per run)")
        label = "  of which asking for the sync (ms)"     # the fsync itself runs off the tick (RunLog.sync)
        yield f"{label:44} median {median(fsync):.3f}  p99 {percentile(fsync, 99):.3f}"
        node.destroy_node()
        raw_node.destroy_node()
    finally:
        checkpoint.restore()
        sync.restore()
        rclpy.try_shutdown()
        sim.stop()
