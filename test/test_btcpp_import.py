"""BT.CPP v4 XML imported and run here against the real BehaviorTree.CPP (the ``behaviortreepy``
wheel): each built-in node, and hypothesis-generated trees of built-in nodes, scripts and pre/post
conditions, end the same way (SUCCESS, FAILURE, SKIPPED, or a script error) and leave the same
blackboard, here (imported, compiled, ticked with py_trees, no ROS) and in BT.CPP (its factory, its
tick loop, its blackboard).
"""
import time

import behaviortreepy as bt
import py_trees
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from py_trees.common import Status

from executive.language.compiler import compile_mission, seed_blackboard
from executive.language.errors import MissionInvalid
from executive.language.resolve import Resolver
from test_btcpp_scripts import _bt_value, _our_value, _same

MAX_TICKS = 100
BT_STATUS = {bt.NodeStatus.SUCCESS: "SUCCESS", bt.NodeStatus.FAILURE: "FAILURE", bt.NodeStatus.SKIPPED: "SKIPPED",
             bt.NodeStatus.RUNNING: "RUNNING"}


def document(body: str, subtrees: str = "") -> str:
    return (f'<root BTCPP_format="4" main_tree_to_execute="main">\n<BehaviorTree ID="main">\n{body}\n'
            f'</BehaviorTree>\n{subtrees}</root>\n')


def run_btcpp(xml: str):
    """(outcome, {key: (type, value)}) of ``xml`` in BT.CPP: ticked until it is not RUNNING."""
    factory = bt.BehaviorTreeFactory()
    board = bt.Blackboard.create()
    outcome = "RUNNING"
    try:
        tree = factory.create_tree_from_text(xml, board)
        for _ in range(MAX_TICKS):
            # Exactly once: tick_once() ticks again while a node signals a wake-up, which a tree can
            # do forever (a Repeat -1 of a node that succeeds at once).
            outcome = BT_STATUS[tree.tick_exactly_once()]
            if outcome != "RUNNING":
                break
            time.sleep(0.001)
        entries = {k: _bt_value(board, k) for k in board.get_keys()}
        tree.halt_tree()        # (halting runs every node's _onHalted, running or not: not compared)
        return outcome, entries
    except Exception as exc:      # a script that cannot be evaluated throws from the tick
        outcome = "error" if "parsing" not in str(exc) else f"refused: {exc}"
    return outcome, {k: _bt_value(board, k) for k in board.get_keys()}


def run_ours(xml: str, tmp_path):
    """The same, imported here: compiled with py_trees and ticked until it is not RUNNING. A
    behaviour failing with reason ``script`` or ``internal_error`` (BT.CPP throws) is the outcome "error"."""
    path = tmp_path / "tree.xml"
    path.write_text(xml)
    py_trees.blackboard.Blackboard.storage.clear()
    mission = Resolver(check_interfaces=False).mission(path)
    root = compile_mission(mission)
    seed_blackboard(mission)
    outcome = "RUNNING"
    error = False
    for _ in range(MAX_TICKS):
        for behaviour in root.tick():
            failure = getattr(behaviour, "failure", None)
            error = error or (failure is not None and failure.reason in ("script", "internal_error")
                                    and behaviour.status == Status.FAILURE)
        outcome = "SKIPPED" if getattr(root, "skipped", False) else root.status.name
        if error:
            outcome = "error"
        if outcome != "RUNNING":
            break
        time.sleep(0.001)
    root.stop(Status.INVALID)
    board = {k.lstrip("/"): _our_value(v) for k, v in py_trees.blackboard.Blackboard.storage.items()
             if "__" not in k}      # a subtree's own entries are not on BT.CPP's root blackboard
    return outcome, board


def assert_same(xml, tmp_path):
    theirs = run_btcpp(xml)
    ours = run_ours(xml, tmp_path)
    assert ours[0] == theirs[0], f"outcome: ours {ours[0]}, BT.CPP {theirs[0]}\n{xml}"
    if ours[0] == "error":
        return ours         # where a script threw mid-tick the blackboard is not compared
    assert ours[1].keys() == theirs[1].keys(), f"keys: ours {sorted(ours[1])}, BT.CPP {sorted(theirs[1])}\n{xml}"
    for key in ours[1]:
        assert _same(ours[1][key], theirs[1][key]), f"{key}: ours {ours[1][key]}, BT.CPP {theirs[1][key]}\n{xml}"
    return ours


