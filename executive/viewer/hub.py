"""The hand-over between the executor thread (which owns rclpy and py_trees) and the HTTP threads.

- :class:`Hub` holds the newest snapshot (already JSON text) and the run's log events; the
  executor thread publishes, HTTP threads wait on a condition for a newer version.
- :class:`Feed` is the executive's listener: on the executor thread it copies the run into a
  snapshot and hands over the events its log has written since.
- :class:`Control` carries cancel and start requests from HTTP threads to the executor thread
  (a guard condition wakes the executor; ``trigger()`` is thread-safe) and their answers back.
"""
import json
import queue
import threading
import time

import py_trees

from executive import run as runs, runlog
from executive.viewer import state

EVENT_LIMIT = 20000     # events of one run kept for the live timeline (the log keeps them all)
UNWATCHED_PERIOD = 0.5  # s between snapshots while no page is connected


class Hub:
    """Latest state for any number of readers. ``version`` grows with every publish."""

    def __init__(self, initial: dict):
        self._cond = threading.Condition()
        self.version = 0
        self.closed = False
        self.state_json = json.dumps(initial)
        self.run_id = ""
        self.events = []            # JSON text of each event of the current run
        self.clients = 0            # open streams

    def watch(self, delta: int):
        with self._cond:
            self.clients += delta

    def publish(self, snapshot: dict, encoded=(), run_id: str = ""):
        """Executor thread: a new snapshot and the events (JSON text) logged since the last one."""
        text = json.dumps(snapshot, default=str)
        with self._cond:
            if run_id != self.run_id:
                self.run_id, self.events = run_id, []
            self.events.extend(encoded[:max(0, EVENT_LIMIT - len(self.events))])
            self.state_json = text
            self.version += 1
            self._cond.notify_all()

    def wait(self, version: int, timeout: float):
        """Wait until a version newer than ``version`` (or ``timeout``, or close). Returns
        (version, state JSON, run id, events list) as of then; the list is only appended to."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != version or self.closed, timeout)
            return self.version, self.state_json, self.run_id, self.events

    def close(self):
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Feed:
    """Listener for ``ExecutiveNode.listeners``: copies each update of the run into the hub."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self._run = None
        self._events = []       # JSON text of the run's events not yet published
        self._last = 0.0

    def __call__(self, run):
        now = time.monotonic()
        if run is not self._run:
            self._run = run
            # The events the run logged before its first tick (run_started) are read back once;
            # later ones arrive as the log writes them.
            self._events = [json.dumps(e, default=str) for e in runlog.read(run.log.path)] if run.log else []
            if run.log is not None:
                run.log.listeners.append(self._events.append)
        elif not self.hub.clients and not run.done and now - self._last < UNWATCHED_PERIOD:
            return      # nobody watches: a snapshot costs ~10 us per behaviour, so keep /api/state roughly fresh only
        self._last = now
        # The blackboard's storage is read here, on the executor thread, and nowhere else.
        snapshot = state.snapshot(run, py_trees.blackboard.Blackboard.storage)
        events, self._events[:] = list(self._events), []
        self.hub.publish(snapshot, events, run.run_id)


class _Job:
    def __init__(self, action: str, args: dict):
        self.action, self.args = action, args
        self.done = threading.Event()
        self.answer = (500, {"ok": False, "message": "not handled"})


class Control:
    """Cancel and start from the page, executed on the executor thread. ``missions`` is a callable
    returning the mission names the page may start."""

    def __init__(self, executive, missions):
        self.executive = executive
        self.missions = missions
        self._jobs = queue.Queue()
        self._guard = executive.create_guard_condition(self._drain)

    def submit(self, action: str, args: dict, timeout: float) -> tuple:
        """HTTP thread: queue ``action`` and wait for its answer, (HTTP status, JSON-able dict)."""
        job = _Job(action, args)
        self._jobs.put(job)
        self._guard.trigger()
        if not job.done.wait(timeout):
            return 504, {"ok": False, "message": f"the executive did not answer within {timeout:.0f} s"}
        return job.answer

    def _drain(self):
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            try:
                job.answer = self._cancel() if job.action == "cancel" else self._start(**job.args)
            except Exception:       # answer the page instead of killing the executor
                self.executive.report_fault(f"the viewer's {job.action} request")
                job.answer = (500, {"ok": False, "message": "internal error (logged by the executive)"})
            job.done.set()

    def _cancel(self) -> tuple:
        run = self.executive.run
        if not self.executive.busy:
            return 409, {"ok": False, "message": "no mission is running"}
        if not self.executive.halt("cancelled from the viewer"):
            return 409, {"ok": False, "message": f"mission {run.mission.name} is already {run.state}"}
        return 200, {"ok": True, "message": f"halting mission {run.mission.name}", "run_id": run.run_id}

    def _start(self, mission: str = "", parameters=()) -> tuple:
        server = getattr(self.executive, "server", None)
        if self.executive.busy or (server is not None and not server.idle):
            return 409, {"ok": False, "message": "a mission is running; cancel it first"}
        if mission not in self.missions():
            return 400, {"ok": False, "message": f"no mission named {mission!r}"}
        started = self.executive.start(mission, list(parameters))
        if isinstance(started, runs.RunResult):
            return 400, {"ok": False, "message": started.message, "errors": started.errors}
        return 200, {"ok": True, "message": f"started mission {started.mission.name}", "run_id": started.run_id}
