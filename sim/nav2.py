"""What nav2_simple_commander's ``BasicNavigator.waitUntilNav2Active()`` waits for, answered by
stand-ins for Nav2's lifecycle nodes (``mission-sim --nav2``).

- ``bt_navigator`` and ``amcl``: nodes in the robot's namespace whose ``get_state`` service
  (lifecycle_msgs/srv/GetState) reports ``active``, as Nav2's lifecycle nodes do once brought up.
  They are nodes of their own, so ``ros2 lifecycle get /robot1/bt_navigator`` finds them too.
- The localization handshake: a pose on ``initialpose`` (geometry_msgs/PoseWithCovarianceStamped)
  is answered on ``amcl_pose``, latched (transient local, reliable, depth 1: what BasicNavigator
  subscribes with). The sim localizes perfectly, so ``amcl_pose`` is the simulated base's true
  pose; ``initialpose`` does not move the robot.

Nav2's ``navigate_to_pose`` itself is sim/navigation.py's server with nav2_msgs' type.
"""
import math

from geometry_msgs.msg import PoseWithCovarianceStamped
from lifecycle_msgs.msg import State
from lifecycle_msgs.srv import GetState
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from sim.navigation import set_yaw

LIFECYCLE_NODES = ("bt_navigator", "amcl")
AMCL_POSE_QOS = QoSProfile(durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE,
                           history=HistoryPolicy.KEEP_LAST, depth=1)
# AMCL's default initial covariance in x, y and yaw (0.5 m, 0.5 m, ~0.26 rad standard deviation).
COVARIANCE_DIAGONAL = {0: 0.25, 7: 0.25, 35: 0.06853891945200942}


class ActiveLifecycleNode(Node):
    """A node whose lifecycle ``get_state`` always answers ``active``."""

    def __init__(self, name: str, namespace: str, **kwargs):
        super().__init__(name, namespace=namespace or None, **kwargs)
        self.create_service(GetState, "~/get_state", self._get_state)

    def _get_state(self, request, response):
        response.current_state = State(id=State.PRIMARY_STATE_ACTIVE, label="active")
        return response


class Localizer(ActiveLifecycleNode):
    """``amcl``: answers each ``initialpose`` with the base's pose on ``amcl_pose``."""

    def __init__(self, namespace: str, navigation, **kwargs):
        super().__init__("amcl", namespace, **kwargs)
        self.navigation = navigation
        self.answered = 0
        self._pose = self.create_publisher(PoseWithCovarianceStamped, "amcl_pose", AMCL_POSE_QOS)
        self.create_subscription(PoseWithCovarianceStamped, "initialpose", self._on_initial_pose, 10)

    def _on_initial_pose(self, msg):
        if msg.header.frame_id and msg.header.frame_id != self.navigation.frame:
            self.get_logger().warning(f"initialpose in frame {msg.header.frame_id!r}, not {self.navigation.frame!r}: "
                                      "answered with the pose in the map frame")
        self._pose.publish(self.pose())
        self.answered += 1

    def pose(self) -> PoseWithCovarianceStamped:
        base = self.navigation.resource.state
        msg = PoseWithCovarianceStamped()
        msg.header.frame_id = self.navigation.frame
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.pose.pose.position.x, msg.pose.pose.position.y = float(base.x), float(base.y)
        set_yaw(msg.pose.pose.orientation, base.yaw if math.isfinite(base.yaw) else 0.0)
        covariance = [0.0] * 36
        for index, value in COVARIANCE_DIAGONAL.items():
            covariance[index] = value
        msg.pose.covariance = covariance
        return msg


def make_nav2_nodes(namespace: str, navigation, **kwargs) -> list:
    """The stand-ins of Nav2's ``bt_navigator`` and ``amcl`` in ``namespace``."""
    return [ActiveLifecycleNode("bt_navigator", namespace, **kwargs), Localizer(namespace, navigation, **kwargs)]
