"""Read a mission file into a document that remembers where every key and value was written.

ruamel.yaml's round-trip loader builds only plain data (mappings, sequences, scalars) and records
line and column of each key and item; YAML tags that would construct objects are refused.
"""
import pathlib

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from executive.language.errors import MissionError, MissionInvalid


def load(path) -> CommentedMap:
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MissionInvalid([MissionError(str(path), 0, 0, "", f"cannot read the file: {exc}")]) from None
    return loads(text, str(path))


def loads(text: str, filename: str = "<mission>") -> CommentedMap:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        hint = "quote values that contain ${...} inside { } or [ ]" if "${" in source_line else ""
        raise MissionInvalid([MissionError(filename, line, col, "", f"not valid YAML: {problem}", hint)]) from None
    except ReaderError as exc:   # a character YAML does not allow; it knows only the offset
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise MissionInvalid([MissionError(filename, line, col, "", f"not valid YAML: character {exc.character!r} "
                                                                    f"is not allowed")]) from None
    except YAMLError as exc:
        raise MissionInvalid([MissionError(filename, 1, 1, "", f"not valid YAML: {exc}")]) from None
    except Exception as exc:  # ruamel.yaml itself fails on a few malformed inputs (e.g. a lone '=')
        raise MissionInvalid([MissionError(filename, 1, 1, "", f"not valid YAML ({type(exc).__name__}: {exc})")]) from None
    if not isinstance(doc, CommentedMap):
        line, col = _start(doc)
        raise MissionInvalid([MissionError(filename, line, col, "", "a mission file is a mapping with name: and tree:")])
    return doc


def _start(doc):
    """Where ``doc`` begins, 1-based; (1, 1) when the loader did not record it."""
    lc = getattr(doc, "lc", None)
    if lc is None or lc.line is None:
        return 1, 1
    return lc.line + 1, (lc.col or 0) + 1


def locate(doc, path, key: bool = False):
    """(line, column), 1-based, of the value (or, with ``key``, the key) at ``path`` in ``doc``.

    Falls back to the nearest enclosing node that has a position.
    """
    node, best = doc, _start(doc)
    for i, part in enumerate(path):
        last = i == len(path) - 1
        try:
            if isinstance(node, CommentedMap) and part in node:
                line, col = node.lc.key(part) if key and last else node.lc.value(part)
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line, col = node.lc.item(part)
            else:
                break
        except (KeyError, TypeError, AttributeError, IndexError):
            break
        best = (line + 1, col + 1)
        node = node[part]
    return best
