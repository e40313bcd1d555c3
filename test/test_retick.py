"""The re-tick loop (executive/run.py ``MissionRun.tick``, executive/node.py ``_tick``): the tree
runs until nothing can progress without an outside event, and that never changes what happens.

- Random trees of instant behaviours give the same outcome and the same run log whether ticked
  one tick per round or with the loop, and the loop finishes them in one go (its notion of progress
  misses nothing an instant tree could still do).
- Every shipped mission, against a simulated robot, logs the same status transitions of every
  behaviour and ends the same way on the executive as on a host ticking once per round.
- The guard: a ``repeat`` forever of instant leaves does not starve a service call or a cancel
  that arrives meanwhile.

No timings are asserted (speed is measured in bench/shapes.py): only outcomes, logs and deadlines.
"""
import pathlib
import tempfile

import py_trees
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from executive import runlog
from executive.language.compiler import compile_mission, seed_blackboard
from executive.language.resolve import resolve_text
from executive.run import MissionRun

MISSIONS = pathlib.Path(__file__).resolve().parents[1] / "missions"
KEYS = ("a", "b")


class ListLog:
    """A run log kept in memory: the events, without their times."""

    run_id = "test"

    def __init__(self):
        self.events = []

    def write(self, event, **data):
        for timing in ("seconds", "mission_seconds", "paused_seconds", "t", "wall"):
            data.pop(timing, None)
        self.events.append((event, data))

    def close(self):
        pass


# -- random trees of instant behaviours ------------------------------------------------------

def _leaf():
    return st.one_of(
        st.builds(lambda k, v: f"{{set: {{key: {k}, value: {v}}}}}", st.sampled_from(KEYS), st.integers(0, 2)),
        st.builds(lambda k, v: f"{{condition: {{check: '{k} == {v}'}}}}", st.sampled_from(KEYS), st.integers(0, 2)),
        st.just("{log: {message: hi, level: debug}}"),
        st.just("{wait: {seconds: 0}}"),
    )


def _tree(children):
    many = st.lists(children, min_size=1, max_size=3).map(", ".join)
    memory = st.sampled_from(["true", "false"])
    return st.one_of(
        st.builds(lambda c, m: f"{{sequence: {{memory: {m}, children: [{c}]}}}}", many, memory),
        st.builds(lambda c, m: f"{{fallback: {{memory: {m}, children: [{c}]}}}}", many, memory),
        st.builds(lambda c, p: f"{{parallel: {{policy: {p}, children: [{c}]}}}}", many, st.sampled_from(["all", "one"])),
        st.builds(lambda c, n: f"{{repeat: {{times: {n}, child: {c}}}}}", children, st.integers(1, 3)),
        st.builds(lambda c, n: f"{{retry: {{attempts: {n}, backoff: {{initial: 0}}, child: {c}}}}}",
                  children, st.integers(1, 3)),
        st.builds(lambda c, k: f"{{{k}: {{child: {c}}}}}", children,
                  st.sampled_from(["invert", "force_success", "force_failure", "once"])),
    )


trees = st.recursive(_leaf(), _tree, max_leaves=12)


