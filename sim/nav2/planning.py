"""Nav2's planner, smoother and controller: ``compute_path_to_pose`` and
``compute_path_through_poses`` (node ``planner_server``), ``smooth_path`` (``smoother_server``),
``follow_path`` (``controller_server``).

=============================  =====================================================================
server                         simulated as
=============================  =====================================================================
compute_path_to_pose           a straight line from the start (the base's pose unless ``use_start``)
                               to the goal, a pose every ``nav2.path_resolution`` m, at once
compute_path_through_poses     the same through each goal in turn
smooth_path                    each interior pose moved halfway toward its neighbours' midpoint,
                               ``nav2.smoothing_iterations`` times (a straight path is unchanged)
follow_path                    drives the base along the path's points at ``navigation.speed``;
                               feedback ``distance_to_goal`` and ``speed``
=============================  =====================================================================

The map is empty, so a path is never blocked. Failures, with Nav2's codes: an id not in
``nav2.planners`` / ``smoothers`` / ``controllers`` / ``goal_checkers`` / ``progress_checkers``
(``INVALID_PLANNER`` / ``INVALID_SMOOTHER`` / ``INVALID_CONTROLLER``); a pose in another frame
(``TF_ERROR``); a start or goal outside the map (``START_OUTSIDE_MAP`` / ``GOAL_OUTSIDE_MAP``); no
goals (``NO_VIAPOINTS_GIVEN``); an empty path or one leaving the map (``INVALID_PATH``), and a
path to smooth with ``check_for_collisions`` that leaves the map (``SMOOTHED_PATH_IN_COLLISION``).
The planners' and smoother's goals have their own resource: they never preempt the base.
"""
import time

from nav2_msgs.action import ComputePathThroughPoses, ComputePathToPose, FollowPath, SmoothPath
from nav_msgs.msg import Path

from sim.navigation import PathFollower, pose_stamped, to_duration, yaw_of
from sim.nav2.motion import Model, sample_path, smooth_path
from sim.nav2.server import GoalFailed, Nav2ActionServer, Nav2Motion


class Instant(Model):
    def step(self, dt):
        return True


def check_id(value: str, known, error: str, what: str):
    if value and value not in known:
        raise GoalFailed(error, f"{what} {value!r} is not one of {', '.join(known)}")


def to_path(frame: str, poses, stamp) -> Path:
    path = Path()
    path.header.frame_id = frame
    path.header.stamp = stamp
    path.poses = [pose_stamped(frame, x, y, yaw, stamp) for x, y, yaw in poses]
    return path


class PlanMotion(Nav2Motion):
    """Plans at once: a straight path from the start through the goals."""

    def __init__(self, server, goal, goals):
        super().__init__(server, goal)
        began = time.perf_counter()
        base, nav2 = server.base, server.stack.config
        check_id(goal.planner_id, nav2["planners"], "INVALID_PLANNER", "planner")
        if goal.use_start:
            self.check(goal.start, "START_OUTSIDE_MAP", "start")
            start = (goal.start.pose.position.x, goal.start.pose.position.y)
        else:
            start = (base.state.x, base.state.y)
        for i, pose in enumerate(goals):
            self.check(pose, "GOAL_OUTSIDE_MAP", "goal" if len(goals) == 1 else f"goal {i}")
        points = [start] + [(p.pose.position.x, p.pose.position.y) for p in goals]
        poses = sample_path(points, float(nav2["path_resolution"]), yaw_of(goals[-1].pose.orientation))
        self.path = to_path(base.frame, poses, base.stamp())
        self.planning_time = time.perf_counter() - began
        self.model = Instant()

    def check(self, pose, outside: str, what: str):
        base = self.server.base
        if base.check_frame(pose.header.frame_id):
            raise GoalFailed("TF_ERROR", f"{what} {base.check_frame(pose.header.frame_id)}")
        reason = base.check_point(pose.pose.position.x, pose.pose.position.y)
        if reason:
            raise GoalFailed(outside, f"{what} {reason}")

    def fill_result(self, result, outcome):
        if outcome == "succeeded":
            result.path = self.path
        result.planning_time = to_duration(self.planning_time)
        return result


class PathToPoseMotion(PlanMotion):
    def __init__(self, server, goal):
        super().__init__(server, goal, [goal.goal])


class PathThroughPosesMotion(PlanMotion):
    def __init__(self, server, goal):
        if not goal.goals.goals:
            raise GoalFailed("NO_VIAPOINTS_GIVEN", "no goals given")
        super().__init__(server, goal, list(goal.goals.goals))


class SmoothMotion(Nav2Motion):
    def __init__(self, server, goal):
        super().__init__(server, goal)
        nav2, base = server.stack.config, server.base
        check_id(goal.smoother_id, nav2["smoothers"], "INVALID_SMOOTHER", "smoother")
        if not goal.path.poses:
            raise GoalFailed("INVALID_PATH", "the path to smooth is empty")
        poses = [(p.pose.position.x, p.pose.position.y, yaw_of(p.pose.orientation)) for p in goal.path.poses]
        smoothed = smooth_path(poses, int(nav2["smoothing_iterations"]))
        if goal.check_for_collisions:
            for i, (x, y, _) in enumerate(smoothed):
                if base.check_point(x, y):
                    raise GoalFailed("SMOOTHED_PATH_IN_COLLISION", f"smoothed pose {i} {base.check_point(x, y)}")
        self.path = to_path(goal.path.header.frame_id, smoothed, base.stamp())
        self.model = Instant()

    def fill_result(self, result, outcome):
        if outcome == "succeeded":
            result.path = self.path
            result.was_completed = True
        return result


class FollowPathMotion(Nav2Motion):
    def __init__(self, server, goal):
        super().__init__(server, goal)
        nav2, base = server.stack.config, server.base
        check_id(goal.controller_id, nav2["controllers"], "INVALID_CONTROLLER", "controller")
        check_id(goal.goal_checker_id, nav2["goal_checkers"], "INVALID_CONTROLLER", "goal checker")
        check_id(goal.progress_checker_id, nav2["progress_checkers"], "INVALID_CONTROLLER", "progress checker")
        poses = goal.path.poses
        if not poses:
            raise GoalFailed("INVALID_PATH", "the path is empty")
        if base.check_frame(goal.path.header.frame_id):
            raise GoalFailed("TF_ERROR", f"path {base.check_frame(goal.path.header.frame_id)}")
        for i, p in enumerate(poses):
            reason = base.check_point(p.pose.position.x, p.pose.position.y)
            if reason:
                raise GoalFailed("INVALID_PATH", f"path pose {i} {reason}")
        self.model = PathFollower(base.state, [(p.pose.position.x, p.pose.position.y) for p in poses], base.speed,
                                  yaw_of(poses[-1].pose.orientation))

    def fill_feedback(self, feedback):
        feedback.distance_to_goal = float(self.model.distance_remaining())
        feedback.speed = 0.0 if self.model.done else float(self.model.speed)
        return feedback


def make_planning(stack):
    return [
        Nav2ActionServer(stack, "planner_server", ComputePathToPose, "compute_path_to_pose", PathToPoseMotion),
        Nav2ActionServer(stack, "planner_server", ComputePathThroughPoses, "compute_path_through_poses",
                       PathThroughPosesMotion),
        Nav2ActionServer(stack, "smoother_server", SmoothPath, "smooth_path", SmoothMotion),
        Nav2ActionServer(stack, "controller_server", FollowPath, "follow_path", FollowPathMotion, stack.base.resource),
    ]
