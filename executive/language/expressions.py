"""The expression language of missions: one grammar, two dialects, parsed once, never ``eval``-ed.

Every check in a mission is an expression of this language: a ``condition``'s ``check``, a
service's or action's ``success``, a ``repeat``'s ``until``, and the statements of a ``script``
leaf. BehaviorTree.CPP's scripts (``<Script code=...>``, ``<ScriptCondition>``, pre/post
conditions) are its ``btcpp`` dialect.

=================  ===========================================  ==============================
precedence (low)   ``yaml`` (mission files)                     ``btcpp`` (BT.CPP v4 scripts)
=================  ===========================================  ==============================
statement          ``k := e``, ``k = e``, ``+= -= *= /=``       same
                   (``script:`` leaves only), ``;`` between
conditional        ``c ? a : b``                                same
or                 ``or``, ``||``                               ``||``
and                ``and``, ``&&``                              ``&&``
not                ``not e``                                    --
comparison         ``== != < <= > >=``, ``in``, ``not in``,     ``== != < <= > >=``
                   ``contains``; chained: ``0 < x < 5``         chained
bitwise            ``|``, ``^`` then ``&``                      same
sum                ``+ - ..`` (``..`` joins as text)            same
product            ``* / %``                                    ``* /``
prefix             ``- ! ~``                                    same
postfix            ``key.field``, ``key[0]``, ``key.0``         --
atoms              numbers, ``'text'`` or ``"text"``, ``true``  numbers (``0x1F`` too),
                   ``false`` ``null``, ``[a, b]``, names,       ``'text'``, ``true`` ``false``,
                   ``( )``                                      names (``@key``: root), ``( )``
=================  ===========================================  ==============================

Binary operators are left-associative (BT.CPP >= 4.9; 4.8 grouped ``10 - 2 - 3`` to the right,
a bug fixed upstream). The two dialects evaluate differently where BT.CPP's rules are its own
(:mod:`executive.language.btcpp_script`); the ``yaml`` dialect's rules are in
:mod:`executive.language.evaluate`, and the README has the table of differences.

:func:`parse` returns a :class:`Program`; :func:`compile_check` a :class:`Check` with
``holds(data)`` and ``describe(data)`` for leaves. Mistakes raise :class:`ExpressionError` with the
0-based offset of the offending token in the text.
"""
import functools
import math
import re

import pyparsing as pp

DIALECTS = ("yaml", "btcpp")
ASSIGNMENTS = (":=", "=", "+=", "-=", "*=", "/=")
KEYWORDS = {"yaml": ("and", "or", "not", "in", "contains", "true", "false", "null"),
            "btcpp": ("true", "false")}
MAX_LENGTH = 4000           # characters; a check is a line, a script a few
MAX_DEPTH = 100             # operations inside one another (evaluation recurses once per level)
INT64 = (-2 ** 63, 2 ** 63 - 1)


class ExpressionError(ValueError):
    """A mistake in an expression's text: ``offset`` (0-based) and ``length`` of the token."""

    def __init__(self, message: str, offset: int = 0, length: int = 1, hint: str = ""):
        self.message, self.offset, self.length, self.hint = message, offset, length, hint
        super().__init__(f"{message} (at offset {offset})")


class EvalError(Exception):
    """An expression could not be evaluated on this data: a key not set, a type that does not fit.
    ``node`` is the part of the expression that failed."""

    def __init__(self, message: str, node=None):
        self.message, self.node = message, node
        super().__init__(message)


# -- the syntax tree ---------------------------------------------------------------------------

class Node:
    __slots__ = ("pos", "end")

    def children(self):
        return ()

    def walk(self):
        yield self
        for child in self.children():
            yield from child.walk()


class Literal(Node):
    __slots__ = ("value", "text")

    def __init__(self, value, pos, end, text):
        self.value, self.pos, self.end, self.text = value, pos, end, text


class Name(Node):
    __slots__ = ("name",)

    def __init__(self, name, pos, end):
        self.name, self.pos, self.end = name, pos, end


