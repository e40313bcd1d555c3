"""The expression language (``yaml`` dialect): grammar, precedence, short-circuit, types, error
positions, and a property test against an oracle written here from the precedence table."""
import operator
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executive.language import evaluate, typecheck
from executive.language.expressions import (EvalError, ExpressionError, MappingEnv, MessageEnv, compile_check,
                                            parse)


def value(text, **data):
    return evaluate.run(parse(text), MappingEnv(data))


def error(text, dialect="yaml", statement=False) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text, dialect, statement)
    return info.value


# -- the cases ---------------------------------------------------------------------------

def test_and_is_an_operator_not_part_of_a_literal():
    check = compile_check("battery != 0 and battery > 20")
    assert not check.holds({"battery": 5})
    assert check.holds({"battery": 25})
    assert check.describe({"battery": 5}) == "battery != 0 and battery > 20 does not hold (battery is 5)"
    assert compile_check("value >= 20 and charging == true").holds({"value": 30, "charging": True})


def test_in_and_contains_work_on_lists_and_text():
    assert value("mode in ['auto', 'manual']", mode="auto") is True
    assert value("mode not in ['auto', 'manual']", mode="off") is True
    assert value("'lidar' in faults", faults=["lidar", "camera"]) is True
    assert value("faults contains 'camera'", faults=["lidar", "camera"]) is True
    assert value("message contains 'FAULT'", message="lidar: ok; camera: FAULT") is True
    assert value("'ok' in message", message="lidar: ok") is True
    assert value("3 in [1, 2]") is False


def test_describe_names_the_values():
    assert compile_check("battery >= 20").describe({"battery": 5}) == "battery >= 20 does not hold (battery is 5)"
    assert compile_check("pose.x > 1 and ready").describe({"pose": {"x": 0.5}, "ready": True}) == \
        "pose.x > 1 and ready does not hold (pose.x is 0.5, ready is true)"
    assert compile_check("battery >= 20").describe({}) == \
        "battery >= 20 could not be evaluated: battery is not set"


# -- precedence and associativity ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 2 - 3", 5), ("8 / 2 / 2", 2.0), ("2 * 3 % 4", 2),
    ("-2 * 3", -6), ("- -2", 2), ("1 + 2 == 3", True), ("(1 < 2) == true", True),
    ("1 < 2 < 3", True), ("3 > 2 > 2", False), ("not 1 == 2", True), ("!true == false", True),
    ("true or false and false", True), ("(true or false) and false", False),
    ("true || false && false", True), ("not true or true", True), ("not (true or true)", False),
    ("1 < 2 ? 'a' : 'b'", "a"), ("false ? 1 : true ? 2 : 3", 2), ("1 + (true ? 1 : 2)", 2),
    ("'a' .. (1 + 2)", "a3"), ("'a' .. 1 .. 2", "a12"), ("6 & 3 | 8", 10), ("1 | 2 ^ 3", 0), ("~0", -1), ("0x10 + 1", 17),
    ("[1, 2][1]", 2), ("'abc'[0]", "a"), ("[1, [2, 3]][1][0]", 2), ("null == null", True),
    ("1.5e2", 150.0), ("2 in [1, 2] and 'x' in 'xyz'", True),
])
def test_precedence(text, expected):
    assert value(text) == expected and type(value(text)) is type(expected)


def test_fields_indexes_and_the_short_index():
    data = {"results": [{"successful": True, "reason": ""}], "pose": {"position": {"x": 1.5}}}
    assert value("results.0.successful", **data) is True
    assert value("results[0].successful == true", **data) is True
    assert value("pose.position.x > 1", **data) is True
    with pytest.raises(EvalError, match="index 1 is past the end"):
        value("results.1.successful", **data)
    with pytest.raises(EvalError, match="the mapping has no key 'y'"):
        value("pose.position.y", **data)


