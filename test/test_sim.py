"""The simulated robot over real DDS: success paths, rejections, cancel, preemption, every fault knob
(each shown by a real rclpy client against a mission-sim process), dying in every phase, restarts,
one sim per robot, and clean exits on signals at any moment."""
import math
import os
import random
import signal
import statistics
import time
import uuid

import pytest
from action_msgs.msg import GoalStatus, GoalStatusArray
from action_msgs.srv import CancelGoal
from builtin_interfaces.msg import Duration
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectoryPoint
from unique_identifier_msgs.msg import UUID

from harness import SIM_TIME_SCALE, SimProcess, restart_sim, sim_status, start_sim, unique_name
from mission_interfaces.action import FollowJointTrajectory, MoveArm, NavigateToPose
from sim.process import HANG_BOUND

ARM_JOINTS = ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
              "wrist_1_joint", "wrist_2_joint", "wrist_3_joint"]
TIME_SCALE = SIM_TIME_SCALE


def nav_goal(x, y, yaw=0.0, frame="map"):
    goal = NavigateToPose.Goal()
    goal.pose.header.frame_id = frame
    goal.pose.pose.position.x, goal.pose.pose.position.y = float(x), float(y)
    goal.pose.pose.orientation.z, goal.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return goal


def turned(goal, z: float):
    """``goal`` with its orientation's z set to ``z`` as given (a quaternion no yaw makes)."""
    goal.pose.pose.orientation.z = z
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
    (nav_goal(float("inf"), 1.0), "not finite"),
    (nav_goal(1.0, 1.0, yaw=float("nan")), "yaw not finite"),
    (turned(nav_goal(1.0, 1.0), float("inf")), "orientation not finite"),
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
    (ARM_JOINTS[:1], [(1.0, [float("nan")])], "position not finite"),
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
    (MoveArm.Goal(named_pose="home", velocity_scaling=float("nan")), "velocity scaling not finite"),
    (MoveArm.Goal(joint_names=["elbow_joint"], positions=[float("nan")]), "position not finite"),
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


# -- the goal lifecycle on a bad day: one knob per way a real server misbehaves -----------------

def cancel_by_id(ros, sim, action: str, goal_id: bytes):
    """Send a CancelGoal request naming ``goal_id`` straight to the action's cancel service, as a
    client that never got a goal handle (its goal request is unanswered) can."""
    request = CancelGoal.Request()
    request.goal_info.goal_id.uuid = list(goal_id)
    return ros.call(CancelGoal, sim.name(f"{action}/_action/cancel_goal"), request)


class Recorder:
    """Messages of one topic, each with its arrival time."""

    def __init__(self, ros, msg_type, topic: str, latched: bool = False):
        """``latched``: transient local (the status topic), so the latest message is not missed."""
        self.messages = []
        self._ros = ros
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
        self._sub = ros.node.create_subscription(msg_type, topic, lambda m: self.messages.append((time.monotonic(), m)), qos)
        ros.spin_until(lambda: self._sub.get_publisher_count() > 0, 15, f"a publisher of {topic}")

    def close(self):
        self._ros.node.destroy_subscription(self._sub)


def statuses_of(recorder: Recorder, goal_id: bytes) -> list:
    return [s.status for _, array in recorder.messages for s in array.status_list
            if bytes(s.goal_info.goal_id.uuid) == goal_id]


def test_accept_delay_longer_than_the_client_waits_then_cancel_by_id(ros, sim):
    """The client gives up on an unanswered goal request and cancels it by id: the server does not
    know the goal yet (ERROR_UNKNOWN_GOAL_ID) and shows it pending; once accepted, a cancel by id
    really cancels it, and the server's own count says so."""
    ros.set_parameters(sim.node_name, {"navigate_to_pose.accept_delay": 6.0})    # 1.5 s wall
    goal_id = uuid.uuid4().bytes
    client = ros.action_client(NavigateToPose, sim.name("navigate_to_pose"))
    accepted = client.send_goal_async(nav_goal(-20.0, 0.0), goal_uuid=UUID(uuid=list(goal_id)))
    with pytest.raises(TimeoutError):
        ros.wait(accepted, 0.2)                                   # the client's timeout
    before = sim_status(ros, sim)["navigate_to_pose"]
    assert before["pending"] == 1 and before["goals"][goal_id.hex()] == "pending", before
    early = cancel_by_id(ros, sim, "navigate_to_pose", goal_id)
    assert early.return_code == CancelGoal.Response.ERROR_UNKNOWN_GOAL_ID and not early.goals_canceling
    counted = sim_status(ros, sim)["navigate_to_pose"]
    assert counted["cancel_while_pending"] == before.get("cancel_while_pending", 0) + 1
    handle = ros.wait(accepted, 10.0)                              # the acceptance arrives late
    assert handle.accepted
    late = cancel_by_id(ros, sim, "navigate_to_pose", goal_id)
    assert late.return_code == CancelGoal.Response.ERROR_NONE
    assert [bytes(g.goal_id.uuid) for g in late.goals_canceling] == [goal_id]
    assert ros.wait(handle.get_result_async(), 10.0).status == GoalStatus.STATUS_CANCELED
    status = sim_status(ros, sim)
    nav = status["navigate_to_pose"]
    assert nav["goals"][goal_id.hex()] == "canceled"
    assert nav["canceled"] == before.get("canceled", 0) + 1
    assert nav["cancel_accepted"] == before.get("cancel_accepted", 0) + 1
    assert status["unfinished_goals"] == 0


