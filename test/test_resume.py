"""Crash-safe missions (issue #24): an executive killed (SIGKILL) or shut down (SIGTERM) at a
hypothesis-chosen moment of a shipped mission, restarted, resumes the run from its last checkpoint.

Checked on every example: the mission ends succeeded; every action leaf's goal succeeded exactly
once over the two runs, but for the one interrupted leaf (at most twice); no goal is left on the
sim; every goal the sim saw is in one of the two run logs; the new run names the one it resumed.
Plus the refusals (a changed mission, a leaf not safe to repeat, a run resumed already), the
ExecuteMission goal's ``resume`` and its result's ``resumed_from``, and at most one automatic
resume per chain. Real processes over real DDS: a ``mission-executive`` and a ``mission-sim``.
"""
import json
import os
import pathlib
import signal
import socket
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import scenarios
from executive import runlog
from executive.tools.launcher import ExecutiveProcess
from harness import sim_status, start_sim, unique_name

RESULT = scenarios.RESULT
TIME_SCALE = 4.0
MISSIONS = pathlib.Path(__file__).resolve().parents[1] / "missions"
# Each shipped mission with its parameters, and about how long it runs here (wall seconds): kill
# points are drawn over that span and a little past it.
# At least 10 in CI (derandomised there); the explore profile (HYPOTHESIS_PROFILE=explore) runs more.
EXAMPLES = 100 if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else 10
SHIPPED = {"patrol": (["laps=1"], 5.5), "pick_and_place": ([], 7.0)}


@pytest.fixture(scope="module")
def robot(ros_session):
    process = start_sim(ros_session, unique_name("resume"), time_scale=TIME_SCALE)
    yield process
    assert process.stop() == 0, process.stderr()


def sim_goals(ros, robot) -> dict:
    """goal id -> state, over every action server of the sim."""
    status = sim_status(ros, robot)
    return {gid: state for server in status.values() if isinstance(server, dict) and "goals" in server
            for gid, state in server["goals"].items()}


def runs_in(log_dir) -> list:
    return runlog.run_dirs(log_dir)


def executive(log_dir, namespace, **params):
    return ExecutiveProcess({"log_dir": str(log_dir), **params}, namespace=namespace, timeout=60)


def wait_exit(process, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while process.proc.poll() is None:
        assert time.monotonic() < deadline, f"the executive did not exit:\n{process.stderr()}"
        time.sleep(0.05)
    return process.proc.returncode


def successes(events) -> Counter:
    return Counter(e["path"] for e in events if e.get("event") == "result" and e.get("status") == "SUCCEEDED")


# -- kill at any moment, resume -----------------------------------------------------------------
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(SHIPPED)), how=st.sampled_from([signal.SIGKILL, signal.SIGTERM]),
       share=st.floats(0.02, 1.0))
def test_killed_at_any_moment_then_resumed(ros_session, robot, tmp_path_factory, name, how, share):
    ros = ros_session
    overrides, span = SHIPPED[name]
    parameters = [f"robot={robot.namespace}", *overrides]
    log_dir = tmp_path_factory.mktemp("resume_logs")
    namespace = unique_name("crash")
    before = set(sim_goals(ros, robot))
    first = executive(log_dir, namespace, mission=name, mission_parameters=parameters)
    try:
        time.sleep(share * span)     # the moment hypothesis chose (not a wait for a condition)
        first.proc.send_signal(how)
        wait_exit(first, 60)
    finally:
        first.stop()
    ended = [e for run in runs_in(log_dir) for e in runlog.read(run) if e.get("event") == "run_finished"]
    second = None
    if not ended or ended[-1]["outcome"] != "succeeded":
        # Resumes the interrupted run; with no run yet (killed before it started), starts the mission.
        second = executive(log_dir, namespace, mission=name, mission_parameters=parameters,
                           resume_interrupted=True, exit_when_done=True)
        try:
            assert wait_exit(second) == 0, second.stderr()
        finally:
            second.stop()
    runs = runs_in(log_dir)
    events = [runlog.read(run) for run in runs]
    event(f"{name}, {signal.Signals(how).name}: {'resumed' if len(runs) == 2 else 'not resumed'}")
    assert events[-1][-1]["event"] == "run_finished" and events[-1][-1]["outcome"] == "succeeded", events[-1][-1]
    if len(runs) == 2:
        assert events[1][0]["resumed_from"] == runs[0].name
        assert events[0][-1] == {**events[0][-1], "event": "resumed_as", "run_id": runs[1].name}
    # Every action leaf's goal succeeded once over both runs; the interrupted one at most twice.
    done = successes([e for run in events for e in run])
    legs = {e["path"] for run in events for e in run if e.get("event") == "goal_sent"}
    assert legs and all(done[leg] >= 1 for leg in legs), (legs, done)
    assert sum(count - 1 for count in done.values()) <= 1, done
    # Nothing left on the robot; every goal it saw is in one of the logs.
    ros.spin_until(lambda: sim_status(ros, robot)["unfinished_goals"] == 0, 30, "the sim's goals to end")
    logged = {e["goal_id"] for run in events for e in run if e.get("event") == "goal_sent"}
    seen = set(sim_goals(ros, robot)) - before
    assert seen <= logged, f"goals on the sim that no log accounts for: {seen - logged}"


