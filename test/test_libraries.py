"""Mission libraries (issue #18, part 3): the search path, ``package://`` includes through the
ament index, roots that refuse escapes, pose-typed parameters resolved in the caller, and the
chain of includes in errors. The issue's quoted cases are tests here, with the right values."""
import os
import pathlib
import subprocess
import sys

import pytest

from executive import paths
from executive.language.errors import MissionInvalid
from executive.language.resolve import parse_overrides, resolve

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_BIN = pathlib.Path(sys.executable).parent

LIBRARY = """\
name: lib
poses:
  p1: {x: -7.0, y: -7.0}        # never used: a name given by a caller means the caller's pose
subtrees:
  go:
    parameters:
      where: {type: pose}
    tree:
      navigate: {name: go there, pose: "${where}"}
  go_default:
    parameters:
      where: {type: pose, default: p1}
    tree:
      navigate: {pose: "${where}"}
  broken:
    tree:
      condition: {check: "battery >="}
"""


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def errors_of(call) -> list:
    with pytest.raises(MissionInvalid) as info:
        call()
    return info.value.errors


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Two folders side by side: one's own missions (``mine``), and a shared library (``shared``)."""
    monkeypatch.delenv(paths.ENVIRONMENT, raising=False)
    write(tmp_path / "shared" / "lib.yaml", LIBRARY)
    return tmp_path / "mine", tmp_path / "shared"


def test_the_shipped_common_yaml_is_found_from_ones_own_folder(folders):
    """Issue: from one's own folder `include: {file: common.yaml}` failed with `no mission file
    'common.yaml'`: the package's missions are a root of the search path."""
    mine, _ = folders
    mission = write(mine / "m.yaml", "name: m\ntree: {include: {file: common.yaml, subtree: preflight}}\n")
    model = resolve(mission)
    assert [n.kind for n in model.root.children] == ["health_check", "calibrate"]
    assert model.root.origin == "include common.yaml#preflight"


def test_package_url_finds_the_shipped_library_through_the_ament_index(folders):
    """`include: {file: package://mission_executive/missions/common.yaml}`: the venv's ament
    index (scripts/setup.sh registers the package as colcon would) says where its share is."""
    share = paths.package_share("mission_executive")
    assert share is not None and (share / "missions" / "common.yaml").is_file()
    mine, _ = folders
    mission = write(mine / "m.yaml", "name: m\ntree:\n  include: {file: package://mission_executive/missions/"
                                     "common.yaml, subtree: return_to_dock}\n")
    model = resolve(mission)
    dock = model.root.children[1]
    assert dock.kind == "navigate" and (dock.fields["pose"]["x"], dock.fields["pose"]["y"]) == (0.0, 0.0)


@pytest.mark.parametrize("written, message", [
    ("package://mission_executive/package.xml", "is outside its package's missions directory"),
    ("package://mission_executive/missions/../package.xml", "is outside its package's missions directory"),
    ("package://mission_executive/../../etc/passwd", "is outside its package's missions directory"),
    ("package://no_such_package/missions/x.yaml", "no installed package 'no_such_package'"),
    ("package://mission_executive/missions/nothing.yaml", "no mission file"),
])
def test_package_urls_stay_in_the_packages_missions(folders, written, message):
    mine, _ = folders
    mission = write(mine / "m.yaml", f"name: m\ntree: {{include: {{file: '{written}', subtree: a}}}}\n")
    errors = errors_of(lambda: resolve(mission))
    assert len(errors) == 1 and message in errors[0].message, errors
    assert (errors[0].line, errors[0].column) == (2, 24)      # at the file: key's value


