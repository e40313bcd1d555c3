"""The executive, optionally with simulated robots, optionally running a mission at once.

    ros2 launch mission_executive mission.launch.py mission:=patrol sim:=true
    ros2 launch mission_executive mission.launch.py                      # wait for ExecuteMission goals

Arguments: mission (name, path, or empty to only serve goals), parameters (comma-separated
name=value overrides for that mission), sim (start sim.launch.py first), robots (with sim; 0 = as
many as the mission's robot parameters need, i.e. 1, or 2 for multi_robot_patrol), time_scale
(with sim), tick_rate, goal_policy, log_dir, missions_dir, viewer and viewer_port (the browser
viewer on 127.0.0.1). With a mission and exit_when_done:=true the launch ends when the mission does.
For unattended robots, respawn:=true restarts the executive when it dies (after respawn_delay s) and
resume_interrupted:=true makes a started executive resume the run it was running when it died
(once per run: a crash loop does not resume forever); respawn and exit_when_done exclude each other.
groot2:=true (groot2_port) serves Groot2's monitoring protocol on 127.0.0.1.
Bad arguments stop the launch with one clear error before any process starts.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, IncludeLaunchDescription, OpaqueFunction,
                            RegisterEventHandler, SetEnvironmentVariable)
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from executive import dds
from executive.tools.launch_arguments import LaunchArgumentError, boolean, checked, positive

FILE = "mission.launch.py"
TWO_ROBOT_MISSIONS = ("multi_robot_patrol",)
# On shutdown launch sends SIGINT, then SIGTERM after sigterm_timeout, then SIGKILL after
# sigkill_timeout. The executive needs up to halt_timeout to cancel the mission's goals and wait for
# them, and then a moment to send the ExecuteMission result: both waits get that plus a margin
# (launch's default 5 s each would cut it short).
SHUTDOWN_MARGIN = 5.0


def _actions(context):
    get = lambda name: LaunchConfiguration(name).perform(context)   # noqa: E731
    mission = get("mission")
    tick_rate = positive(FILE, "tick_rate", get("tick_rate"))
    halt_timeout = checked(FILE, "halt_timeout", get("halt_timeout"), float, "a positive number of seconds",
                           lambda v: 0 < v < 3600)
    robots = checked(FILE, "robots", get("robots"), int, "an integer >= 0", lambda v: v >= 0)
    # The node checks goal_policy only when it is set at run time, not at start.
    goal_policy = checked(FILE, "goal_policy", get("goal_policy"), str, "reject or preempt",
                          lambda v: v in ("reject", "preempt"))
    sim = checked(FILE, "sim", get("sim"), boolean, "true or false")
    exit_when_done = checked(FILE, "exit_when_done", get("exit_when_done"), boolean, "true or false") and bool(mission)
    viewer = checked(FILE, "viewer", get("viewer"), boolean, "true or false")
    resume_interrupted = checked(FILE, "resume_interrupted", get("resume_interrupted"), boolean, "true or false")
    groot2 = checked(FILE, "groot2", get("groot2"), boolean, "true or false")
    groot2_port = checked(FILE, "groot2_port", get("groot2_port"), int, "a port number from 1 to 65534 (and the next)",
                          lambda v: 1 <= v <= 65534)
    respawn = checked(FILE, "respawn", get("respawn"), boolean, "true or false")
    respawn_delay = checked(FILE, "respawn_delay", get("respawn_delay"), float, "a number of seconds from 0 to 3600",
                            lambda v: 0 <= v <= 3600)
    respawn_max_retries = checked(FILE, "respawn_max_retries", get("respawn_max_retries"), int,
                                  "an integer >= -1 (-1: no limit)", lambda v: v >= -1)
    if respawn and exit_when_done:
        raise LaunchArgumentError(f"{FILE}: respawn:=true and exit_when_done:=true exclude each other (the first "
                                  "restarts the executive when it exits, the second ends the launch then)")
    viewer_port = checked(FILE, "viewer_port", get("viewer_port"), int, "a port number (0: any free one)",
                          lambda v: 0 <= v <= 65535)
    # The package's Fast DDS profile, as `mission run` gives its children (executive/dds): a 3 s
    # lease, and servers that wait for a just-discovered client instead of dropping its answer.
    actions = [SetEnvironmentVariable(name, value)
               for name, value in dds.profile_environment(context.environment).items()]
    if sim:
        if robots == 0:
            robots = 2 if os.path.splitext(os.path.basename(mission))[0] in TWO_ROBOT_MISSIONS else 1
        sim_launch = os.path.join(get_package_share_directory("mission_executive"), "launch", "sim.launch.py")
        actions.append(IncludeLaunchDescription(
            PythonLaunchDescriptionSource(sim_launch),
            launch_arguments={"robots": str(robots), "time_scale": get("time_scale")}.items()))
    overrides = [p.strip() for p in get("parameters").split(",") if p.strip()]
    parameters = {"tick_rate": tick_rate, "goal_policy": goal_policy, "log_dir": get("log_dir"), "halt_timeout": halt_timeout,
                  "missions_dir": get("missions_dir"), "mission": mission, "exit_when_done": exit_when_done,
                  "viewer": viewer, "viewer_port": viewer_port, "resume_interrupted": resume_interrupted,
                  "groot2": groot2, "groot2_port": groot2_port}
    if overrides:
        parameters["mission_parameters"] = overrides
    executive = Node(package="mission_executive", executable="mission-executive", name="mission_executive",
                     parameters=[parameters], output="screen", respawn=respawn, respawn_delay=respawn_delay,
                     # Only when limited: launch releases older than respawn_max_retries do not take it.
                     **({"respawn_max_retries": respawn_max_retries} if respawn_max_retries >= 0 else {}),
                     sigterm_timeout=str(halt_timeout + SHUTDOWN_MARGIN), sigkill_timeout=str(halt_timeout + SHUTDOWN_MARGIN))
    actions.append(executive)
    if exit_when_done:
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
        DeclareLaunchArgument("halt_timeout", default_value="10.0",
                              description="seconds a cancel or shutdown waits for the mission's goals to end"),
        DeclareLaunchArgument("log_dir", default_value="", description="run logs (default ~/.ros/mission_logs)"),
        DeclareLaunchArgument("missions_dir", default_value="", description="more missions, searched first"),
        DeclareLaunchArgument("exit_when_done", default_value="false",
                              description="with a mission: end the launch when it ends"),
        DeclareLaunchArgument("viewer", default_value="false", description="serve the browser viewer on 127.0.0.1"),
        DeclareLaunchArgument("groot2", default_value="false",
                              description="serve Groot2's monitoring protocol on 127.0.0.1 (ZeroMQ)"),
        DeclareLaunchArgument("groot2_port", default_value="1667",
                              description="with groot2: its port (and the next, for its publisher)"),
        DeclareLaunchArgument("resume_interrupted", default_value="false",
                              description="at start, resume the run an earlier executive left interrupted"),
        DeclareLaunchArgument("respawn", default_value="false", description="restart the executive when it dies"),
        DeclareLaunchArgument("respawn_delay", default_value="2.0", description="with respawn: seconds before"),
        DeclareLaunchArgument("respawn_max_retries", default_value="-1",
                              description="with respawn: restarts at most (-1: no limit; a mission that cannot "
                                          "load makes the executive exit 2 at each start)"),
        DeclareLaunchArgument("viewer_port", default_value="8765", description="the viewer's port (0: any free one)"),
        OpaqueFunction(function=_actions),
    ])
