"""What the executive shows of its tree: a compact TreeSnapshot message on ``~/tree_snapshots``
after every tick that changed a status or feedback message, and - where py_trees_ros is
installed - py_trees_ros's own snapshot streams, so py-trees-tree-viewer and py-trees-tree-watcher
work unchanged.

The executive keeps one long-lived tree whose root (named after the node) holds the current
mission; py_trees_ros's tree can only be set up once per node, and replacing its root's child is
what it publishes as a tree change.
"""
import py_trees
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from executive.run import kind_of
from mission_interfaces.msg import BehaviorState, TreeSnapshot

STATUS_CODES = {"INVALID": BehaviorState.INVALID, "RUNNING": BehaviorState.RUNNING, "SUCCESS": BehaviorState.SUCCESS,
                "FAILURE": BehaviorState.FAILURE, "HALTED": BehaviorState.HALTED, "SKIPPED": BehaviorState.SKIPPED}
# Latched: a viewer that starts late still gets the last snapshot.
SNAPSHOT_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL)


def tree_class():
    """py_trees_ros's BehaviourTree when installed (snapshot streams for its viewers), else py_trees'."""
    try:
        import py_trees_ros.trees
    except ImportError:
        return py_trees.trees.BehaviourTree
    return py_trees_ros.trees.BehaviourTree


def make_tree(name: str):
    """The executive's long-lived tree: an empty root named ``name`` to hold one mission at a time."""
    root = py_trees.composites.Sequence(name, memory=True, children=[])
    return tree_class()(root)


def uses_py_trees_ros(tree) -> bool:
    return type(tree).__module__.startswith("py_trees_ros")


def publish_idle_streams(tree) -> None:
    """Publish py_trees_ros's snapshot streams of ``tree`` without ticking it (the executive is idle).

    py_trees_ros publishes a stream only after a tick, and the executive ticks only while a mission
    runs; so a ``py-trees-tree-watcher`` started while it is idle would show nothing. A stream's
    first message always goes out (py_trees_ros's ``SnapshotStream.publish`` counts it as a change);
    later ones only when the stream's ``snapshot_period`` has passed, as after a tick. Ticking
    instead would start the finished mission's tree again, which the root still holds for viewers."""
    for stream in list(tree.snapshot_streams.values()):
        stream.publish(root=tree.root, changed=False, statistics=tree.statistics,
                       visited_behaviour_ids=tree.snapshot_visitor.visited.keys(),
                       visited_blackboard_client_ids=tree.snapshot_visitor.visited_blackboard_client_ids)


class RunObserver(py_trees.visitors.VisitorBase):
    """A tree visitor that shows the current run each behaviour as it is ticked (py_trees_ros's
    tree ticks through visitors; see :meth:`executive.run.MissionRun.observe`)."""

    def __init__(self):
        super().__init__(full=False)
        self.run_ = None

    def initialise(self):
        if self.run_ is not None:
            self.run_.begin_tick()

    def run(self, behaviour):
        if self.run_ is not None:
            self.run_.observe(behaviour)


def idle(stamp) -> TreeSnapshot:
    """The snapshot of an executive that has not run a mission yet (latched until one starts)."""
    return TreeSnapshot(stamp=stamp, state="idle")


def message(run, stamp, mission_name: str = "") -> TreeSnapshot:
    """The run's tree as a TreeSnapshot (pre-order, parents by index), with each behaviour's shown
    status (executive/run.py), failure reason and root-cause mark."""
    msg = TreeSnapshot(stamp=stamp, mission=mission_name or run.mission.name, run_id=run.run_id,
                       state=run.state, outcome=run.result.outcome if run.result else "",
                       tick=run.ticks, paused=run.paused)
    index = {}
    for behaviour in run.behaviours:
        index[behaviour.id] = len(index)
        parent = behaviour.parent.id if behaviour.parent is not None and behaviour is not run.root else None
        failure = getattr(behaviour, "failure", None)
        msg.behaviors.append(BehaviorState(
            id=index[behaviour.id], parent=index.get(parent, -1), name=behaviour.name, kind=kind_of(behaviour),
            status=STATUS_CODES[run.shown_status(behaviour)], feedback=behaviour.feedback_message or "",
            failure_reason=failure.reason if failure is not None and run.shown_status(behaviour) == "FAILURE" else "",
            root_cause=run.root_cause == run.paths[behaviour.id]))
    return msg

