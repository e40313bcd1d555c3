"""Action, service and retry leaves against the simulated robot over real DDS: every row of the
goal state machine, feedback to the blackboard, retries, and service outcomes."""
import time
import weakref

import py_trees
import pytest
from hypothesis import HealthCheck as Health, given, settings
from hypothesis import strategies as st
from py_trees.common import Status

from behaviors import failures
from behaviors.actions import ActionClient, FollowTrajectory, MoveArm, NavigateTo
from behaviors.decorators import RetryWithBackoff
from behaviors.messages import InterfaceError
from behaviors.services import Calibrate, HealthCheck, ServiceClient
from executive.language.expressions import compile_check
from harness import SIM_TIME_SCALE, SimProcess, run_tree, sim_status, start_sim, unique_name
from mission_interfaces.action import NavigateToPose
from rclpy.action import ActionClient as RclpyActionClient

FAR = dict(x=-20.0, y=18.0)      # a goal that takes long enough to interrupt


def nav(sim, name="navigate", **kwargs):
    kwargs.setdefault("x", 1.0)
    return NavigateTo(name, action_name=sim.name("navigate_to_pose"), **kwargs)


def blackboard():
    client = py_trees.blackboard.Client(name="test")
    return client


@pytest.fixture(autouse=True)
def fresh_blackboard():
    py_trees.blackboard.Blackboard.clear()
    yield


def test_accepted_then_succeeded_with_feedback_and_result_on_the_blackboard(ros, sim):
    leaf = nav(sim, x=1.0, y=1.0, feedback_key="/nav/feedback", result_key="/nav/result")
    seen = []
    bb = blackboard()
    bb.register_key("/nav/feedback", access=py_trees.common.Access.READ)
    bb.register_key("/nav/result", access=py_trees.common.Access.READ)

    def watch():
        if bb.exists("/nav/feedback"):
            seen.append(bb.get("/nav/feedback").distance_remaining)
        return False

    assert run_tree(ros, leaf, timeout=20, until=watch) == Status.SUCCESS
    assert leaf.failure is None
    assert seen and seen[-1] < seen[0] + 1e-9
    assert bb.get("/nav/result").error_code == 0


def test_rejected_goal_fails_with_reason(ros, sim):
    leaf = nav(sim, x=99.0, failure_key="/nav/failure")
    assert run_tree(ros, leaf, timeout=20) == Status.FAILURE
    assert leaf.failure.reason == failures.REJECTED
    assert "navigate_to_pose rejected" in leaf.failure.message
    bb = blackboard()
    bb.register_key("/nav/failure", access=py_trees.common.Access.READ)
    assert bb.get("/nav/failure")["reason"] == "rejected"


