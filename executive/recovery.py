"""Runs a dead executive left unfinished: found at start, their goals cancelled, marked interrupted.

An executive that was killed (SIGKILL, a crash, a power cut) leaves run logs without
``run_finished``, and may leave goals running on robots with nobody owning them. On start, an
executive looks in its log directory for runs of its own node name whose process is gone (this
host, a pid that no longer runs that process, or an earlier boot), cancels by id every goal those
runs had in flight (``goal_sent`` without an ending event), waits for them to end (bounded), and
appends ``orphans_cancelled`` and ``run_finished`` (outcome ``interrupted``) to each such log, so
that it is resumable and never looked at again.

Every wait is bounded: a server that is not there within ``server_timeout`` is named in the log
("goal 1a2b3c4d on /robot1/navigate_to_pose: server not available; it may still be running").
"""
import json
import os
import time
from functools import partial

from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.action.client import ClientGoalHandle
from unique_identifier_msgs.msg import UUID

from behaviors.messages import InterfaceError, import_type
from executive import runlog
from executive.node import spin_until
from executive.runlog import is_alive

ENDING_EVENTS = ("result", "goal_rejected", "goal_lost")
TERMINAL = (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED, GoalStatus.STATUS_CANCELED)


def _first_and_finished(path):
    """(first event, whether the log has ``run_finished``) of a run log, or (None, False) when
    unreadable. Only the log's last 64 KB are read for the end: ``run_finished`` is followed by few
    lines (a late ``cancel_requested``, ``resumed_as``)."""
    try:
        first, tail = runlog.first_and_tail(path, 65536)
        return json.loads(first), any(_event_of(line) == "run_finished" for line in tail if b"run_finished" in line)
    except (OSError, ValueError, IndexError):
        return None, False


def _event_of(line: bytes) -> str:
    try:
        return json.loads(line).get("event", "")
    except (ValueError, AttributeError):     # a line cut short by a kill, or the tail's cut first line
        return ""


def unfinished_runs(log_dir, node_name: str) -> list:
    """Run directories under ``log_dir`` started by ``node_name`` whose process is gone and whose
    log has no ``run_finished``, oldest first."""
    found = []
    for run_dir in runlog.run_dirs(log_dir):
        first, finished = _first_and_finished(runlog.find(run_dir))
        if not first or first.get("event") != "run_started" or first.get("node") != node_name or finished:
            continue
        if not is_alive(first.get("process") or {}):
            found.append(str(run_dir))
    return found


def open_goals(events) -> list:
    """Goals a log shows sent and not ended: ``{goal_id, action, type, path}``, in the order sent."""
    sent = {e["goal_id"]: e for e in events if e.get("event") == "goal_sent" and "goal_id" in e}
    for e in events:
        if e.get("event") in ENDING_EVENTS:
            sent.pop(e.get("goal_id"), None)
    return [dict(goal_id=g, action=e.get("action", ""), type=e.get("type", ""), path=e.get("path", ""))
            for g, e in sent.items()]


def sweep(node, executor, log_dir, server_timeout: float = 5.0, halt_timeout: float = 10.0, log=None) -> list:
    """Find ``node``'s unfinished runs, cancel their open goals and wait (spinning ``executor``),
    then close their logs as interrupted. Returns what was done, one dict per run:
    ``{run, goals: [{goal_id, action, outcome}]}``. ``log`` is a logger for a line per run."""
    done = []
    for run_dir in unfinished_runs(log_dir, node.get_fully_qualified_name()):
        try:
            events = runlog.read(run_dir)
        except (OSError, ValueError):
            continue
        goals = [dict(g, outcome=_cancel(node, executor, g, server_timeout, halt_timeout)) for g in open_goals(events)]
        try:
            appended = runlog.Appender(run_dir)
            appended.write("orphans_cancelled", goals=goals, by_pid=os.getpid())
            appended.write("run_finished", outcome="interrupted", failed_behavior="", failure=None, failures=[],
                           message="the executive running it stopped without ending it (a crash, SIGKILL or power "
                                   f"cut); {len(goals)} goal(s) it left were cancelled")
        except (OSError, ValueError) as exc:    # a full or read-only disk: said, and the next run looked at
            if log is not None:
                log.error(f"run {os.path.basename(run_dir)}: its goals were cancelled, but its log cannot be "
                          f"closed: {exc}")
        done.append(dict(run=os.path.basename(run_dir), goals=goals))
        if log is not None:
            log.warn(f"run {os.path.basename(run_dir)} was left unfinished by a previous executive; "
                     f"cancelled its {len(goals)} open goal(s): " +
                     ", ".join(f"{g['goal_id'][:8]} on {g['action']}: {g['outcome']}" for g in goals))
    return done


def _cancel(node, executor, goal: dict, server_timeout: float, halt_timeout: float) -> str:
    """Cancel one goal by id and wait for it to end; what happened, in words."""
    try:
        action_type = import_type(goal["type"], "action")
    except InterfaceError as exc:
        return f"not cancelled: {exc}"
    client = ActionClient(node, action_type, goal["action"])
    try:
        if not spin_until(executor, client.server_is_ready, server_timeout):
            return "server not available; it may still be running"
        goal_id = UUID(uuid=list(bytes.fromhex(goal["goal_id"])))
        handle = ClientGoalHandle(client, goal_id, action_type.Impl.SendGoalService.Response(accepted=True))
        answer = {}
        handle.cancel_goal_async().add_done_callback(partial(_put, answer, "cancel"))
        handle.get_result_async().add_done_callback(partial(_put, answer, "result"))
        spin_until(executor, lambda: "result" in answer, halt_timeout)
        if "result" not in answer:
            return f"still running after {halt_timeout:g} s"
        status = answer["result"].status
        if status == GoalStatus.STATUS_UNKNOWN:
            return "already ended (the server no longer has it)"
        return {GoalStatus.STATUS_CANCELED: "canceled", GoalStatus.STATUS_SUCCEEDED: "had succeeded",
                GoalStatus.STATUS_ABORTED: "had aborted"}.get(status, f"status {status}")
    finally:
        client.destroy()


def _put(answer, key, future):
    answer[key] = future.result()
