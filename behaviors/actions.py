"""Action leaves: one generic behaviour for any ROS 2 action type, and typed conveniences.

The goal is built from constants and/or blackboard keys; every step of its life is asynchronous,
so a tick never blocks. Callbacks run on the node's executor, which must be the executor that
ticks the tree (single-threaded), so no locking is needed. ``setup(node=..., wake=...)``: ``wake``
is called when the tree can move on because of the goal: its result, its rejection, its loss, and
feedback when the leaf writes feedback to the blackboard (something may read it). An acceptance
alone changes nothing the tree decides on, so it waits for the next tick.

Status of :class:`ActionClient`, by what its goal is doing:

=================================================  ==========  ====================================
goal state                                         status      failure.reason
=================================================  ==========  ====================================
waiting for the server (up to ``server_timeout``)  RUNNING
no server within ``server_timeout``                FAILURE     server_unavailable
the server still holds a goal of this run being    RUNNING     (up to ``halt_timeout``, then
cancelled (``wait_for_cancelled``, the default)                FAILURE server_busy)
a goal blackboard key is missing                   FAILURE     invalid_goal
sent, acceptance not yet known (pending)           RUNNING
no answer to the goal request in server_timeout    FAILURE     timeout (the goal stays in flight,
                                                               see below)
rejected                                           FAILURE     rejected
ACCEPTED / EXECUTING / CANCELING                   RUNNING
SUCCEEDED and ``result_check`` holds (or none)     SUCCESS
SUCCEEDED but ``result_check`` fails               FAILURE     result_check
ABORTED (includes preempted by another client)     FAILURE     aborted
CANCELED by someone else                           FAILURE     canceled
ended, result not kept (get_result says UNKNOWN):  as the      (the status topic decides; a
  the status topic showed its final status         status      ``result_check`` that needs the
                                                               result fails: result_lost)
ended, and neither result nor final status known   FAILURE     result_lost
running longer than ``goal_timeout``               FAILURE     timeout (goal cancelled)
server gone from the graph while running           FAILURE     server_lost
server restarted and no longer has the goal        FAILURE     server_lost (asked after 2 s silent)
=================================================  ==========  ====================================

**No goal left behind.** When the leaf stops while its goal is in flight (interrupted by a higher
priority, a failing parallel sibling, a timeout decorator, a pause, or the mission ending), the goal
is cancelled and stays *in flight* until it is terminal on the server: :meth:`open_goals` lists
it, and the host waits for it. A goal whose request was never answered is in flight too: it is
cancelled by id at once, and if its acceptance arrives later, cancelled again and waited for.
The host gives up after its ``halt_timeout`` and names what is left ("goal 1a2b3c4d to
/robot1/navigate_to_pose was never answered; it may still start"). Cancelled goals of a server
that has left the graph stop counting (nobody will end them; logged as ``goal_lost``).

Feedback and results of earlier goals are told apart by goal id and ignored (feedback after a
result too). Ticking the leaf again after it finished sends a new goal.

Events for a host's log (see :mod:`behaviors.leaf`), each with the goal's id: ``goal_sent``
(action, type), ``goal_accepted``, ``goal_rejected``, ``feedback`` (a sample: at most one per
``FEEDBACK_EVENT_PERIOD`` per action server, with the goal's count since its last; the ``result``
counts them all), ``cancel_sent``,
``cancel_answer`` (accepted, refused, unknown_goal or terminated, with the server's return code),
``status_mismatch`` (get_result and the status topic disagree; get_result wins), ``result`` (the
final status and where it came from: ``get_result`` or ``status_topic``) and ``goal_lost`` (the
goal's end cannot be known: its server left, restarted, or kept neither result nor status).
Every goal sent ends with exactly one of ``goal_rejected``, ``result`` or ``goal_lost``, unless the
host gives up waiting (the host then logs ``goal_abandoned``).
"""
import math
import time
import uuid
from functools import partial

from action_msgs.msg import GoalStatus
from action_msgs.srv import CancelGoal
from py_trees.common import Status
from rclpy.action import ActionClient as RclpyActionClient
from rclpy.action.client import ClientGoalHandle
from unique_identifier_msgs.msg import UUID

from behaviors import failures, feedback
from behaviors.failures import Failure
from behaviors.leaf import RemoteLeaf, callback
from behaviors.messages import to_data, type_name
from executive.language.expressions import Check, parse