class Field(Node):
    """``obj.name``, or ``obj.0`` (``name`` is then an int: an index written the short way).
    ``name_pos`` is the offset of the name."""
    __slots__ = ("obj", "name", "name_pos")

    def __init__(self, obj, name, end):
        self.obj, self.name, self.pos, self.end = obj, name, obj.pos, end
        self.name_pos = end - len(str(name))

    def children(self):
        return (self.obj,)


class Index(Node):
    __slots__ = ("obj", "index")

    def __init__(self, obj, index, end):
        self.obj, self.index, self.pos, self.end = obj, index, obj.pos, end

    def children(self):
        return (self.obj, self.index)


class ListLiteral(Node):
    __slots__ = ("items",)

    def __init__(self, items, pos, end):
        self.items, self.pos, self.end = items, pos, end

    def children(self):
        return tuple(self.items)


class Unary(Node):
    """``op`` is one of ``- ~ ! not``."""
    __slots__ = ("op", "operand")

    def __init__(self, op, operand, pos):
        self.op, self.operand, self.pos, self.end = op, operand, pos, operand.end

    def children(self):
        return (self.operand,)


class Binary(Node):
    """Arithmetic, bitwise, ``..`` and the logical ``and``/``or`` (``&&``/``||`` normalised)."""
    __slots__ = ("op", "left", "right", "op_pos")

    def __init__(self, op, left, right, op_pos):
        self.op, self.left, self.right, self.op_pos = op, left, right, op_pos
        self.pos, self.end = left.pos, right.end

    def children(self):
        return (self.left, self.right)


class Compare(Node):
    """A chain ``a < b <= c``: holds when every adjacent pair does. ``ops`` are (operator, offset)."""
    __slots__ = ("operands", "ops")

    def __init__(self, operands, ops):
        self.operands, self.ops = operands, ops
        self.pos, self.end = operands[0].pos, operands[-1].end

    def children(self):
        return tuple(self.operands)


class Conditional(Node):
    __slots__ = ("condition", "then", "otherwise")

    def __init__(self, condition, then, otherwise):
        self.condition, self.then, self.otherwise = condition, then, otherwise
        self.pos, self.end = condition.pos, otherwise.end

    def children(self):
        return (self.condition, self.then, self.otherwise)


class Assign(Node):
    __slots__ = ("target", "op", "value", "op_pos")

    def __init__(self, target, op, value, op_pos):
        self.target, self.op, self.value, self.op_pos = target, op, value, op_pos
        self.pos, self.end = target.pos, value.end

    def children(self):
        return (self.target, self.value)