# -- through the action, and the refusals ------------------------------------------------------
MISSION = """name: {name}
tree:
  sequence:
    name: legs
    children:
      - navigate: {{name: leg one, pose: {{x: 1.0, y: 0.0}}}}
      - navigate: {{name: leg two, pose: {{x: 6.0, y: 0.0}}{extra}}}
      - navigate: {{name: leg three, pose: {{x: 0.0, y: 0.0}}}}
"""


def interrupted_run(ros, robot, log_dir, namespace, text: str):
    """Run ``text`` as a goal and SIGTERM the executive during leg two; the goal's result."""
    first = executive(log_dir, namespace)
    try:
        call = scenarios.send(ros, text, [], action=first.action_name)
        assert call.accepted(30)
        deadline = time.monotonic() + 60
        while not any(e.get("event") == "goal_sent" and e["path"].endswith("leg two")
                      for run in runs_in(log_dir) for e in runlog.read(run)):
            assert time.monotonic() < deadline, "leg two never started"
            time.sleep(0.05)
        first.proc.send_signal(signal.SIGTERM)
        _, result = call.result(60)
        assert wait_exit(first, 60) == 0, first.stderr()
    finally:
        first.stop()
    assert result.outcome_code == RESULT.OUTCOME_INTERRUPTED, scenarios.explain(result)
    return result


def wait_gone(ros, action_name: str, timeout: float = 30.0):
    """Until no server of ``action_name`` is left in the graph."""
    from rclpy.action import ActionClient

    from mission_interfaces.action import ExecuteMission

    client = ActionClient(ros.node, ExecuteMission, action_name)
    try:
        ros.spin_until(lambda: not client.server_is_ready(), timeout, f"{action_name} gone from the graph")
    finally:
        client.destroy()


def resume_goal(ros, process, reference: str = "latest", **goal):
    """Send a goal with ``resume`` to ``process`` and wait for its result. A client of its own: the
    session's clients are kept by action name, and one made for an earlier executive of the same
    name would send before this one's server is matched (the request would be lost)."""
    from rclpy.action import ActionClient

    from harness import GoalCall
    from mission_interfaces.action import ExecuteMission

    client = ActionClient(ros.node, ExecuteMission, process.action_name)
    try:
        ros.spin_until(client.server_is_ready, 30, f"action server {process.action_name}")
        call = GoalCall(ros, client, ExecuteMission.Goal(resume=reference, **goal))
        assert call.accepted(30), process.stderr()
        return call.result(120)[1]
    finally:
        client.destroy()