def test_message_fields_and_the_subject():
    from std_srvs.srv import Trigger
    from mission_interfaces.action import NavigateToPose

    response = Trigger.Response(success=False, message="lidar: FAULT")
    check = compile_check("success == true", subject="response")
    assert not check.holds(response)
    assert check.describe(response) == "success == true does not hold (success is false)"
    assert compile_check("response.message contains 'FAULT'", subject="response").holds(response)
    result = NavigateToPose.Result(error_code=NavigateToPose.Result.TIMEOUT)
    assert compile_check("error_code == TIMEOUT", subject="result").holds(result)
    assert MessageEnv(result, "result").lookup("result") is result


# -- short-circuit -------------------------------------------------------------------------------

def test_logic_stops_early():
    assert value("ready and battery > 20", ready=False) is False     # battery is not read
    assert value("ready or battery > 20", ready=True) is True
    assert value("ready ? 1 : missing", ready=True) == 1
    with pytest.raises(EvalError, match="battery is not set"):
        value("ready and battery > 20", ready=True)
    assert value("0 > 1 > missing") is False                          # a chain stops at the first false pair


# -- types at run time ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, data, message", [
    ("battery > '20'", {"battery": 5}, "'>' compares two numbers or two texts"),
    ("mode == 1", {"mode": "auto"}, "cannot compare text ('auto') with a number (1)"),
    ("battery and true", {"battery": 5}, "'and' takes true or false; this is a number (5)"),
    ("not battery", {"battery": 5}, "'not' takes true or false"),
    ("1 / 0", {}, "division by zero"),
    ("1e308 * 10", {}, "the result is not a finite number"),
    ("x.y", {"x": 3}, "a number (3) has no field 'y'"),
    ("5 in 'abc'", {}, "'in' text needs text on the left"),
    ("'a' + 1", {}, "'+' takes two numbers or two texts"),
    ("true < false", {}, "'<' compares two numbers or two texts"),
])
def test_run_time_type_errors(text, data, message):
    with pytest.raises(EvalError, match=re.escape(message)):
        value(text, **data)


def test_a_check_must_be_true_or_false():
    check = compile_check("battery")
    assert not check.holds({"battery": 5})
    assert check.describe({"battery": 5}) == "battery is not true or false: a check takes true or false; this is " \
                                             "a number (5)"


def test_bool_is_not_a_number():
    with pytest.raises(EvalError, match="cannot compare true/false"):
        value("true == 1")


# -- statements ----------------------------------------------------------------------------------

def test_statements_assign_and_keep_types():
    env = MappingEnv({"count": 1, "name": "r"})
    evaluate.run(parse("count += 2; done := count >= 3; name = name .. '2'", statement=True), env)
    assert env.data == {"count": 3, "name": "r2", "done": True}
    with pytest.raises(EvalError, match="missing is not set; ':=' creates it"):
        evaluate.run(parse("missing = 1", statement=True), env)
    with pytest.raises(EvalError, match="count holds a number"):
        evaluate.run(parse("count = 'x'", statement=True), env)


def test_assignments_only_where_statements_are_allowed():
    e = error("battery = 5")
    assert (e.offset, e.message, e.hint) == (8, "'=' assigns; a check only compares",
                                             "write '==' to compare; assignments belong in a script: leaf")
    assert error("x := 1").offset == 2
    assert error("a; b").message == "';' separates statements; a check is one expression"
    assert parse("a := 1; b := a", statement=True).writes() == ["a", "b"]


# -- syntax errors and their positions -----------------------------------------------------------

@pytest.mark.parametrize("text, offset, message", [
    ("battery is high", 8, "unexpected 'is'"),
    ("battery >= ", 11, "the expression ends too early"),
    ("(a", 2, "the expression ends too early"),
    ("a b", 2, "unexpected 'b'"),
    ("1e400 > 2", 0, "1e400 is not a finite number"),
    ("'abc", 0, "this string is not closed"),
    ("3foo > 1", 0, "'3foo' is not a number"),
    ("x == 99999999999999999999", 5, "is out of range (integers are 64-bit)"),
    ("a && and", 5, "unexpected 'and'"),
    ("a ? b", 5, "the expression ends too early"),
    ("[1, 2", 5, "the expression ends too early"),
    ("", 0, "the expression is empty"),
    ("a.", 1, "unexpected '.'"),
])
def test_syntax_errors_point_at_the_token(text, offset, message):
    e = error(text)
    assert e.offset == offset and message in e.message, (e.offset, e.message)


