"""The goal lifecycle shared by every simulated action server.

A concrete server (navigation, arm) supplies only what is specific to it: how to validate a goal
and how to move (a :class:`Motion`). This module owns the rest, identically for all of them, with
the fault knobs of :class:`sim.faults.ActionFaults` applied where each phase begins:

=============================  ================================================================
situation                      what the server does
=============================  ================================================================
goal request arrives           *pending*; waits ``accept_delay``; rejects if ``reject_all`` or
                               validation fails
cancel naming a pending goal   answered ERROR_UNKNOWN_GOAL_ID (the goal does not exist yet), as
                               rclcpp and rclpy servers do; counted ``cancel_while_pending``
goal accepted                  takes the hardware (:class:`Resource`); the previous holder is
                               preempted
executing                      steps the motion at ``rate`` Hz, publishing feedback (unless
                               ``stall_feedback``)
cancel requested               REJECT with ``refuse_cancel`` (the goal runs on); else ACCEPT, and
                               the goal ends CANCELED ``cancel_delay`` s later, moving meanwhile
preempted by a new goal        the old goal ends ABORTED ("preempted by a newer goal")
``abort_after`` elapsed        ABORTED ("injected fault")
``abort_probability``          decided once per goal; ABORTED after its first step
motion fails                   ABORTED with the motion's ``failure`` message
motion finished                waits ``result_delay``, then SUCCEEDED
terminal state reached         the result is kept ``result_timeout`` s for get_result (0: at once
                               gone, a later get_result is answered UNKNOWN);
                               ``result_status_override`` makes get_result contradict the status
                               topic; ``feedback_after_result`` publishes one stray feedback
goal N reaches ``exit_phase``  with ``exit_after_goals: N`` the process exits abruptly (code 17)
=============================  ================================================================

``status()`` is the server's own account (``sim_status``): ``pending`` (requests not yet answered),
``active`` (accepted goals not yet terminal), counts of what happened, and ``goals``, the state of
each live goal and of the latest finished ones by goal id (32 hex digits).
"""
import os
import sys
import time
from collections import Counter, OrderedDict

from action_msgs.msg import GoalStatus
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.qos import QoSProfile, ReliabilityPolicy, DurabilityPolicy, HistoryPolicy
from rclpy.task import Future

# Bursts of goal requests are silently dropped with the default service depth of 10 (ROS_WHEELS.md,
# item 3); a deep server-side queue keeps them.
SERVICE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                         reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)

EXIT_CODE_INJECTED = 17
# Before an injected exit, time for what was just sent (an acceptance, a status) to leave the process.
LEAVE_TIME = 0.05
# Finished goals listed in status() besides the live ones.
FINISHED_GOALS_SHOWN = 100

STATUS_CODES = {"succeeded": GoalStatus.STATUS_SUCCEEDED, "aborted": GoalStatus.STATUS_ABORTED,
                "canceled": GoalStatus.STATUS_CANCELED, "unknown": GoalStatus.STATUS_UNKNOWN}


def injected_exit(what: str) -> None:
    """End the process at once, as a crash or a SIGKILL would (no DDS goodbye, no cleanup)."""
    print(f"injected fault: {what}", file=sys.stderr, flush=True)
    os._exit(EXIT_CODE_INJECTED)


class Resource:
    """One piece of hardware (the base, the arm): at most one goal drives it at a time."""

    def __init__(self, name: str, state):
        self.name = name
        self.state = state
        self.holder = None

    def take(self, run: "GoalRun") -> None:
        if self.holder is not None and self.holder is not run:
            self.holder.preempted = True
        self.holder = run

    def release(self, run: "GoalRun") -> None:
        if self.holder is run:
            self.holder = None


class GoalRun:
    def __init__(self, goal_handle, ordinal: int):
        self.goal_handle = goal_handle
        self.ordinal = ordinal      # this goal's request was the server's ordinal-th
        self.preempted = False


