"""Honest failures and honest time, without a ROS graph: every decorator x every failure reason
(the reason that reaches the result, and what retry_on / no_retry_on decide), mission time that
stops while paused, the root cause of a failed tree, shown statuses that survive a halt, and
progress that counts repeat rounds."""
import itertools

import py_trees
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_trees.common import Status

from behaviors import failures
from behaviors.basics import Wait
from behaviors.clock import MissionClock
from behaviors.decorators import ForceFailure, ForceSuccess, Invert, RetryWithBackoff, Timeout
from behaviors.failures import Failure, FailureTracker
from executive.run import MissionRun, progress_of


class FakeWall:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Fails(py_trees.behaviour.Behaviour):
    """A leaf that runs for ``running`` ticks and then fails with ``reason`` (or succeeds when
    ``reason`` is None): what a real leaf records, without a server."""

    def __init__(self, name, reason=None, running=0):
        super().__init__(name)
        self.reason, self.running, self.failure, self.ticks = reason, running, None, 0

    def initialise(self):
        self.ticks = 0
        self.failure = None

    def update(self):
        self.ticks += 1
        if self.ticks <= self.running:
            return Status.RUNNING
        if self.reason is None:
            return Status.SUCCESS
        self.failure = Failure(self.reason, f"{self.name} failed: {self.reason}")
        return Status.FAILURE


def tick_until_done(root, wall=None, step=0.1, limit=1000, tracker=None):
    """Tick ``root`` until it ends, through ``tracker`` (a FailureTracker) when given."""
    for _ in range(limit):
        for _ in (tracker.tick(root) if tracker is not None else root.tick()):
            pass
        if root.status != Status.RUNNING:
            return root.status
        if wall is not None:
            wall.now += step
    raise AssertionError(f"{root.name} still running after {limit} ticks")


LEAF_REASONS = [r for r in failures.REASONS if r not in failures.DECORATOR_REASONS]
PASS_THROUGH = {
    "retry": lambda child: RetryWithBackoff("retry", child, max_attempts=2, initial_delay=0.0),
    "timeout": lambda child: Timeout("timeout", child, duration=100.0),
    "sequence": lambda child: py_trees.composites.Sequence("sequence", memory=True, children=[child]),
    "fallback": lambda child: py_trees.composites.Selector("fallback", memory=True, children=[child]),
    "parallel": lambda child: py_trees.composites.Parallel("parallel", policy=py_trees.common.ParallelPolicy.SuccessOnAll(),
                                                           children=[child]),
    "force_failure": lambda child: ForceFailure("force_failure", child),
}


@pytest.mark.parametrize("decorator,reason", list(itertools.product(PASS_THROUGH, LEAF_REASONS)))
def test_a_leaf_failure_keeps_its_reason_through_every_decorator(decorator, reason):
    leaf = Fails("leaf", reason)
    root = PASS_THROUGH[decorator](leaf)
    tracker = FailureTracker()
    assert tick_until_done(root, tracker=tracker) == Status.FAILURE
    behaviour, failure = tracker.root_cause(root)
    assert behaviour is leaf and failure.reason == reason


@pytest.mark.parametrize("reason", failures.REASONS)
@pytest.mark.parametrize("rule", ["retry_on", "no_retry_on"])
def test_retry_rules_see_every_reason_through_a_decorator(reason, rule):
    """retry(timeout(child)), retry(invert(...)), retry(force_failure(...)): the reason the retry
    decides on is the one that explains the failure, decorators' own reasons included."""
    if reason == failures.TIMEOUT:
        wall = FakeWall()
        child = Timeout("limit", Fails("slow", None, running=10_000), duration=1.0)
        child.clock = wall
    elif reason == failures.INVERTED:
        wall, child = None, Invert("invert", Fails("ok"))
    elif reason == failures.FORCED_FAILURE:
        wall, child = None, ForceFailure("force", Fails("ok"))
    else:
        wall, child = None, Fails("leaf", reason)
    kwargs = {"retry_on": [reason]} if rule == "retry_on" else {"no_retry_on": [reason]}
    retry = RetryWithBackoff("retry", child, max_attempts=3, initial_delay=0.0, **kwargs)
    if wall is not None:
        retry.clock = wall
    assert tick_until_done(retry, wall, step=0.5) == Status.FAILURE
    assert retry.attempt == (3 if rule == "retry_on" else 1)
    assert retry._failures.root_cause(child)[1].reason == reason


