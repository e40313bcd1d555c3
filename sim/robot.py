"""Simulated robots: every server of a robot under its namespace; one robot per process, or a
fleet in one process (one node per robot, one executor).

    mission-sim [--namespace robot1 ...] [--robots N] [--config FILE] [--time-scale K] [--nav2]
                [--ros2-control] [--ros-args ...]

``--robots N`` hosts robot1..robotN; ``--namespace`` may be given more than once (a robot each);
neither: one robot without a namespace. A fleet in one process is far lighter than a process per
robot (one DDS participant, one Python), which is what lets 50 robots run on a small machine.

Servers (relative names, so they live under the namespace): navigate_to_pose, follow_joint_trajectory,
move_arm (actions); health_check, calibrate, sim_status (services); odom, joint_states,
battery_state (topics; the battery drains while the base drives: sim/battery.py).
``--nav2``: Nav2's servers instead of our navigate_to_pose, every one nav2_simple_commander's
BasicNavigator calls, on stand-ins of Nav2's nodes (sim/nav2/). ``--ros2-control``: control_msgs'
FollowJointTrajectory at joint_trajectory_controller/follow_joint_trajectory as well. Both need
their upstream packages (not on PyPI); without them the sim exits 2 naming the missing package.
``sim_status`` (std_srvs/Trigger) answers a JSON object with, per server, the goals it holds that
have not reached a terminal state ("pending" + "active") and counts of what happened to its goals.
Prints ``READY <namespace> ...`` (every robot's) on stdout once every server of every robot exists.
SIGINT or SIGTERM at any moment ends it cleanly (exit 0; see sim/process.py). A second sim of the
same robot (node name and namespace) on the same domain is refused: exit 2 naming the robot and the
other process.
"""
import argparse
import json
import os
import socket
import sys
import time
import warnings

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from std_srvs.srv import Trigger

from sim.arm import make_arm_servers
from sim.battery import Battery
from sim.clock import SimClock
from sim.config import ConfigError, load_config
from sim.faults import Faults
from sim.navigation import MobileBase, NavigationServer
from sim.process import StopRequest, other_sim, refusal, spin_until_stopped
from sim.services import SimServices
from sim.upstream import UpstreamMissing, require

NODE_NAME = "robot_sim"


class SimRobot:
    def __init__(self, node: Node, config: dict, time_scale: float = 1.0, nav2: bool = False, control_type=None):
        """``nav2``: Nav2's servers (sim/nav2/, needs nav2_msgs) instead of our navigate_to_pose;
        ``control_type``: control_msgs' FollowJointTrajectory to serve too (None: ours only)."""
        self.node = node
        self.clock = SimClock(node, time_scale)
        fault_config = config.get("faults") or {}

        def faults_for(server, kind="action"):
            return Faults(node, server, kind, fault_config.get(server) or {}, int(config["seed"]),
                          defaults={"result_timeout": float(config["result_timeout"])})

        self.base = MobileBase(node, config["navigation"])
        self.nav2 = None
        if nav2:
            from sim.nav2 import Nav2Stack
            self.nav2 = Nav2Stack(node, config, self.base, self.clock, faults_for)
            base_servers = self.nav2.action_servers
        else:
            base_servers = [NavigationServer(node, self.base, self.clock, faults_for("navigate_to_pose"))]
        self.navigation = base_servers[0]
        arm_servers, self._joint_states = make_arm_servers(node, config["arm"], self.clock, faults_for, control_type)
        self.actions = [*base_servers, *arm_servers]
        self.battery = Battery(node, config["battery"], self.base, faults_for("battery_state", "topic"))
        self.timers = [self.base._odom_timer, self._joint_states, self.battery.timer]   # what publishes its state
        self.services = SimServices(node, config, self.clock, faults_for)
        self.process = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}

    def serve_status(self) -> None:
        """Serve ``sim_status`` (after the check for another sim of this robot: see sim/process.py)."""
        self.node.create_service(Trigger, "sim_status", self._status, callback_group=self.clock.group)

    def status(self) -> dict:
        report = {server.name: server.status() for server in self.actions}
        report["unfinished_goals"] = sum(s["pending"] + s["active"] for s in report.values())
        report["services"] = self.services.status()
        report["battery"] = self.battery.status()
        if self.nav2 is not None:
            report["nav2"] = self.nav2.status()
        report["process"] = self.process
        return report

    def _status(self, request, response):
        response.success = True
        response.message = json.dumps(self.status())
        return response


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="mission-sim", description="Run simulated robots.")
    parser.add_argument("--namespace", "-n", action="append", default=[],
                        help="robot namespace, e.g. robot1 (default: none); repeat it for several robots")
    parser.add_argument("--robots", "-r", type=int, default=0, metavar="N",
                        help="host robot1..robotN in this process (with --namespace: those as well)")
    parser.add_argument("--config", "-c", help="YAML file merged over the default configuration")
    parser.add_argument("--time-scale", "-t", type=float, default=1.0,
                        help="simulated seconds per wall second (default 1)")
    parser.add_argument("--nav2", action="store_true",
                        help="serve Nav2's actions and services (navigate_to_pose, follow_waypoints, "
                             "compute_path_to_pose, spin, dock_robot, ...: all that BasicNavigator calls) on "
                             "stand-ins of Nav2's lifecycle nodes (needs nav2_msgs)")
    parser.add_argument("--ros2-control", action="store_true",
                        help="also serve control_msgs/action/FollowJointTrajectory at "
                             "joint_trajectory_controller/follow_joint_trajectory (needs control_msgs)")
    return parser.parse_args(argv)


