"""Reliability: the executive under server faults, process kills and restarts, cancel races,
randomised missions with random faults, and bad input. A ``mission-executive`` process and
simulated robots in their own processes; goals over DDS from this one.

Every case asserts the mission's outcome, its complete run log, and that no goal is left
unfinished on any robot the moment the result arrives (the executive reports a result only once
every goal the mission sent has ended). Bounded: every wait has a deadline, and the randomised
parts run a fixed number of examples (derandomised in CI).
"""
import json
import pathlib
import time

import pytest
from action_msgs.msg import GoalStatus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import generated
import mutations
import scenarios
from executive.tools.launcher import ExecutiveProcess
from harness import sim_status, start_sim, unique_name
from sim.faults import knobs_off

RESULT = scenarios.RESULT
TIME_SCALE = 20.0      # simulated seconds per wall second: fault durations below are simulated
BROKEN = pathlib.Path(__file__).parent / "broken"
MISSIONS = pathlib.Path(__file__).resolve().parents[1] / "missions"


# -- processes --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def robot(ros_session):
    process = start_sim(ros_session, unique_name("rel"), time_scale=TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("reliability_runs")


@pytest.fixture(scope="module")
def executive(ros_session, log_dir):
    process = ExecutiveProcess({"log_dir": str(log_dir), "halt_timeout": 10.0, "tick_rate": 20.0},
                               namespace=unique_name("relexec"))
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture
def faults(ros_session, robot):
    """Set fault knobs on the module's robot (``{server: {knob: value}}``); all are put back after."""
    def set_faults(by_server: dict):
        ros_session.set_parameters(robot.node_name, {f"{server}.{knob}": value
                                                     for server, knobs in by_server.items()
                                                     for knob, value in knobs.items()})
    yield set_faults
    reset_faults(ros_session, robot)


def reset_faults(ros, sim):
    ros.set_parameters(sim.node_name, knobs_off())


# -- helpers ----------------------------------------------------------------------------------------
def mission(robot_ns: str, tree: str, name: str = "reliability") -> str:
    """A mission as YAML text; ``tree`` is the YAML of the tree: value, on one line (flow style)."""
    return f"name: {name}\nrobot: {robot_ns}\ntree: {tree}\n"


def run_to_end(ros, executive, text, parameters=(), timeout: float = 60.0):
    call = scenarios.send(ros, text, parameters, action=executive.action_name)
    status, result = call.result(timeout)
    return call, status, result


def check_run(ros, log_dir, call, result, sims, outcome: str, reason: str = "", results_lost: int = 0):
    """The outcome, the failure's reason, a complete log, and no goal left on any sim."""
    assert scenarios.OUTCOMES[result.outcome_code] == outcome, scenarios.explain(result)
    events = scenarios.run_log(log_dir, call)
    scenarios.check_log(events, outcome, results_lost)
    if reason:
        failure = events[-1]["failure"] or {}
        assert failure.get("reason") == reason, events[-1]
    scenarios.no_goal_left(ros, sims)
    return events


NAV = "{navigate: {name: drive, pose: {x: 1.0, y: 0.5}}}"
FAR = "{navigate: {name: drive far, pose: {x: 20.0, y: 20.0}, timeout: 1.0}}"
ARM = "{move_arm: {name: stow, pose: stow}}"
HEALTH = "{health_check: {name: health, timeout: 1.0}}"
CALIBRATE = "{calibrate: {name: calibrate}}"

# id: (faults, tree, outcome, failure reason)
MATRIX = {
    "navigate rejected": ({"navigate_to_pose": {"reject_all": True}}, NAV, "failed", "rejected"),
    "navigate aborted mid-goal": ({"navigate_to_pose": {"abort_after": 0.5}}, NAV, "failed", "aborted"),
    "navigate aborted at once": ({"navigate_to_pose": {"abort_probability": 1.0}}, NAV, "failed", "aborted"),
    "late acceptance": ({"navigate_to_pose": {"accept_delay": 4.0}}, NAV, "succeeded", ""),
    "late result": ({"navigate_to_pose": {"result_delay": 4.0}}, NAV, "succeeded", ""),
    "stalled feedback": ({"navigate_to_pose": {"stall_feedback": True}}, NAV, "succeeded", ""),
    "stalled feedback, goal too slow": ({"navigate_to_pose": {"stall_feedback": True}}, FAR, "failed", "timeout"),
    "arm aborted": ({"move_arm": {"abort_after": 0.1}}, ARM, "failed", "aborted"),
    "arm rejected": ({"move_arm": {"reject_all": True}}, ARM, "failed", "rejected"),
    "health check fails": ({"health_check": {"fail_all": True}}, HEALTH, "failed", "response"),
    "health check too slow": ({"health_check": {"response_delay": 60.0}}, HEALTH, "failed", "timeout"),
    "calibration fails": ({"calibrate": {"fail_all": True}}, CALIBRATE, "failed", "response"),
    "retry outlasts a late server": (
        {"navigate_to_pose": {"accept_delay": 2.0}},
        "{retry: {attempts: 3, backoff: {initial: 0.05}, child: " + NAV + "}}", "succeeded", ""),
}


@pytest.mark.parametrize("case", list(MATRIX))
def test_fault_matrix(ros, robot, executive, log_dir, faults, case):
    knobs, tree, outcome, reason = MATRIX[case]
    faults(knobs)
    call, status, result = run_to_end(ros, executive, mission(robot.namespace, tree))
    check_run(ros, log_dir, call, result, [robot], outcome, reason)
    assert status == (GoalStatus.STATUS_SUCCEEDED if outcome == "succeeded" else GoalStatus.STATUS_ABORTED)


def test_server_absent_is_unreachable_naming_the_action(ros, executive, log_dir):
    ghost = unique_name("ghost")
    tree = "{navigate: {name: drive, pose: {x: 1.0, y: 0.0}, server_timeout: 1.0}}"
    call, _, result = run_to_end(ros, executive, mission(ghost, tree))
    check_run(ros, log_dir, call, result, [], "unreachable", "server_unavailable")
    assert f"/{ghost}/navigate_to_pose" in result.message, result.message


def test_server_that_appears_late_is_used(ros, executive, log_dir):
    late = unique_name("late")
    tree = "{navigate: {name: drive, pose: {x: 1.0, y: 0.0}, server_timeout: 30.0}}"
    call = scenarios.send(ros, mission(late, tree), action=executive.action_name)
    scenarios.wait_for_active(ros, call, "drive")
    sim = start_sim(ros, late, time_scale=TIME_SCALE)
    try:
        status, result = call.result(60)
        check_run(ros, log_dir, call, result, [sim], "succeeded")
    finally:
        assert sim.stop() == 0, sim.stderr()


def test_server_exiting_mid_goal_fails_the_mission_within_the_lease(ros, executive, log_dir):
    sim = start_sim(ros, unique_name("dying"), time_scale=1.0,
                    config={"faults": {"navigate_to_pose": {"exit_after_goals": 1}}})
    started = time.monotonic()
    call, _, result = run_to_end(ros, executive, mission(sim.namespace, "{navigate: {name: drive, pose: {x: 5.0, y: 0.0}}}"))
    assert sim.wait_exit(10) == 17      # sim.actions.EXIT_CODE_INJECTED
    check_run(ros, log_dir, call, result, [], "failed", "server_lost", results_lost=1)
    # The 3 s lease of the shipped Fast DDS profile, plus the leaf's 0.5 s check, plus start-up.
    assert time.monotonic() - started < 20, f"noticed only after {time.monotonic() - started:.1f} s"


def test_server_restarting_mid_mission_is_retried(ros, executive, log_dir):
    """The sim dies during the first attempt; a new one comes up under the same name; the retry
    decorator's next attempt drives on it and the mission succeeds."""
    namespace = unique_name("phoenix")
    sim = start_sim(ros, namespace, time_scale=1.0, config={"faults": {"navigate_to_pose": {"exit_after_goals": 1}}})
    tree = ("{retry: {name: keep trying, attempts: 3, backoff: {initial: 1.0}, child: "
            "{navigate: {name: drive, pose: {x: 0.5, y: 0.0}, server_timeout: 20.0}}}}")
    call = scenarios.send(ros, mission(namespace, tree), action=executive.action_name)
    assert sim.wait_exit(30) == 17
    reborn = start_sim(ros, namespace, time_scale=TIME_SCALE)
    try:
        status, result = call.result(60)
        events = check_run(ros, log_dir, call, result, [reborn], "succeeded", results_lost=1)
        failures = [e["failure"]["reason"] for e in events if e["event"] == "status" and e["status"] == "FAILURE"
                    and e.get("failure")]
        assert "server_lost" in failures, failures
    finally:
        assert reborn.stop() == 0, reborn.stderr()


def test_executive_killed_mid_mission_then_restarted(ros, robot, log_dir):
    """A SIGKILLed executive: its client is told it went away (never a hang); the robot's goal
    runs out on its own; a new executive runs the next mission."""
    from executive.tools.api import Executive, ExecutiveLost

    namespace = unique_name("mortal")
    first = ExecutiveProcess({"log_dir": str(log_dir)}, namespace=namespace)
    client = Executive(unique_name("rel_client"), action=first.action_name, context=ros.context)
    try:
        assert client.run(mission(robot.namespace, "{navigate: {name: drive, pose: {x: 3.0, y: 0.0}}}"))
        assert client.spin_until(lambda: client.feedback() is not None, 20), "no feedback from the executive"
        first.proc.kill()
        first.proc.wait(10)
        with pytest.raises(ExecutiveLost):
            deadline = time.monotonic() + 30
            while not client.is_complete() and time.monotonic() < deadline:
                pass
        ros.spin_until(lambda: sim_status(ros, robot)["unfinished_goals"] == 0, 30, "the orphaned goal to end")
        second = ExecutiveProcess({"log_dir": str(log_dir)}, namespace=namespace)
        try:
            assert client.run(mission(robot.namespace, NAV), timeout=20)
            assert client.wait(60).outcome == "succeeded"
        finally:
            assert second.stop() == 0, second.stderr()
    finally:
        client.destroy_node()
        first.stop()


# -- cancel races --------------------------------------------------------------------------------------
def test_cancel_at_once_after_acceptance(ros, robot, executive, log_dir):
    # A drive of about a second of wall time: long enough that a loaded machine cannot finish it
    # before the cancel arrives.
    drive = "{navigate: {name: drive, pose: {x: 10.0, y: 5.0}}}"
    for _ in range(5):
        call = scenarios.send(ros, mission(robot.namespace, drive), action=executive.action_name)
        assert call.accepted(20)
        call.cancel()
        status, result = call.result(30)
        assert status == GoalStatus.STATUS_CANCELED and result.outcome_code == RESULT.OUTCOME_CANCELED, \
            scenarios.explain(result)
        scenarios.no_goal_left(ros, [robot])


def test_cancel_while_the_leaf_goal_awaits_acceptance(ros, robot, executive, log_dir, faults):
    """The sim holds the goal request unanswered (accept_delay); the mission is cancelled then:
    the goal, accepted later, is cancelled and ends before the mission's result is sent."""
    faults({"navigate_to_pose": {"accept_delay": 20.0}})       # 1 s of wall time
    call = scenarios.send(ros, mission(robot.namespace, NAV), action=executive.action_name)
    assert call.accepted(20)
    ros.spin_until(lambda: sim_status(ros, robot)["navigate_to_pose"]["pending"] == 1, 20, "a pending goal request")
    call.cancel()
    status, result = call.result(30)
    assert status == GoalStatus.STATUS_CANCELED, scenarios.explain(result)
    check_run(ros, log_dir, call, result, [robot], "canceled")


def test_cancel_twice_and_after_the_end(ros, robot, executive, log_dir):
    call = scenarios.send(ros, mission(robot.namespace, FAR.replace("timeout: 1.0", "timeout: 60.0")),
                          action=executive.action_name)
    assert call.accepted(20)
    scenarios.wait_for_active(ros, call, "drive far")
    first, second = call.handle.cancel_goal_async(), call.handle.cancel_goal_async()
    ros.wait(first, 20)
    ros.wait(second, 20)
    status, result = call.result(30)
    assert status == GoalStatus.STATUS_CANCELED
    check_run(ros, log_dir, call, result, [robot], "canceled")
    late = call.cancel()
    assert late.return_code != late.ERROR_NONE and not late.goals_canceling, late


@pytest.fixture
def executive_policy(ros_session, executive):
    def set_policy(policy):
        ros_session.set_parameters(executive.node_name, {"goal_policy": policy})
    yield set_policy
    ros_session.set_parameters(executive.node_name, {"goal_policy": "reject"})


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["reject", "preempt"])
def test_invalid_goals_never_disturb_a_running_mission(ros, robot, executive, log_dir, executive_policy, policy):
    """Every file of the broken-mission corpus, sent while a mission runs: under preempt each is
    loaded and answered INVALID with its errors (naming <goal>:line:col); under reject each is
    rejected before it is loaded. The running mission goes on to succeed either way."""
    executive_policy(policy)
    # Two long legs: several seconds of driving at TIME_SCALE, longer than the corpus takes.
    running = scenarios.send(ros, mission(robot.namespace, "{sequence: {children: [{navigate: {pose: {x: 20.0, "
                                          "y: 20.0}}}, {navigate: {pose: {x: 0.0, y: 0.0}}}]}}"),
                             action=executive.action_name)
    scenarios.wait_for_active(ros, running, "navigate")
    corpus = sorted(BROKEN.glob("*.yaml"))
    assert len(corpus) >= 20
    named_the_goal = 0
    for path in corpus:
        call = scenarios.send(ros, path.read_text(encoding="utf-8"), action=executive.action_name)
        if policy == "reject":
            assert not call.accepted(30), f"{path.name}: accepted while a mission runs under reject"
            continue
        status, result = call.result(30)
        assert result.outcome_code == RESULT.OUTCOME_INVALID, f"{path.name}: {scenarios.explain(result)}"
        assert status == GoalStatus.STATUS_ABORTED and result.errors, path.name
        named_the_goal += any(e.startswith("<goal>:") for e in result.errors)
    if policy == "preempt":
        assert named_the_goal >= len(corpus) - 2, "errors should point into the goal's text (<goal>:line:col)"
    assert sim_status(ros, robot)["navigate_to_pose"]["active"] == 1, "the running mission was disturbed"
    status, result = running.result(120)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    events = scenarios.run_log(log_dir, running)
    assert not [e for e in events if e["event"] in ("halting", "paused")], "the running mission was interrupted"
    scenarios.no_goal_left(ros, [robot])


