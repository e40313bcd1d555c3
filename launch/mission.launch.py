"""The executive, optionally with simulated robots, optionally running a mission at once.

    ros2 launch mission_executive mission.launch.py mission:=patrol sim:=true
    ros2 launch mission_executive mission.launch.py                      # wait for ExecuteMission goals

Arguments: mission (name, path, or empty to only serve goals), parameters (comma-separated
name=value overrides for that mission), sim (start sim.launch.py first), robots (with sim; 0 = as
many as the mission's robot parameters need, i.e. 1, or 2 for multi_robot_patrol), time_scale
(with sim), tick_rate, goal_policy, log_dir, missions_dir. With a mission and
exit_when_done:=true the launch ends when the mission does.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, IncludeLaunchDescription, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

TWO_ROBOT_MISSIONS = ("multi_robot_patrol",)


def _true(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"mission.launch.py: expected true or false, got {text!r}")
    return text.lower() in ("true", "1", "yes")


def _actions(context):
    get = lambda name: LaunchConfiguration(name).perform(context)   # noqa: E731
    mission = get("mission")
    try:
        tick_rate = float(get("tick_rate"))
        robots = int(get("robots"))
    except ValueError as exc:
        raise ValueError(f"mission.launch.py: tick_rate must be a number and robots an integer ({exc})") from None
    if tick_rate <= 0 or robots < 0:
        raise ValueError("mission.launch.py: tick_rate must be positive and robots >= 0")
    actions = []
    if _true(get("sim")):
        if robots == 0:
            robots = 2 if os.path.splitext(os.path.basename(mission))[0] in TWO_ROBOT_MISSIONS else 1
        sim = os.path.join(get_package_share_directory("mission_executive"), "launch", "sim.launch.py")
        actions.append(IncludeLaunchDescription(
            PythonLaunchDescriptionSource(sim),
            launch_arguments={"robots": str(robots), "time_scale": get("time_scale")}.items()))
    overrides = [p.strip() for p in get("parameters").split(",") if p.strip()]
    parameters = {"tick_rate": tick_rate, "goal_policy": get("goal_policy"), "log_dir": get("log_dir"),
                  "missions_dir": get("missions_dir"), "mission": mission,
                  "exit_when_done": bool(mission) and _true(get("exit_when_done"))}
    if overrides:
        parameters["mission_parameters"] = overrides
    executive = Node(package="mission_executive", executable="mission-executive", name="mission_executive",
                     parameters=[parameters], output="screen")
    actions.append(executive)
    if mission and _true(get("exit_when_done")):
        actions.append(RegisterEventHandler(OnProcessExit(
            target_action=executive, on_exit=[EmitEvent(event=Shutdown(reason="mission finished"))])))
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("mission", default_value="", description="mission to run at start (name or path)"),
        DeclareLaunchArgument("parameters", default_value="", description="name=value,name=value overrides"),
        DeclareLaunchArgument("sim", default_value="false", description="start simulated robots"),
        DeclareLaunchArgument("robots", default_value="0", description="with sim: robots to start (0 = what the mission needs)"),
        DeclareLaunchArgument("time_scale", default_value="1.0", description="with sim: simulated seconds per second"),
        DeclareLaunchArgument("tick_rate", default_value="10.0", description="tree ticks per second"),
        DeclareLaunchArgument("goal_policy", default_value="reject", description="reject or preempt"),
        DeclareLaunchArgument("log_dir", default_value="", description="run logs (default ~/.ros/mission_logs)"),
        DeclareLaunchArgument("missions_dir", default_value="", description="more missions, searched first"),
        DeclareLaunchArgument("exit_when_done", default_value="false",
                              description="with a mission: end the launch when it ends"),
        OpaqueFunction(function=_actions),
    ])

