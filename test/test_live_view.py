"""The live view of ``mission run``: the layout that fits any screen (property tests), the real
terminal under tmux at 80x24 and 200x50 with a resize mid-run (screens captured), and the pipe
mode's lines in causal order."""
import pathlib
import re
import shutil
import subprocess
import time
import uuid

import pytest
from hypothesis import given, settings, strategies as st
from rich.cells import cell_len

from executive.tools.launcher import BIN
from executive.tools.live import Frame, visible_rows
from executive.tools.render import ASCII, UNICODE, Row

ARTIFACTS = pathlib.Path(__file__).resolve().parent / "artifacts"
DEBUG_TEXTS = ("[status:", "remaining:", "time still ticking", "oneshot completed", "success from")


# -- the layout, without a terminal -----------------------------------------------------------
@st.composite
def trees(draw):
    """Rows of a random tree in pre-order, random statuses, and an active path from the root."""
    count = draw(st.integers(1, 80))
    parents = [-1]
    for i in range(1, count):
        parents.append(draw(st.integers(0, i - 1)))
    # pre-order needs each subtree contiguous: build children lists, then walk
    children = {i: [] for i in range(count)}
    for i in range(1, count):
        children[parents[i]].append(i)
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children[node]))
    index = {old: new for new, old in enumerate(order)}
    rows = []
    for new, old in enumerate(order):
        parent = index[parents[old]] if parents[old] >= 0 else -1
        rows.append(Row(new, parent, 0 if parent < 0 else rows[parent].depth + 1, f"n{new}" * draw(st.integers(1, 12)),
                        f"p{new}", "sequence", not children[old],
                        draw(st.sampled_from(list(UNICODE))), draw(st.text(max_size=60)), False))
    tip = draw(st.integers(0, count - 1))
    while tip >= 0:
        rows[tip].active = True
        tip = rows[tip].parent
    return rows


@settings(max_examples=300, deadline=None)
@given(trees(), st.integers(1, 60))
def test_visible_rows_fit_and_keep_the_root_the_tip_and_every_parent(rows, height):
    shown, hidden = visible_rows(rows, height)
    indices = {r.index for r in shown}
    tip = max(r.index for r in rows if r.active)
    assert 0 in indices and len(shown) <= max(1, height)
    if height >= 2 or tip == 0:
        assert tip in indices
    if rows[tip].depth < height:    # else the root, the tip and its nearest ancestors: a gap between
        assert all(r.parent in indices for r in shown if r.parent >= 0)
    assert sum(hidden.values()) == len(rows) - len(shown)
    if len(rows) <= height:
        assert len(shown) == len(rows)      # nothing folds when all of it fits


@settings(max_examples=200, deadline=None)
@given(trees(), st.integers(10, 220), st.integers(3, 60), st.booleans())
def test_frames_never_wider_or_taller_than_the_screen(rows, width, height, unicode):
    frame = Frame(rows, "[####......]  40%    12.3 s PAUSED", "/".join(f"segment{i}" for i in range(30)),
                  UNICODE if unicode else ASCII)
    lines = frame.lines(width, height)
    assert len(lines) <= height - 1
    assert all(cell_len(line.plain) <= width for line in lines), [line.plain for line in lines]
    assert all("\n" not in line.plain for line in lines)


# -- a real terminal -----------------------------------------------------------------------------
TALL = """name: tall
description: thirty behaviours, none of which needs a robot
tree:
  sequence:
    name: the root
    children:
      - sequence:
          name: stage one
          children: [{wait: {name: a1, seconds: 0.15}}, {wait: {name: a2, seconds: 0.15}},
                     {wait: {name: a3, seconds: 0.15}}, {wait: {name: a4, seconds: 0.15}}]
      - retry:
          name: retrying
          attempts: 2
          child:
            sequence:
              name: inner
              children: [{wait: {name: b1, seconds: 0.15}}, {wait: {name: b2, seconds: 0.15}}]
      - repeat:
          name: rounds
          times: 2
          child:
            sequence:
              name: round
              children: [{wait: {name: r1, seconds: 0.15}}, {wait: {name: r2, seconds: 0.15}}]
      - timeout:
          name: limited
          seconds: 30
          child: {wait: {name: a slow wait, seconds: 3.0}}
      - sequence:
          name: stage three with a name long enough to be cut on a narrow terminal screen for sure
          children: [{wait: {name: c1, seconds: 0.15}}, {wait: {name: c2, seconds: 0.15}},
                     {wait: {name: c3, seconds: 0.15}}, {wait: {name: c4, seconds: 0.15}},
                     {wait: {name: c5, seconds: 0.15}}, {wait: {name: c6, seconds: 0.15}},
                     {wait: {name: c7, seconds: 0.15}}, {wait: {name: c8, seconds: 0.15}}]
      - log: {name: done, message: all stages done}
"""


