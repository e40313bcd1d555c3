"""py_trees_ros's tree watcher against the executive, where py_trees_ros is installed (a ROS 2
workspace; skipped elsewhere): it shows the executive's tree while no mission runs, too (the tree
ticks only during a mission; executive/snapshots.py publishes the streams while idle)."""
import os
import signal
import subprocess
import sys

import pytest

from executive.tools.launcher import BIN, ExecutiveProcess, Lines
from harness import unique_name

pytest.importorskip("py_trees_ros", reason="py_trees_ros is not installed (a ROS 2 workspace)")
WATCHER = BIN / "py-trees-tree-watcher"


@pytest.fixture(scope="module")
def executive(ros_session, tmp_path_factory):
    process = ExecutiveProcess({"log_dir": str(tmp_path_factory.mktemp("watcher_runs"))},
                               namespace=unique_name("watched"))
    yield process
    assert process.stop() == 0, process.stderr()


def test_the_watcher_sees_the_idle_executive(executive):
    assert WATCHER.exists(), f"py_trees_ros is importable but {WATCHER} is missing"
    watcher = subprocess.Popen([sys.executable, str(WATCHER), "-n", f"/{executive.namespace}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        # Raises TimeoutError when the watcher shows no tree.
        Lines(watcher.stdout, "py-trees-tree-watcher").until("{-} mission_executive", 30.0, anywhere=True)
    finally:
        os.killpg(watcher.pid, signal.SIGINT)
        watcher.wait(10)
