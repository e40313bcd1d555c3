"""Groot2's monitoring protocol, served from the executive: a Groot2 user attaches to a running
mission as to a BehaviorTree.CPP tree (BT.CPP v4's ``Groot2Publisher``).

**The protocol** (BT.CPP 4.8: ``loggers/groot2_protocol.h``, ``loggers/groot2_publisher.cpp``;
checked against the publisher the ``behaviortreepy`` wheel carries, in test/test_groot2.py).
ZeroMQ request/reply on TCP ``port``, every message multipart:

- request part 1, 6 bytes: protocol id (uint8, 2), request type (one ASCII byte), a unique id
  (uint32, little endian) that the reply repeats; a second part for the requests that carry one;
- reply part 1, 22 bytes: the request's 6 bytes (protocol id 2) and the tree id, 16 bytes (a UUID;
  a new one tells Groot2 that the tree changed), then the answer;
- a request that cannot be served gets two parts instead: ``error`` and a reason.

Request types: ``T`` FULLTREE (answer: the tree as BT.CPP XML, each node with a ``_uid``
attribute), ``S`` STATUS (3 bytes per node: uid uint16 LE, status uint8), ``B`` BLACKBOARD (second
part: tree names joined by ``;``; answer: MessagePack of ``{tree name: {key: value}}``, values as
JSON would hold them, unknown names left out; nil when
none is known), ``r`` TOGGLE_RECORDING (``start``: answer the time
in microseconds since the epoch as text; ``stop``: no answer part), ``t`` GET_TRANSITIONS (the
status changes since the last call, 9 bytes each: microseconds since the recording started as 6
bytes LE, uid uint16, status uint8), and the breakpoint requests ``I`` HOOK_INSERT, ``R``
HOOK_REMOVE, ``U`` BREAKPOINT_UNLOCK, ``D`` HOOKS_DUMP, ``A`` REMOVE_ALL_HOOKS, ``X``
DISABLE_ALL_HOOKS. A PUB socket on ``port + 1`` carries ``N`` BREAKPOINT_REACHED notices.

Status values are BT.CPP's NodeStatus (IDLE 0, RUNNING 1, SUCCESS 2, FAILURE 3, SKIPPED 4); a node
that finished and was reset since is IDLE reported as 10 + the status it had (BT.CPP resets the
children of a control node when it finishes, a decorator's child as soon as it finishes, and the
root once the tree has finished; a reactive control node resets all its children but the running one).
:func:`status_codes` derives the same from a run.

**What this server does not do.** Breakpoints (hooks): there are none to dump (``D`` answers
``[]``), removing or disabling all of them succeeds, inserting, removing or unlocking one is
answered with an error; nothing is ever published on ``port + 1`` (bound all the same, as Groot2
connects to it). Transitions are recorded from the statuses the executive hands over after each
burst of ticks, not from inside a tick: a node that started and finished between two handovers
shows one change, not two.

**Threads.** The ZeroMQ sockets live on the server's own thread. The tick thread (a listener of
the executive node, :class:`Groot2Listener`) only hands over snapshots: the status buffer, and the
blackboard converted once per changed value; both only while a client has asked within
HEARTBEAT seconds (BT.CPP's 5 s heartbeat), and always when a run starts or ends.
"""
import collections
import math
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET

from executive.language import btcpp

PROTOCOL = 2
FULLTREE, STATUS, BLACKBOARD = b"T", b"S", b"B"
HOOK_INSERT, HOOK_REMOVE, BREAKPOINT_REACHED, BREAKPOINT_UNLOCK = b"I", b"R", b"N", b"U"
HOOKS_DUMP, REMOVE_ALL_HOOKS, DISABLE_ALL_HOOKS = b"D", b"A", b"X"
TOGGLE_RECORDING, GET_TRANSITIONS = b"r", b"t"
IDLE, RUNNING, SUCCESS, FAILURE, SKIPPED = 0, 1, 2, 3, 4
IDLE_FROM = 10                  # + the status a node had before it was reset to IDLE
REQUEST_HEADER = struct.Struct("<BcI")      # protocol id, request type, unique id
STATUS_ENTRY = struct.Struct("<HB")         # uid, status
TRANSITION = struct.Struct("<6sHB")         # microseconds (low 6 bytes), uid, status
DEFAULT_PORT = 1667
MAX_UID = 0xFFFF                # uids are uint16 on the wire
HEARTBEAT = 5.0                 # s: a client is attached while it asked something this recently
MAX_TRANSITIONS = 1000          # kept while recording (BT.CPP keeps as many)
MAX_REQUEST_BYTES = 65536       # a longer request part drops the connection (ZMQ_MAXMSGSIZE)
MAX_BLACKBOARD_KEYS = 1000      # more keys are left out of the BLACKBOARD answer
MAX_VALUE_BYTES = 65536         # a value larger than this (as MessagePack) is shown as a note
POLL_MS = 100                   # the server thread checks for close this often

