"""The mission language without ROS: shipped missions, the broken-mission corpus, the schema file,
the CLI, and fuzzed input that may only ever produce located MissionErrors."""
import importlib.util
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

import mutations

from executive.language import loader, schema
from executive.language.compiler import compile_mission
from executive.language.errors import MissionInvalid
from executive.language.resolve import check_library, is_library, resolve

ROOT = pathlib.Path(__file__).resolve().parents[1]
MISSIONS = ROOT / "missions"
BROKEN = ROOT / "test" / "broken"
SHIPPED = sorted(p for p in MISSIONS.glob("*.yaml") if not is_library(loader.load(p)))


def missing_packages(path: pathlib.Path) -> list:
    """The interface packages a mission's ``type:`` values name that are not installed (nav2_msgs,
    control_msgs: not on PyPI)."""
    named = re.findall(r"type:\s*([a-z][a-z0-9_]*)/(?:action|srv|msg)/", path.read_text())
    return sorted({name for name in named if importlib.util.find_spec(name) is None})


# Shipped missions as test parameters, each skipped (with its reason) where its interfaces are missing.
SHIPPED_HERE = [pytest.param(p, id=p.stem, marks=pytest.mark.skipif(
    bool(missing_packages(p)), reason=f"{', '.join(missing_packages(p))} not installed (not on PyPI)"))
    for p in SHIPPED]
EXPECT = re.compile(r"^# expect: (?:(?P<file>[\w/.]+\.yaml):)?(?:(?P<line>\d+):(?P<col>\d+) )?(?P<text>.+)$")


def test_the_shipped_missions():
    assert {p.stem for p in SHIPPED} == {"patrol", "inspection", "pick_and_place", "multi_robot_patrol",
                                         "recovery_demo", "nav2_delivery", "guarded_patrol", "battery_return"}


@pytest.mark.parametrize("path", SHIPPED_HERE)
def test_shipped_mission_validates_and_compiles(path):
    mission = resolve(path)
    root = compile_mission(mission)
    assert root.name == mission.name or root.name
    leaves = [b for b in root.iterate() if not b.children]
    assert leaves and all(hasattr(b, "mission_node") for b in root.iterate())


def test_library_validates():
    check_library(MISSIONS / "common.yaml")


def test_schema_file_is_the_generated_schema():
    assert json.loads((MISSIONS / "schema.json").read_text()) == schema.builtin(), \
        "regenerate: python -m executive.language.schema > missions/schema.json"


def test_shipped_missions_pass_the_schema_file_as_editors_use_it():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads((MISSIONS / "schema.json").read_text()))
    for path in MISSIONS.glob("*.yaml"):
        assert not list(validator.iter_errors(YAML(typ="safe").load(path.read_text()))), path


def test_parameter_overrides_are_typed():
    mission = resolve(MISSIONS / "patrol.yaml", {"laps": 5, "robot": "r9"})
    assert mission.parameters == {"robot": "r9", "laps": 5}
    assert mission.root.robot == "r9"
    with pytest.raises(MissionInvalid, match="parameter 'laps' is int, got 'x'"):
        resolve(MISSIONS / "patrol.yaml", {"laps": "x"})
    with pytest.raises(MissionInvalid, match="unknown parameter 'lap'.*did you mean 'laps'"):
        resolve(MISSIONS / "patrol.yaml", {"lap": 3})


def test_namespaces_reach_the_leaves():
    root = compile_mission(resolve(MISSIONS / "multi_robot_patrol.yaml", {"first": "a", "second": "b"}))
    names = {getattr(b, "remote_name", None) for b in root.iterate()} - {None}
    assert {"/a/navigate_to_pose", "/b/navigate_to_pose", "/a/health_check", "/b/calibrate"} <= names


CORPUS = sorted(BROKEN.glob("*.yaml"))


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_mission_reports_expected_errors(path):
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith("# expect: ")]
    assert header, f"{path.name} states no expected error"
    with pytest.raises(MissionInvalid) as info:
        resolve(path, missions_root=BROKEN)
    errors = info.value.errors
    rendered = "\n".join(map(str, errors))
    for line in header:
        m = EXPECT.match(line)
        if m["line"]:
            offset = 0 if m["file"] else len(header)
            assert any(e.line == int(m["line"]) + offset and e.column == int(m["col"]) and m["text"] in str(e)
                       and (not m["file"] or e.file.endswith(m["file"])) for e in errors), \
                f"expected {line[10:]} (line offset {offset}) in:\n{rendered}"
        else:
            assert m["text"] in rendered, f"expected {m['text']!r} in:\n{rendered}"
    for error in errors:
        assert error.file and (error.line > 0 or "<parameters>" in error.file), error


# -- the command line ----------------------------------------------------------------------------

