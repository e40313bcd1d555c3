"""What action and service leaves share: a request built from constants and blackboard keys,
waiting for the server with a deadline, blackboard outputs, failure records, and the hooks a
host (the executive, a test) passes to ``setup``:

- ``node``: the rclpy node (required);
- ``wake``: called when a response, feedback or result arrives, so the host can tick at once;
- ``wake_at``: ``wake_at(deadline)`` (``time.monotonic()`` s) asks to be ticked by then (while
  the server is not discovered yet, every DISCOVERY_POLL);
- ``events``: ``events(behaviour, name, data)`` for each goal or call event (sent, accepted,
  feedback summary, result, cancel), for run logs;
- ``clients``: a :class:`ClientPool` to share clients with earlier and later trees on the node;
- ``goals``: the run's :class:`GoalBook`, so a leaf can see goals other leaves of the run are still
  cancelling on its server (one is made per leaf when absent);
- ``halt_timeout``: seconds a cancelled goal may take to end before a host (or a leaf waiting for
  it) gives up (10 when absent).
"""
import functools
import time
import traceback

import py_trees
from py_trees.common import Access, Status

from behaviors import failures
from behaviors.failures import Failure
from behaviors.messages import InterfaceError, check_path, fill, import_type, non_finite, set_field, type_name


class ClientPool:
    """Action and service clients shared by the trees a long-lived node runs one after another:
    a new mission then finds its servers already discovered instead of discovering them again."""

    def __init__(self):
        self._clients = {}

    def get(self, key, create):
        if key not in self._clients:
            self._clients[key] = create()
        return self._clients[key]

    def destroy(self):
        for client in self._clients.values():
            client.destroy()
        self._clients.clear()


class GoalBook:
    """The goals a run's leaves have cancelled that have not ended yet, by server name: so that a
    leaf does not send a goal to a server still winding down another goal of the same run (two
    goals driving one robot). Entries are the leaves' own goal records (anything with
    ``in_flight`` and ``id_hex``); ended ones drop out as they are looked at."""

    def __init__(self):
        self._by_server = {}
        self._pollers = {}      # id(attempt) -> callable that looks after it (asks again, cancels again)

    def abandoned(self, attempt, poll=None) -> None:
        """``attempt`` was cancelled; ``poll()`` (its leaf's) looks after it until it ends."""
        self._by_server.setdefault(attempt.server, []).append(attempt)
        if poll is not None:
            self._pollers[id(attempt)] = (attempt, poll)

    def poll(self) -> None:
        """Look after every cancelled goal still in flight (a host calls this after each tick):
        lost answers are asked for again, refused cancels sent again."""
        for key, (attempt, poll) in list(self._pollers.items()):
            if attempt.in_flight:
                poll()
            else:
                del self._pollers[key]

    def canceling(self, server: str) -> list:
        """Cancelled goals on ``server`` that have not ended, oldest first."""
        held = [a for a in self._by_server.get(server, ()) if a.in_flight]
        if held:
            self._by_server[server] = held
        else:
            self._by_server.pop(server, None)
        return held


def release(root):
    """Shut down ``root`` and everything under it, and unregister their blackboard clients.
    py_trees keeps every client in a class-wide registry until it is unregistered, so a
    long-lived executive that did not would keep one per leaf of every mission it ever loaded."""
    for behaviour in root.iterate():
        behaviour.shutdown()
        for client in behaviour.blackboards:
            client.unregister(clear=False)
        behaviour.blackboards = []


def check_request(kind: str, interface_type, fields: dict, fields_from_blackboard=()):
    """(interface class, request) for what a leaf of ``kind`` ("action" or "srv") sends:
    ``interface_type`` (class or 'pkg/kind/Name') imported, ``fields`` filled into a new goal or
    request, every blackboard field path checked. One message is built, no behaviour: validation
    and :meth:`RemoteLeaf.validate` both check through here.

    Raises InterfaceError: ``field`` is empty for a type that is not installed, else the path of
    the field that does not fit."""
    cls = import_type(interface_type, kind) if isinstance(interface_type, str) else interface_type
    request = cls.Goal() if kind == "action" else cls.Request()
    fill(request, fields)
    for path in fields_from_blackboard:
        check_path(request, path)
    return cls, request


