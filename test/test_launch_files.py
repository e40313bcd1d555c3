"""The launch files as a shell user types them, and the launch_testing suite (test/launch/).

Launch arguments are checked by executive/tools/launch_arguments.py, tested here without launch.
Where a ROS 2 workspace has launch, ros2launch and launch_testing (and this package in its ament
index: a colcon build), the launch files run for real under `ros2 launch` and `launch_test`;
elsewhere those tests are skipped, saying why.
"""
import os
import pathlib
import signal
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from executive.tools import launch_arguments as la
from harness import unique_name

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


# -- arguments as typed ---------------------------------------------------------------------------
PART = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


@given(parts=st.lists(PART, max_size=3), lead=st.booleans(), trail=st.booleans())
def test_every_ros_namespace_is_taken_as_typed(parts, lead, trail):
    text = ("/" if lead else "") + "/".join(parts) + ("/" if trail and parts else "")
    assert la.namespace("sim.launch.py", "namespace", text or "/") == "/".join(parts)


@pytest.mark.parametrize("text", ["''", '""', "1robot", "robot 1", "robot//1", "robot-1", "~", "{ns}"])
def test_a_value_that_is_no_namespace_is_refused_saying_how_to_write_the_root(text):
    with pytest.raises(la.LaunchArgumentError) as error:
        la.namespace("sim.launch.py", "namespace", text)
    assert f"sim.launch.py: namespace:={text!r}" in str(error.value)
    assert "or / for the root namespace" in str(error.value)


@pytest.mark.parametrize("text, value", [("1", 1), ("2", 2)])
def test_positive_integers(text, value):
    assert la.positive("f", "robots", text, int) == value


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "two", ""])
def test_not_a_positive_integer(text):
    with pytest.raises(la.LaunchArgumentError, match=r"f: robots:=.* must be a positive integer"):
        la.positive("f", "robots", text, int)


@pytest.mark.parametrize("text, value", [("true", True), ("False", False), ("1", True), ("no", False), (" yes ", True)])
def test_booleans(text, value):
    assert la.checked("f", "sim", text, la.boolean, "true or false") is value


def test_no_launch_file_asks_for_an_empty_value():
    """`ros2 launch` refuses `name:=` and a shell turns `name:=''` into it: no help text may ask for it."""
    for path in (ROOT / "launch").glob("*.launch.py"):
        text = path.read_text()
        assert ":=''" not in text and ':=""' not in text and "('' =" not in text, path


# -- for real, where a workspace has launch ---------------------------------------------------------
def _tool(name: str) -> pathlib.Path:
    tool = BIN / name
    if not tool.exists():
        pytest.skip(f"{name} is not installed (a ROS 2 workspace with launch, ros2launch, launch_testing)")
    try:
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory("mission_executive")
    except Exception:       # noqa: BLE001 - no ament index at all, or not this package in it
        pytest.skip("mission_executive is not in the ament index (build the workspace with colcon and source it)")
    return tool


def test_sim_launch_puts_one_robot_at_the_root_with_namespace_slash(ros):
    ros2 = _tool("ros2")
    launch = subprocess.Popen([str(ros2), "launch", "mission_executive", "sim.launch.py", "namespace:=/",
                               "time_scale:=4.0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        ros.spin_until(lambda: ("robot_sim", "/") in ros.node.get_node_names_and_namespaces(), 30.0,
                       "/robot_sim in the graph")
    finally:
        os.killpg(launch.pid, signal.SIGINT)
        output, _ = launch.communicate(timeout=30)
    assert launch.returncode == 0, output


def test_bad_launch_argument_stops_the_launch_with_one_message():
    ros2 = _tool("ros2")
    out = subprocess.run([str(ros2), "launch", "mission_executive", "sim.launch.py", "namespace:=''"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "sim.launch.py: namespace:=\"''\" must be a ROS namespace" in out.stdout + out.stderr, out.stdout + out.stderr


@pytest.mark.slow
def test_the_launch_testing_suite_passes(tmp_path):
    launch_test = _tool("launch_test")
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ["ROS_DOMAIN_ID"], PYTHONPATH=str(ROOT / "test"))
    out = subprocess.run([str(launch_test), str(ROOT / "test/launch/test_mission_launch.py"),
                          "--junit-xml", str(tmp_path / f"{unique_name('launch')}.xml")],
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
