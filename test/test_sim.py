"""The simulated robot over real DDS: success paths, rejections, cancel, preemption, fault knobs."""
import math
import statistics
import time

import pytest
from action_msgs.msg import GoalStatus
from builtin_interfaces.msg import Duration
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectoryPoint

from harness import SIM_TIME_SCALE, SimProcess, sim_status, start_sim, unique_name
from mission_interfaces.action import FollowJointTrajectory, MoveArm, NavigateToPose

ARM_JOINTS = ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
              "wrist_1_joint", "wrist_2_joint", "wrist_3_joint"]
TIME_SCALE = SIM_TIME_SCALE


def nav_goal(x, y, yaw=0.0, frame="map"):
    goal = NavigateToPose.Goal()
    goal.pose.header.frame_id = frame
    goal.pose.pose.position.x, goal.pose.pose.position.y = float(x), float(y)
    goal.pose.pose.orientation.z, goal.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return goal


def trajectory_goal(names, points):
    """points: [(seconds, [positions])]"""
    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = names
    goal.trajectory.points = [
        JointTrajectoryPoint(positions=[float(p) for p in pos],
                             time_from_start=Duration(sec=int(t), nanosec=int((t % 1) * 1e9)))
        for t, pos in points]
    return goal


def navigate(ros, sim, goal):
    return ros.send_goal(NavigateToPose, sim.name("navigate_to_pose"), goal)


# -- navigation ------------------------------------------------------------------------------

def test_navigate_reaches_goal_with_decreasing_distance_and_odom(ros, sim):
    call = navigate(ros, sim, nav_goal(1.5, -1.0, yaw=1.0))
    status, result = call.result()
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert result.error_code == NavigateToPose.Result.NONE
    distances = [fb.distance_remaining for fb in call.feedback]
    assert len(distances) >= 3
    assert all(b <= a + 1e-6 for a, b in zip(distances, distances[1:])), distances
    stamps = [fb.current_pose.header.stamp.sec + fb.current_pose.header.stamp.nanosec * 1e-9 for fb in call.feedback]
    assert statistics.median(b - a for a, b in zip(stamps, stamps[1:])) <= 0.1  # >= 10 Hz
    odom = []
    from nav_msgs.msg import Odometry
    sub = ros.node.create_subscription(Odometry, sim.name("odom"), odom.append, 10)
    try:
        ros.spin_until(lambda: odom, 10, "an odom message")
    finally:
        ros.node.destroy_subscription(sub)
    assert odom[-1].pose.pose.position.x == pytest.approx(1.5)
    assert odom[-1].pose.pose.position.y == pytest.approx(-1.0)


@pytest.mark.parametrize("goal, why", [
    (nav_goal(30.0, 0.0), "outside the map bounds"),
    (nav_goal(0.0, -26.0), "outside the map bounds"),
    (nav_goal(1.0, 1.0, frame="odom"), "unknown frame"),
    (nav_goal(1.0, 1.0, frame=""), "empty frame"),
    (nav_goal(float("nan"), 1.0), "not finite"),
])
def test_navigate_rejects_invalid_goals(ros, sim, goal, why):
    assert not navigate(ros, sim, goal).accepted(), why


def test_navigate_cancel_returns_canceled_with_pose_reached(ros, sim):
    call = navigate(ros, sim, nav_goal(20.0, 20.0))
    assert call.accepted()
    ros.spin_until(lambda: len(call.feedback) >= 2, 10, "feedback")
    call.cancel()
    status, result = call.result()
    assert status == GoalStatus.STATUS_CANCELED
    assert "stopped at" in result.error_msg
    assert sim_status(ros, sim)["navigate_to_pose"]["canceled"] >= 1


def test_new_goal_preempts_running_one(ros, sim):
    first = navigate(ros, sim, nav_goal(-20.0, 10.0))
    assert first.accepted()
    ros.spin_until(lambda: first.feedback, 10, "feedback of the first goal")
    second = navigate(ros, sim, nav_goal(0.5, 0.5))
    status, result = first.result()
    assert status == GoalStatus.STATUS_ABORTED
    assert "preempted" in result.error_msg
    assert second.result()[0] == GoalStatus.STATUS_SUCCEEDED


# -- arm ---------------------------------------------------------------------------------------

def test_follow_joint_trajectory_succeeds_with_feedback(ros, sim):
    goal = trajectory_goal(ARM_JOINTS[:2], [(0.5, [0.2, 0.1]), (1.0, [0.4, -0.2])])
    call = ros.send_goal(FollowJointTrajectory, sim.name("follow_joint_trajectory"), goal)
    status, result = call.result()
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert result.error_code == FollowJointTrajectory.Result.SUCCESSFUL
    assert call.feedback and list(call.feedback[-1].joint_names) == ARM_JOINTS[:2]
    assert list(call.feedback[-1].actual.positions) == pytest.approx([0.4, -0.2])


