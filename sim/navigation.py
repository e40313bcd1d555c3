"""The simulated mobile base and its ``navigate_to_pose`` server (ours: mission_interfaces).

:class:`MobileBase` is the one base of a robot: its pose, map frame and bounds, speed and the
``odom`` topic. Every server that moves the base (ours here, and with ``mission-sim --nav2`` Nav2's
navigators, controller, behaviours and docking in sim/nav2/) takes its one :class:`Resource`, so a
goal on any of them preempts the goal driving the base, as two commanders of one robot would.

:class:`PathFollower` is the motion they share: it drives through (x, y) points in a straight
line from one to the next at a constant speed, heading along the segment, then turns at once to
a final yaw if one is given. ``navigate_to_pose`` is a path of one point: the goal.
Goals outside the map bounds or in another frame than ``frame`` are rejected.
"""
import math

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry

from mission_interfaces.action import NavigateToPose
from sim.actions import Motion, Resource, SimActionServer


def yaw_of(q) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def set_yaw(q, yaw: float) -> None:
    q.x, q.y, q.z, q.w = 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)


def pose_stamped(frame: str, x: float, y: float, yaw: float, stamp=None) -> PoseStamped:
    pose = PoseStamped()
    pose.header.frame_id = frame
    if stamp is not None:
        pose.header.stamp = stamp
    pose.pose.position.x, pose.pose.position.y = float(x), float(y)
    set_yaw(pose.pose.orientation, yaw)
    return pose


def to_duration(seconds: float) -> Duration:
    seconds = max(0.0, seconds)
    whole = int(seconds)
    return Duration(sec=whole, nanosec=int((seconds - whole) * 1e9))


def seconds_of(duration) -> float:
    return duration.sec + duration.nanosec * 1e-9


def wrap_angle(angle: float) -> float:
    """``angle`` in (-pi, pi]."""
    return math.atan2(math.sin(angle), math.cos(angle))


class BaseState:
    """The base's pose in the map frame: metres and radians."""

    def __init__(self, x=0.0, y=0.0, yaw=0.0):
        self.x, self.y, self.yaw = x, y, yaw


class PathFollower:
    """Drives ``base`` through ``points`` [(x, y), ...] at ``speed`` m/s, straight from one point to
    the next with the heading of the segment; once at the last point, turns to ``final_yaw``
    (radians) if it is not None. Pure motion: no ROS."""

    error = failure = ""      # never fails: the map is empty (the motion-model protocol of sim/nav2/motion.py)

    def __init__(self, base: BaseState, points, speed: float, final_yaw=None):
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.base = base
        self.points = [(float(x), float(y)) for x, y in points]
        self.speed = float(speed)
        self.final_yaw = final_yaw
        self.index = 0            # the point driven to now; len(points) once all are reached
        self.traveled = 0.0       # metres
        self.elapsed = 0.0        # simulated seconds

    @property
    def done(self) -> bool:
        return self.index >= len(self.points)

    def distance_remaining(self) -> float:
        """Metres along the rest of the path."""
        if self.done:
            return 0.0
        x, y = self.base.x, self.base.y
        total = 0.0
        for px, py in self.points[self.index:]:
            total += math.hypot(px - x, py - y)
            x, y = px, py
        return total

    def time_remaining(self) -> float:
        return self.distance_remaining() / self.speed

    def step(self, dt: float) -> bool:
        self.elapsed += dt
        travel = self.speed * dt
        while not self.done:
            tx, ty = self.points[self.index]
            gap = math.hypot(tx - self.base.x, ty - self.base.y)
            if travel < gap:
                heading = math.atan2(ty - self.base.y, tx - self.base.x)
                self.base.x += travel * math.cos(heading)
                self.base.y += travel * math.sin(heading)
                self.base.yaw = heading
                self.traveled += travel
                return False
            if gap > 0:
                self.base.yaw = math.atan2(ty - self.base.y, tx - self.base.x)
            self.base.x, self.base.y = tx, ty
            self.traveled += gap
            travel -= gap
            self.index += 1
        if self.final_yaw is not None:
            self.base.yaw = wrap_angle(self.final_yaw)
        return True


