"""Test-side ROS plumbing: an rclpy session in the test process, real action and service calls,
and simulated robots in their own processes. Nothing here replaces rclpy; it only waits on it
with deadlines so that a broken server fails a test instead of hanging it.
"""
import importlib
import itertools
import json
import os
import time

import py_trees
import rclpy
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from std_srvs.srv import Trigger

from executive.tools.launcher import SimProcess

_names = itertools.count()
SIM_TIME_SCALE = 4.0  # the shared per-module sim runs four simulated seconds per wall second


def importable(module: str) -> bool:
    """Whether ``module`` imports (an upstream package that is not on PyPI may be missing)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def unique_name(prefix: str) -> str:
    return f"{prefix}{os.getpid()}_{next(_names)}"


class RosSession:
    """One rclpy context, node and single-threaded executor for the test process."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(unique_name("test_client_"), context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._clients = {}
        self.trees = []     # trees set up on this node, shut down after each test

    def shutdown_trees(self):
        for root in self.trees:
            root.stop(py_trees.common.Status.INVALID)
            for behaviour in root.iterate():
                behaviour.shutdown()
        self.trees.clear()

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    # -- waiting -----------------------------------------------------------------------------
    def wait(self, future, timeout: float):
        """Spin until ``future`` is done; return its result or raise TimeoutError."""
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        if not future.done():
            raise TimeoutError(f"no answer within {timeout} s")
        return future.result()

    def spin_until(self, predicate, timeout: float, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not reached within {timeout} s")
            self.executor.spin_once(timeout_sec=0.02)

    # -- clients -----------------------------------------------------------------------------
    def action_client(self, action_type, name: str, timeout: float = 15.0) -> ActionClient:
        key = (action_type, name)
        if key not in self._clients:
            client = ActionClient(self.node, action_type, name)
            self.spin_until(client.server_is_ready, timeout, f"action server {name}")
            self._clients[key] = client
        return self._clients[key]

    def service_client(self, srv_type, name: str, timeout: float = 15.0):
        key = (srv_type, name)
        if key not in self._clients:
            client = self.node.create_client(srv_type, name)
            self.spin_until(client.service_is_ready, timeout, f"service {name}")
            self._clients[key] = client
        return self._clients[key]

    def call(self, srv_type, name: str, request, timeout: float = 15.0):
        return self.wait(self.service_client(srv_type, name).call_async(request), timeout)

    def send_goal(self, action_type, name: str, goal) -> "GoalCall":
        return GoalCall(self, self.action_client(action_type, name), goal)

    def set_parameters(self, node_name: str, params: dict, timeout: float = 10.0):
        key = ("parameters", node_name)
        if key not in self._clients:
            self._clients[key] = AsyncParameterClient(self.node, node_name)
        client = self._clients[key]
        self.spin_until(client.services_are_ready, timeout, f"parameter services of {node_name}")
        response = self.wait(client.set_parameters([Parameter(k, value=v) for k, v in params.items()]), timeout)
        failed = [r.reason for r in response.results if not r.successful]
        assert not failed, f"setting {params} on {node_name} failed: {failed}"


class GoalCall:
    """One goal sent through a real ActionClient, with its feedback collected."""

    def __init__(self, ros: RosSession, client: ActionClient, goal):
        self.ros = ros
        self.feedback = []
        self.sent_at = time.monotonic()
        self._accept = client.send_goal_async(goal, feedback_callback=lambda m: self.feedback.append(m.feedback))
        self._result = None
        self.handle = None

    def accepted(self, timeout: float = 10.0) -> bool:
        self.handle = self.ros.wait(self._accept, timeout)
        return self.handle.accepted

    def result(self, timeout: float = 30.0):
        """Wait for the result; return (GoalStatus code, result message)."""
        if self.handle is None:
            try:
                assert self.accepted(timeout), "goal was rejected"
            except TimeoutError:
                raise TimeoutError(f"no answer to the goal request within {timeout} s") from None
        if self._result is None:
            self._result = self.handle.get_result_async()
        try:
            response = self.ros.wait(self._result, timeout)
        except TimeoutError:
            raise TimeoutError(f"goal accepted, but no result within {timeout} s") from None
        return response.status, response.result

    def cancel(self, timeout: float = 10.0):
        return self.ros.wait(self.handle.cancel_goal_async(), timeout)


def start_sim(ros: RosSession, namespace: str, *extra, timeout: float = 20.0, **kwargs) -> SimProcess:
    """A new sim, ready for this session: READY printed, and one sim_status round trip done.
    ``extra``: more mission-sim arguments (e.g. ``--nav2``).

    The round trip is retried: the first answer of a server that has only just appeared can be
    lost while DDS is still matching its endpoints to ours.
    """
    sim = SimProcess(namespace, *extra, **kwargs)
    deadline = time.monotonic() + timeout
    client = ros.service_client(Trigger, sim.name("sim_status"), timeout=timeout)
    while True:
        future = client.call_async(Trigger.Request())
        ros.executor.spin_until_future_complete(future, timeout_sec=1.0)
        if future.done():
            return sim
        client.remove_pending_request(future)
        if time.monotonic() > deadline:
            sim.stop()
            raise TimeoutError(f"sim {namespace} never answered sim_status: {sim.stderr()}")


def restart_sim(ros: RosSession, sim: SimProcess, timeout: float = 30.0) -> SimProcess:
    """SIGKILL ``sim`` (a crash: no goodbye to DDS, its goals die with it) and start the same robot
    again, as it was started, under the same namespace; return the new one once its ``sim_status``
    answers from the new process. The old one's lease (3 s) may not have run out: the new sim does
    not count it as present, since it does not answer (sim/process.py)."""
    sim.kill()
    sim.stop()                      # removes its config file
    options = dict(sim.options)
    new = start_sim(ros, sim.namespace, *options.pop("extra"), timeout=timeout, **options)
    deadline = time.monotonic() + timeout
    while sim_status(ros, new)["process"]["pid"] != new.proc.pid:
        if time.monotonic() > deadline:
            new.stop()
            raise TimeoutError(f"sim {sim.namespace} restarted, but sim_status answers from another process")
    return new


def sim_status(ros: RosSession, sim: SimProcess) -> dict:
    """The sim's own account of its goals (see sim/robot.py)."""
    return json.loads(ros.call(Trigger, sim.name("sim_status"), Trigger.Request()).message)


def run_tree(ros: RosSession, root, timeout: float, until=None, setup_timeout: float = 15.0):
    """Set up ``root`` on the session's node and tick it until it stops RUNNING (or ``until()``).

    Between ticks the executor runs ROS callbacks; any callback (feedback, result, a leaf's wake)
    ends the wait, so the tree ticks as events arrive, as the executive does. Returns the status.
    """
    if root not in ros.trees:
        py_trees.trees.setup(root, timeout=setup_timeout, node=ros.node)
        ros.trees.append(root)
    deadline = time.monotonic() + timeout
    while True:
        root.tick_once()
        if root.status != py_trees.common.Status.RUNNING or (until is not None and until()):
            return root.status
        if time.monotonic() > deadline:
            raise TimeoutError(f"tree still {root.status} after {timeout} s: {root.feedback_message}")
        ros.executor.spin_once(timeout_sec=0.05)


class SimByName:
    """A simulated robot started by someone else (ros2 launch): only its namespace is known."""

    def __init__(self, namespace: str):
        self.namespace = namespace.strip("/")

    @property
    def node_name(self) -> str:
        return f"/{self.namespace}/robot_sim" if self.namespace else "/robot_sim"

    def name(self, relative: str) -> str:
        return f"/{self.namespace}/{relative}" if self.namespace else f"/{relative}"
