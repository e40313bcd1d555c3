"""Checkpoints and restores of trees without ROS (executive/resume.py): a tree interrupted at any
tick and rebuilt from its checkpoint finishes the same way, with every leaf that had finished run
exactly once in all, and the one that was running at most twice."""
import py_trees
from hypothesis import given, settings
from hypothesis import strategies as st
from py_trees.common import ParallelPolicy, Status

from behaviors.basics import Wait
from behaviors.clock import MissionClock
from behaviors.decorators import Repeat, RetryWithBackoff, Timeout
from executive import resume
from executive.run import paths_of

RUNS = {}   # leaf name -> times it started


class Step(py_trees.behaviour.Behaviour):
    """A leaf that takes ``ticks`` ticks, counting how often it starts (in RUNS, by name)."""

    def __init__(self, name, ticks=2, fails_first=0):
        super().__init__(name)
        self.ticks, self.fails_first, self._left = ticks, fails_first, 0

    def initialise(self):
        RUNS[self.name] = RUNS.get(self.name, 0) + 1
        self._left = self.ticks

    def update(self):
        self._left -= 1
        if self._left > 0:
            return Status.RUNNING
        return Status.FAILURE if RUNS[self.name] <= self.fails_first else Status.SUCCESS


class FakeWall:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def mission(clock):
    """A patrol-like tree: a memory sequence, a repeat of laps, a parallel, a retry, a timeout, a
    wait and a once."""
    lap = py_trees.composites.Sequence("lap", memory=True, children=[Step("north"), Step("east"), Step("west")])
    laps = Repeat("laps", lap, times=3)
    both = py_trees.composites.Parallel("both", policy=ParallelPolicy.SuccessOnAll(), children=[
        Step("left", ticks=3), Step("right", ticks=6)])
    retry = RetryWithBackoff("approach", Step("dock", fails_first=1), max_attempts=3, initial_delay=1.0)
    timeout = Timeout("limit", Wait("settle", 2.0), duration=30.0)
    once = py_trees.decorators.OneShot("once", Step("calibrate"), policy=py_trees.common.OneShotPolicy.ON_COMPLETION)
    root = py_trees.composites.Sequence("patrol", memory=True, children=[once, laps, both, retry, timeout])
    for behaviour in root.iterate():
        if hasattr(behaviour, "clock"):
            behaviour.clock = clock
    return root


def run(root, wall, limit=500, until=None):
    for n in range(limit):
        if until is not None and n == until:
            return None
        root.tick_once()
        wall.now += 0.25
        if root.status in (Status.SUCCESS, Status.FAILURE):
            return root.status
    raise AssertionError("the tree did not finish")


def test_uninterrupted_baseline():
    RUNS.clear()
    wall = FakeWall()
    assert run(mission(MissionClock(wall)), wall) == Status.SUCCESS
    assert RUNS == {"calibrate": 1, "north": 3, "east": 3, "west": 3, "left": 1, "right": 1, "dock": 2}


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=60))
def test_interrupted_at_any_tick_and_resumed(stop_at):
    RUNS.clear()
    wall = FakeWall()
    clock = MissionClock(wall)
    first = mission(clock)
    if run(first, wall, until=stop_at) is not None:
        return      # finished before the interruption
    paths = paths_of(first)
    states = resume.capture(first, paths, clock)
    running = {b.name for b in first.iterate() if not b.children and b.status == Status.RUNNING}
    before = dict(RUNS)
    wall.now += 1000.0      # the executive is down: mission time must not count it
    clock2 = MissionClock(wall)
    second = mission(clock2)
    resume.restore(second, paths_of(second), states, clock2)
    assert run(second, wall) == Status.SUCCESS
    expected = {"calibrate": 1, "north": 3, "east": 3, "west": 3, "left": 1, "right": 1}
    for name, times in expected.items():
        # a leaf running at the interruption starts once more; no finished step is redone
        assert RUNS[name] == times + (name in running), (name, RUNS, before, states)
    # dock fails its first start and succeeds after: an interrupted first start is its failure
    assert RUNS["dock"] == (before["dock"] + 1 if "dock" in running and before["dock"] >= 2 else 2), RUNS


def test_a_timeout_keeps_only_the_time_it_had_left():
    wall = FakeWall()
    clock = MissionClock(wall)
    timeout = Timeout("limit", Wait("long", 100.0), duration=10.0)
    timeout.clock = clock
    timeout.decorated.clock = clock
    timeout.tick_once()
    wall.now += 4.0
    timeout.tick_once()
    states = resume.capture(timeout, paths_of(timeout), clock)
    assert states["limit"] == {"left": 6.0} and states["limit/long"] == {"left": 96.0}
    wall.now += 3600.0      # down for an hour
    clock2 = MissionClock(wall)
    again = Timeout("limit", Wait("long", 100.0), duration=10.0)
    resume.restore(again, paths_of(again), states, clock2)
    again.tick_once()
    assert again.status == Status.RUNNING
    wall.now += 6.1
    again.tick_once()
    assert again.status == Status.FAILURE and again.failure.reason == "timeout"


def test_a_checkpoint_of_another_tree_is_refused():
    wall = FakeWall()
    states = {"patrol/nowhere": {"at": 1}}
    tree = mission(MissionClock(wall))
    try:
        resume.restore(tree, paths_of(tree), states, MissionClock(wall))
    except resume.ResumeError as exc:
        assert "patrol/nowhere" in str(exc)
    else:
        raise AssertionError("restore accepted a path the tree does not have")
