"""Types of expressions, checked when a mission is validated: names and fields against the
message types and blackboard values the mission knows, and operators against their operands.

Message types come from rosidl-generated classes, read by duck typing
(``get_fields_and_field_types()``), so this module imports no ROS package; the caller passes
``load(type_name)`` for nested types. Only the ``yaml`` dialect's rules are checked: BT.CPP
converts between strings and numbers at run time.
"""
import re

from executive.language.errors import did_you_mean
from executive.language.expressions import (Assign, Binary, Compare, Conditional, ExpressionError, Field,
                                            Index, ListLiteral, Literal, Name, Unary)


class Type:
    name = "any"
    closed = False

    def __str__(self):
        return self.name


class Scalar(Type):
    def __init__(self, name, words):
        self.name, self.words = name, words


ANY = Type()
NUMBER = Scalar("number", "a number")
BOOL = Scalar("bool", "true/false")
TEXT = Scalar("text", "text")
NULL = Scalar("null", "null")


class ListOf(Type):
    def __init__(self, item):
        self.item = item
        self.name = f"list of {item}"


class Record(Type):
    """A message or mapping: named fields, computed when first asked for (messages nest deeply)."""

    def __init__(self, name, fields, closed=True, constants=None):
        self.name, self._fields, self.closed = name, fields, closed
        self.constants = constants or {}

    @property
    def fields(self) -> dict:
        if callable(self._fields):
            self._fields = self._fields()
        return self._fields


def words(t) -> str:
    if isinstance(t, Scalar):
        return t.words
    if isinstance(t, ListOf):
        return "a list"
    if isinstance(t, Record):
        return f"a {t.name}" if t.closed else "a mapping"
    return "a value"


NUMERIC = re.compile(r"^(u?int(8|16|32|64)|float(32|64)?|double|byte|char|octet)$")


def field_type(type_string: str, load) -> Type:
    """A rosidl field type ('uint16', 'sequence<double, 5>', 'double[36]', 'geometry_msgs/Pose')."""
    t = type_string.strip()
    sequence = re.match(r"^sequence<(.+?)(?:,\s*\d+)?>$", t)
    if sequence:
        return ListOf(field_type(sequence[1], load))
    array = re.match(r"^(.+)\[\d*\]$", t)
    if array:
        return ListOf(field_type(array[1], load))
    if t == "boolean":
        return BOOL
    if NUMERIC.match(t):
        return NUMBER
    if t.startswith(("string", "wstring")):
        return TEXT
    if "/" in t:
        try:
            return message_type(load(t), load)
        except Exception:       # a nested type that does not import: its fields are not checked
            return ANY
    return ANY


_RECORDS = {}     # message class -> its Record (a class's fields do not change)


def message_type(cls, load) -> Record:
    """The Record of a rosidl message class; ``load('pkg/Name')`` imports nested message classes."""
    if cls not in _RECORDS:
        _RECORDS[cls] = _message_type(cls, load)
    return _RECORDS[cls]


def _message_type(cls, load) -> Record:
    constants = {name: _type_of_value(getattr(cls, name)) for name in dir(cls)
                 if name.isupper() and name != "SLOT_TYPES" and isinstance(getattr(cls, name), (bool, int, float, str))}
    return Record(re.sub(r"_(Request|Response|Goal|Result|Feedback)$", r".\1", cls.__name__),
                  lambda: {name: field_type(t, load) for name, t in cls.get_fields_and_field_types().items()},
                  constants=constants)


DEPTH = 8       # a value nested deeper is of a type not checked (ANY)


def _type_of_value(value, depth=0) -> Type:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    if value is None:
        return NULL
    if depth >= DEPTH:
        return ANY
    if isinstance(value, list):
        return ListOf(same_type([_type_of_value(v, depth + 1) for v in value]) if value else ANY)
    if isinstance(value, dict):
        return Record("mapping", {str(k): _type_of_value(v, depth + 1) for k, v in value.items()}, closed=False)
    return ANY


type_of_value = _type_of_value


def same_type(types) -> Type:
    """One type for values written in several places: the type when all agree, else ANY."""
    types = list(types)
    if types and all(str(t) == str(types[0]) and type(t) is type(types[0]) for t in types):
        return types[0]
    return ANY