def mission_cli(*args):
    return subprocess.run([str(pathlib.Path(sys.executable).parent / "mission"), *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_validate_exit_codes():
    ok = mission_cli("validate", *[str(p) for p in MISSIONS.glob("*.yaml") if not missing_packages(p)])
    assert ok.returncode == 0, ok.stderr
    bad = mission_cli("validate", str(BROKEN / "many_errors_at_once.yaml"))
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 3
    assert "many_errors_at_once.yaml:10:9: tree.sequence.children[2].navigat: unknown node kind" in bad.stderr


def test_cli_list_and_render():
    listed = mission_cli("list")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [p.stem for p in SHIPPED]
    rendered = mission_cli("render", "inspection", "--format", "ascii")
    assert rendered.returncode == 0 and "wrist scan" in rendered.stdout
    dot = mission_cli("render", "patrol", "--format", "dot", "-p", "laps=3")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph")


def test_cli_render_svg(tmp_path):
    out = tmp_path / "inspection.svg"
    rendered = mission_cli("render", "inspection", "--format", "svg", "--output", str(out))
    assert rendered.returncode == 0, rendered.stderr
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


# -- fuzzing: only located MissionErrors may come out ---------------------------------------------

def _located(exc: MissionInvalid):
    assert exc.errors
    for error in exc.errors:
        assert error.file and error.message
        assert error.line > 0 or error.file == "<parameters>", error


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("missions")
    for path in MISSIONS.glob("*.yaml"):
        shutil.copy(path, root / path.name)
    return root


yaml_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=yaml_text)
def test_fuzz_random_text(fuzz_root, text):
    path = fuzz_root / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        resolve(path)
    except MissionInvalid as exc:
        _located(exc)


SOURCES = sorted(MISSIONS.glob("*.yaml"))


def text_mutations():
    """(file name, a shipped mission or the library with one to three edits)."""
    chars = st.one_of(mutations.CHARS, st.just("\x00"))      # a NUL too: file names must not crash
    return mutations.edited([p.read_text() for p in SOURCES], chars).map(
        lambda edit: (SOURCES[edit[0]].name, edit[1]))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=text_mutations())
def test_fuzz_text_mutations(fuzz_root, mutation):
    """The library mutated under a mission that includes it, or a mission itself: only located
    MissionErrors, and a valid result compiles."""
    name, text = mutation
    target = fuzz_root / name
    original = target.read_text()
    target.write_text(text, encoding="utf-8")
    try:
        path = target if name != "common.yaml" else fuzz_root / "patrol.yaml"
        for mission in ([path] if name != "common.yaml" else [path, fuzz_root / "multi_robot_patrol.yaml"]):
            try:
                compile_mission(resolve(mission, missions_root=fuzz_root))
            except MissionInvalid as exc:
                _located(exc)
        if name == "common.yaml":
            try:
                check_library(target, fuzz_root)
            except MissionInvalid as exc:
                _located(exc)
    finally:
        target.write_text(original)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=32),
                    st.sampled_from(["", "dock", "${robot}", "${nope}", "x == 1", "{", "navigate", "robot1"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.sampled_from(
                                                            ["pose", "seconds", "child", "children", "x", "y",
                                                             "name", "bb", "wait", "navigate", "type"]),
                                                            inner, max_size=3)), max_leaves=6)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, prefix + (index,))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_mutated_missions(fuzz_root, data):
    source = data.draw(st.sampled_from(SHIPPED))
    doc = YAML(typ="safe").load(source.read_text())
    paths = [p for p in _paths(doc) if p]
    target = data.draw(st.sampled_from(paths))
    parent = doc
    for part in target[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "rename"]))
    if action == "replace" or isinstance(parent, list):
        parent[target[-1]] = data.draw(values)
    elif action == "delete":
        del parent[target[-1]]
    else:
        parent[data.draw(st.sampled_from(["tre", "child", "pose", "navigat", "children", "seconds"]))] = \
            parent.pop(target[-1])
    path = fuzz_root / "mutant.yaml"
    with path.open("w") as f:
        YAML().dump(doc, f)
    try:
        compile_mission(resolve(path, missions_root=fuzz_root))
    except MissionInvalid as exc:
        _located(exc)


# -- BehaviorTree.CPP XML ------------------------------------------------------------------------

def _shape(root):
    return [(b.name, type(b).__name__, getattr(b, "remote_name", None)) for b in root.iterate()]


@pytest.mark.parametrize("path", SHIPPED_HERE)
def test_export_then_import_gives_the_same_tree(path, tmp_path):
    from executive.language import btcpp

    mission = resolve(path)
    xml = tmp_path / f"{path.stem}.xml"
    xml.write_text(btcpp.dumps(mission))
    again = resolve(xml)
    assert _shape(compile_mission(again)) == _shape(compile_mission(mission))
    assert again.blackboard == mission.blackboard


