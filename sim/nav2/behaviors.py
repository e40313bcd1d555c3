"""Nav2's behaviours (node ``behavior_server``): ``spin``, ``backup``, ``drive_on_heading``,
``assisted_teleop`` and ``wait``.

=================  ==============================================================================
server             simulated as
=================  ==============================================================================
spin               turns by ``target_yaw`` (sign = direction) at ``nav2.spin_speed`` rad/s
backup             drives ``target.x`` metres backwards at ``speed`` (at least
                   ``nav2.minimum_speed``), keeping its heading
drive_on_heading   the same, forwards (``target.x`` and ``speed`` of one sign, as Nav2 demands)
assisted_teleop    drives with the latest velocity on ``cmd_vel_teleop`` (geometry_msgs/TwistStamped,
                   or Twist with ``nav2.teleop_stamped: false``) until a message on ``preempt_teleop``
                   (std_msgs/Empty) ends it SUCCEEDED; a velocity leaving the map is zeroed
wait               stands still for ``time``; does not hold the base
=================  ==============================================================================

``time_allowance`` (when above 0) ends a goal ABORTED with ``TIMEOUT`` once exceeded, as Nav2 does;
assisted teleop's always ends so unless preempted. ``target.y`` or ``target.z`` other than 0 is
``INVALID_INPUT``; a backup or drive that would leave the map ends with ``COLLISION_AHEAD``
unless ``disable_collision_checks``.
"""
from geometry_msgs.msg import Twist, TwistStamped
from nav2_msgs.action import AssistedTeleop, BackUp, DriveOnHeading, Spin, Wait
from std_msgs.msg import Empty

from sim.navigation import seconds_of, to_duration
from sim.nav2.motion import Dwell, Straight, Teleop, Turn
from sim.nav2.server import GoalFailed, Nav2ActionServer, Nav2Motion


class SpinMotion(Nav2Motion):
    def __init__(self, server, goal):
        super().__init__(server, goal, seconds_of(goal.time_allowance))
        self.model = Turn(server.base.state, goal.target_yaw, float(server.stack.config["spin_speed"]))

    def fill_feedback(self, feedback):
        feedback.angular_distance_traveled = float(self.model.traveled)
        return feedback


class StraightMotion(Nav2Motion):
    """BackUp and DriveOnHeading; ``backwards``: BackUp, whose distance and speed count backwards
    whatever their signs (as Nav2's BackUp)."""

    backwards = False

    def __init__(self, server, goal):
        super().__init__(server, goal, seconds_of(goal.time_allowance))
        if goal.target.y != 0.0 or goal.target.z != 0.0:
            raise GoalFailed("INVALID_INPUT", "only target.x is supported: target.y and target.z must be 0")
        if not self.backwards and (goal.target.x > 0.0) != (goal.speed > 0.0):
            raise GoalFailed("INVALID_INPUT", "speed and target.x must have the same sign")
        speed = max(abs(goal.speed), float(server.stack.config["minimum_speed"]))
        if self.backwards or goal.speed < 0:
            speed = -speed
        self.model = Straight(server.base.state, goal.target.x, speed,
                              None if goal.disable_collision_checks else server.base.bounds)

    def fill_feedback(self, feedback):
        feedback.distance_traveled = float(self.model.traveled)
        return feedback


class BackUpMotion(StraightMotion):
    backwards = True


class TeleopMotion(Nav2Motion):
    def __init__(self, server, goal):
        super().__init__(server, goal, seconds_of(goal.time_allowance))
        self.model = Teleop(server.base.state, server.base.bounds)
        server.teleop = self.model

    def fill_feedback(self, feedback):
        feedback.current_teleop_duration = to_duration(self.elapsed)
        return feedback


class WaitMotion(Nav2Motion):
    def __init__(self, server, goal):
        super().__init__(server, goal)
        self.model = Dwell(seconds_of(goal.time))

    def fill_feedback(self, feedback):
        feedback.time_left = to_duration(self.model.remaining)
        return feedback


class AssistedTeleopServer(Nav2ActionServer):
    """assisted_teleop, with its two topics on behavior_server."""

    def __init__(self, stack):
        super().__init__(stack, "behavior_server", AssistedTeleop, "assisted_teleop", TeleopMotion,
                         stack.base.resource)
        self.teleop = None
        node, group = self.stand_in, stack.clock.group
        if stack.config["teleop_stamped"]:
            node.create_subscription(TwistStamped, "cmd_vel_teleop", lambda m: self._velocity(m.twist), 10,
                                     callback_group=group)
        else:
            node.create_subscription(Twist, "cmd_vel_teleop", self._velocity, 10, callback_group=group)
        node.create_subscription(Empty, "preempt_teleop", self._preempt, 10, callback_group=group)

    def _velocity(self, twist):
        if self.teleop is not None:
            self.teleop.velocity = (twist.linear.x, twist.linear.y, twist.angular.z)

    def _preempt(self, msg):
        if self.teleop is not None:
            self.teleop.stop()


def make_behaviors(stack):
    base = stack.base.resource
    return [
        Nav2ActionServer(stack, "behavior_server", Spin, "spin", SpinMotion, base),
        Nav2ActionServer(stack, "behavior_server", BackUp, "backup", BackUpMotion, base),
        Nav2ActionServer(stack, "behavior_server", DriveOnHeading, "drive_on_heading", StraightMotion, base),
        AssistedTeleopServer(stack),
        Nav2ActionServer(stack, "behavior_server", Wait, "wait", WaitMotion),
    ]
