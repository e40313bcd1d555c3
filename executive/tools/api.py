"""Scripting the executive from Python, in the style of nav2_simple_commander's BasicNavigator.

    import rclpy
    from executive import Executive

    rclpy.init()
    executive = Executive()                      # a node; it spins itself inside its methods
    executive.wait_until_ready(timeout=10.0)     # ExecutiveUnavailable if nobody serves the action
    if executive.run("inspection", {"robot": "robot1"}):
        while not executive.is_complete():
            print(executive.feedback())          # MissionFeedback, or None before the first one
        print(executive.result())                # MissionResult(outcome='succeeded', ...)
    executive.destroy_node()
    rclpy.shutdown()

Every method that waits has a deadline, so a missing or vanished executive is an exception naming
the action, never a hang. The node spins on an executor of its own: do not add it to another one.
"""
import dataclasses
import json
import time
from typing import Callable, Optional, Union

from action_msgs.msg import GoalStatus
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_srvs.srv import Trigger

from behaviors.actions import GoalClient
from executive.server import OUTCOMES
from mission_interfaces.action import ExecuteMission

OUTCOME_NAMES = {code: name for name, code in OUTCOMES.items()}    # the server's own table, read back
SERVER_GONE_AFTER = 2.0    # s the action server may be missing from the graph before a goal counts as lost
SPIN_STEP = 0.05           # s: the longest one spin waits, so deadlines are kept to about this
# s run() waits for the goal's answer by default: the executive answers once it has loaded the mission,
# which may take up to its load_timeout (10 s by default), so less would race it.
GOAL_ANSWER_TIMEOUT = 30.0
LATE_GOAL_GRACE = 15.0     # s destroy_node() waits for goals run() gave up on, to cancel them if accepted


class ExecutiveError(RuntimeError):
    """The executive could not be reached, or went away."""


class ExecutiveUnavailable(ExecutiveError, TimeoutError):
    """No executive served the action (or answered a request) within the time allowed."""


class ExecutiveLost(ExecutiveError):
    """The executive disappeared while a mission it had accepted was still running."""


@dataclasses.dataclass(frozen=True)
class MissionFeedback:
    active_path: str     # path of the behaviour the mission is busy with, e.g. "patrol/laps/lap/drive to north"
    progress: float      # 0..1
    elapsed: float       # seconds since the mission started
    paused: bool

    @classmethod
    def from_message(cls, msg) -> "MissionFeedback":
        return cls(msg.active_path, float(msg.progress), msg.elapsed.sec + msg.elapsed.nanosec * 1e-9, msg.paused)


@dataclasses.dataclass(frozen=True)
class MissionResult:
    outcome: str              # succeeded, failed, invalid, canceled, unreachable, error, interrupted (or unset)
    message: str
    failed_behavior: str = ""  # path of the behaviour whose failure failed the mission
    errors: tuple = ()         # validation errors (outcome invalid), "file:line:col: key: message"
    status: int = GoalStatus.STATUS_UNKNOWN   # the goal's final action_msgs/GoalStatus

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"

    @classmethod
    def from_message(cls, result, status: int) -> "MissionResult":
        """An outcome code the executive never sends (0, OUTCOME_UNSET: an empty Result(), which
        rclpy sends when an execute callback fails; or a code from a newer revision) reads as
        outcome ``unset`` or ``unknown N``, never as success, whatever the goal's status says."""
        code = result.outcome_code
        outcome = OUTCOME_NAMES.get(code) or ("unset" if code == ExecuteMission.Result.OUTCOME_UNSET else f"unknown {code}")
        message = result.message or ("" if code in OUTCOME_NAMES else
                                     f"the executive's result has no known outcome (outcome_code {code})")
        return cls(outcome, message, result.failed_behavior, tuple(result.errors), status)


