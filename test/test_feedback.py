"""Feedback for people: mission-level ``feedback_format`` (parsed, checked at validate time, never
reaching past message fields), the built-in summaries, and py_trees' decorators saying in words
what they do (no debugging text, nothing left after SUCCESS)."""
import string
import time

import py_trees
import pytest
from hypothesis import given, settings, strategies as st
from py_trees.common import Status

from behaviors import feedback
from behaviors.basics import CheckBlackboard, Wait
from executive.language.expressions import compile_check
from executive.language.compiler import compile_mission
from executive.language.errors import MissionInvalid
from executive.language.resolve import resolve_text
from mission_interfaces.action import FollowJointTrajectory, MoveArm, NavigateToPose

DEBUG_TEXTS = ("[status:", "remaining:", "time still ticking", "oneshot completed", "success from", "->",
               "Status.")


def nav_feedback(distance=2.345, eta=4.2, recoveries=0):
    fb = NavigateToPose.Feedback(distance_remaining=distance, number_of_recoveries=recoveries)
    fb.estimated_time_remaining.sec, fb.estimated_time_remaining.nanosec = int(eta), int((eta % 1) * 1e9)
    fb.current_pose.header.frame_id = "map"
    fb.current_pose.pose.position.x = 1.25
    return fb


# -- formats --------------------------------------------------------------------------------
def test_a_format_names_fields_and_specs():
    fmt = feedback.parse("{distance_remaining:.1f} m left, x={current_pose.pose.position.x:5.2f} "
                         "in {current_pose.header.frame_id}, {estimated_time_remaining:.0f} s {{braces}}")
    feedback.check(fmt, NavigateToPose.Feedback)
    assert fmt.render(nav_feedback()) == "2.3 m left, x= 1.25 in map, 4 s {braces}"
    assert fmt.fields == ["distance_remaining", "current_pose.pose.position.x", "current_pose.header.frame_id",
                          "estimated_time_remaining"]


@pytest.mark.parametrize("text,why", [
    ("{0.__class__}", "dots only"), ("{distance_remaining.__class__.__init__}", "dots only"), ("{distance_remaining.real}", "is float"),
    ("{__import__}", "dots only"), ("{current_pose[0]}", "dots only"), ("{distance_remaining!r}", "conversions"),
    ("{distance_remaining:{x}}", "not a format spec"), ("{distance_remaining:999999999}", "not a format spec"),
    ("{distance_remaining:.100f}", "not a format spec"), ("{}", "needs a name"), ("{", "literal braces"),
    ("{nope}", "has no field 'nope'"), ("{current_pose}", "not a number"), ("{distance_remaining:d}", "format code"),
    ("x" * 300, "longer than"),
])
def test_a_format_that_reaches_past_fields_is_refused(text, why):
    with pytest.raises(feedback.FormatError, match=why):
        feedback.check(feedback.parse(text), NavigateToPose.Feedback)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=string.printable, max_size=60))
def test_any_text_is_refused_or_renders_only_field_values(text):
    """Whatever the text, parsing either refuses it or gives pieces that name fields; rendering
    reads declared fields only and never raises."""
    try:
        fmt = feedback.parse(text)
    except feedback.FormatError:
        return
    for _, path, spec in fmt.pieces:
        assert path is None or feedback.FIELD.fullmatch(path)
    rendered = fmt.render(nav_feedback())
    assert len(rendered) <= feedback.LIMIT and "object at 0x" not in rendered
    if "<" not in text:
        assert "<" not in rendered      # no repr of an object ever shows


def test_missions_check_the_format_against_the_feedback_type(tmp_path):
    mission = """name: formats
tree:
  sequence:
    children:
      - navigate: {name: go, pose: {x: 1, y: 2}, feedback_format: "{distance_remaining:.1f} m to go"}
      - move_arm: {name: arm, pose: home, feedback_format: "{progres:.0%}"}
      - follow_trajectory:
          name: wave
          joints: [a]
          points: [{time: 1, positions: [0]}]
          feedback_format: "{header.frame_id!r}"
"""
    with pytest.raises(MissionInvalid) as invalid:
        resolve_text(mission, tmp_path)
    errors = [str(e) for e in invalid.value.errors]
    assert len(errors) == 2, errors
    assert "children[1].move_arm.feedback_format" in errors[0] and "has no field 'progres'" in errors[0]
    assert "children[2].follow_trajectory.feedback_format" in errors[1] and "conversions" in errors[1]
    assert ":6:" in errors[0], "the error names the line of the leaf"
    good = resolve_text(mission.replace("progres:", "progress:").replace("!r", ""), tmp_path)
    root = compile_mission(good)
    drive = root.children[0]
    drive._summarize(nav_feedback(distance=0.46))   # the leaf's own summarizer renders its format
    assert drive._summarize(nav_feedback(distance=0.46)) == "0.5 m to go"