def test_result_timeout_zero_discards_results_per_server(ros):
    """``result_timeout: 0`` on one server: a get_result sent after the goal ended is answered
    UNKNOWN, one sent before gets the result; other servers keep theirs; the knob is start-up only."""
    robot = start_sim(ros, unique_name("results"), time_scale=TIME_SCALE,
                      config={"faults": {"navigate_to_pose": {"result_timeout": 0}}})
    try:
        early = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(3.0, 0.0))
        assert early.result()[0] == GoalStatus.STATUS_SUCCEEDED          # asked for while it ran
        late = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(3.0, 0.0))
        assert late.accepted()
        ros.spin_until(lambda: sim_status(ros, robot)["navigate_to_pose"]["succeeded"] == 2, 10, "the goal's end")
        assert late.result()[0] == GoalStatus.STATUS_UNKNOWN
        arm = ros.send_goal(MoveArm, robot.name("move_arm"), MoveArm.Goal(named_pose="home"))
        assert arm.accepted()
        ros.spin_until(lambda: sim_status(ros, robot)["move_arm"]["succeeded"] == 1, 10, "the arm goal's end")
        assert arm.result()[0] == GoalStatus.STATUS_SUCCEEDED               # kept 10 s by default
        with pytest.raises(AssertionError, match="read-only"):
            ros.set_parameters(robot.node_name, {"navigate_to_pose.result_timeout": 5.0})
    finally:
        assert robot.stop() == 0, robot.stderr()