class Scope:
    """What names mean in an expression.

    ``names``: name -> Type. ``closed``: a name not in ``names`` is an error (a message's fields);
    else it is a blackboard key of unknown type. ``what``: how to speak of the names ("field of
    Trigger.Response", "blackboard key"). ``alias``: a name for the whole subject (``response``).
    """

    def __init__(self, names, closed=False, what="blackboard key", subject=None, alias=None):
        self.names, self.closed, self.what, self.subject, self.alias = dict(names), closed, what, subject, alias

    @classmethod
    def message(cls, record: Record, alias: str):
        names = dict(record.constants)
        names.update(record.fields)
        if alias not in names:
            names[alias] = record
        return cls(names, closed=True, what=f"field of {record.name}", subject=record, alias=alias)


class Checker:
    """Types of one program's nodes in a scope; every mistake is an ExpressionError."""

    def __init__(self, program, scope: Scope, want_bool=True):
        self.program, self.scope, self.want_bool = program, scope, want_bool
        self.errors = []
        self.locals = {}

    def error(self, node, message, hint="", pos=None, length=None):
        start = node.pos if pos is None else pos
        size = (node.end - node.pos) if length is None else length
        self.errors.append(ExpressionError(message, start, max(size, 1), hint))

    def run(self) -> list:
        for i, statement in enumerate(self.program.statements):
            t = self.type(statement)
            last = i == len(self.program.statements) - 1
            if last and self.want_bool and not isinstance(statement, Assign) and t not in (BOOL, ANY):
                text = self.program.text[statement.pos:statement.end]
                self.error(statement, f"a check is true or false, but {text!r} is {words(t)}",
                           _suggest_comparison(t))
        return self.errors

    def type(self, node) -> Type:
        method = getattr(self, f"_{type(node).__name__.lower()}")
        return method(node)

    def _literal(self, node):
        return _type_of_value(node.value)

    def _listliteral(self, node):
        items = [self.type(i) for i in node.items]
        return ListOf(same_type(items) if items else ANY)

    def _name(self, node):
        if node.name in self.locals:
            return self.locals[node.name]
        if node.name in self.scope.names:
            return self.scope.names[node.name]
        if self.scope.closed:
            known = [n for n in self.scope.names if not n.isupper()]
            self.error(node, f"{node.name!r} is not a {self.scope.what}",
                       did_you_mean(node.name, self.scope.names) or f"its fields: {', '.join(known) or 'none'}")
        return ANY

    def _field(self, node):
        owner = self.type(node.obj)
        obj_text = self.program.text[node.obj.pos:node.obj.end]
        if isinstance(node.name, int):
            return self._index_into(owner, node, obj_text)
        if isinstance(owner, Record):
            if node.name in owner.fields:
                return owner.fields[node.name]
            if owner.closed:
                self.error(node, f"{obj_text} ({owner.name}) has no field {node.name!r}",
                           did_you_mean(node.name, owner.fields) or f"its fields: {', '.join(owner.fields)}",
                           pos=node.name_pos, length=len(str(node.name)))
            return ANY
        if isinstance(owner, (Scalar, ListOf)):
            self.error(node, f"{obj_text} is {words(owner)}; it has no field {node.name!r}",
                       pos=node.name_pos, length=len(str(node.name)))
        return ANY

    def _index(self, node):
        owner = self.type(node.obj)
        index = self.type(node.index)
        if index not in (NUMBER, ANY):
            self.error(node.index, f"an index is a whole number, not {words(index)}")
        return self._index_into(owner, node, self.program.text[node.obj.pos:node.obj.end])

    def _index_into(self, owner, node, obj_text):
        if isinstance(owner, ListOf):
            return owner.item
        if owner is TEXT:
            return TEXT
        if owner is ANY or (isinstance(owner, Record) and not owner.closed):
            return ANY
        self.error(node, f"{obj_text} is {words(owner)}; it cannot be indexed")
        return ANY

    def _unary(self, node):
        t = self.type(node.operand)
        want = BOOL if node.op in ("not", "!") else NUMBER
        if t not in (want, ANY):
            self.error(node, f"{node.op!r} takes {words(want)}, not {words(t)}")
        return want

    def _binary(self, node):
        left, right = self.type(node.left), self.type(node.right)
        op = node.op
        if op in ("and", "or"):
            for side, t in ((node.left, left), (node.right, right)):
                if t not in (BOOL, ANY):
                    text = self.program.text[side.pos:side.end]
                    self.error(side, f"{op!r} takes true or false on both sides; {text!r} is {words(t)}",
                               _suggest_comparison(t))
            return BOOL
        if op == "..":
            for side, t in ((node.left, left), (node.right, right)):
                if isinstance(t, (ListOf, Record)):
                    self.error(side, f"'..' joins numbers, text and true/false, not {words(t)}")
            return TEXT
        if op == "+" and TEXT in (left, right):
            if {left, right} <= {TEXT, ANY}:
                return TEXT
            self.error(node, f"'+' joins two texts or adds two numbers, not {words(left)} and {words(right)}",
                       "join text and numbers with '..'", pos=node.op_pos, length=1)
            return ANY
        for t in (left, right):
            if t not in (NUMBER, ANY):
                self.error(node, f"{op!r} takes numbers, not {words(left)} and {words(right)}",
                           pos=node.op_pos, length=len(op))
                return ANY
        return NUMBER

    def _compare(self, node):
        types = [self.type(o) for o in node.operands]
        for i, (op, pos) in enumerate(node.ops):
            left, right = types[i], types[i + 1]
            problem = _comparison_problem(op, left, right)
            if problem:
                self.error(node, problem, pos=pos, length=len(op))
        return BOOL

    def _conditional(self, node):
        condition = self.type(node.condition)
        if condition not in (BOOL, ANY):
            self.error(node.condition, f"'?' needs true or false before it, not {words(condition)}")
        then, otherwise = self.type(node.then), self.type(node.otherwise)
        return same_type([then, otherwise])

    def _assign(self, node):
        value = self.type(node.value)
        name = node.target.name
        known = self.locals.get(name, self.scope.names.get(name, ANY))
        if node.op != ":=" and node.op != "=":
            if known not in (NUMBER, ANY) and not (node.op == "+=" and known is TEXT):
                self.error(node, f"{node.op!r} needs a number in {name}, which is {words(known)}",
                           pos=node.op_pos, length=len(node.op))
        elif isinstance(known, Scalar) and isinstance(value, Scalar) and known is not value and NULL not in (
                known, value):
            self.error(node, f"{name} holds {words(known)}; it cannot take {words(value)}",
                       pos=node.op_pos, length=len(node.op))
        self.locals[name] = value if node.op in (":=", "=") else known
        return self.locals[name]


