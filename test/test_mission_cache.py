"""Compiled missions kept by content (executive/language/cache.py): a repeated goal reuses the
resolved model, an edited file (an include too) is read again, overrides are part of the key, the
cache is bounded, invalid missions are never kept, and every run gets a tree of its own."""
import copy
import pathlib

import py_trees
import pytest

from executive.language.cache import MissionCache
from executive.language.compiler import compile_mission
from executive.language.errors import MissionInvalid
from executive.language.resolve import parse_overrides, resolve, resolve_text
from executive.run import MissionRun

MISSIONS = pathlib.Path(__file__).resolve().parents[1] / "missions"
TEXT = "name: kept\nparameters: {n: {type: int, default: 2}}\ntree: {repeat: {times: '${n}', child: {set: {key: a, value: 1}}}}\n"


def load(cache, text, root, overrides=()):
    return cache.get(("text", text, str(root), tuple(overrides)),
                     lambda: resolve_text(text, root, parse_overrides(overrides)))


def test_a_repeated_mission_is_resolved_once_and_compiled_each_time():
    cache = MissionCache()
    first = load(cache, TEXT, MISSIONS)
    again = load(cache, TEXT, MISSIONS)
    assert again is first and (cache.hits, cache.misses) == (1, 1)
    one, two = compile_mission(first), compile_mission(again)
    assert one is not two
    assert not {id(b) for b in one.iterate()} & {id(b) for b in two.iterate()}
    assert [b.name for b in one.iterate()] == [b.name for b in two.iterate()]


def test_overrides_are_part_of_the_key():
    cache = MissionCache()
    two, three = load(cache, TEXT, MISSIONS), load(cache, TEXT, MISSIONS, ["n=3"])
    assert two.parameters == {"n": 2} and three.parameters == {"n": 3} and cache.misses == 2


def test_an_edited_include_is_read_again(tmp_path):
    lib = tmp_path / "lib.yaml"
    lib.write_text("name: lib\nsubtrees:\n  go: {tree: {log: {message: first}}}\n")
    text = "name: m\ntree: {include: {file: lib.yaml, subtree: go}}\n"
    cache = MissionCache()
    assert load(cache, text, tmp_path).root.fields["message"] == "first"
    assert load(cache, text, tmp_path).root.fields["message"] == "first" and cache.hits == 1
    lib.write_text("name: lib\nsubtrees:\n  go: {tree: {log: {message: second}}}\n")
    assert load(cache, text, tmp_path).root.fields["message"] == "second" and cache.misses == 2
    lib.unlink()
    with pytest.raises(MissionInvalid, match="no mission file 'lib.yaml'"):
        load(cache, text, tmp_path)


def test_an_edited_mission_file_is_read_again(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ntree: {log: {message: one}}\n")
    cache = MissionCache()
    key = ("file", str(path), ())
    assert cache.get(key, lambda: resolve(path)).root.fields["message"] == "one"
    path.write_text("name: m\ntree: {log: {message: two}}\n")
    assert cache.get(key, lambda: resolve(path)).root.fields["message"] == "two"
    assert cache.get(key, lambda: resolve(path)).root.fields["message"] == "two" and cache.hits == 1


def test_invalid_missions_are_not_kept_and_the_cache_is_bounded():
    cache = MissionCache(size=3)
    for _ in range(2):
        with pytest.raises(MissionInvalid):
            load(cache, "name: bad\ntree: {waitt: {}}\n", MISSIONS)
    assert len(cache) == 0 and cache.misses == 2
    for i in range(5):
        load(cache, TEXT, MISSIONS, [f"n={i + 1}"])
    assert len(cache) == 3
    load(cache, TEXT, MISSIONS, ["n=5"])
    assert cache.hits == 1
    load(cache, TEXT, MISSIONS, ["n=1"])         # evicted: resolved again
    assert cache.misses == 8


def test_running_a_kept_model_leaves_it_as_it_was():
    model = load(MissionCache(), TEXT, MISSIONS)
    before = copy.deepcopy(model)
    for _ in range(2):
        py_trees.blackboard.Blackboard.storage.clear()
        root = compile_mission(model)
        run = MissionRun(model, root)
        py_trees.trees.setup(root)
        run.tick_until_idle(max_ticks=100)
        assert run.result.outcome == "succeeded"
        run.shutdown()
    assert model == before


def test_the_executive_keeps_what_goals_load(ros):
    """ExecutiveNode.load: the second identical goal text is a hit, and gets its own tree."""
    from executive.node import ExecutiveNode
    from harness import unique_name

    node = ExecutiveNode(unique_name("cache_exec_"), serve=False, context=ros.context)
    try:
        (model, tree), (again, other) = node.load(TEXT), node.load(TEXT)
        assert again is model and other is not tree and node.mission_cache.hits == 1
        node.load(TEXT, ["n=4"])
        assert node.mission_cache.misses == 2
    finally:
        node.destroy_node()


def test_validation_builds_no_behaviour(monkeypatch):
    """Checking a mission (interfaces included) makes no py_trees behaviour: the only tree is the
    one compiled to run."""
    made = []
    original = py_trees.behaviour.Behaviour.__init__

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        original(self, *args, **kwargs)
    monkeypatch.setattr(py_trees.behaviour.Behaviour, "__init__", counting)
    mission = resolve(MISSIONS / "inspection.yaml")
    assert made == []
    with pytest.raises(MissionInvalid, match="has no field 'named_pos'"):
        resolve(pathlib.Path(__file__).parent / "broken" / "action_goal_unknown_field.yaml")
    assert made == []
    root = compile_mission(mission)
    assert len(made) == len(list(root.iterate()))


def test_a_goal_sent_again_is_not_resolved_again(ros, tmp_path):
    """ExecuteMission goals load through the same cache (off the executor's thread)."""
    from rclpy.parameter import Parameter

    import scenarios
    from executive.node import ExecutiveNode
    from harness import unique_name

    namespace = unique_name("cache_goals")
    node = ExecutiveNode(namespace=f"/{namespace}", context=ros.context,
                         parameter_overrides=[Parameter("log_dir", value=str(tmp_path))])
    ros.executor.add_node(node)
    try:
        for _ in range(2):
            status, result = scenarios.send(ros, TEXT, action=f"/{namespace}/execute_mission").result(30)
            assert result.outcome_code == scenarios.RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
        assert (node.mission_cache.misses, node.mission_cache.hits) == (1, 1)
    finally:
        ros.executor.remove_node(node)
        node.destroy_node()
