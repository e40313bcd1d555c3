"""Topic leaves (issue #18, part 2) over real DDS: subscribe with QoS and staleness, wait for a
message until a check holds, publish once or at a rate; and what validation says of them."""
import time

import py_trees
import pytest
from py_trees.common import Status
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import BatteryState
from std_msgs.msg import String

from executive.language.compiler import compile_mission
from executive.language.errors import MissionInvalid
from executive.language.resolve import resolve
from harness import run_tree, unique_name

BATTERY = "sensor_msgs/msg/BatteryState"


@pytest.fixture(autouse=True)
def clean_blackboard():
    py_trees.blackboard.Blackboard.clear()
    yield
    py_trees.blackboard.Blackboard.clear()


def mission(tmp_path, tree: str, extra: str = ""):
    path = tmp_path / "m.yaml"
    path.write_text(f"name: m\n{extra}tree:\n{tree}")
    return resolve(path)


def tree_of(tmp_path, tree, extra=""):
    return compile_mission(mission(tmp_path, tree, extra))


def battery(percentage):
    return BatteryState(percentage=float(percentage), present=True)


def tick_until(ros, root, predicate, timeout=15.0):
    """Tick ``root`` (set up on the session's node) until ``predicate()``; TimeoutError past ``timeout``."""
    if root not in ros.trees:
        py_trees.trees.setup(root, timeout=15.0, node=ros.node)
        ros.trees.append(root)
    deadline = time.monotonic() + timeout
    while True:
        root.tick_once()
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached within {timeout} s: {root.status} {root.feedback_message}")
        ros.executor.spin_once(timeout_sec=0.05)


def get(key):
    return py_trees.blackboard.Blackboard.get(key)


@pytest.mark.parametrize("qos, publisher_qos", [
    ("sensor_data", qos_profile_sensor_data),         # best effort, as sensor drivers publish
    ("transient_local", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                   durability=DurabilityPolicy.TRANSIENT_LOCAL)),   # latched, sent before
])
def test_subscribe_keeps_the_latest_message_with_its_qos(ros, tmp_path, qos, publisher_qos):
    topic = unique_name("battery_")
    publisher = ros.node.create_publisher(BatteryState, topic, publisher_qos)
    try:
        if qos == "transient_local":
            publisher.publish(battery(0.75))       # before the leaf exists: kept for late subscribers
        root = tree_of(tmp_path, f"  subscribe: {{topic: /{topic}, type: {BATTERY}, key: battery, qos: {qos}}}\n")
        if qos == "transient_local":
            assert run_tree(ros, root, timeout=15.0) == Status.SUCCESS
            assert get("/battery")["data"].percentage == pytest.approx(0.75)
        else:
            def published():
                publisher.publish(battery(0.5))
                return root.status == Status.SUCCESS
            tick_until(ros, root, published)
        record = get("/battery")
        assert record["fresh"] is True and record["count"] >= 1 and record["age"] >= 0.0
        # later messages replace the data; the leaf stays SUCCESS
        tick_until(ros, root, lambda: publisher.publish(battery(0.25)) or
                   get("/battery")["data"].percentage == pytest.approx(0.25))
        assert root.status == Status.SUCCESS
    finally:
        ros.node.destroy_publisher(publisher)


def test_subscribe_marks_data_stale_and_fresh_again(ros, tmp_path):
    topic = unique_name("battery_")
    publisher = ros.node.create_publisher(BatteryState, topic, 10)
    try:
        root = tree_of(tmp_path, f"  subscribe: {{topic: /{topic}, type: {BATTERY}, key: level, field: percentage, "
                                 "stale_after: 0.3}\n")
        tick_until(ros, root, lambda: publisher.publish(battery(0.5)) or root.status == Status.SUCCESS)
        assert get("/level")["data"] == pytest.approx(0.5) and get("/level")["fresh"] is True
        tick_until(ros, root, lambda: get("/level")["fresh"] is False)      # no more messages
        assert get("/level")["age"] > 0.3 and root.status == Status.SUCCESS
        assert "stale" in root.feedback_message
        tick_until(ros, root, lambda: publisher.publish(battery(0.4)) or get("/level")["fresh"] is True)
        assert get("/level")["data"] == pytest.approx(0.4)
    finally:
        ros.node.destroy_publisher(publisher)


def test_a_reactive_guard_on_a_subscription_halts_the_work_when_data_goes_bad(ros, tmp_path):
    """The safe reactive pattern: the subscription keeps the data fresh, the condition checks it on
    every tick, and the work after them stops as soon as it fails."""
    topic = unique_name("battery_")
    publisher = ros.node.create_publisher(BatteryState, topic, 10)
    try:
        root = tree_of(tmp_path, f"""\
  sequence:
    memory: false
    children:
      - subscribe: {{topic: /{topic}, type: {BATTERY}, key: battery}}
      - condition: {{name: charged, check: "battery.data.percentage >= 0.3"}}
      - wait: {{name: work, seconds: 60}}
""")
        tick_until(ros, root, lambda: publisher.publish(battery(0.9)) or root.tip().name == "work")
        tick_until(ros, root, lambda: publisher.publish(battery(0.1)) or root.status == Status.FAILURE)
        charged = next(b for b in root.iterate() if b.name == "charged")
        assert charged.failure.reason == "condition" and "0.1" in charged.failure.message
        assert next(b for b in root.iterate() if b.name == "work").status == Status.INVALID
    finally:
        ros.node.destroy_publisher(publisher)