def namespaces_of(args) -> list:
    """The robots' namespaces, in order; [''] for one robot without a namespace. ValueError on
    a count below 0 or a namespace given twice."""
    if args.robots < 0:
        raise ValueError("--robots must be 0 or more")
    names = [n.strip("/") for n in args.namespace] + [f"robot{i}" for i in range(1, args.robots + 1)]
    if len(set(names)) != len(names):
        raise ValueError(f"a namespace is given twice: {', '.join(names)}")
    return names or [""]


def share_timers(host, robots):
    """One timer per period for the whole fleet in place of each robot's own (odom, joint_states).
    Every timer that fires makes the executor rebuild its wait set over all the fleet's entities
    (~7 ms for 50 robots); 50 robots' own timers at 20 Hz would keep a core busy doing only that."""
    by_period = {}
    for robot in robots:
        for timer in robot.timers:
            by_period.setdefault(timer.timer_period_ns, []).append(timer.callback)
            robot.node.destroy_timer(timer)
        robot.timers = []
    for period_ns, callbacks in by_period.items():
        def publish_all(callbacks=callbacks):
            for callback in callbacks:
                callback()
        host.create_timer(period_ns / 1e9, publish_all)


def main(argv=None, stop: StopRequest = None):
    stop = stop or StopRequest()
    args_in = sys.argv[1:] if argv is None else argv
    ours = rclpy.utilities.remove_ros_args(["mission-sim", *args_in])[1:]
    args = parse_args(ours)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for error in exc.errors:
            print(f"mission-sim: {error}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mission-sim: {exc}", file=sys.stderr)
        return 2
    from rclpy.validate_namespace import validate_namespace

    for namespace in args.namespace:
        try:
            validate_namespace("/" + namespace.strip("/"))
        except Exception as exc:    # rclpy's InvalidNamespaceException: say so, no traceback
            print(f"mission-sim: --namespace {namespace!r}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
    if args.time_scale <= 0:
        print("mission-sim: --time-scale must be positive", file=sys.stderr)
        return 2
    try:
        if args.nav2:
            require("nav2_msgs", "action", "NavigateToPose")
        control_type = require("control_msgs", "action", "FollowJointTrajectory") if args.ros2_control else None
    except UpstreamMissing as exc:
        print(f"mission-sim: {exc}", file=sys.stderr)
        return 2
    try:
        namespaces = namespaces_of(args)
    except ValueError as exc:
        print(f"mission-sim: {exc}", file=sys.stderr)
        return 2
    participant_since = time.monotonic()
    rclpy.init(args=["mission-sim", *args_in], signal_handler_options=SignalHandlerOptions.NO)
    nodes, robots = [], []      # every node of this process (robots' and Nav2 stand-ins); the robots

    def close():
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    try:
        for namespace in namespaces:
            node = Node(NODE_NAME, namespace=namespace or None)
            nodes.append(node)
            robots.append(SimRobot(node, config, args.time_scale, args.nav2, control_type))
            if robots[-1].nav2 is not None:
                nodes.extend(robots[-1].nav2.nodes.values())
    except (ConfigError, KeyError, ValueError) as exc:
        print(f"mission-sim: bad configuration: {exc}", file=sys.stderr)
        close()
        return 2
    for robot in robots:
        other = other_sim(robot.node, participant_since, stop=stop)
        if other is not None:
            print(f"mission-sim: {refusal(robot.node.get_namespace(), other)}", file=sys.stderr)
            close()
            return 2
    for robot in robots:
        robot.serve_status()
    if len(robots) > 1:
        share_timers(robots[0].node, robots)
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    print("READY " + " ".join(robot.node.get_namespace() for robot in robots), flush=True)
    try:
        spin_until_stopped(executor, robots[0].node, stop)
    finally:
        # A goal accepted in the moment the stop came is dropped unstarted (its client sees the server
        # leave); its execute coroutine, never awaited, is not an error of this exit.
        warnings.filterwarnings("ignore", message=r"coroutine '.*_execute_goal' was never awaited",
                                category=RuntimeWarning)
        for task, *_ in list(getattr(executor, "_tasks", ())):     # rclpy keeps them there (7 and 9)
            if not task.done():
                task.cancel()       # closes a coroutine that never started
        executor.shutdown()
        close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
