"""The localization handshake of nav2_simple_commander's ``waitUntilNav2Active()``: Nav2's ``amcl``.

A pose on ``initialpose`` (geometry_msgs/PoseWithCovarianceStamped) is answered on ``amcl_pose``,
latched (transient local, reliable, depth 1: what BasicNavigator subscribes with), while ``amcl``
is active. The sim localizes perfectly, so ``amcl_pose`` is the simulated base's true pose;
``initialpose`` does not move the robot.
"""
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

AMCL_POSE_QOS = QoSProfile(durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE,
                           history=HistoryPolicy.KEEP_LAST, depth=1)
# AMCL's default initial covariance in x, y and yaw (0.5 m, 0.5 m, ~0.26 rad standard deviation).
COVARIANCE_DIAGONAL = {0: 0.25, 7: 0.25, 35: 0.06853891945200942}


class Localizer:
    """``amcl`` on its stand-in node: answers each ``initialpose`` with the base's pose."""

    def __init__(self, node, base):
        self.node, self.base = node, base
        self.answered = 0
        self._pose = node.create_publisher(PoseWithCovarianceStamped, "amcl_pose", AMCL_POSE_QOS)
        node.create_subscription(PoseWithCovarianceStamped, "initialpose", self._on_initial_pose, 10)

    def _on_initial_pose(self, msg):
        if not self.node.active:
            self.node.get_logger().warning(f"initialpose ignored: amcl is {self.node.state}")
            return
        if msg.header.frame_id and self.base.check_frame(msg.header.frame_id):
            self.node.get_logger().warning(f"initialpose {self.base.check_frame(msg.header.frame_id)}: "
                                           "answered with the pose in the map frame")
        self._pose.publish(self.pose())
        self.answered += 1

    def pose(self) -> PoseWithCovarianceStamped:
        stamped = PoseStamped()
        self.base.fill_pose(stamped)
        msg = PoseWithCovarianceStamped(header=stamped.header)
        msg.pose.pose = stamped.pose
        covariance = [0.0] * 36
        for index, value in COVARIANCE_DIAGONAL.items():
            covariance[index] = value
        msg.pose.covariance = covariance
        return msg