STATUS_NAMES = {v: k[len("STATUS_"):] for k, v in vars(GoalStatus).items() if k.startswith("STATUS_")}
TERMINAL = (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED, GoalStatus.STATUS_CANCELED)
CANCEL_ANSWERS = {CancelGoal.Response.ERROR_NONE: "accepted", CancelGoal.Response.ERROR_REJECTED: "refused",
                  CancelGoal.Response.ERROR_UNKNOWN_GOAL_ID: "unknown_goal",
                  CancelGoal.Response.ERROR_GOAL_TERMINATED: "terminated"}
# How long a goal may show a terminal status (status topic) without its result arriving before the
# result is asked for again: a reply can be lost when the server has only just appeared.
RESULT_GRACE = 1.0
# How long an accepted goal whose get_result was answered UNKNOWN (the server keeps no results) may
# wait for its final status on the status topic before the result counts as lost.
STATUS_GRACE = 1.0
# How long a goal request may go unanswered before the server is asked, by goal id, for the goal's
# result: a goal response can be lost when the server has only just appeared (seen with Fast DDS),
# and get_result is answered for a goal the server has, and answered UNKNOWN for one it has not.
RESPONSE_GRACE = 1.0
# How long after a refused cancel the cancel is asked for again, while the abandoned goal runs on.
CANCEL_RETRY = 1.0
# How long an accepted goal may go without feedback before the server is asked for its result by
# goal id: a server that restarted under the same name (faster than DDS drops the old one) no
# longer has the goal, answers UNKNOWN at once, and the leaf fails instead of waiting forever. A
# live server holds the request until the goal ends, so one probe is outstanding at a time.
SILENCE_PROBE = 2.0
FEEDBACK_EVENT_PERIOD = 1.0   # seconds between feedback events of one action server
ERROR_CODE_FIELDS = ("error_code",)
ERROR_MESSAGE_FIELDS = ("error_msg", "error_string", "message")


def error_of(result):
    """(error code, error message) of a result message, for the common field names."""
    fields = result.get_fields_and_field_types() if result is not None else {}
    code = next((getattr(result, f) for f in ERROR_CODE_FIELDS if f in fields), None)
    message = next((getattr(result, f) for f in ERROR_MESSAGE_FIELDS if f in fields), "")
    return code, message


class GoalClient(RclpyActionClient):
    """rclpy's ActionClient, without the future rclpy 9.1.2 (the Kilted wheels) leaks per goal,
    with the server's presence remembered for a moment (see :meth:`server_is_ready`), and with
    answers handed over in the callback that took them (see :meth:`when_done`).

    That release's ``send_goal_async`` registers two futures with the client and completes only
    the one it returns (ros2/rclpy#1532, a regression of #1308, fixed upstream after the release;
    Jazzy's rclpy 7.1 has one). The executor visits every registered future on each of the
    client's events, so a long-lived client got slower with every goal it had ever sent: after
    600 goals, 1,500 futures per event (a third of a 200-goal ``retry``'s time). The orphan is
    dropped as soon as the goal is sent; with a fixed rclpy there is none and nothing changes."""

    _seen_at = -math.inf    # when server_is_ready last said yes (time.monotonic() s)
    SEEN_FRESH = 0.25   # s a server seen in the graph counts as there without asking again
    feedback_event_at = -math.inf   # when a leaf last logged a feedback event of this server

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._inline = {}       # id(future) -> (future, [callbacks]) for when_done

    def when_done(self, future, callback):
        """Call ``callback(future)`` once this client has completed ``future`` (a goal response,
        cancel response or result it asked for), in the executor callback that took the answer:
        rclpy's ``add_done_callback`` runs a callback as a task in a later round of the executor,
        one more wait-set round trip per answer, on the path from one goal to the next. At once if
        ``future`` is done already. A future never answered (its server is gone) keeps its entry,
        as rclpy keeps its pending request."""
        if future.done():
            callback(future)
        else:
            self._inline.setdefault(id(future), (future, []))[1].append(callback)

    async def execute(self, taken_data):
        answered = []
        if self._inline:
            for key, pending in (("goal", self._pending_goal_requests), ("cancel", self._pending_cancel_requests),
                                 ("result", self._pending_result_requests)):
                if key in taken_data:
                    future = pending.get(taken_data[key][0])
                    if future is not None and id(future) in self._inline:
                        answered.append(future)
        await super().execute(taken_data)
        for future in answered:
            if future.done():
                for callback in self._inline.pop(id(future))[1]:
                    callback(future)

    def server_is_ready(self) -> bool:
        """rclpy's answer, remembered for SEEN_FRESH s when yes: asking walks the ROS graph (0.8 ms
        with 50 robots' entities in it), and every leaf on this client asks before each goal and
        every server_check_period while one runs. A server that left is seen at most SEEN_FRESH
        later. Only the graph says yes: a status or feedback message can arrive before the goal
        service is matched, and a goal sent then is lost (seen in CI: "did not answer the goal
        request within 5 s")."""
        now = time.monotonic()
        if now - self._seen_at < self.SEEN_FRESH:
            return True
        ready = super().server_is_ready()
        self._seen_at = now if ready else -math.inf
        return ready

    def send_goal_async(self, goal, feedback_callback=None, goal_uuid=None):
        known = len(self._futures)
        future = super().send_goal_async(goal, feedback_callback, goal_uuid)
        for orphan in [f for f in self._futures[known:] if f is not future]:
            self.remove_future(orphan)
        return future