# -- each built-in node ---------------------------------------------------------------------------

S, F = "<AlwaysSuccess/>", "<AlwaysFailure/>"
COUNT = '<Script code="n += 1"/>'
START = '<Script code="n := 0; s := \'\'"/>'
RUNNING = "<KeepRunningUntilFailure><AlwaysSuccess/></KeepRunningUntilFailure>"


def seq(*children, tag="Sequence"):
    return f"<{tag}>{''.join(children)}</{tag}>"


NODES = {
    "Sequence": seq(START, COUNT, S, COUNT),
    "Sequence fails": seq(START, COUNT, F, COUNT),
    # RUNNING without a clock (a count of ticks, not of milliseconds): KeepRunningUntilFailure
    "ReactiveSequence": seq(START, seq(COUNT, '<ScriptCondition code="n &lt; 5"/>', RUNNING, tag="ReactiveSequence")),
    "SequenceWithMemory": seq(START, seq(COUNT, '<ScriptCondition code="n &gt; 2"/>', tag="SequenceWithMemory")),
    "SequenceWithMemory resumes": seq(START, '<Repeat num_cycles="3"><ForceSuccess>' +
                                      seq(COUNT, '<ScriptCondition code="n == 2 || n == 4"/>', '<Script code="s := s .. n"/>',
                                          tag="SequenceWithMemory") + "</ForceSuccess></Repeat>"),
    "AsyncSequence": seq(START, seq(COUNT, seq(S, S, '<Script code="s := s .. n"/>', tag="AsyncSequence"),
                                    tag="ReactiveSequence")),
    "AsyncFallback": seq(START, seq(COUNT, seq(F, F, '<Script code="s := s .. n"/>', tag="AsyncFallback"),
                                    tag="ReactiveSequence")),
    "Fallback": seq(START, seq(F, COUNT, COUNT, tag="Fallback")),
    "Fallback fails": seq(START, seq(F, F, tag="Fallback")),
    "ReactiveFallback": seq(START, seq('<ScriptCondition code="n &gt; 3"/>', seq(COUNT, RUNNING, tag="ReactiveSequence"),
                                       tag="ReactiveFallback")),
    "Parallel": seq(START, f'<Parallel success_count="2" failure_count="2">{COUNT}{F}<Sleep msec="5"/></Parallel>'),
    "Parallel fails": seq(START, f'<Parallel success_count="-1" failure_count="1">{COUNT}{F}{COUNT}</Parallel>'),
    "ParallelAll": seq(START, f'<ParallelAll max_failures="2">{COUNT}{F}<Sleep msec="5"/>{F}</ParallelAll>'),
    "IfThenElse": seq(START, f'<IfThenElse>{F}{COUNT}<Script code="s := \'else\'"/></IfThenElse>'),
    "IfThenElse two": seq(START, f'<IfThenElse>{S}{COUNT}</IfThenElse>'),
    "WhileDoElse": seq(START, '<WhileDoElse><ScriptCondition code="n &lt; 3"/>' + seq(COUNT, '<Sleep msec="2"/>') +
                       f'{F}</WhileDoElse>'),
    "Switch3": seq('<Script code="mode := 2; s := \'\'"/>',
                   '<Switch3 variable="{mode}" case_1="1" case_2="2" case_3="three">'
                   '<Script code="s := \'one\'"/><Script code="s := \'two\'"/><Script code="s := \'3\'"/>'
                   '<Script code="s := \'default\'"/></Switch3>'),
    "Switch2 default": seq('<Script code="mode := \'x\'; s := \'\'"/>',
                           '<Switch2 variable="{mode}" case_1="a" case_2="b"><Script code="s := \'a\'"/>'
                           '<Script code="s := \'b\'"/><Script code="s := \'none\'"/></Switch2>'),
    "Inverter": seq(START, f"<Inverter>{F}</Inverter>", COUNT),
    "ForceSuccess": seq(START, f"<ForceSuccess>{F}</ForceSuccess>", COUNT),
    "ForceFailure": seq(START, f"<ForceFailure>{COUNT}</ForceFailure>"),
    "Repeat": seq(START, f'<Repeat num_cycles="3">{COUNT}</Repeat>'),
    "Repeat 0": seq(START, f'<Repeat num_cycles="0">{COUNT}</Repeat>'),
    "RetryUntilSuccessful": seq(START, '<RetryUntilSuccessful num_attempts="5">' +
                                seq(COUNT, '<ScriptCondition code="n &gt;= 3"/>') + "</RetryUntilSuccessful>"),
    "RetryUntilSuccessful gives up": seq(START, f'<RetryUntilSuccessful num_attempts="2">{seq(COUNT, F)}'
                                                "</RetryUntilSuccessful>"),
    "KeepRunningUntilFailure": seq(START, "<KeepRunningUntilFailure>" + seq(COUNT, '<ScriptCondition code="n &lt; 4"/>')
                                   + "</KeepRunningUntilFailure>"),
    "Timeout": seq(START, f'<Timeout msec="1000">{COUNT}</Timeout>'),
    "Timeout expires": seq(START, '<Timeout msec="20"><Sleep msec="2000"/></Timeout>'),
    "Delay": seq(START, f'<Delay delay_msec="10">{COUNT}</Delay>'),
    "RunOnce": seq(START, f'<Repeat num_cycles="3"><ForceSuccess><RunOnce>{COUNT}</RunOnce></ForceSuccess></Repeat>'),
    "RunOnce keeps": seq(START, f'<Repeat num_cycles="3"><RunOnce then_skip="false">{COUNT}</RunOnce></Repeat>'),
    "Precondition": seq(START, f'<Precondition if="n == 0" else="FAILURE">{COUNT}</Precondition>',
                        f'<ForceSuccess><Precondition if="n == 0" else="FAILURE">{COUNT}</Precondition></ForceSuccess>'),
    "Precondition else": seq(START, f'<Precondition if="n &gt; 0" else="SUCCESS">{COUNT}</Precondition>'),
    "LoopInt": seq(START, '<LoopInt queue="1;2;3" value="{v}"><Script code="n += v"/></LoopInt>'),
    "LoopDouble": seq(START, '<LoopDouble queue="0.5;1.25" value="{v}"><Script code="n := n + v"/></LoopDouble>'),
    "LoopString fails": seq(START, '<LoopString queue="a;b;c" value="{v}">'
                                   '<Sequence><Script code="s := s .. v"/><ScriptCondition code="v != \'b\'"/>'
                                   "</Sequence></LoopString>"),
    "LoopInt if_empty": seq(START, '<Inverter><LoopInt queue="4" value="{v}" if_empty="FAILURE">'
                                   f"{COUNT}</LoopInt></Inverter>"),
    "AlwaysFailure": seq(START, F),
    "Script": seq(START, '<Script code="x := 1.5; y := x * 2; t := \'a\' .. y"/>'),
    "ScriptCondition": seq(START, '<ScriptCondition code="n == 0"/>'),
    "SetBlackboard": seq(START, '<SetBlackboard output_key="word" value="hello"/>'),
    "UnsetBlackboard": seq(START, '<Script code="gone := 1"/>', '<UnsetBlackboard key="gone"/>'),
    "Sleep": seq(START, '<Sleep msec="5"/>', COUNT),
    "script error": seq(START, '<Script code="s = 1"/>'),
    "_skipIf": seq(START, f'<AlwaysFailure _skipIf="n == 0"/>', COUNT),
    "all skipped": seq(START, seq(f'<AlwaysFailure _skipIf="true"/>', '<Script code="n := 9" _skipIf="n == 0"/>'),
                       '<Script code="s := \'after\'"/>'),
    "skipped Sequence is skipped": seq(f'<AlwaysFailure _skipIf="true"/>', '<AlwaysSuccess _skipIf="true"/>'),
    "_failureIf _successIf": seq(START, '<ForceSuccess><Script code="n := 5" _failureIf="n == 0"/></ForceSuccess>',
                                 f'<AlwaysFailure _successIf="n == 0"/>'),
    "_while": seq(START, '<Repeat num_cycles="6"><Script code="n += 1" _while="n &lt; 3"/></Repeat>'),
    "_onSuccess _onFailure _post": seq(START, '<ForceSuccess><AlwaysFailure _onFailure="s := \'failed\'" '
                                       '_post="n += 10"/></ForceSuccess>', '<AlwaysSuccess _onSuccess="x := 1"/>'),
    "_onHalted": seq(START, '<ReactiveSequence><ScriptCondition code="n &lt; 3"/>'
                     '<ReactiveSequence><Script code="n += 1"/><KeepRunningUntilFailure _onHalted="s := \'halted\'">'
                     "<AlwaysSuccess/></KeepRunningUntilFailure></ReactiveSequence></ReactiveSequence>"),
    "Fallback of skipped": seq(START, seq('<AlwaysSuccess _skipIf="true"/>', F, tag="Fallback")),
    "Parallel skipped": seq(START, '<Parallel success_count="-1" failure_count="1"><AlwaysFailure _skipIf="true"/>'
                                   f"{COUNT}</Parallel>"),
}


