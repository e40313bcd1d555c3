"""Lifecycle states of the Nav2 stand-ins, and the nodes that answer for them.

:class:`Lifecycle` is the state machine alone (no ROS): each node is ``unconfigured``,
``inactive``, ``active`` or ``finalized`` (lifecycle_msgs/msg/State labels), and changes by
the managed-node transitions of lifecycle_msgs/msg/Transition. Nav2's lifecycle managers run
commands (nav2_msgs/srv/ManageLifecycleNodes) as sequences of transitions over the nodes they
manage, as nav2_lifecycle_manager does:

=========  =====================================  =======================================
command    transitions, in order, on every node   ends
=========  =====================================  =======================================
STARTUP    configure, activate                    active
CONFIGURE  configure                              inactive
PAUSE      deactivate                             inactive
RESUME     activate                               active
CLEANUP    cleanup                                unconfigured
RESET      deactivate, cleanup                    unconfigured
SHUTDOWN   deactivate, cleanup, shutdown          finalized (for good, as in Nav2: relaunch)
=========  =====================================  =======================================

A node already in a transition's end state is left as it is (so STARTUP of an active system
succeeds); a transition from any other state fails the command, which stops there. A node's own
``change_state`` is strict: only from the transition's start state.

:class:`StandInNode` is one Nav2 node: a real rclpy node with Nav2's name in the robot's
namespace, serving ``~/get_state`` and ``~/change_state`` (lifecycle_msgs), so ``ros2 lifecycle
get|set`` work on it, and hosting the Nav2 servers that node has on a robot.
"""
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.node import Node

UNCONFIGURED, INACTIVE, ACTIVE, FINALIZED = "unconfigured", "inactive", "active", "finalized"
STATE_IDS = {UNCONFIGURED: State.PRIMARY_STATE_UNCONFIGURED, INACTIVE: State.PRIMARY_STATE_INACTIVE,
             ACTIVE: State.PRIMARY_STATE_ACTIVE, FINALIZED: State.PRIMARY_STATE_FINALIZED}

# transition name -> (states it starts from, state it ends in)
TRANSITIONS = {
    "configure": ((UNCONFIGURED,), INACTIVE),
    "cleanup": ((INACTIVE,), UNCONFIGURED),
    "activate": ((INACTIVE,), ACTIVE),
    "deactivate": ((ACTIVE,), INACTIVE),
    "shutdown": ((UNCONFIGURED, INACTIVE, ACTIVE), FINALIZED),
}
TRANSITION_IDS = {
    Transition.TRANSITION_CONFIGURE: "configure", Transition.TRANSITION_CLEANUP: "cleanup",
    Transition.TRANSITION_ACTIVATE: "activate", Transition.TRANSITION_DEACTIVATE: "deactivate",
    Transition.TRANSITION_UNCONFIGURED_SHUTDOWN: "shutdown", Transition.TRANSITION_INACTIVE_SHUTDOWN: "shutdown",
    Transition.TRANSITION_ACTIVE_SHUTDOWN: "shutdown",
}
# nav2_msgs/srv/ManageLifecycleNodes commands, by their constants' values
COMMANDS = {
    0: ("STARTUP", ("configure", "activate")),
    1: ("PAUSE", ("deactivate",)),
    2: ("RESUME", ("activate",)),
    3: ("RESET", ("deactivate", "cleanup")),
    4: ("SHUTDOWN", ("deactivate", "cleanup", "shutdown")),
    5: ("CONFIGURE", ("configure",)),
    6: ("CLEANUP", ("cleanup",)),
}

# Nav2's two lifecycle managers and the nodes each brings up (nav2_bringup's launch files; the
# velocity smoother and collision monitor, which serve nothing BasicNavigator calls, are left out).
MANAGERS = {
    "lifecycle_manager_localization": ("map_server", "amcl"),
    "lifecycle_manager_navigation": ("controller_server", "smoother_server", "planner_server", "route_server",
                                     "behavior_server", "bt_navigator", "waypoint_follower", "docking_server"),
}


class Lifecycle:
    """The lifecycle state of each managed node; every node starts ``active`` with ``autostart``
    (nav2_bringup's default), else ``unconfigured``."""

    def __init__(self, managers=MANAGERS, autostart: bool = True):
        self.managers = {name: tuple(nodes) for name, nodes in managers.items()}
        self.states = {node: ACTIVE if autostart else UNCONFIGURED for nodes in self.managers.values() for node in nodes}

    def state(self, node: str) -> str:
        return self.states[node]

    def transition(self, node: str, name: str, strict: bool = False) -> str:
        """Apply transition ``name`` to ``node``: why it cannot, or ``""``. A node already in the
        transition's end state is left so, which succeeds unless ``strict`` (a change_state call,
        which rclcpp's lifecycle refuses from any state but the transition's start)."""
        sources, end = TRANSITIONS[name]
        state = self.states[node]
        if state == end and not strict:
            return ""
        if state not in sources:
            return f"{node}: cannot {name} from {state}"
        self.states[node] = end
        return ""

    def command(self, manager: str, command: int) -> str:
        """Run a ManageLifecycleNodes ``command`` over ``manager``'s nodes: why it failed, or ``""``."""
        if command not in COMMANDS:
            return f"unknown command {command}"
        for name in COMMANDS[command][1]:
            for node in self.managers[manager]:
                reason = self.transition(node, name)
                if reason:
                    return reason
        return ""

    def all_active(self, manager: str) -> bool:
        return all(self.states[node] == ACTIVE for node in self.managers[manager])


class StandInNode(Node):
    """A Nav2 node's stand-in: lifecycle ``get_state``/``change_state`` from ``lifecycle``. A node
    the managers do not manage (a costmap) ``follows`` another's state and has no change_state."""

    def __init__(self, name: str, namespace: str, lifecycle: Lifecycle, follows: str = None, **kwargs):
        super().__init__(name, namespace=namespace or None, **kwargs)
        self.lifecycle = lifecycle
        self.managed_as = follows or name
        self.create_service(GetState, "~/get_state", self._get_state)
        if follows is None:
            self.create_service(ChangeState, "~/change_state", self._change_state)

    @property
    def state(self) -> str:
        return self.lifecycle.state(self.managed_as)

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    def _get_state(self, request, response):
        response.current_state = State(id=STATE_IDS[self.state], label=self.state)
        return response

    def _change_state(self, request, response):
        name = TRANSITION_IDS.get(request.transition.id)
        if name is None and request.transition.label in TRANSITIONS:
            name = request.transition.label
        reason = f"unknown transition {request.transition.id}" if name is None else \
            self.lifecycle.transition(self.managed_as, name, strict=True)
        if reason:
            self.get_logger().warning(reason)
        response.success = not reason
        return response