@pytest.mark.parametrize("names, points, why", [
    (["gripper_joint"], [(1.0, [0.0])], "unknown joint"),
    (ARM_JOINTS[:1], [(1.0, [4.0])], "beyond the joint limit"),
    (ARM_JOINTS[:1], [(1.0, [0.1]), (1.0, [0.2])], "time_from_start not increasing"),
    (ARM_JOINTS[:1], [(1.0, [0.1]), (0.5, [0.2])], "time_from_start decreasing"),
    (ARM_JOINTS[:2], [(1.0, [0.1])], "fewer positions than joints"),
    (ARM_JOINTS[:1], [], "no points"),
])
def test_follow_joint_trajectory_rejects_invalid_goals(ros, sim, names, points, why):
    call = ros.send_goal(FollowJointTrajectory, sim.name("follow_joint_trajectory"), trajectory_goal(names, points))
    assert not call.accepted(), why


def test_move_arm_to_named_pose_and_to_joints(ros, sim):
    call = ros.send_goal(MoveArm, sim.name("move_arm"), MoveArm.Goal(named_pose="inspect", velocity_scaling=1.0))
    status, result = call.result()
    assert status == GoalStatus.STATUS_SUCCEEDED and result.error_code == MoveArm.Result.SUCCESS
    assert list(result.final_positions) == pytest.approx([0.5, -0.6, 1.0, -0.4, 1.57, 0.0])
    progress = [fb.progress for fb in call.feedback]
    assert progress and progress[-1] == pytest.approx(1.0) and progress == sorted(progress)

    call = ros.send_goal(MoveArm, sim.name("move_arm"),
                         MoveArm.Goal(joint_names=["elbow_joint"], positions=[0.3], velocity_scaling=0.5))
    status, result = call.result()
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert list(result.joint_names) == ["elbow_joint"] and list(result.final_positions) == pytest.approx([0.3])


@pytest.mark.parametrize("goal, why", [
    (MoveArm.Goal(named_pose="dance"), "unknown named pose"),
    (MoveArm.Goal(joint_names=["elbow_joint"], positions=[9.0]), "beyond the limit"),
    (MoveArm.Goal(joint_names=["tail_joint"], positions=[0.0]), "unknown joint"),
    (MoveArm.Goal(named_pose="home", velocity_scaling=1.5), "velocity scaling above 1"),
    (MoveArm.Goal(named_pose="home", joint_names=["elbow_joint"], positions=[0.0]), "both pose and joints"),
])
def test_move_arm_rejects_invalid_goals(ros, sim, goal, why):
    assert not ros.send_goal(MoveArm, sim.name("move_arm"), goal).accepted(), why


def test_arm_goal_preempts_goal_on_the_other_arm_server(ros, sim):
    slow = trajectory_goal(ARM_JOINTS[:1], [(30.0, [1.0])])
    first = ros.send_goal(FollowJointTrajectory, sim.name("follow_joint_trajectory"), slow)
    assert first.accepted()
    ros.spin_until(lambda: first.feedback, 10, "trajectory feedback")
    second = ros.send_goal(MoveArm, sim.name("move_arm"), MoveArm.Goal(named_pose="home"))
    status, result = first.result()
    assert status == GoalStatus.STATUS_ABORTED and "preempted" in result.error_string
    assert second.result()[0] == GoalStatus.STATUS_SUCCEEDED


# -- services ----------------------------------------------------------------------------------

def test_health_check_reports_components_and_runtime_faults(ros, sim):
    response = ros.call(Trigger, sim.name("health_check"), Trigger.Request())
    assert response.success and "lidar: ok" in response.message
    ros.set_parameters(sim.node_name, {"health.unhealthy": ["lidar"]})
    response = ros.call(Trigger, sim.name("health_check"), Trigger.Request())
    assert not response.success
    assert "lidar: FAULT" in response.message and "camera: ok" in response.message


def test_calibrate_runs_fails_by_probability_and_resets(ros, sim):
    response = ros.call(SetBool, sim.name("calibrate"), SetBool.Request(data=True))
    assert response.success and sim_status(ros, sim)["services"]["calibrated"]
    response = ros.call(SetBool, sim.name("calibrate"), SetBool.Request(data=False))
    assert response.success and not sim_status(ros, sim)["services"]["calibrated"]
    ros.set_parameters(sim.node_name, {"calibration.failure_probability": 1.0})
    response = ros.call(SetBool, sim.name("calibrate"), SetBool.Request(data=True))
    assert not response.success and "failed" in response.message