@pytest.mark.parametrize("name", NODES)
def test_each_builtin_node_as_btcpp(name, tmp_path):
    assert_same(document(NODES[name]), tmp_path)


def test_subtree_remapping_and_autoremap(tmp_path):
    subtrees = ('<BehaviorTree ID="visit"><Sequence><Script code="seen := target .. \'!\'; mine := 1"/>'
                '<Script code="count += 1"/></Sequence></BehaviorTree>\n'
                '<BehaviorTree ID="auto"><Script code="count += 10; made := 1"/></BehaviorTree>\n')
    body = seq('<Script code="count := 0; where := \'dock\'"/>',
               '<SubTree ID="visit" target="{where}" count="{count}" seen="{out}"/>',
               '<SubTree ID="visit" target="bay" count="{count}"/>',
               '<SubTree ID="auto" _autoremap="true"/>')
    ours = assert_same(document(body, subtrees), tmp_path)
    assert ours[1]["out"] == ("string", "dock!") and ours[1]["count"][1] == 12 and "mine" not in ours[1]


@pytest.mark.parametrize("tag", ["WasEntryUpdated", "SkipUnlessUpdated", "WaitValueUpdate", "PopFromQueue"])
def test_builtins_without_an_equivalent_are_refused_by_name(tag, tmp_path):
    path = tmp_path / "t.xml"
    path.write_text(document(f"<Sequence>\n  <{tag}/>\n</Sequence>"))
    with pytest.raises(MissionInvalid) as info:
        Resolver(check_interfaces=False).mission(path)
    assert f"t.xml:4:3: <{tag}>: BT.CPP's {tag} has no equivalent here yet" in str(info.value)