SHOWN_CODES = {"INVALID": IDLE, "RUNNING": RUNNING, "SUCCESS": SUCCESS, "FAILURE": FAILURE, "SKIPPED": SKIPPED,
               "HALTED": IDLE_FROM + RUNNING}


class Groot2Error(Exception):
    """The server could not start (the port is taken, the address is not this machine's)."""


# -- the tree as Groot2 sees it --------------------------------------------------------------------

def nodes_in_order(mission) -> list:
    """The mission's nodes in uid order (pre-order, uid = index + 1): the one order both the XML's
    ``_uid`` attributes and the status buffer follow."""
    out, stack = [], [mission.root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def tree_xml(mission) -> tuple:
    """``(xml, tree name)``: the mission as BT.CPP XML (``mission export --format btcpp-xml``,
    :func:`executive.language.btcpp.dumps`) with BT.CPP's monitoring metadata: ``_uid`` on every
    node (see :func:`nodes_in_order`) and ``_fullpath`` on the main ``<BehaviorTree>``. The tree
    name is that ``<BehaviorTree>``'s ID, the name Groot2 asks the blackboard by. ValueError when
    the export's nodes do not line up with the mission's (a change of the export this must follow)."""
    root = ET.fromstring(btcpp.dumps(mission))
    tree = root.find("BehaviorTree")
    elements = [e for top in tree for e in top.iter()]
    nodes = nodes_in_order(mission)
    if len(elements) != len(nodes) or any(e.get("name") != n.name for e, n in zip(elements, nodes)):
        raise ValueError(f"the BT.CPP export of {mission.name} has {len(elements)} nodes where the mission has "
                         f"{len(nodes)}, or in another order")
    tree.set("_fullpath", "")
    for uid, element in enumerate(elements, 1):
        element.set("_uid", str(uid))
    return ET.tostring(root, encoding="unicode"), tree.get("ID")


class TreeView:
    """One run as Groot2 sees it: the behaviour of each uid, how its status is reported, the tree
    id. Built on the tick thread when a run starts (cheap: no XML); :meth:`xml` builds the XML on
    first use, from the mission model, which does not change while it runs."""

    def __init__(self, run):
        self.run = run
        self.tree_id = uuid.uuid4().bytes
        nodes = nodes_in_order(run.mission)
        if len(nodes) > MAX_UID:
            raise ValueError(f"{len(nodes)} nodes: Groot2's node ids are 16-bit (at most {MAX_UID} nodes)")
        by_node = {id(b.mission_node): b for b in run.behaviours if getattr(b, "mission_node", None) is not None}
        self.behaviours = [by_node.get(id(n)) for n in nodes]
        index = {id(n): i for i, n in enumerate(nodes)}
        parents = [-1] * len(nodes)
        for i, node in enumerate(nodes):
            for child in node.children:
                parents[index[id(child)]] = i
        self.parents = parents
        self.keeps = [p >= 0 and _keeps_finished_children(nodes[p]) for p in parents]
        self._mission = run.mission
        self._xml = None
        self._name = None
        self._lock = threading.Lock()

    def xml(self) -> tuple:
        """``(xml text, tree name)``, built once."""
        with self._lock:
            if self._xml is None:
                self._xml, self._name = tree_xml(self._mission)
            return self._xml, self._name

    def status_buffer(self) -> bytes:
        """STATUS's answer for the run now (tick thread only: it reads live statuses)."""
        codes = status_codes(self.run, self.behaviours, self.parents, self.keeps)
        out = bytearray(STATUS_ENTRY.size * len(codes))
        for i, code in enumerate(codes):
            STATUS_ENTRY.pack_into(out, STATUS_ENTRY.size * i, i + 1, code)
        return bytes(out)


def _keeps_finished_children(node) -> bool:
    """BT.CPP keeps a finished child's status while its parent runs when the parent is a control
    node (Sequence, Fallback, Parallel); a reactive one (ReactiveSequence, ReactiveFallback: our
    ``memory: false``) resets every child but the running one, and a decorator its child at once."""
    from executive.language.kinds import KINDS

    kind = KINDS.get(node.kind)
    return kind is not None and kind.category == "composite" and node.fields.get("memory", True) is not False


def status_codes(run, behaviours, parents, keeps) -> list:
    """BT.CPP's status value for each behaviour (None: a node with no behaviour, IDLE), as its
    publisher reports it: RUNNING, SUCCESS, FAILURE, SKIPPED while current; IDLE never run; 10 +
    the status it had once reset. py_trees keeps a finished behaviour's status until its parent
    starts again, and the run keeps the latest status of every behaviour (run.shown_status, HALTED
    for one stopped while running); BT.CPP resets a finished node at once unless its parent is a
    running control node (``keeps``), and the root once the tree finished."""
    from py_trees.common import Status

    codes = []
    for behaviour, parent in zip(behaviours, parents):
        if behaviour is None:
            codes.append(IDLE)
            continue
        status = behaviour.status
        if status == Status.RUNNING:
            codes.append(RUNNING)
            continue
        code = SHOWN_CODES[run.shown_status(behaviour)]
        if code in (IDLE, IDLE_FROM + RUNNING):
            codes.append(code)
            continue
        holder = behaviours[parent] if keeps[len(codes)] else None
        if holder is None or holder.status != Status.RUNNING:
            codes.append(IDLE_FROM + code)
        elif status != Status.INVALID or _before_current(holder, behaviour):
            # BT.CPP keeps it; py_trees' fallback with memory resets the options it passed (for show)
            codes.append(code)
        else:
            codes.append(IDLE_FROM + code)      # reset when its parent started again
    return codes


def _before_current(parent, child) -> bool:
    """``child`` comes before ``parent``'s current child: it ran in the parent's current run."""
    current = getattr(parent, "current_child", None)
    if current is None or current is child:
        return False
    for sibling in parent.children:
        if sibling is current:
            return False
        if sibling is child:
            return True
    return False


# -- the blackboard ------------------------------------------------------------------------------

def json_value(value, depth: int = 0):
    """A blackboard value as BT.CPP's JSON exporter would give it: numbers, strings, booleans,
    lists, objects (a message as an object of its fields); None (null) for anything else, as
    BT.CPP gives an entry its exporter cannot convert."""
    from behaviors.messages import to_data

    if depth > 64:
        return None
    if depth == 0:
        try:
            value = to_data(value)
        except (TypeError, ValueError, RecursionError):
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -2 ** 63 <= value < 2 ** 64 else None      # beyond JSON's (and BT.CPP's) integers
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v, depth + 1) for k, v in value.items()}
    return None


