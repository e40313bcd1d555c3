"""Simulated arm: ``follow_joint_trajectory``, ``move_arm`` and the ``joint_states`` topic.

Both servers drive the same arm, so a goal on either preempts a running goal on the other.
Tracking is ideal (actual == desired). Goals naming unknown joints, with positions that are not
finite or exceed joint limits, or (trajectories) with non-increasing ``time_from_start`` are
rejected.

With ``mission-sim --ros2-control`` a third server drives the same arm: control_msgs'
FollowJointTrajectory at ``joint_trajectory_controller/follow_joint_trajectory``, as ros2_control's
joint_trajectory_controller serves it. Its tolerances are accepted and not checked (tracking is
ideal); a multi-DOF trajectory is rejected.
"""
import math

from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectoryPoint

from mission_interfaces.action import FollowJointTrajectory, MoveArm
from sim.actions import Motion, Resource, SimActionServer
from sim.navigation import to_duration


def seconds_of(duration) -> float:
    return duration.sec + duration.nanosec * 1e-9


class Arm:
    """Joint positions, limits and named poses of the simulated arm."""

    def __init__(self, config):
        self.limits = {name: (float(j["min"]), float(j["max"])) for name, j in config["joints"].items()}
        self.max_velocity = {name: float(j["max_velocity"]) for name, j in config["joints"].items()}
        self.names = list(config["joints"])
        self.named_poses = {name: [float(v) for v in pose] for name, pose in config["named_poses"].items()}
        for pose, values in self.named_poses.items():
            if len(values) != len(self.names):
                raise ValueError(f"named pose {pose!r} has {len(values)} values for {len(self.names)} joints")
        self.positions = dict(zip(self.names, self.named_poses[config["start"]]))

    def check_joints(self, names, positions_list) -> str:
        unknown = [n for n in names if n not in self.limits]
        if unknown:
            return f"unknown joint(s) {', '.join(unknown)}; the arm has {', '.join(self.names)}"
        if len(set(names)) != len(names):
            return "joint names repeat"
        for positions in positions_list:
            if len(positions) != len(names):
                return f"{len(positions)} positions for {len(names)} joints"
            for name, value in zip(names, positions):
                lo, hi = self.limits[name]
                if not math.isfinite(value):
                    return f"joint {name} position {value:g} is not finite"
                if not lo <= value <= hi:
                    return f"joint {name} position {value:g} is outside its limits [{lo:g}, {hi:g}]"
        return ""


class Interpolation(Motion):
    """Piecewise-linear motion through (time, positions) knots, shared by both arm servers."""

    def __init__(self, arm: Arm, names, knots):
        self.arm = arm
        self.names = list(names)
        self.knots = knots            # [(t, [positions])], t strictly increasing, first at t=0
        self.elapsed = 0.0
        self.desired = list(knots[0][1])

    @property
    def duration(self) -> float:
        return self.knots[-1][0]

    def step(self, dt):
        self.elapsed = min(self.elapsed + dt, self.duration)
        for (t0, p0), (t1, p1) in zip(self.knots, self.knots[1:]):
            if self.elapsed <= t1:
                f = (self.elapsed - t0) / (t1 - t0)
                self.desired = [a + (b - a) * f for a, b in zip(p0, p1)]
                break
        else:
            self.desired = list(self.knots[-1][1])
        self.arm.positions.update(zip(self.names, self.desired))
        return self.elapsed >= self.duration

    def progress(self) -> float:
        return 1.0 if self.duration <= 0 else self.elapsed / self.duration


class Trajectory(Interpolation):
    def __init__(self, arm, goal, stamp, action_type=FollowJointTrajectory):
        self.action_type = action_type
        traj = goal.trajectory
        start = [arm.positions[n] for n in traj.joint_names]
        knots = [(0.0, start)] + [(seconds_of(p.time_from_start), list(p.positions)) for p in traj.points]
        if knots[1][0] == 0.0:  # a first point at t=0 replaces the current position
            knots = knots[1:]
        super().__init__(arm, traj.joint_names, knots)
        self._stamp = stamp

    def feedback(self):
        fb = self.action_type.Feedback()
        fb.header.stamp = self._stamp()
        fb.joint_names = self.names
        t = to_duration(self.elapsed)
        fb.desired = JointTrajectoryPoint(positions=self.desired, time_from_start=t)
        fb.actual = JointTrajectoryPoint(positions=self.desired, time_from_start=t)
        fb.error = JointTrajectoryPoint(positions=[0.0] * len(self.names), time_from_start=t)
        return fb

    def result(self, outcome, message):
        res = self.action_type.Result()
        if outcome in ("aborted", "preempted"):
            res.error_code = self.action_type.Result.PATH_TOLERANCE_VIOLATED
        res.error_string = message
        return res


