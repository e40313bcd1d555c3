"""The executive end to end: a ``mission-executive`` process and simulated robots in their own
processes, goals sent over DDS from this one. Every run's log is read back and checked."""
import json
import pathlib
import subprocess
import time

import pytest
from action_msgs.msg import GoalStatus
from std_srvs.srv import Trigger

import scenarios
from executive import runlog
from executive.tools.launcher import BIN, ExecutiveProcess
from harness import SIM_TIME_SCALE, sim_status, start_sim, unique_name
from mission_interfaces.msg import BehaviorState, TreeSnapshot

RESULT = scenarios.RESULT
check_log, run_log = scenarios.check_log, scenarios.run_log


@pytest.fixture(scope="module")
def second_sim(ros_session):
    process = start_sim(ros_session, unique_name("second"), time_scale=SIM_TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def executive(ros_session, log_dir):
    process = ExecutiveProcess({"log_dir": str(log_dir), "halt_timeout": 10.0}, namespace=unique_name("exec"))
    yield process
    assert process.stop() == 0, process.stderr()


def send(ros, executive, mission, parameters=()):
    return scenarios.send(ros, mission, parameters, action=executive.action_name)


@pytest.fixture
def executive_params(ros_session, executive):
    """Parameters changed by a test, put back after it."""
    changed = {}

    def set_params(**params):
        changed.update({k: {"goal_policy": "reject", "pause_cancels_goals": True}[k] for k in params})
        ros_session.set_parameters(executive.node_name, params)
    yield set_params
    if changed:
        ros_session.set_parameters(executive.node_name, changed)


@pytest.mark.parametrize("name", ["inspection", "patrol", "pick_and_place", "recovery_demo"])
def test_each_single_robot_mission_succeeds(ros, sim, executive, log_dir, name):
    call = send(ros, executive, name, [f"robot={sim.namespace}"])
    status, result = call.result(90)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    assert status == GoalStatus.STATUS_SUCCEEDED and call.feedback
    scenarios.no_goal_left(ros, [sim])
    events = run_log(log_dir, call)
    check_log(events, "succeeded")
    if name == "recovery_demo":     # it recovered: the first attempt failed by the injected fault
        failed = [e for e in events if e["event"] == "status" and e["status"] == "FAILURE"]
        assert any(e["path"].endswith("first attempt") and e["failure"]["reason"] == "aborted" for e in failed)


def test_multi_robot_patrol_succeeds(ros, sim, second_sim, executive, log_dir):
    call, _ = scenarios.mission_succeeds(ros, [sim, second_sim], "multi_robot_patrol",
                                         [f"first={sim.namespace}", f"second={second_sim.namespace}"],
                                         action=executive.action_name)
    check_log(run_log(log_dir, call), "succeeded")


def test_snapshots_show_the_finished_tree(ros, sim, executive):
    call = send(ros, executive, "inspection", [f"robot={sim.namespace}"])
    call.result(60)
    from executive.snapshots import SNAPSHOT_QOS
    received = []
    sub = ros.node.create_subscription(TreeSnapshot, f"{executive.node_name}/tree_snapshots", received.append,
                                       SNAPSHOT_QOS)
    try:
        ros.spin_until(lambda: received, 10.0, "a latched snapshot")
    finally:
        ros.node.destroy_subscription(sub)
    snapshot = received[-1]
    assert snapshot.mission == "inspection" and snapshot.run_id
    root = snapshot.behaviors[0]
    assert (root.name, root.parent, root.status) == ("inspection", -1, BehaviorState.SUCCESS)
    assert {b.kind for b in snapshot.behaviors} >= {"navigate", "move_arm", "health_check"}


def test_a_subscriber_sees_the_tree_change_while_the_mission_runs(ros, sim, executive):
    """Snapshots are built only while someone subscribes: one who does sees the running tree."""
    from executive.snapshots import SNAPSHOT_QOS
    received = []
    sub = ros.node.create_subscription(TreeSnapshot, f"{executive.node_name}/tree_snapshots", received.append,
                                       SNAPSHOT_QOS)
    try:
        ros.spin_until(lambda: sub.get_publisher_count() > 0, 10.0, "the snapshot publisher")
        call = send(ros, executive, "inspection", [f"robot={sim.namespace}"])
        call.result(60)
        ros.spin_until(lambda: received and received[-1].behaviors[0].status == BehaviorState.SUCCESS, 10.0,
                       "the final snapshot")
    finally:
        ros.node.destroy_subscription(sub)
    ours = [m for m in received if m.run_id == received[-1].run_id]
    running = {b.name for m in ours for b in m.behaviors if b.status == BehaviorState.RUNNING}
    # Snapshots come at most every 50 ms: a leaf that ends sooner (the health check) may never be
    # seen running; the drives take about a second each.
    assert {"inspection", "drive to valve", "return to dock"} <= running, running
    assert len({m.tick for m in ours}) >= 5


@pytest.mark.parametrize("fault, mission, path_end, words", [
    ({"health.unhealthy": ["lidar"]}, "inspection", "check health", ["response", "lidar"]),
    ({"navigate_to_pose.abort_probability": 1.0}, "patrol", "drive to north", ["aborted", "abort_probability"]),
])
def test_fault_names_the_failed_behaviour_and_reason(ros, sim, executive, log_dir, fault, mission, path_end, words):
    ros.set_parameters(sim.node_name, fault)
    call = send(ros, executive, mission, [f"robot={sim.namespace}"])
    status, result = call.result(60)
    assert status == GoalStatus.STATUS_ABORTED
    assert result.outcome_code == RESULT.OUTCOME_FAILED, scenarios.explain(result)
    assert result.failed_behavior.endswith(path_end), result.failed_behavior
    assert all(w in result.message for w in words), result.message
    events = run_log(log_dir, call)
    check_log(events, "failed")
    assert events[-1]["failed_behavior"] == result.failed_behavior


def test_cancel_mid_mission_leaves_no_goal_in_flight(ros, sim, executive, log_dir):
    result = scenarios.cancel_leaves_no_goal_in_flight(ros, [sim], "patrol", [f"robot={sim.namespace}"],
                                                       while_in="drive to", timeout=30, action=executive.action_name)
    assert "cancelled" in result.message


def test_second_goal_is_rejected_by_default(ros, sim, executive):
    first = send(ros, executive, "patrol", [f"robot={sim.namespace}"])
    assert first.accepted()
    scenarios.wait_for_active(ros, first, "drive to")
    second = send(ros, executive, "inspection", [f"robot={sim.namespace}"])
    assert not second.accepted()
    first.cancel()
    assert first.result(30)[1].outcome_code == RESULT.OUTCOME_CANCELED


def test_second_goal_preempts_when_asked(ros, sim, executive, executive_params):
    executive_params(goal_policy="preempt")
    first = send(ros, executive, "patrol", [f"robot={sim.namespace}"])
    assert first.accepted()
    scenarios.wait_for_active(ros, first, "drive to")
    second = send(ros, executive, "inspection", [f"robot={sim.namespace}"])
    assert second.accepted()
    status, result = first.result(30)
    assert status == GoalStatus.STATUS_ABORTED and result.outcome_code == RESULT.OUTCOME_CANCELED
    assert "preempted by mission inspection (goal " in result.message    # names the mission that took over
    status, result = second.result(60)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    scenarios.no_goal_left(ros, [sim])


BROKEN = """name: broken
tree:
  sequence:
    children:
      - navigate: {pose: {x: 1.0, y: 2.0}, speeed: 3}
      - wait: {seconds: soon}
"""


def test_invalid_mission_ends_with_its_errors(ros, executive):
    call = send(ros, executive, BROKEN)
    status, result = call.result(15)
    assert status == GoalStatus.STATUS_ABORTED and result.outcome_code == RESULT.OUTCOME_INVALID
    assert len(result.errors) == 2, list(result.errors)
    assert result.errors[0].startswith("<goal>:5:") and "speeed" in result.errors[0]
    assert result.errors[1].startswith("<goal>:6:")
    call = send(ros, executive, "no_such_mission")
    status, result = call.result(15)
    assert result.outcome_code == RESULT.OUTCOME_INVALID and "no mission named 'no_such_mission'" in result.errors[0]


def test_unknown_parameter_is_invalid(ros, executive):
    status, result = send(ros, executive, "inspection", ["robott=robot1"]).result(15)
    assert result.outcome_code == RESULT.OUTCOME_INVALID and "robott" in result.errors[0]


def test_pause_cancels_goals_and_resume_sends_them_again(ros, sim, executive, log_dir):
    call = send(ros, executive, "patrol", [f"robot={sim.namespace}", "laps=1"])
    assert call.accepted()
    scenarios.wait_for_active(ros, call, "drive to north")
    response = ros.call(Trigger, f"{executive.node_name}/pause", Trigger.Request())
    assert response.success, response.message
    ros.spin_until(lambda: sim_status(ros, sim)["unfinished_goals"] == 0, 10.0, "the paused goal cancelled")
    ros.spin_until(lambda: call.feedback[-1].paused, 5.0, "feedback saying paused")
    response = ros.call(Trigger, f"{executive.node_name}/resume", Trigger.Request())
    assert response.success, response.message
    status, result = call.result(60)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    events = run_log(log_dir, call)
    check_log(events, "succeeded")
    names = [e["event"] for e in events]
    assert names.index("paused") < names.index("resumed")
    north = [e for e in events if e["event"] == "goal_sent" and e["path"].endswith("drive to north")]
    assert len(north) == 2, "the interrupted leg was not sent again"
    assert not ros.call(Trigger, f"{executive.node_name}/pause", Trigger.Request()).success   # nothing runs


LONG_DRIVE = """name: long_drive
parameters: {robot: {type: string}}
robot: ${robot}
tree:
  navigate: {name: drive far, pose: {x: 20.0, y: 20.0}, timeout: 30}
"""


def test_killed_sim_fails_the_mission_within_its_timeout(ros, executive, log_dir):
    doomed = start_sim(ros, unique_name("doomed"), time_scale=1.0)
    try:
        call = send(ros, executive, LONG_DRIVE, [f"robot={doomed.namespace}"])
        assert call.accepted()
        scenarios.wait_for_active(ros, call, "drive far")
        ros.spin_until(lambda: sim_status(ros, doomed)["navigate_to_pose"].get("active"), 10.0, "the drive running")
        doomed.proc.kill()
        killed_at = time.monotonic()
        status, result = call.result(40)
        assert time.monotonic() - killed_at < 30
        assert result.outcome_code == RESULT.OUTCOME_FAILED, scenarios.explain(result)
        assert "disappeared" in result.message and result.failed_behavior == "drive far"
        check_log(run_log(log_dir, call), "failed", results_lost=1)
    finally:
        doomed.stop()


def test_mission_send_prints_feedback_and_result(sim, executive):
    done = subprocess.run([str(BIN / "mission"), "send", "inspection", "-p", f"robot={sim.namespace}",
                           "--action", executive.action_name], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mission succeeded" in done.stdout and "inspection/" in done.stdout


def test_mission_send_reports_a_missing_executive():
    done = subprocess.run([str(BIN / "mission"), "send", "inspection", "--action", "/nobody/execute_mission",
                           "--wait", "1"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 3 and "no executive serves /nobody/execute_mission" in done.stderr


def test_report_tells_where_time_went(ros, sim, executive, log_dir):
    call = send(ros, executive, "inspection", [f"robot={sim.namespace}"])
    call.result(60)
    run_dir = pathlib.Path(log_dir) / run_log(log_dir, call)[0]["run_id"]
    done = subprocess.run([str(BIN / "mission"), "report", str(run_dir)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "outcome: succeeded" in done.stdout and "where time went" in done.stdout
    drive = next(line for line in done.stdout.splitlines() if line.strip().startswith("inspection/") and "drive to valve" in line
                 and "%" in line)
    assert float(drive.split()[-1]) > 0     # execute time of the drive
    assert json.loads((run_dir / runlog.FILE_NAME).read_text().splitlines()[0])["event"] == "run_started"


def test_startup_mission_runs_and_exits_with_its_outcome(tmp_path):
    quick = tmp_path / "quick.yaml"
    quick.write_text("name: quick\ntree:\n  wait: {seconds: 0.2}\n")
    process = ExecutiveProcess({"mission": str(quick), "exit_when_done": True, "log_dir": str(tmp_path)},
                               namespace=unique_name("startup"))
    assert process.wait_exit(30) == 0, process.stderr()
    events = runlog.read(next(tmp_path.glob(f"*/{runlog.FILE_NAME}")))
    assert events[-1]["outcome"] == "succeeded"


# -- parameters: ranges, start-only ones read-only, all of them readable ---------------------------

def parameter_client(ros, executive):
    from rclpy.parameter_client import AsyncParameterClient

    client = AsyncParameterClient(ros.node, executive.node_name)
    ros.spin_until(client.services_are_ready, 10.0, f"parameter services of {executive.node_name}")
    return client


def set_one(ros, client, name, value):
    from rclpy.parameter import Parameter

    return ros.wait(client.set_parameters([Parameter(name, value=value)]), 10.0).results[0]


@pytest.mark.parametrize("name, value", [
    ("tick_rate", 1e-10), ("tick_rate", float("inf")), ("tick_rate", float("nan")), ("tick_rate", 1e9),
    ("tick_rate", 101.0), ("tick_rate", 0.0), ("tick_rate", -5.0),
    ("halt_timeout", float("nan")), ("halt_timeout", float("inf")), ("halt_timeout", -1.0), ("halt_timeout", 1e7),
    ("goal_policy", "whatever"), ("tick_rate", "fast"),
])
def test_a_number_out_of_range_is_refused_at_run_time(ros, executive, name, value):
    from rcl_interfaces.msg import ParameterType

    client = parameter_client(ros, executive)
    before = ros.wait(client.get_parameters([name]), 10.0).values[0]
    result = set_one(ros, client, name, value)
    assert not result.successful and result.reason, result
    after = ros.wait(client.get_parameters([name]), 10.0).values[0]
    assert after == before      # nothing changed
    if isinstance(value, float):
        described = ros.wait(client.describe_parameters([name]), 10.0).descriptors[0]
        assert described.type == ParameterType.PARAMETER_DOUBLE and not described.read_only
        assert described.floating_point_range and described.floating_point_range[0].to_value <= 3600.0
    # and the executive still answers
    status, result = send(ros, executive, "no_such_mission").result(15)
    assert result.outcome_code == RESULT.OUTCOME_INVALID


def test_a_number_in_range_is_taken(ros, executive):
    client = parameter_client(ros, executive)
    try:
        assert set_one(ros, client, "tick_rate", 100.0).successful     # the maximum itself
        assert ros.wait(client.get_parameters(["tick_rate"]), 10.0).values[0].double_value == 100.0
    finally:
        assert set_one(ros, client, "tick_rate", 10.0).successful


START_ONLY = {"missions_dir": "/etc", "log_dir": "/tmp/elsewhere", "setup_timeout": 30.0, "mission": "patrol",
              "mission_parameters": ["laps=2"], "exit_when_done": True, "resume_interrupted": True, "mission_path": "/etc",
              "viewer": True, "viewer_port": 9999,
              "viewer_host": "0.0.0.0", "viewer_allow_control": True, "viewer_allowed_hosts": ["evil.example"],
              "max_goal_size": 10 ** 7, "max_overrides": 10000, "max_override_size": 10 ** 6, "max_nodes": 10 ** 6,
              "load_timeout": 600.0, "max_loading_goals": 100000, "max_error_size": 10 ** 6, "max_errors": 100000,
              "result_timeout": 86400, "max_logged_payload": 10 ** 7,
              "groot2": True, "groot2_port": 1700, "groot2_host": "0.0.0.0"}


def test_start_only_parameters_are_read_only(ros, executive):
    """`ros2 param set` on a start-only parameter says it is read-only instead of 'successful'
    and nothing happening; the limits and directories cannot be lifted by a peer on the network."""
    from executive.parameters import PARAMETERS

    assert set(START_ONLY) == {n for n, spec in PARAMETERS.items() if spec.start_only}
    client = parameter_client(ros, executive)
    names = sorted(START_ONLY)
    before = ros.wait(client.get_parameters(names), 10.0).values
    for name in names:
        result = set_one(ros, client, name, START_ONLY[name])
        assert not result.successful and "read-only" in result.reason, (name, result)
    assert ros.wait(client.get_parameters(names), 10.0).values == before
    described = ros.wait(client.describe_parameters(names), 10.0).descriptors
    assert all(d.read_only for d in described)
    ranged = {d.name: d for d in described if d.integer_range or d.floating_point_range}
    assert {"viewer_port", "groot2_port", "max_goal_size", "setup_timeout", "load_timeout", "result_timeout"} <= \
        set(ranged)


def test_every_parameter_can_be_read_at_once(ros, executive):
    """What `ros2 param dump` does: list every name, then get them all in one request; an array
    declared without a value would make rclpy answer nothing for the whole request."""
    from rcl_interfaces.msg import ParameterType

    client = parameter_client(ros, executive)
    names = list(ros.wait(client.list_parameters(), 10.0).result.names)
    values = ros.wait(client.get_parameters(names), 10.0).values
    assert len(values) == len(names) and "mission_parameters" in names
    by_name = dict(zip(names, values))
    assert by_name["mission_parameters"].type == ParameterType.PARAMETER_STRING_ARRAY
    assert list(by_name["mission_parameters"].string_array_value) == []
    assert all(v.type != ParameterType.PARAMETER_NOT_SET for v in values)


@pytest.mark.parametrize("params, words", [
    ({"tick_rate": 1e9}, ["tick_rate", "out of range", "1 to 100"]),
    ({"tick_rate": 0.0}, ["tick_rate", "out of range"]),
    ({"viewer_port": 70000}, ["viewer_port", "0 to 65535"]),
    ({"goal_policy": "whatever"}, ["goal_policy must be one of"]),
])
def test_bad_parameters_at_start_name_the_range(tmp_path, params, words):
    process = None
    try:
        process = ExecutiveProcess({**params, "log_dir": str(tmp_path)}, namespace=unique_name("badstart"))
    except RuntimeError as exc:
        text = str(exc)
        assert "exited with 2" in text and all(w in text for w in words), text
        assert "Traceback" not in text, text
    else:
        process.stop()
        pytest.fail(f"{params} accepted at start")
