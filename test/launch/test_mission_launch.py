"""launch_testing: mission.launch.py with sim:=true starts the sim and the executive; missions
sent to it succeed and a cancelled one leaves no goal in flight (the scenarios of
test/scenarios.py, which test_executive.py also runs with our own process fixtures).

Run in a ROS 2 workspace: ``launch_test test/launch/test_mission_launch.py`` (or colcon test).
"""
import os
import pathlib
import sys
import tempfile
import unittest

import pytest

pytest.importorskip("launch_testing", reason="launch_testing is not installed (ROS 2 workspace only)")
pytest.importorskip("launch_ros", reason="launch_ros is not installed (ROS 2 workspace only)")

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from ament_index_python.packages import get_package_share_directory  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import scenarios  # noqa: E402
from harness import RosSession, SimByName  # noqa: E402

LOG_DIR = tempfile.mkdtemp(prefix="mission_launch_test_")


@pytest.mark.launch_test
def generate_test_description():
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    share = pathlib.Path(get_package_share_directory("mission_executive"))
    mission_launch = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(share / "launch" / "mission.launch.py")),
        launch_arguments={"sim": "true", "robots": "1", "time_scale": "4.0", "log_dir": LOG_DIR}.items())
    return launch.LaunchDescription([mission_launch, launch_testing.actions.ReadyToTest()])


class TestMissions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ros = RosSession()
        cls.sims = [SimByName("robot1")]

    @classmethod
    def tearDownClass(cls):
        cls.ros.close()

    def test_inspection_succeeds(self):
        scenarios.mission_succeeds(self.ros, self.sims, "inspection")

    def test_cancel_leaves_no_goal_in_flight(self):
        scenarios.cancel_leaves_no_goal_in_flight(self.ros, self.sims, "patrol", while_in="drive to")


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