def test_a_goal_resumes_and_its_result_names_the_run(ros, robot, tmp_path):
    namespace = unique_name("goal_resume")
    text = MISSION.format(name="legs", extra="").replace("tree:", f"robot: {robot.namespace}\ntree:")
    first = interrupted_run(ros, robot, tmp_path, namespace, text)
    second = executive(tmp_path, namespace)
    try:
        result = resume_goal(ros, second, "latest")
        assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
        assert result.resumed_from == first.run_id and result.run_id != first.run_id
        events = runlog.read(tmp_path / result.run_id)
        # Leg one is not driven again; leg two (interrupted) is sent again, then leg three.
        sent = [e["path"] for e in events if e.get("event") == "goal_sent"]
        assert sent == ["legs/leg two", "legs/leg three"], sent
        from executive.tools.report import report
        assert f"resumes run {first.run_id}" in report(events)
        assert f"resumed as run {result.run_id}" in report(runlog.read(tmp_path / first.run_id))
        # Resumed already: a second resume of the same run is refused, with the reason.
        again = resume_goal(ros, second, first.run_id)
        assert again.outcome_code == RESULT.OUTCOME_INVALID and f"resumed already, as {result.run_id}" in again.message
        # A goal names run ids only, and no mission with them.
        for bad, goal in (("../etc", {}), (first.run_id, {"mission": "patrol"})):
            refused = resume_goal(ros, second, bad, **goal)
            assert refused.outcome_code == RESULT.OUTCOME_INVALID, scenarios.explain(refused)
    finally:
        assert second.stop() == 0, second.stderr()
    scenarios.no_goal_left(ros, [robot])


def test_a_changed_mission_is_refused_with_the_difference(ros, robot, tmp_path):
    namespace = unique_name("changed")
    missions = tmp_path / "missions"
    missions.mkdir()
    path = missions / "legs.yaml"
    path.write_text(MISSION.format(name="legs", extra="").replace("tree:", f"robot: {robot.namespace}\ntree:"))
    first = executive(tmp_path, namespace, missions_dir=str(missions))
    try:
        call = scenarios.send(ros, "legs", [], action=first.action_name)
        assert call.accepted(30)
        scenarios.wait_for_active(ros, call, "leg two")
        first.proc.send_signal(signal.SIGTERM)
        _, result = call.result(60)
        wait_exit(first, 60)
    finally:
        first.stop()
    path.write_text(path.read_text().replace("x: 6.0", "x: 5.0"))
    second = executive(tmp_path, namespace, missions_dir=str(missions))
    try:
        refused = resume_goal(ros, second, result.run_id)
        assert refused.outcome_code == RESULT.OUTCOME_INVALID
        line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "leg two" in text)
        assert str(path) in refused.message and f"changed since the run started, from line {line}" in refused.message
        assert "x: 6.0" in refused.message and "x: 5.0" in refused.message, refused.message
    finally:
        assert second.stop() == 0, second.stderr()


def test_a_leaf_not_safe_to_repeat_stops_the_resume(ros, robot, tmp_path):
    namespace = unique_name("unsafe")
    text = MISSION.format(name="legs", extra=", safe_to_repeat: false").replace(
        "tree:", f"robot: {robot.namespace}\ntree:")
    first = interrupted_run(ros, robot, tmp_path, namespace, text)
    second = executive(tmp_path, namespace)
    try:
        refused = resume_goal(ros, second, first.run_id)
        assert refused.outcome_code == RESULT.OUTCOME_INVALID
        assert "legs/leg two would run again" in refused.message and "safe_to_repeat: false" in refused.message
    finally:
        assert second.stop() == 0, second.stderr()


def test_an_unattended_executive_resumes_a_run_at_most_once(ros, robot, tmp_path):
    """resume_interrupted under a crash loop: the first restart resumes, the next does not."""
    namespace = unique_name("loop")
    text = MISSION.format(name="legs", extra="").replace("tree:", f"robot: {robot.namespace}\ntree:")
    interrupted_run(ros, robot, tmp_path, namespace, text)
    runs_before = runs_in(tmp_path)
    resumed = executive(tmp_path, namespace, resume_interrupted=True)
    try:
        deadline = time.monotonic() + 60
        while len(runs_in(tmp_path)) == len(runs_before):
            assert time.monotonic() < deadline, f"no resumed run:\n{resumed.stderr()}"
            time.sleep(0.05)
        resumed.proc.send_signal(signal.SIGKILL)       # the crash again
        wait_exit(resumed, 30)
        # Until DDS's lease drops the killed server, a new client would take its endpoints for the
        # next executive's and send before that one is matched (the request would be lost).
        wait_gone(ros, resumed.action_name)
    finally:
        resumed.stop()
    runs = runs_in(tmp_path)
    assert runlog.read(runs[-1])[0]["auto_resumed"] is True
    third = executive(tmp_path, namespace, resume_interrupted=True)
    try:
        deadline = time.monotonic() + 30
        while "not resuming it again" not in third.stderr():
            assert time.monotonic() < deadline, third.stderr()
            time.sleep(0.05)
        assert runs_in(tmp_path) == runs, "a run resumed at start was resumed again at start"
        result = resume_goal(ros, third, runs[-1].name)       # by hand it still resumes
        assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
        assert result.resumed_from == runs[-1].name
    finally:
        assert third.stop() == 0, third.stderr()
    scenarios.no_goal_left(ros, [robot])


