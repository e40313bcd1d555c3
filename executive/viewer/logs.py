"""What the viewer reads from disk on its HTTP threads: finished (and running) runs in a log
directory, one run's events for replay, and the names of missions the page may start."""
import json
import pathlib
import re

from executive import runlog

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RUNS_LIMIT = 500
TAIL_BYTES = 8192


def _first_and_last(path: pathlib.Path):
    """(first event, last event) of an events file without reading all of it; None for unreadable."""
    first, tail = runlog.first_and_tail(path, TAIL_BYTES)
    lines = [line for line in tail if line.strip()]

    def parse(line):
        try:
            return json.loads(line)
        except ValueError:
            return None
    return parse(first), parse(lines[-1]) if lines else None


def list_runs(log_dir) -> list:
    """The runs under ``log_dir``, newest first (the order of :func:`runlog.run_dirs`): run_id,
    mission, wall (start, epoch s), outcome ('' while a run has not finished) and seconds."""
    found = []
    for run_dir in reversed(runlog.run_dirs(log_dir)):
        try:
            first, last = _first_and_last(run_dir / runlog.FILE_NAME)
        except OSError:
            continue
        if not first or first.get("event") != "run_started":
            continue
        finished = last if last and last.get("event") == "run_finished" else {}
        found.append(dict(run_id=run_dir.name, mission=first.get("mission", "?"), wall=first.get("wall", 0),
                          outcome=finished.get("outcome", ""), seconds=finished.get("seconds")))
        if len(found) == RUNS_LIMIT:
            break
    return found


def run_events(log_dir, run_id: str):
    """The events of run ``run_id`` under ``log_dir``; None when there is no such run (ids are
    checked to be plain directory names, so a request cannot reach outside ``log_dir``)."""
    if not RUN_ID.fullmatch(run_id or ""):
        return None
    path = pathlib.Path(log_dir) / run_id / runlog.FILE_NAME
    if not path.is_file():
        return None
    return runlog.read(path)


def mission_names(*directories) -> list:
    """Names of the missions (files with a top-level ``tree:``) in ``directories``, first wins."""
    names = []
    for directory in filter(None, directories):
        for path in sorted(pathlib.Path(directory).glob("*.yaml")):
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                continue
            # A library of subtrees (common.yaml) has no top-level tree and cannot be run.
            if re.search(r"^tree:", text, re.MULTILINE) and path.stem not in names:
                names.append(path.stem)
    return names