def drive(text: str, max_ticks: int, total: int = 2000):
    """Run the mission ``text`` with ``max_ticks`` per round until it ends or has been ticked
    ``total`` times (some trees never end: a reactive sequence restarting a two-tick child before
    a later one can finish); (run, log, rounds used)."""
    py_trees.blackboard.Blackboard.storage.clear()
    mission = resolve_text(text, MISSIONS)
    root = compile_mission(mission)
    log = ListLog()
    run = MissionRun(mission, root, log)
    py_trees.trees.setup(root)
    seed_blackboard(mission)
    used = 0
    while not run.done and run.ticks < total:
        run.tick_until_idle(max_ticks=min(max_ticks, total - run.ticks))
        used += 1
    run.shutdown()
    return run, log, used


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, board=st.dictionaries(st.sampled_from(KEYS), st.integers(0, 2)))
def test_instant_trees_end_the_same_with_and_without_the_loop(tree, board):
    blackboard = "".join(f"  {k}: {v}\n" for k, v in board.items())
    text = "name: random\n" + (f"blackboard:\n{blackboard}" if board else "") + f"tree: {tree}\n"
    classic, classic_log, _ = drive(text, max_ticks=1)
    assume(classic.done)
    looped, looped_log, rounds = drive(text, max_ticks=10_000)
    assert looped.done
    assert looped.result.outcome == classic.result.outcome
    assert looped.result.failed_behavior == classic.result.failed_behavior
    assert looped_log.events[1:] == classic_log.events[1:]     # [0]: run_started, with its run id
    assert looped.ticks == classic.ticks
    # What the loop calls progress misses nothing: an instant tree never waits for an outside event.
    assert rounds == 1, f"the loop stopped {rounds - 1} time(s) with work left"


def test_a_loop_of_instant_leaves_is_a_tick_per_repetition():
    """``repeat`` 50 times a ``set``: each repetition needs a tick (py_trees' Repeat runs its
    child again in the next one); the loop makes them all in one go, no tick wasted."""
    text = "name: r\ntree: {repeat: {times: 50, child: {set: {key: a, value: 1}}}}\n"
    run, _, rounds = drive(text, max_ticks=10_000)
    assert run.result.outcome == "succeeded" and rounds == 1 and run.ticks == 50


def test_a_tree_that_never_ends_is_ticked_within_the_bound():
    """A reactive sequence restarting a two-tick loop before its second child can end never ends,
    with or without the loop; the loop runs it exactly the ticks it is allowed each round."""
    text = ("name: r\ntree: {sequence: {memory: false, children: [{repeat: {times: 2, child: {log: {message: x}}}}, "
            "{repeat: {times: 2, child: {log: {message: y}}}}]}}\n")
    run, _, rounds = drive(text, max_ticks=100, total=1000)
    assert not run.done and run.ticks == 1000 and rounds == 10


def test_the_bound_cuts_a_loop_into_rounds():
    text = "name: r\ntree: {repeat: {times: 50, child: {set: {key: a, value: 1}}}}\n"
    run, _, rounds = drive(text, max_ticks=8)
    assert run.result.outcome == "succeeded" and rounds == 7 and run.ticks == 50


# -- shipped missions against a simulated robot: the executive vs one tick per round -----------

def _executive(ros, node_class):
    from rclpy.parameter import Parameter

    from harness import unique_name

    node = node_class(unique_name("retick_exec_"), serve=False, context=ros.context,
                      namespace=unique_name("retick_ns_"), parameter_overrides=[
        Parameter("log_dir", value=tempfile.mkdtemp(prefix="retick_logs_"))])
    ros.executor.add_node(node)
    return node


def _one_tick_per_round():
    from executive.node import ExecutiveNode

    class OneTickPerRound(ExecutiveNode):
        """The executive before the loop: one tick per wake-up or tick period, leaves wake it
        through the guard condition, and nothing ticks again because the last tick progressed."""

        def _leaf_wake(self):
            self.wake()

        def _tick_until_idle(self):
            run = self.run
            if run is None or run.done or run.state != "running":
                return super()._tick_until_idle()
            self._after(run, run.tick())

    return OneTickPerRound


def _transitions(run):
    """path -> its status transitions, in order, from the run's log."""
    out = {}
    for event in runlog.read(run.log.path):
        if event["event"] == "status":
            out.setdefault(event["path"], []).append((event["previous"], event["status"]))
    return out


def _run(ros, node, name, params, timeout=120):
    run = node.start(str(MISSIONS / f"{name}.yaml"), [f"{k}={v}" for k, v in params.items()])
    assert isinstance(run, MissionRun), run
    ros.spin_until(lambda: run.done, timeout, f"mission {name} to end")
    return run