def yaml_mutations(robot: str):
    """Shipped missions (on ``robot``) with a slice cut, a character put in, or a line duplicated."""
    texts = [p.read_text().replace("robot1", robot).replace("robot2", robot)
             for p in sorted(MISSIONS.glob("*.yaml")) if p.name != "common.yaml"]
    return mutations.edited(texts).map(lambda edit: edit[1])


def test_fuzzed_yaml_never_crashes_the_executive(ros, robot, executive):
    """Mutated missions sent as goals: each is answered (invalid with its errors, or, valid after
    all, run to an end with a defined outcome), and the executive stays up."""
    @settings(max_examples=40, deadline=None)
    @given(text=yaml_mutations(robot.namespace))
    def send_mutant(text):
        call = scenarios.send(ros, text, action=executive.action_name)
        assert call.accepted(30), "the executive rejected a goal while idle"
        check_mutant(call)

    def check_mutant(call):
        status, result = call.result(120)
        assert status in (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED), status
        if result.outcome_code == RESULT.OUTCOME_INVALID:
            assert result.errors, scenarios.explain(result)
        assert executive.proc.poll() is None, executive.stderr()
    send_mutant()


# -- randomised missions with random faults ---------------------------------------------------------
trees = generated.trees


def action_faults():
    return st.fixed_dictionaries({
        "reject_all": st.sampled_from([False, False, False, True]),
        "abort_probability": st.sampled_from([0.0, 0.0, 0.5, 1.0]),
        "accept_delay": st.sampled_from([0.0, 0.0, 2.0]), "stall_feedback": st.booleans(),
        "result_delay": st.sampled_from([0.0, 0.0, 2.0])})