def test_retry_on_timeout_retries_a_timed_out_child_and_not_the_other_way():
    """The issue's case: retry {attempts: 3, retry_on: [timeout]} around timeout {seconds: 1}."""
    for rule, attempts in (({"retry_on": ["timeout"]}, 3), ({"no_retry_on": ["timeout"]}, 1)):
        wall = FakeWall()
        timeout = Timeout("limit", Fails("drive", None, running=10_000), duration=1.0)
        retry = RetryWithBackoff("retry", timeout, max_attempts=3, initial_delay=0.0, **rule)
        timeout.clock = retry.clock = wall
        assert tick_until_done(retry, wall, step=0.25) == Status.FAILURE
        assert retry.attempt == attempts
        assert timeout.failure.reason == failures.TIMEOUT


@pytest.mark.parametrize("make,reason", [(Invert, failures.INVERTED), (ForceFailure, failures.FORCED_FAILURE)])
def test_decorators_that_fail_a_success_record_their_reason(make, reason):
    decorator = make("dec", Fails("ok"))
    tracker = FailureTracker()
    assert tick_until_done(decorator, tracker=tracker) == Status.FAILURE
    assert decorator.failure.reason == reason and tracker.root_cause(decorator) == (decorator, decorator.failure)


def test_force_success_and_invert_of_a_failure_succeed():
    for make in (ForceSuccess, Invert):
        assert tick_until_done(make("dec", Fails("bad", failures.ABORTED))) == Status.SUCCESS


def test_the_root_cause_is_the_first_failure_a_decorator_did_not_cause():
    """inspection with every goal rejected: the fallback's first option failed (rejected), its second
    is force_failure(log). The cause is the rejection, and both options are listed in order."""
    drive = Fails("drive to valve", failures.REJECTED)
    report = ForceFailure("report failure", Fails("log", None, running=2))
    fallback = py_trees.composites.Selector("inspect or give up", memory=True, children=[
        py_trees.composites.Sequence("inspect", memory=True, children=[drive, Fails("never")]), report])
    root = py_trees.composites.Sequence("inspection", memory=True, children=[Fails("check"), fallback])
    tracker = FailureTracker()
    assert tick_until_done(root, tracker=tracker) == Status.FAILURE
    assert drive.status == Status.INVALID       # the fallback cleared its failed option: only the tracker saw it
    assert tracker.root_cause(root) == (drive, drive.failure)
    assert [(b.name, f.reason) for b, f in tracker.causes(root)] == [("drive to valve", "rejected"),
                                                                   ("report failure", "forced_failure")]


def test_a_failed_fallback_lists_each_option_in_order():
    options = [Fails(f"option {i}", reason) for i, reason in enumerate(["aborted", "timeout", "rejected"])]
    root = py_trees.composites.Selector("choose", memory=True, children=options)
    tracker = FailureTracker()
    assert tick_until_done(root, tracker=tracker) == Status.FAILURE
    assert [f.reason for _, f in tracker.causes(root)] == ["aborted", "timeout", "rejected"]


def test_unknown_reasons_are_refused():
    with pytest.raises(ValueError, match="unknown failure reason"):
        Failure("oops", "not in the table")


# -- mission time -------------------------------------------------------------------------------
def test_mission_clock_stops_while_paused():
    wall = FakeWall()
    clock = MissionClock(wall)
    start = clock()
    wall.now += 1.0
    clock.pause()
    wall.now += 10.0
    assert clock() - start == pytest.approx(1.0)
    assert clock.resume() == pytest.approx(10.0)
    wall.now += 0.5
    assert clock() - start == pytest.approx(1.5)
    assert clock.spans == [(101.0, 111.0)]