def test_escapes_are_refused_until_a_root_holds_them(folders, monkeypatch):
    """Issue: `../` or an absolute path was "outside the missions directory" whatever one did.
    Now a file in a root of the search path may be named either way; nothing outside the roots
    is opened."""
    mine, shared = folders
    for written in ("../shared/lib.yaml", str(shared / "lib.yaml")):
        mission = write(mine / "m.yaml", f"name: m\nposes: {{p1: {{x: 1, y: 2}}}}\n"
                                         f"tree: {{include: {{file: '{written}', subtree: go, params: {{where: p1}}}}}}\n")
        errors = errors_of(lambda: resolve(mission))
        assert [e.message for e in errors] == [f"{written!r} is outside the mission roots ({mine}, "
                                               f"{paths.missions_dir()})"], errors
        for given in ({"roots": paths.mission_roots(path=[str(shared)])}, None):
            if given is None:
                monkeypatch.setenv(paths.ENVIRONMENT, f"/nonexistent{os.pathsep}{shared}")
                given = {}
            model = resolve(mission, **given)
            assert model.root.fields["pose"]["x"] == 1.0
            monkeypatch.delenv(paths.ENVIRONMENT, raising=False)
    # a bare name is looked for next to the including file, then in each root of the search path
    mission = write(mine / "m.yaml", "name: m\nposes: {p1: {x: 3, y: 4}}\n"
                                     "tree: {include: {file: lib.yaml, subtree: go, params: {where: p1}}}\n")
    assert "no mission file 'lib.yaml'" in errors_of(lambda: resolve(mission))[0].message
    model = resolve(mission, roots=paths.mission_roots(path=[str(shared)]))
    assert (model.root.fields["pose"]["x"], model.root.fields["pose"]["y"]) == (3.0, 4.0)


def test_a_symlink_in_a_root_leading_out_is_refused(folders, tmp_path):
    mine, shared = folders
    (mine / "out").parent.mkdir(parents=True, exist_ok=True)
    (mine / "out").symlink_to(shared)
    mission = write(mine / "m.yaml", "name: m\ntree: {include: {file: out/lib.yaml, subtree: broken}}\n")
    assert "is outside the mission roots" in errors_of(lambda: resolve(mission))[0].message


def test_pose_names_given_to_a_library_resolve_in_the_caller(folders):
    """Issue: `navigate: {pose: "${where}"}` in a library subtree called with `params: {where: p1}`
    failed with `unknown pose 'p1' (poses in this file: none)`, located in the library file."""
    mine, shared = folders
    roots = paths.mission_roots(path=[str(shared)])
    mission = write(mine / "m.yaml", """\
name: m
poses:
  p1: {x: 1.5, y: -2.0, yaw: 0.5}
tree:
  sequence:
    children:
      - include: {file: lib.yaml, subtree: go, params: {where: p1}}
      - include: {file: lib.yaml, subtree: go, params: {where: {x: 4, y: 5}}}
      - include: {file: lib.yaml, subtree: go_default}
""")
    first, second, third = resolve(mission, roots=roots).root.children
    assert first.fields["pose"] == {"x": 1.5, "y": -2.0, "yaw": 0.5, "frame": "map"}
    assert first.name == "go there"
    assert second.fields["pose"] == {"x": 4.0, "y": 5.0, "yaw": 0.0, "frame": "map"}
    assert third.fields["pose"] == {"x": -7.0, "y": -7.0, "yaw": 0.0, "frame": "map"}   # the default's file
    # an unknown name is an error at the include, in the caller's file, naming the caller's poses
    write(mission, mission.read_text().replace("where: p1}", "where: p2}"))
    errors = errors_of(lambda: resolve(mission, roots=roots))
    assert len(errors) == 1, errors
    error = errors[0]
    assert (error.file, error.line, error.column) == (str(mission.resolve()), 7, 64)
    assert error.message == "parameter 'where': unknown pose 'p2'" and error.hint == "poses in m.yaml: p1"


@pytest.mark.parametrize("given, expected", [
    ("where=p1", {"x": 1.5, "y": -2.0, "yaw": 0.0, "frame": "map"}),
    ("where={x: 1, y: 2}", {"x": 1.0, "y": 2.0, "yaw": 0.0, "frame": "map"}),
    ("where={x: 1, y: 2, yaw: 3.0, frame: odom}", {"x": 1.0, "y": 2.0, "yaw": 3.0, "frame": "odom"}),
    (None, {"x": 0.0, "y": 0.5, "yaw": 0.0, "frame": "map"}),
])
def test_a_missions_pose_parameter_takes_a_name_or_a_mapping(tmp_path, given, expected):
    mission = write(tmp_path / "m.yaml", """\
name: m
parameters:
  where: {type: pose, default: {x: 0, y: 0.5}}
poses:
  p1: {x: 1.5, y: -2.0}
tree: {navigate: {pose: "${where}"}}
""")
    model = resolve(mission, parse_overrides([given] if given else []))
    assert model.root.fields["pose"] == expected
    assert model.parameters["where"] == expected


