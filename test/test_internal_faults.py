"""No exception escapes a callback, and no default means success (#16, items 1 and 2).

Each kind of callback the executive has is made to fail by an internal fault: our own code is
patched to raise, in an executive running in this process on the test's executor, never rclpy; an
exception escaping a callback would raise out of the test's spin. Each time the executive stays
up and answers the next goal; the fault is logged once with its traceback; a goal whose handling
failed ends with outcome ERROR; a running mission either goes on or ends ERROR, with its robot's
goals cancelled.
"""
import subprocess
import threading
import urllib.request

import pytest
from action_msgs.msg import GoalStatus
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger

import scenarios
from executive import loading, run as runs
from executive.node import ExecutiveNode, spin_once
from harness import sim_status, unique_name
from mission_interfaces.action import ExecuteMission

RESULT = ExecuteMission.Result
QUICK = "name: quick\ntree:\n  wait: {seconds: 0.2}\n"
SLOW = "name: slow\ntree:\n  wait: {seconds: 30}\n"


class Boom(RuntimeError):
    """The internal fault the tests inject."""


def boom(*args, **kwargs):
    raise Boom("injected fault")


class InProcess:
    """An ExecutiveNode in this process, on the test session's executor (py_trees' setup with a
    timeout needs the main thread): so an exception escaping any of its callbacks would raise out
    of the test's own spin, and fail the test."""

    def __init__(self, ros, tmp_path, **params):
        self.ros = ros
        namespace = unique_name("faults")
        overrides = [Parameter(k, value=v) for k, v in {"log_dir": str(tmp_path), **params}.items()]
        self.node = ExecutiveNode(namespace=f"/{namespace}", context=ros.context, parameter_overrides=overrides)
        self.action_name = f"/{namespace}/execute_mission"
        self.node_name = f"/{namespace}/mission_executive"
        ros.executor.add_node(self.node)

    def faults(self, words: str) -> list:
        """Tracebacks the executive logged that contain ``words``."""
        return [t for t in self.node._faults_logged if words in t]

    def close(self):
        self.ros.executor.remove_node(self.node)
        self.node.destroy_node()


@pytest.fixture
def executive(ros_session, tmp_path):
    made = []

    def make(**params):
        made.append(InProcess(ros_session, tmp_path, **params))
        return made[-1]
    yield make
    for e in made:
        e.close()


def send(ros, executive, mission, parameters=()):
    return scenarios.send(ros, mission, parameters, action=executive.action_name)


def answers(ros, executive):
    """The executive is up: it answers a goal."""
    status, result = send(ros, executive, QUICK).result(30)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)


def test_a_behaviour_whose_update_raises_ends_the_mission_with_error(ros_session, executive, monkeypatch):
    from behaviors.basics import Wait

    e = executive()
    monkeypatch.setattr(Wait, "update", boom)
    status, result = send(ros_session, e, QUICK).result(30)
    assert status == GoalStatus.STATUS_ABORTED and result.outcome_code == RESULT.OUTCOME_ERROR, scenarios.explain(result)
    assert "internal error" in result.message and result.run_id
    assert e.faults("injected fault")
    monkeypatch.undo()
    answers(ros_session, e)


def test_a_leaf_callback_that_raises_fails_the_leaf_and_cancels_its_goal(ros_session, executive, sim, monkeypatch):
    import behaviors.actions

    e = executive()
    monkeypatch.setattr(behaviors.actions, "to_data", boom)      # used by the feedback callback
    call = send(ros_session, e, "patrol", [f"robot={sim.namespace}", "laps=1"])
    status, result = call.result(60)
    assert result.outcome_code == RESULT.OUTCOME_ERROR, scenarios.explain(result)
    assert result.failure_reason == "internal_error" and "drive to north" in result.failed_behavior, result
    monkeypatch.undo()
    ros_session.spin_until(lambda: sim_status(ros_session, sim)["unfinished_goals"] == 0, 15, "the goal cancelled")
    answers(ros_session, e)


