"""The live view ``mission run`` prints: on a terminal, the whole tree redrawn in place with each
behaviour's status and feedback, the active leaf marked, and a progress bar; into a pipe or file,
one line per leaf status change (a log that reads well in CI)."""
import sys
import time

from py_trees.common import Status

SYMBOLS = {Status.INVALID: "-", Status.RUNNING: "*", Status.SUCCESS: "o", Status.FAILURE: "x"}
COLOURS = {Status.INVALID: "\x1b[2m", Status.RUNNING: "\x1b[33m", Status.SUCCESS: "\x1b[32m",
           Status.FAILURE: "\x1b[31m"}
RESET = "\x1b[0m"
REDRAW_PERIOD = 0.1


def progress_bar(fraction: float, width: int = 24) -> str:
    filled = int(round(fraction * width))
    return "[" + "#" * filled + "." * (width - filled) + f"] {100 * fraction:3.0f}%"


def _depth(behaviour, root) -> int:
    depth = 0
    while behaviour is not root:
        behaviour, depth = behaviour.parent, depth + 1
    return depth


class LiveView:
    def __init__(self, stream=None, interactive: bool = None):
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._drawn = 0
        self._last_draw = 0.0
        self._seen = {}
        self._state = None

    def update(self, run):
        if self.interactive:
            now = time.monotonic()
            if run.done or now - self._last_draw >= REDRAW_PERIOD:
                self._last_draw = now
                self._redraw(run)
        else:
            self._log_changes(run)

    # -- terminal ----------------------------------------------------------------------------
    def _redraw(self, run):
        tip = run.root.tip()
        lines = []
        for b in run.behaviours:        # pre-order
            depth = _depth(b, run.root)
            mark = "  <" if tip is not None and b is tip and b.status == Status.RUNNING else ""
            feedback = f"  {b.feedback_message}" if b.feedback_message else ""
            lines.append(f"{'  ' * depth}{COLOURS[b.status]}{SYMBOLS[b.status]} {b.name}{RESET}"
                         f"\x1b[2m{feedback[:100]}{RESET}{mark}")
        state = f" {run.state.upper()}" if run.state not in ("running", "done") else ""
        lines.append(f"{progress_bar(run.progress())} {run.elapsed():6.1f} s{state}  {run.active_path()}")
        text = "".join(f"{line}\x1b[K\n" for line in lines)
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.stream.write(up + text + "\x1b[J")
        self.stream.flush()
        self._drawn = len(lines)

    # -- pipes and files -----------------------------------------------------------------------
    def _log_changes(self, run):
        for b in run.leaves:
            status = b.status
            if self._seen.get(b.id, Status.INVALID) != status:
                self._seen[b.id] = status
                if status != Status.INVALID:
                    detail = f" ({b.feedback_message})" if b.feedback_message else ""
                    self._line(run, f"{status.name:8} {run.paths[b.id]}{detail}")
        if run.state != self._state:
            if run.state in ("paused", "halting") or self._state in ("paused",):
                self._line(run, f"mission {run.state}" + (f": {run.halt_reason}" if run.state == "halting" and run.halt_reason else ""))
            self._state = run.state

    def _line(self, run, text):
        self.stream.write(f"[{run.elapsed():7.2f} s {100 * run.progress():3.0f}%] {text}\n")
        self.stream.flush()
