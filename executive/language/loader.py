"""Read a mission file into a document that remembers where every key and value was written.

libyaml (PyYAML's C parser) turns the text into events; this module builds plain data from them
(:class:`Mapping`, :class:`Sequence`, str, int, float, bool, None) and records the line and column
of every mapping, sequence, key, value and item. Scalars mean what YAML 1.2's core schema says
(libyaml leaves that to its caller, and PyYAML's own constructor would read YAML 1.1, where ``no``
is false and ``010`` is octal): ``true``/``false`` (any case style of the spec), ``null``/``~``/empty,
decimal, ``0o`` octal and ``0x`` hex integers, floats with ``.inf``/``.nan``; every other plain
scalar is a string, and quoted or block scalars are always strings. Merge keys (``<<: *anchor``)
merge as in YAML 1.1 tools and ruamel.yaml.

Tags that would construct objects are refused; so are texts that would cost too much: more than
MAX_TEXT characters, nesting deeper than MAX_DEPTH, or more than MAX_NODES nodes once aliases are
expanded (a few hundred bytes of nested aliases can stand for billions of nodes). Each refusal is a
MissionInvalid with the file, line and column, reading "mission too large: ...".
"""
import pathlib
import re
import sys

import yaml
from yaml._yaml import CParser

from executive.language.errors import MissionError, MissionInvalid

MAX_TEXT = 2_000_000     # characters in one mission file (a 1,000-behaviour mission is ~50,000)
MAX_DEPTH = 200          # mappings and sequences nested in each other (3 per level of behaviours)
MAX_NODES = 100_000      # scalars, mappings and sequences, aliases counted as the nodes they repeat

_STR, _INT, _FLOAT, _BOOL, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_WORDS = {"": None, "~": None, "null": None, "Null": None, "NULL": None,
          "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NUMBER_START = frozenset("0123456789+-.")
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")
_MERGE = "<<"


class Mapping(dict):
    """A YAML mapping: a dict that knows where it (``start``), each key (``keys_at``) and each value
    (``values_at``) begin, as 1-based (line, column)."""

    __slots__ = ("start", "keys_at", "values_at")

    def __init__(self, *args, start=(1, 1)):
        super().__init__(*args)
        self.start = start
        self.keys_at = {}
        self.values_at = {}

    def put(self, key, value, key_at, value_at=None):
        self[key] = value
        self.keys_at[key] = key_at
        self.values_at[key] = value_at or key_at


class Sequence(list):
    """A YAML sequence: a list that knows where it (``start``) and each item (``items_at``) begin."""

    __slots__ = ("start", "items_at")

    def __init__(self, *args, start=(1, 1)):
        super().__init__(*args)
        self.start = start
        self.items_at = []


def read(path) -> str:
    """The text of the file at ``path``; MissionInvalid when it cannot be read."""
    path = pathlib.Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MissionInvalid([MissionError(str(path), 0, 0, "", f"cannot read the file: {exc}")]) from None


def load(path) -> Mapping:
    return loads(read(path), str(path))


def loads(text: str, filename: str = "<mission>") -> Mapping:
    """The mission document in ``text``; MissionInvalid (located) when it is not valid YAML, not a
    mapping, or too large."""
    doc = parse(text, filename)
    if not isinstance(doc, Mapping):
        line, col = _start(doc)
        raise MissionInvalid([MissionError(filename, line, col, "", "a mission file is a mapping with name: and tree:")])
    return doc


def value(text: str, filename: str = "<value>"):
    """Plain data (dicts, lists and scalars, no positions) of a YAML text such as a parameter's
    value or a comparison's right-hand side, read exactly as mission files are."""
    return plain(parse(text, filename))


def plain(data):
    """``data`` with every Mapping and Sequence turned into a dict and list."""
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def parse(text: str, filename: str = "<mission>"):
    """The one YAML document in ``text`` (None when it is empty); MissionInvalid when unreadable."""
    if len(text) > MAX_TEXT:
        raise MissionInvalid([MissionError(filename, 1, 1, "", f"mission too large: {len(text):,} characters "
                                                               f"(at most {MAX_TEXT:,})")])
    try:
        return _Builder(text, filename).document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        if "maximum nesting depth" in problem:      # libyaml's own bound (1,000 flow levels)
            raise MissionInvalid([MissionError(filename, line, col, "", f"mission too large: nested deeper "
                                                                        f"than {MAX_DEPTH} levels")]) from None
        lines = text.splitlines()
        source_line = lines[line - 1] if 0 < line <= len(lines) else ""
        hint = "quote values that contain ${...} inside { } or [ ]" if "${" in source_line else ""
        raise MissionInvalid([MissionError(filename, line, col, "", f"not valid YAML: {problem}", hint)]) from None
    except yaml.reader.ReaderError as exc:   # a character YAML does not allow; libyaml knows its offset
        before = text[:_char_offset(text, exc.position)]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise MissionInvalid([MissionError(filename, line, col, "", f"not valid YAML: {exc.reason} "
                                                                    f"(character {exc.character!r})")]) from None
    except yaml.YAMLError as exc:
        raise MissionInvalid([MissionError(filename, 1, 1, "", f"not valid YAML: {exc}")]) from None


def _char_offset(text, offset):
    """libyaml counts some offsets in UTF-8 bytes: the matching index into ``text``."""
    if text.isascii():
        return offset
    return len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))


