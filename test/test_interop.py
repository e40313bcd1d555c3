"""Working with the ROS 2 stack users already run (issue 8): the scripting API (``Executive``)
against a real executive process and sim; ``mission-sim --nav2`` / ``--ros2-control`` with the
upstream interface packages; nav2_simple_commander's BasicNavigator, ros2cli and py_trees_ros
against our sim and executive.

The upstream packages are not on PyPI: tests that need one are skipped with a one-line reason when
it is absent, and the tests of the clear failure run only when it is absent. Nothing upstream is
faked.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import rclpy
from action_msgs.msg import GoalStatus

from executive.tools.api import Executive, ExecutiveLost, ExecutiveUnavailable, parameter_list
from executive.tools.launcher import BIN, ExecutiveProcess
from harness import SIM_TIME_SCALE, importable, sim_status, start_sim, unique_name



HAVE_NAV2_MSGS = importable("nav2_msgs.action")
HAVE_CONTROL_MSGS = importable("control_msgs.action")
ROS2 = shutil.which("ros2", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
NOT_ON_PYPI = "(not on PyPI; README: Moving to a real robot)"
needs_nav2_msgs = pytest.mark.skipif(not HAVE_NAV2_MSGS, reason=f"nav2_msgs is not installed {NOT_ON_PYPI}")
needs_control_msgs = pytest.mark.skipif(not HAVE_CONTROL_MSGS, reason=f"control_msgs is not installed {NOT_ON_PYPI}")


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def executive(ros_session, tmp_path_factory):
    process = ExecutiveProcess({"log_dir": str(tmp_path_factory.mktemp("runs"))}, namespace=unique_name("api"))
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture(scope="module")
def api_context():
    """An rclpy context of its own for the scripting API's nodes (the harness has another)."""
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


@pytest.fixture
def client(api_context, executive):
    """The scripting API, pointed at the module's executive."""
    node = Executive(unique_name("script_"), namespace=executive.namespace, context=api_context)
    yield node
    try:
        if not node.is_complete(spin=0.0):      # a test that failed mid-mission
            node.cancel()
            node.wait(30)
    finally:
        node.destroy_node()