GROOT = """<root BTCPP_format="4" main_tree_to_execute="main">
  <BehaviorTree ID="main">
    <ReactiveSequence>
      <Condition ID="Condition" check="battery >= 20"/>
      <SubTree ID="park"/>
      <RetryUntilSuccessful num_attempts="2">
        <Navigate pose="{goal}"/>
      </RetryUntilSuccessful>
    </ReactiveSequence>
  </BehaviorTree>
  <BehaviorTree ID="park">
    <Sleep msec="250"/>
  </BehaviorTree>
</root>
"""


def test_xml_written_by_hand_in_btcpp_style(tmp_path):
    xml = tmp_path / "groot.xml"
    xml.write_text(GROOT)
    mission = resolve(xml)
    root = compile_mission(mission)
    kinds = [n.kind for n in mission.nodes()]
    assert kinds == ["sequence", "condition", "wait", "retry", "navigate"]
    assert mission.root.fields["memory"] is False
    nav = next(b for b in root.iterate() if type(b).__name__ == "NavigateTo")
    assert nav.fields_from_blackboard == {"pose": "/goal"}
    assert next(n for n in mission.nodes() if n.kind == "wait").fields["seconds"] == 0.25
    assert [w.message for w in mission.warnings] == [
        "blackboard key 'battery' is not written by this mission (blackboard:, set:, a script, or a leaf's "
        "result:/response:/feedback:/key:)"]
    # The drive ahead of another child of the ReactiveSequence would be restarted on every tick.
    xml.write_text(GROOT.replace('<SubTree ID="park"/>', "").replace("</RetryUntilSuccessful>",
                                                                    '</RetryUntilSuccessful><SubTree ID="park"/>'))
    with pytest.raises(MissionInvalid, match=r"groot.xml:7:\d+: .*navigate 'navigate' is ahead of other children "
                                             r"of a memory: false sequence"):
        resolve(xml)


def test_xml_errors_are_located(tmp_path):
    xml = tmp_path / "bad.xml"
    xml.write_text('<root BTCPP_format="4">\n  <BehaviorTree ID="t">\n    <Sequence>\n'
                   '      <Navigat pose="{x: 1, y: 2}"/>\n      <Sleep msec="soon"/>\n'
                   '    </Sequence>\n  </BehaviorTree>\n</root>\n')
    with pytest.raises(MissionInvalid) as info:
        resolve(xml)
    lines = [str(e) for e in info.value.errors]
    assert any(":4:7: <Navigat>: unknown node type 'Navigat'" in e for e in lines), lines
    assert any(":5:7: <Sleep> attribute 'msec': expected a number, got 'soon'" in e for e in lines), lines
    huge = tmp_path / "huge.xml"     # a number beyond a double: as YAML read it, not the element's '<Sleep'
    huge.write_text('<root BTCPP_format="4"><BehaviorTree ID="t">\n<Sleep msec="1e400"/>\n</BehaviorTree></root>\n')
    with pytest.raises(MissionInvalid) as info:
        resolve(huge)
    assert any(".inf is not a finite number" in e.message for e in info.value.errors), info.value.errors
    broken = tmp_path / "broken.xml"
    broken.write_text('<root><BehaviorTree ID="t"><Sequence>\n<Sleep msec="1">\n</Sequence></BehaviorTree></root>')
    with pytest.raises(MissionInvalid, match=r"broken.xml:3:3: not valid XML: mismatched tag"):
        resolve(broken)


def test_cli_export(tmp_path):
    out = tmp_path / "patrol.xml"
    result = mission_cli("export", "patrol", "--format", "btcpp-xml", "-o", str(out), "-p", "laps=1")
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith('<root BTCPP_format="4" main_tree_to_execute="patrol">')
    assert mission_cli("validate", str(out)).returncode == 0


def test_loading_and_discarding_missions_leaves_no_blackboard_clients():
    """A long-lived executive loads a mission per goal: validation's throwaway leaves and each
    finished run must unregister their blackboard clients from py_trees' class-wide registry."""
    import py_trees

    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve
    from executive.run import MissionRun

    registry = py_trees.blackboard.Blackboard.clients
    before = len(registry)
    for _ in range(3):
        mission = resolve(MISSIONS / "inspection.yaml", {})
        assert len(registry) == before, "validation left blackboard clients behind"
        run = MissionRun(mission, compile_mission(mission))
        assert len(registry) > before
        run.shutdown()
        assert len(registry) == before