class _Builder:
    """Plain data from libyaml's events, with an explicit stack: no recursion, so nesting costs no
    Python or C stack, and every limit is checked as the events arrive."""

    def __init__(self, text, filename):
        self.parser = CParser(text)
        self.filename = filename
        self.anchors = {}       # name -> (value, its node count)
        self.nodes = 0

    def refuse(self, mark, message):
        raise MissionInvalid([MissionError(self.filename, mark.line + 1, mark.column + 1, "", message)])

    def document(self):
        get = self.parser.get_event
        get()                                       # StreamStart
        event = get()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        root = self._node(get)
        get()                                       # DocumentEnd
        event = get()
        if not isinstance(event, yaml.StreamEndEvent):
            self.refuse(event.start_mark, "not valid YAML: a mission file holds one YAML document, found a second")
        return root

    def _node(self, get):
        """The next node, built from its events up to its end."""
        stack = []      # open containers: [container, anchor, nodes at start, pending key, key mark]
        while True:
            event = get()
            kind = type(event)
            mark = event.start_mark
            if kind is yaml.ScalarEvent:
                self._count(1, mark)
                item = self._scalar(event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (item, 1)
                at = (mark.line + 1, mark.column + 1)
            elif kind is yaml.AliasEvent:
                if event.anchor not in self.anchors:
                    self.refuse(mark, f"not valid YAML: unknown alias *{event.anchor}")
                item, count = self.anchors[event.anchor]
                self._count(count, mark)
                at = (mark.line + 1, mark.column + 1)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self._count(1, mark)
                if len(stack) >= MAX_DEPTH:
                    self.refuse(mark, f"mission too large: nested deeper than {MAX_DEPTH} levels")
                mapping = kind is yaml.MappingStartEvent
                self._check_tag(event, _MAP if mapping else _SEQ)
                at = (mark.line + 1, mark.column + 1)
                container = Mapping(start=at) if mapping else Sequence(start=at)
                stack.append([container, event.anchor, self.nodes - 1, _NO_KEY, None])
                continue
            else:                                   # MappingEnd or SequenceEnd
                frame = stack.pop()
                item, anchor = frame[0], frame[1]
                if anchor is not None:
                    self.anchors[anchor] = (item, self.nodes - frame[2])
                at = item.start
            if not stack:
                return item
            self._add(stack[-1], item, at)

    def _count(self, count, mark):
        self.nodes += count
        if self.nodes > MAX_NODES:
            self.refuse(mark, f"mission too large: more than {MAX_NODES:,} nodes (aliases counted as expanded)")

    def _add(self, frame, item, at):
        container = frame[0]
        if isinstance(container, Sequence):
            container.append(item)
            container.items_at.append(at)
            return
        key = frame[3]
        if key is _NO_KEY:
            if isinstance(item, (dict, list)):
                self.refuse(_Mark(at), "not valid YAML: a mapping key must be a scalar")
            frame[3], frame[4] = item, at
            return
        frame[3] = _NO_KEY
        key_at = frame[4]
        if key == _MERGE and isinstance(item, (dict, list)):
            self._merge(container, item, key_at)
            return
        if key in container and container.keys_at.get(key) is not None:
            self.refuse(_Mark(key_at), f"not valid YAML: duplicate key {key!r}")
        container.put(key, item, key_at, at)

    def _merge(self, container, source, at):
        """``<<: *a`` or ``<<: [*a, *b]``: keys not given in ``container`` come from the sources
        (earlier ones first); they keep the positions they were written at."""
        sources = source if isinstance(source, list) else [source]
        for mapping in sources:
            if not isinstance(mapping, Mapping):
                self.refuse(_Mark(at), "not valid YAML: a merge key (<<) takes a mapping or a list of mappings")
            for key, value in mapping.items():
                if key not in container:
                    container[key] = value
                    # None: written elsewhere; a key given later in this mapping replaces it
                    container.keys_at[key] = None
                    container.values_at[key] = mapping.values_at.get(key)

    def _check_tag(self, event, expected):
        if event.tag is not None and event.tag not in ("!", expected):
            self.refuse(event.start_mark, f"tag {event.tag} is not allowed: mission files hold plain data")

    def _scalar(self, event):
        text, tag = event.value, event.tag
        if tag is None or tag == "!":
            if not event.implicit[0] or tag == "!":     # quoted, block, or '!': a string
                return text
            return self._number_checked(event, text)
        if tag == _STR:
            return text
        if tag in (_INT, _FLOAT, _BOOL, _NULL):
            value = self._number_checked(event, text)
            fits = {_INT: lambda v: type(v) is int, _FLOAT: lambda v: type(v) in (int, float),
                    _BOOL: lambda v: type(v) is bool, _NULL: lambda v: v is None}[tag]
            if fits(value):
                return float(value) if tag == _FLOAT else value
            self.refuse(event.start_mark, f"not valid YAML: {text!r} is not a {tag.rsplit(':', 1)[1]}")
        self._check_tag(event, _STR)
        return text


    def _number_checked(self, event, text):
        """The plain scalar's value; an integer beyond a double's range is refused here, where its
        line is known (every number of a mission is a finite double in the end)."""
        try:
            value = resolve_scalar(text)
        except ValueError:      # Python reads at most 4,300 digits
            value = None
        if value is None and text not in _WORDS or type(value) is int and abs(value) > _LARGEST:
            shown = text if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({len(text)} characters)"
            self.refuse(event.start_mark, f"{shown} is too large for a number (numbers are doubles: at most "
                                          "about 1.8e308)")
        return value


_LARGEST = int(sys.float_info.max)


class _Mark:
    def __init__(self, at):
        self.line, self.column = at[0] - 1, at[1] - 1


_NO_KEY = object()


def resolve_scalar(text: str):
    """A plain scalar's value under YAML 1.2's core schema (10.3.2)."""
    if text in _WORDS:
        return _WORDS[text]
    if text[0] not in _NUMBER_START:
        return text
    if _INT10.match(text):
        return int(text)
    if _FLOAT_RE.match(text):
        return float(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _INF.match(text):
        return float("-inf") if text[0] == "-" else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def _start(doc):
    """Where ``doc`` begins, 1-based; (1, 1) when it is not a mapping or sequence."""
    return getattr(doc, "start", None) or (1, 1)


def locate(doc, path, key: bool = False):
    """(line, column), 1-based, of the value (or, with ``key``, the key) at ``path`` in ``doc``.

    Falls back to the nearest enclosing node that has a position.
    """
    node, best = doc, _start(doc)
    for i, part in enumerate(path):
        last = i == len(path) - 1
        try:
            if isinstance(node, Mapping) and part in node:
                at = node.keys_at.get(part) if key and last else node.values_at.get(part)
            elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node):
                at = node.items_at[part]
            else:
                break
        except (TypeError, IndexError):     # an unhashable part
            break
        if at is None:
            break
        best = at
        node = node[part]
    return best


def scalar_position(lines, line: int, column: int, offset: int):
    """(line, column), 1-based, of character ``offset`` of the string scalar whose value starts at
    (``line``, ``column``) in the file's ``lines``: past its quote and through its escapes ('' in
    single quotes, backslashes in double). A scalar that goes on past its first line, a block
    scalar, or one that does not match: its start."""
    if not 0 < line <= len(lines) or column < 1:
        return line, column
    text = lines[line - 1]
    i = column - 1
    if i >= len(text) or text[i] in "|>":
        return line, column
    quote = text[i] if text[i] in "'\"" else ""
    j = i + (1 if quote else 0)
    for _ in range(offset):
        if j >= len(text):
            return line, column
        if quote == "'" and text[j] == "'":
            if text[j + 1:j + 2] != "'":
                return line, column         # the scalar ended before the offset
            j += 1
        elif quote == '"' and text[j] == "\\":
            j += 1
        elif quote == '"' and text[j] == '"':
            return line, column
        j += 1
    return (line, j + 1) if j <= len(text) else (line, column)