@pytest.mark.parametrize("text, message", [
    ("a and b", "'and' is not an operator of BT.CPP scripts"),
    ("x := \"a\"", "BT.CPP scripts quote strings with ' only"),
    ("7 % 3", "BT.CPP scripts have no '%' operator"),
    ("a.b", "unexpected '.'"),
])
def test_btcpp_syntax(text, message):
    assert message in error(text, "btcpp").message


def test_deep_nesting_is_an_error_not_a_crash():
    assert value("(" * 20 + "1" + ")" * 20) == 1
    assert error("(" * 1500 + "1" + ")" * 1500).message == "the expression is nested too deeply"
    assert error("1" + " + 1" * 2000).message.startswith("the expression is 8001 characters long")
    assert error("1" + " + 1" * 500).message.startswith("the expression is nested too deeply")
    assert value("1" + " + 1" * 99) == 100


# -- static types ---------------------------------------------------------------------------------

def types(text, names, closed=False):
    scope = typecheck.Scope(names, closed=closed, what="field of T")
    return [(e.offset, e.message, e.hint) for e in typecheck.check(parse(text), scope)]


def test_static_types():
    N, T, B = typecheck.NUMBER, typecheck.TEXT, typecheck.BOOL
    assert types("battery >= '20'", {"battery": N}) == [(8, "'>=' compares two numbers or two texts, not a number "
                                                             "and text", "")]
    assert types("battery", {"battery": N}) == [(0, "a check is true or false, but 'battery' is a number",
                                                 "compare it, e.g. 'battery > 0'")]
    assert types("sucess == true", {"success": B, "message": T}, closed=True) == [
        (0, "'sucess' is not a field of T", "did you mean 'success'?")]
    assert types("mode in [1, 2]", {"mode": T}) == [(5, "'in': cannot compare text with a number", "")]
    assert types("unknown > 1 and other", {}) == []          # blackboard keys of unknown type


# -- a property test against an independent oracle --------------------------------------------------
# The oracle evaluates a generated tree with Python's operators; the text it is given to parse is
# written with the fewest parentheses the precedence table below allows, so a wrong precedence or
# associativity in the grammar shows as a different value.

LEVEL = {"?": 1, "or": 2, "and": 3, "not": 4, "cmp": 5, "+": 9, "-": 9, "*": 10, "%": 10, "neg": 11, "atom": 12}
ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "%": operator.mod}
CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
       ">=": operator.ge}


class Missing(Exception):
    pass


def _wrap(text, level, minimum):
    return f"({text})" if level < minimum else text


def numbers(inner_numbers):
    return st.one_of(
        st.tuples(st.sampled_from(list(ARITH)), inner_numbers, inner_numbers).map(lambda t: ("arith", *t)),
        inner_numbers.map(lambda n: ("neg", n)),
    )


NUMBERS = st.recursive(st.integers(-20, 20).map(lambda i: ("int", i)), numbers, max_leaves=6)


def booleans(inner):
    return st.one_of(
        st.tuples(st.sampled_from(["and", "or"]), inner, inner).map(lambda t: ("logic", *t)),
        inner.map(lambda b: ("not", b)),
        st.tuples(inner, inner, inner).map(lambda t: ("if", *t)),
    )


COMPARISONS = st.tuples(st.sampled_from(list(CMP)), NUMBERS, NUMBERS).map(lambda t: ("cmp", *t))
BOOLEANS = st.recursive(st.one_of(st.booleans().map(lambda b: ("bool", b)), COMPARISONS,
                                  st.just(("missing",))), booleans, max_leaves=6)