def fault_sets():
    return st.fixed_dictionaries({
        "navigate_to_pose": action_faults(), "move_arm": action_faults(),
        "health_check": st.fixed_dictionaries({"fail_all": st.sampled_from([False, False, True]),
                                               "response_delay": st.sampled_from([0.0, 0.0, 40.0])}),
        "calibrate": st.fixed_dictionaries({"fail_all": st.sampled_from([False, False, True])})})


RANDOM_MISSIONS = 200
BOUND = 30.0        # s: no generated mission may take longer (most take well under 1 s)


@settings(max_examples=RANDOM_MISSIONS, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                              HealthCheck.too_slow])
@given(tree=trees(), knobs=fault_sets())
def test_random_missions_with_random_faults(ros, robot, executive, log_dir, tree, knobs):
    """Any mission composed of the shipped behaviours, under any mix of faults, ends within its
    bound with a defined outcome, a complete log and no goal left on the robot."""
    ros.set_parameters(robot.node_name, {f"{s}.{k}": v for s, ks in knobs.items() for k, v in ks.items()})
    started = time.monotonic()
    call, status, result = run_to_end(ros, executive, mission(robot.namespace, tree), timeout=BOUND)
    elapsed = time.monotonic() - started
    outcome = scenarios.OUTCOMES[result.outcome_code]
    assert outcome in ("succeeded", "failed"), f"{tree} under {json.dumps(knobs)}: {scenarios.explain(result)}"
    assert elapsed < BOUND
    check_run(ros, log_dir, call, result, [robot], outcome)
    if outcome == "failed":     # the result says which behaviour failed, and why
        assert result.failed_behavior.startswith("reliability/"), scenarios.explain(result)
        assert "no reason given" not in result.message, f"{tree}: {scenarios.explain(result)}"


def test_random_missions_leave_the_robot_clean(ros, robot):
    """After the randomised missions (and whatever ran last): the sim is idle and answers."""
    reset_faults(ros, robot)
    status = sim_status(ros, robot)
    assert status["unfinished_goals"] == 0, status
