"""The executive's ExecuteMission action server.

- A goal names a mission in the mission roots (or carries it as YAML text) with ``name=value``
  overrides. It is loaded and checked when it arrives, off the executor's thread and within the
  executive's limits (executive/loading.py): a big or hostile goal never stalls a running mission.
  An invalid mission is accepted and at once aborted with outcome INVALID and its validation
  errors in ``result.errors`` (a ROS 2 rejection carries no reason, and the errors are the
  point): an invalid goal never disturbs a running mission.
- While a mission runs, ``goal_policy`` decides what a goal does: ``reject`` refuses it before
  loading it (a plain ROS rejection; so is a goal arriving while another is being loaded or
  waits to start); ``preempt`` loads it and, if it is valid, halts the running mission (its goal
  ends ABORTED, outcome CANCELED, "preempted by goal ...") and starts the new one once the old
  one's goals have ended. Of several goals that arrive while one is being preempted, the newest
  *to arrive* of those accepted wins (arrival order: goals load concurrently, so the order they are
  accepted in, and the order rclpy runs their execute callbacks in, differ between rclpy 7 and
  9); the others end CANCELED. More than ``max_loading_goals`` goals waiting to be loaded: the
  next ones are rejected until some are answered.
- A goal with ``resume`` (a run id, or ``latest``) continues an interrupted run from its last
  checkpoint instead (executive/resume.py); its result's ``resumed_from`` names that run. A run
  that cannot be resumed (not interrupted, resumed already, its mission changed, a leaf to run
  again marked ``safe_to_repeat: false``) is answered INVALID with the reason.
- No exception escapes a callback: an internal fault ends the goal with outcome ERROR (logged with
  its traceback), and the executive and any running mission carry on.
- Bursts: the goal, cancel and result services keep ``node.BURST`` requests each, so every
  request of a burst that size is answered.
- On shutdown, goals are refused, a running mission ends INTERRUPTED, and every accepted goal's
  result is sent before the node goes (:attr:`MissionServer.delivered`).
- Cancel halts the tree and returns the result (CANCELED) only after every goal the mission had
  in flight has ended, or ``halt_timeout`` passed (the message then says how many were left).
- Feedback: the active behaviour's path, progress, elapsed time and whether the run is paused.
"""
import time

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.task import Future

from behaviors.leaf import release
from executive import loading, paths, run as runs
from executive.language.errors import MissionError, MissionInvalid
from executive.node import SERVICE_QOS
from mission_interfaces.action import ExecuteMission

_R = ExecuteMission.Result
# Outcome names (executive.run) -> ExecuteMission.Result.outcome_code. 0 (OUTCOME_UNSET) is never sent.
OUTCOMES = {runs.SUCCEEDED: _R.OUTCOME_SUCCEEDED, runs.FAILED: _R.OUTCOME_FAILED, runs.INVALID: _R.OUTCOME_INVALID,
            runs.CANCELED: _R.OUTCOME_CANCELED, runs.UNREACHABLE: _R.OUTCOME_UNREACHABLE, runs.ERROR: _R.OUTCOME_ERROR,
            runs.INTERRUPTED: _R.OUTCOME_INTERRUPTED}
RESULT_GRACE = 1.0   # s after the last result before an exiting executive stops serving (see delivered)
REJECTIONS_LOGGED_EVERY = 1.0   # s: the most often a rejected goal is logged (the others are counted)
ERRORS_LOGGED = 20      # validation errors of one invalid goal written to the log (all go in its result)
INTERNAL = "internal error while loading the mission (logged by the executive)"


def goal_id_of(goal_handle) -> str:
    return bytes(goal_handle.goal_id.uuid).hex()


def result_message(result: runs.RunResult, limits: loading.Limits = loading.Limits()) -> ExecuteMission.Result:
    """The goal's result; messages and errors cut to the limits (a huge error is cut, and says so)."""
    reason = (result.failure or {}).get("reason") or ""
    size = limits.max_error_size
    return ExecuteMission.Result(outcome_code=OUTCOMES[result.outcome], failed_behavior=loading.cut(result.failed_behavior, size),
                                 failure_reason=reason, message=loading.cut(result.message, size),
                                 errors=loading.cut_errors(result.errors, limits), run_id=result.run_id,
                                 resumed_from=result.resumed_from)


def feedback_message(run) -> ExecuteMission.Feedback:
    elapsed = run.elapsed()
    feedback = ExecuteMission.Feedback(active_path=run.active_path(), progress=float(run.progress()),
                                       paused=run.paused, run_id=run.run_id)
    feedback.elapsed.sec = int(elapsed)
    feedback.elapsed.nanosec = int((elapsed - int(elapsed)) * 1e9)
    return feedback


