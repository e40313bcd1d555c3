"""A small Charge action server for the example plugin: the charge rises by ``--rate`` a second
until the goal's target, with feedback; a target below the charge now succeeds at once.

    example-charger [--namespace robot1] [--start 0.2] [--rate 0.5]

Prints READY once serving; SIGINT or SIGTERM ends it.
"""
import argparse
import signal
import sys
import threading
import time

import rclpy
from rclpy.action import ActionServer
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from mission_example_interfaces.action import Charge


class Charger:
    def __init__(self, node, start=0.2, rate=0.5):
        self.node, self.charge, self.rate = node, float(start), float(rate)
        self.server = ActionServer(node, Charge, "charge", self.execute)

    def execute(self, goal_handle):
        target = min(1.0, float(goal_handle.request.target))
        while self.charge < target and rclpy.ok():
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return Charge.Result(success=False, percentage=self.charge, message="canceled")
            time.sleep(0.05)
            self.charge = min(target, self.charge + self.rate * 0.05)
            goal_handle.publish_feedback(Charge.Feedback(percentage=self.charge))
        goal_handle.succeed()
        return Charge.Result(success=True, percentage=self.charge, message=f"charged to {self.charge:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="example-charger", description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", default="")
    parser.add_argument("--start", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=0.5)
    args = parser.parse_args(rclpy.utilities.remove_ros_args(argv if argv is not None else sys.argv)[1:])
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = Node("charger", namespace=args.namespace or None)
    Charger(node, args.start, args.rate)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    print("READY", flush=True)
    try:
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
