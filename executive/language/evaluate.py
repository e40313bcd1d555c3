"""How the ``yaml`` dialect of :mod:`executive.language.expressions` evaluates: strict types,
short-circuit logic, clear errors.

- Values are numbers (int and float mix freely; ``true`` is not a number), text, ``true``/``false``,
  ``null``, lists, mappings and messages (fields by name, sequences as lists).
- ``and``/``&&``, ``or``/``||``, ``not``/``!`` and ``c ? a : b`` take true/false only and stop
  early: ``ready and battery > 20`` does not read ``battery`` when ``ready`` is false.
- ``==``/``!=`` compare values of one type (``null`` with anything); ``< <= > >=`` numbers or
  text; a number against text is an error, not false.
- ``in``/``not in``: an item of a list, a key of a mapping, or text within text; ``contains`` the
  same with the operands swapped. ``..`` joins the text of scalars (``1.5`` stays ``1.5``).
- ``/`` and ``%`` by zero, and results that are not finite, are errors.
- A name not set, a field a value does not have, an index past the end: errors. A check that
  cannot be evaluated does not hold, and :func:`describe` says why.
- Assignments (``script:`` leaves): ``:=`` creates or overwrites; ``=`` and ``+= -= *= /=`` need
  the entry to exist. An entry keeps its type: a number stays a number (int or float), text stays
  text, true/false stays true/false.
"""
import math

from executive.language.expressions import (Assign, Binary, Compare, Conditional, EvalError, Field, Index,
                                            ListLiteral, Literal, Name, Unary)

NUMBER = (int, float)


def plain(value):
    """Message and numpy values as the plain values expressions compare."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "get_fields_and_field_types") or isinstance(value, (dict, list)):
        return value
    if isinstance(value, (tuple, bytes, bytearray)):
        return list(value)
    if hasattr(value, "tolist"):            # numpy arrays and scalars, array.array
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


def kind(value) -> str:
    """The type of a value in words, for errors."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, NUMBER):
        return "a number"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if hasattr(value, "get_fields_and_field_types"):
        return f"a {type(value).__name__} message"
    return type(value).__name__


def show(value, limit: int = 60) -> str:
    """A value as a mission writes it: ``5``, ``'dock'``, ``true``, ``[1, 2]``."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v, limit) for v in value[:8]) + (", ..." if len(value) > 8 else "") + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {show(v, limit)}" for k, v in list(value.items())[:8]) + "}"
    elif hasattr(value, "get_fields_and_field_types"):
        fields = ", ".join(f"{k}={show(plain(getattr(value, k)), limit)}"
                           for k in list(value.get_fields_and_field_types())[:6])
        text = f"{type(value).__name__}({fields})"
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_number(value) -> bool:
    return isinstance(value, NUMBER) and not isinstance(value, bool)


def _finite(value, node):
    if isinstance(value, float) and not math.isfinite(value):
        raise EvalError(f"the result is not a finite number ({value})", node)
    return value


def _bool(value, node, what):
    if not isinstance(value, bool):
        raise EvalError(f"{what} takes true or false; this is {kind(value)} ({show(value)})", node)
    return value


def field_of(value, name, node):
    """``value.name`` (or ``value[name]`` for an int ``name``) of a message, mapping or list."""
    if isinstance(name, int):
        return index_of(value, name, node)
    if hasattr(value, "get_fields_and_field_types"):
        if name not in value.get_fields_and_field_types():
            raise EvalError(f"{type(value).__name__} has no field {name!r}", node)
        return plain(getattr(value, name))
    if isinstance(value, dict):
        if name not in value:
            raise EvalError(f"the mapping has no key {name!r}", node)
        return plain(value[name])
    raise EvalError(f"{kind(value)} ({show(value)}) has no field {name!r}", node)


def index_of(value, index, node):
    if isinstance(index, bool) or not isinstance(index, int):
        raise EvalError(f"an index is a whole number, not {kind(index)}", node)
    if not isinstance(value, (list, str)):
        raise EvalError(f"{kind(value)} cannot be indexed", node)
    if not -len(value) <= index < len(value):
        raise EvalError(f"index {index} is past the end (length {len(value)})", node)
    return plain(value[index])


def equal(left, right, node) -> bool:
    if left is None or right is None:
        return left is right
    if _is_number(left) and _is_number(right):
        return left == right
    if type(left) is type(right) or (isinstance(left, (list, dict)) and isinstance(right, (list, dict))):
        return left == right
    if hasattr(left, "get_fields_and_field_types") and type(left) is type(right):
        return left == right
    raise EvalError(f"cannot compare {kind(left)} ({show(left)}) with {kind(right)} ({show(right)})", node)


def _member(item, container, node) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise EvalError(f"'in' text needs text on the left, not {kind(item)}", node)
        return item in container
    if isinstance(container, dict):
        return item in container
    if isinstance(container, list):
        return any(_same(item, element) for element in container)
    raise EvalError(f"'in' needs a list, mapping or text on the right, not {kind(container)}", node)


def _same(left, right) -> bool:
    try:
        return equal(left, plain(right), None)
    except EvalError:
        return False


def _order(op, left, right, node) -> bool:
    if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
        raise EvalError(f"{op!r} compares two numbers or two texts, not {kind(left)} ({show(left)}) "
                        f"and {kind(right)} ({show(right)})", node)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def compare(op, left, right, node) -> bool:
    if op == "==":
        return equal(left, right, node)
    if op == "!=":
        return not equal(left, right, node)
    if op == "in":
        return _member(left, right, node)
    if op == "not in":
        return not _member(left, right, node)
    if op == "contains":
        return _member(right, left, node)
    return _order(op, left, right, node)


def text_of(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise EvalError(f"'..' joins numbers, text and true/false, not {kind(value)}")


def _arithmetic(op, left, right, node):
    if op == "..":
        try:
            return text_of(left) + text_of(right)
        except EvalError as exc:
            raise EvalError(exc.message, node) from None
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op in ("&", "|", "^"):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right)):
            raise EvalError(f"{op!r} takes whole numbers, not {kind(left)} and {kind(right)}", node)
        return {"&": left & right, "|": left | right, "^": left ^ right}[op]
    if not (_is_number(left) and _is_number(right)):
        raise EvalError(f"{op!r} takes two numbers{' or two texts' if op == '+' else ''}, not "
                        f"{kind(left)} ({show(left)}) and {kind(right)} ({show(right)})", node)
    if op in ("/", "%") and right == 0:
        raise EvalError("division by zero", node)
    try:
        value = {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
                 "/": lambda: left / right, "%": lambda: left % right}[op]()
    except OverflowError:
        raise EvalError("the result is too large", node) from None
    return _finite(value, node)


def value_of(node, env):
    """Evaluate one expression node on ``env``; raises EvalError."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        try:
            return plain(env.lookup(node.name))
        except EvalError as exc:
            raise EvalError(exc.message, node) from None
    if isinstance(node, Field):
        return field_of(value_of(node.obj, env), node.name, node)
    if isinstance(node, Index):
        return index_of(value_of(node.obj, env), value_of(node.index, env), node)
    if isinstance(node, ListLiteral):
        return [value_of(item, env) for item in node.items]
    if isinstance(node, Unary):
        value = value_of(node.operand, env)
        if node.op in ("not", "!"):
            return not _bool(value, node.operand, f"{node.op!r}")
        if node.op == "~":
            if isinstance(value, bool) or not isinstance(value, int):
                raise EvalError(f"'~' takes a whole number, not {kind(value)}", node)
            return ~value
        if not _is_number(value):
            raise EvalError(f"'-' takes a number, not {kind(value)} ({show(value)})", node)
        return -value
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            left = _bool(value_of(node.left, env), node.left, f"{node.op!r}")
            if left == (node.op == "or"):
                return left
            return _bool(value_of(node.right, env), node.right, f"{node.op!r}")
        return _arithmetic(node.op, value_of(node.left, env), value_of(node.right, env), node)
    if isinstance(node, Compare):
        left = value_of(node.operands[0], env)
        for (op, _), operand in zip(node.ops, node.operands[1:]):
            right = value_of(operand, env)
            if not compare(op, left, right, node):
                return False
            left = right
        return True
    if isinstance(node, Conditional):
        chosen = node.then if _bool(value_of(node.condition, env), node.condition, "'?'") else node.otherwise
        return value_of(chosen, env)
    if isinstance(node, Assign):
        return _assign(node, env)
    raise TypeError(f"not an expression node: {node!r}")


