"""Users' mistakes in missions: one error type, always with a place and, where obvious, a hint."""
import difflib
from dataclasses import dataclass


@dataclass
class MissionError:
    file: str
    line: int           # 1-based; 0 when unknown
    column: int         # 1-based; 0 when unknown
    path: str           # key path, e.g. tree.sequence.children[2].navigate.pose
    message: str
    hint: str = ""

    def __str__(self):
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class MissionInvalid(Exception):
    """Raised with every error found in a mission (and the files it includes)."""

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
