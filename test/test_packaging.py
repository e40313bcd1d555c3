"""The package as users install it: idempotent setup, and colcon building both ROS packages."""
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV = pathlib.Path(sys.prefix)


def test_setup_is_idempotent():
    """`make test` has just run setup: running it again installs and builds nothing."""
    out = subprocess.run(["bash", str(ROOT / "scripts/setup.sh")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("[setup] ready") and all(line.endswith("up to date") for line in lines[:-1]), out.stdout
    assert {p.name for p in (VENV / ".stamps").iterdir()} == {"pip", "interfaces", "package", "pip-dev"}


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
