"""``mission send``: send a goal to a running executive, print its feedback and result.

Exit codes as ``mission run`` (0 succeeded, 1 failed, 2 invalid, 3 unreachable, 130 cancelled),
and 3 when no executive answers within ``--wait`` or it goes away mid-mission, 1 when the
executive rejects the goal (busy). Ctrl-C cancels the goal and waits for its result.
The ROS side is the scripting API's (executive/tools/api.py): one client of ExecuteMission.
"""
import signal
import sys

from executive import dds



def send(args) -> int:
    import os
    import pathlib

    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from executive.tools.api import Executive, ExecutiveError
    from executive import paths, run as runs
    from executive.node import EXIT_CODES

    dds.use_profile()
    mission = args.mission
    if args.text or paths.is_file(mission):
        # The contents, not the path: an executive takes goals naming missions in its own mission
        # directories only (README: "Hostile input"), and may run on another machine.
        try:
            mission = pathlib.Path(args.mission).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"mission send: cannot read {args.mission}: {exc}", file=sys.stderr)
            return 2
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    executive = Executive(f"mission_send_{os.getpid()}", action=args.action)
    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    shown = []

    def on_feedback(fb):
        if (fb.active_path, fb.paused) != (shown[-1] if shown else None):
            shown.append((fb.active_path, fb.paused))
            pause = " PAUSED" if fb.paused else ""
            print(f"[{fb.elapsed:7.2f} s {100 * fb.progress:3.0f}%]{pause} {fb.active_path}", flush=True)
    try:
        if not executive.run(mission, list(args.param), timeout=args.wait, feedback_callback=on_feedback):
            print(f"mission send: {executive.action_name} rejected the goal (a mission is running and its "
                  "goal_policy is reject)", file=sys.stderr)
            return 1
        cancel_sent = False
        while not executive.is_complete():
            if interrupted and not cancel_sent:
                print("mission send: cancelling ...", file=sys.stderr)
                executive.cancel(timeout=args.wait)
                cancel_sent = True
        result = executive.result()
        said = result.message and result.message != f"mission {result.outcome}"
        print(f"mission {result.outcome}" + (f": {result.message}" if said else ""))
        if result.failed_behavior:
            print(f"failed behaviour: {result.failed_behavior}")
        for error in result.errors:
            print(error, file=sys.stderr)
        return EXIT_CODES.get(result.outcome, EXIT_CODES[runs.ERROR])     # unset/unknown: never 0
    except ExecutiveError as exc:
        print(f"mission send: {exc}", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGINT, previous)
        executive.destroy_node()
        rclpy.try_shutdown()
