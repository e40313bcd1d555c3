"""End-to-end scenarios against a running executive and simulated robots, over DDS. The pytest
suite (test_executive.py, processes started by our own fixtures) and the launch_testing suite
(test/launch/, processes started by ros2 launch) both run these, so they check the same things.
"""
import json
import pathlib

from action_msgs.msg import GoalStatus

from executive import runlog
from harness import sim_status
from mission_interfaces.action import ExecuteMission

RESULT = ExecuteMission.Result
OUTCOMES = {RESULT.OUTCOME_SUCCEEDED: "succeeded", RESULT.OUTCOME_FAILED: "failed", RESULT.OUTCOME_INVALID: "invalid",
            RESULT.OUTCOME_CANCELED: "canceled", RESULT.OUTCOME_UNREACHABLE: "unreachable",
            RESULT.OUTCOME_ERROR: "error", RESULT.OUTCOME_INTERRUPTED: "interrupted"}
ACTION = "/execute_mission"


def send(ros, mission: str, parameters=(), action: str = ACTION):
    return ros.send_goal(ExecuteMission, action, ExecuteMission.Goal(mission=mission, parameters=list(parameters)))


def explain(result) -> str:
    return f"{OUTCOMES.get(result.outcome_code)}: {result.message} {list(result.errors)}"


def no_goal_left(ros, sims):
    for sim in sims:
        status = sim_status(ros, sim)
        assert status["unfinished_goals"] == 0, f"{sim.namespace}: {json.dumps(status)}"


def mission_succeeds(ros, sims, mission: str, parameters=(), timeout: float = 90.0, action: str = ACTION):
    """The mission's goal succeeds, and no sim is left with a goal it has not finished."""
    call = send(ros, mission, parameters, action)
    status, result = call.result(timeout)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, explain(result)
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert call.feedback and call.feedback[-1].active_path, "no feedback with an active path"
    no_goal_left(ros, sims)
    return call, result


def wait_for_active(ros, call, fragment: str, timeout: float = 30.0):
    """Spin until the goal's feedback names an active behaviour containing ``fragment``."""
    ros.spin_until(lambda: any(fragment in f.active_path for f in call.feedback), timeout,
                   f"feedback with an active path containing {fragment!r}")


def cancel_leaves_no_goal_in_flight(ros, sims, mission: str, parameters=(), while_in: str = "",
                                    timeout: float = 30.0, action: str = ACTION):
    """Cancel the mission while ``while_in`` is active: the result comes back CANCELED only once
    every goal it had sent has ended on the sims."""
    call = send(ros, mission, parameters, action)
    assert call.accepted(timeout)
    wait_for_active(ros, call, while_in, timeout)
    response = call.cancel()
    assert response.return_code == 0, f"cancel refused: {response.return_code}"
    status, result = call.result(timeout)
    assert status == GoalStatus.STATUS_CANCELED, explain(result)
    assert result.outcome_code == RESULT.OUTCOME_CANCELED, explain(result)
    no_goal_left(ros, sims)
    return result


def run_log(log_dir, call) -> list:
    """The events of the run started for ``call``'s goal (found by its goal id)."""
    goal_id = bytes(call.handle.goal_id.uuid).hex()
    for events_file in sorted(pathlib.Path(log_dir).glob(f"*/{runlog.FILE_NAME}")):
        events = runlog.read(events_file)
        if events and events[0].get("goal_id") == goal_id:
            return events
    raise AssertionError(f"no run log for goal {goal_id} in {log_dir}")


# Every goal sent ends in the log with exactly one of these (behaviors/actions.py, executive/run.py).
GOAL_ENDINGS = ("result", "goal_rejected", "goal_lost", "goal_abandoned")


def check_log(events, outcome: str, results_lost: int = 0):
    """The log tells the run as it happened: it starts and ends, every goal sent is accounted for
    once (a result, a rejection, or lost/abandoned: ``results_lost`` of them), and each status
    change starts from the status the log last gave that behaviour."""
    assert events[0]["event"] == "run_started"
    assert events[-1]["event"] == "run_finished" and events[-1]["outcome"] == outcome, events[-1]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    sent = [e["goal_id"] for e in events if e["event"] == "goal_sent"]
    assert len(sent) == len(set(sent)), "a goal id sent twice"
    endings = [e["goal_id"] for e in events if e["event"] in GOAL_ENDINGS]
    assert len(endings) == len(set(endings)), f"a goal ended twice: {endings}"
    results = {e["goal_id"] for e in events if e["event"] in ("result", "goal_rejected")}
    assert set(endings) == set(sent), f"goals sent and never accounted for: {set(sent) - set(endings)}"
    assert len(set(sent) - results) == results_lost, f"goals without a result: {set(sent) - results}"
    last = {}
    for e in events:
        if e["event"] == "status":
            assert e["previous"] == last.get(e["path"], "INVALID"), e
            last[e["path"]] = e["status"]
