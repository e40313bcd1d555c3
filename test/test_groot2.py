"""Groot2's monitoring protocol (executive/groot2.py), side by side with BehaviorTree.CPP's own
Groot2Publisher (the ``behaviortreepy`` wheel, BT.CPP 4.8): a client written from BT.CPP's protocol
definition asks both the same questions about the same tree and must get equivalent answers; then
a live executive serving a real mission against the sim.
"""
import pathlib
import random
import socket
import struct
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

zmq = pytest.importorskip("zmq")
msgpack = pytest.importorskip("msgpack")

from executive import groot2  # noqa: E402

# A tree of BT.CPP built-in nodes that both run: a fallback whose first option fails at once and
# whose second sleeps, typed blackboard values from a Script, a string from SetBlackboard.
TREE = """<root BTCPP_format="4" main_tree_to_execute="Main">
  <BehaviorTree ID="Main">
    <Sequence name="main">
      <Script name="count" code="c := 3; d := 2.5"/>
      <SetBlackboard name="set_word" output_key="word" value="two"/>
      <Fallback name="choose">
        <ForceFailure name="no"><SetBlackboard name="set_b" output_key="b" value="bee"/></ForceFailure>
        <Inverter name="inv"><ForceFailure name="ff"><Sleep name="nap" msec="150"/></ForceFailure></Inverter>
      </Fallback>
      <Sleep name="pause" msec="150"/>
    </Sequence>
  </BehaviorTree>
</root>
"""
DEADLINE = 30.0      # s: generous, for a loaded machine


# -- the client: Groot2's side, from groot2_protocol.h ------------------------------------------

class Answer:
    def __init__(self, error=None, tree_id=None, parts=()):
        self.error, self.tree_id, self.parts = error, tree_id, list(parts)


class Client:
    """A Groot2 stand-in: REQ socket; request header <protocol u8 = 2, type u8, unique id u32 LE>;
    reply header = the request's 6 bytes + a 16-byte tree id; errors are ['error', reason]."""

    def __init__(self, port: int):
        self.socket = CONTEXT.socket(zmq.REQ)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, int(DEADLINE * 1000))
        self.socket.setsockopt(zmq.REQ_RELAXED, 1)
        self.socket.setsockopt(zmq.REQ_CORRELATE, 1)
        self.socket.connect(f"tcp://127.0.0.1:{port}")

    def raw(self, parts) -> list:
        self.socket.send_multipart(parts)
        return self.socket.recv_multipart()

    def ask(self, kind: str, payload: bytes = None) -> Answer:
        unique_id = random.getrandbits(32)
        reply = self.raw([struct.pack("<BBI", 2, ord(kind), unique_id)] + ([payload] if payload is not None else []))
        if reply[0] == b"error":
            return Answer(error=reply[1].decode())
        assert len(reply[0]) == 22, reply
        protocol, echoed, echoed_id = struct.unpack("<BBI", reply[0][:6])
        assert (protocol, echoed, echoed_id) == (2, ord(kind), unique_id)
        return Answer(tree_id=reply[0][6:], parts=reply[1:])

    def tree(self) -> list:
        """(depth, tag, name, uid) of each node, pre-order."""
        answer = self.ask("T")
        assert answer.error is None, answer.error
        root = ET.fromstring(answer.parts[0])
        out = []

        def walk(element, depth):
            out.append((depth, element.tag, element.get("name"), int(element.get("_uid"))))
            for child in element:
                walk(child, depth + 1)
        for tree in root.findall("BehaviorTree"):
            for top in tree:
                walk(top, 0)
        return out

    def statuses(self) -> list:
        answer = self.ask("S")
        assert answer.error is None, answer.error
        data = answer.parts[0]
        return [struct.unpack_from("<HB", data, i) for i in range(0, len(data), 3)]

    def blackboard(self, names: str) -> dict:
        answer = self.ask("B", names.encode())
        assert answer.error is None, answer.error
        return msgpack.unpackb(answer.parts[0])

    def transitions(self) -> list:
        data = self.ask("t").parts[0]
        return [(int.from_bytes(data[i:i + 6], "little"), *struct.unpack_from("<HB", data, i + 6))
                for i in range(0, len(data), 9)]

    def close(self):
        self.socket.close(0)


