"""Simulated robots: one ``mission-sim`` process per robot, namespaced robot1..robotN.

    ros2 launch mission_executive sim.launch.py robots:=2 time_scale:=4.0 config:=/path/to/sim.yaml

With robots:=1 and namespace:=<ns> a single robot runs under that namespace instead
(namespace:=/ puts its servers at the root, as a real robot without namespaces would).
With robots:=2 or more, namespace is ignored (a message says so when it is set).
Bad arguments (robots not a positive integer, time_scale not a positive number, a namespace
that is not one, a config file that does not exist) stop the launch with one clear error before
any process starts. The sims get the package's Fast DDS profile (executive/dds).
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from executive import dds
from executive.tools.launch_arguments import LaunchArgumentError, namespace as checked_namespace, positive

FILE = "sim.launch.py"
DEFAULT_NAMESPACE = "robot1"


def robot_namespaces(robots: int, namespace: str):
    if robots == 1:
        return [namespace]
    return [f"robot{i}" for i in range(1, robots + 1)]


def _sim_nodes(context):
    robots = positive(FILE, "robots", LaunchConfiguration("robots").perform(context), int)
    time_scale = LaunchConfiguration("time_scale").perform(context)
    positive(FILE, "time_scale", time_scale)
    namespace = checked_namespace(FILE, "namespace", LaunchConfiguration("namespace").perform(context))
    config = LaunchConfiguration("config").perform(context)
    if config and not os.path.isfile(config):
        raise LaunchArgumentError(f"{FILE}: config:={config!r} is not a file")
    arguments = ["--time-scale", time_scale]
    if config:
        arguments += ["--config", config]
    actions = [SetEnvironmentVariable(name, value)
               for name, value in dds.profile_environment(context.environment).items()]
    if robots > 1 and namespace != DEFAULT_NAMESPACE:
        actions.append(LogInfo(msg=f"sim.launch.py: namespace:={namespace!r} is ignored with robots:={robots}"
                                   f" (the robots are robot1..robot{robots})"))
    actions += [
        Node(package="mission_executive", executable="mission-sim", name="robot_sim",
             namespace=ns or None, arguments=arguments, output="screen")
        for ns in robot_namespaces(robots, namespace)
    ]
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robots", default_value="1", description="number of simulated robots (>= 1)"),
        DeclareLaunchArgument("namespace", default_value=DEFAULT_NAMESPACE,
                              description="namespace of the robot when robots:=1 (/ = the root namespace)"),
        DeclareLaunchArgument("time_scale", default_value="1.0",
                              description="simulated seconds per wall second (> 0)"),
        DeclareLaunchArgument("config", default_value="", description="sim configuration YAML (optional)"),
        OpaqueFunction(function=_sim_nodes),
    ])
