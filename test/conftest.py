"""Session-wide isolation: a ROS domain of our own and localhost discovery.

The domain id is claimed with a lock file, so concurrent test sessions on one machine never share
a DDS bus. Some tests kill processes on purpose, and a killed Fast DDS process leaves its shared
memory in /dev/shm (ROS_WHEELS.md, item 10); with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
rmw_fastrtps always uses shared memory (FASTDDS_BUILTIN_TRANSPORTS and XML transports are ignored,
checked), so the session removes, at its end, the files it left that no process still uses.
"""
import fcntl
import os
import pathlib

import pytest
from hypothesis import settings

from executive import dds

# CI explores the same examples every run (no luck involved); developers' runs explore new ones.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))


def _claim_domain_id():
    for domain in range(1 + os.getpid() % 100, 1 + os.getpid() % 100 + 101):
        domain = 1 + (domain - 1) % 101
        handle = open(f"/tmp/mission_executive_ros_domain_{domain}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return domain, handle  # the handle keeps the lock for the whole session
    raise RuntimeError("every ROS domain id 1..101 is taken by another test session")


_DOMAIN, _DOMAIN_LOCK = _claim_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(_DOMAIN)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
# The package's Fast DDS profile under both Fast DDS 2.x's and 3.x's names, whatever the shell had:
# a 3 s participant lease, so that a killed server leaves the graph in seconds, not 20 s.
dds.use_profile(replace=True)
os.environ.pop("ROS_LOCALHOST_ONLY", None)


SHM = pathlib.Path("/dev/shm")


def _fastdds_files():
    return {p.name for p in SHM.glob("*fastdds*")} if SHM.is_dir() else set()


def _files_in_use():
    """Names of /dev/shm files another process has open or mapped. Our own are not counted: this
    process is about to exit, and Fast DDS does not release its segment on exit."""
    used = set()
    for proc in pathlib.Path("/proc").glob("[0-9]*"):
        if proc.name == str(os.getpid()):
            continue
        try:
            used.update(line.rsplit("/", 1)[-1] for line in (proc / "maps").read_text().splitlines()
                        if "/dev/shm/" in line)
            used.update(os.readlink(fd).rsplit("/", 1)[-1] for fd in (proc / "fd").iterdir()
                        if os.readlink(fd).startswith("/dev/shm/"))
        except OSError:
            continue
    return used


@pytest.fixture(scope="session", autouse=True)
def clean_shared_memory():
    """Remove the Fast DDS shared memory this session's killed processes left behind."""
    before = _fastdds_files()
    yield
    in_use = _files_in_use()
    for name in _fastdds_files() - before - in_use:
        (SHM / name).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def ros_session():
    from harness import RosSession

    session = RosSession()
    yield session
    session.close()


@pytest.fixture
def ros(ros_session):
    """The session's rclpy node; trees a test set up on it are stopped and shut down after it."""
    yield ros_session
    ros_session.shutdown_trees()


@pytest.fixture(scope="module")
def sim(ros_session):
    """One simulated robot per test module, at SIM_TIME_SCALE."""
    from harness import SIM_TIME_SCALE, start_sim, unique_name

    process = start_sim(ros_session, unique_name("sim"), time_scale=SIM_TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.fixture(autouse=True)
def settle_sim(request):
    """After each test that used the module's sim: no goal left unfinished on it, and every
    fault knob back to its default."""
    yield
    if "sim" not in request.fixturenames:
        return
    from harness import sim_status
    from sim.faults import knobs_off

    ros, sim = request.getfixturevalue("ros_session"), request.getfixturevalue("sim")
    if sim.proc.poll() is not None:
        return
    status = {}

    def settled():
        status.update(sim_status(ros, sim))
        return status["unfinished_goals"] == 0 and status["services"]["in_flight"] == 0

    ros.spin_until(settled, 10.0, "no unfinished goals on the sim")
    defaults = {"health.unhealthy": [""], "calibration.failure_probability": 0.0, **knobs_off()}
    ros.set_parameters(sim.node_name, defaults)