class StatusKeepingClient(GoalClient):
    """rclpy's ActionClient, which also keeps the last status the status topic showed for each goal
    it is asked to watch. rclpy updates a goal handle's status only once the goal's acceptance has
    arrived, and the topic holds only the latest array: a goal that ends (and is forgotten by a
    server that keeps no results) before its acceptance is processed would leave no trace.

    The status array holds every goal the server remembers (hundreds on a busy server; converting
    it is most of what a client costs per goal). rclpy reads all of it to update its goal handles;
    here one pass updates both its handles and the watched goals, from the newest end (where an
    rclpy server puts the newest goals), and stops once every goal either wants has been seen. For
    an array that lists each goal once, as servers send it, the handles end as rclpy's whole pass
    leaves them (a handle whose goal ended, or that is gone, is dropped); a goal listed twice takes
    its later entry (test_behaviors.py checks both)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._watched = {}      # goal id bytes -> last status seen (UNKNOWN until one is)

    # A goal is named by the 16 bytes of its id (``bytes(uuid_msg.uuid)``), which a running leaf
    # keeps: it asks on every tick, and converting the message's array costs more than the lookup.
    def watch(self, key: bytes):
        self._watched.setdefault(key, GoalStatus.STATUS_UNKNOWN)

    def forget(self, key: bytes):
        self._watched.pop(key, None)

    def last_status(self, key: bytes) -> int:
        return self._watched.get(key, GoalStatus.STATUS_UNKNOWN)

    async def execute(self, taken_data):
        status = taken_data.pop("status", None)
        await super().execute(taken_data)       # responses and feedback, as rclpy handles them
        if status is not None:
            self._take_status(status.status_list)

    def _take_status(self, status_list):
        """What rclpy's execute does with a status array (rclpy 7.1 and 9.1 alike), plus the watch."""
        handles, watched = self._goal_handles, self._watched
        wanted = handles.keys() | watched.keys()
        for entry in reversed(status_list):
            if not wanted:
                break
            key = bytes(entry.goal_info.goal_id.uuid)
            if key not in wanted:
                continue
            wanted.discard(key)         # an earlier entry of the same goal is older
            status = entry.status
            if key in watched:
                watched[key] = status
            if key in handles:
                handle = handles[key]()
                if handle is None or status in TERMINAL:
                    del handles[key]
                if handle is not None:
                    handle._status = status


class _Attempt:
    """One goal sent by the leaf. An attempt that is no longer the leaf's current one was abandoned
    (the leaf stopped): its events are ignored and its goal is cancelled."""

    def __init__(self, server: str):
        raw = uuid.uuid4().bytes
        self.goal_id = UUID(uuid=list(raw))
        self.key = raw      # the id's bytes, as the client's status watch keys it
        self.id_hex = raw.hex()
        self.server = server
        self.handle = None
        self.finished = False       # a terminal status (or rejection) arrived, or its end is known lost
        self.lost = None            # why its end cannot be known (server left, restarted, result lost)
        self.sent_at = time.monotonic()
        self.heard_at = self.sent_at    # the last answer, feedback or status change
        self.probing = False        # a get_result probe is outstanding
        self.status_seen = None     # the goal's status when last looked at
        self.terminal_since = None  # when the status topic first showed a terminal status
        self.result_unknown_at = None   # when get_result answered UNKNOWN for the accepted goal
        self.cancel_again_at = None     # when to ask again after the server refused to cancel
        self.next_probe = self.sent_at + RESPONSE_GRACE
        self.feedback_count = 0     # feedback messages since the last feedback event
        self.feedback_total = 0

    @property
    def in_flight(self) -> bool:
        return not self.finished

    @property
    def state(self) -> str:
        if self.handle is None:
            return "unanswered"
        return STATUS_NAMES.get(self.handle.status, "ACCEPTED").lower()


