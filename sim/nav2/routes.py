"""Nav2's route server (node ``route_server``): ``compute_route`` and ``compute_and_track_route``.

The graph is a grid over the map bounds, a node every ``nav2.route_spacing`` metres joined to its
four neighbours (ids count from 0 row by row from the lower-left corner, x fastest). A route runs
from the node nearest the start (the base's pose unless ``use_start``) to the node nearest the
goal, or between ``start_id`` and ``goal_id`` (``use_poses: false``); its cost is its length. The
dense ``path`` joins the start pose, the route's nodes and the goal pose with straight lines, a
pose every ``nav2.path_resolution`` m.

``compute_route`` answers at once. ``compute_and_track_route`` does not drive: it follows the base
(driven by ``follow_path`` with the route's path, as the route server's users do) and reports
``last_node_id``, ``next_node_id`` and ``current_edge_id`` as it passes nodes (within
``nav2.route_node_radius``); its first feedback carries the route with ``rerouted: true``. It
succeeds once the base reaches the goal. Failures: a frame other than the map's (``TF_ERROR``),
an id not on the graph or a pose off the map (``INDETERMINANT_NODES_ON_GRAPH``).
"""
import math

from geometry_msgs.msg import Point
from nav2_msgs.action import ComputeAndTrackRoute, ComputeRoute
from nav2_msgs.msg import Route, RouteEdge, RouteNode

from sim.navigation import to_duration, yaw_of
from sim.nav2.motion import Model, sample_path
from sim.nav2.planning import Instant, to_path
from sim.nav2.server import GoalFailed, Nav2ActionServer, Nav2Motion


class RouteMotion(Nav2Motion):
    """Computes the route at the start of the goal."""

    def __init__(self, server, goal):
        super().__init__(server, goal)
        base, graph = server.base, server.stack.graph
        if goal.use_poses:
            start = self.point(goal.start, "start") if goal.use_start else (base.state.x, base.state.y)
            end = self.point(goal.goal, "goal")
            start_id, goal_id = graph.nearest(*start), graph.nearest(*end)
            final_yaw = yaw_of(goal.goal.pose.orientation)
        else:
            for what, node in (("start_id", goal.start_id), ("goal_id", goal.goal_id)):
                if node not in graph.nodes:
                    raise GoalFailed("INDETERMINANT_NODES_ON_GRAPH", f"{what} {node} is not a node of the graph")
            start_id, goal_id = goal.start_id, goal.goal_id
            start, end, final_yaw = graph.nodes[start_id], graph.nodes[goal_id], None
        found = graph.route(start_id, goal_id)
        if found is None:
            raise GoalFailed("NO_VALID_ROUTE", f"no route from node {start_id} to node {goal_id}")
        self.node_ids, self.edge_ids, cost = found
        points = [start] + [graph.nodes[n] for n in self.node_ids] + [end]
        stamp = base.stamp()
        self.path = to_path(base.frame, sample_path(points, float(server.stack.config["path_resolution"]), final_yaw),
                            stamp)
        self.route = Route(route_cost=float(cost))
        self.route.header.frame_id, self.route.header.stamp = base.frame, stamp
        self.route.nodes = [RouteNode(nodeid=n, position=Point(x=graph.nodes[n][0], y=graph.nodes[n][1]))
                            for n in self.node_ids]
        self.route.edges = [RouteEdge(edgeid=e, start=Point(x=graph.nodes[graph.edges[e][0]][0],
                                                            y=graph.nodes[graph.edges[e][0]][1]),
                                      end=Point(x=graph.nodes[graph.edges[e][1]][0], y=graph.nodes[graph.edges[e][1]][1]))
                            for e in self.edge_ids]
        self.goal_point = end
        self.model = Instant()

    def point(self, pose, what):
        base = self.server.base
        reason = base.check_frame(pose.header.frame_id)
        if reason:
            raise GoalFailed("TF_ERROR", f"{what} {reason}")
        reason = base.check_point(pose.pose.position.x, pose.pose.position.y)
        if reason:
            raise GoalFailed("INDETERMINANT_NODES_ON_GRAPH", f"{what} {reason}")
        return pose.pose.position.x, pose.pose.position.y

    def fill_result(self, result, outcome):
        if outcome == "succeeded":
            result.route, result.path = self.route, self.path
        return result


class Tracker(Model):
    """Follows the base along ``nodes`` [(x, y)]: ``passed`` counts the nodes reached (within
    ``radius``); done once every node is passed and the base is within ``radius`` of ``goal``."""

    def __init__(self, base, nodes, goal, radius: float):
        self.base, self.nodes, self.goal, self.radius = base, nodes, goal, radius
        self.passed = 0

    def near(self, point) -> bool:
        return math.hypot(self.base.x - point[0], self.base.y - point[1]) <= self.radius

    def step(self, dt):
        while self.passed < len(self.nodes) and self.near(self.nodes[self.passed]):
            self.passed += 1
        return self.passed == len(self.nodes) and self.near(self.goal)


class TrackRouteMotion(RouteMotion):
    def __init__(self, server, goal):
        super().__init__(server, goal)
        graph = server.stack.graph
        self.model = Tracker(server.base.state, [graph.nodes[n] for n in self.node_ids], self.goal_point,
                             float(server.stack.config["route_node_radius"]))
        self.sent_route = False

    def fill_feedback(self, feedback):
        passed, ids = self.model.passed, self.node_ids
        feedback.last_node_id = ids[passed - 1] if passed > 0 else ids[0]
        feedback.next_node_id = ids[min(passed, len(ids) - 1)]
        feedback.current_edge_id = self.edge_ids[min(max(passed - 1, 0), len(self.edge_ids) - 1)] if self.edge_ids else 0
        feedback.route, feedback.path = self.route, self.path
        feedback.rerouted = not self.sent_route
        self.sent_route = True
        return feedback

    def fill_result(self, result, outcome):
        result.execution_duration = to_duration(self.elapsed)
        return result


def make_routes(stack):
    return [
        Nav2ActionServer(stack, "route_server", ComputeRoute, "compute_route", RouteMotion),
        Nav2ActionServer(stack, "route_server", ComputeAndTrackRoute, "compute_and_track_route", TrackRouteMotion),
    ]
