"""Users' mistakes in missions: one error type, always with a place and, where obvious, a hint.

A warning is a MissionError with ``severity="warning"``: reported, but the mission stays valid
(``repeat: {times: 0}`` runs nothing, which is allowed and rarely meant).
"""
import difflib
from dataclasses import dataclass, field

ERROR, WARNING = "error", "warning"


@dataclass
class MissionError:
    file: str
    line: int           # 1-based; 0 when unknown
    column: int         # 1-based; 0 when unknown
    path: str           # key path, e.g. tree.sequence.children[2].navigate.pose
    message: str
    hint: str = ""
    severity: str = ERROR
    keys: tuple = field(default=(), repr=False, compare=False)   # the key path as keys and indexes
    # The subtree and include references that led here, innermost first: 'file:line:col: include x'
    included_from: tuple = field(default=(), compare=False)

    @property
    def is_warning(self) -> bool:
        return self.severity == WARNING

    def __str__(self):
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        message = f"warning: {self.message}" if self.is_warning else self.message
        text = f"{where}: {self.path}: {message}" if self.path else f"{where}: {message}"
        text = f"{text} ({self.hint})" if self.hint else text
        return "".join([text, *(f"\n  from {call}" for call in self.included_from)])


class MissionInvalid(Exception):
    """Raised with every error found in a mission (and the files it includes); warnings found
    alongside are in ``errors`` too, in file order."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def did_you_mean(word, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def format_path(path) -> str:
    """('tree', 'sequence', 'children', 2, 'navigate') -> tree.sequence.children[2].navigate"""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def in_order(errors, files=()) -> list:
    """``errors`` without duplicates, each file's together (in ``files`` order, then first seen),
    sorted by position within a file."""
    unique = {}
    for error in errors:
        unique.setdefault((error.file, error.line, error.column, error.path, error.message), error)
    order = {name: i for i, name in enumerate(files)}
    for error in unique.values():
        order.setdefault(error.file, len(order))
    return sorted(unique.values(), key=lambda e: (order[e.file], e.line, e.column))