class Motion:
    """What a server does with one accepted goal. Subclasses override all four methods."""

    # Set by step() when the goal cannot be reached (a Nav2 planner finding no path, a timeout):
    # the goal ends ABORTED with this message.
    failure = ""

    def step(self, dt: float) -> bool:
        """Advance by ``dt`` simulated seconds; return True once the goal is reached."""
        raise NotImplementedError

    def feedback(self):
        raise NotImplementedError

    def result(self, outcome: str, message: str):
        """Build the result message; ``outcome`` is succeeded, canceled, aborted or preempted."""
        raise NotImplementedError


class _HookedActionServer(ActionServer):
    """rclpy's ActionServer, with three observation points the fault knobs need.

    Each wraps a private method of rclpy's server (same name and arguments in rclpy 9.1, Kilted,
    which runs here, and in the Humble-era source read for this) and then runs it unchanged: which goal a goal request is for (rclpy's goal callback gets
    only the goal message), every cancel request as it arrives (rclpy calls the cancel callback only
    for goals it knows), and each get_result answer as it is sent (``result_status_override``)."""

    def __init__(self, sim_server: "SimActionServer", *args, **kwargs):
        self._sim = sim_server
        super().__init__(*args, **kwargs)

    async def _execute_goal_request(self, request_header_and_message):
        goal_request = request_header_and_message[1]
        key = id(goal_request.goal)
        self._sim._arriving[key] = bytes(goal_request.goal_id.uuid)
        try:
            await super()._execute_goal_request(request_header_and_message)
        finally:
            self._sim._arriving.pop(key, None)

    async def _execute_cancel_request(self, request_header_and_message):
        self._sim._on_cancel_request(request_header_and_message[1])
        await super()._execute_cancel_request(request_header_and_message)

    def _send_result_response(self, request_header, future):
        super()._send_result_response(request_header, self._sim._as_reported(future))


