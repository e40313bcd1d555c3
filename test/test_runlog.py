"""Run logs without ROS: what a killed writer leaves is still readable, and the report's arithmetic."""
import json

import pytest

from executive import runlog
from executive.tools import report


def test_each_event_is_on_disk_as_soon_as_it_is_written(tmp_path):
    log = runlog.RunLog(tmp_path, "a mission/with odd name")
    log.write("run_started", mission="m")
    assert log.directory.parent == tmp_path and "/" not in log.run_id
    assert runlog.read(log.directory)[0]["event"] == "run_started"    # not closed, already readable
    log.write("status", path="m/a", status="RUNNING")
    assert [e["event"] for e in runlog.read(log.path)] == ["run_started", "status"]
    log.close()


def test_a_line_cut_short_at_the_end_is_skipped_but_not_in_the_middle(tmp_path):
    log = runlog.RunLog(tmp_path, "m")
    log.write("run_started")
    log.write("status", path="m", status="RUNNING")
    log.close()
    with open(log.path, "a") as f:
        f.write('{"t": 1.0, "event": "sta')
    assert len(runlog.read(log.path)) == 2
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join([lines[0], "garbage", lines[1]]) + "\n")
    with pytest.raises(ValueError, match=r"events.jsonl:2: not a JSON event"):
        runlog.read(log.path)


def test_runs_started_within_one_second_sort_in_start_order(tmp_path):
    # The CI case: a run resumed within the second of the one it resumes sorted before it when
    # ids had whole seconds and a random suffix, so "the newest run" was the old one.
    from executive.viewer import logs
    made = []
    for number in range(40):                      # well within a second, names in reverse order
        log = runlog.RunLog(tmp_path, f"m{39 - number:02d}")
        log.write("run_started", mission=f"m{39 - number:02d}")
        log.close()
        made.append(log.directory)
    assert runlog.run_dirs(tmp_path) == made
    assert [r["run_id"] for r in logs.list_runs(tmp_path)] == [d.name for d in reversed(made)][:logs.RUNS_LIMIT]


def _event(t, name, **data):
    return {"t": t, "wall": 1_700_000_000 + t, "event": name, **data}


EVENTS = [
    _event(0.0, "run_started", mission="m", run_id="r1", parameters={"robot": "r"}),
    _event(0.1, "status", path="m/drive", leaf=True, previous="INVALID", status="RUNNING"),
    _event(0.5, "goal_sent", path="m/drive", goal_id="g1"),
    _event(0.6, "goal_accepted", path="m/drive", goal_id="g1"),
    _event(1.0, "feedback", path="m/drive", goal_id="g1", count=3),
    _event(2.6, "result", path="m/drive", goal_id="g1", status="SUCCEEDED", feedback_messages=30),
    _event(2.6, "status", path="m/drive", leaf=True, previous="RUNNING", status="SUCCESS"),
    _event(2.7, "paused"),
    _event(3.7, "resumed"),
    _event(4.0, "run_finished", outcome="succeeded", message="mission succeeded"),
]


def test_where_time_went_splits_a_leaf_into_server_accept_and_execute():
    drive = report.where_time_went(EVENTS)["m/drive"]
    assert drive.runs == 1
    assert drive.total == pytest.approx(2.5)
    assert (drive.server_wait, drive.accept_wait, drive.executing) == (pytest.approx(0.4), pytest.approx(0.1),
                                                                       pytest.approx(2.0))
    assert report.paused_seconds(EVENTS) == pytest.approx(1.0)


def test_report_reads_as_a_timeline():
    text = report.report(EVENTS)
    assert "outcome: succeeded after 4.000 s" in text
    assert "INVALID -> RUNNING" in text and "feedback_messages=30" in text
    assert "  feedback" not in text         # feedback events are summarised by the result
    assert "paused: 1.000 s" in text
    assert "outcome: unknown" in report.report(EVENTS[:-1])