class Tmux:
    """A detached tmux session of its own size; ``screen()`` is what it shows now."""

    def __init__(self, width: int, height: int):
        self.name = f"view-{uuid.uuid4().hex[:8]}"
        # COLUMNS and LINES exported, as some shells (and a fresh tmux server started from a test) do:
        # the view must follow resizes all the same.
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        "-e", f"COLUMNS={width}", "-e", f"LINES={height}"], check=True)

    def send(self, text: str):
        subprocess.run(["tmux", "send-keys", "-t", self.name, text, "Enter"], check=True)

    def screen(self, history: bool = False) -> list:
        # -J joins lines the terminal wrapped, so a wrapped line shows as one line longer than the screen.
        args = ["tmux", "capture-pane", "-p", "-J", "-t", self.name] + (["-S", "-"] if history else [])
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()

    def resize(self, width: int, height: int):
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)], check=True)

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/setup.sh test installs it)")
@pytest.mark.parametrize("width,height,resize_to", [(80, 24, (50, 12)), (200, 50, (120, 20))])
def test_terminal_view_fits_follows_resizes_and_leaves_nothing_behind(tmp_path, width, height, resize_to):
    mission = tmp_path / "tall.yaml"
    mission.write_text(TALL)
    terminal = Tmux(width, height)
    screens = []
    try:
        terminal.send(f"{BIN / 'mission'} run {mission} --log-dir {tmp_path / 'logs'}; echo EXIT=$?")
        deadline, resized = time.monotonic() + 90, False
        size = (width, height)
        while True:
            assert time.monotonic() < deadline, "mission run did not end:\n" + "\n".join(terminal.screen())
            screen = terminal.screen()
            if any(line.startswith("EXIT=") for line in screen):
                break
            if any(line.rstrip().endswith("<") for line in screen):     # a frame with the active leaf
                if resized == "waiting":
                    # A frame drawn before the view saw the new size is not one of the new size's frames:
                    # the first frame that fits is (the view redraws 4 times a second).
                    if not all(cell_len(line.rstrip()) <= size[0] for line in screen):
                        time.sleep(0.05)
                        continue
                    resized = True
                screens.append((size, screen))
                if len(screens) == 3 and not resized:
                    terminal.resize(*resize_to)
                    size, resized = resize_to, "waiting"
            time.sleep(0.1)
        assert "EXIT=0" in "\n".join(screen), "\n".join(screen)
        history = terminal.screen(history=True)
    finally:
        terminal.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"live_view_{width}x{height}.txt").write_text(
        "\n\n".join(f"--- {w}x{h}\n" + "\n".join(s) for (w, h), s in screens) + "\n--- after\n" + "\n".join(history))
    assert len(screens) >= 4 and any(size == resize_to for size, _ in screens), \
        f"too few frames captured while running: {len(screens)}"
    for (w, h), screen in screens:
        text = "\n".join(screen)
        assert all(cell_len(line.rstrip()) <= w for line in screen), f"a line is wider than {w}:\n{text}"
        assert len([line for line in screen if line.strip()]) <= h
        assert screen[0].lstrip().endswith("the root") or "the root" in screen[0], f"no root on top:\n{text}"
        active = [line for line in screen if line.rstrip().endswith("<")]
        assert len(active) == 1 and "*" in active[0], f"not one active leaf:\n{text}"
        assert not any(debug in text for debug in DEBUG_TEXTS), text
        assert not any("s left" in line and "✓" in line for line in screen), f"a finished wait says time is left:\n{text}"
    # The live display was on the alternate screen: the scrollback holds the final tree once.
    assert sum(bool(re.fullmatch(r". the root( \(\+\d+\))?", line.strip())) for line in history) == 1, \
        "\n".join(history)
    assert any("mission tall succeeded" in line for line in history)


# -- pipes -----------------------------------------------------------------------------------
CAUSES = """name: causes
tree:
  sequence:
    name: causes
    children:
      - fallback:
          name: charge or warn
          children:
            - condition: {name: charged, check: 'battery >= 50'}
            - log: {name: low battery, message: battery is low, level: warning}
      - parallel:
          name: first one wins
          policy: one
          children:
            - wait: {name: short, seconds: 0.2}
            - wait: {name: long, seconds: 30}
blackboard: {battery: 10}
"""


def test_pipe_lines_come_in_causal_order(tmp_path):
    mission = tmp_path / "causes.yaml"
    mission.write_text(CAUSES)
    done = subprocess.run([str(BIN / "mission"), "run", str(mission), "--log-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    text = done.stdout

    def where(fragment):
        found = [i for i, line in enumerate(lines) if fragment in line]
        assert found, f"no line with {fragment!r}:\n{text}"
        return found[0]
    assert where("FAILURE  causes/charge or warn/charged") < where("WARNING  causes/charge or warn/low battery")
    assert "battery is low" in lines[where("WARNING  causes/charge or warn/low battery")]
    assert where("SUCCESS  causes/first one wins/short") < where("mission causes succeeded")
    assert "halting" not in text and "[WARN]" not in done.stderr, text + done.stderr
    assert not any(debug in text for debug in DEBUG_TEXTS), text
    # One line per change: no line twice.
    changes = [line.split("] ", 1)[1] for line in lines if line.startswith("[")]
    assert len(changes) == len(set(changes)), text