CONTEXT = zmq.Context.instance()


def free_port_pair() -> int:
    """A port P with P and P + 1 free on every address (BT.CPP binds tcp://*)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("", 0))
            port = probe.getsockname()[1]
        if port >= 65534:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("", port))
                b.bind(("", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two free consecutive ports")


# -- the two servers -------------------------------------------------------------------------

class Theirs:
    """BT.CPP running ``xml`` with its Groot2Publisher."""

    def __init__(self, xml: str):
        import behaviortreepy as bt

        self.port = free_port_pair()
        self.tree = bt.BehaviorTreeFactory().create_tree_from_text(xml)
        self.publisher = bt.Groot2Publisher(self.tree, self.port)
        self.done = False

    def tick(self):
        self.done = self.tree.tick_once().name != "RUNNING"

    def halt(self):
        self.tree.halt_tree()

    def close(self):
        del self.publisher


class Ours:
    """Our executive's run of ``xml`` (imported through executive/language/btcpp.py) with the
    Groot2 server, handed a snapshot after each tick as the executive node does."""

    def __init__(self, xml: str, directory: pathlib.Path):
        import py_trees

        from executive.language.compiler import compile_mission, seed_blackboard
        from executive.language.resolve import resolve
        from executive.run import MissionRun

        path = directory / "tree.xml"
        path.write_text(xml)
        self.mission = resolve(path, {})
        root = compile_mission(self.mission)
        self.run = MissionRun(self.mission, root)
        py_trees.blackboard.Blackboard.storage.clear()
        py_trees.trees.setup(root, timeout=5.0, **self.run.setup_kwargs())
        seed_blackboard(self.mission)
        self.port = free_port_pair()
        self.server = groot2.Groot2Server(self.port).start()
        self.listener = groot2.Groot2Listener(self.server)
        self.listener(self.run)

    @property
    def done(self):
        return self.run.done

    def tick(self):
        self.run.tick()
        self.listener(self.run)

    def halt(self):
        self.run.halt("test", 1.0)
        self.run.poll_halt()
        self.listener(self.run)

    def close(self):
        self.server.close()
        self.run.shutdown()


@pytest.fixture
def pair(tmp_path):
    """(BT.CPP's publisher and client, ours and client) for TREE."""
    theirs, ours = Theirs(TREE), Ours(TREE, tmp_path)
    clients = Client(theirs.port), Client(ours.port)
    yield (theirs, clients[0]), (ours, clients[1])
    for client in clients:
        client.close()
    theirs.close()
    ours.close()


def run_both(pair, each_tick):
    """Tick both trees to the end, one tick each in turn; ``each_tick(side, client)`` after every
    tick. Each tree's own ticks: a Sleep ends by the clock, so tick counts may differ."""
    deadline = time.monotonic() + DEADLINE
    for side, client in pair:
        while not side.done:
            assert time.monotonic() < deadline, "the tree did not finish"
            side.tick()
            each_tick(side, client)
            time.sleep(0.01)


def distinct(seq) -> list:
    return [s for i, s in enumerate(seq) if i == 0 or s != seq[i - 1]]


# -- side by side ----------------------------------------------------------------------------

def test_same_tree_with_the_same_uids(pair):
    (theirs, their_client), (ours, our_client) = pair
    their_tree, our_tree = their_client.tree(), our_client.tree()
    assert our_tree == their_tree
    assert [uid for *_, uid in our_tree] == list(range(1, len(our_tree) + 1))
    assert our_client.ask("T").tree_id != their_client.ask("T").tree_id     # a UUID of its own
    assert len(our_client.ask("S").tree_id) == 16


def test_our_export_read_by_btcpp_gives_the_same_tree(pair, tmp_path):
    """The other way round: our BT.CPP export of the imported mission, run by BT.CPP."""
    from executive.language import btcpp

    (_, _), (ours, our_client) = pair
    exported = Theirs(btcpp.dumps(ours.mission))
    client = Client(exported.port)
    try:
        assert client.tree() == our_client.tree()
        their_xml = ET.fromstring(client.ask("T").parts[0])
        our_xml = ET.fromstring(our_client.ask("T").parts[0])
        assert [e.get("ID") for e in their_xml.findall("BehaviorTree")] == \
            [e.get("ID") for e in our_xml.findall("BehaviorTree")]
    finally:
        client.close()
        exported.close()


def test_status_changes_in_the_same_order_and_the_same_blackboard(pair):
    seen = {}

    def record(side, client):
        seen.setdefault(id(side), [client.statuses()])
        seen[id(side)].append(client.statuses())

    for side, client in pair:
        seen[id(side)] = [client.statuses()]
    run_both(pair, record)
    (theirs, their_client), (ours, our_client) = pair
    their_states, our_states = distinct(seen[id(theirs)]), distinct(seen[id(ours)])
    assert our_states == their_states
    assert len(their_states) >= 4       # idle, the nap, the pause, done: the comparison compared something
    assert our_states[-1] == their_states[-1]
    # every node finished or reset, as BT.CPP reports a finished tree: IDLE after SUCCESS (12) and so on
    assert {code for _, code in their_states[-1]} <= {12, 13}
    assert our_client.blackboard("Main") == their_client.blackboard("Main") == \
        {"Main": {"c": 3, "d": 2.5, "word": "two", "b": "bee"}}
    assert our_client.blackboard("Main;Other") == their_client.blackboard("Main;Other")
    assert our_client.blackboard("Other") == their_client.blackboard("Other") is None


def test_a_halt_shows_as_btcpp_shows_it(pair):
    """Halted while the nap runs: RUNNING nodes become IDLE from RUNNING (11)."""
    answers = []
    for side, client in pair:
        deadline = time.monotonic() + DEADLINE
        side.tick()
        while dict(client.statuses()).get(8) != groot2.RUNNING:
            assert time.monotonic() < deadline
            side.tick()
        side.halt()
        answers.append(client.statuses())
    assert answers[0] == answers[1]
    assert dict(answers[0])[8] == groot2.IDLE_FROM + groot2.RUNNING


def test_recorded_transitions_are_a_subsequence_of_btcpps(pair):
    """Recording: ours records the changes between hand-overs, BT.CPP every change inside a tick;
    each node's changes in ours appear in the same order in BT.CPP's."""
    for _side, client in pair:
        answer = client.ask("r", b"start")
        assert answer.error is None and abs(int(answer.parts[0]) / 1e6 - time.time()) < 60
    recorded = {}
    run_both(pair, lambda side, client: recorded.setdefault(id(side), []).extend(client.transitions()))
    (theirs, _), (ours, _) = pair
    for side, client in pair:
        assert client.ask("r", b"stop").parts == []
        recorded[id(side)].extend(client.transitions())
    per_node = {}
    for side in (theirs, ours):
        stamps = [t for t, _, _ in recorded[id(side)]]
        assert stamps == sorted(stamps)
        nodes = per_node[id(side)] = {}
        for _, uid, status in recorded[id(side)]:
            nodes.setdefault(uid, []).append(status)
    assert set(per_node[id(ours)]) == set(per_node[id(theirs)])
    for uid, changes in per_node[id(ours)].items():
        theirs_left = iter(per_node[id(theirs)][uid])
        assert all(change in theirs_left for change in changes), (uid, changes, per_node[id(theirs)][uid])


def test_errors_and_requests_without_a_tree_answer_as_btcpp(pair):
    (_, their_client), (_, our_client) = pair
    for parts in ([b"abc"], [struct.pack("<BBI", 2, ord("B"), 7)], [struct.pack("<BBI", 2, ord("Q"), 7)],
                  [struct.pack("<BBI", 2, ord("r"), 7)]):
        assert our_client.raw(parts) == their_client.raw(parts), parts
    for kind in "DAX":
        ours, theirs = our_client.ask(kind), their_client.ask(kind)
        assert ours.error is None and ours.parts == theirs.parts, kind
    # breakpoints: refused by name where BT.CPP would install one
    answer = our_client.ask("I", b'{"uid": 2, "position": 0, "mode": 0, "once": true, "enabled": true, '
                                 b'"desired_status": "SUCCESS"}')
    assert answer.error == "breakpoints are not supported by mission_executive"


def test_a_server_with_no_run_yet_says_so():
    server = groot2.Groot2Server(free_port_pair()).start()
    client = Client(server.port)
    try:
        for kind in "TSB":
            assert client.ask(kind, b"Main" if kind == "B" else None).error == "no mission has run yet"
        assert client.ask("D").parts == [b"[]"]
    finally:
        client.close()
        server.close()


def test_a_taken_port_is_a_clear_error():
    server = groot2.Groot2Server(free_port_pair()).start()
    try:
        with pytest.raises(groot2.Groot2Error, match=f"cannot listen on 127.0.0.1:{server.port}"):
            groot2.Groot2Server(server.port)
        with pytest.raises(groot2.Groot2Error, match="1 to 65534"):
            groot2.Groot2Server(65535)
    finally:
        server.close()


# -- hostile requests ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    ours = Ours(TREE, tmp_path_factory.mktemp("groot2"))
    ours.tick()
    yield ours
    ours.close()


HEADERS = st.builds(lambda protocol, kind, unique_id: struct.pack("<BcI", protocol, kind, unique_id),
                    st.integers(0, 255), st.sampled_from([bytes([c]) for c in b"TSBIRNUDAXrtQ\x00\xff"]),
                    st.integers(0, 2 ** 32 - 1))
PAYLOADS = st.one_of(st.binary(max_size=40), st.sampled_from([b"start", b"stop", b"Main", b"Main;x", b"[]", b"{}",
                                                              b'{"uid": 1}', b"\xff\xfe"]))


@settings(deadline=None)
@given(st.one_of(st.lists(st.binary(max_size=40), max_size=4),
                 st.builds(lambda h, rest: [h, *rest], HEADERS, st.lists(PAYLOADS, max_size=3))))
def test_any_request_gets_an_answer_and_the_server_goes_on(served, parts):
    """Whatever the parts, a reply: the header echoed (protocol 2), or ['error', reason]."""
    reply = served.server.answer(parts)
    assert reply and (reply[0] == b"error" and len(reply) == 2 or len(reply[0]) == 22)
    if reply[0] != b"error":
        assert reply[0][:6] == struct.pack("<B", 2) + parts[0][1:6]


def test_an_oversized_request_is_dropped_and_the_server_goes_on(served):
    hostile = Client(served.port)
    hostile.socket.setsockopt(zmq.RCVTIMEO, 500)
    hostile.socket.send_multipart([b"x" * (groot2.MAX_REQUEST_BYTES + 1)])
    with pytest.raises(zmq.Again):
        hostile.socket.recv_multipart()
    hostile.close()
    client = Client(served.port)
    try:
        assert client.statuses()[0][0] == 1
    finally:
        client.close()


# -- the mapping from our tree to Groot2's uids ------------------------------------------------

def test_uids_name_the_same_behaviours_in_the_xml_and_the_status_buffer(tmp_path):
    """The one order (groot2.nodes_in_order) behind both: the XML's _uid N is the behaviour whose
    status is the buffer's entry N, for a shipped mission with subtrees, retries and parallels."""
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve
    from executive.run import MissionRun

    for name in ("inspection", "multi_robot_patrol", "recovery_demo", "nav2_delivery"):
        mission = resolve(pathlib.Path(__file__).parent.parent / "missions" / f"{name}.yaml", {},
                          check_interfaces=False)
        run = MissionRun(mission, compile_mission(mission))
        try:
            view = groot2.TreeView(run)
            xml, tree_name = view.xml()
            elements = [e for tree in ET.fromstring(xml).findall("BehaviorTree") for top in tree for e in top.iter()]
            assert tree_name == mission.name
            assert [int(e.get("_uid")) for e in elements] == list(range(1, len(view.behaviours) + 1))
            for element, behaviour in zip(elements, view.behaviours):
                assert behaviour is not None and behaviour.name == element.get("name")
                assert behaviour.mission_node.name == element.get("name")
            buffer = view.status_buffer()
            assert [struct.unpack_from("<H", buffer, i)[0] for i in range(0, len(buffer), 3)] == \
                list(range(1, len(elements) + 1))
        finally:
            run.shutdown()


def test_blackboard_values_as_btcpp_json():
    from geometry_msgs.msg import Point

    cache = groot2.BlackboardCache()
    point = Point(x=1.0, y=2.0)
    values = cache.update({"/p": point, "/n": 3, "/l": (1, 2), "/o": object(), "/big": "x" * 70000,
                           "/huge": 10 ** 400, "/deep": {"a": [True, None, {"b": float("inf")}]}})
    assert values == {"p": {"x": 1.0, "y": 2.0, "z": 0.0}, "n": 3, "l": [1, 2], "o": None, "huge": None,
                      "deep": {"a": [True, None, {"b": float("inf")}]},
                      "big": "(a value of 70005 bytes, too large to show)"}
    assert cache.update({"/n": 4}) == {"n": 4}      # removed keys are forgotten


# -- a live executive, a real mission against the sim -------------------------------------------

def test_executive_serves_a_mission_against_the_sim(ros_session, sim, tmp_path):
    from executive.tools.launcher import ExecutiveProcess
    from harness import unique_name
    import scenarios

    port = free_port_pair()
    process = ExecutiveProcess({"log_dir": str(tmp_path), "groot2": True, "groot2_port": port},
                               namespace=unique_name("groot2"))
    client = Client(port)
    try:
        assert client.ask("T").error == "no mission has run yet"
        call = scenarios.send(ros_session, "inspection", [f"robot={sim.namespace}"], process.action_name)
        assert call.accepted()
        deadline = time.monotonic() + 60
        seen = set()
        while time.monotonic() < deadline:
            answer = client.ask("S")
            if answer.error is None:
                seen.update(code for _, code in client.statuses())
                if groot2.RUNNING in seen and len(client.tree()) > 5:
                    break
            time.sleep(0.05)
        tree = client.tree()
        assert tree[0][1:3] == ("Sequence", "inspection")
        assert {"HealthCheck", "Calibrate", "Navigate", "MoveArm"} <= {tag for _, tag, _, _ in tree}
        _, result = call.result(90)
        assert scenarios.OUTCOMES[result.outcome_code] == "succeeded", scenarios.explain(result)
        final = dict(client.statuses())
        assert final[1] == groot2.IDLE_FROM + groot2.SUCCESS       # the root, reset once the tree finished
        assert groot2.RUNNING in seen
        assert list(client.blackboard("inspection;other")) == ["inspection"]
    finally:
        client.close()
        assert process.stop() == 0, process.stderr()


def test_mission_run_option_needs_groot2_for_its_host():
    from executive.tools import cli

    with pytest.raises(SystemExit):
        cli.main(["run", "inspection", "--groot2-host", "0.0.0.0"])


LONG_LOCAL = """name: local_wait
tree:
  sequence:
    name: local_wait
    children:
      - set: {name: mark, key: mark, value: here}
      - wait: {name: linger, seconds: 60}
"""


def test_mission_run_groot2_serves_the_run_and_a_taken_port_is_an_error(tmp_path):
    import signal
    import subprocess

    from executive.tools.launcher import BIN, Lines

    mission = tmp_path / "local_wait.yaml"
    mission.write_text(LONG_LOCAL)
    port = free_port_pair()
    command = [str(BIN / "mission"), "run", str(mission), "--log-dir", str(tmp_path / "logs"), "--groot2"]
    proc = subprocess.Popen(command + [str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = Client(port)
    try:
        assert Lines(proc.stdout).until("groot2: connect to", 60).split()[-3:] == ["127.0.0.1", "port", str(port)]
        deadline = time.monotonic() + DEADLINE
        while dict(client.statuses() if client.ask("S").error is None else []).get(3) != groot2.RUNNING:
            assert time.monotonic() < deadline, "the wait never showed as running"
            time.sleep(0.05)
        assert [tag for _, tag, _, _ in client.tree()] == ["Sequence", "SetBlackboard", "Sleep"]
        assert client.blackboard("local_wait") == {"local_wait": {"mark": "here"}}
        # the same port again: a clear error before anything runs
        taken = subprocess.run(command + [str(port)], capture_output=True, text=True, timeout=60)
        assert taken.returncode != 0 and f"Groot2 cannot listen on 127.0.0.1:{port}" in taken.stderr, taken.stderr
    finally:
        client.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# -- the class: any tree of these built-ins reports as BT.CPP reports it -------------------------

def _trees():
    """BT.CPP XML bodies of trees of Sequence, Fallback, ReactiveSequence, ReactiveFallback,
    Inverter, ForceSuccess, ForceFailure over SetBlackboard (succeeds at once) and Sleep (runs a few
    ticks): nodes both run tick for tick. Not here, since the two run them differently (each side's
    answers are right for its own ticks, but they are different ticks): Repeat and
    RetryUntilSuccessful loop within one tick in BT.CPP and take a tick per round in ours; BT.CPP's
    Parallel stops ticking children once its count is reached, ours ticks all of them first."""
    leaves = st.sampled_from(['<SetBlackboard name="{n}" output_key="{n}" value="x"/>', '<Sleep name="{n}" msec="20"/>'])

    instant = st.sampled_from(['<SetBlackboard name="{n}" output_key="{n}" value="x"/>',
                               '<ForceFailure name="{n}"><SetBlackboard name="{n}" output_key="{n}" value="y"/>'
                               '</ForceFailure>'])

    def extend(children):
        composite = st.builds(lambda tag, kids: f'<{tag} name="{{n}}">' + "".join(kids) + f"</{tag}>",
                              st.sampled_from(["Sequence", "Fallback"]), st.lists(children, min_size=1, max_size=3))
        # a reactive node ticks its earlier children again every tick: those end at once (conditions)
        reactive = st.builds(lambda tag, kids, last: f'<{tag} name="{{n}}">' + "".join(kids) + last + f"</{tag}>",
                             st.sampled_from(["ReactiveSequence", "ReactiveFallback"]),
                             st.lists(instant, max_size=2), children)
        decorator = st.builds(lambda tag, kid: f'<{tag} name="{{n}}">{kid}</{tag.split()[0]}>',
                              st.sampled_from(["Inverter", "ForceSuccess", "ForceFailure"]), children)
        return composite | reactive | decorator
    return st.recursive(leaves, extend, max_leaves=8)


def _named(body: str) -> str:
    parts = body.split("{n}")
    named = "".join(part + (f"n{i}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))
    return f'<root BTCPP_format="4" main_tree_to_execute="Main"><BehaviorTree ID="Main">{named}</BehaviorTree></root>'


@settings(deadline=None)
@given(_trees())
def test_any_tree_of_these_builtins_reports_its_statuses_as_btcpp(tmp_path_factory, body):
    xml = _named(body)
    theirs, ours = Theirs(xml), Ours(xml, tmp_path_factory.mktemp("tree"))
    pair = ((theirs, Client(theirs.port)), (ours, Client(ours.port)))
    try:
        seen = {id(side): [client.statuses()] for side, client in pair}
        run_both(pair, lambda side, client: seen[id(side)].append(client.statuses()))
        assert distinct(seen[id(ours)]) == distinct(seen[id(theirs)]), xml
        assert pair[1][1].tree() == pair[0][1].tree()
    finally:
        for _, client in pair:
            client.close()
        theirs.close()
        ours.close()