# -- generated trees ------------------------------------------------------------------------------

KEYS = ["a", "b"]
CONDITION = st.builds(lambda k, op, n: f'<ScriptCondition code="{k} {op} {n}"/>', st.sampled_from(KEYS),
                      st.sampled_from(["&lt;", "&gt;", "==", "!="]), st.integers(0, 4))
SCRIPT = st.builds(lambda k, n: f'<Script code="{k} += {n}"/>', st.sampled_from(KEYS), st.integers(1, 2))
LEAF = st.one_of(st.just(S), st.just(F), CONDITION, SCRIPT)
PRE = st.sampled_from(["", ' _skipIf="a &gt; 1"', ' _failureIf="b == 2"', ' _successIf="a == 3"', ' _while="b &lt; 3"',
                       ' _onSuccess="b += 1"', ' _onFailure="a += 1"', ' _post="c := a + b"'])


def _with(pre, xml):
    tag_end = xml.index(">") if not xml.startswith("<Script") else xml.index("/>")
    if xml[tag_end - 1] == "/":
        tag_end -= 1
    return xml[:tag_end] + pre + xml[tag_end:]


def _composite(children):
    two = children if len(children) >= 2 else children * 2
    return st.one_of(
        st.sampled_from(["Sequence", "ReactiveSequence", "SequenceWithMemory", "AsyncSequence", "Fallback",
                         "ReactiveFallback", "AsyncFallback", "ParallelAll"]).map(lambda tag: seq(*children, tag=tag)),
        st.tuples(st.integers(-len(children), len(children)), st.integers(-len(children), len(children))).filter(
            lambda counts: 0 not in counts).map(lambda counts: '<Parallel success_count="%d" failure_count="%d">%s'
                                                               "</Parallel>" % (*counts, "".join(children))),
        st.sampled_from(["IfThenElse", "WhileDoElse"]).map(lambda tag: f'<{tag}>{"".join(two[:3])}</{tag}>'),
        st.sampled_from(["0", "1", "x"]).map(lambda case: f'<Switch2 variable="{{a}}" case_1="{case}" case_2="2">'
                                                          f'{"".join((two * 2)[:3])}</Switch2>'),
        st.sampled_from(["Inverter", "ForceSuccess", "ForceFailure", "RunOnce", "KeepRunningUntilFailure"]).map(
            lambda tag: f"<{tag}>{children[0]}</{tag}>"),
        st.integers(-1, 3).map(lambda n: f'<Repeat num_cycles="{n}">{children[0]}</Repeat>'),
        st.integers(-1, 3).map(lambda n: f'<RetryUntilSuccessful num_attempts="{n}">{children[0]}</RetryUntilSuccessful>'),
        st.sampled_from(["SUCCESS", "FAILURE", "SKIPPED"]).map(
            lambda status: f'<Precondition if="a &lt; 2" else="{status}">{children[0]}</Precondition>'),
        st.sampled_from(["1", "2;0", "3;1;2"]).map(
            lambda values: f'<LoopInt queue="{values}" value="{{c}}">{children[0]}</LoopInt>'),
    )


