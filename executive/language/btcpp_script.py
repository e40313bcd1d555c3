"""How BehaviorTree.CPP v4 evaluates its scripts, for the ``btcpp`` dialect of
:mod:`executive.language.expressions`.

The rules are BT.CPP's own (``scripting/operators.hpp`` and ``utils/safe_any.hpp``, unchanged from
4.8 to 4.10), checked against the real library (the ``behaviortreepy`` wheel) in
``test/test_btcpp_scripts.py``:

- Values are 64-bit integers, doubles, strings, or empty. A Python ``True`` reads as the integer 1.
- Arithmetic is done in doubles: ``1 + 1`` is ``2.0``; ``/`` by zero gives ``inf``. ``&``, ``|``,
  ``^`` need whole numbers. ``&&``/``||`` evaluate both sides (a missing variable is an error even
  where the left side decides) and need numbers: an integer must be 0 or 1, a double counts as
  true unless 0. Results of comparisons and logic are ``1.0``/``0.0``.
- ``+`` joins two strings; ``..`` joins strings and numbers, a double written as ``%f``
  (``'x' .. 1.5`` is ``'x1.500000'``).
- ``==`` of two numbers allows a difference up to float epsilon (1.19e-07). A string compared
  with a number is read as a number (``'true'`` is 1, a registered enum its value, otherwise the
  digits it starts with) and is an error when it has none.
- Chained comparisons stop at the first pair that fails, without evaluating the rest.
- ``c ? a : b``: a number counts when not 0; a string is read as a number.
- ``:=`` creates an entry, ``=`` needs one. The first value fixes an entry's type: a double
  assigned to an integer entry must be whole; a string assigned to a number entry is read as a
  number; a number cannot go into a string entry. ``+=`` on strings concatenates.
- A ScriptCondition's value must be an integer 0 or 1, or a double not below 0.
- Enums (``enums`` of :func:`run`): a name that is an enum is its value (a double), before any
  blackboard entry of that name.
"""
import math
import re

from executive.language.expressions import (Assign, Binary, Compare, Conditional, EvalError, Literal, Name,
                                            Unary)

FLT_EPSILON = 1.1920928955078125e-07
EXACT = 2 ** 53 - 1        # the largest integer a double holds exactly (BT.CPP's checkTruncation)
INT64 = (-2 ** 63, 2 ** 63 - 1)


class _Empty:
    """BT.CPP's empty Any: an entry without a value, or what ``5 .. 6`` returns."""

    def __repr__(self):
        return "<empty>"


EMPTY = _Empty()


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read(value):
    """A blackboard value as BT.CPP holds it: bools are integers; None is empty."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return value
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        return read(value.item())
    return value        # any other type: only an error can come of it, as in BT.CPP


def type_name(value) -> str:
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "std::string"
    return type(value).__name__


def to_double(value) -> float:
    """``Any::cast<double>()`` of a number."""
    if isinstance(value, int) and abs(value) > EXACT:
        raise EvalError("Loss of precision when converting a large integer number to floating point:"
                        f"{value}")
    return float(value)


def to_int(value) -> int:
    """``Any::cast<int64_t>()`` of a number."""
    if isinstance(value, int):
        return value
    if not math.isfinite(value) or value != math.floor(value) or not INT64[0] <= value < 2.0 ** 63:
        raise EvalError("Invalid floating point to integer conversion")
    return int(value)


def to_bool(value) -> bool:
    """``Any::cast<bool>()``: integers must be 0 or 1, doubles are true unless 0."""
    if value is EMPTY:
        raise EvalError("Any::cast failed because it is empty")
    if isinstance(value, (int, float)) and value < 0:
        raise EvalError("Value is negative and can't be converted to unsigned")
    if isinstance(value, int):
        if value not in (0, 1):
            raise EvalError("Implicit casting to bool is not allowed")
        return bool(value)
    if isinstance(value, float):
        return value != 0.0
    raise EvalError(f"[Any::convert]: no known safe conversion between [{type_name(value)}] and [bool]")


def to_text(value) -> str:
    """``Any::cast<std::string>()``: doubles as C's ``%f``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "-inf" if value < 0 else "inf"
        if math.isnan(value):
            return "-nan" if math.copysign(1.0, value) < 0 else "nan"
        return "%f" % value
    raise EvalError(f"[Any::convert]: no known safe conversion between [{type_name(value)}] and [std::string]")


FROM_CHARS = re.compile(r"-?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan(?:\([\w]*\))?)", re.I)