class BlackboardCache:
    """The blackboard's entries as MessagePack-ready values, each converted once per value (an
    entry whose value object is the same is not converted again). Bounded: MAX_BLACKBOARD_KEYS
    keys, MAX_VALUE_BYTES per value."""

    def __init__(self):
        self._seen = {}         # key -> (value object, converted)

    def update(self, storage: dict) -> dict:
        import msgpack

        out = {}
        for key in sorted(storage, key=str)[:MAX_BLACKBOARD_KEYS]:
            value = storage[key]
            seen = self._seen.get(key)
            if seen is None or seen[0] is not value:
                converted = json_value(value)
                try:
                    size = len(msgpack.packb(converted))
                except (TypeError, ValueError, OverflowError):
                    converted, size = None, 0
                if size > MAX_VALUE_BYTES:
                    converted = f"(a value of {size} bytes, too large to show)"
                seen = self._seen[key] = (value, converted)
            out[str(key).lstrip("/")] = seen[1]
        for key in [k for k in self._seen if k not in storage]:
            del self._seen[key]
        return out


# -- the server ----------------------------------------------------------------------------------

class Snapshot:
    """What the server answers from: immutable once handed over."""

    def __init__(self, view, statuses: bytes, blackboard: dict):
        self.view, self.statuses, self.blackboard = view, statuses, blackboard


