"""The goal lifecycle shared by every simulated action server.

A concrete server (navigation, arm) supplies only what is specific to it: how to validate a goal
and how to move (a :class:`Motion`). This module owns the rest, identically for all of them:

========================  =====================================================================
situation                 what the server does
========================  =====================================================================
goal arrives              waits ``accept_delay``; rejects if ``reject_all`` or validation fails
goal accepted             takes the hardware (:class:`Resource`); the previous holder is preempted
executing                 steps the motion at ``rate`` Hz, publishing feedback (unless stalled)
cancel requested          accepts; the goal ends CANCELED with the state reached
preempted by a new goal   the old goal ends ABORTED ("preempted by a newer goal")
``abort_after`` elapsed   ABORTED ("injected fault")
``abort_probability``     decided once per goal; ABORTED after its first step
motion finished           waits ``result_delay``, then SUCCEEDED
Nth goal accepted         with ``exit_after_goals: N`` the process exits abruptly mid-goal
========================  =====================================================================
"""
import os
import sys
import time
from collections import Counter

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.qos import QoSProfile, ReliabilityPolicy, DurabilityPolicy, HistoryPolicy

# Bursts of goal requests are silently dropped with the default service depth of 10 (ROS_WHEELS.md,
# item 3); a deep server-side queue keeps them.
SERVICE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                         reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)

EXIT_CODE_INJECTED = 17


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
    def __init__(self, goal_handle):
        self.goal_handle = goal_handle
        self.preempted = False


class Motion:
    """What a server does with one accepted goal. Subclasses override all four methods."""

    def step(self, dt: float) -> bool:
        """Advance by ``dt`` simulated seconds; return True once the goal is reached."""
        raise NotImplementedError

    def feedback(self):
        raise NotImplementedError

    def result(self, outcome: str, message: str):
        """Build the result message; ``outcome`` is succeeded, canceled, aborted or preempted."""
        raise NotImplementedError


class SimActionServer:
    def __init__(self, node, action_type, name, resource, clock, faults, rate_hz, result_timeout):
        self.node = node
        self.name = name
        self.resource = resource
        self.clock = clock
        self.faults = faults
        self.period = 1.0 / rate_hz
        self.pending = 0          # goal requests whose answer is not sent yet
        self.active = {}          # accepted goals not yet in a terminal state, by goal id
        self.last_cancel_request = 0.0
        self.counts = Counter()   # received, rejected, accepted, succeeded, aborted, canceled, preempted
        self._server = ActionServer(
            node, action_type, name,
            execute_callback=self._execute,
            goal_callback=self._on_goal,
            handle_accepted_callback=self._on_accepted,
            cancel_callback=self._on_cancel,
            goal_service_qos_profile=SERVICE_QOS,
            result_service_qos_profile=SERVICE_QOS,
            cancel_service_qos_profile=SERVICE_QOS,
            result_timeout=result_timeout,
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

    # -- lifecycle -----------------------------------------------------------------------------
    def status(self) -> dict:
        return {"pending": self.pending, "active": len(self.active), **self.counts,
                "last_cancel_request": self.last_cancel_request}

    async def _on_goal(self, goal):
        self.counts["received"] += 1
        self.pending += 1
        try:
            if self.faults.accept_delay > 0:
                await self.clock.sleep(self.faults.accept_delay)
            reason = "injected fault: reject_all" if self.faults.reject_all else self.validate(goal)
        finally:
            self.pending -= 1
        if reason:
            self.counts["rejected"] += 1
            self.node.get_logger().warning(f"{self.name}: rejected goal: {reason}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle):
        run = GoalRun(goal_handle)
        self.active[bytes(goal_handle.goal_id.uuid)] = run
        self.counts["accepted"] += 1
        self.resource.take(run)
        goal_handle.execute()

    def _on_cancel(self, goal_handle):
        self.counts["cancel_requests"] += 1
        self.last_cancel_request = time.time()   # wall clock: benchmarks compare it across processes
        return CancelResponse.ACCEPT

    async def _execute(self, goal_handle):
        run = self.active[bytes(goal_handle.goal_id.uuid)]
        try:
            return await self._drive(goal_handle, run)
        finally:
            del self.active[bytes(goal_handle.goal_id.uuid)]
            self.resource.release(run)

    async def _drive(self, goal_handle, run):
        faults = self.faults
        motion = self.start(goal_handle.request)
        doomed = faults.abort_probability > 0 and faults.rng.random() < faults.abort_probability
        exit_here = 0 < faults.exit_after_goals <= self.counts["accepted"]
        started = last = self.clock.monotonic()
        steps = 0
        while True:
            if goal_handle.is_cancel_requested:
                return self._finish(goal_handle, motion, "canceled", "canceled on request")
            if run.preempted:
                return self._finish(goal_handle, motion, "preempted", "preempted by a newer goal")
            now = self.clock.monotonic()
            elapsed_sim = (now - started) * self.clock.time_scale
            if faults.abort_after > 0 and elapsed_sim >= faults.abort_after:
                return self._finish(goal_handle, motion, "aborted",
                                    f"injected fault: abort_after {faults.abort_after:g} s")
            if doomed and steps > 0:
                return self._finish(goal_handle, motion, "aborted",
                                    f"injected fault: abort_probability {faults.abort_probability:g}")
            reached = motion.step((now - last) * self.clock.time_scale)
            last = now
            steps += 1
            if not faults.stall_feedback:
                goal_handle.publish_feedback(motion.feedback())
            if exit_here:
                await self.clock.sleep_wall(0.05)  # let the feedback leave before dying
                print(f"{self.name}: injected fault: exiting after {self.counts['accepted']} goals",
                      file=sys.stderr, flush=True)
                os._exit(EXIT_CODE_INJECTED)
            if reached and not doomed:
                break
            await self.clock.sleep_wall(self.period)
        if faults.result_delay > 0:
            await self.clock.sleep(faults.result_delay)
        return self._finish(goal_handle, motion, "succeeded", "")

    def _finish(self, goal_handle, motion, outcome, message):
        self.counts[outcome] += 1
        if outcome == "succeeded":
            goal_handle.succeed()
        elif outcome == "canceled":
            goal_handle.canceled()
        else:
            goal_handle.abort()
        if outcome != "succeeded":
            self.node.get_logger().info(f"{self.name}: goal {outcome}: {message}")
        return motion.result(outcome, message)