def follow(client, until, timeout: float, what: str):
    """Spin the API (is_complete) until ``until()`` holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not until():
        assert not client.is_complete(), f"mission ended before {what}: {client.result()}"
        assert time.monotonic() < deadline, f"{what} not seen within {timeout} s"


# -- the scripting API --------------------------------------------------------------------------

def test_importing_the_package_does_not_import_rclpy():
    code = ("import sys, executive, executive.language.resolve, executive.tools.cli; assert 'rclpy' not in sys.modules; "
            "from executive import Executive, MissionResult; assert 'rclpy' in sys.modules; print(Executive.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "Executive", done.stderr


def test_parameters_keep_their_types():
    from executive.language.resolve import parse_overrides

    params = {"robot": "7", "laps": 2, "speed": 0.5, "loop": True, "name": "north pole"}
    assert parse_overrides(parameter_list(params)) == params
    assert parameter_list(["laps=2"]) == ["laps=2"] and parameter_list(None) == []
    with pytest.raises(TypeError, match="not a string"):
        parameter_list("laps=2")


def test_run_reports_feedback_and_result(ros, client, sim):
    seen = []
    assert client.run("inspection", {"robot": sim.namespace}, feedback_callback=seen.append)
    result = client.wait(90)
    assert result.succeeded and result.outcome == "succeeded", result
    assert result.status == GoalStatus.STATUS_SUCCEEDED and not result.errors and not result.failed_behavior
    assert client.is_complete() and client.result() is result
    assert seen and all(f.active_path.startswith("inspection") for f in seen if f.active_path)
    assert client.feedback() == seen[-1] and 0.0 <= seen[-1].progress <= 1.0 and seen[-1].elapsed > 0
    assert sim_status(ros, sim)["unfinished_goals"] == 0


def test_cancel_mid_mission_ends_canceled_with_no_goal_left(ros, client, sim):
    assert client.run("patrol", {"robot": sim.namespace})
    follow(client, lambda: client.feedback() and "drive to" in client.feedback().active_path, 30, "a drive")
    assert client.cancel()
    result = client.wait(30)
    assert result.outcome == "canceled" and result.status == GoalStatus.STATUS_CANCELED, result
    # The executive answers a cancel only once every goal the mission sent has ended.
    assert sim_status(ros, sim)["unfinished_goals"] == 0
    assert not client.cancel(), "nothing left to cancel"


def test_invalid_mission_is_accepted_and_ends_with_its_errors(client):
    broken = "name: broken\ntree:\n  sequence:\n    children:\n      - navigate: {pose: {x: 1.0, y: 2.0}, speeed: 3}\n"
    assert client.run(broken)
    result = client.wait(15)
    assert result.outcome == "invalid" and result.status == GoalStatus.STATUS_ABORTED
    assert len(result.errors) == 1 and result.errors[0].startswith("<goal>:5:") and "speeed" in result.errors[0]
    assert client.run("no_such_mission")
    assert "no mission named 'no_such_mission'" in client.wait(15).errors[0]


def test_busy_executive_rejects_and_pause_resume_work(client, sim, api_context, executive):
    assert client.run("patrol", {"robot": sim.namespace, "laps": 1})
    follow(client, lambda: client.feedback() and "drive to" in client.feedback().active_path, 30, "a drive")
    other = Executive(unique_name("other_"), namespace=executive.namespace, context=api_context)
    try:
        assert other.run("inspection", {"robot": sim.namespace}) is False     # goal_policy reject
    finally:
        other.destroy_node()
    done, message = client.pause()
    assert done, message
    follow(client, lambda: client.feedback().paused, 10, "feedback saying paused")
    done, message = client.resume()
    assert done, message
    result = client.wait(60)
    assert result.succeeded, result


FOREVER = "name: forever\ntree: {repeat: {forever: true, child: {wait: {seconds: 0.1}}}}\n"


def test_a_goal_answered_after_run_gave_up_is_cancelled(client, api_context, executive):
    """run() gives up waiting for the goal's answer (here at once): a goal the executive accepts
    later is cancelled, not left running with nobody following it (under goal_policy reject that
    also kept the executive busy, so every later goal was rejected)."""
    late = Executive(unique_name("late_"), namespace=executive.namespace, context=api_context)
    try:
        deadline = time.monotonic() + 60
        while True:     # a timeout of 0 may also find the server not ready this instant: then no goal went
            late.wait_until_ready(30)
            with pytest.raises(ExecutiveUnavailable) as gave_up:
                late.run(FOREVER, timeout=0.0)
            if "did not answer the goal" in str(gave_up.value):
                break
            assert time.monotonic() < deadline, gave_up.value
        assert "if it accepts it later, it is cancelled" in str(gave_up.value)
    finally:
        late.destroy_node()     # waits for the late answer, and cancels the goal
    deadline = time.monotonic() + 60
    while not client.run(FOREVER):
        assert time.monotonic() < deadline, "the executive still runs the goal run() gave up on"
        client.spin_until(lambda: False, 0.2)
    assert client.cancel() and client.wait(30).outcome == "canceled"


def test_no_executive_is_a_clear_error_within_the_timeout(api_context):
    node = Executive(unique_name("lonely_"), action="/nobody_here/execute_mission", context=api_context)
    try:
        started = time.monotonic()
        with pytest.raises(ExecutiveUnavailable, match=r"no executive serves /nobody_here/execute_mission "
                                                       r"\(waited 1 s\)"):
            node.run("patrol", timeout=1.0)
        assert time.monotonic() - started < 5.0
        assert node.is_complete() and node.result() is None     # nothing was sent
        with pytest.raises(ExecutiveUnavailable, match="mission_executive/pause"):
            node.pause(timeout=0.5)
    finally:
        node.destroy_node()


def test_executive_gone_mid_mission_is_reported(api_context, tmp_path):
    process = ExecutiveProcess({"log_dir": str(tmp_path)}, namespace=unique_name("doomed_exec"))
    node = Executive(unique_name("orphan_"), namespace=process.namespace, context=api_context)
    try:
        assert node.run("name: long_wait\ntree:\n  wait: {seconds: 60}\n")
        follow(node, lambda: node.feedback() is not None, 15, "feedback")
        process.proc.kill()     # the shared memory it leaves is removed by conftest at the end
        started = time.monotonic()
        with pytest.raises(ExecutiveLost, match="went away before sending the result"):
            while not node.is_complete():
                assert time.monotonic() - started < 30, "the lost executive was not noticed"
    finally:
        node.destroy_node()
        process.stop()


def test_mission_send_reports_a_missing_executive_in_one_line():
    done = subprocess.run([str(BIN / "mission"), "send", "patrol", "--action", "/nobody_here/execute_mission",
                           "--wait", "1"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip() == "mission send: no executive serves /nobody_here/execute_mission (waited 1 s)"


# -- mission-sim without the upstream packages ----------------------------------------------------

@pytest.mark.parametrize("option, package", [
    pytest.param("--nav2", "nav2_msgs", marks=pytest.mark.skipif(
        HAVE_NAV2_MSGS, reason="nav2_msgs is installed: this checks the message without it")),
    pytest.param("--ros2-control", "control_msgs", marks=pytest.mark.skipif(
        HAVE_CONTROL_MSGS, reason="control_msgs is installed: this checks the message without it")),
])
def test_sim_option_without_its_package_fails_clearly(option, package):
    done = subprocess.run([str(BIN / "mission-sim"), option], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and not done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{option} needs the ROS package {package}, which is not installed" in lines[0]
    assert f"ros-$ROS_DISTRO-{package.replace('_', '-')}" in lines[0], lines[0]


@pytest.mark.skipif(HAVE_NAV2_MSGS, reason="nav2_msgs is installed: this checks the error without it")
def test_mission_with_a_nav2_type_names_the_missing_package():
    from executive.language.errors import MissionInvalid
    from executive.language.resolve import resolve_text

    text = "name: m\ntree:\n  navigate: {pose: {x: 1.0, y: 0.0}, type: nav2_msgs/action/NavigateToPose}\n"
    with pytest.raises(MissionInvalid, match=r"<goal>:3:\d+: .*type: interface package 'nav2_msgs' is not installed"):
        resolve_text(text, pathlib.Path("."), {})


# -- with the upstream packages --------------------------------------------------------------------

@pytest.fixture(scope="module")
def upstream_sim(ros_session):
    """A sim serving whichever of Nav2's and ros2_control's interfaces are installed."""
    flags = [flag for flag, have in (("--nav2", HAVE_NAV2_MSGS), ("--ros2-control", HAVE_CONTROL_MSGS)) if have]
    process = start_sim(ros_session, unique_name("upstream"), *flags, time_scale=SIM_TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


UPSTREAM_MISSION = """name: upstream_types
parameters: {robot: {type: string}}
robot: ${robot}
tree:
  sequence:
    children:
