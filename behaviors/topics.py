"""Topic leaves: subscribe into the blackboard, wait for a message until a check holds, publish.

They mirror py_trees_ros' ``subscribers.ToBlackboard`` / ``EventToBlackboard``, its
``WaitForData``, and its ``publishers.FromBlackboard`` (and BehaviorTree.ROS2's
``RosTopicSubNode`` / ``RosTopicPubNode``). Types are strings, as for actions
(``sensor_msgs/msg/BatteryState``); topic names are relative to the robot's namespace unless
absolute. QoS is a preset or a mapping (:func:`qos_profile`).

:class:`Subscribe` keeps a record on the blackboard at ``key``::

    {data: <the message, or the field named by ``field``>, fresh: true/false,
     age: seconds since it arrived, count: messages so far, stamp: time.time() when it arrived}

``fresh`` is false once the last message is older than ``stale_after`` seconds (always true
without one): the safe reactive guard checks ``battery.fresh and battery.data.percentage >= 0.3``
in a ``memory: false`` sequence (missions/battery_return.yaml), so data that stopped arriving
counts as bad, not as the last good value.

Events for a host's log (see :mod:`behaviors.leaf`): ``message`` (wait_for_message's match),
``published``.
"""
import time
import traceback

import py_trees
from py_trees.common import Access, Status
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from behaviors import failures
from behaviors.failures import Failure
from behaviors.leaf import callback, required_node
from behaviors.messages import InterfaceError, check_path, fill, get_path, import_type, set_field, to_data
from executive.language.kinds import QOS_PRESETS

RELIABILITY = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}
DURABILITY = {"volatile": DurabilityPolicy.VOLATILE, "transient_local": DurabilityPolicy.TRANSIENT_LOCAL}


def qos_profile(qos) -> QoSProfile:
    """``qos``: a preset name (``default``, ``sensor_data``, ``transient_local``) or a mapping
    {reliability: reliable|best_effort, durability: volatile|transient_local, depth: N}, keys
    missing taken from ``default``."""
    spec = {**QOS_PRESETS["default"], **(QOS_PRESETS[qos] if isinstance(qos, str) else dict(qos or {}))}
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(spec["depth"]),
                      reliability=RELIABILITY[spec["reliability"]], durability=DURABILITY[spec["durability"]])


def check_message(type_string: str, fields=None, fields_from_blackboard=(), field=None):
    """The message class of ``type_string``, with constant ``fields`` filled into one, every
    blackboard field path and ``field`` (a dotted path to read) checked. Raises InterfaceError."""
    cls = import_type(type_string, "msg") if isinstance(type_string, str) else type_string
    message = fill(cls(), dict(fields or {}))
    for path in list(fields_from_blackboard) + ([field] if field else []):
        check_path(message, path)
    return cls


class _TopicLeaf(py_trees.behaviour.Behaviour):
    def __init__(self, name, topic, message_type, qos="default"):
        super().__init__(name)
        self.topic, self.message_type, self.qos = topic, message_type, qos
        self.node = None
        self.failure = None
        self._fault = None
        self._wake = lambda: None
        self._events = lambda behaviour, name, data: None

    def setup(self, **kwargs):
        self.node = required_node(self, kwargs)
        self._wake = kwargs.get("wake") or (lambda: None)
        self._events = kwargs.get("events") or self._events
        try:
            self.message_type = self.validate()
        except InterfaceError as exc:
            raise InterfaceError(f"{self.name}: {self.message_type}: {exc}") from None

    def validate(self):
        return check_message(self.message_type)

    def _internal_fault(self, where: str):
        """A callback raised (see :func:`behaviors.leaf.callback`): logged, and the next update fails."""
        text = traceback.format_exc().strip()
        if self.node is not None:
            self.node.get_logger().error(f"{self.name}: internal error in {where}:\n{text}")
        self._fault = Failure(failures.INTERNAL_ERROR, f"internal error in {where} (logged by the executive): "
                                                       f"{text.splitlines()[-1] if text else 'unknown error'}")
        self._wake()

    def _faulted(self):
        if self._fault is None:
            return None
        self.failure, self._fault = self._fault, None
        self.feedback_message = str(self.failure)
        return Status.FAILURE

    def _fail(self, reason, message):
        self.failure = Failure(reason, message)
        self.feedback_message = message
        return Status.FAILURE

    def resolved_name(self):
        if self.node is None or self.topic.startswith("/"):
            return self.topic
        return f"{self.node.get_namespace().rstrip('/')}/{self.topic}"