class ActionClient(RemoteLeaf):
    """Send one goal of any action type and report its outcome (see the module's table).

    Args:
        name: behaviour name
        action_type: generated action class, or a type string ``pkg/action/Name``
        action_name: the server's name, e.g. ``/robot1/navigate_to_pose`` (relative names resolve
            against the node's namespace)
        goal: constant goal fields, as a dict of (dotted) field paths to values
        goal_from_blackboard: goal field path -> blackboard key, read when the goal is sent
        server_timeout: seconds to wait for the server, and for an answer to the goal request
        goal_timeout: seconds from sending until the goal is cancelled and the leaf fails (None: no
            limit; wall-clock time: a goal that keeps driving while the mission is paused counts)
        result_check: a :class:`~executive.language.expressions.Check` of the result (``subject``
            ``result``) it must pass, e.g. ``error_code == 0``;
            ``implied_by_success`` on it means a SUCCEEDED status alone passes when the result is lost
        feedback_key, result_key, failure_key: blackboard keys to write the latest feedback
            (message), the result (message) and the failure (dict) to
        server_check_period: seconds between checks that a running goal's server still exists
        wait_for_cancelled: do not send while the server still holds a cancelled goal of this run
            (wait up to the host's ``halt_timeout``, then fail ``server_busy``)
        feedback_format: the feedback line shown while the goal runs (a format of feedback fields,
            see :mod:`behaviors.feedback`); default: the type's built-in summary, if it has one
    """

    KIND = "action"

    def __init__(self, name, action_type, action_name, goal=None, goal_from_blackboard=None,
                 server_timeout=5.0, goal_timeout=None, result_check=None,
                 feedback_key=None, result_key=None, failure_key=None, server_check_period=0.5,
                 wait_for_cancelled=True, feedback_format=None):
        super().__init__(name, action_type, action_name, goal, goal_from_blackboard, server_timeout,
                         {"feedback": feedback_key, "result": result_key, "failure": failure_key})
        self.goal_timeout = None if goal_timeout is None else float(goal_timeout)
        self.result_check = result_check
        self.server_check_period = server_check_period
        self.wait_for_cancelled = wait_for_cancelled
        self._attempt = None
        self._abandoned = []        # attempts cancelled but not yet terminal
        self._outcome = None
        self._next_server_check = 0.0
        self._busy_since = None     # when the leaf began waiting for a cancelled goal on its server
        self.feedback = None
        self.result = None
        named = action_type if isinstance(action_type, str) else type_name(action_type)
        self._summarize = feedback.summarizer(named, feedback_format)

    @staticmethod
    def request_of(action_type, goal=None, goal_from_blackboard=None, **_):
        """(interface type, constant goal fields, goal field -> blackboard key) that a leaf made
        with these arguments sends: validation checks them without making the leaf."""
        return action_type, dict(goal or {}), dict(goal_from_blackboard or {})

    def _new_request(self):
        return self.interface_type.Goal()

    def _create_client(self):
        return StatusKeepingClient(self.node, self.interface_type, self.remote_name)

    def _server_ready(self):
        return self.client.server_is_ready()

    # -- py_trees lifecycle ----------------------------------------------------------------
    def initialise(self):
        super().initialise()
        self._attempt = None
        self._outcome = None
        self._busy_since = None
        self.feedback = self.result = None

    def update(self):
        if self._outcome is not None:
            return self._outcome
        faulted = self._faulted()
        if faulted is not None:
            return faulted
        if self._attempt is None:
            return self._await_server() or self._await_cancelled() or self._send()
        attempt, now = self._attempt, time.monotonic()
        if attempt.handle is None:
            if now - attempt.sent_at > self.server_timeout:
                return self._fail(failures.TIMEOUT, f"{self.resolved_name()} did not answer the goal request "
                                                    f"within {self.server_timeout:g} s")
        self._poll(attempt, now)
        if self._outcome is not None:
            return self._outcome
        if self.goal_timeout is not None and now - attempt.sent_at > self.goal_timeout:
            return self._fail(failures.TIMEOUT, f"goal did not finish within {self.goal_timeout:g} s")
        if now >= self._next_server_check:
            self._next_server_check = now + self.server_check_period
            if not self.client.server_is_ready():
                return self._fail(failures.SERVER_LOST, f"action server {self.resolved_name()} disappeared")
        return Status.RUNNING

    def terminate(self, new_status):
        attempt, self._attempt = self._attempt, None
        if attempt is None or attempt.finished:
            return
        self._abandoned.append(attempt)
        self._book.abandoned(attempt, self.open_goals)
        self._event("cancel_sent", goal_id=attempt.id_hex, state=attempt.state)
        if attempt.handle is not None:
            self.client.when_done(attempt.handle.cancel_goal_async(), partial(self._on_cancel_answer, attempt))
        else:
            # Recalling: cancel by id now, in case the answer was lost, and again in
            # _on_goal_response if the acceptance arrives later.
            self._recall_unanswered(attempt)

    # -- what a host asks -------------------------------------------------------------------
    def open_goals(self) -> list:
        """The goals this leaf sent that have not ended on the server, as dicts ``{goal_id (hex),
        server, state (unanswered, accepted, executing, canceling, ...), abandoned (bool)}``.
        Looking drives the probes of abandoned goals (a lost answer is asked for again). Cancelled
        goals of a server that has left the graph no longer count: nobody will end them."""
        now = time.monotonic()
        if self._abandoned and self.client is not None and not self.client.server_is_ready():
            for attempt in self._abandoned:
                self._lose(attempt, f"action server {attempt.server} left the graph before the goal ended")
        for attempt in self._abandoned:
            self._poll(attempt, now)
        self._abandoned = [a for a in self._abandoned if a.in_flight]
        attempts = self._abandoned + ([self._attempt] if self._attempt is not None and self._attempt.in_flight
                                      else [])
        return [dict(goal_id=a.id_hex, server=a.server, state=a.state, abandoned=a is not self._attempt)
                for a in attempts]

    def goals_in_flight(self) -> int:
        return len(self.open_goals())

    # -- sending -----------------------------------------------------------------------------
    def _await_cancelled(self):
        """None when no cancelled goal of this run is still held by the server; else RUNNING while
        waiting for it to end (up to ``halt_timeout``), then FAILURE server_busy."""
        if not self.wait_for_cancelled:
            return None
        held = self._book.canceling(self.resolved_name())
        if not held:
            return None
        now = time.monotonic()
        self._busy_since = self._busy_since or now
        if now - self._busy_since <= self._halt_timeout:
            self.feedback_message = f"waiting for cancelled goal {held[0].id_hex[:8]} on {self.resolved_name()} to end"
            return Status.RUNNING
        return self._fail(failures.SERVER_BUSY, f"{self.resolved_name()} still holds cancelled goal "
                                                f"{held[0].id_hex[:8]} after {self._halt_timeout:g} s")

    def _send(self):
        goal = self._build_request()
        if goal is None:
            return Status.FAILURE
        attempt = self._attempt = _Attempt(self.resolved_name())
        self.client.watch(attempt.key)
        future = self.client.send_goal_async(goal, feedback_callback=partial(self._on_feedback, attempt),
                                             goal_uuid=attempt.goal_id)
        self.client.when_done(future, partial(self._on_goal_response, attempt))
        self._event("goal_sent", goal_id=attempt.id_hex, action=attempt.server, type=type_name(self.interface_type))
        self._next_server_check = time.monotonic() + self.server_check_period
        self.feedback_message = "goal sent"
        return Status.RUNNING

    # -- following a goal --------------------------------------------------------------------
    def _poll(self, attempt, now):
        """Look after one goal: ask again for lost answers, and settle a result lost to UNKNOWN."""
        if attempt.finished:
            return
        if attempt.handle is None:
            self._probe_unanswered(attempt, now)
            return
        if attempt.result_unknown_at is not None:
            self._settle_unknown(attempt, now)
            return
        self._chase_result(attempt, now)
        self._probe_silent(attempt, now)
        if attempt.cancel_again_at is not None and now >= attempt.cancel_again_at:
            attempt.cancel_again_at = None
            self._event("cancel_sent", goal_id=attempt.id_hex, state=attempt.state, again=True)
            self.client.when_done(attempt.handle.cancel_goal_async(), partial(self._on_cancel_answer, attempt))

    def _chase_result(self, attempt, now):
        """Ask again for the result of a goal the status topic shows finished, if it is overdue."""
        handle = attempt.handle
        if not handle.accepted or self.client.last_status(attempt.key) not in TERMINAL:
            return
        if attempt.terminal_since is None:
            attempt.terminal_since = now
        elif now - attempt.terminal_since > RESULT_GRACE:
            attempt.terminal_since = now
            self.client.when_done(handle.get_result_async(), partial(self._on_result, attempt))

    def _probe_silent(self, attempt, now):
        """Ask for the result of an accepted goal that has been silent for SILENCE_PROBE seconds."""
        handle = attempt.handle
        status = self.client.last_status(attempt.key)
        if status != attempt.status_seen:
            attempt.status_seen, attempt.heard_at = status, now
        if attempt.probing or not handle.accepted or now - attempt.heard_at < SILENCE_PROBE:
            return
        attempt.probing = True
        self.client.when_done(handle.get_result_async(), partial(self._on_silence_answer, attempt))

    @callback
    def _on_silence_answer(self, attempt, future):
        attempt.probing = False
        attempt.heard_at = time.monotonic()
        if attempt.finished:
            return
        if future.result().status == GoalStatus.STATUS_UNKNOWN and \
                self.client.last_status(attempt.key) not in TERMINAL:
            # It was running, and the server has never heard of it: it restarted.
            self._lose(attempt, f"action server {attempt.server} no longer has the goal (it restarted?)",
                       failures.SERVER_LOST)
            return
        self._on_result(attempt, future)

    def _handle_by_id(self, attempt):
        """A goal handle for ``attempt`` made from its goal id alone, for requests by id."""
        response = self.interface_type.Impl.SendGoalService.Response(accepted=True)
        return ClientGoalHandle(self.client, attempt.goal_id, response)

    def _probe_unanswered(self, attempt, now):
        """Ask for the result of a goal whose request is unanswered: a goal the server has ends
        normally even if its acceptance was lost; an unknown one is answered UNKNOWN and ignored."""
        if now < attempt.next_probe:
            return
        attempt.next_probe = now + RESPONSE_GRACE
        handle = self._handle_by_id(attempt)
        self.client.when_done(handle.get_result_async(), partial(self._on_probe_answer, attempt, handle))

    @callback
    def _on_probe_answer(self, attempt, handle, future):
        if attempt.finished or future.result().status == GoalStatus.STATUS_UNKNOWN:
            return      # not decided yet (a slow server), or never received: still in flight
        if attempt.handle is None:
            attempt.handle = handle     # the server had the goal: its acceptance was lost
        self._on_result(attempt, future)

    def _recall_unanswered(self, attempt):
        """Cancel, by its id, a goal whose request got no answer, in case the server has it."""
        handle = self._handle_by_id(attempt)
        self.client.when_done(handle.cancel_goal_async(), partial(self._on_recall_answer, attempt, handle))

    @callback
    def _on_recall_answer(self, attempt, handle, future):
        self._on_cancel_answer(attempt, future)
        ours = attempt.key
        if any(bytes(g.goal_id.uuid) == ours for g in future.result().goals_canceling):
            self.client.when_done(handle.get_result_async(), partial(self._on_result, attempt))

    @callback
    def _on_cancel_answer(self, attempt, future):
        """Log the server's answer to a cancel; a refusal (ERROR_REJECTED, or rclpy's ERROR_NONE
        without our goal in ``goals_canceling``) of a goal that runs on is asked again after
        CANCEL_RETRY, for as long as the goal is in flight."""
        response = future.result()
        code = response.return_code
        ours = attempt.key
        answer = CANCEL_ANSWERS.get(code, f"code {code}")
        if code == CancelGoal.Response.ERROR_NONE and not any(bytes(g.goal_id.uuid) == ours
                                                            for g in response.goals_canceling):
            answer = "terminated" if attempt.finished else "refused"
        self._event("cancel_answer", goal_id=attempt.id_hex, answer=answer, return_code=code)
        if answer == "refused" and not attempt.finished and attempt.handle is not None:
            attempt.cancel_again_at = time.monotonic() + CANCEL_RETRY

    @callback
    def _on_goal_response(self, attempt, future):
        handle = future.result()
        if attempt.finished:
            return
        attempt.handle = handle
        attempt.heard_at = time.monotonic()
        self._event("goal_accepted" if handle.accepted else "goal_rejected", goal_id=attempt.id_hex)
        if not handle.accepted:
            self._close(attempt)
            if attempt is self._attempt:
                self._finish(Status.FAILURE, Failure(failures.REJECTED, f"{self.resolved_name()} rejected the goal"))
            else:
                self._wake()
            return
        self.client.when_done(handle.get_result_async(), partial(self._on_result, attempt))
        if attempt is not self._attempt:    # the leaf stopped while the goal was pending: recall it
            self._event("cancel_sent", goal_id=attempt.id_hex, state="accepted late")
            self.client.when_done(handle.cancel_goal_async(), partial(self._on_cancel_answer, attempt))
        else:
            self.feedback_message = "goal accepted"

    @callback
    def _on_feedback(self, attempt, message):
        attempt.heard_at = time.monotonic()
        if attempt is not self._attempt or attempt.finished:
            return
        self.feedback = message.feedback
        self._write("feedback", message.feedback)
        if self._summarize is not None:
            self.feedback_message = self._summarize(message.feedback) or self.feedback_message
        attempt.feedback_count += 1
        attempt.feedback_total += 1
        now = time.monotonic()
        # Per server, not per goal: a loop of short goals would otherwise log every goal's first
        # feedback, the largest event of a goal to encode.
        if now - self.client.feedback_event_at >= FEEDBACK_EVENT_PERIOD:
            self.client.feedback_event_at = now
            self._event("feedback", goal_id=attempt.id_hex, count=attempt.feedback_count,
                        summary=self.feedback_message, feedback=to_data(message.feedback))
            attempt.feedback_count = 0
        if "feedback" in self.outputs:
            self._wake()

    @callback
    def _on_result(self, attempt, future):
        if attempt.finished:            # a result asked for twice arrives twice
            return
        response = future.result()
        status, result, source = response.status, response.result, "get_result"
        seen = self.client.last_status(attempt.key)
        if status == GoalStatus.STATUS_UNKNOWN:
            if seen in TERMINAL:
                status, result, source = seen, None, "status_topic"
            else:   # the server kept no result: its final status may still be on its way
                attempt.result_unknown_at = attempt.result_unknown_at or time.monotonic()
                self._wake()
                return
        elif seen in TERMINAL and seen != status:
            self._event("status_mismatch", goal_id=attempt.id_hex, get_result=STATUS_NAMES.get(status, str(status)),
                        status_topic=STATUS_NAMES.get(seen, str(seen)))
        self._conclude(attempt, status, result, source)

    def _settle_unknown(self, attempt, now):
        seen = self.client.last_status(attempt.key)
        if seen in TERMINAL:
            self._conclude(attempt, seen, None, "status_topic")
        elif now - attempt.result_unknown_at > STATUS_GRACE:
            self._lose(attempt, f"goal ended on {attempt.server}, which kept neither its result nor its final "
                                "status", failures.RESULT_LOST)

    def _conclude(self, attempt, status, result, source):
        """The goal ended with ``status``; ``result`` is None when only the status is known."""
        self._close(attempt)
        code, message = error_of(result)
        name = STATUS_NAMES.get(status, str(status))
        self._event("result", goal_id=attempt.id_hex, status=name, source=source, error_code=code, message=message,
                    seconds=round(time.monotonic() - attempt.sent_at, 4), feedback_messages=attempt.feedback_total)
        if attempt is not self._attempt:
            self._wake()    # a host waiting for cancelled goals to end can look again
            return
        self.result = result
        if result is not None:
            self._write("result", result)
        if status == GoalStatus.STATUS_SUCCEEDED:
            check = self.result_check
            if check is None or (result is None and getattr(check, "implied_by_success", False)):
                self._finish(Status.SUCCESS, None)
            elif result is None:
                self._finish(Status.FAILURE, Failure(failures.RESULT_LOST, f"the goal succeeded, but "
                             f"{attempt.server} kept no result to check ({check!r})", name))
            elif check.holds(result):
                self._finish(Status.SUCCESS, None)
            else:
                self._finish(Status.FAILURE, Failure(failures.RESULT_CHECK, check.describe(result), name, code))
        elif status == GoalStatus.STATUS_CANCELED:
            self._finish(Status.FAILURE, Failure(failures.CANCELED, message or "goal canceled by the server", name, code))
        else:
            self._finish(Status.FAILURE, Failure(failures.ABORTED, message or f"goal ended {name}", name, code))

    def _lose(self, attempt, why, reason=failures.SERVER_LOST):
        """The goal's end cannot be known: stop counting it, log why, and fail the leaf if current."""
        if attempt.finished:
            return
        self._close(attempt)
        attempt.lost = why
        self._event("goal_lost", goal_id=attempt.id_hex, reason=reason, message=why)
        if attempt is self._attempt:
            self._finish(Status.FAILURE, Failure(reason, why))
        else:
            self._wake()

    def _close(self, attempt):
        attempt.finished = True
        self.client.forget(attempt.key)

    def _finish(self, status, failure):
        self._outcome = status
        if failure is not None:
            self._record_failure(failure)
        else:
            self.feedback_message = "succeeded"
        self._wake()