def test_a_timeout_does_not_count_time_paused():
    """The issue's case: pause 1 s into a timeout of 8 s, resume 10 s later: 7 s are still left."""
    wall = FakeWall()
    clock = MissionClock(wall)
    timeout = Timeout("limit", Fails("drive", None, running=10_000), duration=8.0)
    timeout.setup(clock=clock)
    timeout.tick_once()
    wall.now += 1.0
    clock.pause()
    wall.now += 10.0
    clock.resume()
    timeout.tick_once()
    assert timeout.status == Status.RUNNING
    wall.now += 6.9
    timeout.tick_once()
    assert timeout.status == Status.RUNNING
    wall.now += 0.2
    timeout.tick_once()
    assert timeout.status == Status.FAILURE and timeout.failure.reason == failures.TIMEOUT


def test_wait_and_backoff_do_not_count_time_paused():
    wall = FakeWall()
    clock = MissionClock(wall)
    wait = Wait("wait", 2.0)
    retry = RetryWithBackoff("retry", Fails("flaky", failures.ABORTED), max_attempts=2, initial_delay=3.0)
    for behaviour in (wait, retry):
        behaviour.setup(clock=clock)
        behaviour.tick_once()
    clock.pause()
    wall.now += 60.0
    clock.resume()
    for behaviour in (wait, retry):
        behaviour.tick_once()
        assert behaviour.status == Status.RUNNING, behaviour.name
    wall.now += 3.1
    wait.tick_once()
    assert wait.status == Status.SUCCESS
    retry.tick_once()
    assert retry.attempt == 2


# -- shown statuses, root cause and progress in a run -----------------------------------------------
class _Mission:
    name, file, parameters = "m", "m.yaml", {}


def test_shown_statuses_survive_a_halt():
    done = Fails("done")
    running = Fails("running", None, running=10_000)
    root = py_trees.composites.Sequence("m", memory=True, children=[done, running, Fails("later")])
    run = MissionRun(_Mission(), root)
    run.tick()
    assert [run.shown_status(b) for b in (done, running)] == ["SUCCESS", "RUNNING"]
    run.halt("cancelled", 0.0)
    assert done.status == Status.INVALID     # py_trees reset it; the run still shows what it did
    assert [run.shown_status(b) for b in run.behaviours] == ["HALTED", "SUCCESS", "HALTED", "INVALID"]


def test_a_run_names_the_root_cause_and_marks_it():
    drive = Fails("drive", failures.REJECTED)
    root = py_trees.composites.Selector("m", memory=True, children=[
        drive, ForceFailure("give up", Fails("log"))])
    run = MissionRun(_Mission(), root)
    run.tick()
    assert run.done and run.result.outcome == "failed"
    assert run.result.failed_behavior == "m/drive" == run.root_cause
    assert run.result.failure["reason"] == "rejected"
    assert [f["path"] for f in run.result.failures] == ["m/drive", "m/give up"]


def test_progress_counts_repeat_rounds_and_a_single_failing_leaf_is_zero():
    legs = [Fails(f"leg {i}", None, running=1) for i in range(2)]
    repeat = py_trees.decorators.Repeat("laps", py_trees.composites.Sequence("lap", memory=True, children=legs),
                                        num_success=4)
    shares = []
    while repeat.status != Status.SUCCESS:
        repeat.tick_once()
        shares.append(progress_of(repeat))
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert 0.24 < shares[len(shares) // 4] < 0.5     # a quarter of the ticks in: about a lap done
    lone = MissionRun(_Mission(), Fails("lone", failures.ABORTED))
    lone.tick()
    assert lone.done and lone.progress() == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(LEAF_REASONS + [None]), min_size=1, max_size=6),
       st.sampled_from(["sequence", "fallback"]))
def test_the_root_cause_is_a_recorded_failure_of_the_failed_chain(reasons, composite):
    leaves = [Fails(f"leaf {i}", r) for i, r in enumerate(reasons)]
    make = py_trees.composites.Sequence if composite == "sequence" else py_trees.composites.Selector
    root = make("root", memory=True, children=leaves)
    tracker = FailureTracker()
    status = tick_until_done(root, tracker=tracker)
    if status == Status.SUCCESS:
        return
    behaviour, failure = tracker.root_cause(root)
    failed = [leaf for leaf in leaves if leaf.failure is not None]     # a failed option keeps its record
    assert behaviour is failed[0] and failure.reason == behaviour.reason
    assert [b for b, _ in tracker.causes(root)] == (failed if composite == "fallback" else failed[-1:])