def string_to_double(text: str) -> float:
    """``std::from_chars`` of a double: the number the text starts with."""
    match = FROM_CHARS.match(text)
    if not match:
        raise EvalError("Any failed string to number conversion")
    value = float(match[0])
    mantissa = re.split(r"[eE]", match[0])[0]
    if (math.isinf(value) and "inf" not in match[0].lower()) or (value == 0.0 and re.search(r"[1-9]", mantissa)):
        raise EvalError("Any failed string to number conversion")     # out of range: ERANGE
    return value


def string_number(text: str, enums) -> float:
    """BT.CPP's StringToDouble: 'true'/'false', an enum, or the number the text starts with."""
    if text == "true":
        return 1.0
    if text == "false":
        return 0.0
    if enums and text in enums:
        return float(enums[text])
    return string_to_double(text)


def _not_init(side, op):
    return EvalError(f"The {side} operand of the operator [{op}] is not initialized")


class Evaluator:
    def __init__(self, env, enums=None):
        self.env, self.enums = env, enums or {}

    def name(self, node):
        if node.name in self.enums:
            return float(self.enums[node.name])
        key = node.name.lstrip("@")     # '@key': the root blackboard, which is ours in any case
        if not self.env.exists(key):
            raise EvalError(f"Variable not found: {node.name}", node)
        try:
            return read(self.env.lookup(key))
        except EvalError:
            raise EvalError(f"Variable not found: {node.name}", node) from None

    def value(self, node):
        if isinstance(node, Literal):
            value = node.value
            if isinstance(value, bool):           # BT.CPP >= 4.9: true is the double 1.0
                return 1.0 if value else 0.0
            return value
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Conditional):
            return self.conditional(node)
        if isinstance(node, Assign):
            return self.assign(node)
        raise EvalError(f"{type(node).__name__} is not part of BT.CPP scripts", node)

    def unary(self, node):
        value = self.value(node.operand)
        if _number(value):
            number = to_double(value)
            if node.op == "-":
                return -number
            if node.op == "~":
                if not -2.0 ** 63 <= number < 2.0 ** 63:
                    raise EvalError("Number out of range for bitwise operation", node)
                return float(~int(number))
            return float(not number)
        if isinstance(value, str):
            raise EvalError("Invalid operator for std::string", node)
        raise EvalError("ExprUnaryArithmetic: undefined", node)

    def binary(self, node):
        op = {"and": "&&", "or": "||"}.get(node.op, node.op)
        left, right = self.value(node.left), self.value(node.right)
        if left is EMPTY:
            raise _not_init("left", op)
        if right is EMPTY:
            raise _not_init("right", op)
        if _number(left) and _number(right):
            lv, rv = to_double(left), to_double(right)
            if op in "+-*/":
                return _ieee(op, lv, rv)
            if op in ("&", "|", "^"):
                try:
                    li, ri = to_int(left), to_int(right)
                except EvalError:
                    raise EvalError("Binary operators are not allowed if one of the operands is not an integer",
                                    node) from None
                return float({"&": li & ri, "|": li | ri, "^": li ^ ri}[op])
            if op in ("&&", "||"):
                try:
                    lb, rb = to_bool(left), to_bool(right)
                except EvalError:
                    raise EvalError("Logic operators are not allowed if one of the operands is not castable "
                                    "to bool", node) from None
                return float(lb or rb) if op == "||" else float(lb and rb)
            return EMPTY                          # '..' of two numbers: BT.CPP returns nothing
        if isinstance(left, str) and isinstance(right, str) and op == "+":
            return left + right
        if op == ".." and (isinstance(left, str) or isinstance(right, str)) and \
                all(isinstance(v, str) or _number(v) for v in (left, right)):
            return to_text(left) + to_text(right)
        raise EvalError("Operation not permitted", node)

    def compare(self, node):
        left = self.value(node.operands[0])
        for (op, _), operand in zip(node.ops, node.operands[1:]):
            right = self.value(operand)
            if left is EMPTY:
                raise _not_init("left", op)
            if right is EMPTY:
                raise _not_init("right", op)
            if _number(left) and _number(right):
                holds = _relation(op, to_double(left), to_double(right))
            elif isinstance(left, str) and isinstance(right, str):
                holds = _relation(op, left.encode(), right.encode())
            elif isinstance(left, str) and _number(right):
                holds = _relation(op, string_number(left, self.enums), to_double(right))
            elif _number(left) and isinstance(right, str):
                holds = _relation(op, to_double(left), string_number(right, self.enums))
            else:
                raise EvalError(f"Can't mix different types in Comparison. Left operand [{type_name(left)}] "
                                f"right operand [{type_name(right)}]", node)
            if not holds:
                return 0.0
            left = right
        return 1.0

    def conditional(self, node):
        condition = self.value(node.condition)
        if condition is EMPTY:
            raise EvalError("Any::cast failed because it is empty", node)
        if isinstance(condition, str):
            number = string_to_double(condition)
        elif _number(condition):
            number = to_double(condition)
        else:
            raise EvalError(f"[Any::convert]: no known safe conversion between [{type_name(condition)}] "
                            "and [double]", node)
        return self.value(node.then if number != 0.0 else node.otherwise)

    def assign(self, node):
        key = node.target.name.lstrip("@")
        exists = self.env.exists(key)
        if not exists and node.op != ":=":
            raise EvalError(f"The blackboard entry [{key}] doesn't exist, yet.\nIf you want to create a new "
                            "one, use the operator [:=] instead of [=]", node)
        if not exists:
            self.env.assign(key, None)      # BT.CPP creates the entry, empty, before evaluating
            exists = True
        value = self.value(node.value)
        stored = read(self.env.lookup(key)) if exists else EMPTY
        original = self.env.lookup(key) if exists else None
        if value is EMPTY:
            raise _not_init("right", node.op)
        if node.op in (":=", "="):
            result = self._store(key, stored, value, node)
        else:
            if stored is EMPTY:
                raise _not_init("left", node.op)
            if _number(value):
                if not _number(stored):
                    raise EvalError("This Assignment operator can't be used with a non-numeric type", node)
                result = _ieee(node.op[0], to_double(stored), to_double(value))
            elif isinstance(value, str):
                if node.op != "+=":
                    raise EvalError("Operator not supported for strings", node)
                result = to_text(stored) + value
            else:
                result = stored
            result = _copy_into(stored, result, node)
        self.env.assign(key, _python(result, original))
        return result

    def _store(self, key, stored, value, node):
        if stored is EMPTY:                       # the first value fixes the type
            return value
        if isinstance(value, str) and not isinstance(stored, str):
            if _number(stored):
                return string_number(value, self.enums)
            raise EvalError(f"Error assigning a value to entry [{key}] with type [{type_name(stored)}]. \n"
                            f"The right operand is a string, can't convert to {type_name(stored)}", node)
        try:
            return _copy_into(stored, value, node)
        except EvalError:
            raise EvalError(f"Error assigning a value to entry [{key}] with type [{type_name(stored)}]. \n"
                            f"The right operand has type [{type_name(value)}] and can't be converted to "
                            f"[{type_name(stored)}]", node) from None