def test_builtin_summaries_for_the_shipped_action_types():
    assert feedback.summarizer("mission_interfaces/action/NavigateToPose")(nav_feedback()) == "2.3 m left, about 4 s"
    assert feedback.summarizer("nav2_msgs/action/NavigateToPose")(nav_feedback(recoveries=2)) == \
        "2.3 m left, about 4 s (2 recoveries)"
    assert feedback.summarizer("mission_interfaces/action/MoveArm")(MoveArm.Feedback(progress=0.456)) == "46% done"
    fb = FollowJointTrajectory.Feedback()
    fb.actual.time_from_start.sec = 1
    fb.error.positions = [0.001, -0.0125]
    assert feedback.summarizer("mission_interfaces/action/FollowJointTrajectory")(fb) == "1.0 s in, joint error 0.013"
    assert feedback.summarizer("example_interfaces/action/Fibonacci") is None


# -- decorators in words ---------------------------------------------------------------------
MISSION = """name: words
blackboard: {battery: 10}
tree:
  sequence:
    name: words
    children:
      - repeat: {name: laps, times: 2, child: {wait: {name: lap, seconds: 0.05}}}
      - timeout: {name: limited, seconds: 5, child: {wait: {name: short, seconds: 0.05}}}
      - force_success: {name: forgiven, child: {condition: {name: charged, check: 'battery >= 50'}}}
      - invert: {name: not charged, child: {condition: {name: charged2, check: 'battery >= 50'}}}
      - retry: {name: retried, attempts: 2, child: {wait: {name: inner, seconds: 0.05}}}
      - once: {name: just once, child: {wait: {name: single, seconds: 0.05}}}
"""


def test_decorators_say_what_they_do_and_nothing_once_done(tmp_path):
    root = compile_mission(resolve_text(MISSION, tmp_path))
    py_trees.blackboard.Blackboard.storage.clear()
    py_trees.blackboard.Blackboard.set("/battery", 10)
    seen = {}
    deadline = time.monotonic() + 20
    while root.status not in (Status.SUCCESS, Status.FAILURE):
        assert time.monotonic() < deadline
        root.tick_once()
        for b in root.iterate():
            if b.feedback_message:
                seen.setdefault(b.name, []).append(b.feedback_message)
            assert not any(t in b.feedback_message for t in DEBUG_TEXTS), (b.name, b.feedback_message)
        time.sleep(0.01)
    assert root.status == Status.SUCCESS
    assert "0 of 2 done" in seen["laps"] and "1 of 2 done" in seen["laps"]
    assert any(m.endswith(" s left") for m in seen["limited"])
    assert seen["forgiven"][-1].startswith("failed, counted as success")
    for b in root.iterate():
        if b.status == Status.SUCCESS and b.name not in ("forgiven", "not charged"):
            assert b.feedback_message == "", (b.name, b.feedback_message)


def test_a_wait_shows_nothing_left_after_success():
    clock = [0.0]
    wait = Wait("pause", 0.5, clock=lambda: clock[0])
    wait.tick_once()
    assert wait.status == Status.RUNNING and wait.feedback_message == "1 s left"
    clock[0] = 0.6
    wait.tick_once()
    assert wait.status == Status.SUCCESS and wait.feedback_message == ""


def test_a_timeout_that_fires_says_so():
    from behaviors.decorators import Timeout
    never = CheckBlackboard("never", compile_check("nothing == 1"))
    never.update = lambda: Status.RUNNING
    limited = Timeout("limited", never, duration=0.05)
    limited.tick_once()
    time.sleep(0.08)
    limited.tick_once()
    assert limited.status == Status.FAILURE and limited.feedback_message == "timed out after 0.05 s"
