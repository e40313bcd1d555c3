"""The run log: every event of one mission run as JSON lines, and ``mission report``'s reading of it.

A run writes ``<log_dir>/<run_id>/events.jsonl``. Each line is one event::

    {"t": 1.234, "wall": 1763712000.5, "event": "status", "path": "inspection/approach", ...}

``t`` is seconds since the run started (monotonic), ``wall`` the time of day (epoch seconds).
Events: ``run_started`` (mission, parameters, the executive's node name, the tree's shape),
``status`` (a behaviour's shown status changed: RUNNING, SUCCESS, FAILURE, HALTED, SKIPPED; see
executive/run.py), ``blackboard`` (a key's new value), the leaves' goal and call events
(``goal_sent``, ``goal_accepted``, ``goal_rejected``, ``feedback``, ``cancel_sent``,
``cancel_answer``, ``status_mismatch``, ``result``, ``goal_lost``; ``call_sent``, ``response``,
``call_abandoned``; see behaviors/actions.py and services.py), ``paused``, ``resumed`` (with the
pause's length), ``halting`` (cancel, preemption, shutdown), ``settling`` (the tree ended while goals
it stopped were still in flight), ``goal_abandoned`` (a goal still open when the halt timeout
passed), ``halted``, ``run_finished`` (outcome, root cause, every failure that explains it) and
``cancel_requested`` (an ExecuteMission cancel, also when it arrives after the end: ``late``).
Every event is flushed as it is written, so a killed process loses nothing it logged.
"""
import json
import os
import pathlib
import socket
import time
import uuid

FILE_NAME = "events.jsonl"


def default_log_dir() -> pathlib.Path:
    """``$ROS_HOME/mission_logs`` (``~/.ros/mission_logs``), beside ROS's own logs."""
    return pathlib.Path(os.environ.get("ROS_HOME") or pathlib.Path.home() / ".ros") / "mission_logs"


def process_identity() -> dict:
    """Who runs a mission, as logged in ``run_started``: host, boot, pid and the process's start
    time (so that a pid reused by another process does not count as the same one)."""
    return dict(host=socket.gethostname(), boot_id=_boot_id(), pid=os.getpid(), process_start=_start_time(os.getpid()))


def _boot_id() -> str:
    try:
        return open("/proc/sys/kernel/random/boot_id").read().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]    # field 22, after the command name


def is_alive(identity: dict) -> bool:
    """True when the process that wrote ``identity`` (see :func:`process_identity`) still runs here;
    False when it is gone. A run of another host counts as alive: it is not ours to judge."""
    if identity.get("host") != socket.gethostname():
        return True
    if identity.get("boot_id") and identity.get("boot_id") != _boot_id():
        return False
    pid = identity.get("pid")
    return bool(pid) and _start_time(int(pid)) == identity.get("process_start")


class RunLog:
    """Appends events to a new run directory under ``log_dir``."""

    def __init__(self, log_dir, mission_name: str):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in mission_name) or "mission"
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}_{safe}_{uuid.uuid4().hex[:6]}"
        self.directory = pathlib.Path(log_dir or default_log_dir()) / self.run_id
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILE_NAME
        self._file = open(self.path, "a", encoding="utf-8")
        self._start = time.monotonic()
        self.listeners = []     # callables(JSON text of an event), told of each event as it is written

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def write(self, event: str, **data):
        if self._file is None:
            return
        record = {"t": round(self.elapsed(), 4), "wall": round(time.time(), 4), "event": event, **data}
        text = json.dumps(record, default=str, separators=(",", ":"))
        self._file.write(text + "\n")
        self._file.flush()
        for listener in self.listeners:
            listener(text)

    def write_late(self, event: str, **data):
        """Append an event after the log was closed (e.g. a cancel request arriving after the end)."""
        if self._file is not None:
            self.write(event, **data)
            return
        record = {"t": round(self.elapsed(), 4), "wall": round(time.time(), 4), "event": event, "late": True, **data}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def find(path) -> pathlib.Path:
    """The events file for a run directory or the file itself."""
    path = pathlib.Path(path)
    return path / FILE_NAME if path.is_dir() else path


def read(path) -> list:
    """The events of a log. A last line cut short (the writer was killed mid-line) is skipped;
    any other unreadable line raises ValueError naming it."""
    path = find(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number}: not a JSON event ({exc.msg})") from None
    return events
