"""The ``btcpp`` dialect against the real BehaviorTree.CPP v4 (the ``behaviortreepy`` wheel): the
same script run as ``<Script code=...>`` and ``<ScriptCondition code=...>`` in BT.CPP and in our
evaluator ends the same way (success, failure or an error) and leaves the same blackboard.

The wheel is BT.CPP 4.8.2. Where 4.8 and the current 4.10 differ, we follow 4.10 and the
generated scripts stay out of the difference (README: "BT.CPP scripts"): binary operators are
left-associative since 4.9 (4.8 grouped ``10 - 2 - 3`` to the right), so generated expressions are
fully parenthesised; ``true`` is the double 1.0 since 4.9 (the integer 1 before), so generated
scripts have no boolean literals; and 4.8 refused some mixes of operators without parentheses.
"""
import math
from xml.sax.saxutils import quoteattr

import behaviortreepy as bt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executive.language import btcpp_script
from executive.language.expressions import EvalError, MappingEnv, parse

SEEDED = {"a": 3, "b": 2.5, "c": "text", "d": "12", "z": 0}


def _bt_value(bb, key):
    """(type, value) of a BT.CPP blackboard entry: 'int', 'double', 'string' or 'empty'."""
    try:
        text = bb.get_string(key)
    except RuntimeError:
        return "empty", None
    probe = bt.BehaviorTreeFactory()
    try:   # a string plus a number is an error in BT.CPP; a number plus 0 is not
        probe.create_tree_from_text(_xml("ScriptCondition", f"{key} + 0 == 0 || true"), bb).tick_once()
    except Exception:
        return "string", text
    if "." in text or "inf" in text or "nan" in text:
        return "double", bb.get_double(key)
    return "int", bb.get_int(key)


def _xml(node, code):
    return (f'<root BTCPP_format="4"><BehaviorTree ID="T"><{node} code={quoteattr(code)}/>'
            f'</BehaviorTree></root>')


def _literal(value) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def run_btcpp(node, code, seed):
    """(outcome, blackboard) of ``code`` in BT.CPP, the blackboard seeded by ``k := literal``."""
    factory = bt.BehaviorTreeFactory()
    bb = bt.Blackboard.create()
    seeding = "; ".join(f"{k} := {_literal(v)}" for k, v in seed.items())
    if seeding:
        factory.create_tree_from_text(_xml("Script", seeding), bb).tick_once()
    try:
        status = factory.create_tree_from_text(_xml(node, code), bb).tick_once()
        outcome = "success" if status == bt.NodeStatus.SUCCESS else "failure"
    except Exception as exc:
        outcome = "error"
        message = str(exc)
        if "error: while parsing" in message or "Error parsing" in message:
            outcome = "syntax"
    return outcome, {k: _bt_value(bb, k) for k in bb.get_keys()}


def run_ours(node, code, seed):
    data = dict(seed)
    env = MappingEnv(data)
    try:
        program = parse(code, "btcpp")
    except Exception:
        return "syntax", {}
    try:
        value = btcpp_script.run(program, env)
        outcome = "success"
        if node == "ScriptCondition":
            outcome = "success" if btcpp_script.truth(value) else "failure"
    except EvalError:
        outcome = "error"
    return outcome, {k: _our_value(v) for k, v in data.items()}


def _our_value(value):
    value = btcpp_script.read(value)
    if value is btcpp_script.EMPTY:
        return "empty", None
    if isinstance(value, str):
        return "string", value
    return ("int" if isinstance(value, int) else "double"), value


def _same(ours, theirs) -> bool:
    if ours[0] != theirs[0]:
        return False
    if ours[0] in ("string", "empty"):
        return ours[1] == theirs[1]
    a, b = float(ours[1]), float(theirs[1])
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same(node, code, seed=SEEDED):
    theirs = run_btcpp(node, code, seed)
    ours = run_ours(node, code, seed)
    assert ours[0] == theirs[0], f"{node} {code!r}: ours {ours[0]}, BT.CPP {theirs[0]}"
    assert ours[1].keys() == theirs[1].keys(), f"{code!r}: keys {sorted(ours[1])} vs {sorted(theirs[1])}"
    for key in ours[1]:
        assert _same(ours[1][key], theirs[1][key]), f"{code!r}: {key} is {ours[1][key]} here, {theirs[1][key]} in BT.CPP"


# -- cases with known answers, each checked against BT.CPP too ----------------------------------

