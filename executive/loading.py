"""Loading an ExecuteMission goal's mission: confined to the mission roots, within limits, and off
the executor's thread.

The action is served over unauthenticated DDS, so a goal is hostile input:

- **Roots.** A goal names a mission in the mission roots (:func:`executive.paths.mission_roots`)
  or carries the mission's YAML text. A path elsewhere (absolute, ``..``, a symlink out) is refused
  before the file system is touched, so no error can quote a file outside the roots.
- **Limits** (:class:`Limits`, the executive's ``max_*`` and ``load_timeout`` parameters): the
  goal's size and overrides are checked before anything is parsed; the number of behaviours and
  the time are checked while resolving; errors are cut to size in the result.
- **Off the executor's thread.** Parsing and resolving run on one worker thread (:class:`Worker`)
  while the executor keeps ticking the running mission and answering requests; only building the
  py_trees behaviours (whose blackboard registry is not thread-safe) comes back to the executor's
  thread (:func:`finish`, in slices of SLICE seconds). Resolved models are kept by content (the
  node's MissionCache), so a goal sent again is only built. Goals load one at a time, in the order they
  arrived; a goal still not loaded ``load_timeout`` seconds after it arrived is answered INVALID
  and its load is dropped.
"""
import collections
import concurrent.futures
import queue
import threading
import time
from dataclasses import dataclass, fields

from rclpy.task import Future

from executive import paths
from executive.language.compiler import compile_steps
from executive.language.errors import MissionError, MissionInvalid
from executive.language.resolve import Resolver, parse_overrides

GOAL = "<goal>"             # the file name errors give a goal's mission text
SLICE = 0.005               # s of the executor's thread one goal's loading takes before giving it back
PARAMETERS = "<parameters>"


@dataclass(frozen=True)
class Limits:
    """What one goal may cost; each field is the executive parameter of the same name."""
    max_goal_size: int = 262144         # bytes of mission text or name
    max_overrides: int = 100
    max_override_size: int = 4096       # bytes of one name=value
    max_nodes: int = 5000               # behaviours after expansion
    load_timeout: float = 10.0          # s from arrival to loaded
    max_error_size: int = 2000          # characters of one error message
    max_errors: int = 100               # errors listed in one result

    @classmethod
    def of(cls, node) -> "Limits":
        return cls(**{f.name: node.get_parameter(f.name).value for f in fields(cls)})


def is_mission_text(mission: str) -> bool:
    """A goal's ``mission`` is YAML text (not a name) when it has a line break or starts like a mission."""
    return "\n" in mission or mission.lstrip().startswith(("{", "name:", "tree:"))


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a mark saying how many more there were."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]} ... [cut: {len(text) - limit} more characters]"


def cut_errors(errors, limits: Limits) -> list:
    """Errors for a result: each cut to ``max_error_size``, at most ``max_errors`` of them (then a
    line saying how many more there were)."""
    errors = list(errors)
    shown = [cut(e, limits.max_error_size) for e in errors[:limits.max_errors]]
    if len(errors) > limits.max_errors:
        shown.append(f"... and {len(errors) - limits.max_errors} more errors")
    return shown


def label(mission: str) -> str:
    """A goal's mission as a log line names it: the name, or the name line of mission text (cut)."""
    text = mission[:20000].strip()      # however big the goal, a label costs little
    if "\n" not in text and len(text) <= 80:
        return repr(text)
    for line in text.splitlines()[:200]:
        if line.startswith("name:"):
            return repr(line[5:].strip()[:60]) + " (text)"
    return f"<mission text, {len(mission)} characters>"


def check_goal(mission: str, overrides, limits: Limits) -> list:
    """The limits a goal breaks before anything of it is parsed: MissionErrors (empty: none)."""
    errors = []
    size = len(mission.encode("utf-8", "surrogatepass"))
    if size > limits.max_goal_size:
        errors.append(MissionError(GOAL, 0, 0, "mission", f"the goal's mission is {size} bytes; the executive "
                                   f"takes at most {limits.max_goal_size} (its max_goal_size parameter)"))
    if len(overrides) > limits.max_overrides:
        errors.append(MissionError(PARAMETERS, 0, 0, "", f"{len(overrides)} parameter overrides; the executive "
                                   f"takes at most {limits.max_overrides} (its max_overrides parameter)"))
    for number, pair in enumerate(overrides[:limits.max_overrides], 1):
        size = len(pair.encode("utf-8", "surrogatepass"))
        if size > limits.max_override_size:
            errors.append(MissionError(PARAMETERS, number, 0, cut(pair.partition("=")[0], 60),
                                       f"override {number} is {size} bytes; the executive takes at most "
                                       f"{limits.max_override_size} (its max_override_size parameter)"))
    return errors