def test_a_listener_that_raises_leaves_the_mission_running(ros_session, executive):
    e = executive()
    e.node.listeners.append(boom)
    status, result = send(ros_session, e, QUICK).result(30)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    assert e.faults("injected fault")
    e.node.listeners.remove(boom)


def test_a_run_log_listener_that_raises_leaves_the_mission_running(ros_session, executive):
    e = executive()

    def attach(run):
        if boom not in run.log.listeners:
            run.log.listeners.append(boom)
    e.node.listeners.append(attach)
    status, result = send(ros_session, e, QUICK).result(30)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    assert e.faults("injected fault")


def test_a_callback_that_raises_is_logged_by_the_spin_loop(ros_session, executive):
    """The last line: whatever callback raises (here a timer of the node's), ``node.spin_once`` (what
    mission-executive's and mission run's loops spin with) logs it and the executive goes on."""
    e = executive()
    fired = []

    def once():
        if not fired:
            fired.append(True)
            boom()
    timer = e.node.create_timer(0.05, once)
    try:
        while not fired:
            spin_once(ros_session.executor, 0.1)
    finally:
        e.node.destroy_timer(timer)
    assert e.faults("injected fault")
    answers(ros_session, e)


def test_a_fault_while_loading_a_goal_answers_error(ros_session, executive, monkeypatch):
    e = executive()
    for target in ("check_goal", "resolve_goal", "finish"):    # the goal callback, the worker thread, the executor's part
        with monkeypatch.context() as m:
            m.setattr(loading, target, boom)
            status, result = send(ros_session, e, QUICK).result(30)
        assert result.outcome_code == RESULT.OUTCOME_ERROR, f"{target}: {scenarios.explain(result)}"
        assert "internal error" in result.message
    answers(ros_session, e)


def test_a_fault_while_starting_a_goal_answers_error(ros_session, executive, monkeypatch):
    e = executive()
    monkeypatch.setattr(e.node, "start", boom)
    status, result = send(ros_session, e, QUICK).result(30)
    assert result.outcome_code == RESULT.OUTCOME_ERROR and "internal error" in result.message, scenarios.explain(result)
    monkeypatch.undo()
    answers(ros_session, e)


def test_a_fault_in_the_cancel_callback_is_answered(ros_session, executive, monkeypatch):
    e = executive()
    call = send(ros_session, e, SLOW)
    assert call.accepted()
    ros_session.spin_until(lambda: e.node.busy, 10, "the mission running")
    monkeypatch.setattr(e.node, "halt", boom)
    response = call.cancel()        # answered (refused: the halt failed), and the goal stays cancellable
    assert not response.goals_canceling, response
    assert e.faults("injected fault") and e.node.busy
    monkeypatch.undo()
    assert call.cancel().goals_canceling
    status, result = call.result(30)
    assert result.outcome_code == RESULT.OUTCOME_CANCELED, scenarios.explain(result)
    answers(ros_session, e)


def test_a_fault_while_halting_still_stops_the_mission_and_its_goals(ros_session, executive, sim, monkeypatch):
    e = executive()
    call = send(ros_session, e, "patrol", [f"robot={sim.namespace}", "laps=1"])
    assert call.accepted()
    scenarios.wait_for_active(ros_session, call, "drive to")
    monkeypatch.setattr(runs.MissionRun, "halt", boom)
    assert call.cancel().goals_canceling
    status, result = call.result(30)
    assert result.outcome_code == RESULT.OUTCOME_ERROR and "internal error while halting" in result.message, \
        scenarios.explain(result)
    assert e.faults("injected fault")
    monkeypatch.undo()
    ros_session.spin_until(lambda: sim_status(ros_session, sim)["unfinished_goals"] == 0, 15, "the drive cancelled")
    answers(ros_session, e)


@pytest.mark.parametrize("service", ["pause", "resume"])
def test_a_fault_in_pause_or_resume_answers_unsuccessful(ros_session, executive, monkeypatch, service):
    e = executive()
    monkeypatch.setattr(e.node, service, boom)
    response = ros_session.call(Trigger, f"{e.node_name}/{service}", Trigger.Request())
    assert not response.success and "internal error" in response.message
    monkeypatch.undo()
    answers(ros_session, e)


