"""One simulated robot: every server of one robot in one process, under one namespace.

    mission-sim [--namespace robot1] [--config FILE] [--time-scale K] [--nav2] [--ros2-control] [--ros-args ...]

Servers (relative names, so they live under the namespace): navigate_to_pose, follow_joint_trajectory,
move_arm (actions); health_check, calibrate, sim_status (services); odom, joint_states (topics).
``--nav2``: navigate_to_pose is nav2_msgs' NavigateToPose, and Nav2's bt_navigator and amcl are
stood in for (sim/nav2.py). ``--ros2-control``: control_msgs' FollowJointTrajectory at
joint_trajectory_controller/follow_joint_trajectory as well. Both need their upstream packages
(not on PyPI); without them the sim exits 2 naming the missing package.
``sim_status`` (std_srvs/Trigger) answers a JSON object with, per server, the goals it holds that
have not reached a terminal state ("pending" + "active") and counts of what happened to its goals.
Prints ``READY <namespace>`` on stdout once every server exists. SIGINT or SIGTERM at any moment
ends it cleanly (exit 0; see sim/process.py). A second sim of the same robot (node name and
namespace) on the same domain is refused: exit 2 naming the robot and the other process.
"""
import argparse
import json
import os
import socket
import sys
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from std_srvs.srv import Trigger

from sim.arm import make_arm_servers
from sim.clock import SimClock
from sim.config import ConfigError, load_config
from sim.faults import Faults
from sim.navigation import NavigationServer
from sim.process import StopRequest, other_sim, refusal, spin_until_stopped
from sim.services import SimServices
from sim.upstream import UpstreamMissing, require

NODE_NAME = "robot_sim"


class SimRobot:
    def __init__(self, node: Node, config: dict, time_scale: float = 1.0, nav_type=None, control_type=None):
        """``nav_type``/``control_type``: nav2_msgs' NavigateToPose / control_msgs' FollowJointTrajectory
        to serve (None: ours only)."""
        self.node = node
        self.clock = SimClock(node, time_scale)
        fault_config = config.get("faults") or {}

        def faults_for(server, kind="action"):
            return Faults(node, server, kind, fault_config.get(server) or {}, int(config["seed"]),
                          defaults={"result_timeout": float(config["result_timeout"])})

        nav_kwargs = {"action_type": nav_type} if nav_type is not None else {}
        self.navigation = NavigationServer(node, config["navigation"], self.clock, faults_for("navigate_to_pose"),
                                           **nav_kwargs)
        arm_servers, self._joint_states = make_arm_servers(node, config["arm"], self.clock, faults_for, control_type)
        self.actions = [self.navigation, *arm_servers]
        self.services = SimServices(node, config, self.clock, faults_for)
        self.process = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}

    def serve_status(self) -> None:
        """Serve ``sim_status`` (after the check for another sim of this robot: see sim/process.py)."""
        self.node.create_service(Trigger, "sim_status", self._status, callback_group=self.clock.group)

    def status(self) -> dict:
        report = {server.name: server.status() for server in self.actions}
        report["unfinished_goals"] = sum(s["pending"] + s["active"] for s in report.values())
        report["services"] = self.services.status()
        report["process"] = self.process
        return report

    def _status(self, request, response):
        response.success = True
        response.message = json.dumps(self.status())
        return response


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="mission-sim", description="Run one simulated robot.")
    parser.add_argument("--namespace", "-n", default="", help="robot namespace, e.g. robot1 (default: none)")
    parser.add_argument("--config", "-c", help="YAML file merged over the default configuration")
    parser.add_argument("--time-scale", "-t", type=float, default=1.0,
                        help="simulated seconds per wall second (default 1)")
    parser.add_argument("--nav2", action="store_true",
                        help="serve nav2_msgs/action/NavigateToPose on navigate_to_pose and answer "
                             "BasicNavigator.waitUntilNav2Active() (needs nav2_msgs)")
    parser.add_argument("--ros2-control", action="store_true",
                        help="also serve control_msgs/action/FollowJointTrajectory at "
                             "joint_trajectory_controller/follow_joint_trajectory (needs control_msgs)")
    return parser.parse_args(argv)


def main(argv=None, stop: StopRequest = None):
    stop = stop or StopRequest()
    args_in = sys.argv[1:] if argv is None else argv
    ours = rclpy.utilities.remove_ros_args(["mission-sim", *args_in])[1:]
    args = parse_args(ours)
    try:
        config = load_config(args.config)
    except (OSError, ConfigError) as exc:
        print(f"mission-sim: {exc}", file=sys.stderr)
        return 2
    if args.time_scale <= 0:
        print("mission-sim: --time-scale must be positive", file=sys.stderr)
        return 2
    try:
        nav_type = require("nav2_msgs", "action", "NavigateToPose") if args.nav2 else None
        control_type = require("control_msgs", "action", "FollowJointTrajectory") if args.ros2_control else None
    except UpstreamMissing as exc:
        print(f"mission-sim: {exc}", file=sys.stderr)
        return 2
    participant_since = time.monotonic()
    rclpy.init(args=["mission-sim", *args_in], signal_handler_options=SignalHandlerOptions.NO)
    node = Node(NODE_NAME, namespace=args.namespace or None)
    extra_nodes = []
    try:
        robot = SimRobot(node, config, args.time_scale, nav_type, control_type)
        if args.nav2:
            from sim.nav2 import make_nav2_nodes
            # Their own nodes, named as Nav2's; global arguments (remaps meant for robot_sim) kept off.
            extra_nodes = make_nav2_nodes(node.get_namespace(), robot.navigation, use_global_arguments=False)
    except (ConfigError, KeyError, ValueError) as exc:
        print(f"mission-sim: bad configuration: {exc}", file=sys.stderr)
        node.destroy_node()
        rclpy.try_shutdown()
        return 2
    other = other_sim(node, participant_since, stop=stop)
    if other is not None:
        print(f"mission-sim: {refusal(node.get_namespace(), other)}", file=sys.stderr)
        for extra in extra_nodes:
            extra.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown()
        return 2
    robot.serve_status()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    for extra in extra_nodes:
        executor.add_node(extra)
    print(f"READY {node.get_namespace()}", flush=True)
    try:
        spin_until_stopped(executor, node, stop)
    finally:
        executor.shutdown()
        for extra in extra_nodes:
            extra.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
