"""Run logs without ROS: what a killed writer leaves is still readable, and the report's arithmetic."""
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
