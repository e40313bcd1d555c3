"""Across hosts: the executive in one network namespace, two simulated robots in another, joined
by a veth pair this module creates (and removes). DDS runs over UDP only between them, as between
machines (shared memory would bypass the link).

A multi-robot mission succeeds across the link; cutting the link mid-mission fails it within its
timeouts, naming the lost server; once the link is back the same mission succeeds again.
Skipped, with the reason, where network namespaces cannot be made (not root, no iproute2).
"""
import os
import shutil
import subprocess
import time

import pytest

from executive.tools.launcher import BIN, ExecutiveProcess, Lines, SimProcess

TIME_SCALE = 2.0


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def _why_not() -> str:
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "creating network namespaces needs iproute2's ip"
    probe = f"mxprobe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "-")


class Hosts:
    """Two network namespaces, ``executive`` and ``robots``, with one veth between them."""

    def __init__(self):
        tag = os.getpid() % 100000
        self.executive, self.robots = f"mxe{tag}", f"mxr{tag}"
        self.link = {self.executive: f"mxe{tag}v", self.robots: f"mxr{tag}v"}
        net = f"10.{200 + tag % 50}.{tag % 250}"
        self.address = {self.executive: f"{net}.1", self.robots: f"{net}.2"}
        for ns in (self.executive, self.robots):
            _ip("netns", "add", ns)
        _ip("link", "add", self.link[self.executive], "netns", self.executive, "type", "veth",
            "peer", "name", self.link[self.robots], "netns", self.robots)
        for ns in (self.executive, self.robots):
            _ip("-n", ns, "addr", "add", f"{self.address[ns]}/24", "dev", self.link[ns])
            _ip("-n", ns, "link", "set", "lo", "up")
            self.connect(ns)

    def connect(self, ns):
        """Bring ``ns``'s end of the link up, with a route for DDS's discovery multicast."""
        _ip("-n", ns, "link", "set", self.link[ns], "up")
        _ip("-n", ns, "route", "replace", "224.0.0.0/4", "dev", self.link[ns])

    def cut(self):
        """Pull the robots' end of the cable (the executive's side keeps its addresses)."""
        _ip("-n", self.robots, "link", "set", self.link[self.robots], "down")

    def env(self, ns) -> dict:
        env = dict(os.environ)
        env.update(ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET", FASTDDS_BUILTIN_TRANSPORTS="UDPv4",
                   ROS_STATIC_PEERS=self.address[self.robots if ns == self.executive else self.executive])
        return env

    def wrapper(self, ns) -> list:
        return ["ip", "netns", "exec", ns]

    def remove(self):
        for ns in (self.executive, self.robots):
            _ip("netns", "del", ns, check=False)


@pytest.fixture(scope="module")
def hosts():
    made = Hosts()
    yield made
    made.remove()


@pytest.fixture(scope="module")
def robots(hosts):
    sims = [SimProcess(name, time_scale=TIME_SCALE, env=hosts.env(hosts.robots), wrapper=hosts.wrapper(hosts.robots))
            for name in ("site_r1", "site_r2")]
    yield sims
    for sim in sims:
        sim.stop()


@pytest.fixture(scope="module")
def executive(hosts, robots, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("two_host_runs")
    process = ExecutiveProcess({"log_dir": str(log_dir)}, env=hosts.env(hosts.executive),
                               wrapper=hosts.wrapper(hosts.executive))
    yield process
    assert process.stop() == 0, process.stderr()


MISSION = """name: two_sites
tree:
  parallel:
    name: both robots
    children:
      - sequence:
          name: first
          robot: site_r1
          children:
            - health_check: {name: check r1, server_timeout: 40.0}
            - navigate: {name: r1 out, pose: {x: 3.0, y: 0.0}, server_timeout: 40.0}
            - navigate: {name: r1 back, pose: {x: 0.0, y: 0.0}, server_timeout: 40.0}
      - sequence:
          name: second
          robot: site_r2
          children:
            - health_check: {name: check r2, server_timeout: 40.0}
            - navigate: {name: r2 out, pose: {x: 0.0, y: 3.0}, server_timeout: 40.0}
            - navigate: {name: r2 back, pose: {x: 0.0, y: 0.0}, server_timeout: 40.0}
"""


def send(hosts, tmp_path):
    """``mission send`` of MISSION, from the executive's host."""
    path = tmp_path / "two_sites.yaml"
    path.write_text(MISSION)
    return subprocess.Popen([*hosts.wrapper(hosts.executive), str(BIN / "mission"), "send", "--text", str(path),
                             "--wait", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=hosts.env(hosts.executive))


def test_mission_across_hosts_and_a_cut_link(hosts, robots, executive, tmp_path):
    # 1. Across the link, the two-robot mission succeeds.
    proc = send(hosts, tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "mission succeeded" in out

    # 2. The link is cut while both robots drive: the mission fails within the lease (3 s) plus
    #    the leaves' 0.5 s check, naming the server that disappeared.
    proc = send(hosts, tmp_path)
    lines = Lines(proc.stdout, "mission send")
    lines.until(" out", 60, anywhere=True)          # a robot is driving
    hosts.cut()
    cut_at = time.monotonic()
    failed = lines.until("mission failed", 60)
    noticed = time.monotonic() - cut_at
    assert proc.wait(30) == 1, proc.stderr.read()
    assert "disappeared" in failed and ("/site_r1/" in failed or "/site_r2/" in failed), failed
    assert noticed < 15, f"the cut was reported only after {noticed:.1f} s"

    # 3. The link comes back: the robots are found again and the mission succeeds.
    hosts.connect(hosts.robots)
    proc = send(hosts, tmp_path)
    out, err = proc.communicate(timeout=150)
    assert proc.returncode == 0, out + err
    assert all(sim.proc.poll() is None for sim in robots) and executive.proc.poll() is None
