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
``cancel_requested`` (an ExecuteMission cancel, also when it arrives after the end: ``late``),
``checkpoint`` (where the run is, synced to disk: executive/resume.py) and ``resumed_as`` (appended
to an interrupted run's log when a new run resumes it).
Every event is flushed as it is written, so a killed process loses nothing it logged.
"""
import contextlib
import json
import os
import pathlib
import socket
import threading
import time
import uuid

FILE_NAME = "events.jsonl"
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))    # made once: json.dumps with options makes one per call


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


_last_stamp = [0]
_stamp_lock = threading.Lock()


def _start_stamp() -> str:
    """A run id's leading ``YYYYmmdd-HHMMSS-mmm`` (local time, milliseconds), so that run ids
    sort in start order (:func:`run_dirs`): a run resumed or restarted within the second of the
    one before it sorts after it. Within one process each stamp is later than the one before."""
    with _stamp_lock:
        ms = max(int(time.time() * 1000), _last_stamp[0] + 1)
        _last_stamp[0] = ms
    return f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(ms // 1000))}-{ms % 1000:03d}"


class RunLog:
    """Appends events to a new run directory under ``log_dir``.

    Raises OSError (saying where and why) when the directory or file cannot be made: a run that
    cannot be logged does not start. Once running, a write that fails (a full disk, an I/O error)
    does not stop the mission: ``on_problem(log, message)`` is told once, the events are counted
    as lost, writing is tried again at most every RETRY_PERIOD, and when it works again a
    ``log_gap`` event says how many were lost and why; :attr:`problem` keeps the first reason for
    the run's result. A log file deleted mid-run (its directory removed) is noticed at the next
    write: the file is made again, starting with the run's ``run_started`` line and a
    ``log_recreated`` event. Payloads other than ``run_started`` and ``blackboard`` events (which
    a resume needs whole) are cut to ``max_payload`` characters per field, and say so.
    """

    def __init__(self, log_dir, mission_name: str, on_problem=None, max_payload: int = None, on_fault=None):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in mission_name)[:80] or "mission"
        self.run_id = f"{_start_stamp()}_{safe}_{uuid.uuid4().hex[:6]}"
        self.directory = pathlib.Path(log_dir or default_log_dir()) / self.run_id
        self.path = self.directory / FILE_NAME
        self.max_payload = max_payload
        self.on_problem = on_problem or (lambda log, message: None)
        self.on_fault = on_fault        # called (in an except block) when a listener raises
        self.healthy = True
        self.problem = ""               # the first reason events were lost, for the run's result
        self.lost = 0                   # events not written since the last failure began
        self._retry_at = 0.0
        self._first = None              # the run_started line, written again into a recreated file
        self._syncer = None             # the thread that syncs to disk (see sync)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write the run log in {self.directory.parent}: "
                                     f"{exc.strerror or exc}") from None
        self._start = time.monotonic()
        self.listeners = []     # callables(JSON text of an event), told of each event as it is written

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def _encode(self, event: str, data: dict, late: bool = False) -> str:
        record = {"t": round(self.elapsed(), 4), "wall": round(time.time(), 4), "event": event,
                  **({"late": True} if late else {}), **data}
        text = _ENCODER.encode(record)
        # Cut fields only when the whole line is too long (no field of a shorter one can be): most
        # events are encoded once.
        if self.max_payload is not None and len(text) > self.max_payload and event not in WHOLE_EVENTS:
            record.update((k, _cut(v, self.max_payload)) for k, v in data.items())
            text = _ENCODER.encode(record)
        return text

    def write(self, event: str, **data):
        if self._fd is None:
            return
        text = self._encode(event, data)
        if self._first is None and event == "run_started":
            self._first = text
        self._append(text)
        for listener in list(self.listeners):
            try:
                listener(text)
            except Exception:
                if self.on_fault is None:
                    raise
                self.on_fault("telling a run log listener about an event")

    def _append(self, text: str):
        now = time.monotonic()
        if not self.healthy and now < self._retry_at:
            self.lost += 1
            return
        try:
            if os.fstat(self._fd).st_nlink == 0:    # deleted under us: writes would go nowhere
                self._recreate()
            if not self.healthy:        # writing again: end a line cut short, say what was lost
                _write_all(self._fd, "\n" + self._encode("log_gap", dict(lost=self.lost, reason=self.problem)) + "\n")
            _write_all(self._fd, text + "\n")
        except OSError as exc:
            self.lost += 1
            self._retry_at = now + RETRY_PERIOD
            if self.healthy:
                self.healthy = False
                self.problem = self.problem or f"events lost: {exc.strerror or exc}"
                self.on_problem(self, f"cannot write ({exc.strerror or exc}); the mission goes on, its events "
                                      f"are lost until writing works again (tried every {RETRY_PERIOD:g} s)")
            return
        if not self.healthy:
            self.healthy = True
            self.on_problem(self, f"writing again; {self.lost} events were lost")
            self.lost = 0

    def _recreate(self):
        """The file was deleted: make it again (directory included), starting with run_started."""
        with self._fd_lock():
            os.close(self._fd)
            self._fd = None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        reason = "the log file was deleted while the run went on; events before this one are lost"
        self.problem = self.problem or "the log file was deleted mid-run; it was made again"
        self.on_problem(self, "deleted while the run went on: made again (earlier events are lost)")
        _write_all(self._fd, (self._first + "\n" if self._first else "") +
                   self._encode("log_recreated", dict(reason=reason)) + "\n")

    def sync(self):
        """Make what was written survive a power cut (``os.fsync``), on a thread of the log's own: the
        caller (the tick) never waits for the disk (a sync takes about 1 ms here, 10 ms at p99;
        bench/checkpoint.py). Syncs are at most SYNC_PERIOD apart: what was written is on disk at
        most that plus a sync's time later; ``close`` syncs and waits. A failure is a write problem
        (``on_problem``)."""
        if self._fd is None:
            return
        if self._syncer is None:
            self._syncer = _Syncer(self)
            self._syncer.start()
        self._syncer.request()

    def write_late(self, event: str, **data):
        """Append an event after the log was closed (e.g. a cancel request arriving after the end)."""
        if self._fd is not None:
            self.write(event, **data)
            return
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(self._encode(event, data, late=True) + "\n")
        except OSError as exc:
            self.on_problem(self, f"cannot append a late {event} event: {exc.strerror or exc}")

    def _fd_lock(self):
        return self._syncer.lock if self._syncer is not None else _NO_LOCK

    def close(self):
        if self._syncer is not None:
            self._syncer.stop()     # the last sync first: a closed log is on disk
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


class Appender:
    """Appends events to an existing run log, timed after its last event."""

    def __init__(self, run_dir):
        self.path = find(run_dir)
        events = read(self.path)
        self._t0 = (events[-1]["t"] if events else 0.0) - time.monotonic()

    def write(self, event: str, **data):
        record = {"t": round(time.monotonic() + self._t0, 4), "wall": round(time.time(), 4), "event": event, **data}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")


class _Syncer(threading.Thread):
    """Syncs a RunLog's file when asked (:meth:`request`), off the caller's thread, at most once per
    SYNC_PERIOD: requests made meanwhile are served together by the next sync, so a loop of
    instant leaves (a checkpoint each) wakes this thread a few times, not once per leaf."""

    def __init__(self, log):
        super().__init__(name="run-log-sync", daemon=True)
        self.log, self.wanted, self.lock, self.stopping = log, threading.Event(), threading.Lock(), False
        self.requested = False
        self._stopped = threading.Event()

    def request(self):
        if not self.requested:      # else one is pending: the next sync covers what was written since
            self.requested = True
            self.wanted.set()

    def run(self):
        while not self.stopping:
            self.wanted.wait()
            self.wanted.clear()
            self.requested = False      # before the sync: what is written after it asks again
            self._sync()
            self._stopped.wait(SYNC_PERIOD)

    def _sync(self):
        with self.lock:
            fd = self.log._fd
            if fd is None:
                return
            try:
                os.fsync(fd)
            except OSError as exc:
                self.log.on_problem(self.log, f"cannot sync to disk ({exc.strerror or exc})")

    def stop(self):
        self.stopping = True
        self._stopped.set()
        self.wanted.set()
        self.join(timeout=10.0)
        self._sync()


_NO_LOCK = contextlib.nullcontext()
WHOLE_EVENTS = ("run_started", "blackboard", "checkpoint")    # never cut: a resume and the views need them whole
RETRY_PERIOD = 1.0      # s between attempts to write a log that failed
SYNC_PERIOD = 0.05      # s: the shortest time between two syncs of a log to disk


def _write_all(fd, text: str):
    data = text.encode("utf-8", "surrogatepass")
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _cut(value, limit: int):
    """``value``, or when its JSON is longer than ``limit`` characters, that text cut and marked."""
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    if len(text) <= limit:
        return value
    return f"{text[:limit]} ... [cut: {len(text) - limit} more characters]"


def find(path) -> pathlib.Path:
    """The events file for a run directory or the file itself."""
    path = pathlib.Path(path)
    return path / FILE_NAME if path.is_dir() else path


def run_dirs(log_dir) -> list:
    """The run directories under ``log_dir`` (those with an events file), oldest first (run ids
    start with their date and time to the millisecond, see :func:`_start_stamp`); empty when it
    cannot be read."""
    try:
        return sorted(pathlib.Path(e.path) for e in os.scandir(log_dir)
                      if e.is_dir() and os.path.isfile(os.path.join(e.path, FILE_NAME)))
    except OSError:
        return []


def first_event(run_dir) -> dict:
    """A run's first event (``run_started``), or {} when it cannot be read."""
    try:
        with open(find(run_dir), "rb") as f:
            return json.loads(f.readline())
    except (OSError, ValueError):
        return {}


def first_and_tail(path, tail_bytes: int) -> tuple:
    """(first line, the lines in the last ``tail_bytes`` bytes) of an events file, as bytes,
    without reading the rest; OSError when it cannot be read. The tail's first line may be cut."""
    with open(path, "rb") as f:
        first = f.readline()
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - tail_bytes))
        return first, f.read().splitlines()


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
            if number == len(lines) or _gap_follows(lines, number):
                continue        # cut short by a kill, or by a write that failed (a log_gap follows)
            raise ValueError(f"{path}:{number}: not a JSON event ({exc.msg})") from None
    return events


def _gap_follows(lines, number: int) -> bool:
    """True when the line after line ``number`` (1-based) is a ``log_gap`` event."""
    following = lines[number] if number < len(lines) else ""
    return '"event":"log_gap"' in following
