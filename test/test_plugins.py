"""Behaviour plugins (issue #18, part 1), end to end with the example package that make setup
installs (examples/mission_example_plugins): found through its entry points, listed, in the
schema, validated, rendered, exported, and run against the sim and the example's own action
server; a plugin that fails to import is a clear error."""
import json
import os
import pathlib
import select
import subprocess
import sys
import time

import py_trees
import pytest
from py_trees.common import Status

from behaviors import plugins
from executive import paths
from executive.language import btcpp
from executive.language.compiler import compile_mission
from executive.language.kinds import BUILTIN, KINDS
from executive.language.resolve import resolve
from harness import SIM_TIME_SCALE, run_tree, sim_status, start_sim, unique_name

BIN = pathlib.Path(sys.executable).parent
PACKAGE = "mission-example-plugins"
MISSION = """\
name: plug
robot: {robot}
tree:
  sequence:
    children:
      - include: {{file: package://mission_example_plugins/missions/charging.yaml, subtree: top_up,
                  params: {{needed: 450.0}}}}
      - condition: {{name: charged enough, check: "charged.success and charged.percentage >= 0.85"}}
"""


def mission(tmp_path, robot="robot1"):
    path = tmp_path / "plug.yaml"
    path.write_text(MISSION.format(robot=robot))
    return path


def run(*args, **env):
    return subprocess.run([str(BIN / "mission"), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_the_installed_example_declares_its_behaviours_through_entry_points():
    found = plugins.registry()
    assert {k: (p.package, p.entry_point) for k, p in found.items()} == {
        "charge": (PACKAGE, "charge = mission_example_plugins.specs:CHARGE"),
        "estimate_range": (PACKAGE, "estimate_range = mission_example_plugins.specs:ESTIMATE_RANGE")}
    assert "charge" in KINDS and "charge" not in BUILTIN and KINDS["charge"].category == "leaf"
    assert KINDS["charge"].fields["target"].bounds() == "greater than 0 and at most 1"


def test_mission_behaviors_lists_them_with_their_documentation():
    listed = run("behaviors")
    assert listed.returncode == 0, listed.stderr
    assert "charge: charge the battery to a target (mission_example_interfaces/action/Charge)  (package " \
           f"{PACKAGE}: charge = mission_example_plugins.specs:CHARGE)" in listed.stdout
    assert "    target (number, default 0.9, greater than 0 and at most 1): the charge to reach" in listed.stdout
    assert "    writes blackboard {key}: metres left (a number)" in listed.stdout
    assert "navigate:" not in listed.stdout and "navigate:" in run("behaviors", "--all").stdout


def test_mission_schema_writes_the_plugins_kinds(tmp_path):
    out = tmp_path / "schema.json"
    assert run("schema", "-o", str(out)).returncode == 0
    written = json.loads(out.read_text())
    charge = written["$defs"]["kind_charge"]
    assert charge["description"].startswith("charge the battery")
    assert charge["properties"]["target"]["x-bounds"] == "greater than 0 and at most 1"
    assert "kind_charge" not in json.loads((paths.SOURCE_ROOT / "missions" / "schema.json").read_text())["$defs"]


def test_plugins_are_validated_like_built_ins(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ntree:\n  charge: {target: 1.5, colour: red}\n")
    checked = run("validate", str(path))
    assert checked.returncode == 2
    assert f"{path}:3:20: tree.charge.target: must be greater than 0 and at most 1, got 1.5" in checked.stderr
    assert f"{path}:3:25: tree.charge.colour: charge has no field 'colour'" in checked.stderr
    path.write_text("name: bad\ntree:\n  charge: {type: mission_example_interfaces/action/Nothing}\n")
    assert "package 'mission_example_interfaces' has no action named 'Nothing'" in run("validate", str(path)).stderr


def test_render_and_btcpp_export_treat_them_as_kinds(tmp_path):
    path = mission(tmp_path)
    rendered = run("render", "--format", "ascii", str(path))
    assert rendered.returncode == 0 and "range before" in rendered.stdout and "charge" in rendered.stdout
    xml = btcpp.dumps(resolve(path))
    assert '<EstimateRange name="range before" key="range" robot="robot1" />' in xml
    assert '<Charge name="charge" result="charged" timeout="60" robot="robot1" />' in xml
    # Declared in the model (for BT.CPP and Groot2), with their parameters' docs as ports' ...
    assert '<Action ID="Charge">' in xml and '<Action ID="EstimateRange">' in xml
    assert 'name="target" type="double">the charge to reach' in xml
    # ... and read back as the same kinds (the import maps the IDs to the plugins).
    back = tmp_path / "back.xml"
    back.write_text(xml)
    kinds = lambda mission: sorted(node.kind for node in mission.nodes())     # noqa: E731
    assert kinds(resolve(back)) == kinds(resolve(path))


def _start_charger(namespace):
    proc = subprocess.Popen([str(BIN / "example-charger"), "--namespace", namespace], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready and proc.stdout.readline().strip() == "READY":
            return proc
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"example-charger not ready: {proc.stderr.read() if proc.poll() is not None else ''}")


def test_a_mission_with_plugins_runs_on_the_sim(ros, tmp_path):
    """The sim's battery (at 0.2: 100 m of range, short of 450) and the example's charger: the
    range estimate fails the condition, the charge leaf sends its own action type's goal."""
    config = tmp_path / "low.yaml"
    config.write_text("battery: {start: 0.2}\n")
    robot = start_sim(ros, unique_name("plug"), "--config", str(config), time_scale=SIM_TIME_SCALE)
    charger = _start_charger(robot.namespace)
    try:
        py_trees.blackboard.Blackboard.clear()
        model = resolve(mission(tmp_path, robot.namespace))
        root = compile_mission(model)
        assert run_tree(ros, root, timeout=60) == Status.SUCCESS, root.tip().feedback_message
        by_name = {b.name: b for b in root.iterate()}
        assert py_trees.blackboard.Blackboard.get("/range") == pytest.approx(100.0, abs=1.0)
        assert by_name["range enough"].failure.reason == "condition"      # so the fallback charged
        charged = py_trees.blackboard.Blackboard.get("/charged")
        assert charged.success and charged.percentage == pytest.approx(0.9, abs=0.01)
        assert by_name["charge"].mission_node.kind == "charge"      # what the log and the viewer read
        assert sim_status(ros, robot)["battery"]["published"] > 0
    finally:
        charger.terminate()
        charger.wait(10)
        assert robot.stop() == 0


def test_a_plugin_that_fails_to_import_is_a_clear_error(tmp_path):
    """A real installed distribution (a .dist-info on the path) whose entry point names a module
    that is not there."""
    info = tmp_path / "broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{plugins.GROUP}]\noops = not_there.specs:OOPS\n")
    checked = run("validate", "patrol", PYTHONPATH=str(tmp_path))
    assert checked.returncode == 2, checked
    assert checked.stderr.strip() == (
        "mission validate: behaviour plugin 'oops' of package 'broken-plugin' (not_there.specs:OOPS) failed to "
        "import: ModuleNotFoundError: No module named 'not_there'")