TREES = st.recursive(LEAF, lambda inner: st.lists(st.tuples(PRE, inner).map(lambda p: _with(*p)),
                                                  min_size=1, max_size=3).flatmap(_composite), max_leaves=8)
# The tree as the main tree's child, or as a subtree: every name shared (_autoremap), or a and b swapped.
USES = st.sampled_from(["", '_autoremap="true"', 'a="{b}" b="{a}" c="{c}"'])


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(tree=TREES, use=USES)
def test_generated_trees_end_as_in_btcpp(tree, use, tmp_path):
    subtrees = ""
    if use:
        subtrees, tree = f'<BehaviorTree ID="sub">{tree}</BehaviorTree>\n', f'<SubTree ID="sub" {use}/>'
    xml = document(seq('<Script code="a := 0; b := 0; c := 0"/>', tree), subtrees)
    theirs = run_btcpp(xml)
    assume(theirs[0] != "RUNNING")      # not ended within the ticks: nothing to compare
    ours = run_ours(xml, tmp_path)
    assert ours[0] == theirs[0], f"outcome: ours {ours[0]}, BT.CPP {theirs[0]}\n{xml}"
    if ours[0] != "error":
        assert ours[1].keys() == theirs[1].keys() and all(_same(ours[1][k], theirs[1][k]) for k in ours[1]), \
            f"blackboard: ours {ours[1]}, BT.CPP {theirs[1]}\n{xml}"


# -- errors speak XML ------------------------------------------------------------------------------

def _errors(xml, tmp_path):
    path = tmp_path / "groot.xml"
    path.write_text(xml)
    with pytest.raises(MissionInvalid) as info:
        Resolver(check_interfaces=False).mission(path)
    return [str(e).split("groot.xml:", 1)[1] for e in info.value.errors]