def _copy_into(stored, value, node):
    """``Any::copyInto``: the value converted to the type already in the entry."""
    if type(stored) is type(value) or (isinstance(stored, str) and isinstance(value, str)):
        return value
    if _number(stored) and _number(value):
        return to_int(value) if isinstance(stored, int) else to_double(value)
    raise EvalError("Any::copyInto fails", node)


def _python(value, original):
    """What goes back on a Python blackboard: an entry that held true/false keeps doing so."""
    if isinstance(original, bool) and value in (0, 1):
        return bool(value)
    return value


def _ieee(op, left, right) -> float:
    """Double arithmetic as C does it: division by zero is inf or nan, not an exception."""
    if op == "/":
        if right == 0.0:
            if left == 0.0 or math.isnan(left):
                return math.nan
            return math.copysign(math.inf, left) * math.copysign(1.0, right)
        return left / right
    try:
        return {"+": left + right, "-": left - right, "*": left * right}[op]
    except OverflowError:
        return math.inf


def _relation(op, left, right) -> bool:
    """One comparison as BT.CPP's SwitchImpl writes it (so NaN makes < > <= >= hold)."""
    same = abs(left - right) <= FLT_EPSILON if isinstance(left, float) else left == right
    if op == "==":
        return same
    if op == "!=":
        return not same
    return not {"<": left >= right, ">": left <= right, "<=": left > right, ">=": left < right}[op]


def run(program, env, enums=None):
    """Execute every statement, as BT.CPP's ScriptFunction does; the value of the last."""
    evaluator = Evaluator(env, enums)
    value = EMPTY
    for statement in program.statements:
        value = evaluator.value(statement)
    return value


def value_of(node, env, enums=None):
    return Evaluator(env, enums).value(node)


def truth(value, node=None) -> bool:
    """A ScriptCondition's outcome: ``Any::cast<bool>()`` of the script's value."""
    return to_bool(value)


def show(value) -> str:
    if value is EMPTY:
        return "empty"
    if isinstance(value, str):
        return repr(value)
    return repr(value)
