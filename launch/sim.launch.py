"""Simulated robots: one ``mission-sim`` process per robot, namespaced robot1..robotN.

    ros2 launch mission_executive sim.launch.py robots:=2 time_scale:=4.0 config:=/path/to/sim.yaml

With robots:=1 and namespace:=<ns> a single robot runs under that namespace instead
(namespace:='' puts its servers at the root, as a real robot without namespaces would).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def robot_namespaces(robots: int, namespace: str):
    if robots == 1 and namespace != "robot1":
        return [namespace]
    return [f"robot{i}" for i in range(1, robots + 1)]


def _sim_nodes(context):
    robots = int(LaunchConfiguration("robots").perform(context))
    namespace = LaunchConfiguration("namespace").perform(context).strip("/")
    config = LaunchConfiguration("config").perform(context)
    arguments = ["--time-scale", LaunchConfiguration("time_scale").perform(context)]
    if config:
        arguments += ["--config", config]
    return [
        Node(package="mission_executive", executable="mission-sim", name="robot_sim",
             namespace=ns or None, arguments=arguments, output="screen")
        for ns in robot_namespaces(robots, namespace)
    ]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robots", default_value="1", description="number of simulated robots"),
        DeclareLaunchArgument("namespace", default_value="robot1",
                              description="namespace of the robot when robots:=1"),
        DeclareLaunchArgument("time_scale", default_value="1.0", description="simulated seconds per wall second"),
        DeclareLaunchArgument("config", default_value="", description="sim configuration YAML (optional)"),
        OpaqueFunction(function=_sim_nodes),
    ])