@pytest.mark.parametrize("name", ["inspection", "patrol", "pick_and_place", "recovery_demo"])
def test_shipped_missions_log_the_same_on_both_hosts(ros, sim, name):
    from executive.node import ExecutiveNode

    params = {"robot": sim.namespace}
    if name == "patrol":
        params["laps"] = 2
    nodes = [_executive(ros, ExecutiveNode), _executive(ros, _one_tick_per_round())]
    try:
        looped, classic = (_run(ros, node, name, params) for node in nodes)
    finally:
        for node in nodes:
            ros.executor.remove_node(node)
            node.destroy_node()
    assert looped.result.outcome == classic.result.outcome == "succeeded", (looped.result, classic.result)
    assert _transitions(looped) == _transitions(classic)


def test_a_two_robot_mission_logs_the_same_on_both_hosts(ros):
    """multi_robot_patrol, on two robots of one ``mission-sim --robots 2`` process."""
    from executive.node import ExecutiveNode
    from harness import SIM_TIME_SCALE
    from executive.tools.launcher import SimProcess

    fleet = SimProcess("", robots=2, time_scale=SIM_TIME_SCALE)
    nodes = [_executive(ros, ExecutiveNode), _executive(ros, _one_tick_per_round())]
    try:
        params = {"first": fleet.namespaces[0], "second": fleet.namespaces[1]}
        looped, classic = (_run(ros, node, "multi_robot_patrol", params) for node in nodes)
    finally:
        for node in nodes:
            ros.executor.remove_node(node)
            node.destroy_node()
        assert fleet.stop() == 0, fleet.stderr()
    assert looped.result.outcome == classic.result.outcome == "succeeded", (looped.result, classic.result)
    assert _transitions(looped) == _transitions(classic)


# -- the guard ----------------------------------------------------------------------------------

FOREVER = "name: forever\ntree: {repeat: {times: -1, child: {sequence: {children: [{set: {key: a, value: 1}}, " \
          "{condition: {check: 'a == 1'}}]}}}}\n"


def test_a_loop_forever_does_not_starve_service_calls(ros):
    from std_srvs.srv import Trigger

    from executive.node import ExecutiveNode

    node = _executive(ros, ExecutiveNode)
    try:
        run = node.start(FOREVER)
        assert isinstance(run, MissionRun), run
        ros.spin_until(lambda: run.ticks > 1000, 30, "a thousand ticks")
        name = node.get_fully_qualified_name()
        answer = ros.call(Trigger, f"{name}/pause", Trigger.Request(), timeout=30)
        assert answer.success and run.paused, answer.message
        ticks = run.ticks
        ros.call(Trigger, f"{name}/resume", Trigger.Request(), timeout=30)
        ros.spin_until(lambda: run.ticks > ticks + 1000, 30, "a thousand more ticks")
        node.halt("test over")
        ros.spin_until(lambda: run.done, 30, "the halt")
        assert run.result.outcome == "canceled"
    finally:
        ros.executor.remove_node(node)
        node.destroy_node()


def test_a_loop_forever_can_be_cancelled_through_its_goal(ros):
    from action_msgs.msg import GoalStatus

    from executive.node import ExecutiveNode
    from mission_interfaces.action import ExecuteMission

    node = _executive(ros, lambda *a, **k: ExecutiveNode(*a, **{**k, "serve": True}))
    try:
        goal = ros.send_goal(ExecuteMission, f"{node.get_namespace().rstrip('/')}/execute_mission",
                             ExecuteMission.Goal(mission=FOREVER))
        assert goal.accepted(timeout=30)
        ros.spin_until(lambda: node.run is not None and node.run.ticks > 1000, 30, "a thousand ticks")
        assert goal.cancel(timeout=30).return_code == 0
        status, result = goal.result(timeout=30)
        assert status == GoalStatus.STATUS_CANCELED
        assert result.outcome_code == ExecuteMission.Result.OUTCOME_CANCELED
    finally:
        ros.executor.remove_node(node)
        node.destroy_node()