def test_paths_tell_siblings_of_the_same_name_apart():
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve_text
    from executive.run import paths_of

    text = ("name: twins\nrobot: r\ntree: {sequence: {children: [{navigate: {pose: {x: 1.0, y: 0.0}}}, "
            "{navigate: {pose: {x: 0.0, y: 0.0}}}, {sequence: {name: navigate, children: [{wait: {seconds: 1}}]}}]}}\n")
    root = compile_mission(resolve_text(text, MISSIONS, {}))
    assert sorted(paths_of(root).values()) == ["twins", "twins/navigate", "twins/navigate#2", "twins/navigate#3",
                                               "twins/navigate#3/wait"]


# -- issue 14: every case, with the right value ---------------------------------------------------

def _resolve_text(tmp_path, text, overrides=None, name="m.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return resolve(path, overrides, missions_root=tmp_path)


def _errors(tmp_path, text, overrides=None):
    with pytest.raises(MissionInvalid) as info:
        _resolve_text(tmp_path, text, overrides)
    return [str(e)[len(e.file) + 1:] if e.file.endswith("m.yaml") else str(e) for e in info.value.errors]


def _tick(root, times=1):
    import py_trees

    for _ in range(times):
        root.tick_once()
    return root.status


def test_issue_and_is_an_operator(tmp_path):
    import py_trees

    mission = _resolve_text(tmp_path, "name: m\nblackboard: {battery: 5}\n"
                                      "tree: {condition: {check: 'battery != 0 and battery > 20'}}\n")
    py_trees.blackboard.Blackboard.clear()
    root = compile_mission(mission)
    from executive.language.compiler import seed_blackboard
    seed_blackboard(mission)
    assert _tick(root) == py_trees.common.Status.FAILURE
    assert root.failure.message == "battery != 0 and battery > 20 does not hold (battery is 5)"
    py_trees.blackboard.Blackboard.set("/battery", 25)
    assert _tick(root) == py_trees.common.Status.SUCCESS


def test_issue_misspelled_response_field(tmp_path):
    text = ("name: m\ntree:\n  service: {type: std_srvs/srv/Trigger, service: health_check,\n"
            "            success: 'sucess == true'}\n")
    assert _errors(tmp_path, text) == [
        "4:23: tree.service.success: 'sucess' is not a field of Trigger.Response (did you mean 'success'?)"]
    text = "name: m\ntree:\n  action: {type: mission_interfaces/action/NavigateToPose, action: nav, success: 'result.eror_code == 0'}\n"
    assert _errors(tmp_path, text) == [
        "3:90: tree.action.success: result (NavigateToPose.Result) has no field 'eror_code' (did you mean "
        "'error_code'?)"]


def test_issue_default_success_check_needs_its_field(tmp_path):
    text = "name: m\ntree:\n  service: {type: rcl_interfaces/srv/SetParameters, service: robot_sim/set_parameters}\n"
    assert _errors(tmp_path, text) == [
        "3:19: tree.service.type: SetParameters.Response has no field the default check 'success == true' reads "
        "(its fields: results) (write success: with a check of its fields, or success: null to accept any response)"]


def test_issue_repeat_and_retry_counts(tmp_path):
    mission = _resolve_text(tmp_path, "name: m\ntree: {repeat: {times: 0, child: {wait: {seconds: 1}}}}\n")
    assert [str(w)[len(w.file) + 1:] for w in mission.warnings] == [
        "2:24: tree.repeat.times: warning: times: 0 never runs the child: the repeat succeeds at once (as BT.CPP's "
        "Repeat; -1 or forever: true runs it forever)"]
    mission = _resolve_text(tmp_path, "name: m\ntree: {retry: {attempts: 0, child: {wait: {seconds: 1}}}}\n")
    assert "the retry fails at once" in mission.warnings[0].message
    assert _resolve_text(tmp_path, "name: m\ntree: {repeat: {times: -1, child: {wait: {seconds: 1}}}}\n").warnings == []
    assert _errors(tmp_path, "name: m\ntree: {repeat: {times: 2, forever: true, child: {wait: {seconds: 1}}}}\n") == [
        "2:36: tree.repeat.forever: give times: or forever: true, not both"]
    assert _errors(tmp_path, "name: m\ntree: {retry: {child: {wait: {seconds: 1}}}}\n") == [
        "2:15: tree.retry: retry needs attempts:, forever: true (e.g. attempts: 3; attempts: -1 (as in BT.CPP) and "
        "forever: true never stop)"]
    patrol = resolve(MISSIONS / "patrol.yaml", {"laps": 0})
    assert [w.message for w in patrol.warnings] == ["times: 0 never runs the child: the repeat succeeds at once"]
    with pytest.raises(MissionInvalid, match=r"patrol.yaml:32:18: tree.sequence.children\[1\].repeat.times: must be "
                                             r"between -1 and 1000000, got -5 \(from \$\{laps\} = -5 \(given with -p\)\)"):
        resolve(MISSIONS / "patrol.yaml", {"laps": -5})


def _counting_leaf(outcomes):
    """A leaf that returns the given statuses in turn and counts its runs."""
    import py_trees

    class Leaf(py_trees.behaviour.Behaviour):
        def __init__(self):
            super().__init__("leaf")
            self.runs = 0
            self.outcomes = list(outcomes)

        def initialise(self):
            self.runs += 1

        def update(self):
            return self.outcomes.pop(0) if self.outcomes else py_trees.common.Status.SUCCESS

    return Leaf()


def test_repeat_counts_mean_what_btcpp_counts_mean():
    from py_trees.common import Status

    from behaviors.decorators import Repeat, RetryWithBackoff

    leaf = _counting_leaf([])
    assert _tick(Repeat("r", leaf, times=0)) == Status.SUCCESS and leaf.runs == 0
    leaf = _counting_leaf([])
    repeat = Repeat("r", leaf, times=3)
    assert [_tick(repeat) for _ in range(3)] == [Status.RUNNING, Status.RUNNING, Status.SUCCESS] and leaf.runs == 3
    leaf = _counting_leaf([])
    repeat = Repeat("r", leaf, times=-1)
    assert all(_tick(repeat) == Status.RUNNING for _ in range(50)) and leaf.runs == 50
    leaf = _counting_leaf([Status.SUCCESS, Status.FAILURE])
    assert [_tick(Repeat("r", leaf, times=-1)) for _ in range(1)] == [Status.RUNNING]
    leaf = _counting_leaf([])
    assert _tick(RetryWithBackoff("t", leaf, max_attempts=0)) == Status.FAILURE and leaf.runs == 0
    leaf = _counting_leaf([Status.FAILURE] * 30)
    retry = RetryWithBackoff("t", leaf, max_attempts=-1, initial_delay=0.0, factor=1.0)
    statuses = [_tick(retry)]
    while statuses[-1] == Status.RUNNING and len(statuses) < 100:
        statuses.append(_tick(retry))
    assert statuses[-1] == Status.SUCCESS and leaf.runs == 31 and Status.FAILURE not in statuses


def test_repeat_until_a_blackboard_check_holds():
    import py_trees
    from py_trees.common import Status

    from behaviors.basics import Script
    from behaviors.decorators import Repeat
    from executive.language.expressions import compile_check, parse

    py_trees.blackboard.Blackboard.clear()
    py_trees.blackboard.Blackboard.set("/count", 0)
    repeat = Repeat("r", Script("inc", parse("count += 1", statement=True)), times=-1,
                    until=compile_check("count >= 3"))
    statuses = [_tick(repeat) for _ in range(3)]
    assert statuses == [Status.RUNNING, Status.RUNNING, Status.SUCCESS]
    assert py_trees.blackboard.Blackboard.get("/count") == 3


def test_issue_reactive_remote_leaf_is_refused(tmp_path):
    for composite in ("sequence", "fallback"):
        text = (f"name: m\nrobot: r\nposes: {{a: {{x: 1, y: 0}}}}\ntree:\n  {composite}:\n    memory: false\n"
                f"    children:\n      - health_check: {{}}\n      - navigate: {{pose: a}}\n")
        errors = _errors(tmp_path, text)
        assert len(errors) == 1 and errors[0].startswith(
            f"8:9: tree.{composite}.children[0].health_check: health_check 'health_check' is ahead of other "
            f"children of a memory: false {composite}: every tick starts it again, and while its call runs the "
            "children after it are halted (their goals cancelled)")
        assert "refresh: {every: 5.0" in errors[0]
    # The safe pattern validates: refresh keeps the call in the background, the condition checks it.
    guarded = resolve(MISSIONS / "guarded_patrol.yaml")
    assert guarded.warnings == []


def test_issue_robot_namespace_from_a_parameter(tmp_path):
    with pytest.raises(MissionInvalid) as info:
        resolve(MISSIONS / "patrol.yaml", {"robot": "robot 2"})
    assert [str(e) for e in info.value.errors] == [
        f"{MISSIONS / 'patrol.yaml'}:4:8: robot: robot 'robot 2' is not a ROS namespace: a namespace has only "
        "letters, digits, '_' and '/', not ' ' (from ${robot} = 'robot 2' (given with -p))"]
    errors = _errors(tmp_path, "name: m\ntree: {service: {type: std_srvs/srv/Trigger, service: 'health check'}}\n")
    assert errors == ["2:55: tree.service.service: 'health check' is not a ROS name: a name has only letters, "
                      "digits, '_', '/', '~' and {}, not ' '"]
    errors = _errors(tmp_path, "name: m\nrobot: r1\ntree: {health_check: {service: 'a//b'}}\n")
    assert errors == ["3:32: tree.health_check.service: '/r1/a//b' is not a ROS name: a name must not contain '//'"]


def test_issue_all_errors_at_once(tmp_path):
    """One file: a schema error used to hide the rest until it was fixed."""
    text = ("name: m\n"                                    # 1
            "poses: {a: {x: 1, y: 0}}\n"                   # 2
            "tree:\n"                                      # 3
            "  sequence:\n"                                # 4
            "    children:\n"                              # 5
            "      - navigat: {pose: a}\n"                 # 6  schema: unknown kind
            "      - navigate: {pose: b}\n"                # 7  resolution: unknown pose
            "      - condition: {check: 'x >= '}\n"        # 8  expression syntax
            "      - wait: {seconds: -1}\n"                # 9  bounds
            "      - sequence:\n"                          # 10
            "          memory: nope\n"                     # 11 schema, in a node with a child
            "          children:\n"
            "            - condition: {check: 'a ==== 1'}\n"   # 13 the child is checked still
            "      - repeat: {times: 0, child: {log: {message: hi}}}\n")   # 14 warning
    errors = _errors(tmp_path, text)
    assert [e.split(":")[0] for e in errors] == ["6", "7", "8", "9", "11", "13", "14"], errors
    assert "unknown node kind 'navigat'" in errors[0] and "unknown pose 'b'" in errors[1]
    assert errors[2].startswith("8:34: tree.sequence.children[2].condition.check: the expression ends too early")
    assert "must be between 0 and 86400, got -1" in errors[3]
    assert "13:39:" in errors[5] and "warning: times: 0" in errors[6]


# A leaf's mistakes, each alone on the leaf; every pair of them gives both errors (not one, then the
# other once it is fixed). The check's misspelled field is the issue's case; the rest are its kind.
LEAF_MISTAKES = {
    "success field": ("success: 'sucess == true'", "'sucess' is not a field of Trigger.Response"),
    "success syntax": ("success: 'success and ('", "the expression ends too early"),
    "bound": ("server_timeout: -1", "must be greater than 0 and at most 3600, got -1"),
    "unknown field": ("feedback_format: x", "service has no field 'feedback_format'"),
    "ROS name": ("service: 'a b'", "'a b' is not a ROS name"),
    "robot": ("robot: 'a b'", "robot 'a b' is not a ROS namespace"),
    "request field": ("request: {nope: 1}", "Trigger_Request has no field 'nope'"),
    "name type": ("name: 3", "expected a string, got 3"),
}


@pytest.mark.parametrize("first, second", [(a, b) for a in LEAF_MISTAKES for b in LEAF_MISTAKES
                                           if a < b and LEAF_MISTAKES[a][0][:5] != LEAF_MISTAKES[b][0][:5]])
def test_a_leafs_mistakes_come_out_together(tmp_path, first, second):
    fields = {"type": "type: std_srvs/srv/Trigger", "service": "service: health_check"}
    for mistake in (first, second):
        text = LEAF_MISTAKES[mistake][0]
        fields[text.split(":")[0]] = text
    errors = _errors(tmp_path, "name: m\ntree:\n  service: {" + ", ".join(fields.values()) + "}\n")
    assert len(errors) == 2, errors
    for mistake in (first, second):
        assert any(LEAF_MISTAKES[mistake][1] in e for e in errors), (mistake, errors)


def test_an_override_out_of_bounds_is_its_one_error(tmp_path):
    """A count given out of bounds with -p is reported once, not also as a missing count."""
    errors = _errors(tmp_path, "name: m\nparameters: {n: {type: int, default: 1}}\n"
                               "tree: {repeat: {times: '${n}', child: {wait: {seconds: 1}}}}\n", {"n": -5})
    assert errors == ["3:24: tree.repeat.times: must be between -1 and 1000000, got -5 (from ${n} = -5 "
                      "(given with -p))"]


def test_overrides_are_parsed_safely():
    from executive.language.resolve import parse_overrides

    assert parse_overrides(["laps=3", "robot=r2", "speed=0.5", "name='[x]'", "flag=true"]) == {
        "laps": 3, "robot": "r2", "speed": 0.5, "name": "[x]", "flag": True}
    for bad, message in [("laps=[", "the value is not YAML"), ("x=!!python/object:os.system ls", "the value is not YAML"),
                         ("laps=1e400", "1e400 is not a finite number"), ("laps=.nan", "is not a finite number"),
                         ("laps", "expected name=value"), ("=3", "expected name=value"),
                         ("a b=1", "is not a parameter name"), ("laps=[1, 2]", "a parameter is a number, text")]:
        with pytest.raises(MissionInvalid) as info:
            parse_overrides(["ok=1", bad])
        (error,) = info.value.errors
        assert error.file == "<parameters>" and error.line == 2 and message in error.message, error


def test_cli_validate_reports_bad_overrides_and_warnings():
    bad = mission_cli("validate", "patrol", "-p", "laps=[")
    assert bad.returncode == 2 and "<parameters>:1:6: laps=[: the value is not YAML" in bad.stderr, bad.stderr
    warned = mission_cli("validate", "patrol", "-p", "laps=0")
    assert warned.returncode == 0 and "valid (1 warning)" in warned.stdout
    assert "patrol.yaml:32:18: tree.sequence.children[1].repeat.times: warning: times: 0 never runs" in warned.stderr


def test_bounds_are_in_the_schema():
    kinds = schema.SCHEMA["$defs"]
    times = kinds["kind_repeat"]["properties"]["times"]["anyOf"][0]
    assert times == {"type": "integer", "minimum": -1, "maximum": 1000000}
    assert kinds["kind_wait"]["properties"]["seconds"]["anyOf"][0] == {"type": "number", "minimum": 0.0,
                                                                         "maximum": 86400.0}
    assert kinds["kind_navigate"]["properties"]["server_timeout"]["anyOf"][0]["exclusiveMinimum"] == 0.0
    from executive.language.kinds import KINDS

    for name, kind in KINDS.items():
        for field_name, field in kind.fields.items():
            if field.type in ("number", "integer"):
                assert field.minimum is not None and field.maximum is not None, f"{name}.{field_name} has no bounds"


# -- ROS names: our rules against rclpy's validators ------------------------------------------------

NAME_TEXT = st.text(alphabet="ab_1/~{} .-", max_size=12)


@settings(deadline=None)
@given(name=NAME_TEXT)
def test_names_agree_with_rclpy(name):
    from rclpy.validate_full_topic_name import validate_full_topic_name
    from rclpy.validate_namespace import validate_namespace
    from rclpy.validate_topic_name import validate_topic_name

    from executive.language import names

    for ours, theirs in ((names.topic_problem, validate_topic_name), (names.namespace_problem, validate_namespace),
                         (names.full_name_problem, validate_full_topic_name)):
        assert (ours(name) == "") == _valid_for_rclpy(theirs, name), (ours.__name__, name, ours(name))


def _valid_for_rclpy(validate, name) -> bool:
    try:
        validate(name)
    except Exception:       # rclpy's Invalid...Exception
        return False
    return True


def test_name_lengths_agree_with_rclpy():
    from rclpy.validate_full_topic_name import validate_full_topic_name
    from rclpy.validate_namespace import validate_namespace

    from executive.language import names

    for length in (240, 245, 246, 247, 248):
        name = "/" + "a" * (length - 1)
        for ours, theirs in ((names.namespace_problem, validate_namespace),
                             (names.full_name_problem, validate_full_topic_name)):
            assert (ours(name) == "") == _valid_for_rclpy(theirs, name), (ours.__name__, length)


# -- sim configs ------------------------------------------------------------------------------------

def test_sim_config_every_mistake_at_once(tmp_path):
    from sim.config import ConfigError, load_config

    path = tmp_path / "sim.yaml"
    path.write_text("faults:\n  navigate_to_pos: {abort_after: 0.5}\n  move_arm: {abort_afer: 1, accept_delay: -1}\n"
                    "navigation: {sped: 2}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [e.split(": ", 1)[1] for e in info.value.errors] == [
        "faults.navigate_to_pos: unknown server 'navigate_to_pos' (did you mean 'navigate_to_pose'?)",
        "faults.move_arm.abort_afer: unknown fault knob 'abort_afer' of move_arm (did you mean 'abort_after'?)",
        "faults.move_arm.accept_delay: accept_delay must not be negative, got -1",
        "navigation.sped: unknown setting navigation.sped (did you mean 'speed'?)"]
    assert [e.split(": ")[0] for e in info.value.errors] == [f"{path}:2:3", f"{path}:3:14", f"{path}:3:43",
                                                            f"{path}:4:14"]


def test_sim_config_knobs_and_servers_come_from_sim_faults():
    from dataclasses import fields

    from sim import faults
    from sim.config import check

    for server, kind in {**faults.SERVERS, **faults.CONTROL_SERVERS}.items():
        for knob in fields(faults.KNOBS[kind]):
            value = json.dumps(knob.default)     # JSON is YAML; every default is a valid setting
            check(f"faults: {{{server}: {{{knob.name}: {value}}}}}\n")
    assert set(yaml_safe(pathlib.Path(faults.__file__).with_name("default_config.yaml"))["faults"]) <= \
        set(faults.SERVERS)
    from sim.config import ConfigError

    with pytest.raises(ConfigError, match="exit_phase must be one of"):
        check("faults: {move_arm: {exit_phase: later}}\n")


def yaml_safe(path):
    return YAML(typ="safe").load(path.read_text())


def test_mission_sim_reports_a_bad_config_and_namespace(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("faults: {navigate_to_pos: {abort_after: 0.5}}\n")
    sim = pathlib.Path(sys.executable).parent / "mission-sim"
    done = subprocess.run([str(sim), "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "did you mean 'navigate_to_pose'?" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([str(sim), "--namespace", "robot 2"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--namespace 'robot 2'" in done.stderr and "Traceback" not in done.stderr


def test_xml_expressions_are_text_as_written(tmp_path):
    xml = tmp_path / "checks.xml"
    xml.write_text('<root BTCPP_format="4"><BehaviorTree ID="t"><Sequence>\n'
                   '  <Script code="ready := true; count := 0"/>\n'
                   '  <Condition check="true"/>\n'
                   '  <Condition check="ready and count == 0" name="both"/>\n'
                   '</Sequence></BehaviorTree></root>\n')
    mission = resolve(xml)
    checks = [n.fields["check"] for n in mission.nodes() if n.kind == "condition"]
    assert [c.text for c in checks] == ["true", "ready and count == 0"]
    assert checks[1].holds({"ready": True, "count": 0})


def test_sim_config_docks_are_checked():
    from sim.config import ConfigError, check

    with pytest.raises(ConfigError) as info:
        check("nav2:\n  docks:\n    bay: {pose: [1.0, 2.0], type: simple_chargin_dock, typo: 1}\n")
    assert [e.split(": ", 1)[1] for e in info.value.errors] == [
        "nav2.docks.bay.pose: expected 3 numbers, got 2",
        "nav2.docks.bay.type: no dock type 'simple_chargin_dock' (did you mean 'simple_charging_dock'?)",
        "nav2.docks.bay.typo: unknown setting 'typo' (did you mean 'type'?)"]
    assert check("nav2:\n  docks:\n    bay: {pose: [1.0, 2.0, 0.0], type: simple_charging_dock}\n")["nav2"]["docks"] \
        == {"bay": {"pose": [1.0, 2.0, 0.0], "type": "simple_charging_dock"}}


def test_refresh_calls_in_the_background_and_keeps_the_last_outcome():
    import py_trees
    from py_trees.common import Status

    from behaviors.decorators import Refresh
    from behaviors.failures import RESPONSE, Failure

    class Call(py_trees.behaviour.Behaviour):
        """A service leaf's shape: RUNNING for one tick, then its outcome, with response and failure."""

        def __init__(self, outcomes):
            super().__init__("call")
            self.outcomes, self.calls, self.response, self.failure, self.stopped = list(outcomes), 0, None, None, 0

        def initialise(self):
            self.calls += 1
            self._ticks = 0

        def update(self):
            self._ticks += 1
            if self._ticks < 2:
                return Status.RUNNING
            ok = self.outcomes.pop(0)
            self.response = {"success": ok}
            self.failure = None if ok else Failure(RESPONSE, "unhealthy")
            return Status.SUCCESS if ok else Status.FAILURE

        def terminate(self, new_status):
            if new_status == Status.INVALID:
                self.stopped += 1

    py_trees.blackboard.Blackboard.clear()
    now = [0.0]
    call = Call([True, False, True])
    refresh = Refresh("fresh", call, every=5.0, key="/health", clock=lambda: now[0])
    assert _tick(refresh) == Status.RUNNING                      # the first call runs
    assert _tick(refresh) == Status.SUCCESS and call.calls == 1
    record = py_trees.blackboard.Blackboard.get("/health")
    assert (record["ok"], record["outcome"], record["response"], record["count"]) == (True, "success",
                                                                                         {"success": True}, 1)
    now[0] = 4.0
    assert _tick(refresh) == Status.SUCCESS and call.calls == 1  # not due yet
    now[0] = 5.0
    assert _tick(refresh) == Status.SUCCESS and call.status == Status.RUNNING and call.calls == 2   # in the background
    assert _tick(refresh) == Status.SUCCESS
    record = py_trees.blackboard.Blackboard.get("/health")
    assert (record["ok"], record["failure"]["reason"], record["count"]) == (False, "response", 2)
    now[0] = 10.0
    _tick(refresh)
    assert call.status == Status.RUNNING
    refresh.stop(Status.INVALID)                                 # halted by its parent: the call is abandoned
    assert call.stopped == 1 and call.status == Status.INVALID
    assert _tick(refresh) == Status.RUNNING                      # started again: waits for a fresh outcome


def test_nan_in_a_mission_is_an_error(tmp_path):
    """(Not in the corpus: the loader's tests compare values, and NaN is not equal to itself.)"""
    assert _errors(tmp_path, "name: m\ntree: {wait: {seconds: .nan}}\n") == [
        "2:24: tree.wait.seconds: .nan is not a finite number"]