def _assign(node, env):
    name = node.target.name
    exists = env.exists(name)
    if node.op != ":=" and not exists:
        raise EvalError(f"{name} is not set; ':=' creates it", node)
    value = value_of(node.value, env)
    old = plain(env.lookup(name)) if exists else None
    if node.op in ("+=", "-=", "*=", "/="):
        value = _arithmetic(node.op[0], old, value, node)
    if exists and old is not None and value is not None and kind(old) != kind(value) and \
            not (isinstance(old, (list, dict)) and isinstance(value, (list, dict))):
        raise EvalError(f"{name} holds {kind(old)} ({show(old)}); it cannot take {kind(value)} ({show(value)})",
                        node)
    env.assign(name, value)
    return value


def run(program, env):
    """Execute every statement of ``program``; the value of the last."""
    value = None
    for statement in program.statements:
        value = value_of(statement, env)
    return value


def truth(value, node=None) -> bool:
    """A check's value as its outcome: true/false only."""
    return _bool(value, node, "a check")


def _paths(node):
    """The outermost name/field/index chains an expression reads, in order."""
    if isinstance(node, (Name, Field, Index)):
        yield node
        inner = node
        while isinstance(inner, (Field, Index)):
            if isinstance(inner, Index):
                yield from _paths(inner.index)
            inner = inner.obj
        return
    for child in node.children():
        yield from _paths(child)


def describe(check, env) -> str:
    """Why ``check`` does not hold on ``env``, with the values it read."""
    from executive.language import btcpp_script

    rules = btcpp_script if check.dialect == "btcpp" else None
    text = check.text.strip()
    try:
        value = rules.run(check.program, env) if rules else run(check.program, env)
    except EvalError as exc:
        return f"{text} could not be evaluated: {exc.message}"
    try:
        outcome = rules.truth(value, check.program.expression) if rules else truth(value)
    except EvalError as exc:
        return f"{text} is not true or false: {exc.message}"
    verb = "holds" if outcome else "does not hold"
    return f"{text} {verb}" + _values(check, env, rules)


def _values(check, env, rules) -> str:
    shown, seen = [], set()
    for path in _paths(check.program.expression):
        written = check.text[path.pos:path.end]
        if written in seen:
            continue
        seen.add(written)
        try:
            value = rules.value_of(path, env) if rules else value_of(path, env)
            shown.append(f"{written} is {rules.show(value) if rules else show(value)}")
        except EvalError:
            shown.append(f"{written} is not set")
    return f" ({', '.join(shown)})" if shown else ""
