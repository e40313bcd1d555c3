"""The package as users install it: idempotent setup, and colcon building both ROS packages."""
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import metadata

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV = pathlib.Path(sys.prefix)


def venv_distro() -> str:
    """The ROS 2 distribution of the venv running the tests: ``ros-jazzy-*`` wheels or Kilted's."""
    try:
        metadata.version("ros-jazzy-rclpy")
        return "jazzy"
    except metadata.PackageNotFoundError:
        return "kilted"


def test_setup_is_idempotent():
    """`make test` has just run setup for this venv's distribution: running it again installs and
    builds nothing."""
    distro = venv_distro()
    out = subprocess.run(["bash", str(ROOT / "scripts/setup.sh")], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, ROS_DISTRO=distro))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith(f"[setup] ready for test on ROS 2 {distro} in {VENV.name}"), out.stdout
    assert all(line.endswith("up to date") or "no python3.10" in line for line in lines[:-1]), out.stdout
    stamps = {p.name for p in (VENV / ".stamps").iterdir()}
    assert {"pip", "interfaces", "package", "pip-dev", "example-interfaces", "example-plugin"} <= stamps <= \
        {"pip", "interfaces", "package", "pip-dev", "py310", "example-interfaces", "example-plugin"}


def test_setup_refuses_a_distribution_it_cannot_install():
    out = subprocess.run(["bash", str(ROOT / "scripts/setup.sh")], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, ROS_DISTRO="humble"))
    assert out.returncode == 2 and "ROS_DISTRO=humble" in out.stderr and "colcon workspace" in out.stderr, out.stderr
    assert out.stdout == ""


def test_package_manifests_name_the_layout():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "mission_executive"
    assert root.find("export/build_type").text == "ament_python"
    iface = ET.parse(ROOT / "interfaces/package.xml").getroot()
    assert iface.findtext("name") == "mission_interfaces"
    assert iface.find("export/build_type").text == "ament_cmake"
    assert iface.findtext("member_of_group") == "rosidl_interface_packages"


@pytest.mark.slow
def test_colcon_builds_both_packages(tmp_path):
    """The README's workspace recipe, with colcon from PyPI, in a scratch workspace."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "mission_executive").symlink_to(ROOT)
    env = dict(os.environ, AMENT_PREFIX_PATH=str(VENV), CMAKE_PREFIX_PATH=str(VENV),
               PATH=f"{VENV / 'bin'}:{os.environ['PATH']}")
    build = subprocess.run(
        [str(VENV / "bin/colcon"), "build", "--base-paths", "src", "src/mission_executive/interfaces",
         "--cmake-args", "-DBUILD_TESTING=OFF", "-DPython3_EXECUTABLE=" + sys.executable],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "2 packages finished" in build.stdout, build.stdout
    install = tmp_path / "install"
    share = install / "mission_executive/share"
    assert (share / "ament_index/resource_index/packages/mission_executive").exists()
    assert (share / "mission_executive/package.xml").exists()
    assert (share / "mission_executive/launch/sim.launch.py").exists()
    assert (install / "mission_executive/lib/mission_executive/mission-sim").exists()  # for `ros2 run`
    generated = list((install / "mission_interfaces").rglob("_navigate_to_pose.py"))
    assert generated, "rosidl generated no Python for NavigateToPose"
    # The built interfaces import from the install space, not from the venv's copy.
    site = generated[0].parent.parent.parent
    lib = install / "mission_interfaces/lib"
    code = "import mission_interfaces.action as a; a.MoveArm.Goal(named_pose='home'); print(a.__file__)"
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env=dict(env, PYTHONPATH=str(site), LD_LIBRARY_PATH=str(lib)))
    assert probe.returncode == 0, probe.stderr
    assert str(tmp_path) in probe.stdout
    # The README's next step: `. install/setup.bash` (colcon-bash) puts both packages on the paths.
    sourced = subprocess.run(["bash", "-c", ". install/setup.bash && echo \"$AMENT_PREFIX_PATH\" && "
                              f"{sys.executable} -c 'import mission_interfaces.action as a; print(a.__file__)'"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert sourced.returncode == 0, sourced.stderr
    prefixes, module = sourced.stdout.splitlines()
    assert {str(install / "mission_executive"), str(install / "mission_interfaces")} <= set(prefixes.split(":"))
    assert module.startswith(str(install)), module


def _console_scripts():
    return sorted(e.name for e in metadata.distribution("mission_executive").entry_points if e.group == "console_scripts")


def test_the_package_has_its_executables():
    assert {"mission", "mission-sim", "mission-executive", "executive"} <= set(_console_scripts())


@pytest.mark.parametrize("script", _console_scripts())
def test_every_executable_answers_help_without_starting_a_node(script):
    """`--help` prints a usage and exits 0 at once (as `ros2 run mission_executive <script> --help`
    does, which passes the argument on): no node is made, so nothing is printed READY, and an
    executable that started spinning would not exit before the timeout."""
    out = subprocess.run([str(VENV / "bin" / script), "--help"], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage:") and "READY" not in out.stdout, out.stdout


def _mission_commands():
    import argparse

    from executive.tools.cli import build_parser
    return sorted(next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices)


@pytest.mark.parametrize("command", _mission_commands())
def test_every_mission_command_answers_help(command):
    out = subprocess.run([str(VENV / "bin/mission"), command, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith(f"usage: mission {command}"), out.stdout + out.stderr