@pytest.mark.parametrize("given, message", [
    ("where=p9", "parameter 'where': unknown pose 'p9' (given when run)"),
    ("where={x: 1}", "a pose needs 'y'"),
    ("where={x: 1, y: 2, z: 3}", "a pose has no 'z'"),
    ("where={x: .nan, y: 2}", "x must be a finite number"),
    ("where={x: true, y: 2}", "x must be a finite number"),
    ("where=3", "parameter 'where' is a pose"),
])
def test_a_wrong_pose_value_is_an_error_naming_the_option(tmp_path, given, message):
    mission = write(tmp_path / "m.yaml", "name: m\nparameters: {where: {type: pose}}\nposes: {p1: {x: 1, y: 2}}\n"
                                         "tree: {navigate: {pose: \"${where}\"}}\n")
    errors = errors_of(lambda: resolve(mission, parse_overrides([given])))
    assert len(errors) == 1 and message in errors[0].message and errors[0].file == "<parameters>", errors


def test_an_error_in_an_included_file_shows_the_chain_of_includes(folders):
    mine, shared = folders
    write(shared / "middle.yaml", "name: middle\nsubtrees:\n  via:\n    tree:\n"
                                  "      include: {file: lib.yaml, subtree: broken}\n")
    mission = write(mine / "m.yaml", "name: m\ntree:\n  sequence:\n    children:\n"
                                     "      - include: {file: middle.yaml, subtree: via}\n")
    errors = errors_of(lambda: resolve(mission, roots=paths.mission_roots(path=[str(shared)])))
    assert len(errors) == 1, errors
    error = errors[0]
    assert error.file == str(shared / "lib.yaml") and error.line == 17
    assert error.included_from == (f"{shared / 'middle.yaml'}:5:7: include lib.yaml#broken",
                                   f"{mission.resolve()}:5:9: include middle.yaml#via")
    assert str(error).splitlines()[1:] == [f"  from {call}" for call in error.included_from]


def test_the_cli_search_path_option_and_variable(folders):
    mine, shared = folders
    mission = write(mine / "m.yaml", "name: m\nposes: {p1: {x: 1, y: 2}}\n"
                                     "tree: {include: {file: lib.yaml, subtree: go, params: {where: p1}}}\n")
    env = {k: v for k, v in os.environ.items() if k != paths.ENVIRONMENT}
    run = lambda *args, **extra: subprocess.run([str(VENV_BIN / "mission"), *args], capture_output=True,  # noqa
                                               text=True, timeout=120, env={**env, **extra})
    refused = run("validate", str(mission))
    assert refused.returncode == 2 and "no mission file 'lib.yaml'" in refused.stderr
    assert run("validate", "--mission-path", str(shared), str(mission)).returncode == 0
    assert run("validate", str(mission), MISSION_PATH=str(shared)).returncode == 0
    # a mission by name is found on the search path too
    named = run("validate", "--mission-path", str(mine), "m")
    assert named.returncode == 2 and "no mission file 'lib.yaml'" in named.stderr   # found, then its include


def test_mission_roots_in_order(tmp_path, monkeypatch):
    """One place decides the roots: missions_dir, the search path given, MISSION_PATH, the package's."""
    a, b, c = (tmp_path / n for n in "abc")
    for d in (a, b, c):
        d.mkdir()
    monkeypatch.setenv(paths.ENVIRONMENT, f"{c}{os.pathsep}{a}")
    assert paths.mission_roots(str(a), f"{b}") == [a, b, c, paths.missions_dir()]
    assert paths.goal_mission(str(c / "x.yaml"), paths.mission_roots()) is None
    write(c / "x.yaml", "name: x\ntree: {wait: {seconds: 0}}\n")
    assert paths.goal_mission("x", paths.mission_roots()) == (c / "x.yaml").resolve()
    with pytest.raises(paths.OutsideRoots):
        paths.goal_mission("../c/x.yaml", paths.mission_roots())