def parameter_list(params) -> list:
    """Mission parameter overrides as the goal carries them: ``name=value`` strings.

    ``params`` is None, a list of ``name=value`` strings (passed as they are), or a dict whose
    values are written as JSON (which the executive reads as YAML), so ``{"robot": "7"}`` stays a
    string and ``{"laps": 2}`` an int.
    """
    if params is None:
        return []
    if isinstance(params, dict):
        return [f"{name}={json.dumps(value)}" for name, value in params.items()]
    if isinstance(params, str):
        raise TypeError("params must be a dict or a list of 'name=value' strings, not a string")
    return [str(p) for p in params]


class Executive(Node):
    """A client of one executive's ``ExecuteMission`` action, following one mission at a time.

    Args:
        node_name: this client node's name.
        namespace: where the executive lives; names below resolve in it.
        action: the executive's action (default ``execute_mission``; absolute names are used as given).
        executive_node: the executive node's name, for ``pause``/``resume`` (``<executive_node>/pause``).
        Other keyword arguments go to ``rclpy.node.Node`` (e.g. ``context``).
    """

    def __init__(self, node_name: str = "mission_commander", namespace: str = "", action: str = "execute_mission",
                 executive_node: str = "mission_executive", **kwargs):
        super().__init__(node_name, namespace=namespace or None, **kwargs)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self)
        self._client = GoalClient(self, ExecuteMission, action)
        self.action_name = self.resolve_service_name(action, only_expand=True)
        self._executive_node = executive_node
        self._trigger_clients = {}
        self._handle = None
        self._result_future = None
        self._feedback = None
        self._result = None
        self._gone_since = None
        self._on_feedback = None
        self._goals_sent = 0
        self._late = []     # answers of goals run() gave up waiting for

    # -- waiting ----------------------------------------------------------------------------------
    def spin_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Spin this node until ``predicate()`` holds or ``timeout`` seconds pass; return ``predicate()``."""
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self._executor.spin_once(timeout_sec=min(SPIN_STEP, max(0.0, deadline - time.monotonic())))
        return predicate()

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Return once the executive's action server is there; raise ExecutiveUnavailable after ``timeout``."""
        if not self.spin_until(self._client.server_is_ready, timeout):
            raise ExecutiveUnavailable(f"no executive serves {self.action_name} (waited {timeout:g} s)")

    # -- one mission --------------------------------------------------------------------------------
    def run(self, mission: str, params: Union[None, dict, list] = None, timeout: float = GOAL_ANSWER_TIMEOUT,
            feedback_callback: Optional[Callable[[MissionFeedback], None]] = None) -> bool:
        """Send ``mission`` (a mission name in the executive's mission directories, or the mission
        as YAML text) with parameter overrides ``params``.

        Returns True once the executive accepted the goal, False when it rejected it (a mission is
        running and its ``goal_policy`` is ``reject``). An invalid mission is accepted: its result
        has outcome ``invalid`` and the errors. Raises ExecutiveUnavailable when no executive
        serves the action, or none answers the goal, within ``timeout`` seconds; a goal answered
        later is cancelled as soon as its acceptance arrives (in any later spin of this node, and
        at the latest in ``destroy_node``), so no mission runs that nobody follows.
        ``feedback_callback`` is called with every MissionFeedback that arrives.
        """
        self.wait_until_ready(timeout)
        self._handle = self._result_future = self._feedback = self._result = None
        self._gone_since = None
        self._on_feedback = feedback_callback
        goal = ExecuteMission.Goal(mission=mission, parameters=parameter_list(params))
        goal_number = self._goals_sent = self._goals_sent + 1
        # Late feedback of an earlier goal of this client must not pass for this one's.
        accept = self._client.send_goal_async(
            goal, feedback_callback=lambda message: self._feedback_arrived(goal_number, message))
        if not self.spin_until(accept.done, timeout):
            self._late.append(accept)
            accept.add_done_callback(self._cancel_late)
            raise ExecutiveUnavailable(f"{self.action_name} did not answer the goal within {timeout:g} s "
                                       "(if it accepts it later, it is cancelled)")
        handle = accept.result()
        if not handle.accepted:
            return False
        self._handle = handle
        self._result_future = handle.get_result_async()
        return True

    def _cancel_late(self, answer):
        """A goal answered after run() gave up on it: nobody follows it, so it is cancelled (once)."""
        if answer not in self._late or not answer.done():
            return
        self._late.remove(answer)
        handle = None if answer.cancelled() else answer.result()
        if handle is not None and handle.accepted:
            handle.cancel_goal_async()

    def _feedback_arrived(self, goal_number, message):
        if goal_number != self._goals_sent:
            return
        self._feedback = MissionFeedback.from_message(message.feedback)
        if self._on_feedback is not None:
            self._on_feedback(self._feedback)

    def is_complete(self, spin: float = 0.1) -> bool:
        """Spin up to ``spin`` seconds; True once the mission's result has arrived (or no mission was
        sent). Raises ExecutiveLost when the executive has been gone from the graph for
        SERVER_GONE_AFTER seconds before sending the result."""
        if self._result_future is None:
            return True
        self.spin_until(self._result_future.done, spin)
        if self._result_future.done():
            if self._result is None:
                response = self._result_future.result()
                self._result = MissionResult.from_message(response.result, response.status)
            return True
        if self._client.server_is_ready():
            self._gone_since = None
        elif self._gone_since is None:
            self._gone_since = time.monotonic()
        elif time.monotonic() - self._gone_since > SERVER_GONE_AFTER:
            raise ExecutiveLost(f"the executive at {self.action_name} went away before sending the result")
        return False

    def wait(self, timeout: float) -> MissionResult:
        """Block until the mission ends; return its result. Raises TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.is_complete(spin=min(0.1, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"mission on {self.action_name} still running after {timeout:g} s")
        return self.result()

    def feedback(self) -> Optional[MissionFeedback]:
        """The latest feedback of the current mission (None before the first)."""
        return self._feedback

    def result(self) -> Optional[MissionResult]:
        """The mission's result once ``is_complete()`` said so, else None."""
        return self._result

    def cancel(self, timeout: float = 10.0) -> bool:
        """Ask the executive to cancel the current mission. Returns True when it accepted the
        request (False: nothing to cancel, or it had already ended). The result (outcome
        ``canceled``) follows once every goal the mission had sent has ended on its servers; wait
        for it with ``is_complete()`` or ``wait()``."""
        if self._handle is None or (self._result_future is not None and self._result_future.done()):
            return False
        future = self._handle.cancel_goal_async()
        if not self.spin_until(future.done, timeout):
            raise ExecutiveUnavailable(f"{self.action_name} did not answer the cancel request within {timeout:g} s")
        return len(future.result().goals_canceling) > 0

    # -- pause and resume ---------------------------------------------------------------------------
    def pause(self, timeout: float = 10.0) -> tuple:
        """Pause the executive's running mission: (done, the executive's message)."""
        return self._trigger("pause", timeout)

    def resume(self, timeout: float = 10.0) -> tuple:
        """Resume a paused mission: (done, the executive's message)."""
        return self._trigger("resume", timeout)

    def _trigger(self, what: str, timeout: float) -> tuple:
        name = self.resolve_service_name(f"{self._executive_node}/{what}", only_expand=True)
        client = self._trigger_clients.get(name)
        if client is None:
            client = self._trigger_clients[name] = self.create_client(Trigger, name)
        if not self.spin_until(client.service_is_ready, timeout):
            raise ExecutiveUnavailable(f"no executive serves {name} (waited {timeout:g} s)")
        future = client.call_async(Trigger.Request())
        if not self.spin_until(future.done, timeout):
            client.remove_pending_request(future)
            raise ExecutiveUnavailable(f"{name} did not answer within {timeout:g} s")
        return future.result().success, future.result().message

    def destroy_node(self):
        if self._late:      # a goal run() gave up on may still be accepted: stay to cancel it
            self.spin_until(lambda: all(f.done() for f in self._late), LATE_GOAL_GRACE)
            for answer in list(self._late):
                self._cancel_late(answer)
        self._executor.remove_node(self)
        self._executor.shutdown()
        self._client.destroy()
        return super().destroy_node()