def resolve_goal(mission: str, overrides, roots, limits: Limits, deadline: float, cache=None):
    """Parse and resolve a goal's mission (the worker thread's part; it makes no behaviour): the
    model. Raises MissionInvalid. ``cache``: a MissionCache shared with ExecutiveNode.load, so a
    goal sent again is not resolved again."""
    overrides = tuple(overrides)

    def resolver(root):
        return Resolver(root, max_nodes=limits.max_nodes, deadline=deadline, roots=roots)
    if is_mission_text(mission):
        root = roots[0]
        key = ("text", mission, str(root), overrides)
        make = lambda: resolver(root).text(mission, parse_overrides(overrides), GOAL)     # noqa: E731
    elif not mission.strip():
        raise MissionInvalid([MissionError(GOAL, 0, 0, "mission", "the goal names no mission",
                                           "give a mission's name, or its YAML text")])
    else:
        try:
            path = paths.goal_mission(mission, roots)
        except paths.OutsideRoots:
            raise MissionInvalid([MissionError(GOAL, 0, 0, "mission", f"{label(mission)} is not in the mission "
                                               "directories; a goal names a mission in them, or carries its text",
                                               f"the directories: {_listed(roots)}")]) from None
        if path is None:
            raise MissionInvalid([MissionError(GOAL, 0, 0, "mission", f"no mission named {label(mission)}",
                                               f"looked in {_listed(roots)}")])
        key = ("file", str(path), overrides)
        make = lambda: resolver(None).mission(path, parse_overrides(overrides))       # noqa: E731
    return cache.get(key, make) if cache is not None else make()


class LoadTimeout(Exception):
    """The goal's load went past its deadline."""


async def finish(model, next_round, deadline: float):
    """The executor thread's part of loading: building the tree, in slices of at most SLICE
    seconds, awaiting ``next_round()`` (a future the executor completes in its next round) in
    between, so that a big mission never holds the executor for long. Returns the py_trees root;
    raises LoadTimeout past ``deadline`` (monotonic s; what was built is released)."""
    steps = compile_steps(model)
    until = time.monotonic() + SLICE
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value
        if time.monotonic() > until:
            if time.monotonic() > deadline:
                steps.close()       # releases what it built
                raise LoadTimeout()
            await next_round()
            until = time.monotonic() + SLICE


def _listed(roots) -> str:
    return ", ".join(str(r) for r in roots)


class Worker:
    """One daemon thread that runs functions one at a time, in order; each result (a
    ``concurrent.futures.Future``) comes back on the executor's thread, as the result of the rclpy
    Future :meth:`submit` returned (so an ``async`` callback can ``await`` it). A call not started
    by its ``deadline``, or whose answer is no longer awaited, is skipped. A daemon thread: a load
    that never ends must not keep the process from exiting."""

    def __init__(self, node, name: str = "mission-loader"):
        self._jobs = queue.SimpleQueue()
        self._done = collections.deque()        # (rclpy future, concurrent future): appended by the thread
        self._guard = node.create_guard_condition(self._deliver)
        self._rounds = []                       # futures waiting for the executor's next round
        self._closed = False
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def submit(self, deadline: float, function, *args) -> Future:
        answer, job = Future(), concurrent.futures.Future()
        job.add_done_callback(lambda job: self._hand_over(answer, job))
        self._jobs.put((job, answer, deadline, function, args))
        return answer

    def _work(self):
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, answer, deadline, function, args = item
            if answer.done() or time.monotonic() > deadline:
                job.set_exception(TimeoutError("not started before its deadline"))
                continue
            try:
                job.set_result(function(*args))
            except BaseException as exc:    # handed over: raised again where the result is read
                job.set_exception(exc)

    def _hand_over(self, answer, job):
        self._done.append((answer, job))
        if not self._closed:
            try:
                self._guard.trigger()
            except Exception:       # the node is being destroyed: nobody waits any more
                pass

    def next_round(self) -> Future:
        """A future the executor completes in its next round (after what else is ready)."""
        future = Future()
        self._rounds.append(future)
        self._guard.trigger()
        return future

    def _deliver(self):
        while self._done:
            answer, job = self._done.popleft()
            if not answer.done():
                answer.set_result(job)
        rounds, self._rounds = self._rounds, []
        for future in rounds:
            future.set_result(None)

    def close(self):
        self._closed = True
        self._jobs.put(None)