# -- typed conveniences: they only build goals ------------------------------------------------

_ERROR_CODE_ZERO = parse("error_code == 0")


def error_code_zero() -> Check:
    """The typed actions' success check (Nav2's and control_msgs' convention: error_code 0 on
    success). A SUCCEEDED status alone passes it when the server kept no result."""
    check = Check(_ERROR_CODE_ZERO, subject="result")
    check.implied_by_success = True
    return check


def quaternion_z(yaw: float) -> dict:
    return {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2.0), "w": math.cos(yaw / 2.0)}


class NavigateTo(ActionClient):
    """Drive to (x, y, yaw) in ``frame``, or to the pose at ``pose_key`` on the blackboard.

    A blackboard pose may be a geometry_msgs/PoseStamped or a dict {x, y, yaw, frame}.
    SUCCESS requires ``error_code == 0``; otherwise as :class:`ActionClient`.
    """

    def __init__(self, name, x=0.0, y=0.0, yaw=0.0, frame="map", pose_key=None,
                 action_name="navigate_to_pose", action_type="mission_interfaces/action/NavigateToPose", **kwargs):
        _, goal, from_blackboard = self.request_of(x, y, yaw, frame, pose_key, action_type)
        kwargs.setdefault("result_check", error_code_zero())
        super().__init__(name, action_type, action_name, goal=goal, goal_from_blackboard=from_blackboard, **kwargs)

    @staticmethod
    def request_of(x=0.0, y=0.0, yaw=0.0, frame="map", pose_key=None,
                   action_type="mission_interfaces/action/NavigateToPose", **_):
        goal = {} if pose_key else {"pose": _pose_stamped(x, y, yaw, frame)}
        return action_type, goal, {"pose": pose_key} if pose_key else {}

    def convert(self, path, value):
        if path == "pose" and isinstance(value, dict) and "x" in value:
            return _pose_stamped(value["x"], value.get("y", 0.0), value.get("yaw", 0.0), value.get("frame", "map"))
        return value