# -- in this process: both ways the host ticks, and the sweep ----------------------------------
STEPS = """name: steps
tree:
  sequence:
    name: steps
    children:
      - set: {name: first, key: first, value: 1}
      - wait: {name: short, seconds: 0.2}
      - set: {name: second, key: second, value: 2}
      - wait: {name: long, seconds: 30.0}
      - set: {name: third, key: third, value: 3}
"""


def shown(run, path: str) -> str:
    return run.shown_status(next(b for b in run.behaviours if run.paths[b.id] == path))


@pytest.mark.parametrize("through_tree", [False, True], ids=["run.tick", "tree.tick"])
def test_the_host_ticks_a_resumed_tree_from_its_checkpoint(ros_session, tmp_path, through_tree):
    """Ticked as the run itself (py_trees alone) or through the executive's long-lived root (the
    py_trees_ros path, forced here with py_trees' own BehaviourTree): the restored tree goes on
    from its checkpoint; a root that reset its child on the first tick would redo every step."""
    import py_trees
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from executive import run as runs
    from executive import snapshots
    from executive.node import ExecutiveNode, spin_until

    mission = tmp_path / "steps.yaml"
    mission.write_text(STEPS)

    def host():
        node = ExecutiveNode("steps_host", serve=False, context=ros_session.context,
                             parameter_overrides=[Parameter("log_dir", value=str(tmp_path / "logs"))])
        if through_tree:        # as the node does when py_trees_ros is installed
            node._tree_visitors, node._observer = True, snapshots.RunObserver()
            node.tree.visitors.append(node._observer)
        executor = SingleThreadedExecutor(context=ros_session.context)
        executor.add_node(node)
        return node, executor

    node, executor = host()
    try:
        first = node.start(str(mission))
        assert spin_until(executor, lambda: shown(first, "steps/long") == "RUNNING", 30)
        node.halt("shutting down", runs.INTERRUPTED)
        assert spin_until(executor, lambda: first.done, 30) and first.result.outcome == runs.INTERRUPTED
    finally:
        executor.shutdown()
        node.destroy_node()
    node, executor = host()      # a new executive, as after a restart
    try:
        prepared = node.prepare_resume(first.run_id)
        assert not isinstance(prepared, runs.RunResult), prepared
        second = node.start("", loaded=prepared)
        assert spin_until(executor, lambda: shown(second, "steps/long") == "RUNNING", 30)
        events = runlog.read(second.log.path)
        started = [e["path"] for e in events if e["event"] == "status" and e["status"] == "RUNNING" and e["leaf"]]
        assert started == ["steps/long"], started      # first, short and second are not done again
        assert py_trees.blackboard.Blackboard.get("/second") == 2     # the blackboard as it was
        node.halt("done with the test")
        spin_until(executor, lambda: second.done, 30)
    finally:
        executor.shutdown()
        node.destroy_node()


def test_a_resumed_run_is_not_swept_again(tmp_path):
    """A run closed as interrupted and then resumed (``resumed_as`` after ``run_finished``) is
    finished for the orphan sweep: its goals are not cancelled again, no second run_finished."""
    from executive import recovery

    run = tmp_path / "20261130-000000_x_abcdef"
    run.mkdir()
    gone = {"host": socket.gethostname(), "boot_id": "an earlier boot", "pid": 1, "process_start": "0"}
    lines = [{"t": 0, "event": "run_started", "node": "/n", "process": gone},
             {"t": 1, "event": "run_finished", "outcome": "interrupted"},
             {"t": 2, "event": "resumed_as", "run_id": "next"}]
    (run / runlog.FILE_NAME).write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert recovery.unfinished_runs(tmp_path, "/n") == []
    lines = lines[:1]       # never finished, its process gone: swept
    (run / runlog.FILE_NAME).write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert recovery.unfinished_runs(tmp_path, "/n") == [str(run)]