class MobileBase:
    """The robot's one base: pose (``resource.state``), map ``frame``, ``bounds`` (xmin, xmax,
    ymin, ymax in metres), ``speed`` (m/s), ``rate`` (Hz), and its ``odom`` publisher."""

    def __init__(self, node, config):
        self.node = node
        self.frame = config["frame"]
        self.bounds = [float(v) for v in config["bounds"]]
        self.speed = float(config["speed"])
        self.rate = float(config["rate"])
        if self.speed <= 0 or self.rate <= 0:
            raise ValueError("navigation.speed and navigation.rate must be positive")
        x, y, yaw = config["start"]
        self.resource = Resource("base", BaseState(float(x), float(y), float(yaw)))
        self._odom = node.create_publisher(Odometry, "odom", 10)
        self._odom_timer = node.create_timer(1.0 / self.rate, self.publish_odom)

    @property
    def state(self) -> BaseState:
        return self.resource.state

    def stamp(self):
        return self.node.get_clock().now().to_msg()

    def check_frame(self, frame: str) -> str:
        """Why a pose in ``frame`` cannot be used, or ``""``."""
        return "" if frame == self.frame else f"frame {frame!r} is not the map frame {self.frame!r}"

    def check_point(self, x: float, y: float) -> str:
        """Why (x, y) cannot be reached, or ``""``: not finite, or outside the bounds."""
        if not all(math.isfinite(v) for v in (x, y)):
            return "position is not finite"
        xmin, xmax, ymin, ymax = self.bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            return f"({x:g}, {y:g}) is outside the map bounds x[{xmin:g}, {xmax:g}] y[{ymin:g}, {ymax:g}]"
        return ""

    def check_pose(self, pose_stamped) -> str:
        """Why a geometry_msgs/PoseStamped cannot be driven to, or ``""``."""
        p, q = pose_stamped.pose.position, pose_stamped.pose.orientation
        if not all(math.isfinite(v) for v in (q.x, q.y, q.z, q.w)):
            return f"orientation ({q.x:g}, {q.y:g}, {q.z:g}, {q.w:g}) is not finite"
        return self.check_frame(pose_stamped.header.frame_id) or self.check_point(p.x, p.y)

    def fill_pose(self, pose_stamped) -> None:
        """Write the base's pose into a geometry_msgs/PoseStamped, stamped now."""
        base = self.state
        pose_stamped.header.frame_id = self.frame
        pose_stamped.header.stamp = self.stamp()
        pose_stamped.pose.position.x, pose_stamped.pose.position.y = float(base.x), float(base.y)
        set_yaw(pose_stamped.pose.orientation, base.yaw if math.isfinite(base.yaw) else 0.0)

    def publish_odom(self):
        base = self.state
        msg = Odometry()
        msg.header.stamp = self.stamp()
        msg.header.frame_id = "odom"
        msg.child_frame_id = "base_link"
        msg.pose.pose.position.x = base.x
        msg.pose.pose.position.y = base.y
        set_yaw(msg.pose.pose.orientation, base.yaw)
        self._odom.publish(msg)


# NavigateToPose.Result.UNKNOWN of ours and of Nav2 (Jazzy and later).
UNKNOWN_ERROR = 9000


def navigation_feedback(feedback, base: MobileBase, path: PathFollower):
    """Fill the fields NavigateToPose and NavigateThroughPoses feedback share (ours and Nav2's)."""
    base.fill_pose(feedback.current_pose)
    feedback.navigation_time = to_duration(path.elapsed)
    feedback.estimated_time_remaining = to_duration(path.time_remaining())
    feedback.number_of_recoveries = 0
    feedback.distance_remaining = float(path.distance_remaining())
    return feedback


class Drive(Motion):
    """One NavigateToPose goal: a path of one point, then the goal's yaw."""

    def __init__(self, base: MobileBase, goal, action_type=NavigateToPose):
        self.action_type = action_type
        self.base = base
        p = goal.pose.pose
        self.path = PathFollower(base.state, [(p.position.x, p.position.y)], base.speed, yaw_of(p.orientation))

    def step(self, dt):
        return self.path.step(dt)

    def feedback(self):
        return navigation_feedback(self.action_type.Feedback(), self.base, self.path)

    def result(self, outcome, message):
        res = self.action_type.Result()
        if outcome != "succeeded" and "error_code" in res.get_fields_and_field_types():
            base = self.base.state
            res.error_code = UNKNOWN_ERROR
            res.error_msg = f"{message}; stopped at ({base.x:.3f}, {base.y:.3f})"
        return res


class NavigationServer(SimActionServer):
    """``navigate_to_pose`` (mission_interfaces' NavigateToPose) driving ``base``."""

    def __init__(self, node, base: MobileBase, clock, faults, action_type=NavigateToPose):
        self.action_type = action_type
        self.base = base
        super().__init__(node, action_type, "navigate_to_pose", base.resource, clock, faults, base.rate)

    def validate(self, goal):
        reason = self.base.check_pose(goal.pose)
        return f"goal {reason}" if reason else ""

    def start(self, goal):
        return Drive(self.base, goal, self.action_type)