# A retried leg that fails twice (rejected by the server, then aborted) before it succeeds, with
# paths longer than any column.
LONG = "patrol/laps/lap/visit a waypoint whose name is long enough to push a fixed column out of line"
RETRIED = [
    _event(0.0, "run_started", mission="patrol", run_id="r2", tree=[
        {"path": "patrol", "name": "patrol", "kind": "sequence", "leaf": False, "parent": -1},
        {"path": LONG, "name": "visit", "kind": "retry", "leaf": False, "parent": 0},
        {"path": f"{LONG}/drive", "name": "drive", "kind": "navigate", "leaf": True, "parent": 1},
        {"path": "patrol/dock", "name": "dock", "kind": "navigate", "leaf": True, "parent": 0}]),
    _event(0.1, "status", path=LONG, leaf=False, previous="INVALID", status="RUNNING"),
    _event(0.1, "status", path=f"{LONG}/drive", leaf=True, previous="INVALID", status="RUNNING"),
    _event(0.2, "goal_rejected", path=f"{LONG}/drive", goal_id="g1"),
    _event(0.2, "status", path=f"{LONG}/drive", leaf=True, previous="RUNNING", status="FAILURE",
           failure={"reason": "rejected", "message": "no"}),
    _event(0.7, "status", path=f"{LONG}/drive", leaf=True, previous="FAILURE", status="RUNNING"),
    _event(1.0, "result", path=f"{LONG}/drive", goal_id="g2", status="ABORTED", error_code=9000),
    _event(1.0, "status", path=f"{LONG}/drive", leaf=True, previous="RUNNING", status="FAILURE",
           failure={"reason": "aborted", "message": "blocked"}),
    _event(2.0, "status", path=f"{LONG}/drive", leaf=True, previous="FAILURE", status="RUNNING"),
    _event(3.0, "status", path=f"{LONG}/drive", leaf=True, previous="RUNNING", status="SUCCESS"),
    _event(3.0, "status", path=LONG, leaf=False, previous="RUNNING", status="SUCCESS"),
    _event(3.0, "status", path="patrol/dock", leaf=True, previous="INVALID", status="RUNNING"),
    _event(4.0, "status", path="patrol/dock", leaf=True, previous="RUNNING", status="SUCCESS"),
    _event(4.0, "run_finished", outcome="succeeded", message="mission succeeded"),
]


def test_report_counts_attempts_failures_retries_and_backoff():
    data = report.summary(RETRIED)
    assert data["counts"] == {"leaves": 2, "attempts": 4, "failed": 2, "retries": 2, "backoff_seconds": 1.5,
                              "paused_seconds": 0.0}
    assert data["leaves"][f"{LONG}/drive"]["runs"] == 3 and data["leaves"][f"{LONG}/drive"]["failed"] == 2
    assert data["retries"] == {LONG: {"attempts": 3, "retries": 2, "backoff": 1.5}}
    text = report.report(RETRIED)
    assert "4 leaf attempts (2 failed)" in text and "2 retries, 1.500 s in retry backoff" in text


def test_report_columns_stay_aligned_with_long_paths():
    lines = report.report(RETRIED).splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("where time went"))) + 1:][:3]
    header, rows = table[0], table[1:]
    for column in ("runs", "failed", "total", "execute"):
        end = header.index(column) + len(column)
        assert all(row[end - 1] != " " and (len(row) == end or row[end] == " ") for row in rows), table
    timeline = [line for line in lines if line.startswith("  +")]
    column = timeline[0].index("run_started")       # where the "what" column starts
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in timeline), timeline


def test_report_filters_and_json():
    failures = report.report(RETRIED, failures=True)
    timeline = failures.split("timeline (failures only):")[1].split("where time went")[0]
    assert "goal_rejected" in timeline and "ABORTED" in timeline and "RUNNING -> FAILURE" in timeline
    assert "INVALID -> RUNNING" not in timeline and "patrol/dock" not in failures.split("where time went")[1]
    only_dock = report.summary(RETRIED, leaf="dock")
    assert list(only_dock["leaves"]) == ["patrol/dock"] and not only_dock["retries"]
    assert {e.get("path", "") for e in only_dock["timeline"]} == {"", "patrol/dock"}
    data = json.loads(report.text(RETRIED, as_json=True))
    assert data["counts"]["retries"] == 2 and data["outcome"]["outcome"] == "succeeded"
