"""The live view ``mission run`` prints.

On a terminal: the tree, each behaviour's status and feedback, the active path marked, and a
progress line, drawn with rich's live display on the terminal's alternate screen (as ``top`` and
``less`` do), so nothing it draws is left behind in the scrollback, however the run or the
terminal's size changes. The frame is laid out for the terminal's size each time it is drawn (4
times a second, and after every change), so it follows resizes: lines are cut to the width, never
wrapped; when the tree is taller than the screen, finished subtrees fold into one line and the
rows farthest from the active path go first, but the root and the active path always stay. When the
mission ends, the final tree (folded to fit) is printed once on the normal screen.

Into a pipe or a file: one line per change, in the order things happened: leaves' status changes
(a failure before whatever it set off in the same tick, behaviours stopped because of it last),
a retry's backoff, pause, resume and halt. The end of a tree that waits for the goals of branches
it stopped is not a halt, and is not reported as one.
"""
import os
import sys
import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

from executive.tools.render import ASCII, FINISHED, UNICODE, rows_of
from executive.viewer.state import active_ids, shown_status

REDRAW_PERIOD = 0.1         # s: the most often a new frame is built from the run
REFRESH_PER_SECOND = 4      # frames drawn when nothing changed (follows resizes)
STYLES = {"SUCCESS": "green", "FAILURE": "bold red", "RUNNING": "yellow", "INVALID": "dim", "HALTED": "magenta",
          "SKIPPED": "dim"}
STOPPED_LAST = ("HALTED", "SKIPPED")     # consequences of another change in the same tick


def progress_bar(fraction: float, width: int = 20) -> str:
    filled = int(round(fraction * width))
    return "[" + "#" * filled + "." * (width - filled) + f"] {100 * fraction:3.0f}%"


# -- fitting a tree into a screen ------------------------------------------------------------
def visible_rows(rows, height: int) -> tuple:
    """(rows to show, {row index: number of rows hidden below it}), at most ``height`` rows.

    Rows are taken by importance until the screen is full: first the root and the active path,
    then every other running branch; then their children (what is done and what comes next); then the rest,
    except inside finished subtrees off the active path, which fold; then those. Within a tier,
    rows nearest the active tip come first, and a row shows only under its shown parent. When
    even the first tier does not fit (a deep path on a short screen), the root, the tip and the
    tip's nearest ancestors stay.
    """
    height = max(1, height)
    tip = max((r.index for r in rows if r.active), default=0)
    core = {0} | {r.index for r in rows if r.active or r.status == "RUNNING"}
    for index in list(core):
        while index > 0:
            index = rows[index].parent
            core.add(index)
    folded = set()
    for row in rows:        # pre-order: a parent is decided before its children
        if row.parent >= 0 and (row.parent in folded or (rows[row.parent].status in FINISHED
                                                          and row.parent not in core)):
            folded.add(row.index)
    near = {r.index for r in rows if r.parent in core} - core
    rest = {r.index for r in rows} - core - near - folded
    shown = set()
    path = {r.index for r in rows if r.active} | {0}
    for tier in (path, core - path, near, rest, folded - near):
        ordered = sorted(tier, key=lambda i: (abs(i - tip), i))
        added = True
        while added and len(shown) < height:
            added = False
            for index in ordered:
                if len(shown) >= height:
                    break
                if index not in shown and (index == 0 or rows[index].parent in shown):
                    shown.add(index)
                    added = True
    if tip not in shown:
        shown, index = {0}, tip
        while index > 0 and len(shown) < height:
            shown.add(index)
            index = rows[index].parent
    hidden = {}
    for row in rows:
        if row.index not in shown:
            ancestor = row.parent
            while ancestor not in shown:
                ancestor = rows[ancestor].parent
            hidden[ancestor] = hidden.get(ancestor, 0) + 1
    return [r for r in rows if r.index in shown], hidden


def tree_text(rows, hidden, width: int, symbols) -> list:
    """One rich Text per row, none wider than ``width`` (cut with an ellipsis, never wrapped)."""
    lines = []
    deepest = max((r.depth for r in rows), default=0)
    step = 2 if deepest * 2 <= width // 3 else max(0, (width // 3) // max(1, deepest))
    for row in rows:
        line = Text(" " * (row.depth * step), no_wrap=True, overflow="ellipsis")
        line.append(symbols.get(row.status, "?") + " ", STYLES.get(row.status, ""))
        line.append(row.name, ("bold " if row.active else "") + STYLES.get(row.status, ""))
        if row.index in hidden:
            line.append(f" (+{hidden[row.index]})", "dim")
        feedback = row.feedback if row.status in ("RUNNING", "FAILURE") else ""
        if feedback:
            line.append("  " + " ".join(feedback.split()), "dim" if row.status == "RUNNING" else "red")
        if row.active and row.leaf and row.status == "RUNNING":
            line.append("  <", "bold yellow")
        line.truncate(width, overflow="ellipsis")
        lines.append(line)
    return lines