def test_refuse_cancel_keeps_the_goal_running(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.refuse_cancel": True})
    call = navigate(ros, sim, nav_goal(20.0, 0.0))
    assert call.accepted()
    response = call.cancel()
    # rclpy's server answers a refusal with no goal canceling and ERROR_NONE (rclcpp's says ERROR_REJECTED)
    assert not response.goals_canceling and response.return_code == CancelGoal.Response.ERROR_NONE
    seen = len(call.feedback)
    ros.spin_until(lambda: len(call.feedback) > seen + 3, 10, "feedback after the refused cancel")
    assert sim_status(ros, sim)["navigate_to_pose"]["cancel_refused"] == 1
    ros.set_parameters(sim.node_name, {"navigate_to_pose.refuse_cancel": False})
    assert call.cancel().return_code == CancelGoal.Response.ERROR_NONE
    assert call.result()[0] == GoalStatus.STATUS_CANCELED


def test_cancel_delay_keeps_moving_before_ending_canceled(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.cancel_delay": 4.0})    # 1 s wall
    call = navigate(ros, sim, nav_goal(20.0, 0.0))
    assert call.accepted()
    ros.spin_until(lambda: call.feedback, 10, "feedback")
    response = call.cancel()
    canceled_at = time.monotonic()
    assert response.return_code == CancelGoal.Response.ERROR_NONE
    goal = bytes(call.handle.goal_id.uuid).hex()
    ros.spin_until(lambda: sim_status(ros, sim)["navigate_to_pose"]["goals"][goal] == "canceling", 5, "canceling")
    seen = len(call.feedback)
    ros.spin_until(lambda: len(call.feedback) > seen + 3, 10, "feedback while canceling")
    assert sim_status(ros, sim)["navigate_to_pose"]["active"] == 1
    status, _ = call.result()
    assert status == GoalStatus.STATUS_CANCELED
    assert time.monotonic() - canceled_at >= 4.0 / TIME_SCALE


def test_feedback_after_result(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.feedback_after_result": 4.0})   # 1 s wall
    feedback = Recorder(ros, NavigateToPose.Impl.FeedbackMessage, sim.name("navigate_to_pose/_action/feedback"))
    try:
        call = navigate(ros, sim, nav_goal(0.5, 0.0))
        assert call.result()[0] == GoalStatus.STATUS_SUCCEEDED
        result_at = time.monotonic()
        goal_id = bytes(call.handle.goal_id.uuid)
        ros.spin_until(lambda: sim_status(ros, sim)["navigate_to_pose"].get("stray_feedback", 0) == 1, 10,
                       "the sim to send its stray feedback")
        # The stray one comes 1 s after the result; regular feedback may still trickle in just after it.
        ros.spin_until(lambda: any(t > result_at + 0.5 and bytes(m.goal_id.uuid) == goal_id
                                   for t, m in feedback.messages), 10, "a feedback message after the result")
    finally:
        feedback.close()


@pytest.mark.parametrize("override, code", [("aborted", GoalStatus.STATUS_ABORTED),
                                            ("unknown", GoalStatus.STATUS_UNKNOWN)])
def test_result_status_contradicts_the_status_topic(ros, sim, override, code):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.result_status_override": override})
    statuses = Recorder(ros, GoalStatusArray, sim.name("navigate_to_pose/_action/status"), latched=True)
    try:
        call = navigate(ros, sim, nav_goal(0.5, 0.0))
        status, _ = call.result()
        goal_id = bytes(call.handle.goal_id.uuid)
        ros.spin_until(lambda: GoalStatus.STATUS_SUCCEEDED in statuses_of(statuses, goal_id), 10, "SUCCEEDED on the status topic")
        assert status == code
        assert sim_status(ros, sim)["navigate_to_pose"]["result_status_overridden"] >= 1
    finally:
        statuses.close()


def test_bad_knob_values_are_refused_at_run_time(ros, sim):
    for knob, value in [("exit_phase", "sometime"), ("result_status_override", "maybe"), ("cancel_delay", -1.0)]:
        with pytest.raises(AssertionError, match=knob):
            ros.set_parameters(sim.node_name, {f"navigate_to_pose.{knob}": value})


# -- dying in every phase, and coming back ------------------------------------------------------

def dying_sim(ros, faults: dict):
    return start_sim(ros, unique_name("dying"), time_scale=TIME_SCALE, config={"faults": faults})


def assert_died(robot, what: str):
    assert robot.wait_exit(timeout=15) == 17, robot.stderr()
    assert what in robot.stderr()


def test_exit_while_the_goal_request_is_unanswered(ros):
    robot = dying_sim(ros, {"navigate_to_pose": {"exit_after_goals": 1, "exit_phase": "goal_request", "accept_delay": 8.0}})
    try:
        call = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(1.0, 0.0))
        ros.spin_until(lambda: sim_status(ros, robot)["navigate_to_pose"]["pending"] == 1, 10, "the pending request")
        assert_died(robot, "request unanswered")
        with pytest.raises(TimeoutError):
            call.accepted(timeout=1.0)
    finally:
        robot.stop()


def test_exit_right_after_accepting(ros):
    robot = dying_sim(ros, {"navigate_to_pose": {"exit_after_goals": 1, "exit_phase": "accepted"}})
    try:
        call = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(5.0, 0.0))
        assert call.accepted()
        assert_died(robot, "right after accepting goal 1")
        assert call.feedback == []
    finally:
        robot.stop()


def test_exit_mid_execution(ros):
    robot = dying_sim(ros, {"navigate_to_pose": {"exit_after_goals": 1}})      # exit_phase: executing
    try:
        call = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(5.0, 0.0))
        assert call.accepted()
        assert_died(robot, "exiting after 1 goals, mid-goal")
    finally:
        robot.stop()


def test_exit_after_finishing_before_the_result_is_sent(ros):
    robot = dying_sim(ros, {"navigate_to_pose": {"exit_after_goals": 1, "exit_phase": "finished"}})
    statuses = Recorder(ros, GoalStatusArray, robot.name("navigate_to_pose/_action/status"), latched=True)
    try:
        call = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(0.5, 0.0))
        assert call.accepted()
        goal_id = bytes(call.handle.goal_id.uuid)
        assert_died(robot, "finished and its result unsent")
        ros.spin_until(lambda: GoalStatus.STATUS_SUCCEEDED in statuses_of(statuses, goal_id), 5,
                       "SUCCEEDED on the status topic")
        with pytest.raises(TimeoutError, match="no result"):
            call.result(timeout=1.0)
    finally:
        statuses.close()
        robot.stop()


def test_exit_while_a_cancel_is_unanswered(ros):
    robot = dying_sim(ros, {"navigate_to_pose": {"exit_after_goals": 1, "exit_phase": "cancel_request"}})
    try:
        call = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(20.0, 0.0))
        assert call.accepted()
        cancel = call.handle.cancel_goal_async()
        assert_died(robot, "cancel of goal 1 unanswered")
        with pytest.raises(TimeoutError):
            ros.wait(cancel, 1.0)
    finally:
        robot.stop()