def test_xml_errors_name_the_element_the_attribute_and_line_col(tmp_path):
    subtrees = '<BehaviorTree ID="visit">\n  <Navigate pose="{target}" timeout="soon"/>\n</BehaviorTree>\n'
    xml = document('<Sequence>\n'
                   '  <Navigte pose="{goal}"/>\n'
                   '  <Sleep msec="5" seconds="1"/>\n'
                   '  <Script code="x := := 1"/>\n'
                   '  <SubTree ID="visit" target="{goal}"/>\n'
                   '  <IfThenElse><AlwaysSuccess/></IfThenElse>\n'
                   '  <RetryUntilSuccessful num_attempts="two"><AlwaysSuccess/></RetryUntilSuccessful>\n'
                   '</Sequence>', subtrees)
    lines = _errors(xml, tmp_path)
    assert lines == [
        "4:3: <Navigte>: unknown node type 'Navigte' (did you mean 'Navigate'?)",
        "5:3: <Sleep> attribute 'seconds': BT.CPP's Sleep has no port 'seconds' (its ports: msec)",
        lines[2],
        "8:3: <IfThenElse>: <IfThenElse> takes 2 or 3 children, found 1",
        "9:3: <RetryUntilSuccessful> attribute 'num_attempts': expected an integer, got 'two'",
        "13:3: <Navigate> attribute 'timeout': expected a number, got 'soon'",
    ], lines
    assert lines[2].startswith("6:3: <Script> attribute 'code': ")
    assert not any("tree.sequence" in line for line in lines)       # no YAML key paths


@pytest.mark.parametrize("xml, message", [
    (document('<SubTree ID="a"/>', '<BehaviorTree ID="a"><SubTree ID="a"/></BehaviorTree>\n'),
     "subtree 'a' uses itself (main -> a -> a)"),
    (document('<SubTree ID="t0"/>', "".join(
        f'<BehaviorTree ID="t{i}"><Sequence><SubTree ID="t{i + 1}"/><SubTree ID="t{i + 1}"/></Sequence></BehaviorTree>\n'
        for i in range(40)) + '<BehaviorTree ID="t40"><AlwaysSuccess/></BehaviorTree>\n'),
     "more than 100000 behaviours once its subtrees are expanded"),
    (document("<Inverter>" * 150 + "<AlwaysSuccess/>" + "</Inverter>" * 150), "nested deeper than 200 levels"),
    (document('<SubTree ID="nowhere"/>'), "no <BehaviorTree ID='nowhere'> in this file"),
    (document('<LoopInt queue="1;x" value="{v}"><AlwaysSuccess/></LoopInt>'),
     "<LoopInt> attribute 'queue': 'x' is not an integer"),
    (document('<LoopInt queue="{q}" value="{v}"><AlwaysSuccess/></LoopInt>'),
     "a queue on the blackboard has no equivalent here yet"),
])
def test_hostile_xml_is_refused_with_a_clear_error(xml, message, tmp_path):
    assert any(message in line for line in _errors(xml, tmp_path))


def test_a_run_shows_skipped_behaviours_as_skipped(tmp_path):
    """BT.CPP's SKIPPED reaches the run (and so its log, snapshots and views): shown as SKIPPED."""
    from executive.run import MissionRun

    path = tmp_path / "skips.xml"
    path.write_text(document(seq('<Script code="n := 0"/>', '<AlwaysFailure name="never" _skipIf="n == 0"/>',
                                 seq('<AlwaysSuccess name="inner" _skipIf="true"/>', tag="Fallback"),
                                 '<Script name="after" code="n := 1"/>')))
    py_trees.blackboard.Blackboard.storage.clear()
    mission = Resolver(check_interfaces=False).mission(path)
    run = MissionRun(mission, compile_mission(mission))
    events = []
    run._write = lambda event, **data: events.append((event, data))     # what the run log would get
    try:
        seed_blackboard(mission)
        run.tick()
        shown = {b.name: run.shown_status(b) for b in run.behaviours}
        assert run.result is not None and run.result.outcome == "succeeded"
        assert shown["never"] == "SKIPPED" and shown["inner"] == "SKIPPED" and shown["fallback"] == "SKIPPED"
        assert shown["after"] == "SUCCESS" and shown["main"] == "SUCCESS"
        changes = [(d["path"].rsplit("/", 1)[-1], d["status"]) for e, d in events if e == "status"]
        assert ("fallback", "SKIPPED") in changes and ("fallback", "SUCCESS") not in changes, changes
    finally:
        run.shutdown()