def _comparison_problem(op, left, right) -> str:
    if ANY in (left, right):
        if op in ("in", "not in") and isinstance(right, Scalar) and right is not TEXT and right is not ANY:
            return f"'{op}' needs a list, mapping or text on the right, not {words(right)}"
        if op == "contains" and isinstance(left, Scalar) and left is not TEXT and left is not ANY:
            return f"'contains' needs a list, mapping or text on the left, not {words(left)}"
        return ""
    if op in ("in", "not in", "contains"):
        item, container = (left, right) if op != "contains" else (right, left)
        if isinstance(container, ListOf):
            problem = _comparison_problem("==", item, container.item)
            return f"'{op}': {problem}" if problem else ""
        if container is TEXT:
            return "" if item is TEXT else f"'{op}' text needs text to look for, not {words(item)}"
        if isinstance(container, Record):
            return ""
        return f"'{op}' needs a list, mapping or text, not {words(container)}"
    if NULL in (left, right) and op in ("==", "!="):
        return ""
    if op in ("==", "!="):
        if (isinstance(left, Scalar) or isinstance(right, Scalar)) and left is not right:
            return f"cannot compare {words(left)} with {words(right)}"
        return ""
    if not ((left is NUMBER and right is NUMBER) or (left is TEXT and right is TEXT)):
        return f"'{op}' compares two numbers or two texts, not {words(left)} and {words(right)}"
    return ""


def _suggest_comparison(t) -> str:
    if t is NUMBER:
        return "compare it, e.g. 'battery > 0'"
    if t is TEXT:
        return "compare it, e.g. \"mode == 'auto'\""
    return ""


def check(program, scope: Scope, want_bool=True) -> list:
    """Every type error of ``program`` in ``scope`` (yaml dialect), as ExpressionErrors."""
    if program.dialect != "yaml":
        return []
    return Checker(program, scope, want_bool).run()
