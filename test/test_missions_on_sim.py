"""Every shipped mission, compiled and ticked against simulated robots over real DDS."""
import importlib.util
import pathlib

import py_trees
import pytest
from py_trees.common import Status

from executive.language.compiler import compile_mission, seed_blackboard
from executive.language.resolve import resolve
from harness import SIM_TIME_SCALE, run_tree, sim_status, start_sim, unique_name

MISSIONS = pathlib.Path(__file__).resolve().parents[1] / "missions"


def run_mission(ros, name, params, timeout=90):
    py_trees.blackboard.Blackboard.clear()
    mission = resolve(MISSIONS / f"{name}.yaml", params)
    root = compile_mission(mission)
    seed_blackboard(mission)
    return root, run_tree(ros, root, timeout=timeout)


@pytest.mark.parametrize("name", ["inspection", "patrol", "pick_and_place"])
def test_single_robot_mission_succeeds(ros, sim, name):
    root, status = run_mission(ros, name, {"robot": sim.namespace})
    assert status == Status.SUCCESS, root.tip().feedback_message if root.tip() else root
    assert sim_status(ros, sim)["unfinished_goals"] == 0


def test_btcpp_xml_mission_succeeds(ros, sim, tmp_path):
    """missions/groot_patrol.xml (BT.CPP v4 as Groot2 writes it), its robot set to the sim's."""
    xml = tmp_path / "groot_patrol.xml"
    xml.write_text((MISSIONS / "groot_patrol.xml").read_text().replace('robot="robot1"', f'robot="{sim.namespace}"'))
    py_trees.blackboard.Blackboard.clear()
    mission = resolve(xml, {})
    root = compile_mission(mission)
    seed_blackboard(mission)
    status = run_tree(ros, root, timeout=120)
    assert status == Status.SUCCESS, root.tip().feedback_message if root.tip() else root
    assert py_trees.blackboard.Blackboard.get("/done") == "patrolled 6 legs"
    assert sim_status(ros, sim)["unfinished_goals"] == 0


def test_recovery_demo_recovers(ros, sim):
    before = sim_status(ros, sim)["navigate_to_pose"]
    root, status = run_mission(ros, "recovery_demo", {"robot": sim.namespace})
    assert status == Status.SUCCESS
    first = next(b for b in root.iterate() if b.name == "first attempt")
    assert first.failure.reason == "aborted" and "abort_probability" in first.failure.message
    second = next(b for b in root.iterate() if b.name == "second attempt")
    assert second.status == Status.SUCCESS and second.failure is None
    after = sim_status(ros, sim)["navigate_to_pose"]
    assert after["aborted"] == before.get("aborted", 0) + 1
    assert after["succeeded"] == before.get("succeeded", 0) + 1


def test_guarded_patrol_checks_health_in_the_background(ros, sim):
    """The reactive guard pattern: the health check is refreshed in the background while the route
    runs, and no goal is ever cancelled by it (issue 14: 869 goals sent and cancelled)."""
    before = sim_status(ros, sim)
    root, status = run_mission(ros, "guarded_patrol", {"robot": sim.namespace, "every": 0.2})
    assert status == Status.SUCCESS, root.tip().feedback_message if root.tip() else root
    after = sim_status(ros, sim)
    drives = {k: after["navigate_to_pose"].get(k, 0) - before["navigate_to_pose"].get(k, 0)
              for k in ("succeeded", "canceled", "aborted")}
    assert drives == {"succeeded": 3, "canceled": 0, "aborted": 0}
    assert after["services"]["health_check"] - before["services"].get("health_check", 0) >= 2
    record = py_trees.blackboard.Blackboard.get("/health")
    assert record["ok"] is True and record["response"].success and record["count"] >= 2


def test_guarded_patrol_stops_at_an_unhealthy_answer(ros):
    sick = start_sim(ros, unique_name("sick"), "--config", str(_unhealthy_config()), time_scale=SIM_TIME_SCALE)
    try:
        root, status = run_mission(ros, "guarded_patrol", {"robot": sick.namespace})
        assert status == Status.FAILURE
        healthy = next(b for b in root.iterate() if b.name == "healthy")
        assert healthy.failure.reason == "condition"
        assert healthy.failure.message.startswith("health.ok and health.response.success does not hold (health.ok is "
                                                  "false")
        assert sim_status(ros, sick)["navigate_to_pose"].get("succeeded", 0) == 0
    finally:
        assert sick.stop() == 0


def _unhealthy_config():
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / "sick.yaml"
    path.write_text("health: {unhealthy: [lidar]}\n")
    return path


