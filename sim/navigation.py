"""Simulated mobile base: ``navigate_to_pose`` (NavigateToPose) and the ``odom`` topic.

The base drives in a straight line toward the goal at ``speed`` m/s, then turns to the goal's yaw.
Goals outside the map bounds or in another frame than ``frame`` are rejected.

The action type is ours (mission_interfaces) by default, or Nav2's (``mission-sim --nav2``): both
have the same goal and feedback; the result's ``error_code``/``error_msg`` are set where the type
has them (Nav2 Humble's result is empty).
"""
import math

from builtin_interfaces.msg import Duration
from nav_msgs.msg import Odometry

from mission_interfaces.action import NavigateToPose
from sim.actions import Motion, Resource, SimActionServer


def yaw_of(q) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def set_yaw(q, yaw: float) -> None:
    q.x, q.y, q.z, q.w = 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)


def to_duration(seconds: float) -> Duration:
    seconds = max(0.0, seconds)
    whole = int(seconds)
    return Duration(sec=whole, nanosec=int((seconds - whole) * 1e9))


class BaseState:
    def __init__(self, x=0.0, y=0.0, yaw=0.0):
        self.x, self.y, self.yaw = x, y, yaw


# NavigateToPose.Result.UNKNOWN of ours and of Nav2 (Jazzy and later).
UNKNOWN_ERROR = 9000


class Drive(Motion):
    def __init__(self, base: BaseState, goal, frame: str, speed: float, clock_now, action_type=NavigateToPose):
        self.action_type = action_type
        self.base = base
        self.frame = frame
        self.speed = speed
        self.elapsed = 0.0
        self._now = clock_now
        self.target = (goal.pose.pose.position.x, goal.pose.pose.position.y, yaw_of(goal.pose.pose.orientation))

    def distance(self) -> float:
        return math.hypot(self.target[0] - self.base.x, self.target[1] - self.base.y)

    def step(self, dt):
        self.elapsed += dt
        remaining = self.distance()
        travel = self.speed * dt
        if travel >= remaining:
            self.base.x, self.base.y = self.target[0], self.target[1]
            self.base.yaw = self.target[2]
            return True
        heading = math.atan2(self.target[1] - self.base.y, self.target[0] - self.base.x)
        self.base.x += travel * math.cos(heading)
        self.base.y += travel * math.sin(heading)
        self.base.yaw = heading
        return False

    def feedback(self):
        fb = self.action_type.Feedback()
        fb.current_pose.header.frame_id = self.frame
        fb.current_pose.header.stamp = self._now()
        fb.current_pose.pose.position.x = self.base.x
        fb.current_pose.pose.position.y = self.base.y
        set_yaw(fb.current_pose.pose.orientation, self.base.yaw)
        fb.navigation_time = to_duration(self.elapsed)
        fb.estimated_time_remaining = to_duration(self.distance() / self.speed)
        fb.number_of_recoveries = 0
        fb.distance_remaining = float(self.distance())
        return fb

    def result(self, outcome, message):
        res = self.action_type.Result()
        if outcome != "succeeded" and "error_code" in res.get_fields_and_field_types():
            res.error_code = UNKNOWN_ERROR
            res.error_msg = f"{message}; stopped at ({self.base.x:.3f}, {self.base.y:.3f})"
        return res


class NavigationServer(SimActionServer):
    """``navigate_to_pose`` of ``action_type`` (ours, or nav2_msgs' NavigateToPose)."""

    def __init__(self, node, config, clock, faults, action_type=NavigateToPose):
        self.action_type = action_type
        self.frame = config["frame"]
        self.bounds = config["bounds"]
        self.speed = float(config["speed"])
        x, y, yaw = config["start"]
        base = Resource("base", BaseState(float(x), float(y), float(yaw)))
        super().__init__(node, action_type, "navigate_to_pose", base, clock, faults, config["rate"])
        self._odom = node.create_publisher(Odometry, "odom", 10)
        self._odom_timer = node.create_timer(1.0 / config["rate"], self.publish_odom)

    def validate(self, goal):
        frame = goal.pose.header.frame_id
        if frame != self.frame:
            return f"goal frame {frame!r} is not the map frame {self.frame!r}"
        p = goal.pose.pose.position
        if not all(math.isfinite(v) for v in (p.x, p.y)):
            return "goal position is not finite"
        xmin, xmax, ymin, ymax = self.bounds
        if not (xmin <= p.x <= xmax and ymin <= p.y <= ymax):
            return f"goal ({p.x:g}, {p.y:g}) is outside the map bounds x[{xmin:g}, {xmax:g}] y[{ymin:g}, {ymax:g}]"
        return ""

    def start(self, goal):
        return Drive(self.resource.state, goal, self.frame, self.speed, lambda: self.node.get_clock().now().to_msg(),
                     self.action_type)

    def publish_odom(self):
        base = self.resource.state
        msg = Odometry()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = "odom"
        msg.child_frame_id = "base_link"
        msg.pose.pose.position.x = base.x
        msg.pose.pose.position.y = base.y
        set_yaw(msg.pose.pose.orientation, base.yaw)
        self._odom.publish(msg)
