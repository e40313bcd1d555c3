"""Stand-ins for Nav2 (``mission-sim --nav2``): every action and service nav2_simple_commander's
BasicNavigator calls (Nav2 Kilted), on nodes named as Nav2's, in the robot's namespace.

=====================  =============================================================  ====================
node                   serves                                                         module
=====================  =============================================================  ====================
bt_navigator           navigate_to_pose, navigate_through_poses                       navigators
waypoint_follower      follow_waypoints, follow_gps_waypoints                         navigators
planner_server         compute_path_to_pose, compute_path_through_poses               planning
smoother_server        smooth_path                                                    planning
controller_server      follow_path                                                    planning
route_server           compute_route, compute_and_track_route                         routes
behavior_server        spin, backup, drive_on_heading, assisted_teleop, wait          behaviors
docking_server         dock_robot, undock_robot                                       docking
map_server             map_server/load_map, map_server/map, map (topic)               maps
global_costmap,        global_costmap/get_costmap, .../clear_entirely_global_costmap, maps
local_costmap          ..., local_costmap/clear_costmap_around_robot, ...
amcl                   initialpose -> amcl_pose                                       localization
lifecycle_manager_*    <manager>/manage_nodes, <manager>/is_active                    manager
=====================  =============================================================  ====================

Each lifecycle node answers ``~/get_state`` and ``~/change_state`` (lifecycle.py). The servers that
move the robot share the sim's one base (sim/navigation.py): a goal on any of them preempts the
one driving it. Every server has the sim's fault knobs under its own name on ``robot_sim``
(``spin.abort_after``, ``global_costmap.get_costmap.response_delay``; sim/faults.py). Settings are
the ``nav2:`` section of the sim's configuration.

Only the modules that build servers import nav2_msgs (not on PyPI): ``motion`` and
``lifecycle`` work without it.
"""
from rclpy.node import Node

from sim.nav2.lifecycle import MANAGERS, Lifecycle, StandInNode
from sim.nav2.localization import AMCL_POSE_QOS
from sim.nav2.motion import GridGraph

__all__ = ["AMCL_POSE_QOS", "Nav2Stack"]   # AMCL_POSE_QOS: what amcl_pose is published with

# stand-in nodes that are not managed directly: their lifecycle follows their server's (Nav2's
# costmaps are lifecycle nodes of the planner and controller servers)
COSTMAPS = {"global_costmap": "planner_server", "local_costmap": "controller_server"}


class Nav2Stack:
    """Every Nav2 stand-in of one robot. ``node``: the sim's node (``robot_sim``), which holds the
    fault knobs; ``base``: the sim's MobileBase; ``config``: the whole sim configuration."""

    def __init__(self, node, config, base, clock, faults_for):
        from sim.nav2.behaviors import make_behaviors
        from sim.nav2.docking import Docks, make_docking
        from sim.nav2.localization import Localizer
        from sim.nav2.manager import Manager
        from sim.nav2.maps import Maps
        from sim.nav2.navigators import make_navigators
        from sim.nav2.planning import make_planning
        from sim.nav2.routes import make_routes

        self.config = config["nav2"]
        self.base, self.clock, self.faults_for = base, clock, faults_for
        namespace = node.get_namespace()
        self.namespace = "" if namespace == "/" else namespace
        self.lifecycle = Lifecycle(MANAGERS, bool(self.config["autostart"]))
        # Global arguments (remaps meant for robot_sim) are kept off these nodes.
        own = {"use_global_arguments": False}
        self.nodes = {name: StandInNode(name, self.namespace, self.lifecycle, **own)
                      for name in self.lifecycle.states}
        for costmap, server in COSTMAPS.items():
            self.nodes[costmap] = StandInNode(costmap, f"{self.namespace}/{costmap}", self.lifecycle, follows=server,
                                              **own)
        for manager in MANAGERS:
            self.nodes[manager] = Node(manager, namespace=self.namespace or None, **own)
        self.docks = Docks(self.config)
        self.graph = GridGraph(base.bounds, float(self.config["route_spacing"]))
        self.localizer = Localizer(self.nodes["amcl"], base)
        self.maps = Maps(self)
        self.managers = [Manager(self, name) for name in MANAGERS]
        self.action_servers = [*make_navigators(self), *make_planning(self), *make_routes(self),
                               *make_behaviors(self), *make_docking(self)]

    def status(self) -> dict:
        """The services' counts and lifecycle states, for sim_status."""
        return {"services": self.maps.status(), "lifecycle": dict(self.lifecycle.states)}