def _deepest(root):
    """The first node deeper than MAX_DEPTH under ``root``, or None (walked without recursion)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in node.children())
    return None


def source(node, text: str) -> str:
    """The text an AST node was parsed from."""
    return text[node.pos:node.end]


def root_name(node):
    """The blackboard key (or message field) at the root of ``a.b[0].c``; None for other nodes."""
    while isinstance(node, (Field, Index)):
        node = node.obj
    return node.name if isinstance(node, Name) else None


# -- the grammar -------------------------------------------------------------------------------

class _Op:
    """An operator token while parsing: its normalised spelling and offset."""
    __slots__ = ("op", "pos", "end")

    def __init__(self, op, pos, end):
        self.op, self.pos, self.end = op, pos, end


NORMAL = {"&&": "and", "||": "or", "!": "!", "not": "not"}


def _op(pattern: str, name: str = None):
    """An operator matched by regex ``pattern``, becoming an :class:`_Op`."""
    def action(s, loc, toks):
        text = toks[0]
        spelled = " ".join(text.split())
        return _Op(NORMAL.get(spelled, spelled), loc, loc + len(text))
    return pp.Regex(pattern).set_name(name or pattern).set_parse_action(action)


def _fold_left(s, loc, toks):
    items = list(toks)
    node = items[0]
    for i in range(1, len(items), 2):
        op = items[i]
        node = Binary(op.op, node, items[i + 1], op.pos)
    return node


def _fold_compare(s, loc, toks):
    items = list(toks)
    if len(items) == 1:
        return items[0]
    return Compare(items[0::2], [(op.op, op.pos) for op in items[1::2]])


def _fold_prefix(s, loc, toks):
    items = list(toks)
    node = items[-1]
    for op in reversed(items[:-1]):
        node = Unary(op.op, node, op.pos)
    return node


def _fold_postfix(s, loc, toks):
    items = list(toks)
    node = items[0]
    for item in items[1:]:
        kind, value, pos, end = item
        node = Field(node, value, end) if kind == "field" else Index(node, value, end)
    return node


def _number(dialect):
    def action(s, loc, toks):
        text = toks[0]
        if text[:2].lower() == "0x":
            value = int(text, 16)
        elif re.fullmatch(r"\d+", text):
            value = int(text)
        else:
            value = float(text)
            if not math.isfinite(value):
                raise _Fail(loc, len(text), f"{text} is not a finite number")
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            raise _Fail(loc, len(text), f"{text} is out of range (integers are 64-bit)")
        return Literal(value, loc, loc + len(text), text)
    # A digit run glued to letters (3foo, 1.5x) is one bad token, as BT.CPP reads it.
    pattern = r"0[xX][0-9a-fA-F]+(?![\w.])|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_]|\.\d)"
    return pp.Regex(pattern).set_name("a number").set_parse_action(action)


class _Fail(Exception):
    """Raised inside parse actions for a token that matched but is wrong; never leaves this module."""

    def __init__(self, pos, length, message, hint=""):
        self.pos, self.length, self.message, self.hint = pos, length, message, hint


def _string(dialect):
    pattern = r"'[^']*'|\"[^\"]*\"" if dialect == "yaml" else r"'[^']*'"

    def action(s, loc, toks):
        text = toks[0]
        return Literal(text[1:-1], loc, loc + len(text), text)
    return pp.Regex(pattern).set_name("a string").set_parse_action(action)


def _name(dialect):
    reserved = "|".join(KEYWORDS[dialect])
    start = "[A-Za-z_@]" if dialect == "btcpp" else "[A-Za-z_]"
    pattern = rf"(?!(?:{reserved})(?!\w)){start}\w*"

    def action(s, loc, toks):
        return Name(toks[0], loc, loc + len(toks[0]))
    return pp.Regex(pattern).set_name("a name").set_parse_action(action)


def _grammar(dialect: str):
    """The parser of one dialect: (statement list, single expression)."""
    yaml = dialect == "yaml"
    expression = pp.Forward().set_name("an expression")

    def keyword(word, value):
        return pp.Regex(rf"{word}(?!\w)").set_name(word).set_parse_action(
            lambda s, loc, toks: Literal(value, loc, loc + len(word), word))

    lpar, rpar = _op(r"\(", "'('"), _op(r"\)", "')'")

    def parenthesised(s, loc, toks):
        inner = toks[1]
        inner.pos, inner.end = toks[0].pos, toks[2].end   # the parentheses belong to the operand
        return inner

    atoms = [_number(dialect), _string(dialect), keyword("true", True), keyword("false", False)]
    if yaml:
        atoms.append(keyword("null", None))
        lbr, rbr, comma = _op(r"\[", "'['"), _op(r"\]", "']'"), _op(",", "','")
        listing = (lbr + pp.Opt(expression + pp.ZeroOrMore(comma + expression) + pp.Opt(comma)) - rbr)
        listing.set_parse_action(lambda s, loc, toks: ListLiteral(
            [t for t in toks[1:-1] if not isinstance(t, _Op)], toks[0].pos, toks[-1].end))
        atoms.append(listing)
    atoms.append(_name(dialect))
    atoms.append((lpar - expression - rpar).set_parse_action(parenthesised))
    atom = pp.MatchFirst(atoms).set_name("an operand")

    if yaml:
        def field(s, loc, toks):
            text = toks[0]
            name = text[1:].strip()
            return [("field", int(name) if name.isdigit() else name, loc, loc + len(text))]
        dotted = pp.Regex(r"\.(?!\.)\s*(?:[A-Za-z_]\w*|\d+)").set_name("a field name").set_parse_action(field)
        lidx, ridx = _op(r"\[", "'['"), _op(r"\]", "']'")
        indexed = (lidx - expression - ridx).set_parse_action(
            lambda s, loc, toks: [("index", toks[1], toks[0].pos, toks[2].end)])
        postfix = (atom + pp.ZeroOrMore(dotted | indexed)).set_parse_action(_fold_postfix)
    else:
        postfix = atom

    prefix = (pp.ZeroOrMore(_op(r"-(?!=)|~|!(?!=)", "'-', '~' or '!'")) + postfix).set_parse_action(_fold_prefix)

    def level(operand, pattern, name):
        return (operand + pp.ZeroOrMore(_op(pattern, name) - operand)).set_parse_action(_fold_left)

    product = level(prefix, r"\*(?!=)|/(?!=)" + (r"|%" if yaml else ""), "'*' or '/'")
    total = level(product, r"\+(?!=)|-(?!=)|\.\.", "'+', '-' or '..'")
    bit_and = level(total, r"&(?!&)", "'&'")
    bit_or = level(bit_and, r"\|(?!\|)|\^", "'|' or '^'")
    comparisons = r"==|!=|<=|>=|<|>"
    if yaml:
        comparisons += r"|not\s+in(?!\w)|in(?!\w)|contains(?!\w)"
    compare = (bit_or + pp.ZeroOrMore(_op(comparisons, "a comparison") - bit_or)).set_parse_action(_fold_compare)
    if yaml:
        negation = pp.Forward()
        negation <<= (_op(r"not(?!\w)", "'not'") - negation).set_parse_action(
            lambda s, loc, toks: Unary("not", toks[1], toks[0].pos)) | compare
        conjunction = level(negation, r"&&|and(?!\w)", "'and'")
        disjunction = level(conjunction, r"\|\||or(?!\w)", "'or'")
    else:
        conjunction = level(compare, r"&&", "'&&'")
        disjunction = level(conjunction, r"\|\|", "'||'")

    conditional = pp.Forward()
    question, colon = _op(r"\?", "'?'"), _op(r":(?!=)", "':'")
    conditional <<= (disjunction + pp.Opt(question - expression - colon - conditional)).set_parse_action(
        lambda s, loc, toks: toks[0] if len(toks) == 1 else Conditional(toks[0], toks[2], toks[4]))
    expression <<= conditional

    assign_op = _op(r":=|=(?!=)|\+=|-=|\*=|/=", "an assignment")
    target = _name(dialect)
    assignment = (target + assign_op - expression).set_parse_action(
        lambda s, loc, toks: Assign(toks[0], toks[1].op, toks[2], toks[1].pos))
    statement = assignment | expression
    semicolon = pp.Suppress(pp.Regex(";").set_name("';'"))
    statements = (pp.ZeroOrMore(semicolon) + statement + pp.ZeroOrMore(pp.OneOrMore(semicolon) + statement)
                  + pp.ZeroOrMore(semicolon))
    return statements, statement


GRAMMARS = {dialect: _grammar(dialect) for dialect in DIALECTS}


# -- parsing -----------------------------------------------------------------------------------

class Program:
    """A parsed expression or list of statements; evaluation lives with its dialect's rules."""

    def __init__(self, text: str, dialect: str, statement: bool, statements: list):
        self.text, self.dialect, self.statement, self.statements = text, dialect, statement, statements

    @property
    def expression(self):
        """The one expression of a check (the last statement of a script)."""
        return self.statements[-1]

    def reads(self) -> list:
        """Root names the program reads (blackboard keys, or message fields), in order of use."""
        seen = []
        for statement in self.statements:
            for node in statement.walk():
                if isinstance(node, Name) and node.name not in seen and not _assigned_only(statement, node):
                    seen.append(node.name)
        return seen

    def writes(self) -> list:
        """Names the statements assign to."""
        out = []
        for statement in self.statements:
            if isinstance(statement, Assign) and statement.target.name not in out:
                out.append(statement.target.name)
        return out

    def __repr__(self):
        return f"Program({self.text!r}, {self.dialect})"

    def __str__(self):
        return self.text