def test_a_fault_in_the_parameter_callback_answers_unsuccessful(ros_session, executive, monkeypatch):
    from rclpy.parameter_client import AsyncParameterClient

    e = executive()
    monkeypatch.setattr(e.node, "_timer", object())     # setting its period raises AttributeError
    client = AsyncParameterClient(ros_session.node, e.node_name)
    ros_session.spin_until(client.services_are_ready, 10, "parameter services")
    result = ros_session.wait(client.set_parameters([Parameter("tick_rate", value=20.0)]), 10).results[0]
    assert not result.successful and "internal error" in result.reason
    monkeypatch.undo()
    answers(ros_session, e)


def test_a_fault_in_a_viewer_control_request_answers_500(ros_session, executive, monkeypatch):
    import json

    e = executive(viewer=True, viewer_port=0, viewer_allow_control=True)
    call = send(ros_session, e, SLOW)
    assert call.accepted()
    ros_session.spin_until(lambda: e.node.busy, 10, "the mission running")
    monkeypatch.setattr(e.node, "halt", boom)
    request = urllib.request.Request(f"{e.node.viewer.url.rstrip('/')}/api/cancel", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    answer = []

    def post():         # from another thread: the executor (this one) must spin to act on it
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as exc:
            answer.append((exc.code, exc.read()))
    thread = threading.Thread(target=post)
    thread.start()
    ros_session.spin_until(lambda: not thread.is_alive(), 40, "the viewer's answer")
    code, text = answer[0]
    assert code == 500
    body = json.loads(text)
    assert body["message"] == "internal error (logged by the executive)"      # nothing of the fault's text
    monkeypatch.undo()
    call.cancel()
    assert call.result(30)[1].outcome_code == RESULT.OUTCOME_CANCELED
    answers(ros_session, e)


# -- no default means success --------------------------------------------------------------------

def test_every_outcome_the_executive_sends_is_set_on_purpose():
    from executive.server import OUTCOMES, result_message

    named = {v for k, v in vars(runs).items() if k.isupper() and isinstance(v, str)
             and k in ("SUCCEEDED", "FAILED", "INVALID", "CANCELED", "UNREACHABLE", "ERROR", "INTERRUPTED")}
    assert set(OUTCOMES) == named
    for outcome in named:
        assert result_message(runs.RunResult(outcome)).outcome_code != RESULT.OUTCOME_UNSET
    assert RESULT().outcome_code == RESULT.OUTCOME_UNSET != RESULT.OUTCOME_SUCCEEDED


def test_an_empty_result_is_never_read_as_success():
    """Every reader of results: the scripting API, `mission send`'s exit code, the tests' helpers."""
    from executive.node import EXIT_CODES
    from executive.tools.api import MissionResult

    empty = RESULT()
    read = MissionResult.from_message(empty, GoalStatus.STATUS_SUCCEEDED)
    assert not read.succeeded and read.outcome == "unset" and "no known outcome" in read.message
    assert EXIT_CODES.get(read.outcome, EXIT_CODES[runs.ERROR]) != 0
    assert scenarios.OUTCOMES.get(empty.outcome_code) != "succeeded"
    assert not scenarios.explain(empty).startswith("succeeded")


def test_mission_send_never_reports_an_empty_result_as_success(ros_session):
    """A peer that succeeds every goal with an empty Result() (as rclpy sends when an execute
    callback raises): `mission send` says so and exits non-zero."""
    from rclpy.action import ActionServer

    from executive.tools.launcher import BIN

    def execute(handle):
        handle.succeed()
        return RESULT()
    name = f"/{unique_name('empty')}/execute_mission"
    server = ActionServer(ros_session.node, ExecuteMission, name, execute_callback=execute)
    try:
        process = subprocess.Popen([str(BIN / "mission"), "send", "anything", "--action", name],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ros_session.spin_until(lambda: process.poll() is not None, 60, "mission send to finish")
        out, err = process.communicate()
    finally:
        server.destroy()
    assert process.returncode == 4, (process.returncode, out, err)
    assert "mission unset" in out and "succeeded" not in out, out