CASES = [
    # (node, code, outcome, entry, type, value)
    ("Script", "x := 1 + 2 * 3", "success", "x", "double", 7.0),
    ("Script", "x := 5 / 2", "success", "x", "double", 2.5),
    ("Script", "x := 'ab' + 'cd'", "success", "x", "string", "abcd"),
    ("Script", "x := 'n=' .. a", "success", "x", "string", "n=3"),
    ("Script", "x := 'n=' .. b", "success", "x", "string", "n=2.500000"),
    ("Script", "x := a > 2 ? 'big' : 'small'", "success", "x", "string", "big"),
    ("Script", "x := (1 < 2) + (3 == 3.0000001)", "success", "x", "double", 2.0),
    ("Script", "x := 0x1F & 6", "success", "x", "double", 6.0),
    ("Script", "x := 1 / 0", "success", "x", "double", math.inf),
    ("Script", "a += 2", "success", "a", "int", 5),
    ("Script", "c += '!'", "success", "c", "string", "text!"),
    ("Script", "a = '7'", "success", "a", "double", 7.0),
    ("Script", "a = 2.5", "error", "a", "int", 3),
    ("Script", "c = 1", "error", "c", "string", "text"),
    ("Script", "nope = 1", "error", None, None, None),
    ("Script", "x := missing && 0", "error", None, None, None),
    ("Script", "x := z && missing", "error", None, None, None),
    ("Script", "x := 2 && 1", "error", None, None, None),
    ("Script", "x := 1.5 && 1", "success", "x", "double", 1.0),
    ("Script", "x := 5 .. 6", "error", None, None, None),
    ("Script", "x := 'a' - 'b'", "error", None, None, None),
    ("Script", "x := 1; y := x + 1", "success", "y", "double", 2.0),
    ("ScriptCondition", "d == 12", "success", None, None, None),
    ("ScriptCondition", "c == 1", "error", None, None, None),
    ("ScriptCondition", "'true' == 1", "success", None, None, None),
    ("ScriptCondition", "1 > 2 > missing", "failure", None, None, None),
    ("ScriptCondition", "'abc' < 'abd'", "success", None, None, None),
    ("ScriptCondition", "a", "error", None, None, None),
    ("ScriptCondition", "z", "failure", None, None, None),
    ("ScriptCondition", "b", "success", None, None, None),
    ("ScriptCondition", "0 - 1.5", "error", None, None, None),
    ("ScriptCondition", "c", "error", None, None, None),
    ("ScriptCondition", "x := 1; x == 1", "success", None, None, None),
]


@pytest.mark.parametrize("node, code, outcome, key, kind, value", CASES, ids=[c[1] for c in CASES])
def test_known_cases(node, code, outcome, key, kind, value):
    result, board = run_ours(node, code, SEEDED)
    assert result == outcome
    if key is not None:
        assert _same(board[key], (kind, value)), board[key]
    assert_same(node, code)


def test_left_associative_as_in_btcpp_4_9():
    """BT.CPP 4.9 fixed #1029: '10 - 2 - 3' is (10 - 2) - 3 (the 4.8 wheel still says 11)."""
    env = MappingEnv({})
    btcpp_script.run(parse("x := 10 - 2 - 3; y := 8 / 2 / 2", "btcpp"), env)
    assert env.data == {"x": 5.0, "y": 2.0}
    assert run_btcpp("Script", "x := 10 - 2 - 3", {})[1]["x"] == ("double", 11.0), "the wheel is no longer 4.8"


def test_true_is_a_double_as_in_btcpp_4_9():
    env = MappingEnv({})
    btcpp_script.run(parse("t := true; s := 'x' .. true", "btcpp"), env)
    assert env.data == {"t": 1.0, "s": "x1.000000"}


def test_enums_are_read_before_entries():
    env = MappingEnv({"RED": 5})
    assert btcpp_script.run(parse("RED == 1 && 'GREEN' == 2", "btcpp"), env, enums={"RED": 1, "GREEN": 2}) == 1.0


def test_python_true_reads_as_the_integer_one():
    env = MappingEnv({"ready": True})
    assert btcpp_script.truth(btcpp_script.run(parse("ready == 1", "btcpp"), env))
    btcpp_script.run(parse("ready = 0", "btcpp"), env)
    assert env.data["ready"] is False     # an entry that held true/false keeps doing so


# -- generated scripts ---------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "d", "z", "n"])     # n is never set
TEXTS = st.sampled_from(["", "x", "1", "12", "2.5", "true", "1e3", "-4", "7up", "inf"])
ATOMS = st.one_of(
    st.integers(0, 1000).map(str),
    st.integers(0, 255).map(lambda i: f"0x{i:X}"),
    st.sampled_from(["0.5", "2.25", "1e3", "3.0", "0.0", "1e-2"]),
    TEXTS.map(lambda t: f"'{t}'"),
    NAMES,
)
BINARY = st.sampled_from(["+", "-", "*", "/", "&", "|", "^", "&&", "||", ".."])
COMPARE = st.sampled_from(["==", "!=", "<", ">", "<=", ">="])


def _expressions(inner):
    return st.one_of(
        st.tuples(inner, BINARY, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, COMPARE, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, COMPARE, inner, COMPARE, inner).map(lambda t: f"({' '.join(t)})"),
        st.tuples(st.sampled_from(["-", "!", "~"]), inner).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
    )


EXPRESSIONS = st.recursive(ATOMS, _expressions, max_leaves=8)
STATEMENTS = st.one_of(
    EXPRESSIONS,
    st.tuples(NAMES, st.sampled_from([":=", "=", "+=", "-=", "*=", "/="]), EXPRESSIONS).map(" ".join),
)
SCRIPTS = st.lists(STATEMENTS, min_size=1, max_size=3).map("; ".join)


@settings(deadline=None)
@given(code=SCRIPTS, node=st.sampled_from(["Script", "ScriptCondition"]))
def test_generated_scripts_end_as_in_btcpp(code, node):
    assert_same(node, code)