class Groot2Server:
    """Groot2's REP socket on ``host:port`` (and the PUB socket on ``port + 1``), served on a
    thread of its own. :meth:`hand_over` gives it what to answer. Groot2Error when it cannot bind."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1"):
        import zmq

        if not 1 <= port < 65535:
            raise Groot2Error(f"Groot2 port {port}: must be 1 to 65534 (the next port is Groot2's too)")
        self.host, self.port = host, port
        self._context = zmq.Context()
        self._server = self._context.socket(zmq.REP)
        self._publisher = self._context.socket(zmq.PUB)
        for socket in (self._server, self._publisher):
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.SNDTIMEO, 1000)
            socket.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        address = f"[{host}]" if ":" in host else host
        try:
            if ":" in host:
                self._server.setsockopt(zmq.IPV6, 1)
                self._publisher.setsockopt(zmq.IPV6, 1)
            self._server.bind(f"tcp://{address}:{port}")
            self._publisher.bind(f"tcp://{address}:{port + 1}")
        except zmq.ZMQError as exc:
            self._context.destroy(linger=0)
            raise Groot2Error(f"Groot2 cannot listen on {host}:{port} and {port + 1}: {exc}") from None
        self._lock = threading.Lock()
        self._snapshot = None
        self._refusal = ""
        self._last_request = -math.inf
        self._last_blackboard_request = -math.inf
        self._recording = False
        self._recording_start = 0.0
        self._transitions = collections.deque(maxlen=MAX_TRANSITIONS)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="groot2", daemon=True)

    def start(self):
        self._thread.start()
        return self

    # -- what the tick thread calls (cheap) --------------------------------------------------------
    def attached(self) -> bool:
        """A client asked something within HEARTBEAT seconds."""
        return time.monotonic() - self._last_request < HEARTBEAT

    def wants_blackboard(self) -> bool:
        return time.monotonic() - self._last_blackboard_request < HEARTBEAT

    def hand_over(self, snapshot: Snapshot):
        """Answer from ``snapshot`` from now on; while recording, the status changes since the last
        snapshot of the same tree become transitions."""
        with self._lock:
            previous, self._snapshot, self._refusal = self._snapshot, snapshot, ""
            if self._recording and previous is not None and previous.view is snapshot.view:
                now = int((time.monotonic() - self._recording_start) * 1e6)
                stamp = (now & (2 ** 48 - 1)).to_bytes(8, "little")[:6]
                old, new = previous.statuses, snapshot.statuses
                for offset in range(0, min(len(old), len(new)), STATUS_ENTRY.size):
                    if old[offset + 2] != new[offset + 2]:
                        uid, code = STATUS_ENTRY.unpack_from(new, offset)
                        self._transitions.append(TRANSITION.pack(stamp, uid, IDLE if code >= IDLE_FROM else code))

    def refuse(self, reason: str):
        """Answer FULLTREE, STATUS and BLACKBOARD with ``reason`` until the next hand-over."""
        with self._lock:
            self._snapshot, self._refusal = None, reason

    def close(self):
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self._context.destroy(linger=0)

    # -- the server thread ----------------------------------------------------------------------
    def _serve(self):
        import zmq

        poller = zmq.Poller()
        poller.register(self._server, zmq.POLLIN)
        while not self._closing.is_set():
            try:
                if not poller.poll(POLL_MS):
                    continue
                request = self._server.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                continue
            except zmq.ZMQError:
                return      # the context was closed
            try:
                reply = self.answer(request)
            except Exception as exc:        # never leave the REP socket without a reply
                reply = [b"error", f"internal error: {type(exc).__name__}".encode()]
            try:
                self._server.send_multipart(reply)
            except zmq.ZMQError:
                if self._closing.is_set():
                    return

    def answer(self, request: list) -> list:
        """The reply parts for the request parts ``request`` (the protocol, without sockets)."""
        self._last_request = time.monotonic()
        if not request or len(request[0]) != REQUEST_HEADER.size:
            return _error("wrong request header")
        _protocol, kind, unique_id = REQUEST_HEADER.unpack(request[0])
        with self._lock:
            snapshot, refusal = self._snapshot, self._refusal
        payload = request[1] if len(request) == 2 else None
        if kind in (FULLTREE, STATUS, BLACKBOARD) and snapshot is None:
            return _error(refusal or "no mission has run yet")
        tree_id = snapshot.view.tree_id if snapshot is not None else bytes(16)
        header = REQUEST_HEADER.pack(PROTOCOL, kind, unique_id) + tree_id
        if kind in (FULLTREE, BLACKBOARD):
            try:
                xml, name = snapshot.view.xml()
            except ValueError as exc:
                return _error(str(exc))
        if kind == FULLTREE:
            return [header, xml.encode()]
        if kind == STATUS:
            return [header, snapshot.statuses]
        if kind == BLACKBOARD:
            if payload is None:
                return _error("must be 2 parts message")
            import msgpack

            self._last_blackboard_request = time.monotonic()
            asked = payload.decode("utf-8", "replace").split(";")
            # BT.CPP's answer is a JSON object that starts as null: nil when no name is known
            return [header, msgpack.packb({name: snapshot.blackboard} if name in asked else None)]
        if kind == HOOKS_DUMP:
            return [header, b"[]"]
        if kind in (REMOVE_ALL_HOOKS, DISABLE_ALL_HOOKS):
            return [header]
        if kind in (HOOK_INSERT, HOOK_REMOVE, BREAKPOINT_UNLOCK):
            return _error("breakpoints are not supported by mission_executive")
        if kind == TOGGLE_RECORDING:
            if payload is None:
                return _error("must be 2 parts message")
            with self._lock:
                if payload == b"start":
                    self._recording, self._recording_start = True, time.monotonic()
                    self._transitions.clear()
                    return [header, str(int(time.time() * 1e6)).encode()]
                if payload == b"stop":
                    self._recording = False
            return [header]
        if kind == GET_TRANSITIONS:
            with self._lock:
                out = b"".join(self._transitions)
                self._transitions.clear()
            return [header, out]
        return _error("Request not recognized")


def _error(reason: str) -> list:
    return [b"error", reason.encode()]


# -- the executive's side ------------------------------------------------------------------------

class Groot2Listener:
    """A listener of the executive node (``node.listeners``, called on the tick thread after ticks
    and state changes): hands the server a snapshot of the current run when a client is attached,
    and always when a run starts or ends (so a client arriving later finds the final state)."""

    def __init__(self, server: Groot2Server, storage=None, on_problem=None):
        self.server = server
        self.on_problem = on_problem    # callable(message): why a run cannot be shown
        self._storage = storage         # the blackboard's storage (py_trees' by default)
        self._view = None
        self._blackboard = BlackboardCache()
        self._blackboard_now = {}
        self._ended = False
        self._refused = None            # a run too large for Groot2's 16-bit node ids

    def __call__(self, run):
        import py_trees

        fresh = self._view is None or self._view.run is not run
        if fresh and self._refused is run:
            return
        if fresh:
            try:
                self._view = TreeView(run)
            except ValueError as exc:
                self._refused = run
                self.server.refuse(f"mission {run.mission.name} cannot be shown: {exc}")
                if self.on_problem is not None:
                    self.on_problem(f"Groot2: mission {run.mission.name} cannot be shown: {exc}")
                return
            self._blackboard = BlackboardCache()
            self._blackboard_now = {}
            self._ended = False
        ending = run.done and not self._ended
        if not (fresh or ending or self.server.attached()):
            return
        self._ended = self._ended or run.done
        if fresh or ending or self.server.wants_blackboard():
            storage = self._storage if self._storage is not None else py_trees.blackboard.Blackboard.storage
            self._blackboard_now = self._blackboard.update(storage)
        self.server.hand_over(Snapshot(self._view, self._view.status_buffer(), self._blackboard_now))
