"""``mission send``: send a goal to a running executive, print its feedback and result.

Exit codes as ``mission run`` (0 succeeded, 1 failed, 2 invalid, 3 unreachable, 130 cancelled),
and 3 when no executive answers within ``--wait``, 1 when the executive rejects the goal (busy).
Ctrl-C cancels the goal and waits for its result.
"""
import signal
import sys
import time

from executive import paths

OUTCOME_NAMES = {0: "succeeded", 1: "failed", 2: "invalid", 3: "canceled", 4: "unreachable"}
EXIT_CODES = {0: 0, 1: 1, 2: 2, 3: 130, 4: 3}
SERVER_GONE_AFTER = 2.0    # s without the action server before a waiting send gives up


def send(args) -> int:
    import os
    import pathlib

    import rclpy
    from rclpy.action import ActionClient
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from executive.node import spin_until as _spin_until
    from mission_interfaces.action import ExecuteMission

    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(paths.fastdds_profile()))
    mission = args.mission
    if args.text:
        mission = pathlib.Path(args.mission).read_text()
    elif pathlib.Path(mission).is_file():
        mission = str(pathlib.Path(mission).resolve())    # a path the executive can open (same machine)
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(f"mission_send_{os.getpid()}")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    client = ActionClient(node, ExecuteMission, args.action)
    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    try:
        if not _spin_until(executor, client.server_is_ready, args.wait):
            print(f"mission send: no executive serves {args.action} (waited {args.wait:g} s)", file=sys.stderr)
            return 3
        last = {}

        def on_feedback(message):
            fb = message.feedback
            shown = (fb.active_path, fb.paused)
            if shown != last.get("shown"):
                last["shown"] = shown
                pause = " PAUSED" if fb.paused else ""
                print(f"[{fb.elapsed.sec + fb.elapsed.nanosec * 1e-9:7.2f} s {100 * fb.progress:3.0f}%]{pause} "
                      f"{fb.active_path}", flush=True)
        accept = client.send_goal_async(ExecuteMission.Goal(mission=mission, parameters=list(args.param)),
                                        feedback_callback=on_feedback)
        if not _spin_until(executor, accept.done, args.wait):
            print(f"mission send: {args.action} did not answer the goal within {args.wait:g} s", file=sys.stderr)
            return 3
        handle = accept.result()
        if not handle.accepted:
            print(f"mission send: {args.action} rejected the goal (a mission is running and its goal_policy "
                  "is reject)", file=sys.stderr)
            return 1
        result_future = handle.get_result_async()
        cancel_sent = False
        gone_since = None
        while not result_future.done():
            if client.server_is_ready():
                gone_since = None
            elif gone_since is None:
                gone_since = time.monotonic()
            elif time.monotonic() - gone_since > SERVER_GONE_AFTER:
                print(f"mission send: the executive at {args.action} went away before sending the result",
                      file=sys.stderr)
                return 3
            if interrupted and not cancel_sent:
                print("mission send: cancelling ...", file=sys.stderr)
                handle.cancel_goal_async()
                cancel_sent = True
            executor.spin_once(timeout_sec=0.1)
        result = result_future.result().result
        print(f"mission {OUTCOME_NAMES.get(result.outcome, result.outcome)}: {result.message}")
        if result.failed_behavior:
            print(f"failed behaviour: {result.failed_behavior}")
        for error in result.errors:
            print(error, file=sys.stderr)
        return EXIT_CODES.get(result.outcome, 1)
    finally:
        signal.signal(signal.SIGINT, previous)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