def _assigned_only(statement, node) -> bool:
    """True for the target of ``k := ...`` (written, not read); ``k += 1`` and ``k = 1`` read ``k``
    (BT.CPP's ``=`` needs the entry to exist)."""
    return isinstance(statement, Assign) and statement.target is node and statement.op == ":="


def parse(text: str, dialect: str = "yaml", statement: bool = False) -> Program:
    """Parse ``text`` in ``dialect`` ("yaml" or "btcpp").

    ``statement=False``: one expression, for a check (no ``:=``, no ``;``) in the ``yaml``
    dialect. BT.CPP parses every script the same way (its ScriptCondition accepts ``a := 1; a > 0``),
    so for ``btcpp`` the flag changes nothing. Raises :class:`ExpressionError`. Programs are never
    changed once made, so a text parsed before is not parsed again.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, got {text!r}", 0, 0)
    return _parse(text, dialect, bool(statement))


@functools.lru_cache(maxsize=4096)
def _parse(text: str, dialect: str, statement: bool) -> Program:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH}",
                              MAX_LENGTH, 1)
    if not text.strip():
        raise ExpressionError("the expression is empty", 0, 0)
    statements, single = GRAMMARS[dialect]
    many = statement or dialect == "btcpp"
    try:
        result = (statements if many else single).parse_string(text, parse_all=True)
    except _Fail as fail:
        raise ExpressionError(fail.message, fail.pos, fail.length, fail.hint) from None
    except pp.ParseBaseException as exc:
        raise _syntax_error(text, exc, dialect, many) from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", 0, 1) from None
    program = Program(text, dialect, many, list(result))
    for part in program.statements:
        deepest = _deepest(part)
        if deepest is not None:
            raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} operations inside "
                                  "one another)", deepest.pos, max(1, deepest.end - deepest.pos))
    if dialect == "yaml" and not statement:
        assignment = next((s for s in program.statements if isinstance(s, Assign)), None)
        if assignment is not None:
            raise ExpressionError(f"{assignment.op!r} assigns; a check only compares",
                                  assignment.op_pos, len(assignment.op),
                                  "write '==' to compare; assignments belong in a script: leaf")
    return program


TOKEN = re.compile(r"\s*(:=|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|\.\.|[A-Za-z_@]\w*|\d[\w.]*|'[^']*'?|\"[^\"]*\"?|\S)")


def _syntax_error(text, exc, dialect, many) -> ExpressionError:
    """A parse failure in plain words, at the token where it went wrong."""
    loc = min(exc.loc, len(text))
    while loc < len(text) and text[loc].isspace():
        loc += 1
    if loc >= len(text):
        return ExpressionError("the expression ends too early (an operand or ')' is missing)", len(text), 0)
    token = TOKEN.match(text, loc)[1]
    hint = ""
    if loc > 0 and text[loc - 1:loc + 1] in ("=>", "=<"):
        written = text[loc - 1:loc + 1]
        return ExpressionError(f"{written!r} is not an operator", loc - 1, 2, f"write {written[::-1]!r}")
    if token[0] == '"' and dialect == "btcpp":
        message = "BT.CPP scripts quote strings with ' only"
    elif token[0] in "'\"" and (len(token) == 1 or token[-1] != token[0]):
        message = "this string is not closed"
    elif token[0].isdigit():
        message = f"{token!r} is not a number"
    elif token == "=" and not many:
        message, hint = "'=' assigns; a check only compares", "write '==' to compare"
    elif token in ASSIGNMENTS and dialect == "yaml" and not many:
        message, hint = f"{token!r} assigns; a check only compares", "assignments belong in a script: leaf"
    elif token in ASSIGNMENTS:
        message = f"{token!r} assigns to a name only, at the start of a statement"
    elif dialect == "btcpp" and token in ("and", "or", "not", "in", "contains"):
        message, hint = f"{token!r} is not an operator of BT.CPP scripts", {
            "and": "write &&", "or": "write ||", "not": "write !"}.get(token, "")
    elif token == "%" and dialect == "btcpp":
        message = "BT.CPP scripts have no '%' operator"
    elif token == ";" and not many:
        message, hint = "';' separates statements; a check is one expression", ""
    else:
        message = f"unexpected {token!r}"
        expected = getattr(exc, "parser_element", None)
        if expected is not None and str(expected) in ("')'", "']'", "':'"):
            message += f" (expected {expected})"
    return ExpressionError(message, loc, len(token), hint)


# -- checks for leaves -------------------------------------------------------------------------

class MappingEnv:
    """Names from a dict (plain data, or a message's fields as data); assignments write it."""

    def __init__(self, data: dict):
        self.data = data

    def exists(self, name):
        return name in self.data

    def lookup(self, name):
        if name not in self.data:
            raise EvalError(f"{name} is not set")
        return self.data[name]

    def assign(self, name, value):
        self.data[name] = value


class MessageEnv:
    """Names are the fields of one message (a service's response, an action's result); ``alias``
    (``response``/``result``) names the message itself unless it has a field of that name."""

    def __init__(self, message, alias: str = ""):
        self.message, self.alias = message, alias

    def _fields(self):
        getter = getattr(self.message, "get_fields_and_field_types", None)
        return getter() if getter is not None else (self.message if isinstance(self.message, dict) else {})

    def exists(self, name):
        try:
            self.lookup(name)
        except EvalError:
            return False
        return True

    def lookup(self, name):
        fields = self._fields()
        if name in fields:
            return self.message[name] if isinstance(self.message, dict) else getattr(self.message, name)
        if name == self.alias and name:
            return self.message
        constant = getattr(type(self.message), name, None) if name.isupper() else None
        if isinstance(constant, (bool, int, float, str)):
            return constant
        raise EvalError(f"{type(self.message).__name__} has no field {name!r}")

    def assign(self, name, value):
        raise EvalError("a check cannot assign")


class Check:
    """A compiled check: a :class:`Program` and the subject it reads.

    ``subject`` None: names are blackboard keys, and ``holds``/``describe`` take an env (an object
    with ``lookup(name)``/``exists(name)``, e.g. :class:`MappingEnv`) or a dict. ``subject``
    ``"result"``/``"response"``: names are the fields of the message given to ``holds``, and the
    subject's own name is the whole message (``response.message``).
    """

    def __init__(self, program: Program, subject: str = None):
        self.program, self.subject = program, subject

    @property
    def text(self) -> str:
        return self.program.text

    @property
    def dialect(self) -> str:
        return self.program.dialect

    def env(self, data):
        if self.subject is not None:
            return MessageEnv(data, self.subject)
        if isinstance(data, dict):
            return MappingEnv(data)
        return data

    def evaluate(self, data):
        """The value of the check on ``data``; raises :class:`EvalError`."""
        from executive.language import btcpp_script, evaluate

        rules = btcpp_script if self.dialect == "btcpp" else evaluate
        return rules.run(self.program, self.env(data))

    def holds(self, data) -> bool:
        """True when the check evaluates to true; a value that cannot be evaluated does not hold."""
        from executive.language import btcpp_script, evaluate

        rules = btcpp_script if self.dialect == "btcpp" else evaluate
        try:
            return rules.truth(rules.run(self.program, self.env(data)), self.program.expression)
        except EvalError:
            return False

    def describe(self, data) -> str:
        """Why the check does not hold, naming the values it read: ``battery >= 20 does not hold
        (battery is 5)``."""
        from executive.language import evaluate

        return evaluate.describe(self, self.env(data))

    def __repr__(self):
        return f"Check({self.text!r}{', ' + self.subject if self.subject else ''})"

    def __str__(self):
        return self.text


def compile_check(text: str, dialect: str = "yaml", subject: str = None) -> Check:
    """Parse ``text`` as a check; raises :class:`ExpressionError`."""
    return Check(parse(text, dialect, statement=False), subject)
