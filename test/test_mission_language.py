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


def test_six_missions_ship():
    assert {p.stem for p in SHIPPED} == {"patrol", "inspection", "pick_and_place", "multi_robot_patrol",
                                         "recovery_demo", "nav2_delivery"}


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
    assert json.loads((MISSIONS / "schema.json").read_text()) == schema.SCHEMA, \
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
    assert len(CORPUS) >= 40


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


def test_xml_written_by_hand_in_btcpp_style(tmp_path):
    xml = tmp_path / "groot.xml"
    xml.write_text("""<root BTCPP_format="4" main_tree_to_execute="main">
  <BehaviorTree ID="main">
    <ReactiveSequence>
      <Condition ID="Condition" check="battery >= 20"/>
      <RetryUntilSuccessful num_attempts="2">
        <Navigate pose="{goal}"/>
      </RetryUntilSuccessful>
      <SubTree ID="park"/>
    </ReactiveSequence>
  </BehaviorTree>
  <BehaviorTree ID="park">
    <Sleep msec="250"/>
  </BehaviorTree>
</root>
""")
    mission = resolve(xml)
    root = compile_mission(mission)
    kinds = [n.kind for n in mission.nodes()]
    assert kinds == ["sequence", "condition", "retry", "navigate", "wait"]
    assert mission.root.fields["memory"] is False
    nav = next(b for b in root.iterate() if type(b).__name__ == "NavigateTo")
    assert nav.fields_from_blackboard == {"pose": "/goal"}
    assert next(n for n in mission.nodes() if n.kind == "wait").fields["seconds"] == 0.25


def test_xml_errors_are_located(tmp_path):
    xml = tmp_path / "bad.xml"
    xml.write_text('<root BTCPP_format="4">\n  <BehaviorTree ID="t">\n    <Sequence>\n'
                   '      <Navigat pose="{x: 1, y: 2}"/>\n      <Sleep msec="soon"/>\n'
                   '    </Sequence>\n  </BehaviorTree>\n</root>\n')
    with pytest.raises(MissionInvalid) as info:
        resolve(xml)
    lines = [str(e) for e in info.value.errors]
    assert any(":4:7:" in e and "unknown node kind 'navigat'" in e for e in lines), lines
    assert any(":5:7:" in e and "expected a number, got 'soon'" in e for e in lines), lines
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