def required_node(behaviour, kwargs):
    """The rclpy node a host passes to ``setup(node=...)``; KeyError naming ``behaviour`` without one."""
    try:
        return kwargs["node"]
    except KeyError:
        raise KeyError(f"{behaviour.name}: setup() needs node=<rclpy node>") from None


def _no_events(behaviour, name, data):
    pass


def _no_deadline(deadline):
    pass


# While its server is not discovered yet, a leaf asks to be ticked this often (``wake_at``): DDS
# discovery has no callback to wake the tree, and a first goal should not wait for a tick period.
DISCOVERY_POLL = 0.01   # s


def callback(method):
    """Decorate a leaf's rclpy callbacks (a future's done callback, feedback) with this: rclpy
    re-raises what a callback raises from the executor's spin, which would end the host. An
    exception fails the leaf instead (reason ``internal_error``, its traceback logged by the node
    and an ``internal_error`` event in the run log), and the mission's tree decides what follows."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception:
            self._internal_fault(method.__name__)
    return guarded


class RemoteLeaf(py_trees.behaviour.Behaviour):
    """Base of :class:`~behaviors.actions.ActionClient` and :class:`~behaviors.services.ServiceClient`.

    Subclasses set ``KIND`` ("action" or "srv") and implement ``_new_request``, ``_create_client``,
    ``_server_ready`` and their own ``update``.
    """

    KIND = ""

    def __init__(self, name, interface_type, remote_name, fields=None, fields_from_blackboard=None,
                 server_timeout=5.0, outputs=None):
        super().__init__(name)
        self.interface_type = interface_type
        self.remote_name = remote_name
        self.fields = dict(fields or {})
        self.fields_from_blackboard = dict(fields_from_blackboard or {})
        self.server_timeout = float(server_timeout)
        self.outputs = {k: v for k, v in (outputs or {}).items() if v}
        self.blackboard = self.attach_blackboard_client(name=name)
        for key in self.fields_from_blackboard.values():
            # '/planned.path' reads field path of '/planned': py_trees checks access to '/planned'
            self.blackboard.register_key(key=key.split(".", 1)[0], access=Access.READ)
        for key in self.outputs.values():
            self.blackboard.register_key(key=key, access=Access.WRITE)
        self.node = None
        self.client = None
        self.failure = None
        self._wake = lambda: None
        self._wake_at = _no_deadline
        self._events = _no_events
        self._book = GoalBook()
        self._halt_timeout = 10.0
        self._owns_client = True
        self._waiting_since = 0.0
        self._constant_request = None
        self._fault = None          # a Failure (internal_error) a callback recorded, for the next update

    # -- for subclasses ----------------------------------------------------------------------
    def _new_request(self):
        raise NotImplementedError

    def _create_client(self):
        raise NotImplementedError

    def _server_ready(self) -> bool:
        raise NotImplementedError

    def convert(self, path, value):
        """Turn a blackboard value into what field ``path`` takes; typed leaves override it."""
        return value

    # -- shared lifecycle ----------------------------------------------------------------------
    def validate(self):
        """Import the interface type and check every request field against it, without ROS.

        Raises InterfaceError: ``field`` is empty for a type that is not installed, else the path
        of the field that does not fit.
        """
        self.interface_type, request = check_request(self.KIND, self.interface_type, self.fields,
                                                     self.fields_from_blackboard)
        # Nothing to fill in when it is sent: this very message is sent each time (rclpy
        # serialises it at once and keeps no reference that could see a later change).
        self._constant_request = None if self.fields_from_blackboard else request

    def setup(self, **kwargs):
        """Create the client. Raises InterfaceError naming a field that does not fit the type."""
        self.node = required_node(self, kwargs)
        self._wake = kwargs.get("wake") or (lambda: None)
        self._wake_at = kwargs.get("wake_at") or _no_deadline
        self._events = kwargs.get("events") or _no_events
        self._book = kwargs.get("goals") or self._book
        self._halt_timeout = float(kwargs.get("halt_timeout") or self._halt_timeout)
        pool = kwargs.get("clients")
        try:
            self.validate()
        except InterfaceError as exc:
            interface = self.interface_type
            named = interface if isinstance(interface, str) else type_name(interface)   # str: not importable
            raise InterfaceError(f"{self.name}: {named}: {exc}") from None
        self._owns_client = pool is None
        if pool is None:
            self.client = self._create_client()
        else:
            self.client = pool.get((self.KIND, self.interface_type, self.remote_name), self._create_client)

    def initialise(self):
        self.failure = None
        self._fault = None
        self.feedback_message = ""
        self._waiting_since = time.monotonic()

    def _internal_fault(self, where: str):
        """Called in an ``except`` block of a callback (see :func:`callback`)."""
        text = traceback.format_exc()
        last = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        if self.node is not None:
            self.node.get_logger().error(f"{self.name}: internal error in {where}:\n{text}")
        self._event("internal_error", where=where, error=last)
        self._fault = Failure(failures.INTERNAL_ERROR, f"internal error in {where} (logged by the executive): {last}")
        self._wake()

    def _faulted(self):
        """FAILURE (internal_error) once after a callback failed, else None: updates ask first."""
        if self._fault is None:
            return None
        failure, self._fault = self._fault, None
        self._record_failure(failure)
        return Status.FAILURE

    def shutdown(self):
        """Destroy the client: a long-lived node must not keep the endpoints of discarded trees."""
        if self.client is not None and self._owns_client:
            self.client.destroy()
        self.client = None

    def _await_server(self):
        """None once the server is there; RUNNING while waiting; FAILURE after ``server_timeout``."""
        if self._server_ready():
            return None
        if time.monotonic() - self._waiting_since < self.server_timeout:
            self.feedback_message = f"waiting for {self.resolved_name()}"
            self._wake_at(time.monotonic() + DISCOVERY_POLL)
            return Status.RUNNING
        kind = "action server" if self.KIND == "action" else "service"
        return self._fail(failures.SERVER_UNAVAILABLE,
                          f"{kind} {self.resolved_name()} not available after {self.server_timeout:g} s")

    def _build_request(self):
        """The request message, or None after recording an invalid_goal failure."""
        if self._constant_request is not None:
            return self._constant_request
        request = self._new_request()
        fill(request, self.fields)
        for path, key in self.fields_from_blackboard.items():
            if not self.blackboard.exists(key):
                self._record_failure(Failure(failures.INVALID_GOAL, f"blackboard key {key} (for field {path}) is not set"))
                return None
            value = self.blackboard.get(key)
            bad = non_finite(value)
            if bad is not None:     # never sent to a robot: NaN or inf where a number is meant
                field = f"{path}.{bad}" if bad else path
                self._record_failure(Failure(failures.INVALID_GOAL, f"blackboard key {key}: field {field} is "
                                                                    "not a finite number (NaN or infinite)"))
                return None
            try:
                set_field(request, path, self.convert(path, value))
            except InterfaceError as exc:
                self._record_failure(Failure(failures.INVALID_GOAL, f"blackboard key {key}: {exc}"))
                return None
        return request

    def _event(self, name, **data):
        self._events(self, name, data)

    def _write(self, output, value):
        if output in self.outputs:
            self.blackboard.set(self.outputs[output], value, overwrite=True)

    def _fail(self, reason, message, **details):
        self._record_failure(Failure(reason, message, **details))
        return Status.FAILURE

    def _record_failure(self, failure):
        self.failure = failure
        self.feedback_message = str(failure)
        self._write("failure", failure.as_dict())

    def resolved_name(self):
        if self.node is None or self.remote_name.startswith("/"):
            return self.remote_name
        return f"{self.node.get_namespace().rstrip('/')}/{self.remote_name}"
