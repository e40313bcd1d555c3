"""``make demo`` until missions run: start a simulated robot and drive each of its servers once."""
import json
import math
import os
import sys
import time

import rclpy
from action_msgs.msg import GoalStatus
from builtin_interfaces.msg import Duration
from rclpy.action import ActionClient
from rclpy.node import Node
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectoryPoint

from executive import paths
from executive.launcher import SimProcess
from mission_interfaces.action import FollowJointTrajectory, MoveArm, NavigateToPose

STATUS = {v: k[len("STATUS_"):] for k, v in vars(GoalStatus).items() if k.startswith("STATUS_")}
TIMEOUT = 30.0


def wait(node, future, what):
    rclpy.spin_until_future_complete(node, future, timeout_sec=TIMEOUT)
    if not future.done():
        raise TimeoutError(f"{what}: no answer within {TIMEOUT:g} s")
    return future.result()


def run_action(node, action_type, name, goal, describe):
    client = ActionClient(node, action_type, name)
    if not client.wait_for_server(timeout_sec=TIMEOUT):
        raise TimeoutError(f"action server {name} not available within {TIMEOUT:g} s")
    feedback = []
    started = time.monotonic()
    handle = wait(node, client.send_goal_async(goal, feedback_callback=lambda m: feedback.append(m.feedback)), name)
    if not handle.accepted:
        print(f"  {name}: REJECTED")
        return
    response = wait(node, handle.get_result_async(), name)
    print(f"  {name}: {STATUS[response.status]} in {time.monotonic() - started:.2f} s, "
          f"{len(feedback)} feedback messages; {describe(response.result, feedback)}")


def call(node, srv_type, name, request):
    client = node.create_client(srv_type, name)
    if not client.wait_for_service(timeout_sec=TIMEOUT):
        raise TimeoutError(f"service {name} not available within {TIMEOUT:g} s")
    response = wait(node, client.call_async(request), name)
    print(f"  {name}: success={response.success} message={response.message!r}")


def main():
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(paths.fastdds_profile()))
    print("starting simulated robot 'demo' (time scale 4) ...")
    sim = SimProcess("demo", time_scale=4.0)
    rclpy.init()
    node = Node("demo_client")
    try:
        nav = NavigateToPose.Goal()
        nav.pose.header.frame_id = "map"
        nav.pose.pose.position.x, nav.pose.pose.position.y = 2.0, 1.0
        nav.pose.pose.orientation.z, nav.pose.pose.orientation.w = math.sin(0.5), math.cos(0.5)
        run_action(node, NavigateToPose, sim.name("navigate_to_pose"), nav,
                   lambda r, fb: f"distance remaining {fb[0].distance_remaining:.2f} -> "
                                 f"{fb[-1].distance_remaining:.2f} m" if fb else "no feedback")
        traj = FollowJointTrajectory.Goal()
        traj.trajectory.joint_names = ["shoulder_pan_joint", "elbow_joint"]
        traj.trajectory.points = [JointTrajectoryPoint(positions=[0.5, 0.8], time_from_start=Duration(sec=1)),
                                  JointTrajectoryPoint(positions=[0.0, 1.2], time_from_start=Duration(sec=2))]
        run_action(node, FollowJointTrajectory, sim.name("follow_joint_trajectory"), traj,
                   lambda r, fb: f"error_code {r.error_code}")
        run_action(node, MoveArm, sim.name("move_arm"), MoveArm.Goal(named_pose="inspect", velocity_scaling=0.8),
                   lambda r, fb: "final " + ", ".join(f"{p:.2f}" for p in r.final_positions))
        call(node, Trigger, sim.name("health_check"), Trigger.Request())
        call(node, SetBool, sim.name("calibrate"), SetBool.Request(data=True))
        status = wait(node, node.create_client(Trigger, sim.name("sim_status")).call_async(Trigger.Request()),
                      "sim_status")
        print(f"  sim_status: unfinished goals = {json.loads(status.message)['unfinished_goals']}")
        return 0
    except TimeoutError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
