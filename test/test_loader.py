"""The mission loader (executive/language/loader.py): libyaml's parser, YAML 1.2 core scalars,
the position of every key and item, and bounds on what a hostile text can cost.

The loader it replaced (ruamel.yaml's round-trip loader, YAML 1.2) is the reference: every shipped
mission and every file of the broken-mission corpus loads to the same document, with the same
position for every key, value and item, or fails at the same line.
"""
import pathlib
import sys
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from executive.language import loader
from executive.language.errors import MissionInvalid

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = sorted(ROOT.glob("missions/*.yaml")) + sorted(ROOT.glob("test/broken/**/*.yaml"))


def reference(text):
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml.load(text)


def typed(data):
    """Plain data with each scalar tagged by its type (ruamel's scalar subclasses as their base)."""
    if isinstance(data, dict):
        return {k: typed(v) for k, v in data.items()}
    if isinstance(data, list):
        return [typed(v) for v in data]
    for kind in (bool, int, float, str):
        if isinstance(data, kind):
            return kind.__name__, kind(data)
    return type(data).__name__, data


def reference_positions(data, path=()):
    out = {}
    if isinstance(data, CommentedMap):
        for key in data:
            out[path + (key, "key")] = tuple(n + 1 for n in data.lc.key(key))
            out[path + (key, "value")] = tuple(n + 1 for n in data.lc.value(key))
            out.update(reference_positions(data[key], path + (key,)))
    elif isinstance(data, CommentedSeq):
        for i, item in enumerate(data):
            out[path + (i,)] = tuple(n + 1 for n in data.lc.item(i))
            out.update(reference_positions(item, path + (i,)))
    return out


def positions(data, path=()):
    out = {}
    if isinstance(data, loader.Mapping):
        for key in data:
            out[path + (key, "key")] = data.keys_at[key]
            out[path + (key, "value")] = data.values_at[key]
            out.update(positions(data[key], path + (key,)))
    elif isinstance(data, loader.Sequence):
        for i, item in enumerate(data):
            out[path + (i,)] = data.items_at[i]
            out.update(positions(item, path + (i,)))
    return out


def _scalars(data):
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _scalars(value)
    elif isinstance(data, list):
        for item in data:
            yield from _scalars(item)
    else:
        yield data


def _beyond_a_double(value) -> bool:
    return type(value) is int and abs(value) > sys.float_info.max


def test_the_corpus_is_all_there():
    assert len(CORPUS) >= 70


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_mission_loads_as_before(path):
    text = path.read_text()
    try:
        before = reference(text)
    except Exception as exc:       # ruamel's errors: the same line must be reported
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        with pytest.raises(MissionInvalid) as info:
            loader.parse(text, str(path))
        assert mark is None or info.value.errors[0].line == mark.line + 1, (info.value.errors, mark)
        return
    if any(_beyond_a_double(value) for value in _scalars(before)):
        # Where the loader is stricter than YAML on purpose: a number no double holds is refused.
        with pytest.raises(MissionInvalid) as info:
            loader.parse(text, str(path))
        assert "too large for a number" in str(info.value.errors[0]), info.value.errors
        return
    after = loader.parse(text, str(path))
    assert typed(after) == typed(before)
    assert positions(after) == reference_positions(before)
    if isinstance(before, CommentedMap):
        assert after.start == (before.lc.line + 1, before.lc.col + 1)


# -- YAML 1.2 core scalars ---------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("n", "n"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False), ("tRUE", "tRUE"),
    ("null", None), ("Null", None), ("~", None), ("", None), ("NULL", None), ("nil", "nil"),
    ("010", 10), ("0o10", 8), ("0x1F", 31), ("-0x1", "-0x1"), ("+12", 12), ("-0", 0), ("1_000", "1_000"),
    ("0b101", "0b101"), ("1.5", 1.5), ("1.", 1.0), (".5", 0.5), ("-.5", -0.5), ("1e3", 1000.0), ("1E-2", 0.01),
    (".inf", float("inf")), ("-.Inf", float("-inf")), ("+.INF", float("inf")), ("1:20", "1:20"),
    ("2026-11-30", "2026-11-30"), ("'010'", "010"), ('"true"', "true"), ("! 12", "12"), ("!!str 12", "12"),
    ("!!float 1", 1.0), ("!!int 0x10", 16), ("!!bool false", False), ("!!null ''", None),
])
def test_scalars_mean_what_yaml_1_2_core_says(text, value):
    loaded = loader.value(f"v: {text}\n")["v"]
    assert loaded == value and type(loaded) is type(value)


def test_nan():
    value = loader.value("v: .NaN\n")["v"]
    assert value != value


@settings(deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)))
def test_scalars_read_as_ruamel_reads_them(value):
    """Whatever a YAML 1.2 writer (ruamel, block style as mission files are written) writes, the
    loader reads back as ruamel does. (In flow style ruamel writes ``{v: :0}``, which YAML 1.2
    allows and libyaml's tokenizer, YAML 1.1's, does not: such a text gets a located error.)"""
    import io

    out = io.StringIO()
    writer = YAML(typ="safe")
    writer.default_flow_style = False
    writer.dump({"v": value}, out)
    text = out.getvalue()
    assert typed(loader.value(text)) == typed(reference(text)), text