def test_aborted_goal_fails_with_error_code_and_message(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.abort_after": 0.5})
    leaf = nav(sim, **FAR)
    assert run_tree(ros, leaf, timeout=20) == Status.FAILURE
    assert leaf.failure.reason == failures.ABORTED
    assert leaf.failure.status == "ABORTED"
    assert leaf.failure.error_code == NavigateToPose.Result.UNKNOWN
    assert "abort_after" in leaf.failure.message


def test_result_check_failure(ros, sim):
    leaf = nav(sim, x=0.5, result_check=compile_check("error_msg == 'something else'", subject="result"))
    assert run_tree(ros, leaf, timeout=20) == Status.FAILURE
    assert leaf.failure.reason == failures.RESULT_CHECK and leaf.failure.status == "SUCCEEDED"
    assert leaf.failure.message == "error_msg == 'something else' does not hold (error_msg is '')"


def test_cancelled_by_the_leaf_while_executing(ros, sim):
    leaf = nav(sim, **FAR)
    before = sim_status(ros, sim)["navigate_to_pose"].get("canceled", 0)
    assert run_tree(ros, leaf, timeout=20, until=lambda: leaf.feedback is not None) == Status.RUNNING
    leaf.stop(Status.INVALID)      # what a higher-priority branch or a failing sibling does
    ros.spin_until(lambda: leaf.goals_in_flight() == 0, 10, "the cancelled goal to end")
    assert sim_status(ros, sim)["navigate_to_pose"]["canceled"] == before + 1


def test_cancelled_by_the_leaf_while_pending_is_recalled_when_accepted(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.accept_delay": 2.0})
    leaf = nav(sim, **FAR)
    before = sim_status(ros, sim)["navigate_to_pose"]
    run_tree(ros, leaf, timeout=10, until=lambda: leaf._attempt is not None)
    assert leaf._attempt.handle is None, "the goal must still be pending"
    leaf.stop(Status.INVALID)
    assert leaf.goals_in_flight() == 1
    ros.spin_until(lambda: leaf.goals_in_flight() == 0, 15, "the recalled goal to end")
    after = sim_status(ros, sim)["navigate_to_pose"]
    assert after["accepted"] == before.get("accepted", 0) + 1
    assert after["canceled"] == before.get("canceled", 0) + 1


def test_unanswered_goal_request_fails_and_a_late_acceptance_is_cancelled(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.accept_delay": 4.0})   # 1 s of wall time
    before = sim_status(ros, sim)["navigate_to_pose"]
    leaf = nav(sim, server_timeout=0.3, **FAR)
    assert run_tree(ros, leaf, timeout=10) == Status.FAILURE
    assert leaf.failure.reason == failures.TIMEOUT and "did not answer the goal request" in leaf.failure.message
    ros.spin_until(lambda: sim_status(ros, sim)["navigate_to_pose"].get("accepted", 0) > before.get("accepted", 0),
                   10, "the late acceptance")
    ros.spin_until(lambda: sim_status(ros, sim)["navigate_to_pose"].get("canceled", 0) == before.get("canceled", 0) + 1,
                   10, "the late goal to be cancelled")
    ros.spin_until(lambda: leaf.goals_in_flight() == 0, 10, "the leaf to see the cancelled goal end")


def test_timeout_decorator_interrupts_and_cancels(ros, sim):
    leaf = nav(sim, **FAR)
    root = py_trees.decorators.Timeout("limit", leaf, duration=0.5)
    assert run_tree(ros, root, timeout=20) == Status.FAILURE
    ros.spin_until(lambda: leaf.goals_in_flight() == 0, 10, "the cancelled goal to end")
    assert sim_status(ros, sim)["navigate_to_pose"]["canceled"] >= 1


def test_goal_timeout_cancels_and_fails(ros, sim):
    leaf = nav(sim, goal_timeout=0.5, **FAR)
    assert run_tree(ros, leaf, timeout=20) == Status.FAILURE
    assert leaf.failure.reason == failures.TIMEOUT and "0.5 s" in leaf.failure.message
    ros.spin_until(lambda: leaf.goals_in_flight() == 0, 10, "the cancelled goal to end")


def test_server_preempting_our_goal(ros, sim):
    ours = nav(sim, "ours", **FAR)
    run_tree(ros, ours, timeout=10, until=lambda: ours.feedback is not None)
    theirs = nav(sim, "theirs", x=0.0, y=0.0)
    assert run_tree(ros, theirs, timeout=10, until=lambda: True) == Status.RUNNING
    assert run_tree(ros, ours, timeout=20) == Status.FAILURE
    assert ours.failure.reason == failures.ABORTED and "preempted" in ours.failure.message
    assert run_tree(ros, theirs, timeout=20) == Status.SUCCESS


def test_late_result_of_an_old_goal_is_ignored_on_reentry(ros, sim):
    leaf = nav(sim, pose_key="/target")
    bb = blackboard()
    bb.register_key("/target", access=py_trees.common.Access.WRITE)
    bb.set("/target", {"x": FAR["x"], "y": FAR["y"]})
    run_tree(ros, leaf, timeout=10, until=lambda: leaf.feedback is not None)
    leaf.stop(Status.INVALID)               # old goal: cancel requested, its CANCELED result is late
    bb.set("/target", {"x": 0.5, "y": 0.0})
    assert run_tree(ros, leaf, timeout=20) == Status.SUCCESS, leaf.failure
    assert leaf.result.error_code == 0


def test_goal_from_blackboard_missing_key(ros, sim):
    leaf = nav(sim, pose_key="/nowhere")
    assert run_tree(ros, leaf, timeout=10) == Status.FAILURE
    assert leaf.failure.reason == failures.INVALID_GOAL and "/nowhere" in leaf.failure.message


def test_goal_field_from_a_field_of_a_blackboard_value(ros, sim):
    """{bb: where.pose} reads field pose of the value at where (as a leaf's result feeds another's goal)."""
    second = ActionClient("again", NavigateToPose, sim.name("navigate_to_pose"),
                          goal_from_blackboard={"pose": "/where.pose"})
    bb = blackboard()
    bb.register_key("/where", access=py_trees.common.Access.WRITE)
    goal = NavigateToPose.Goal()
    goal.pose.header.frame_id = "map"
    goal.pose.pose.position.x = -0.5
    bb.set("/where", goal)
    assert run_tree(ros, second, timeout=20) == Status.SUCCESS, second.failure
    bb.set("/where", NavigateToPose.Result())       # no field pose
    assert run_tree(ros, second, timeout=20) == Status.FAILURE
    assert second.failure.reason == failures.INVALID_GOAL and "/where.pose" in second.failure.message


@pytest.mark.parametrize("where", [{"x": float("nan"), "y": 0.0}, {"x": 0.5, "y": float("inf")},
                                   {"x": 0.5, "y": 0.0, "yaw": float("-inf")}])
def test_a_goal_from_a_blackboard_value_that_is_not_finite_is_never_sent(ros, sim, where):
    """A number from the blackboard (a rogue server's result may have put it there) that is NaN or
    infinite fails the leaf invalid_goal before anything is sent, as a constant one fails validation."""
    leaf = nav(sim, pose_key="/target")
    bb = blackboard()
    bb.register_key("/target", access=py_trees.common.Access.WRITE)
    bb.set("/target", where)
    assert run_tree(ros, leaf, timeout=10) == Status.FAILURE
    assert leaf.failure.reason == failures.INVALID_GOAL and "not a finite number" in leaf.failure.message, leaf.failure
    assert leaf.result is None and leaf.feedback is None
    second = ActionClient("again", NavigateToPose, sim.name("navigate_to_pose"), goal_from_blackboard={"pose": "/where"})
    bb.register_key("/where", access=py_trees.common.Access.WRITE)
    goal = NavigateToPose.Goal()
    goal.pose.pose.orientation.w = float("nan")
    bb.set("/where", goal.pose)
    assert run_tree(ros, second, timeout=10) == Status.FAILURE
    assert "field pose.pose.orientation.w is not a finite number" in second.failure.message, second.failure


def test_goal_field_mismatch_is_an_error_at_setup(ros):
    leaf = ActionClient("bad", "mission_interfaces/action/NavigateToPose", "x", goal={"pose.pose.positon.x": 1.0})
    with pytest.raises(InterfaceError, match=r"pose\.pose\.positon: Pose has no field 'positon'"):
        leaf.setup(node=ros.node)
    leaf = ActionClient("bad", "acme_nav_msgs/action/NavigateToPose", "x")     # a package installed nowhere
    with pytest.raises(InterfaceError, match="'acme_nav_msgs' is not installed"):
        leaf.setup(node=ros.node)


def test_server_absent_fails_naming_action_and_timeout(ros):
    leaf = ActionClient("nobody", NavigateToPose, "/nobody_here/navigate_to_pose", server_timeout=0.5)
    assert run_tree(ros, leaf, timeout=10) == Status.FAILURE
    assert leaf.failure.reason == failures.SERVER_UNAVAILABLE
    assert leaf.failure.message == "action server /nobody_here/navigate_to_pose not available after 0.5 s"


def test_server_absent_at_start_then_appearing(ros):
    namespace = unique_name("late")
    leaf = NavigateTo("late", x=0.5, action_name=f"/{namespace}/navigate_to_pose", server_timeout=30.0)
    assert run_tree(ros, leaf, timeout=10, until=lambda: True) == Status.RUNNING
    assert "waiting for" in leaf.feedback_message
    robot = SimProcess(namespace, time_scale=SIM_TIME_SCALE)   # no handshake: the leaf copes with first contact
    try:
        try:
            assert run_tree(ros, leaf, timeout=30) == Status.SUCCESS
        except TimeoutError:
            raise AssertionError(f"sim says {sim_status(ros, robot)}")
    finally:
        robot.stop()


def test_server_exiting_mid_goal_is_detected(ros):
    robot = start_sim(ros, unique_name("dying"), config={"faults": {"navigate_to_pose": {"exit_after_goals": 1}}})
    try:
        leaf = NavigateTo("doomed", **FAR, action_name=robot.name("navigate_to_pose"))
        started = time.monotonic()
        assert run_tree(ros, leaf, timeout=30) == Status.FAILURE
        assert leaf.failure.reason == failures.SERVER_LOST
        assert robot.wait_exit(5) == 17
        # Bounded by the DDS lease in executive/dds/fastdds_profile.xml (3 s) plus the check period.
        assert time.monotonic() - started < 3.0 + 0.5 + 5.0
    finally:
        robot.stop()


# -- retry -------------------------------------------------------------------------------------

def test_retry_succeeds_on_attempt_k(ros, sim):
    ros.set_parameters(sim.node_name, {"health.unhealthy": ["lidar"]})
    check = HealthCheck("health", service_name=sim.name("health_check"))
    retry = RetryWithBackoff("retry", check, max_attempts=5, initial_delay=0.2, factor=2.0)

    def heal_after_two_failures():
        if retry.attempt == 2 and retry._resume_at is not None:
            ros.set_parameters(sim.node_name, {"health.unhealthy": [""]})
        return False

    assert run_tree(ros, retry, timeout=30, until=heal_after_two_failures) == Status.SUCCESS
    assert retry.attempt == 3
    assert retry.delays == pytest.approx([0.2, 0.4])


def test_retry_gives_up_after_n(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.reject_all": True})
    before = sim_status(ros, sim)["navigate_to_pose"].get("rejected", 0)
    retry = RetryWithBackoff("retry", nav(sim), max_attempts=3, initial_delay=0.1)
    assert run_tree(ros, retry, timeout=30) == Status.FAILURE
    assert retry.attempt == 3
    assert sim_status(ros, sim)["navigate_to_pose"]["rejected"] == before + 3


def test_a_client_keeps_no_future_of_a_goal_that_ended(ros, sim):
    # rclpy 9.1.2 registered a second future per goal that never completed (ros2/rclpy#1532): the
    # executor visited all of them on every event, so a long-lived client slowed with each goal.
    # Whatever the rclpy, a leaf's client holds no future once its goals have ended.
    leaf = nav(sim, x=1.0, y=0.0)
    assert run_tree(ros, RetryWithBackoff("accepted", leaf, max_attempts=1), timeout=20) == Status.SUCCESS
    ros.set_parameters(sim.node_name, {"navigate_to_pose.reject_all": True})
    rejected = RetryWithBackoff("rejected", nav(sim, name="rejected"), max_attempts=12, initial_delay=0.0)
    assert run_tree(ros, rejected, timeout=30) == Status.FAILURE and rejected.attempt == 12
    for client in (leaf.client, rejected.decorated.client):
        deadline = time.monotonic() + 10
        while client._futures and time.monotonic() < deadline:    # the done callbacks run as tasks
            ros.executor.spin_once(timeout_sec=0.05)
        assert client._futures == [], client._futures


STATUSES = list(range(7))    # GoalStatus: UNKNOWN, ACCEPTED, EXECUTING, CANCELING, SUCCEEDED, CANCELED, ABORTED


@given(entries=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(STATUSES)), max_size=8, unique_by=lambda e: e[0]),
       handles=st.lists(st.tuples(st.integers(0, 7), st.booleans()), max_size=5, unique_by=lambda h: h[0]),
       watched=st.sets(st.integers(0, 7), max_size=4))
@settings(max_examples=150, deadline=None, suppress_health_check=[Health.function_scoped_fixture])
def test_one_pass_over_a_status_array_leaves_what_rclpys_whole_pass_leaves(ros, entries, handles, watched):
    # StatusKeepingClient reads the array from its newest end and stops early; rclpy reads all of
    # it. A server lists each goal once; handles may be dead weak references.
    from action_msgs.msg import GoalInfo, GoalStatus, GoalStatusArray
    from rclpy.action.client import ClientGoalHandle

    from behaviors.actions import StatusKeepingClient
    from unique_identifier_msgs.msg import UUID

    def uuid(i):
        return UUID(uuid=[i] * 16)

    array = GoalStatusArray(status_list=[GoalStatus(goal_info=GoalInfo(goal_id=uuid(i)), status=s) for i, s in entries])
    accepted = NavigateToPose.Impl.SendGoalService.Response(accepted=True)
    outcomes = []
    for make in (RclpyActionClient, StatusKeepingClient):
        client = make(ros.node, NavigateToPose, unique_name("/status_pass_"))
        try:
            made = {i: ClientGoalHandle(client, uuid(i), accepted) for i, _ in handles}
            client._goal_handles.update((bytes([i] * 16), weakref.ref(h)) for i, h in made.items())
            kept = {i: made[i] for i, alive in handles if alive}    # the others die here
            del made
            for i in watched if make is StatusKeepingClient else ():
                client.watch(bytes([i] * 16))
            coroutine = client.execute({"status": array})
            with pytest.raises(StopIteration):
                coroutine.send(None)
            outcomes.append((sorted(client._goal_handles), {i: h.status for i, h in kept.items()}))
            if make is StatusKeepingClient:
                listed = dict(entries)
                assert {i: client.last_status(bytes([i] * 16)) for i in watched} == \
                    {i: listed.get(i, GoalStatus.STATUS_UNKNOWN) for i in watched}
                if watched:     # a goal listed twice (no server does): the newer, later entry counts
                    i = min(watched)
                    twice = [GoalStatus(goal_info=GoalInfo(goal_id=uuid(i)), status=s) for s in (2, 4, 6)]
                    client._take_status(twice)
                    assert client.last_status(bytes([i] * 16)) == 6
        finally:
            client.destroy()
    assert outcomes[0] == outcomes[1]


def test_retry_only_on_chosen_reasons(ros, sim):
    ros.set_parameters(sim.node_name, {"navigate_to_pose.reject_all": True})
    retry = RetryWithBackoff("retry", nav(sim), max_attempts=3, initial_delay=0.1, no_retry_on={"rejected"})
    assert run_tree(ros, retry, timeout=30) == Status.FAILURE
    assert retry.attempt == 1


class Scripted(py_trees.behaviour.Behaviour):
    """Returns the given statuses in turn (then the last one), counting its updates."""

    def __init__(self, name, statuses):
        super().__init__(name)
        self.statuses, self.updates = list(statuses), 0

    def update(self):
        self.updates += 1
        return self.statuses[min(self.updates, len(self.statuses)) - 1]


def test_retry_backoff_is_capped_seeded_and_does_not_tick_the_child():
    now = [0.0]

    def run(child, seed):
        retry = RetryWithBackoff("retry", child, max_attempts=6, initial_delay=1.0, factor=3.0, max_delay=5.0,
                                 jitter=0.1, seed=seed, clock=lambda: now[0])
        for _ in range(200):
            retry.tick_once()
            now[0] += 0.25
            if retry.status != Status.RUNNING:
                break
        return retry

    child = Scripted("flaky", [Status.FAILURE] * 5 + [Status.SUCCESS])
    retry = run(child, seed=42)
    assert retry.status == Status.SUCCESS and retry.attempt == 6
    nominal = [1.0, 3.0, 5.0, 5.0, 5.0]
    assert all(0.9 * n <= d <= 1.1 * n for n, d in zip(nominal, retry.delays)), retry.delays
    assert len(set(round(d / n, 6) for n, d in zip(nominal, retry.delays))) > 1, "jitter must vary"
    # The child ran once per attempt, never while the decorator was backing off.
    assert child.updates == 6
    again = run(Scripted("always", [Status.FAILURE]), seed=42)
    assert again.status == Status.FAILURE and again.attempt == 6
    assert again.delays == retry.delays, "the same seed must give the same jitter"


# -- services ----------------------------------------------------------------------------------

def test_service_success(ros, sim):
    leaf = HealthCheck("health", service_name=sim.name("health_check"), response_key="/health")
    assert run_tree(ros, leaf, timeout=20) == Status.SUCCESS
    assert "lidar: ok" in leaf.response.message


def test_service_failure_records_the_message(ros, sim):
    ros.set_parameters(sim.node_name, {"health.unhealthy": ["camera"]})
    leaf = HealthCheck("health", service_name=sim.name("health_check"))
    assert run_tree(ros, leaf, timeout=20) == Status.FAILURE
    assert leaf.failure.reason == failures.RESPONSE and "camera: FAULT" in leaf.failure.message


def test_service_call_timeout(ros, sim):
    ros.set_parameters(sim.node_name, {"calibrate.response_delay": 20.0})
    leaf = Calibrate("calibrate", service_name=sim.name("calibrate"), call_timeout=0.5)
    assert run_tree(ros, leaf, timeout=20) == Status.FAILURE
    assert leaf.failure.reason == failures.TIMEOUT and "0.5 s" in leaf.failure.message


def test_service_absent(ros):
    leaf = ServiceClient("nothing", "std_srvs/srv/Trigger", "/nobody_here/health_check", server_timeout=0.3)
    assert run_tree(ros, leaf, timeout=10) == Status.FAILURE
    assert leaf.failure.message == "service /nobody_here/health_check not available after 0.3 s"


# -- composed by hand --------------------------------------------------------------------------

def test_hand_composed_inspection_tree(ros, sim):
    root = py_trees.composites.Sequence("inspection", memory=True, children=[
        HealthCheck("health", service_name=sim.name("health_check")),
        Calibrate("calibrate", service_name=sim.name("calibrate")),
        nav(sim, "approach", x=2.0, y=1.0, yaw=1.57),
        MoveArm("inspect pose", named_pose="inspect", action_name=sim.name("move_arm")),
        FollowTrajectory("scan", ["wrist_2_joint"], [(0.5, [1.0]), (1.0, [1.57])],
                         action_name=sim.name("follow_joint_trajectory")),
        MoveArm("stow", named_pose="stow", action_name=sim.name("move_arm")),
        nav(sim, "return", x=0.0, y=0.0),
    ])
    assert run_tree(ros, root, timeout=60) == Status.SUCCESS
    assert sim_status(ros, sim)["unfinished_goals"] == 0
