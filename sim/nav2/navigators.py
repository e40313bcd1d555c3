"""Nav2's navigators: ``navigate_to_pose``, ``navigate_through_poses`` (node ``bt_navigator``),
``follow_waypoints`` and ``follow_gps_waypoints`` (node ``waypoint_follower``). All drive the base.

=========================  ==============================================================================
server                     simulated as
=========================  ==============================================================================
navigate_to_pose           straight line to the goal at ``navigation.speed``, then the goal's yaw
navigate_through_poses     straight lines through the poses in turn; the last pose's yaw
follow_waypoints           to each waypoint in turn (a straight line, then its yaw), pausing
                           ``nav2.waypoint_pause`` s at each; ``goal_index`` and ``number_of_loops`` as Nav2
follow_gps_waypoints       the same, with each GeoPose put on the map plane at ``nav2.gps_origin``
=========================  ==============================================================================

Failures, as Nav2 reports them: a pose in another frame than the map's ends the goal with
``TF_ERROR``; a pose outside the map with the planner's ``GOAL_OUTSIDE_MAP`` (204, or 304 through
poses); a ``behavior_tree`` that is not a file with ``FAILED_TO_LOAD_BEHAVIOR_TREE``. The waypoint
followers skip a waypoint they cannot reach and list it in ``missed_waypoints`` (or end with
``STOP_ON_MISSED_WAYPOINT`` when ``nav2.stop_on_failure``).
"""
import os

from nav2_msgs.action import (ComputePathThroughPoses, ComputePathToPose, FollowGPSWaypoints, FollowWaypoints,
                              NavigateThroughPoses, NavigateToPose)
from nav2_msgs.msg import WaypointStatus

from sim.navigation import PathFollower, navigation_feedback, pose_stamped, yaw_of
from sim.nav2.motion import Waypoints, gps_to_map
from sim.nav2.server import GoalFailed, Nav2ActionServer, Nav2Motion


def check_behavior_tree(path: str):
    if path and not os.path.isfile(path):
        raise GoalFailed("FAILED_TO_LOAD_BEHAVIOR_TREE", f"behavior tree {path!r} is not a file")


def check_goal_pose(base, pose, outside_code: int, what: str = "goal"):
    if base.check_frame(pose.header.frame_id):
        raise GoalFailed("TF_ERROR", f"failed to transform a {what} pose provided with frame_id "
                                     f"{pose.header.frame_id!r} to the global frame {base.frame!r}")
    reason = base.check_point(pose.pose.position.x, pose.pose.position.y)
    if reason:
        raise GoalFailed(outside_code, f"{what} {reason}")


class NavigateMotion(Nav2Motion):
    """NavigateToPose / NavigateThroughPoses: a PathFollower through the goal's poses."""

    def __init__(self, server, goal, poses, outside_code):
        super().__init__(server, goal)
        check_behavior_tree(goal.behavior_tree)
        for i, pose in enumerate(poses):
            check_goal_pose(server.base, pose, outside_code, "goal" if len(poses) == 1 else f"pose {i}")
        self.poses = poses
        self.model = PathFollower(server.base.state, [(p.pose.position.x, p.pose.position.y) for p in poses],
                                  server.base.speed, yaw_of(poses[-1].pose.orientation) if poses else None)

    def fill_feedback(self, feedback):
        return navigation_feedback(feedback, self.server.base, self.model)


class NavigateToPoseMotion(NavigateMotion):
    def __init__(self, server, goal):
        super().__init__(server, goal, [goal.pose], ComputePathToPose.Result.GOAL_OUTSIDE_MAP)