def test_wait_for_message_until_a_check_holds(ros, tmp_path):
    topic = unique_name("battery_")
    publisher = ros.node.create_publisher(BatteryState, topic, 10)
    try:
        root = tree_of(tmp_path, f"  wait_for_message: {{topic: /{topic}, type: {BATTERY}, "
                                 "check: 'percentage > 0.5', key: charged, timeout: 60}\n")
        levels = iter([0.1, 0.2, 0.9, 0.95])
        tick_until(ros, root, lambda: publisher.publish(battery(next(levels, 0.95))) or root.status != Status.RUNNING)
        assert root.status == Status.SUCCESS
        assert get("/charged").percentage == pytest.approx(0.9)
    finally:
        ros.node.destroy_publisher(publisher)


def test_wait_for_message_times_out(ros, tmp_path):
    topic = unique_name("battery_")
    publisher = ros.node.create_publisher(BatteryState, topic, 10)
    try:
        root = tree_of(tmp_path, f"  wait_for_message: {{topic: /{topic}, type: {BATTERY}, "
                                 "check: 'percentage > 0.5', timeout: 0.5}\n")
        tick_until(ros, root, lambda: publisher.publish(battery(0.1)) or root.status != Status.RUNNING)
        assert root.status == Status.FAILURE and root.failure.reason == "timeout"
        assert root.failure.message == f"no message on /{topic} where percentage > 0.5 within 0.5 s"
    finally:
        ros.node.destroy_publisher(publisher)


def test_publish_once_and_at_a_rate(ros, tmp_path):
    topic = unique_name("chatter_")
    received = []
    subscription = ros.node.create_subscription(String, topic, received.append, 10)
    try:
        root = tree_of(tmp_path, f"  publish: {{topic: /{topic}, type: std_msgs/msg/String, message: {{data: {{bb: said}}}}}}\n",
                       "blackboard: {said: hello}\n")
        py_trees.blackboard.Blackboard.set("/said", "hello")
        py_trees.trees.setup(root, timeout=15.0, node=ros.node)
        ros.trees.append(root)
        ros.spin_until(lambda: ros.node.count_subscribers(f"/{topic}") >= 1, 10.0, "the test's subscription")
        root.tick_once()
        assert root.status == Status.SUCCESS
        ros.spin_until(lambda: len(received) == 1, 10.0, "the message")
        assert received[0].data == "hello"
        ros.shutdown_trees()

        received.clear()
        root = tree_of(tmp_path, f"  publish: {{topic: /{topic}, type: std_msgs/msg/String, message: {{data: tick}}, "
                                 "rate: 20}\n")
        tick_until(ros, root, lambda: len(received) >= 5)
        assert root.status == Status.RUNNING and {m.data for m in received} == {"tick"}
        root.stop(Status.INVALID)
        count = len(received)
        ros.spin_until(lambda: True, 1.0)
        for _ in range(5):
            ros.executor.spin_once(timeout_sec=0.05)
        assert len(received) <= count + 1      # at most one in flight when it stopped
    finally:
        ros.node.destroy_subscription(subscription)


@pytest.mark.parametrize("tree, message, column", [
    ("  subscribe: {topic: battery_state, type: sensor_msgs/msg/Battery, key: b}\n",
     "package 'sensor_msgs' has no msg named 'Battery'", 43),
    ("  subscribe: {topic: battery_state, type: sensor_msgs/msg/BatteryState, key: b, field: level}\n",
     "BatteryState has no field 'level'", 88),
    ("  subscribe: {topic: 'battery state', type: sensor_msgs/msg/BatteryState, key: b}\n",
     "'battery state' is not a ROS name", 22),
    ("  subscribe: {topic: b, type: sensor_msgs/msg/BatteryState, key: b, qos: fast}\n",
     "expected a QoS preset (default, sensor_data, transient_local) or {reliability, durability, depth}", 74),
    ("  wait_for_message: {topic: b, type: sensor_msgs/msg/BatteryState, check: 'level > 1'}\n",
     "'level' is not a field of BatteryState", 76),
    ("  publish: {topic: b, type: std_msgs/msg/String, message: {text: hi}}\n",
     "String has no field 'text'", 60),
    ("  publish: {topic: b, type: std_msgs/msg/String, rate: 0}\n", "must be greater than 0", 56),
])
def test_topic_leaves_are_checked_before_they_run(tmp_path, tree, message, column):
    with pytest.raises(MissionInvalid) as info:
        mission(tmp_path, tree)
    errors = info.value.errors
    assert len(errors) == 1 and message in errors[0].message, errors
    assert (errors[0].line, errors[0].column) == (3, column), errors