class Subscribe(_TopicLeaf):
    """Keep the latest message of ``topic`` (or its ``field``) on the blackboard at ``key`` (the
    record in the module's docstring). The subscription lives from ``setup`` to ``shutdown``, so
    the record stays current while the leaf is not ticked; ticking it refreshes ``age`` and
    ``fresh``.

    Status:
        RUNNING: no message has arrived yet since setup
        SUCCESS: a record is on the blackboard (a condition after it decides what it means)
    """

    def __init__(self, name, topic, message_type, key, field=None, qos="default", stale_after=None,
                 wall=time.time):
        super().__init__(name, topic, message_type, qos)
        self.key, self.field = key, field
        self.stale_after = float(stale_after) if stale_after is not None else None
        self._wall = wall
        self.blackboard = self.attach_blackboard_client(name=name)
        self.blackboard.register_key(key=key, access=Access.WRITE)
        self.subscription = None
        self.count = 0
        self._data, self._stamp = None, None

    def validate(self):
        return check_message(self.message_type, field=self.field)

    def setup(self, **kwargs):
        super().setup(**kwargs)
        self.subscription = self.node.create_subscription(self.message_type, self.topic, self._received,
                                                          qos_profile(self.qos))

    @callback
    def _received(self, message):
        self.count += 1
        self._data = to_data(get_path(message, self.field)) if self.field else message
        self._stamp = self._wall()
        self._keep()
        self._wake()

    def _keep(self):
        age = max(0.0, self._wall() - self._stamp)
        fresh = self.stale_after is None or age <= self.stale_after
        self.blackboard.set(self.key, {"data": self._data, "fresh": fresh, "age": age, "count": self.count,
                                       "stamp": self._stamp}, overwrite=True)
        return fresh

    def update(self):
        self.failure = None
        if self._faulted():
            return Status.FAILURE
        if self._stamp is None:
            self.feedback_message = f"waiting for a message on {self.resolved_name()}"
            return Status.RUNNING
        self.feedback_message = "" if self._keep() else f"no message for {self._wall() - self._stamp:.1f} s (stale)"
        return Status.SUCCESS

    def shutdown(self):
        if self.subscription is not None and self.node is not None:
            self.node.destroy_subscription(self.subscription)
        self.subscription = None


