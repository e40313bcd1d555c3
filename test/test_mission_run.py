"""``mission run`` as a user runs it: a process that starts simulated robots, runs the mission with a
live view, and exits with a code that says how it went; Ctrl-C cancels cleanly."""
import collections
import os
import pathlib
import queue
import signal
import subprocess
import threading
import time

import pytest

from executive import runlog
from executive.tools.launcher import BIN

BROKEN = pathlib.Path(__file__).resolve().parent / "broken"


def mission_run(*args, timeout=120):
    return subprocess.run([str(BIN / "mission"), "run", *args], capture_output=True, text=True, timeout=timeout)


def sim_pids() -> set:
    """Processes running mission-sim that belong to this test session (same ROS_DOMAIN_ID)."""
    pids = set()
    for proc in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"mission-sim") for part in cmdline) and \
                f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}".encode() in environ:
            pids.add(int(proc.name))
    return pids


def only_run_dir(log_dir) -> pathlib.Path:
    runs = list(pathlib.Path(log_dir).iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def test_run_with_sim_succeeds_and_logs(tmp_path):
    done = mission_run("inspection", "--sim", "--time-scale", "8", "--log-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mission inspection succeeded" in done.stdout
    assert "SUCCESS  inspection/return to dock" in done.stdout       # the live view, one line per change
    events = runlog.read(only_run_dir(tmp_path))
    assert events[-1]["event"] == "run_finished" and events[-1]["outcome"] == "succeeded"


def test_run_two_robots(tmp_path):
    done = mission_run("multi_robot_patrol", "--sim", "--robots", "2", "--time-scale", "8", "--log-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "robot1 ready" in done.stderr and "robot2 ready" in done.stderr


def test_run_invalid_mission_exits_2_before_starting_anything(tmp_path):
    broken = next(BROKEN.glob("*.yaml"))
    done = mission_run(str(broken), "--sim", "--log-dir", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(broken) in done.stderr and "ready" not in done.stderr
    assert not list(tmp_path.iterdir())


def test_run_unreachable_server_exits_3(tmp_path):
    done = mission_run("inspection", "-p", f"robot=nobody{os.getpid()}", "--log-dir", str(tmp_path))
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"/nobody{os.getpid()}/health_check not available after 5 s" in done.stdout


def test_run_fault_exits_1(tmp_path):
    config = tmp_path / "faults.yaml"
    config.write_text("health:\n  unhealthy: [lidar]\n")
    done = mission_run("inspection", "--sim", "--sim-config", str(config), "--log-dir", str(tmp_path / "logs"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "inspection/check health" in done.stdout and "lidar" in done.stdout


def test_run_bad_sim_config_exits_2(tmp_path):
    config = tmp_path / "faults.yaml"
    config.write_text("health_check:\n  unhealthy: [lidar]\n")
    done = mission_run("inspection", "--sim", "--sim-config", str(config), "--log-dir", str(tmp_path / "logs"))
    assert done.returncode == 2 and "unknown setting health_check" in done.stderr, done.stdout + done.stderr


def patrol_driving(log_dir) -> subprocess.Popen:
    """``mission run patrol --sim``, once its robot drives."""
    proc = subprocess.Popen([str(BIN / "mission"), "run", "patrol", "--sim", "--log-dir", str(log_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 60
    seen = []
    try:
        while not any("RUNNING  patrol/" in line and "drive to" in line for line in seen):
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
    except queue.Empty:
        proc.kill()
        pytest.fail(f"the mission never started driving: {''.join(seen)} {proc.stderr.read()}")
    return proc


def test_ctrl_c_cancels_goals_stops_sims_and_closes_the_log(tmp_path):
    before = sim_pids()
    proc = patrol_driving(tmp_path)
    assert sim_pids() - before, "no simulated robot is running"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130, proc.stderr.read()
    assert not sim_pids() - before, "a simulated robot outlived mission run"
    events = runlog.read(only_run_dir(tmp_path))
    names = [e["event"] for e in events]
    assert "halting" in names and events[-1]["event"] == "run_finished" and events[-1]["outcome"] == "interrupted"
    halted = next(e for e in events if e["event"] == "halted")
    assert halted["goals_in_flight"] == 0
    assert any(e["event"] == "result" and e["status"] == "CANCELED" for e in events)


def test_sigkill_of_mission_run_takes_its_sims_with_it(tmp_path):
    """No orphans: a ``mission run --sim`` killed outright (no chance to stop anything) leaves no
    simulated robot behind; they get the parent-death signal and exit."""
    before = sim_pids()
    proc = patrol_driving(tmp_path)
    ours = sim_pids() - before
    assert ours, "no simulated robot is running"
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while sim_pids() & ours:
        assert time.monotonic() < deadline, f"simulated robots {sim_pids() & ours} outlived a SIGKILLed mission run"
        time.sleep(0.1)


def test_ctrl_c_then_mission_resume_goes_on_from_the_checkpoint(tmp_path):
    """Ctrl-C of ``mission run`` leaves the run interrupted; ``mission resume --sim`` continues it:
    the legs finished before are not driven again, and a second resume finds nothing to resume."""
    proc = patrol_driving(tmp_path)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130, proc.stderr.read()
    first = only_run_dir(tmp_path)
    before = [e["path"] for e in runlog.read(first) if e["event"] == "result" and e["status"] == "SUCCEEDED"]
    done = subprocess.run([str(BIN / "mission"), "resume", "--sim", "--time-scale", "8", "--log-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"resuming run {first.name}" in done.stdout and "mission patrol succeeded" in done.stdout
    second = next(p for p in pathlib.Path(tmp_path).iterdir() if p != first)
    events = runlog.read(second)
    assert events[0]["resumed_from"] == first.name
    # Two laps: every leg succeeded twice over both runs (the dock once), but the interrupted one.
    done = collections.Counter(before + [e["path"] for e in events if e["event"] == "result"
                                         and e["status"] == "SUCCEEDED"])
    expected = {path: 1 if "return to dock" in path else 2 for path in done}
    assert all(done[p] >= expected[p] for p in done) and sum(done[p] - expected[p] for p in done) <= 1, done
    assert runlog.read(first)[-1] == {**runlog.read(first)[-1], "event": "resumed_as", "run_id": second.name}
    nothing = subprocess.run([str(BIN / "mission"), "resume", "--log-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert nothing.returncode == 2 and "no interrupted run" in nothing.stderr, nothing.stderr
