"""A tree as people read it: ``mission render`` (ascii, unicode, dot, svg, png) and the rows the
live view draws.

Every node is named as runs name it (``executive.run.paths_of``: the second unnamed ``retry``
under a parent is ``retry#2`` in the log, the report, the viewer and here). Symbols per status are
py_trees' (SUCCESS ✓, FAILURE ✕, RUNNING *, INVALID -) plus HALTED ⊘ (stopped while running) and
SKIPPED » (passed over); ``ASCII`` has a plain letter for each, for terminals and files that are
not UTF-8. Graphviz labels use plain text only, so no font lacks a glyph.
"""
from dataclasses import dataclass

from executive.language.kinds import KINDS
from executive.run import kind_of, paths_of, pre_order

UNICODE = {"SUCCESS": "✓", "FAILURE": "✕", "RUNNING": "*", "INVALID": "-", "HALTED": "⊘", "SKIPPED": "»"}
ASCII = {"SUCCESS": "o", "FAILURE": "x", "RUNNING": "*", "INVALID": "-", "HALTED": "/", "SKIPPED": ">"}
# Tree connectors: (branch, last branch, continuation, blank).
UNICODE_LINES = ("├── ", "└── ", "│   ", "    ")
ASCII_LINES = ("|-- ", "`-- ", "|   ", "    ")
FINISHED = ("SUCCESS", "FAILURE", "HALTED", "SKIPPED")


@dataclass
class Row:
    """One behaviour as drawn: ``parent`` is the index of its parent row (-1 for the root)."""
    index: int
    parent: int
    depth: int
    name: str
    path: str
    kind: str
    leaf: bool
    status: str = "INVALID"
    feedback: str = ""
    active: bool = False


def rows_of(root, status=None, active=()) -> list:
    """Rows of the tree under ``root`` in pre-order. ``status(behaviour)`` names each one's shown
    status (default: py_trees' own); ``active``: ids of the behaviours on the active path."""
    paths = paths_of(root)
    index, rows = {}, []
    for b in pre_order(root):
        parent = index.get(b.parent.id, -1) if b.parent is not None and b is not root else -1
        index[b.id] = len(rows)
        shown = status(b) if status else b.status.name
        rows.append(Row(len(rows), parent, 0 if parent < 0 else rows[parent].depth + 1,
                        paths[b.id].rsplit("/", 1)[-1], paths[b.id], kind_of(b), not b.children, shown,
                        b.feedback_message or "", b.id in active))
    return rows


def text_tree(rows, unicode: bool = True, show_status: bool = False) -> str:
    """The tree as indented text with connectors; composites and decorators name their kind."""
    symbols, lines = (UNICODE, UNICODE_LINES) if unicode else (ASCII, ASCII_LINES)
    last_child = {}
    for row in rows:
        last_child[row.parent] = row.index
    out, prefix = [], {}
    for row in rows:
        if row.parent < 0:
            lead, prefix[row.index] = "", ""
        else:
            last = last_child[row.parent] == row.index
            lead = prefix[row.parent] + (lines[1] if last else lines[0])
            prefix[row.index] = prefix[row.parent] + (lines[3] if last else lines[2])
        mark = f"{symbols[row.status]} " if show_status else ""
        kind = "" if row.leaf else f"  [{row.kind}]"
        out.append(f"{lead}{mark}{row.name}{kind}")
    text = "\n".join(out)
    return text if unicode else text.encode("ascii", "replace").decode()


DOT_FILL = {"SUCCESS": "palegreen", "FAILURE": "lightpink", "RUNNING": "lightskyblue", "INVALID": "gray92",
            "HALTED": "khaki", "SKIPPED": "gray80"}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(rows, title: str = "mission") -> str:
    """Graphviz DOT text: composites as boxes, decorators as hexagons, leaves as ellipses; node ids
    are the behaviours' paths, labels their names and (for composites) kinds, in plain text."""
    out = [f'digraph "{_escape(title)}" {{', "ordering=out;", 'graph [fontname="DejaVu Sans"];',
           'node [fontname="DejaVu Sans", fontsize=10, style=filled];']
    for row in rows:
        category = KINDS[row.kind].category if row.kind in KINDS else ("leaf" if row.leaf else "composite")
        shape = {"leaf": "ellipse", "decorator": "hexagon"}.get(category, "box")
        label = _escape(row.name) + ("" if row.leaf else f"\\n({_escape(row.kind)})")
        out.append(f'"{_escape(row.path)}" [label="{label}", shape={shape}, '
                   f'fillcolor={DOT_FILL.get(row.status, "white")}];')
        if row.parent >= 0:
            out.append(f'"{_escape(rows[row.parent].path)}" -> "{_escape(row.path)}";')
    out.append("}")
    return "\n".join(out) + "\n"