def _pose_stamped(x, y, yaw, frame) -> dict:
    return {"header": {"frame_id": frame},
            "pose": {"position": {"x": float(x), "y": float(y), "z": 0.0}, "orientation": quaternion_z(float(yaw))}}


class FollowTrajectory(ActionClient):
    """Follow ``points`` [(seconds, [positions])] for ``joint_names``. SUCCESS requires ``error_code == 0``."""

    def __init__(self, name, joint_names, points, action_name="follow_joint_trajectory",
                 action_type="mission_interfaces/action/FollowJointTrajectory", **kwargs):
        _, goal, _ = self.request_of(joint_names, points, action_type)
        kwargs.setdefault("result_check", error_code_zero())
        super().__init__(name, action_type, action_name, goal=goal, **kwargs)

    @staticmethod
    def request_of(joint_names, points, action_type="mission_interfaces/action/FollowJointTrajectory", **_):
        trajectory = {"joint_names": list(joint_names), "points": [
            {"positions": [float(p) for p in positions],
             "time_from_start": {"sec": int(t), "nanosec": int(round((t - int(t)) * 1e9))}}
            for t, positions in points]}
        return action_type, {"trajectory": trajectory}, {}


class MoveArm(ActionClient):
    """Move the arm to ``named_pose`` or to ``joints`` {name: position}. SUCCESS requires ``error_code == 0``."""

    def __init__(self, name, named_pose=None, joints=None, velocity_scaling=1.0, action_name="move_arm",
                 action_type="mission_interfaces/action/MoveArm", **kwargs):
        if (named_pose is None) == (joints is None):
            raise ValueError(f"{name}: give named_pose or joints, exactly one")
        _, goal, _ = self.request_of(named_pose, joints, velocity_scaling, action_type)
        kwargs.setdefault("result_check", error_code_zero())
        super().__init__(name, action_type, action_name, goal=goal, **kwargs)

    @staticmethod
    def request_of(named_pose=None, joints=None, velocity_scaling=1.0,
                   action_type="mission_interfaces/action/MoveArm", **_):
        goal = {"velocity_scaling": float(velocity_scaling)}
        if named_pose is not None:
            goal["named_pose"] = named_pose
        else:
            goal.update(joint_names=list(joints or {}), positions=[float(v) for v in (joints or {}).values()])
        return action_type, goal, {}