"""
NAV2_LEAF = """      - navigate: {name: drive with nav2, type: nav2_msgs/action/NavigateToPose, pose: {x: 1.0, y: 0.5, yaw: 1.0}}
"""
CONTROL_LEAF = """      - follow_trajectory:
          name: wave with ros2_control
          type: control_msgs/action/FollowJointTrajectory
          action: joint_trajectory_controller/follow_joint_trajectory
          joints: [shoulder_pan_joint, elbow_joint]
          points: [{time: 0.5, positions: [0.3, 0.2]}, {time: 1.0, positions: [0.0, 0.0]}]
"""


@pytest.mark.skipif(not (HAVE_NAV2_MSGS or HAVE_CONTROL_MSGS),
                    reason=f"neither nav2_msgs nor control_msgs is installed {NOT_ON_PYPI}")
def test_mission_with_upstream_types_runs_on_the_sim(ros, client, upstream_sim):
    mission = UPSTREAM_MISSION + (NAV2_LEAF if HAVE_NAV2_MSGS else "") + (CONTROL_LEAF if HAVE_CONTROL_MSGS else "")
    assert client.run(mission, {"robot": upstream_sim.namespace})
    result = client.wait(60)
    assert result.succeeded, result
    status = sim_status(ros, upstream_sim)
    assert status["unfinished_goals"] == 0
    if HAVE_NAV2_MSGS:
        assert status["navigate_to_pose"]["succeeded"] >= 1
    if HAVE_CONTROL_MSGS:
        assert status["joint_trajectory_controller/follow_joint_trajectory"]["succeeded"] >= 1


@needs_nav2_msgs
def test_nav2_sim_answers_lifecycle_and_localization(ros, upstream_sim):
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from lifecycle_msgs.msg import State
    from lifecycle_msgs.srv import GetState

    from sim.nav2 import AMCL_POSE_QOS
    from nav2_msgs.action import NavigateToPose

    for node in ("bt_navigator", "amcl"):
        state = ros.call(GetState, upstream_sim.name(f"{node}/get_state"), GetState.Request()).current_state
        assert (state.id, state.label) == (State.PRIMARY_STATE_ACTIVE, "active")
    # Our own type is not served there any more: the one on navigate_to_pose is Nav2's.
    types = dict(ros.node.get_service_names_and_types())
    assert types[upstream_sim.name("navigate_to_pose/_action/send_goal")] == [
        "nav2_msgs/action/NavigateToPose_SendGoal"]
    received = []
    sub = ros.node.create_subscription(PoseWithCovarianceStamped, upstream_sim.name("amcl_pose"), received.append,
                                       AMCL_POSE_QOS)
    pub = ros.node.create_publisher(PoseWithCovarianceStamped, upstream_sim.name("initialpose"), 10)
    try:
        initial = PoseWithCovarianceStamped()
        initial.header.frame_id = "map"

        def answered():
            if not received:
                pub.publish(initial)     # as BasicNavigator does: again until amcl_pose arrives
            return bool(received)
        ros.spin_until(answered, 10.0, "amcl_pose after initialpose")
    finally:
        ros.node.destroy_subscription(sub)
        ros.node.destroy_publisher(pub)
    assert received[-1].header.frame_id == "map"
    # as bt_navigator: a goal it cannot transform to the map frame is accepted, then ends with TF_ERROR
    call = ros.send_goal(NavigateToPose, upstream_sim.name("navigate_to_pose"), NavigateToPose.Goal())
    status, result = call.result(30)
    assert (status, result.error_code) == (GoalStatus.STATUS_ABORTED, NavigateToPose.Result.TF_ERROR), result


@needs_control_msgs
def test_ros2_control_sim_follows_control_msgs_trajectories(ros, upstream_sim):
    from builtin_interfaces.msg import Duration
    from control_msgs.action import FollowJointTrajectory
    from trajectory_msgs.msg import JointTrajectoryPoint

    from sim.arm import CONTROLLER_ACTION

    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = ["shoulder_pan_joint", "wrist_1_joint"]
    goal.trajectory.points = [JointTrajectoryPoint(positions=[0.2, -0.3], time_from_start=Duration(sec=1))]
    call = ros.send_goal(FollowJointTrajectory, upstream_sim.name(CONTROLLER_ACTION), goal)
    status, result = call.result(30)
    assert status == GoalStatus.STATUS_SUCCEEDED and result.error_code == FollowJointTrajectory.Result.SUCCESSFUL
    assert call.feedback and list(call.feedback[-1].joint_names) == goal.trajectory.joint_names
    assert list(call.feedback[-1].actual.positions) == pytest.approx([0.2, -0.3])
    goal.multi_dof_trajectory.joint_names = ["base"]
    assert not ros.send_goal(FollowJointTrajectory, upstream_sim.name(CONTROLLER_ACTION), goal).accepted()


BASIC_NAVIGATOR_SCRIPT = """
import json, sys
import rclpy
from geometry_msgs.msg import PoseStamped
from nav2_simple_commander.robot_navigator import BasicNavigator, TaskResult

