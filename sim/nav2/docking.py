"""Nav2's docking server (node ``docking_server``): ``dock_robot`` and ``undock_robot``.

Docks are ``nav2.docks`` (id: ``{pose: [x, y, yaw], type: ...}`` in the map frame) or a goal's
``dock_pose`` and ``dock_type``; types are ``nav2.dock_types``. A dock's staging pose is
``nav2.staging_offset`` metres along its x axis (opennav_docking's SimpleChargingDock, docking
forward). Docking runs opennav_docking's states, reported in feedback ``state``:

=====================  ===============================================================================
NAV_TO_STAGING_POSE    drives to the staging pose at ``navigation.speed`` (skipped when the goal says
                       not to, or the base is within 0.5 m of it); over ``max_staging_time``:
                       ``FAILED_TO_STAGE``
INITIAL_PERCEPTION     the dock is found at once
CONTROLLING            drives straight onto the dock at ``nav2.docking_speed``
WAIT_FOR_CHARGE        charging starts at once; SUCCEEDED
=====================  ===============================================================================

A base within ``nav2.docking_threshold`` of the dock is docked already: SUCCEEDED at once.
Undocking backs off the dock to its staging pose at ``nav2.docking_speed`` (over
``max_undocking_time``: ``FAILED_TO_CONTROL``); with no ``dock_type`` it uses the type of the dock
last docked at (none: ``DOCK_NOT_VALID``); a base on no dock is undocked already: SUCCEEDED.
Unknown ids are ``DOCK_NOT_IN_DB``, unknown types, frames or poses off the map ``DOCK_NOT_VALID``.
"""
import math

from nav2_msgs.action import DockRobot, UndockRobot

from sim.navigation import PathFollower, to_duration, yaw_of
from sim.nav2.motion import Stages, Straight, staging_pose
from sim.nav2.server import GoalFailed, Nav2ActionServer, Nav2Motion

PRESTAGING_TOLERANCE = 0.5   # metres (docking_server's dock_prestaging_tolerance)


class Docks:
    """The dock database and what the base is docked at."""

    def __init__(self, config):
        self.types = list(config["dock_types"])
        self.docks = {}
        for dock_id, dock in (config["docks"] or {}).items():
            x, y, yaw = (float(v) for v in dock["pose"])
            kind = dock.get("type") or self.types[0]
            if kind not in self.types:
                raise ValueError(f"nav2.docks.{dock_id}.type {kind!r} is not one of nav2.dock_types")
            self.docks[dock_id] = ((x, y, yaw), kind)
        self.offset = float(config["staging_offset"])
        self.speed = float(config["docking_speed"])
        self.threshold = float(config["docking_threshold"])
        self.last_type = ""       # the type of the dock last docked at (opennav_docking's curr_dock_type_)
        self.last_pose = None

    def at(self, base, pose) -> bool:
        return math.hypot(base.x - pose[0], base.y - pose[1]) <= self.threshold


class DockMotion(Nav2Motion):
    timeout_error = "FAILED_TO_STAGE"

    def __init__(self, server, goal):
        super().__init__(server, goal)
        docks, base = server.stack.docks, server.base
        if goal.use_dock_id:
            if goal.dock_id not in docks.docks:
                raise GoalFailed("DOCK_NOT_IN_DB", f"dock {goal.dock_id!r} is not in the database "
                                                   f"({', '.join(docks.docks) or 'empty'})")
            pose, kind = docks.docks[goal.dock_id]
        else:
            kind = goal.dock_type or (docks.types[0] if len(docks.types) == 1 else "")
            if kind not in docks.types:
                raise GoalFailed("DOCK_NOT_VALID", f"dock type {goal.dock_type!r} is not one of {', '.join(docks.types)}")
            reason = base.check_pose(goal.dock_pose)
            if reason:
                raise GoalFailed("DOCK_NOT_VALID", f"dock pose {reason}")
            p = goal.dock_pose.pose
            pose = (p.position.x, p.position.y, yaw_of(p.orientation))
        self.docks, self.pose, self.kind = docks, pose, kind
        state, stages = base.state, []
        staging = staging_pose(pose, docks.offset)
        if not docks.at(state, pose):
            if goal.navigate_to_staging_pose and math.hypot(state.x - staging[0], state.y - staging[1]) > PRESTAGING_TOLERANCE:
                stages.append((DockRobot.Feedback.NAV_TO_STAGING_POSE,
                               PathFollower(state, [staging[:2]], base.speed, staging[2])))
            stages += [(DockRobot.Feedback.INITIAL_PERCEPTION, None),
                       (DockRobot.Feedback.CONTROLLING, PathFollower(state, [pose[:2]], docks.speed, pose[2])),
                       (DockRobot.Feedback.WAIT_FOR_CHARGE, None)]
        self.staging_allowance = goal.max_staging_time
        self.model = Stages(stages)

    def step(self, dt):
        navigating = self.model.label == DockRobot.Feedback.NAV_TO_STAGING_POSE
        if navigating and self.elapsed + dt > self.staging_allowance > 0:
            self.fail("FAILED_TO_STAGE", f"staging took longer than max_staging_time {self.staging_allowance:g} s")
            return False
        done = super().step(dt)
        if done:
            self.docks.last_type, self.docks.last_pose = self.kind, self.pose
        return done

    def fill_feedback(self, feedback):
        feedback.state = self.model.label or DockRobot.Feedback.NONE
        feedback.docking_time = to_duration(self.elapsed)
        return feedback


class UndockMotion(Nav2Motion):
    timeout_error = "FAILED_TO_CONTROL"

    def __init__(self, server, goal):
        super().__init__(server, goal, goal.max_undocking_time)
        docks, state = server.stack.docks, server.base.state
        kind = goal.dock_type or docks.last_type
        if not kind or kind not in docks.types:
            raise GoalFailed("DOCK_NOT_VALID", f"dock type {goal.dock_type!r} is not one of {', '.join(docks.types)}"
                             if goal.dock_type else "no dock information to undock from")
        docked = docks.last_pose is not None and docks.at(state, docks.last_pose)
        self.docks = docks
        self.model = Stages([("undock", Straight(state, abs(docks.offset), -docks.speed) if docked else None)])

    def step(self, dt):
        done = super().step(dt)
        if done:
            self.docks.last_type = ""
        return done


def make_docking(stack):
    base = stack.base.resource
    return [
        Nav2ActionServer(stack, "docking_server", DockRobot, "dock_robot", DockMotion, base),
        Nav2ActionServer(stack, "docking_server", UndockRobot, "undock_robot", UndockMotion, base),
    ]