class MissionServer:
    def __init__(self, executive):
        self.executive = executive
        self.limits = loading.Limits.of(executive)
        self.max_loading = executive.get_parameter("max_loading_goals").value
        self._worker = loading.Worker(executive)
        self._handles = {}          # MissionRun -> the goal handle it runs for
        self._ended = {}            # MissionRun -> Future, done when the run is
        self._accepted = 0          # accepted goals whose execution has not finished
        self._loading = 0           # goals being loaded (their goal callback is waiting)
        self._arrivals = 0          # goal requests so far; a goal's number is its place in the order of arrival
        self._arrival = {}          # id(goal request) -> its number, from arrival to acceptance or rejection
        self._newest = 0            # the number of the newest valid accepted goal: older ones give way to it
        self._loaded = {}           # id(goal request) -> [request, (model, tree) or RunResult, number]
        self._unclaimed = None      # id(goal request) answered ACCEPT, until rclpy hands its goal over
        self._names = {}            # goal id -> its mission's name, for messages and the log
        self._numbered = {}         # number -> goal id of each valid goal until it ends
        self._last_end = None       # when the last result was set (monotonic), for delivery
        self._accepting = True
        self._rejected, self._rejected_logged_at = 0, -REJECTIONS_LOGGED_EVERY     # rejections not logged yet
        self._server = ActionServer(
            executive, ExecuteMission, "execute_mission", execute_callback=self._execute,
            goal_callback=self._on_goal, handle_accepted_callback=self._on_accepted, cancel_callback=self._on_cancel,
            callback_group=ReentrantCallbackGroup(), goal_service_qos_profile=SERVICE_QOS,
            result_service_qos_profile=SERVICE_QOS, cancel_service_qos_profile=SERVICE_QOS,
            result_timeout=executive.get_parameter("result_timeout").value)
        executive.listeners.append(self._on_update)

    def destroy(self):
        self._worker.close()
        self._server.destroy()

    @property
    def idle(self) -> bool:
        """No accepted goal is still executing."""
        return self._accepted == 0

    @property
    def delivered(self) -> bool:
        """Every accepted goal has its result, and RESULT_GRACE has passed since the last one was
        set: rclpy sends a result to clients that asked for it in a task of its own after the
        execute callback returns, and a client asks for it right after acceptance."""
        return self.idle and (self._last_end is None or time.monotonic() - self._last_end >= RESULT_GRACE)

    def stop_accepting(self):
        """Reject every goal from now on (the executive is shutting down)."""
        self._accepting = False

    # -- a goal arrives -----------------------------------------------------------------------
    async def _on_goal(self, goal_request):
        self._drop_unclaimed()
        self._arrivals += 1     # before any await: the order requests arrived in
        self._arrival[id(goal_request)] = self._arrivals
        try:
            return await self._decide(goal_request)
        except Exception:   # a bug must not take the executive down: answered ERROR in _execute
            self.executive.report_fault(f"loading a goal for mission {loading.label(goal_request.mission)}")
            return self._accept(goal_request, runs.RunResult(runs.ERROR, message=INTERNAL))

    def _reject(self, goal_request, why: str):
        """Reject; logged one line per REJECTIONS_LOGGED_EVERY at most (a burst is one line, and a count)."""
        now = time.monotonic()
        self._arrival.pop(id(goal_request), None)
        self._rejected += 1
        if now - self._rejected_logged_at >= REJECTIONS_LOGGED_EVERY:
            more = f" (and {self._rejected - 1} more since the last such line)" if self._rejected > 1 else ""
            self.executive.get_logger().warn(f"rejected a goal for mission {loading.label(goal_request.mission)}: "
                                             f"{why}{more}")
            self._rejected, self._rejected_logged_at = 0, now
        return GoalResponse.REJECT

    def _refusal(self):
        """Why a goal cannot be taken now (before loading it), or ''."""
        if not self._accepting:
            return "the executive is shutting down"
        if self.executive.get_parameter("goal_policy").value == "reject":
            # Before loading: a goal that cannot run now costs nothing, however big it is.
            if self.executive.busy or self._accepted:
                return "a mission is running and goal_policy is reject"
            if self._loading:
                return "another goal is being loaded and goal_policy is reject"
        if self._loading >= self.max_loading:
            return f"{self._loading} goals are being loaded already (max_loading_goals)"
        return ""

    async def _decide(self, goal_request):
        refusal = self._refusal()
        if refusal:
            return self._reject(goal_request, refusal)
        mission, overrides = goal_request.mission, list(goal_request.parameters)
        if goal_request.resume:
            return self._accept(goal_request, self._resume(goal_request))
        problems = loading.check_goal(mission, overrides, self.limits)
        if problems:
            return self._accept(goal_request, runs.invalid(problems))
        self._loading += 1
        try:
            loaded = await self._load(mission, overrides)
        finally:
            self._loading -= 1
        refusal = self._refusal() if self.executive.get_parameter("goal_policy").value == "reject" or \
            not self._accepting else ""
        if refusal:     # another goal got in first, or the executive is shutting down
            if isinstance(loaded, tuple):
                release(loaded[1])
            return self._reject(goal_request, refusal)
        return self._accept(goal_request, loaded)

    def _resume(self, goal_request):
        """(model, tree, plan) for a goal's ``resume`` (a run id of this executive's log directory, or
        ``latest``), or a RunResult saying why not. Run ids only: a goal never names a path."""
        reference = goal_request.resume
        if goal_request.mission or len(goal_request.parameters):
            why = "a goal that resumes a run gives neither mission nor parameters (the run's own are used)"
        elif len(reference) > 255 or not all(c.isalnum() or c in "-_." for c in reference) or \
                reference in (".", ".."):
            why = f"resume {loading.cut(reference, 60)!r}: not a run id (a directory name in the log directory) " \
                  "or 'latest'"
        else:
            return self.executive.prepare_resume(reference)
        return runs.RunResult(runs.INVALID, message=f"cannot resume: {why}", errors=[why])

    async def _load(self, mission: str, overrides):
        """(model, tree), or a RunResult (invalid: the errors; error: an internal fault)."""
        limits = self.limits
        deadline = time.monotonic() + limits.load_timeout
        roots = paths.mission_roots(self.executive.get_parameter("missions_dir").value,
                                   self.executive.get_parameter("mission_path").value)
        answer = self._worker.submit(deadline, loading.resolve_goal, mission, overrides, roots, limits, deadline,
                                     self.executive.mission_cache)
        timer = self.executive.create_timer(limits.load_timeout, lambda: answer.done() or answer.set_result(None))
        try:
            job = await answer
        finally:
            self.executive.destroy_timer(timer)
        late = runs.invalid([MissionError(loading.GOAL, 0, 0, "mission", (
            f"not loaded within {limits.load_timeout:g} s (the executive's load_timeout parameter)"))])
        if job is None or job.cancelled() or isinstance(job.exception(), TimeoutError):
            return late
        try:    # job.result() raises what the thread raised
            model = job.result()
            return model, await loading.finish(model, self._worker.next_round, deadline)
        except MissionInvalid as exc:
            return runs.invalid(exc.errors)
        except loading.LoadTimeout:
            return late

    def _accept(self, goal_request, loaded):
        # The handle rclpy makes for an accepted goal carries this very request object; rclpy may
        # still refuse it (a goal id already known) without telling us: see _drop_unclaimed.
        self._loaded[id(goal_request)] = [goal_request, loaded, self._arrival.pop(id(goal_request), 0)]
        self._unclaimed = id(goal_request)
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle):
        """rclpy accepted the goal (ours was the last ACCEPT: nothing runs in between)."""
        self._unclaimed = None
        entry = self._loaded.get(id(goal_handle.request))
        if entry is not None and not isinstance(entry[1], runs.RunResult):
            self._newest = max(self._newest, entry[2])     # an older goal accepted late is not the newest
        self._accepted += 1
        goal_handle.execute()

    def _drop_unclaimed(self):
        """A goal we accepted that rclpy then refused (its goal id was known already): free its tree."""
        if self._unclaimed is None:
            return
        entry = self._loaded.pop(self._unclaimed, None)
        self._unclaimed = None
        if entry is not None and isinstance(entry[1], tuple):
            release(entry[1][1])

    def _on_cancel(self, goal_handle):
        # Halt now: the mission's goals are cancelled within this callback. The goal is CANCELING
        # by the time the halt ends and _end() reports it; a goal not started yet sees the request
        # in _execute.
        try:
            for run, handle in list(self._handles.items()):
                if handle is goal_handle:
                    run.note("cancel_requested", goal_id=goal_id_of(goal_handle), after_end=run.state != runs.RUNNING
                             and run.state != runs.PAUSED, state=run.state)
                    self.executive.halt("cancelled by the caller")
            self.executive.wake()
        except Exception:   # refused, so the goal stays cancellable (a CANCELING goal cannot be cancelled again)
            self.executive.report_fault("handling a cancel request")
            return CancelResponse.REJECT
        return CancelResponse.ACCEPT

    async def _execute(self, goal_handle):
        self._drop_unclaimed()
        gid = goal_id_of(goal_handle)
        request, loaded, number = self._loaded.pop(id(goal_handle.request), (None, None, 0))
        self._names[gid] = loaded[0].name if isinstance(loaded, tuple) else loading.label(goal_handle.request.mission)
        try:
            if request is not goal_handle.request:      # not loaded on arrival (cannot happen in rclpy 9)
                loaded = runs.RunResult(runs.ERROR, message="the goal was not loaded when it arrived")
            if isinstance(loaded, runs.RunResult):      # invalid: answered now, whatever is running
                return self._end(goal_handle, loaded)
            return await self._run(goal_handle, gid, loaded, number)
        except Exception:
            self.executive.report_fault(f"executing goal {gid[:8]}")
            return self._end(goal_handle, runs.RunResult(runs.ERROR, message="internal error while running the "
                                                                              "mission (logged by the executive)"))
        finally:
            self._accepted -= 1
            self._names.pop(gid, None)

    def _preempter(self, number: int) -> str:
        """'mission NAME (goal 1a2b3c4d)' for the goal that arrived as ``number``, as far as known."""
        gid = self._numbered.get(number, "")
        return f"mission {self._names.get(gid, '?')} (goal {gid[:8]})" if gid else "a newer goal"

    async def _run(self, goal_handle, gid, loaded, number):
        self._numbered[number] = gid
        try:
            return await self._run_numbered(goal_handle, gid, loaded, number)
        finally:
            self._numbered.pop(number, None)

    async def _run_numbered(self, goal_handle, gid, loaded, number):
        # Preempting: halt what runs and wait for it to end. Only while this goal is the newest:
        # goals that waited for the same run resume in whatever order rclpy runs their tasks, and
        # one that a newer goal has overtaken must not halt the newer goal's run (seen on Jazzy).
        while self.executive.busy and number == self._newest:
            current = self.executive.run
            self.executive.halt(f"preempted by {self._preempter(number)}")
            await self._ended_future(current)
        if goal_handle.is_cancel_requested or number != self._newest or not self._accepting:
            release(loaded[1])
            message = "cancelled before it started" if goal_handle.is_cancel_requested else \
                "the executive is shutting down" if not self._accepting else \
                f"preempted by {self._preempter(self._newest)} before it started"
            return self._end(goal_handle, runs.RunResult(runs.CANCELED, message=message))
        started = self.executive.start(goal_handle.request.mission, list(goal_handle.request.parameters), gid, loaded)
        if isinstance(started, runs.RunResult):
            return self._end(goal_handle, started)
        self._handles[started] = goal_handle
        try:
            await self._ended_future(started)
        finally:
            self._handles.pop(started, None)
        return self._end(goal_handle, started.result)

    def _ended_future(self, run) -> Future:
        future = self._ended.setdefault(run, Future())
        if run.done and not future.done():
            future.set_result(run.result)
        return future

    def _end(self, goal_handle, result: runs.RunResult):
        """Set the goal's terminal state and build its result: every path that ends a goal comes here,
        so the outcome is always set on purpose (an empty Result() would read OUTCOME_UNSET)."""
        self._last_end = time.monotonic()
        try:
            self._log_end(goal_handle, result)
            message = result_message(result, self.limits)
        except Exception:       # never let a fault here leave rclpy to send an empty Result()
            self.executive.report_fault("building a goal's result")
            result = runs.RunResult(runs.ERROR, message="internal error while building the result (logged by "
                                                        "the executive)")
            message = result_message(result)
        if not goal_handle.is_active:
            return message
        if result.outcome == runs.SUCCEEDED:
            goal_handle.succeed()
        elif result.outcome == runs.CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return message

    def _log_end(self, goal_handle, result: runs.RunResult):
        """One line per goal's end in the executive's log (errors of an invalid one below it)."""
        gid = goal_id_of(goal_handle)
        name = self._names.get(gid) or loading.label(goal_handle.request.mission)
        logger = self.executive.get_logger()
        text = f"mission {name} (goal {gid[:8]}) {result.outcome}"
        if result.outcome == runs.SUCCEEDED:
            logger.info(text)
            return
        size = self.limits.max_error_size
        text = f"{text}: {loading.cut(result.message, size)}" if result.message else text
        # One call site per severity: rclpy 7 (Jazzy) raises "Logger severity cannot be changed
        # between calls" when one line logs at two severities.
        if result.outcome in (runs.CANCELED, runs.INVALID):
            logger.warn(text)
        else:
            logger.error(text)
        for error in result.errors[:ERRORS_LOGGED]:
            logger.warn(f"  {loading.cut(error, size)}")
        if len(result.errors) > ERRORS_LOGGED:
            logger.warn(f"  ... and {len(result.errors) - ERRORS_LOGGED} more (all in the goal's result)")

    def _on_update(self, run):
        """After each tick and change: publish feedback, and release the waiters of a run that ended."""
        handle = self._handles.get(run)
        if handle is not None and not run.done and handle.is_active:
            handle.publish_feedback(feedback_message(run))
        if run.done and run in self._ended:
            future = self._ended.pop(run)
            if not future.done():
                future.set_result(run.result)
