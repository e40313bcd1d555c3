"""The ``mission-sim`` process: stopping on a signal at any moment, and one sim per robot.

**Stopping.** rclpy's own signal handlers shut the context down from a thread of their own, at any
moment; the main thread may then be between checking the context and using it, and dies with
``RCLError: failed to initialize wait set: the given context is not valid`` (or "publisher's
context is invalid" in a timer), while Python's KeyboardInterrupt lands anywhere, cleanup included
(a terminal's Ctrl-C and ``ros2 launch`` each send a SIGINT). So the process takes SIGINT and
SIGTERM over before anything else runs: :class:`StopRequest` blocks them in every thread (threads
inherit the mask, DDS's included) and one thread takes them with ``sigwait`` and only *requests*
the stop. The main thread notices between callbacks, or between start-up steps, and tears down in
order; later signals are taken and dropped. A signal that arrives before the process's first line
runs (the interpreter's own start-up) is Python's to handle, unless the parent started the process
with the signals blocked, as :mod:`executive.tools.launcher` does.

**One sim per robot.** :func:`other_sim` finds another live sim serving the same node name and
namespace on this domain, so that ``mission-sim`` refuses to start a second one (two servers per
action name would both drive). A sim counts as present only if its ``sim_status`` answers: a killed
sim stays in the graph until its DDS lease runs out (3 s with our profile) and must not block its
restart. The look is bounded by discovery (``PRESENCE_SETTLE``): a sim the graph has not shown by
then is not seen, which costs each start up to that long.
"""
import faulthandler
import json
import os
import signal
import threading
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# A main thread that does not come back to Python for this long is stuck: faulthandler's own thread
# (no GIL needed) then prints every thread's stack and exits 1. Seen: Fast DDS 3.2's event thread and
# a receive thread deadlocked on the PDP mutex when a peer left the graph during our start-up
# (eProsima/Fast-DDS#6502); the sim would otherwise hang forever, deaf to signals.
HANG_BOUND = 60.0

# How long a new participant looks for another sim: discovering a running sim took 0.2-1.4 s after
# rclpy.init here (measured 2026-11-30, six participants on the domain, our Fast DDS profile).
PRESENCE_SETTLE = 1.5
# How long a present sim gets to answer sim_status (a just-matched server can take ~1 s; see the
# Fast DDS profile's notes).
ANSWER_TIMEOUT = 2.0


class StopRequest:
    """SIGINT and SIGTERM, taken by a thread of their own: ``signal`` is the first one (None until
    then), and ``future`` (an rclpy Future, made on first use) completes with it. Create it in the
    main thread before any other thread exists."""

    def __init__(self):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        watchdog()
        self.signal = None
        self._future = None
        self._lock = threading.Lock()
        threading.Thread(target=self._take_signals, name="stop-signals", daemon=True).start()

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def future(self):
        from rclpy.task import Future

        with self._lock:
            if self._future is None:
                self._future = Future()
                if self.signal is not None:
                    self._future.set_result(self.signal)
            return self._future

    def _take_signals(self):
        first = signal.sigwait(STOP_SIGNALS)
        with self._lock:
            self.signal = first
            future = self._future
        if future is not None:
            future.set_result(first)
        while True:                 # a second Ctrl-C (terminal and launch) changes nothing
            signal.sigwait(STOP_SIGNALS)


def watchdog() -> None:
    """(Re)arm the hang watchdog: ``HANG_BOUND`` s from now, unless armed again before."""
    faulthandler.dump_traceback_later(HANG_BOUND, exit=True)


def spin_until_stopped(executor, node, stop: StopRequest) -> None:
    """Run ``executor``'s callbacks until a stop is requested (or its context is shut down),
    re-arming the hang watchdog from a timer of ``node``; the last arming covers the teardown."""
    future = stop.future
    timer = node.create_timer(HANG_BOUND / 4, watchdog)
    watchdog()
    try:
        if not future.done():
            executor.spin_until_future_complete(future)
    finally:
        node.destroy_timer(timer)
        watchdog()


def other_sim(node, since: float, settle: float = PRESENCE_SETTLE, answer_timeout: float = ANSWER_TIMEOUT,
              stop: StopRequest = None):
    """The ``sim_status`` report (a dict) of another live sim with ``node``'s name and namespace on
    this domain, or None.

    Looks at the graph as ``node``'s participant discovers it, until ``settle`` s after ``since``
    (the ``time.monotonic()`` before ``rclpy.init``, when the participant was made) for a second
    node with ``node``'s name and namespace; one that is there must answer ``sim_status`` within
    ``answer_timeout`` to count. Call it before this process serves ``sim_status`` itself, so that
    only the other can answer; the probe is a node of its own, so nothing else of ``node`` runs.
    A ``stop`` requested meanwhile ends the look (None)."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from std_srvs.srv import Trigger

    me = (node.get_name(), node.get_namespace())
    probe = Node(f"sim_presence_probe_{os.getpid()}", context=node.context, start_parameter_services=False,
                 enable_rosout=False, use_global_arguments=False)
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(probe)
    try:
        while probe.get_node_names_and_namespaces().count(me) < 2:
            if time.monotonic() >= since + settle or (stop is not None and stop.requested):
                return None
            executor.spin_once(timeout_sec=0.02)
        client = probe.create_client(Trigger, "/".join([me[1].rstrip("/"), "sim_status"]))
        deadline = time.monotonic() + answer_timeout
        while not client.service_is_ready():
            if time.monotonic() > deadline:
                return None
            executor.spin_once(timeout_sec=0.02)
        answer = client.call_async(Trigger.Request())
        executor.spin_until_future_complete(answer, timeout_sec=max(0.0, deadline - time.monotonic()))
        if not answer.done():
            return None
        try:
            return json.loads(answer.result().message)
        except ValueError:
            return {}
    finally:
        executor.shutdown()
        probe.destroy_node()


def refusal(namespace: str, report: dict) -> str:
    """The message for a sim refused because ``report`` (the other's sim_status) answered."""
    process = report.get("process") or {}
    who = (f"process {process['pid']} on {process.get('host', '?')}" if "pid" in process
           else "another process")
    return (f"robot {namespace} is already simulated on ROS_DOMAIN_ID {os.environ.get('ROS_DOMAIN_ID', '0')} "
            f"by {who}: stop it first, or give this one another --namespace")


def main(argv=None):
    """``mission-sim``: signals first (see :class:`StopRequest`), then the sim itself."""
    stop = StopRequest()
    from sim.robot import main as run_sim     # rclpy's import is most of the start-up time
    return run_sim(argv, stop)
