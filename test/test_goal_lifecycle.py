"""No goal left behind, under every timing: late acceptances, results a server does not keep,
servers killed mid-call, executives stopped mid-mission (their clients still get the result) or
killed (a restarted executive cancels what they left), stale snapshots, halted statuses and root
causes, paused time. Real processes over DDS: ``mission-executive``, ``mission-sim``, ``mission
run``; every case reads the run log back and asks the sim for its own count of unfinished goals."""
import signal
import subprocess
import time

import pytest
from action_msgs.msg import GoalStatus
from py_trees.common import Status
from std_srvs.srv import Trigger

import scenarios
from behaviors import failures
from behaviors.actions import NavigateTo
from behaviors.services import Calibrate
from executive import runlog
from executive.tools.launcher import BIN, ExecutiveProcess
from harness import run_tree, sim_status, start_sim, unique_name
from mission_interfaces.msg import BehaviorState, TreeSnapshot

RESULT = scenarios.RESULT
SCALE = 4.0     # simulated seconds per wall second of the module's sims


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("lifecycle_runs")


@pytest.fixture(scope="module")
def robot(ros_session):
    process = start_sim(ros_session, unique_name("life"), time_scale=SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture(scope="module")
def executive(ros_session, log_dir):
    process = ExecutiveProcess({"log_dir": str(log_dir), "halt_timeout": 10.0, "tick_rate": 20.0},
                               namespace=unique_name("lifeexec"))
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture
def faults(ros_session, robot):
    """Set fault knobs on the module's robot ({parameter: value}); the defaults are put back after,
    once its goals have ended."""
    changed = {}

    def set_faults(values: dict):
        ros_session.set_parameters(robot.node_name, values)
        changed.update(values)
    yield set_faults
    ros_session.spin_until(lambda: sim_status(ros_session, robot)["unfinished_goals"] == 0, 30.0,
                           "the robot's goals to end")
    defaults = {k: (0.0 if isinstance(v, float) else False if isinstance(v, bool) else 0) for k, v in changed.items()}
    if defaults:
        ros_session.set_parameters(robot.node_name, defaults)


def mission(robot_ns: str, tree: str, name: str = "lifecycle") -> str:
    return f"name: {name}\nrobot: {robot_ns}\ntree: {tree}\n"


def send(ros, executive, text, parameters=()):
    return scenarios.send(ros, text, parameters, action=executive.action_name)


def pause_for(ros, seconds: float):
    """Let ``seconds`` of wall time pass, spinning (the duration itself is what a test checks)."""
    until = time.monotonic() + seconds
    ros.spin_until(lambda: time.monotonic() >= until, seconds + 5.0)


def unfinished(ros, sim) -> int:
    return sim_status(ros, sim)["unfinished_goals"]


# -- an unanswered goal request is a goal in flight ---------------------------------------------------
def test_a_late_acceptance_is_cancelled_and_waited_for(ros, robot, executive, log_dir, faults):
    """The issue's case: the server answers the goal request 8 s after the leaf gave up (5 s here 1.5 s):
    the leaf fails (timeout), and the result comes only once the late-accepted goal has been
    cancelled and has ended on the robot."""
    faults({"navigate_to_pose.accept_delay": 4.0 * SCALE})     # 4 s of wall time
    before = sim_status(ros, robot)["navigate_to_pose"]
    call = send(ros, executive, mission(robot.namespace, "{navigate: {name: go east, pose: {x: 3.0, y: 0.0}, "
                                                         "server_timeout: 1.5}}"))
    status, result = call.result(30)
    assert result.outcome_code == RESULT.OUTCOME_FAILED, scenarios.explain(result)
    assert result.failure_reason == "timeout" and "did not answer the goal request" in result.message
    assert unfinished(ros, robot) == 0      # the moment the result is in, nothing runs on the robot
    after = sim_status(ros, robot)["navigate_to_pose"]
    assert after.get("accepted", 0) - before.get("accepted", 0) == 1
    assert after.get("canceled", 0) - before.get("canceled", 0) == 1
    events = scenarios.run_log(log_dir, call)
    scenarios.check_log(events, "failed")
    names = [e["event"] for e in events if e.get("goal_id")]
    assert names.index("goal_accepted") > names.index("cancel_sent")
    assert [e["status"] for e in events if e["event"] == "result"] == ["CANCELED"]


def test_a_request_never_answered_within_the_halt_timeout_is_named(ros, robot, log_dir, faults):
    """If halt_timeout passes before the server answers, the result says so by name."""
    exe = ExecutiveProcess({"log_dir": str(log_dir), "halt_timeout": 1.0}, namespace=unique_name("shorthalt"))
    try:
        faults({"navigate_to_pose.accept_delay": 5.0 * SCALE})
        call = send(ros, exe, mission(robot.namespace, "{navigate: {pose: {x: 0.2, y: 0.0}, server_timeout: 1.0}}"))
        _, result = call.result(30)
        assert result.outcome_code == RESULT.OUTCOME_FAILED, scenarios.explain(result)
        assert f"to /{robot.namespace}/navigate_to_pose was never answered; it may still start" in result.message
        events = scenarios.run_log(log_dir, call)
        scenarios.check_log(events, "failed", results_lost=1)
        assert [e["state"] for e in events if e["event"] == "goal_abandoned"] == ["unanswered"]
    finally:
        assert exe.stop() == 0, exe.stderr()


# -- results not kept -------------------------------------------------------------------------------------
def test_a_server_that_keeps_no_results_still_reports_success(ros):
    """result_timeout=0 and goals that finish at once: get_result is answered UNKNOWN; the status
    topic's final status decides (it was 1 wrong in 1-7 goals)."""
    sim = start_sim(ros, unique_name("noresults"), time_scale=SCALE, config={"result_timeout": 0})
    try:
        for i in range(20):
            leaf = NavigateTo(f"stay {i}", x=0.0, y=0.0, action_name=sim.name("navigate_to_pose"))
            assert run_tree(ros, leaf, timeout=20) == Status.SUCCESS, (i, leaf.failure)
    finally:
        assert sim.stop() == 0, sim.stderr()


# -- services notice their server leaving ----------------------------------------------------------------
def test_a_service_killed_mid_call_is_server_lost_not_timeout(ros):
    sim = start_sim(ros, unique_name("svckill"), time_scale=1.0,
                    config={"faults": {"calibrate": {"response_delay": 60.0}}})
    leaf = Calibrate("calibrate", service_name=sim.name("calibrate"), call_timeout=60.0)
    try:
        run_tree(ros, leaf, timeout=20, until=lambda: sim_status(ros, sim)["services"]["in_flight"] == 1)
        sim.proc.kill()
        assert run_tree(ros, leaf, timeout=30) == Status.FAILURE
        assert leaf.failure.reason == failures.SERVER_LOST, leaf.failure
    finally:
        sim.stop()


# -- every accepted goal gets its result before the executive exits -------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM])
def test_an_executive_stopped_mid_mission_sends_the_result(ros, robot, log_dir, signum):
    exe = ExecutiveProcess({"log_dir": str(log_dir)}, namespace=unique_name("stopped"))
    call = send(ros, exe, "patrol", [f"robot={robot.namespace}"])
    assert call.accepted(15)
    scenarios.wait_for_active(ros, call, "drive to")
    exe.proc.send_signal(signum)
    status, result = call.result(30)
    assert status == GoalStatus.STATUS_ABORTED and result.outcome_code == RESULT.OUTCOME_INTERRUPTED, \
        scenarios.explain(result)
    assert signal.Signals(signum).name in result.message
    assert exe.wait_exit(30) == 0, exe.stderr()
    assert unfinished(ros, robot) == 0
    scenarios.check_log(scenarios.run_log(log_dir, call), "interrupted")


# -- a killed executive's goals are cancelled by the next one -----------------------------------------------
def test_a_restarted_executive_cancels_the_goals_a_killed_one_left(ros, robot, tmp_path):
    namespace = unique_name("crash")
    exe = ExecutiveProcess({"log_dir": str(tmp_path)}, namespace=namespace)
    call = send(ros, exe, mission(robot.namespace, "{navigate: {pose: {x: -15.0, y: 15.0}}}", name="long_drive"))
    assert call.accepted(15)
    ros.spin_until(lambda: sim_status(ros, robot)["navigate_to_pose"]["active"] == 1, 15, "the drive to start")
    exe.proc.kill()
    exe.wait_exit(10)
    pause_for(ros, 0.5)     # the dead process's goal keeps driving: it must still be running
    assert sim_status(ros, robot)["navigate_to_pose"]["active"] == 1
    successor = ExecutiveProcess({"log_dir": str(tmp_path)}, namespace=namespace, timeout=40)
    try:
        # READY comes after the sweep: by then the orphan is cancelled and has ended.
        assert unfinished(ros, robot) == 0
        (run_dir,) = list(tmp_path.iterdir())
        events = runlog.read(run_dir)
        assert [e["event"] for e in events[-2:]] == ["orphans_cancelled", "run_finished"]
        assert events[-1]["outcome"] == "interrupted"
        assert [g["outcome"] for g in events[-2]["goals"]] == ["canceled"]
    finally:
        assert successor.stop() == 0, successor.stderr()
    again = ExecutiveProcess({"log_dir": str(tmp_path)}, namespace=namespace)
    try:
        assert len(runlog.read(run_dir)) == len(events)     # a run is swept once
    finally:
        again.stop()


def test_a_running_executive_of_the_same_name_is_not_swept(ros, robot, tmp_path):
    """Two `mission run`s share the node name /mission_run: one's start must not cancel the other's goals."""
    first = subprocess.Popen([str(BIN / "mission"), "run", "patrol", "-p", f"robot={robot.namespace}",
                              "--log-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ros.spin_until(lambda: sim_status(ros, robot)["navigate_to_pose"]["active"] == 1, 30, "the patrol to drive")
        canceled = sim_status(ros, robot)["navigate_to_pose"].get("canceled", 0)
        second = subprocess.run([str(BIN / "mission"), "run", "recovery_demo", "-p", "robot=nobody_here",
                                 "--log-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert sim_status(ros, robot)["navigate_to_pose"].get("canceled", 0) == canceled
        first.send_signal(signal.SIGINT)
        assert first.wait(30) == 130
    finally:
        if first.poll() is None:
            first.kill()


# -- snapshots are never stale -----------------------------------------------------------------------------
def test_a_late_subscriber_never_gets_the_previous_run(ros, robot, executive):
    from executive.snapshots import SNAPSHOT_QOS
    first = send(ros, executive, mission(robot.namespace, "{wait: {seconds: 0.1}}", name="first_run"))
    first.result(30)
    second = send(ros, executive, mission(robot.namespace, "{wait: {seconds: 5}}", name="second_run"))
    assert second.accepted(15)
    scenarios.wait_for_active(ros, second, "second_run")
    received = []
    sub = ros.node.create_subscription(TreeSnapshot, f"{executive.node_name}/tree_snapshots", received.append,
                                       SNAPSHOT_QOS)
    try:
        ros.spin_until(lambda: received, 10.0, "a latched snapshot")
        assert received[0].mission == "second_run" and received[0].state == "running"
    finally:
        ros.node.destroy_subscription(sub)
        second.cancel()
        second.result(30)


# -- what a failed or cancelled run shows ----------------------------------------------------------------
def test_inspection_with_every_goal_rejected_names_the_rejection(ros, robot, executive, log_dir, faults):
    faults({"navigate_to_pose.reject_all": True})
    call = send(ros, executive, "inspection", [f"robot={robot.namespace}"])
    _, result = call.result(60)
    assert result.outcome_code == RESULT.OUTCOME_FAILED, scenarios.explain(result)
    assert result.failed_behavior == "inspection/inspect or give up/inspect/approach/drive to valve"
    assert result.failure_reason == "rejected"
    events = scenarios.run_log(log_dir, call)
    finished = events[-1]
    assert [f["reason"] for f in finished["failures"]] == ["rejected", "forced_failure"]
    assert finished["failed_behavior"] == result.failed_behavior


def test_a_cancelled_run_keeps_what_finished_and_shows_the_rest_halted(ros, robot, executive, log_dir):
    from executive.snapshots import SNAPSHOT_QOS
    call = send(ros, executive, "patrol", [f"robot={robot.namespace}"])
    assert call.accepted(15)
    scenarios.wait_for_active(ros, call, "drive to")
    call.cancel()
    call.result(30)
    events = scenarios.run_log(log_dir, call)
    scenarios.check_log(events, "canceled")
    last = {}
    for e in events:
        if e["event"] == "status":
            last[e["path"]] = e["status"]
    assert last["patrol/preflight/check health"] == "SUCCESS"
    assert "HALTED" in last.values() and "INVALID" not in last.values()
    received = []
    sub = ros.node.create_subscription(TreeSnapshot, f"{executive.node_name}/tree_snapshots", received.append,
                                       SNAPSHOT_QOS)
    try:
        ros.spin_until(lambda: received, 10.0, "the final snapshot")
    finally:
        ros.node.destroy_subscription(sub)
    shown = {b.name: b.status for b in received[-1].behaviors}
    assert shown["check health"] == BehaviorState.SUCCESS
    assert BehaviorState.HALTED in shown.values()


def test_paused_time_does_not_count(ros, robot, executive, log_dir):
    """A 2 s timeout around a 1.5 s wait, paused for 3 s half a second in: it succeeds."""
    call = send(ros, executive, mission(robot.namespace, "{timeout: {seconds: 2, child: {wait: {seconds: 1.5}}}}"))
    assert call.accepted(15)
    scenarios.wait_for_active(ros, call, "wait")
    pause = ros.call(Trigger, f"{executive.node_name}/pause", Trigger.Request())
    assert pause.success, pause.message
    again = ros.call(Trigger, f"{executive.node_name}/pause", Trigger.Request())
    assert not again.success and "paused" in again.message      # the truth, not success
    pause_for(ros, 3.0)     # the pause itself is what is tested: 3 s that must not count
    assert ros.call(Trigger, f"{executive.node_name}/resume", Trigger.Request()).success
    _, result = call.result(30)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    events = scenarios.run_log(log_dir, call)
    (resumed,) = [e for e in events if e["event"] == "resumed"]
    assert resumed["paused_seconds"] >= 2.9


# -- one goal at a time on a server ---------------------------------------------------------------------
@pytest.mark.parametrize("wait", [True, False])
def test_a_leaf_waits_for_a_cancelled_goal_of_the_run_to_end(ros, robot, executive, log_dir, wait):
    """A timeout cancels a drive and the fallback's next option drives at once: by default its goal
    goes out only after the cancelled one has ended on the server; ``wait_for_cancelled: false``
    sends it at once (two goals on one robot, briefly)."""
    tree = ("{fallback: {children: [{timeout: {seconds: 0.5, child: {navigate: {name: far, pose: {x: -15.0, y: 15.0}}}}},"
            f" {{navigate: {{name: home, pose: {{x: 0.0, y: 0.0}}, wait_for_cancelled: {str(wait).lower()}}}}}]}}}}")
    call = send(ros, executive, mission(robot.namespace, tree))
    _, result = call.result(60)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    events = scenarios.run_log(log_dir, call)
    scenarios.check_log(events, "succeeded")
    far = next(e["goal_id"] for e in events if e["event"] == "goal_sent" and e["path"].endswith("/far"))
    far_ended = next(i for i, e in enumerate(events) if e["event"] == "result" and e["goal_id"] == far)
    home_sent = next(i for i, e in enumerate(events) if e["event"] == "goal_sent" and e["path"].endswith("/home"))
    assert (home_sent > far_ended) == wait, [(e["event"], e.get("path")) for e in events]