def elide_left(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[len(text) - width + 1:]


class Frame:
    """What the terminal shows of a run at one moment; laid out when drawn, for the size then."""

    def __init__(self, rows, footer: str, path: str, symbols):
        self.rows, self.footer, self.path, self.symbols = rows, footer, path, symbols

    def lines(self, width: int, height: int) -> list:
        """The frame for a screen of ``width`` x ``height``: at most ``height - 1`` lines (the last
        screen line stays free, so the terminal never scrolls), none wider than ``width``."""
        rows, hidden = visible_rows(self.rows, max(1, height - 2))
        out = tree_text(rows, hidden, width, self.symbols)
        room = width - len(self.footer) - 2
        footer = Text(self.footer + ("  " + elide_left(self.path, room) if room > 8 else ""), no_wrap=True,
                      overflow="ellipsis")
        footer.truncate(width, overflow="ellipsis")
        return out + [footer]

    def __rich_console__(self, console, options):
        height = options.height or console.size.height
        for line in self.lines(options.max_width, height):
            yield line


class LiveView:
    """``update(run)`` after every tick and change (an ExecutiveNode listener); ``close()`` once
    the run is done. ``interactive`` defaults to whether ``stream`` is a terminal."""

    def __init__(self, stream=None, interactive: bool = None):
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        # A terminal's size is read from the terminal on every frame, so that the view follows resizes:
        # COLUMNS and LINES exported by a shell hold the size at the time the program started.
        environ = {k: v for k, v in os.environ.items() if not (self.interactive and k in ("COLUMNS", "LINES"))}
        self.console = Console(file=self.stream, force_terminal=self.interactive or None,
                               highlight=False, soft_wrap=False, _environ=environ)
        encoding = (getattr(self.stream, "encoding", None) or "").lower().replace("-", "")
        self.symbols = UNICODE if encoding.startswith("utf") else ASCII
        self._live = None
        self._last_draw = 0.0
        self._seen = {}             # behaviour id -> (status, feedback) last reported (pipe)
        self._state = None
        self._frame = None

    # -- terminal ----------------------------------------------------------------------------
    def update(self, run):
        if not self.interactive:
            self._log_changes(run)
            return
        now = time.monotonic()
        if not run.done and now - self._last_draw < REDRAW_PERIOD:
            return
        self._last_draw = now
        self._frame = self.frame(run)
        if self._live is None:
            self._live = Live(self._frame, console=self.console, screen=True, auto_refresh=True,
                              refresh_per_second=REFRESH_PER_SECOND, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        else:
            self._live.update(self._frame, refresh=True)
        if run.done:
            self.close()

    def frame(self, run) -> Frame:
        rows = rows_of(run.root, lambda b: shown_status(run, b), active_ids(run))
        state = "" if run.state in ("running", "done") else f" {run.state.upper()}"
        footer = f"{progress_bar(run.progress())} {run.elapsed():6.1f} s{state}"
        return Frame(rows, footer, run.active_path(), self.symbols)

    def close(self):
        """Leave the live display; the final frame is printed once on the normal screen."""
        if self._live is None:
            return
        live, self._live = self._live, None
        live.stop()
        if self._frame is not None:
            width, height = self.console.size
            for line in self._frame.lines(width, max(4, height - 4)):    # room for the result lines
                self.console.print(line)

    # -- pipes and files -----------------------------------------------------------------------
    def _log_changes(self, run):
        changes = []
        for order, b in enumerate(run.behaviours):
            status, feedback = shown_status(run, b), b.feedback_message or ""
            before = self._seen.get(b.id, ("INVALID", ""))
            self._seen[b.id] = (status, feedback)
            if b.children:
                # Composites: only a retry's wait between attempts (its own line); their statuses
                # follow from their leaves'.
                if run.paths[b.id] and "retrying in" in feedback and feedback != before[1]:
                    changes.append((0, order, f"RETRY    {run.paths[b.id]} ({feedback})"))
                continue
            if status == before[0] or status == "INVALID":
                continue
            changes.append((1 if status in STOPPED_LAST else 0, order, self._leaf_line(run, b, status)))
        for _, _, text in sorted(changes):
            self._line(run, text)
        if run.state != self._state:
            previous, self._state = self._state, run.state
            if run.state == "paused" or previous == "paused":
                self._line(run, f"mission {run.state}")
            elif run.state == "halting" and run.halt_reason:
                self._line(run, f"mission halting: {run.halt_reason}")
            elif run.state == "halting":
                self._line(run, f"tree finished; waiting for {run.goals_in_flight()} goal(s) of stopped "
                                "branches to end")

    @staticmethod
    def _leaf_line(run, behaviour, status) -> str:
        feedback = " ".join((behaviour.feedback_message or "").split())
        if getattr(getattr(behaviour, "mission_node", None), "kind", "") == "log" and status == "SUCCESS":
            return f"{behaviour.level.upper():8} {run.paths[behaviour.id]}: {feedback}"
        detail = f" ({feedback})" if feedback and feedback != "succeeded" else ""
        return f"{status:8} {run.paths[behaviour.id]}{detail}"

    def _line(self, run, text):
        self.stream.write(f"[{run.elapsed():7.2f} s {100 * run.progress():3.0f}%] {text}\n")
        self.stream.flush()