def test_multi_robot_patrol_drives_both_robots(ros, sim):
    other = start_sim(ros, unique_name("second"), time_scale=SIM_TIME_SCALE)
    try:
        root, status = run_mission(ros, "multi_robot_patrol", {"first": sim.namespace, "second": other.namespace})
        assert status == Status.SUCCESS
        for robot in (sim, other):
            counts = sim_status(ros, robot)
            assert counts["navigate_to_pose"]["succeeded"] >= 3 and counts["unfinished_goals"] == 0
    finally:
        assert other.stop() == 0


@pytest.fixture(scope="module")
def nav2_sim(ros_session):
    process = start_sim(ros_session, unique_name("nav2"), "--nav2", time_scale=SIM_TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


@pytest.mark.skipif(importlib.util.find_spec("nav2_msgs") is None,
                    reason="nav2_msgs is not installed (not on PyPI; README: Checking it against the simulator)")
def test_nav2_delivery_drives_nav2s_servers(ros, nav2_sim):
    root, status = run_mission(ros, "nav2_delivery", {"robot": nav2_sim.namespace}, timeout=180)
    assert status == Status.SUCCESS, root.tip().feedback_message if root.tip() else root
    counts = sim_status(ros, nav2_sim)
    for server in ("compute_path_to_pose", "smooth_path", "follow_path", "spin", "backup", "navigate_through_poses",
                   "dock_robot"):
        assert counts[server]["succeeded"] == 1, (server, counts[server])
    assert counts["unfinished_goals"] == 0 and "navigate_to_pose" not in {
        s for s, c in counts.items() if isinstance(c, dict) and c.get("accepted")}


def _config(name, text):
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / f"{name}.yaml"
    path.write_text(text)
    return path


def test_battery_return_docks_when_the_battery_runs_low(ros):
    """The sim's battery drains while driving (0.05 of the charge a metre here): three laps of
    8.6 m need 1.3, so the guard fails during the second lap, the lap's goal is cancelled, and the
    fallback drives to the dock."""
    robot = start_sim(ros, unique_name("battery"), "--config",
                      str(_config("drain", "battery: {drain_per_metre: 0.05}\n")), time_scale=SIM_TIME_SCALE)
    try:
        py_trees.blackboard.Blackboard.clear()
        root, status = run_mission(ros, "battery_return", {"robot": robot.namespace, "laps": 3, "low": 0.3},
                                   timeout=120)
        by_name = {b.name: b for b in root.iterate()}
        assert status == Status.SUCCESS, root.tip().feedback_message if root.tip() else root
        assert by_name["charged"].failure.reason == "condition"
        assert "battery.data.percentage" in by_name["charged"].failure.message
        assert by_name["laps"].status == Status.INVALID          # halted by the guard
        assert by_name["drive to dock"].status == Status.SUCCESS
        after = sim_status(ros, robot)
        assert after["navigate_to_pose"]["canceled"] == 1       # the lap's goal, stopped by the guard
        assert 0.0 < after["battery"]["percentage"] < 0.3 + 0.05 * 0.5
        record = py_trees.blackboard.Blackboard.get("/battery")
        assert record["fresh"] is True and record["data"].percentage < 0.3
    finally:
        assert robot.stop() == 0


@pytest.mark.parametrize("knob, value, reason", [
    ("battery_state.stop_publishing", True, "battery.fresh is false"),
    ("battery_state.drop", 0.9, "battery.data.percentage is 0.0"),
])
def test_battery_return_docks_when_the_battery_drops_or_goes_silent(ros, knob, value, reason):
    """The sim's battery fault knobs: a silent battery (stale data) is as bad as a low one."""
    robot = start_sim(ros, unique_name("battery"), time_scale=SIM_TIME_SCALE)
    try:
        faulted = []

        def fault_once_driving():
            driving = any(b.name.startswith("navigate to") and b.status == Status.RUNNING for b in root_ref[0].iterate())
            if driving and not faulted:
                ros.set_parameters(robot.node_name, {knob: value})
                faulted.append(True)
            return False
        root_ref = []
        py_trees.blackboard.Blackboard.clear()
        mission = resolve(MISSIONS / "battery_return.yaml", {"robot": robot.namespace, "laps": 3, "low": 0.3})
        root_ref.append(compile_mission(mission))
        seed_blackboard(mission)
        status = run_tree(ros, root_ref[0], timeout=120, until=fault_once_driving)
        by_name = {b.name: b for b in root_ref[0].iterate()}
        assert faulted and status == Status.SUCCESS
        assert by_name["drive to dock"].status == Status.SUCCESS
        assert by_name["charged"].failure.reason == "condition"
        assert reason in by_name["charged"].failure.message, by_name["charged"].failure.message
        assert sim_status(ros, robot)["navigate_to_pose"]["canceled"] == 1
    finally:
        assert robot.stop() == 0