def test_a_node_skipped_once_runs_when_its_condition_no_longer_holds(tmp_path):
    assert_same(document(seq('<Script code="n := 0"/>', '<Repeat num_cycles="4"><Sequence>'
                             '<Script code="n += 1" _skipIf="n == 1"/><AlwaysSuccess/></Sequence></Repeat>',
                             '<Script code="n := n * 10" _skipIf="n == 0"/>')), tmp_path)


@pytest.mark.parametrize("name", NODES)
def test_imported_then_exported_runs_in_btcpp_as_the_original(name, tmp_path):
    """Export writes each built-in back as BT.CPP's own node, with its meaning."""
    from executive.language import btcpp

    path = tmp_path / "tree.xml"
    path.write_text(document(NODES[name]))
    exported = btcpp.dumps(Resolver(check_interfaces=False).mission(path))
    assert "TreeNodesModel" not in exported or "<Action" not in exported
    original, again = run_btcpp(document(NODES[name])), run_btcpp(exported)
    assert again[0] == original[0] and again[1] == original[1], exported


@pytest.mark.parametrize("element, message", [
    ('<SetBlackboard output_key="{n}" value="1"/>', "output_key='{n}': BT.CPP would use the entry named by"),
    ('<UnsetBlackboard key="{n}"/>', "key='{n}': BT.CPP would use the entry named by"),
    ('<Switch2 variable="mode" case_1="a" case_2="b"><AlwaysSuccess/><AlwaysSuccess/><AlwaysSuccess/></Switch2>',
     "variable='mode': BT.CPP would compare that text itself"),
])
def test_ports_whose_text_btcpp_reads_indirectly_are_refused(element, message, tmp_path):
    assert any(message in line for line in _errors(document(seq('<Script code="n := 0"/>', element)), tmp_path))


def test_conditions_and_btcpp_kinds_are_written_in_yaml_too(tmp_path):
    """The kinds BT.CPP's nodes import to are the mission language's: a YAML mission may use them."""
    path = tmp_path / "m.yaml"
    path.write_text("name: m\nblackboard: {n: 0}\ntree:\n  sequence:\n    children:\n"
                    "      - conditions: {skip_if: 'n == 0', on_success: 'hit := 1', child: {always_failure: {}}}\n"
                    "      - if_then_else:\n          children:\n            - condition: {check: 'n == 0', dialect: btcpp}\n"
                    "            - script: {code: \"branch := 'then'\", dialect: btcpp}\n"
                    "            - script: {code: \"branch := 'else'\", dialect: btcpp}\n")
    py_trees.blackboard.Blackboard.storage.clear()
    mission = Resolver(check_interfaces=False).mission(path)
    root = compile_mission(mission)
    seed_blackboard(mission)
    root.tick_once()
    assert root.status == Status.SUCCESS
    assert py_trees.blackboard.Blackboard.get("/branch") == "then"
    assert not py_trees.blackboard.Blackboard.exists("/hit")        # skipped: no post-condition ran


def test_a_node_with_conditions_is_reset_as_one(tmp_path):
    """Found by the generated trees: a Repeat resets its child, conditions and all."""
    assert_same(document(seq('<Script code="a := 0; c := 0"/>', '<Repeat num_cycles="2"><LoopInt queue="1" '
                             'value="{c}" _skipIf="a &gt; 1"><Script code="a += 1"/></LoopInt></Repeat>')), tmp_path)


def test_the_tip_of_a_parallel_is_a_running_leaf(tmp_path):
    """What the run's live line shows (``tip()``): a child that runs, as py_trees' Parallel does."""
    path = tmp_path / "p.xml"
    path.write_text(document('<Parallel success_count="-1" failure_count="1"><AlwaysSuccess name="quick"/>'
                             '<KeepRunningUntilFailure name="busy"><AlwaysSuccess name="inner"/>'
                             '</KeepRunningUntilFailure><AlwaysSuccess name="last"/></Parallel>'))
    root = compile_mission(Resolver(check_interfaces=False).mission(path))
    root.tick_once()
    assert root.status == Status.RUNNING and root.tip().name == "inner"     # under "busy"
