"""Session-wide isolation: a ROS domain of our own, localhost discovery, UDP transport.

The domain id is claimed with a lock file, so concurrent test sessions on one machine never share
a DDS bus. The shared-memory transport is off because some tests kill processes on purpose, and a
killed Fast DDS process leaves its segments in /dev/shm (ROS_WHEELS.md, item 10).
"""
import fcntl
import os

import pytest


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
os.environ["FASTDDS_BUILTIN_TRANSPORTS"] = "UDPv4"
os.environ.pop("ROS_LOCALHOST_ONLY", None)


@pytest.fixture(scope="session")
def ros():
    from harness import RosSession

    session = RosSession()
    yield session
    session.close()