def test_service_exit_mid_call(ros):
    robot = dying_sim(ros, {"calibrate": {"exit_after_calls": 2, "response_delay": 2.0}})
    try:
        assert ros.call(SetBool, robot.name("calibrate"), SetBool.Request(data=False)).success
        call = ros.service_client(SetBool, robot.name("calibrate")).call_async(SetBool.Request(data=False))
        ros.spin_until(lambda: sim_status(ros, robot)["services"]["in_flight"] == 1, 10, "the call in flight")
        assert_died(robot, "calibrate: exiting with call 2 unanswered")
        ros.executor.spin_once(timeout_sec=0.5)
        assert not call.done()
    finally:
        robot.stop()


def test_restart_under_the_same_name(ros):
    robot = start_sim(ros, unique_name("phoenix"), time_scale=TIME_SCALE)
    try:
        first = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(20.0, 0.0))
        assert first.accepted()
        old_pid = robot.proc.pid
        robot = restart_sim(ros, robot)
        assert robot.proc.pid != old_pid
        status = sim_status(ros, robot)
        assert status["process"]["pid"] == robot.proc.pid and status["navigate_to_pose"].get("received", 0) == 0
        again = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(0.5, 0.0))
        assert again.result()[0] == GoalStatus.STATUS_SUCCEEDED
    finally:
        assert robot.stop() == 0, robot.stderr()


# -- the process: one sim per robot, clean exits at any moment ----------------------------------

def test_a_second_sim_of_the_same_robot_is_refused(ros, sim):
    with pytest.raises(RuntimeError, match="exited with 2") as info:
        SimProcess(sim.namespace)
    message = str(info.value)
    assert f"robot /{sim.namespace} is already simulated" in message
    assert f"by process {sim.proc.pid}" in message and "another --namespace" in message


def test_a_killed_sim_does_not_block_its_restart(ros):
    """Its lease (3 s) has not run out when the new one starts, but it does not answer."""
    robot = start_sim(ros, unique_name("lease"), time_scale=TIME_SCALE)
    robot.kill()
    robot.stop()
    again = start_sim(ros, robot.namespace, time_scale=TIME_SCALE)
    try:
        assert sim_status(ros, again)["process"]["pid"] == again.proc.pid
    finally:
        assert again.stop() == 0, again.stderr()


SIGNAL_PLANS = [(signal.SIGINT,), (signal.SIGTERM,), (signal.SIGINT, signal.SIGINT),   # terminal + ros2 launch
                (signal.SIGINT, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT, signal.SIGINT)]


def test_clean_exit_whatever_the_moment_of_the_signal(ros):
    """Signals at random moments from the spawn on (start-up, the look for another sim, serving,
    a goal running): every sim exits 0 with nothing on stderr but its own log lines. Derandomised in
    CI; more cases with HYPOTHESIS_PROFILE=explore. One sim at a time: a peer leaving the graph
    while a sim starts can deadlock Fast DDS 3.2 (see HANG_BOUND in sim/process.py), which is not
    what this test is about."""
    seed = 0 if os.environ.get("CI") else random.randrange(1 << 30)
    rng = random.Random(seed)
    cases = 80 if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else 12
    for _ in range(cases):
        delay, plan = rng.uniform(0.0, 3.0), rng.choice(SIGNAL_PLANS)
        robot = SimProcess(unique_name("sig"), time_scale=TIME_SCALE, wait_ready=False)
        at = time.monotonic() + delay
        busy = None
        while time.monotonic() < at:
            if busy is None and robot.lines.seen and robot.lines.seen[-1].startswith("READY"):
                busy = ros.send_goal(NavigateToPose, robot.name("navigate_to_pose"), nav_goal(20.0, 0.0))
            ros.executor.spin_once(timeout_sec=0.01)
            robot.output()                      # collects READY into lines.seen
        for signum in plan:
            robot.proc.send_signal(signum)
            time.sleep(rng.uniform(0.0, 0.01))
        # Longer than the sim's hang watchdog: a sim stuck in Fast DDS (HANG_BOUND) exits with every
        # thread's stack on stderr, which the failure then shows (seen once stuck past 30 s, Kilted).
        code = robot.wait_exit(timeout=HANG_BOUND + 15)
        errors = [line for line in robot.stderr().splitlines() if not line.startswith("[")]
        robot.stop()
        assert code == 0 and not errors, (f"seed {seed}: {[s.name for s in plan]} {delay:.3f} s after the spawn: "
                                          f"exit {code}: {robot.stderr()}")