class NavigateThroughPosesMotion(NavigateMotion):
    def __init__(self, server, goal):
        if not goal.poses.goals:
            raise GoalFailed(ComputePathThroughPoses.Result.NO_VIAPOINTS_GIVEN, "no poses given")
        super().__init__(server, goal, list(goal.poses.goals), ComputePathThroughPoses.Result.GOAL_OUTSIDE_MAP)

    def statuses(self):
        reached = self.model.index
        return [WaypointStatus(waypoint_status=WaypointStatus.COMPLETED if i < reached else WaypointStatus.PENDING,
                               waypoint_index=i, waypoint_pose=pose) for i, pose in enumerate(self.poses)]

    def fill_feedback(self, feedback):
        super().fill_feedback(feedback)
        feedback.number_of_poses_remaining = len(self.poses) - self.model.index
        feedback.waypoint_statuses = self.statuses()
        return feedback

    def fill_result(self, result, outcome):
        result.waypoint_statuses = self.statuses()
        return result


class WaypointsMotion(Nav2Motion):
    """FollowWaypoints / FollowGPSWaypoints over ``targets`` [(x, y, yaw, frame, PoseStamped)]."""

    def __init__(self, server, goal, targets, no_waypoints: str):
        super().__init__(server, goal)
        if not targets:
            raise GoalFailed(no_waypoints, "no waypoints given")
        if goal.goal_index >= len(targets):
            raise GoalFailed(no_waypoints,
                             f"goal_index {goal.goal_index} is beyond the {len(targets)} waypoints")
        order = list(range(goal.goal_index, len(targets))) + list(range(len(targets))) * goal.number_of_loops
        self.targets = targets
        nav2 = server.stack.config
        self.model = Waypoints(server.base.state, [targets[i][:3] for i in order], server.base.speed,
                               float(nav2["waypoint_pause"]), self.check, bool(nav2["stop_on_failure"]), order)

    def check(self, index):
        x, y, _, frame, _ = self.targets[index]
        return self.server.base.check_frame(frame) or self.server.base.check_point(x, y)

    def fill_feedback(self, feedback):
        feedback.current_waypoint = self.model.current
        return feedback

    def fill_result(self, result, outcome):
        result.missed_waypoints = [
            WaypointStatus(waypoint_status=WaypointStatus.FAILED, waypoint_index=index, error_code=navigation_error(reason),
                           error_msg=reason, waypoint_pose=self.targets[index][4])
            for index, reason in self.model.missed]
        return result


def navigation_error(reason: str) -> int:
    """The code NavigateToPose reports for a waypoint it could not reach."""
    return NavigateToPose.Result.TF_ERROR if reason.startswith("frame") else ComputePathToPose.Result.GOAL_OUTSIDE_MAP


class FollowWaypointsMotion(WaypointsMotion):
    def __init__(self, server, goal):
        targets = [(p.pose.position.x, p.pose.position.y, yaw_of(p.pose.orientation), p.header.frame_id, p)
                   for p in goal.poses]
        super().__init__(server, goal, targets, "NO_VALID_WAYPOINTS")


class FollowGPSWaypointsMotion(WaypointsMotion):
    def __init__(self, server, goal):
        origin = server.stack.config["gps_origin"]
        frame = server.base.frame
        targets = []
        for g in goal.gps_poses:
            x, y = gps_to_map(g.position.latitude, g.position.longitude, origin)
            targets.append((x, y, yaw_of(g.orientation), frame, pose_stamped(frame, x, y, yaw_of(g.orientation))))
        super().__init__(server, goal, targets, "NO_WAYPOINTS_GIVEN")


def make_navigators(stack):
    base = stack.base.resource
    return [
        Nav2ActionServer(stack, "bt_navigator", NavigateToPose, "navigate_to_pose", NavigateToPoseMotion, base),
        Nav2ActionServer(stack, "bt_navigator", NavigateThroughPoses, "navigate_through_poses",
                         NavigateThroughPosesMotion, base),
        Nav2ActionServer(stack, "waypoint_follower", FollowWaypoints, "follow_waypoints", FollowWaypointsMotion, base),
        Nav2ActionServer(stack, "waypoint_follower", FollowGPSWaypoints, "follow_gps_waypoints",
                         FollowGPSWaypointsMotion, base),
    ]