def oracle(tree):
    kind = tree[0]
    if kind in ("int", "bool"):
        return tree[1]
    if kind == "missing":
        raise Missing()
    if kind == "neg":
        return -oracle(tree[1])
    if kind == "arith":
        left, right = oracle(tree[2]), oracle(tree[3])
        if tree[1] == "%" and right == 0:
            raise Missing()
        return ARITH[tree[1]](left, right)
    if kind == "cmp":
        return CMP[tree[1]](oracle(tree[2]), oracle(tree[3]))
    if kind == "not":
        return not oracle(tree[1])
    if kind == "logic":
        left = oracle(tree[2])
        if tree[1] == "and":
            return left and oracle(tree[3])
        return left or oracle(tree[3])
    if kind == "if":
        return oracle(tree[2]) if oracle(tree[1]) else oracle(tree[3])
    raise AssertionError(kind)


def render(tree, spelling):
    """(text, level): the fewest parentheses; left-associative operators parenthesise an equal level
    on the right, comparisons (chains) any comparison operand, the conditional its condition."""
    kind = tree[0]
    if kind == "int":
        return (str(tree[1]) if tree[1] >= 0 else f"({tree[1]})"), LEVEL["atom"]
    if kind == "bool":
        return ("true" if tree[1] else "false"), LEVEL["atom"]
    if kind == "missing":
        return "missing", LEVEL["atom"]
    if kind == "neg":
        text, level = render(tree[1], spelling)
        return "-" + _wrap(text, level, LEVEL["atom"]), LEVEL["neg"]
    if kind in ("arith", "logic"):
        op = tree[1]
        level = LEVEL[op]
        left, left_level = render(tree[2], spelling)
        right, right_level = render(tree[3], spelling)
        word = spelling.get(op, op)
        return f"{_wrap(left, left_level, level)} {word} {_wrap(right, right_level, level + 1)}", level
    if kind == "cmp":
        left, left_level = render(tree[2], spelling)
        right, right_level = render(tree[3], spelling)
        level = LEVEL["cmp"]
        return f"{_wrap(left, left_level, level + 1)} {tree[1]} {_wrap(right, right_level, level + 1)}", level
    if kind == "not":
        text, level = render(tree[1], spelling)
        if spelling.get("not") == "!":
            return "!" + _wrap(text, level, LEVEL["atom"]), LEVEL["neg"]
        return "not " + _wrap(text, level, LEVEL["not"]), LEVEL["not"]
    if kind == "if":
        condition, c_level = render(tree[1], spelling)
        then, _ = render(tree[2], spelling)
        otherwise, o_level = render(tree[3], spelling)
        return f"{_wrap(condition, c_level, LEVEL['?'] + 1)} ? {then} : {_wrap(otherwise, o_level, LEVEL['?'])}", \
            LEVEL["?"]
    raise AssertionError(kind)


SPELLINGS = st.sampled_from([{}, {"and": "&&", "or": "||", "not": "!"}])


@settings(deadline=None)
@given(tree=st.one_of(NUMBERS, BOOLEANS), spelling=SPELLINGS)
def test_evaluator_agrees_with_the_oracle(tree, spelling):
    text, _ = render(tree, spelling)
    try:
        expected = oracle(tree)
    except Missing:
        with pytest.raises(EvalError):
            evaluate.run(parse(text), MappingEnv({}))
        return
    assert evaluate.run(parse(text), MappingEnv({})) == expected, text


@settings(deadline=None)
@given(text=st.text(alphabet="ab01 ()+-*/=<>!&|?:.,[]'\"%~^;notandr", max_size=40))
def test_any_text_parses_or_fails_with_a_position(text):
    try:
        program = parse(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text) and exc.message
        return
    try:
        evaluate.run(program, MappingEnv({"a": 1, "b": "x"}))
    except EvalError as exc:
        assert exc.message