def test_service_fault_knobs(ros, sim):
    ros.set_parameters(sim.node_name, {"health_check.fail_all": True})
    response = ros.call(Trigger, sim.name("health_check"), Trigger.Request())
    assert not response.success and "injected" in response.message
    ros.set_parameters(sim.node_name, {"health_check.fail_all": False, "calibrate.response_delay": 2.0})
    started = time.monotonic()
    ros.call(SetBool, sim.name("calibrate"), SetBool.Request(data=False))
    assert time.monotonic() - started >= 2.0 / TIME_SCALE


# -- action fault knobs, set at runtime --------------------------------------------------------

def test_fault_accept_delay(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.accept_delay": 2.0})
    call = navigate(ros, sim, nav_goal(0.0, 0.0))
    assert call.accepted()
    assert time.monotonic() - call.sent_at >= 2.0 / TIME_SCALE
    assert call.result()[0] == GoalStatus.STATUS_SUCCEEDED


def test_fault_reject_all(ros, sim):
    ros.set_parameters(sim.node_name, {"move_arm.reject_all": True})
    assert not ros.send_goal(MoveArm, sim.name("move_arm"), MoveArm.Goal(named_pose="home")).accepted()


def test_fault_abort_after(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.abort_after": 1.0})
    call = navigate(ros, sim, nav_goal(-20.0, -20.0))
    status, result = call.result()
    assert status == GoalStatus.STATUS_ABORTED and "abort_after" in result.error_msg
    assert time.monotonic() - call.sent_at >= 1.0 / TIME_SCALE


def test_fault_abort_probability(ros, sim):
    ros.set_parameters(sim.node_name, {"follow_joint_trajectory.abort_probability": 1.0})
    goal = trajectory_goal(ARM_JOINTS[:1], [(0.5, [0.1])])
    status, result = ros.send_goal(FollowJointTrajectory, sim.name("follow_joint_trajectory"), goal).result()
    assert status == GoalStatus.STATUS_ABORTED
    assert result.error_code == FollowJointTrajectory.Result.PATH_TOLERANCE_VIOLATED
    assert "abort_probability" in result.error_string


def test_fault_stall_feedback(ros, sim):
    ros.set_parameters(sim.node_name, {"move_arm.stall_feedback": True})
    call = ros.send_goal(MoveArm, sim.name("move_arm"), MoveArm.Goal(named_pose="stow"))
    assert call.result()[0] == GoalStatus.STATUS_SUCCEEDED
    assert call.feedback == []


def test_fault_result_delay(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.result_delay": 2.0})
    call = navigate(ros, sim, nav_goal(0.0, 0.0))
    assert call.result()[0] == GoalStatus.STATUS_SUCCEEDED
    assert time.monotonic() - call.sent_at >= 2.0 / TIME_SCALE


# -- faults from the config file, process exit, bad config -------------------------------------

def test_faults_from_config_and_seeded_abort_probability(ros):
    config = {"seed": 7, "faults": {"navigate_to_pose": {"abort_probability": 0.5}, "move_arm": {"reject_all": True}}}
    outcomes = []
    for _ in range(2):
        robot = start_sim(ros, unique_name("cfg"), config=config, time_scale=50.0)
        try:
            assert not ros.send_goal(MoveArm, robot.name("move_arm"), MoveArm.Goal(named_pose="home")).accepted()
            run = [ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(0.1 * i, 0.0)).result()[0]
                   for i in range(8)]
            outcomes.append(run)
        finally:
            assert robot.stop() == 0
    assert outcomes[0] == outcomes[1], "the same seed must give the same faults"
    assert {GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED} == set(outcomes[0])


def test_fault_exit_after_goals_kills_the_process_mid_goal(ros):
    robot = start_sim(ros, unique_name("exit"), config={"faults": {"navigate_to_pose": {"exit_after_goals": 2}}})
    try:
        first = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(0.0, 0.0))
        try:
            assert first.result(timeout=10)[0] == GoalStatus.STATUS_SUCCEEDED
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; the sim says {sim_status(ros, robot)}; stderr: {robot.stderr()}")
        second = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(5.0, 0.0))
        assert second.accepted()
        assert robot.wait_exit(timeout=10) == 17
        assert "exiting after 2 goals" in robot.stderr()
    finally:
        robot.stop()


@pytest.mark.parametrize("config, message", [
    ({"navigation": {"sped": 1.0}}, "unknown setting navigation.sped"),
    ({"faults": {"move_arm": {"explode": True}}}, "unknown fault knob"),
])
def test_bad_config_is_a_clear_error(config, message):
    with pytest.raises(RuntimeError, match="exited with 2") as info:
        SimProcess(unique_name("bad"), config=config)
    assert message in str(info.value)
