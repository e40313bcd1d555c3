"""Several simulated robots in one ``mission-sim`` process (``--robots N``, repeatable
``--namespace``): each robot has all its servers under its own namespace, its own state and its
own goal counts; bad counts and repeated namespaces are refused before anything starts."""
import json
import subprocess

import pytest
from std_srvs.srv import Trigger

from executive.tools.launcher import BIN, SimProcess
from harness import SIM_TIME_SCALE, unique_name


def status(ros, sim, robot):
    return json.loads(ros.call(Trigger, sim.name("sim_status", robot), Trigger.Request(), timeout=30).message)


def test_one_process_hosts_each_robot_under_its_namespace(ros):
    from mission_interfaces.action import NavigateToPose

    fleet = SimProcess(unique_name("fleet"), robots=3, time_scale=SIM_TIME_SCALE)
    try:
        assert fleet.namespaces[1:] == ["robot1", "robot2", "robot3"] and fleet.namespaces[0].startswith("fleet")
        for robot in fleet.namespaces:
            assert status(ros, fleet, robot)["unfinished_goals"] == 0
        goal = NavigateToPose.Goal()
        goal.pose.header.frame_id = "map"
        goal.pose.pose.position.x = 0.5
        goal.pose.pose.orientation.w = 1.0
        code, result = ros.send_goal(NavigateToPose, fleet.name("navigate_to_pose", "robot3"), goal).result(timeout=60)
        assert code == 4 and result.error_code == 0
        counts = {robot: status(ros, fleet, robot)["navigate_to_pose"] for robot in fleet.namespaces}
        assert counts["robot3"]["succeeded"] == 1
        assert all(counts[r].get("succeeded", 0) == 0 for r in fleet.namespaces if r != "robot3"), counts
    finally:
        assert fleet.stop() == 0, fleet.stderr()


@pytest.mark.parametrize("args, message", [
    (["--robots", "-1"], "--robots must be 0 or more"),
    (["--namespace", "a", "--namespace", "/a"], "a namespace is given twice"),
    (["--namespace", "robot1", "--robots", "2"], "a namespace is given twice"),
])
def test_bad_fleets_are_refused(args, message):
    done = subprocess.run([str(BIN / "mission-sim"), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