class WaitForMessage(_TopicLeaf):
    """Wait for a message on ``topic`` whose ``check`` holds (a
    :class:`~executive.language.expressions.Check` of the message, subject ``message``; None: any
    message), received after the leaf started (or kept by a transient-local publisher); put it at
    ``key`` when given.

    Status:
        RUNNING: no message that passes yet
        SUCCESS: one arrived
        FAILURE: ``timeout`` seconds passed first (reason ``timeout``)
    """

    def __init__(self, name, topic, message_type, check=None, timeout=None, key=None, qos="default"):
        super().__init__(name, topic, message_type, qos)
        self.check, self.key = check, key
        self.timeout = float(timeout) if timeout is not None else None
        self.blackboard = self.attach_blackboard_client(name=name)
        if key:
            self.blackboard.register_key(key=key, access=Access.WRITE)
        self.subscription = None
        self.message = None
        self._started = 0.0
        self._wake_at = lambda deadline: None

    def setup(self, **kwargs):
        super().setup(**kwargs)
        self._wake_at = kwargs.get("wake_at") or self._wake_at

    def initialise(self):
        self.failure, self.message = None, None
        self._started = time.monotonic()
        self.subscription = self.node.create_subscription(self.message_type, self.topic, self._received,
                                                          qos_profile(self.qos))
        if self.timeout is not None:
            self._wake_at(self._started + self.timeout)

    @callback
    def _received(self, message):
        if self.message is None and (self.check is None or self.check.holds(message)):
            self.message = message
            self._wake()

    def update(self):
        if self._faulted():
            return Status.FAILURE
        if self.message is not None:
            if self.key:
                self.blackboard.set(self.key, self.message, overwrite=True)
            self._events(self, "message", {"topic": self.resolved_name()})
            self.feedback_message = ""
            return Status.SUCCESS
        if self.timeout is not None and time.monotonic() - self._started > self.timeout:
            what = f"where {self.check.text}" if self.check is not None else ""
            return self._fail(failures.TIMEOUT, f"no message on {self.resolved_name()} {what} within "
                                                f"{self.timeout:g} s".replace("  ", " "))
        self.feedback_message = f"waiting on {self.resolved_name()}"
        return Status.RUNNING

    def terminate(self, new_status):
        if self.subscription is not None and self.node is not None:
            self.node.destroy_subscription(self.subscription)
        self.subscription = None


class Publish(_TopicLeaf):
    """Publish a message of constant ``fields`` and blackboard values (``fields_from_blackboard``:
    field path -> key, read at each publication) on ``topic``: once (SUCCESS), or with ``rate``
    (Hz) at once and then at that rate while it runs (RUNNING until halted; put it in a
    ``parallel`` beside the work it goes with).

    Status:
        SUCCESS: published (without ``rate``)
        RUNNING: publishing at ``rate``
        FAILURE: a blackboard key is not set or does not fit its field (reason ``invalid_goal``)
    """

    def __init__(self, name, topic, message_type, fields=None, fields_from_blackboard=None, rate=None,
                 qos="default"):
        super().__init__(name, topic, message_type, qos)
        self.fields = dict(fields or {})
        self.fields_from_blackboard = dict(fields_from_blackboard or {})
        self.rate = float(rate) if rate else None
        self.blackboard = self.attach_blackboard_client(name=name)
        for key in self.fields_from_blackboard.values():
            self.blackboard.register_key(key=key.split(".", 1)[0], access=Access.READ)
        self.publisher = None
        self.count = 0
        self._next = 0.0
        self._wake_at = lambda deadline: None

    def validate(self):
        return check_message(self.message_type, self.fields, self.fields_from_blackboard)

    def setup(self, **kwargs):
        super().setup(**kwargs)
        self._wake_at = kwargs.get("wake_at") or self._wake_at
        self.publisher = self.node.create_publisher(self.message_type, self.topic, qos_profile(self.qos))

    def initialise(self):
        self.failure = None
        self._next = time.monotonic()

    def _message(self):
        message = fill(self.message_type(), self.fields)
        for path, key in self.fields_from_blackboard.items():
            if not self.blackboard.exists(key):
                raise InterfaceError(f"blackboard key {key} (for field {path}) is not set")
            set_field(message, path, self.blackboard.get(key))
        return message

    def update(self):
        now = time.monotonic()
        if now >= self._next:
            try:
                message = self._message()
            except InterfaceError as exc:
                return self._fail(failures.INVALID_GOAL, str(exc))
            self.publisher.publish(message)
            self.count += 1
            self._events(self, "published", {"topic": self.resolved_name(), "count": self.count})
            if self.rate is None:
                self.feedback_message = ""
                return Status.SUCCESS
            while self._next <= now:
                self._next += 1.0 / self.rate
        self._wake_at(self._next)
        self.feedback_message = f"published {self.count} at {self.rate:g} Hz"
        return Status.RUNNING

    def shutdown(self):
        if self.publisher is not None and self.node is not None:
            self.node.destroy_publisher(self.publisher)
        self.publisher = None