def pose(navigator, x, y):
    goal = PoseStamped()
    goal.header.frame_id = 'map'
    goal.header.stamp = navigator.get_clock().now().to_msg()
    goal.pose.position.x, goal.pose.position.y = x, y
    goal.pose.orientation.w = 1.0
    return goal

rclpy.init()
navigator = BasicNavigator(namespace=sys.argv[1])
navigator.setInitialPose(pose(navigator, 0.0, 0.0))
navigator.waitUntilNav2Active()
report = {}
navigator.goToPose(pose(navigator, -1.0, -0.5))   # away from where the mission test leaves it
distances = []
while not navigator.isTaskComplete():
    feedback = navigator.getFeedback()
    if feedback:
        distances.append(feedback.distance_remaining)
report['first'] = navigator.getResult().name
report['feedback'] = len(distances)
report['first_distance'] = max(distances) if distances else None
navigator.goToPose(pose(navigator, 20.0, 20.0))
cancelled = False
while not navigator.isTaskComplete():
    feedback = navigator.getFeedback()
    # feedback of this goal (the last one of the first goal had ~0 m to go)
    if feedback and feedback.distance_remaining > 5.0 and feedback.navigation_time.nanosec + feedback.navigation_time.sec > 0 and not cancelled:
        navigator.cancelTask()
        cancelled = True
report['second'] = navigator.getResult().name
report['error'] = list(navigator.getTaskError())
print('REPORT ' + json.dumps(report), flush=True)
navigator.destroy_node()
rclpy.shutdown()
"""


@pytest.mark.skipif(not importable("nav2_simple_commander.robot_navigator"),
                    reason=f"nav2_simple_commander (or a package it imports) is not installed {NOT_ON_PYPI}")
def test_unchanged_basic_navigator_drives_the_sim(ros, upstream_sim, tmp_path):
    script = tmp_path / "navigate.py"
    script.write_text(textwrap.dedent(BASIC_NAVIGATOR_SCRIPT))
    done = subprocess.run([sys.executable, str(script), upstream_sim.namespace], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(next(line[7:] for line in done.stdout.splitlines() if line.startswith("REPORT ")))
    assert report["first"] == "SUCCEEDED" and report["feedback"] > 0 and report["first_distance"] > 0.5, report
    assert report["second"] == "CANCELED", report
    assert sim_status(ros, upstream_sim)["unfinished_goals"] == 0


# -- ros2cli and py_trees_ros ----------------------------------------------------------------------

@pytest.mark.skipif(ROS2 is None, reason=f"the ros2 command (ros2cli) is not installed {NOT_ON_PYPI}")
def test_ros2_action_send_goal_with_feedback(executive, sim):
    goal = f"{{mission: inspection, parameters: ['robot={sim.namespace}']}}"
    done = subprocess.run([ROS2, "action", "send_goal", executive.action_name,
                           "mission_interfaces/action/ExecuteMission", goal, "--feedback"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Goal accepted" in done.stdout and "Feedback:" in done.stdout and "active_path: inspection" in done.stdout
    assert "Goal finished with status: SUCCEEDED" in done.stdout, done.stdout
