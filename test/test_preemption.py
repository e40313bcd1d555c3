"""Preemption under goal_policy:=preempt, as races: goals arriving back to back, in bursts, with
invalid goals and cancels among them. Whatever order rclpy resumes the waiting goals in (it differs
between rclpy 7 on Jazzy and rclpy 9 on Kilted), the newest valid goal accepted is the one that
runs to the end; every older one ends CANCELED without ever disturbing a newer one, an invalid one
ends INVALID, and no goal is left on the robot. A ``mission-executive`` process and a simulated
robot; goals over DDS from this one, through one client (so they arrive in the order sent).
"""
import pytest
from action_msgs.msg import GoalStatus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from executive.tools.launcher import ExecutiveProcess
from harness import start_sim, unique_name

TIME_SCALE = 20.0
REPEATS = 20            # the back-to-back case, as reported (seen on Jazzy)


@pytest.fixture(scope="module")
def robot(ros_session):
    process = start_sim(ros_session, unique_name("pre"), time_scale=TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture(scope="module")
def executive(ros_session, tmp_path_factory):
    process = ExecutiveProcess({"log_dir": str(tmp_path_factory.mktemp("preemption_runs")), "halt_timeout": 10.0,
                                "tick_rate": 20.0, "goal_policy": "preempt"}, namespace=unique_name("preexec"))
    yield process
    assert process.stop() == 0, process.stderr()


def mission(robot, x: float = 1.0) -> str:
    return f"name: drive\nrobot: {robot.namespace}\ntree: {{navigate: {{name: drive, pose: {{x: {x}, y: 0.5}}}}}}\n"


INVALID = "name: broken\ntree: {navigat: {pose: {x: 1.0, y: 0.0}}}\n"


def outcomes(results):
    return [scenarios.OUTCOMES[result.outcome_code] for _, result in results]


@pytest.mark.parametrize("repeat", range(REPEATS))
def test_four_goals_back_to_back_only_the_last_runs(ros, robot, executive, repeat):
    # A drive of 1-2 s (10-20 m at the sim's 0.5 m/s, 20x; the robot starts where the last repeat
    # left it): the four goals arrive while the first still runs, even on a loaded machine (a 0.1 s
    # drive could end before the second arrived, and the first goal would rightly succeed).
    x = 10.0 if repeat % 2 == 0 else -10.0
    calls = [scenarios.send(ros, mission(robot, x=x), action=executive.action_name) for _ in range(4)]
    results = [call.result(60) for call in calls]
    assert outcomes(results) == ["canceled"] * 3 + ["succeeded"], [scenarios.explain(r) for _, r in results]
    assert [status for status, _ in results] == [GoalStatus.STATUS_ABORTED] * 3 + [GoalStatus.STATUS_SUCCEEDED]
    scenarios.no_goal_left(ros, [robot])


# One step of a burst: ("valid", x) a mission driving to x, ("invalid",) a broken one, ("cancel", i)
# cancel the i-th goal sent so far (if it was accepted), ("settle",) wait until the newest valid goal
# drives before going on.
STEPS = st.one_of(st.tuples(st.just("valid"), st.sampled_from([0.5, 1.0, 3.0])),
                  st.tuples(st.just("invalid")),
                  st.tuples(st.just("cancel"), st.integers(0, 5)),
                  st.tuples(st.just("settle")))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=2, max_size=7))
def test_any_burst_leaves_the_newest_valid_goal_running(ros, robot, executive, steps):
    sent, kinds, cancelled = [], [], set()
    for step in steps:
        if step[0] == "valid":
            sent.append(scenarios.send(ros, mission(robot, step[1]), action=executive.action_name))
            kinds.append("valid")
        elif step[0] == "invalid":
            sent.append(scenarios.send(ros, INVALID, action=executive.action_name))
            kinds.append("invalid")
        elif step[0] == "cancel" and step[1] < len(sent) and sent[step[1]].accepted(20):
            sent[step[1]].handle.cancel_goal_async()
            cancelled.add(step[1])
        elif step[0] == "settle" and "valid" in kinds:
            newest = max(i for i, kind in enumerate(kinds) if kind == "valid")
            if sent[newest].accepted(20):
                try:
                    scenarios.wait_for_active(ros, sent[newest], "drive", timeout=10)
                except TimeoutError:
                    pass        # it ended (cancelled or finished) before it was seen driving
    results = [call.result(60) for call in sent]
    got = outcomes(results)
    explained = [scenarios.explain(r) for _, r in results]
    valid = [i for i, kind in enumerate(kinds) if kind == "valid"]
    for i, kind in enumerate(kinds):
        if kind == "invalid":
            assert got[i] == "invalid", explained
        elif i != valid[-1]:
            # An older goal gives way: cancelled (by us or by a newer goal), or it had finished.
            assert got[i] in ("canceled", "succeeded"), explained
            if got[i] == "succeeded":
                assert i not in cancelled or results[i][0] == GoalStatus.STATUS_SUCCEEDED, explained
    if valid:
        last = valid[-1]
        expected = ("succeeded", "canceled") if last in cancelled else ("succeeded",)
        assert got[last] in expected, explained
        # No goal after the newest valid one may have been run, and none older preempted it.
        assert "preempted" not in results[last][1].message, explained
    scenarios.no_goal_left(ros, [robot])