class SimActionServer:
    def __init__(self, node, action_type, name, resource, clock, faults, rate_hz):
        self.node = node
        self.name = name
        self.resource = resource
        self.clock = clock
        self.faults = faults
        self.period = 1.0 / rate_hz
        self.pending = 0          # goal requests whose answer is not sent yet
        self.active = {}          # accepted goals not yet in a terminal state, by goal id
        self.goals = OrderedDict()  # goal id (hex) -> state, live goals and the latest finished ones
        self.last_cancel_request = 0.0
        # received, rejected, accepted, succeeded, aborted, canceled, preempted; cancel_requests,
        # cancel_accepted, cancel_refused, cancel_while_pending, cancel_unknown, cancel_after_end
        self.counts = Counter()
        self._arriving = {}       # id(goal message) -> goal id, while rclpy handles its request
        self._ordinals = {}       # goal id -> ordinal of its request, from acceptance to execution
        self._overrides = {}      # goal id -> status that get_result reports instead of the true one
        self._server = _HookedActionServer(
            self, node, action_type, name,
            execute_callback=self._execute,
            goal_callback=self._on_goal,
            handle_accepted_callback=self._on_accepted,
            cancel_callback=self._on_cancel,
            goal_service_qos_profile=SERVICE_QOS,
            result_service_qos_profile=SERVICE_QOS,
            cancel_service_qos_profile=SERVICE_QOS,
            result_timeout=faults.result_timeout,
            # Reentrant: a goal request held by accept_delay must not hold up this server's other
            # requests, the other servers or sim_status (all would share the node's default group).
            callback_group=clock.group,
        )

    # -- hooks for concrete servers ------------------------------------------------------------
    def validate(self, goal) -> str:
        """Return why ``goal`` must be rejected, or an empty string to accept it."""
        raise NotImplementedError

    def start(self, goal) -> Motion:
        raise NotImplementedError

    # -- the server's own account --------------------------------------------------------------
    def status(self) -> dict:
        return {"pending": self.pending, "active": len(self.active), **self.counts,
                "last_cancel_request": self.last_cancel_request, "goals": dict(self.goals)}

    def _set_state(self, goal_id: bytes, state: str) -> None:
        key = goal_id.hex()
        self.goals.pop(key, None)
        self.goals[key] = state
        finished = [k for k, s in self.goals.items() if s in STATUS_CODES or s == "rejected"]
        for old in finished[:max(0, len(finished) - FINISHED_GOALS_SHOWN)]:
            del self.goals[old]

    def _exit_in(self, phase: str, ordinal: int) -> bool:
        faults = self.faults
        return faults.exit_phase == phase and 0 < faults.exit_after_goals <= ordinal

    # -- lifecycle -----------------------------------------------------------------------------
    async def _on_goal(self, goal):
        self.counts["received"] += 1
        ordinal = self.counts["received"]
        goal_id = self._arriving.get(id(goal), b"")
        self._set_state(goal_id, "pending")
        self.pending += 1
        try:
            if self.faults.accept_delay > 0:
                await self.clock.sleep(self.faults.accept_delay)
            if self._exit_in("goal_request", ordinal):
                injected_exit(f"{self.name}: exiting with goal {ordinal}'s request unanswered")
            reason = "injected fault: reject_all" if self.faults.reject_all else self.validate(goal)
        finally:
            self.pending -= 1
        if reason:
            self.counts["rejected"] += 1
            self._set_state(goal_id, "rejected")
            self.node.get_logger().warning(f"{self.name}: rejected goal: {reason}")
            return GoalResponse.REJECT
        self._ordinals[goal_id] = ordinal
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle):
        goal_id = bytes(goal_handle.goal_id.uuid)
        run = GoalRun(goal_handle, self._ordinals.pop(goal_id, self.counts["received"]))
        self.active[goal_id] = run
        self._set_state(goal_id, "accepted")
        self.counts["accepted"] += 1
        self.resource.take(run)
        if self._exit_in("accepted", run.ordinal):
            # The acceptance is sent (rclpy answers before calling us); die before executing.
            self.node.executor.create_task(self._exit_soon, f"{self.name}: exiting right after accepting goal {run.ordinal}")
            return
        goal_handle.execute()

    async def _exit_soon(self, what):
        await self.clock.sleep_wall(LEAVE_TIME)
        injected_exit(what)

    def _on_cancel_request(self, request):
        """Every cancel request, as it arrives (before rclpy decides what to answer)."""
        self.counts["cancel_requests"] += 1
        self.last_cancel_request = time.time()   # wall clock: benchmarks compare it across processes
        goal_id = bytes(request.goal_info.goal_id.uuid)
        if not any(goal_id):
            return                               # "cancel all" or "cancel before a time"
        state = self.goals.get(goal_id.hex())
        if state == "pending":
            self.counts["cancel_while_pending"] += 1
        elif goal_id in self.active:
            return                               # counted by _on_cancel
        elif state in STATUS_CODES:
            self.counts["cancel_after_end"] += 1
        else:
            self.counts["cancel_unknown"] += 1

    async def _on_cancel(self, goal_handle):
        run = self.active.get(bytes(goal_handle.goal_id.uuid))
        if run is not None and self._exit_in("cancel_request", run.ordinal):
            injected_exit(f"{self.name}: exiting with a cancel of goal {run.ordinal} unanswered")
        if self.faults.refuse_cancel:
            self.counts["cancel_refused"] += 1
            return CancelResponse.REJECT
        self.counts["cancel_accepted"] += 1
        return CancelResponse.ACCEPT

    async def _execute(self, goal_handle):
        goal_id = bytes(goal_handle.goal_id.uuid)
        run = self.active[goal_id]
        self._set_state(goal_id, "executing")
        try:
            return await self._drive(goal_handle, run)
        finally:
            del self.active[goal_id]
            self.resource.release(run)

    async def _drive(self, goal_handle, run):
        faults = self.faults
        motion = self.start(goal_handle.request)
        doomed = faults.abort_probability > 0 and faults.rng.random() < faults.abort_probability
        started = last = self.clock.monotonic()
        canceling_since = None
        steps = 0
        while True:
            now = self.clock.monotonic()
            if goal_handle.is_cancel_requested:
                if canceling_since is None:
                    canceling_since = now
                    self._set_state(bytes(goal_handle.goal_id.uuid), "canceling")
                if (now - canceling_since) * self.clock.time_scale >= faults.cancel_delay:
                    return await self._finish(goal_handle, run, motion, "canceled", "canceled on request")
            if run.preempted:
                return await self._finish(goal_handle, run, motion, "preempted", "preempted by a newer goal")
            elapsed_sim = (now - started) * self.clock.time_scale
            if faults.abort_after > 0 and elapsed_sim >= faults.abort_after and canceling_since is None:
                return await self._finish(goal_handle, run, motion, "aborted",
                                          f"injected fault: abort_after {faults.abort_after:g} s")
            if doomed and steps > 0 and canceling_since is None:
                return await self._finish(goal_handle, run, motion, "aborted",
                                          f"injected fault: abort_probability {faults.abort_probability:g}")
            reached = motion.step((now - last) * self.clock.time_scale)
            last = now
            steps += 1
            if motion.failure:
                return await self._finish(goal_handle, run, motion, "aborted", motion.failure)
            if not faults.stall_feedback:
                goal_handle.publish_feedback(motion.feedback())
            if self._exit_in("executing", run.ordinal):
                await self.clock.sleep_wall(LEAVE_TIME)  # let the feedback leave before dying
                injected_exit(f"{self.name}: exiting after {run.ordinal} goals, mid-goal")
            if reached and not doomed and canceling_since is None:
                break
            await self.clock.sleep_wall(self.period)
        if faults.result_delay > 0:
            await self.clock.sleep(faults.result_delay)
        return await self._finish(goal_handle, run, motion, "succeeded", "")

    async def _finish(self, goal_handle, run, motion, outcome, message):
        self.counts[outcome] += 1
        if outcome == "succeeded":
            goal_handle.succeed()
        elif outcome == "canceled":
            goal_handle.canceled()
        else:
            goal_handle.abort()
        goal_id = bytes(goal_handle.goal_id.uuid)
        self._set_state(goal_id, "aborted" if outcome == "preempted" else outcome)
        if outcome != "succeeded":
            self.node.get_logger().info(f"{self.name}: goal {outcome}: {message}")
        faults = self.faults
        kept = self._server._result_futures
        for gone in [g for g in self._overrides if g not in kept]:
            del self._overrides[gone]
        if faults.result_status_override:
            self._overrides[goal_id] = STATUS_CODES[faults.result_status_override]
        if faults.feedback_after_result > 0:
            self.node.executor.create_task(self._stray_feedback, goal_handle.goal_id, motion.feedback(),
                                           faults.feedback_after_result)
        if self._exit_in("finished", run.ordinal):
            await self.clock.sleep_wall(LEAVE_TIME)     # the terminal status leaves; the result never does
            injected_exit(f"{self.name}: exiting with goal {run.ordinal} finished and its result unsent")
        return motion.result(outcome, message)

    async def _stray_feedback(self, goal_id, feedback, delay: float):
        await self.clock.sleep(delay)
        message = self._server.action_type.Impl.FeedbackMessage(goal_id=goal_id, feedback=feedback)
        # Through the server's handle: rclpy's goal handle may be gone (result_timeout 0).
        self._server._handle.publish_feedback(message)
        self.counts["stray_feedback"] += 1

    def _as_reported(self, future):
        """The get_result answer to send: the goal's own, or a copy with the overriding status."""
        kept = self._server._result_futures
        status = next((s for g, s in self._overrides.items() if kept.get(g) is future), None)
        if status is None or not future.done():
            return future
        true = future.result()
        response = self._server.action_type.Impl.GetResultService.Response(status=status, result=true.result)
        self.counts["result_status_overridden"] += 1
        reported = Future()
        reported.set_result(response)
        return reported
