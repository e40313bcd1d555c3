"""What the executive shows of its tree: a compact TreeSnapshot message on ``~/tree_snapshots``
after every tick that changed a status or feedback message, and - where py_trees_ros is
installed - py_trees_ros's own snapshot streams, so py-trees-tree-viewer and py-trees-tree-watcher
work unchanged.

The executive keeps one long-lived tree whose root (named after the node) holds the current
mission; py_trees_ros's tree can only be set up once per node, and replacing its root's child is
what it publishes as a tree change.
"""
import py_trees
from py_trees.common import Status
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from executive.run import kind_of
from mission_interfaces.msg import BehaviorState, TreeSnapshot

STATUS_CODES = {Status.INVALID: BehaviorState.INVALID, Status.RUNNING: BehaviorState.RUNNING,
                Status.SUCCESS: BehaviorState.SUCCESS, Status.FAILURE: BehaviorState.FAILURE}
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


def message(run, stamp, mission_name: str = "") -> TreeSnapshot:
    """The run's tree as a TreeSnapshot (pre-order, parents by index)."""
    msg = TreeSnapshot(stamp=stamp, mission=mission_name or run.mission.name, run_id=run.run_id,
                       state=run.state, outcome=run.result.outcome if run.result else "",
                       tick=run.ticks, paused=run.paused)
    index = {}
    for behaviour in run.behaviours:
        index[behaviour.id] = len(index)
        parent = behaviour.parent.id if behaviour.parent is not None and behaviour is not run.root else None
        msg.behaviors.append(BehaviorState(
            id=index[behaviour.id], parent=index.get(parent, -1), name=behaviour.name, kind=kind_of(behaviour),
            status=STATUS_CODES[behaviour.status], feedback=behaviour.feedback_message or ""))
    return msg