class Move(Interpolation):
    def __init__(self, arm, names, target, scaling):
        start = [arm.positions[n] for n in names]
        duration = max([abs(b - a) / (arm.max_velocity[n] * scaling)
                        for n, a, b in zip(names, start, target)] + [0.0])
        knots = [(0.0, start)] if duration == 0 else [(0.0, start), (duration, list(target))]
        super().__init__(arm, names, knots)

    def feedback(self):
        return MoveArm.Feedback(progress=self.progress(), joint_names=self.names, positions=self.desired)

    def result(self, outcome, message):
        codes = {"succeeded": MoveArm.Result.SUCCESS, "canceled": MoveArm.Result.CANCELED}
        return MoveArm.Result(error_code=codes.get(outcome, MoveArm.Result.ABORTED), message=message,
                              joint_names=self.names, final_positions=self.desired)


class FollowJointTrajectoryServer(SimActionServer):
    """``follow_joint_trajectory`` of ``action_type`` (ours, or control_msgs' under ``name``)."""

    def __init__(self, node, arm_resource, config, clock, faults,
                 action_type=FollowJointTrajectory, name="follow_joint_trajectory"):
        self.action_type = action_type
        super().__init__(node, action_type, name, arm_resource, clock, faults, config["rate"])

    def validate(self, goal):
        multi_dof = getattr(goal, "multi_dof_trajectory", None)
        if multi_dof is not None and (multi_dof.joint_names or multi_dof.points):
            return "multi-DOF trajectories are not simulated"
        traj = goal.trajectory
        if not traj.joint_names:
            return "trajectory names no joints"
        if not traj.points:
            return "trajectory has no points"
        reason = self.resource.state.check_joints(traj.joint_names, [p.positions for p in traj.points])
        if reason:
            return reason
        times = [seconds_of(p.time_from_start) for p in traj.points]
        if times[0] < 0:
            return f"time_from_start of point 0 is negative ({times[0]:g} s)"
        for i, (a, b) in enumerate(zip(times, times[1:]), start=1):
            if b <= a:
                return f"time_from_start must increase: point {i} at {b:g} s follows {a:g} s"
        return ""

    def start(self, goal):
        return Trajectory(self.resource.state, goal, lambda: self.node.get_clock().now().to_msg(), self.action_type)


class MoveArmServer(SimActionServer):
    def __init__(self, node, arm_resource, config, clock, faults):
        super().__init__(node, MoveArm, "move_arm", arm_resource, clock, faults, config["rate"])

    def validate(self, goal):
        arm = self.resource.state
        if not math.isfinite(goal.velocity_scaling) or not 0.0 <= goal.velocity_scaling <= 1.0:
            return f"velocity_scaling {goal.velocity_scaling:g} is outside (0, 1]"
        if goal.named_pose:
            if goal.joint_names or len(goal.positions):
                return "give a named pose or joint positions, not both"
            if goal.named_pose not in arm.named_poses:
                return f"unknown named pose {goal.named_pose!r}; known: {', '.join(arm.named_poses)}"
            return ""
        if not goal.joint_names:
            return "goal names neither a pose nor joints"
        return arm.check_joints(goal.joint_names, [list(goal.positions)])

    def start(self, goal):
        arm = self.resource.state
        if goal.named_pose:
            names, target = arm.names, arm.named_poses[goal.named_pose]
        else:
            names, target = list(goal.joint_names), list(goal.positions)
        return Move(arm, names, target, goal.velocity_scaling or 1.0)


def joint_state_publisher(node, arm: Arm, rate_hz: float):
    pub = node.create_publisher(JointState, "joint_states", 10)

    def publish():
        msg = JointState(name=arm.names, position=[arm.positions[n] for n in arm.names])
        msg.header.stamp = node.get_clock().now().to_msg()
        pub.publish(msg)

    return node.create_timer(1.0 / rate_hz, publish)


CONTROLLER_ACTION = "joint_trajectory_controller/follow_joint_trajectory"


def make_arm_servers(node, config, clock, faults_for, control_type=None):
    """The arm's servers and its joint_states timer; ``control_type`` (control_msgs'
    FollowJointTrajectory) adds the ros2_control-style server, whose fault knobs are
    ``joint_trajectory_controller.*``."""
    arm = Resource("arm", Arm(config))
    servers = [
        FollowJointTrajectoryServer(node, arm, config, clock, faults_for("follow_joint_trajectory")),
        MoveArmServer(node, arm, config, clock, faults_for("move_arm")),
    ]
    if control_type is not None:
        servers.append(FollowJointTrajectoryServer(node, arm, config, clock, faults_for("joint_trajectory_controller"),
                                                   control_type, CONTROLLER_ACTION))
    return servers, joint_state_publisher(node, arm.state, config["rate"])