# -- errors and refusals ----------------------------------------------------------------------

def refused(text, match):
    started = time.monotonic()
    with pytest.raises(MissionInvalid, match=match) as info:
        loader.loads(text, "m.yaml")
    error = info.value.errors[0]
    assert error.file == "m.yaml" and error.line >= 1 and error.column >= 1, error
    return error, time.monotonic() - started


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['ls']", "!!python/name:os.system",
                                 "!custom 1", "!!binary aGk=", "!!timestamp 2001-12-14", "!!set {a}"])
def test_tags_that_construct_objects_are_refused(tag):
    error, _ = refused(f"name: m\ntree: {tag}\n", "is not allowed")
    assert (error.line, error.column) == (2, 7)


def test_duplicate_keys_and_complex_keys_are_refused_where_written():
    assert (refused("name: m\ntree: {}\nname: n\n", "duplicate key 'name'")[0].line) == 3
    refused("name: m\n? [a, b]\n: c\n", "a mapping key must be a scalar")


def test_a_second_document_is_refused():
    assert refused("name: m\n---\nname: n\n", "one YAML document")[0].line == 2


def test_merge_keys_merge_and_explicit_keys_win():
    doc = loader.loads("base: &b {x: 1, y: 2}\npose: {<<: *b, y: 3}\nname: m\n")
    assert doc["pose"] == {"x": 1, "y": 3}
    assert loader.locate(doc, ["pose", "y"]) == (2, 19)
    assert loader.locate(doc, ["pose", "x"]) == (1, 14)     # where the merged value was written


def test_positions_count_characters_not_bytes():
    doc = loader.loads("name: 'é€𝄞'\ntree: {log: {message: 'ü', level: info}}\n")
    assert loader.locate(doc, ["tree", "log", "level"]) == (2, 35)      # 'ü' is one column, two bytes


# The quoted case of issue #16: 427 bytes that stand for billions of nodes.
ALIAS_BOMB = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] +
                       [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]) + \
    "\nname: m\ntree: {wait: {seconds: 1}}\n"


def test_an_alias_bomb_is_refused_fast_with_little_memory():
    assert len(ALIAS_BOMB.encode()) < 500
    tracemalloc.start()
    try:
        error, seconds = refused(ALIAS_BOMB, "mission too large: more than 100,000 nodes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.line <= 9
    assert seconds < 5 and peak < 20_000_000, (seconds, peak)


@settings(deadline=None, max_examples=30)
@given(width=st.integers(2, 20), depth=st.integers(2, 12))
def test_aliases_are_counted_as_expanded(width, depth):
    lines = ["l0: &l0 [x" + ", x" * (width - 1) + "]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    text = "\n".join(lines) + "\nname: m\n"
    size = width + 1                    # l0: its sequence and its items
    total = 1 + 1 + size + 2            # the document, l0's key and l0, name: m
    for _ in range(1, depth):
        size = 1 + width * size         # a sequence of aliases, each as large as what it names
        total += 1 + size
    if total > loader.MAX_NODES:
        refused(text, "mission too large")
    else:
        assert loader.loads(text)["name"] == "m"


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}"), ("- ", "")])
def test_deep_nesting_is_refused_fast(opening, closing):
    depth = 100_000
    if opening == "- ":
        text = "name: m\ntree:\n" + "".join("  " * i + "- \n" for i in range(300))
        refused(text, f"nested deeper than {loader.MAX_DEPTH} levels")
        return
    text = "name: m\ntree: " + opening * depth + "1" + closing * depth + "\n"
    _, seconds = refused(text, f"nested deeper than {loader.MAX_DEPTH} levels")
    assert seconds < 5


def test_nesting_up_to_the_limit_loads_and_the_pipeline_copes():
    """The deepest document the loader accepts goes through schema, resolution and compiling
    with located errors or a tree, never a RecursionError."""
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve_text

    levels = (loader.MAX_DEPTH - 3) // 3        # each level: a node mapping, its kind's, children
    tree = "{wait: {seconds: 0}}"
    for _ in range(levels):
        tree = f"{{sequence: {{children: [{tree}]}}}}"
    mission = resolve_text(f"name: deep\ntree: {tree}\n", ROOT / "missions")
    assert len(list(compile_mission(mission).iterate())) == levels + 1
    with pytest.raises(MissionInvalid, match="unknown node kind 'waitt'"):      # jsonschema's errors too
        resolve_text(f"name: deep\ntree: {tree.replace('wait:', 'waitt:')}\n", ROOT / "missions")
    deeper = f"name: deep\nblackboard: {{k: {'[' * (loader.MAX_DEPTH - 3)}1{']' * (loader.MAX_DEPTH - 3)}}}\ntree: {{wait: {{seconds: 0}}}}\n"
    assert resolve_text(deeper, ROOT / "missions").name == "deep"


def test_a_text_too_large_is_refused_before_parsing():
    text = "name: m\n" + "# " + "x" * loader.MAX_TEXT + "\n"
    error, seconds = refused(text, "mission too large: .* characters")
    assert (error.line, error.column) == (1, 1) and seconds < 1
