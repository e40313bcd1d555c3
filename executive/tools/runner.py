"""``mission run``: the executive in this process (node ``mission_run``, no action server), with
simulated robots in child processes when asked, and a live view of the tree.

Exit codes: 0 succeeded, 1 failed, 2 invalid, 3 a server was unreachable, 130 interrupted.
Ctrl-C (or SIGTERM) halts the mission: its goals are cancelled and waited for, the log is closed,
the simulated robots are stopped; a second Ctrl-C stops waiting.
"""
import math
import os
import pathlib
import signal
import sys
import tempfile
import time

from executive import dds, paths
from executive.language.errors import MissionInvalid
from executive.tools.cli import EXIT_INVALID

# executive.node and executive.run (rclpy, py_trees) are imported where needed, after the sims are
# spawned: start-up overlaps their import with the sims' own.


def robots_of(mission) -> list:
    """The robot namespaces the mission's action and service leaves talk to."""
    robots = set()
    for node in mission.nodes():
        remote = node.fields.get("action") or node.fields.get("service")
        if isinstance(remote, str) and not node.children and not remote.startswith("/"):
            robots.add(node.robot)
    return sorted(robots)


def sim_options(mission) -> list:
    """The mission-sim options that serve the upstream interface types the mission's leaves name
    (``--nav2`` for nav2_msgs, ``--ros2-control`` for control_msgs)."""
    from sim.upstream import PACKAGES

    named = {str(node.fields.get("type") or "").split("/")[0] for node in mission.nodes()}
    return [option for package, (option, _) in PACKAGES.items() if package in named]


def _print_errors(errors):
    for error in errors:
        print(error, file=sys.stderr)


def start_sims(namespaces, time_scale, config_file, fleet: int = 0, options=()):
    """Spawn one ``mission-sim`` per namespace (with ``fleet`` N, robot1..robotN in one process),
    with ``options`` (see :func:`sim_options`), without waiting for them: they start while this
    process sets up. See :func:`wait_sims`."""
    from executive.tools.launcher import SimProcess

    extra = [*options, *(["--config", config_file] if config_file else [])]
    sims = [SimProcess("", *extra, time_scale=time_scale, robots=fleet, wait_ready=False)] if fleet else []
    sims += [SimProcess(namespace, *extra, time_scale=time_scale, wait_ready=False) for namespace in namespaces]
    return sims


def wait_sims(sims, out):
    """Wait until every sim serves; TimeoutError or RuntimeError (naming it) if one does not."""
    for sim in sims:
        sim.wait_ready()
        for namespace in sim.namespaces:
            print(f"simulated robot {namespace or '(no namespace)'} ready", file=out)


def check_log_dir(log_dir) -> str:
    """'' when run logs can be written under ``log_dir`` (made if missing), else why not."""
    from executive.runlog import default_log_dir

    directory = pathlib.Path(log_dir) if log_dir else default_log_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return f"cannot write run logs to {directory}: {exc.strerror or exc}"
    return ""


def run(args) -> int:
    dds.use_profile()
    return _guarded(lambda sims: _run(args, sims))


def _guarded(body) -> int:
    """``body(sims)``, which appends the sims it starts to ``sims``: a MissionInvalid is printed
    (exit code 2) and the sims are stopped, whatever happened."""
    sims = []
    try:
        return body(sims)
    except MissionInvalid as exc:
        _print_errors(exc.errors)
        return EXIT_INVALID
    finally:
        for sim in sims:
            sim.stop()


def _run(args, sims) -> int:
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve
    from executive.tools.cli import mission_file, overrides

    path = mission_file(args.mission, args.missions_dir, args.mission_path)
    # Everything but the leaves' interfaces first: that is enough to know the robots, and
    # their sims then start while this process imports the message packages and rclpy.
    mission = resolve(path, overrides(args.param), check_interfaces=False,
                      roots=paths.mission_roots(args.missions_dir or "", args.mission_path))
    problem = check_log_dir(args.log_dir)
    if problem:         # before anything starts: a run without its log would lose what happened
        print(f"mission run: {problem} (choose another with --log-dir)", file=sys.stderr)
        return EXIT_INVALID
    if args.sim and args.sim_config:
        from sim.config import ConfigError, load_config

        try:
            load_config(args.sim_config)     # every mistake now, before any robot starts
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return EXIT_INVALID
    viewer = None
    if getattr(args, "viewer", False):
        viewer = open_viewer(args)      # before the sims: a taken port fails fast
        if viewer is None:
            return EXIT_INVALID
    if args.sim:
        namespaces = [] if args.robots else robots_of(mission)
        sims.extend(start_sims(namespaces, args.time_scale or 1.0, args.sim_config, fleet=args.robots,
                               options=sim_options(mission)))
    try:
        mission = resolve(path, overrides(args.param))
    except MissionInvalid:
        if viewer is not None:
            viewer.close()
        raise
    _print_errors(mission.warnings)
    return _run_here(args, lambda executive: (mission, compile_mission(mission)), viewer, sims)


def open_viewer(args):
    """``--viewer``: the browser viewer bound to ``--host``/``--port``, or None (message printed)."""
    from executive.viewer import Viewer, ViewerError, is_loopback

    try:
        viewer = Viewer(args.log_dir, args.host, args.port, args.allow_control, allowed_hosts=args.allow_host)
    except ViewerError as exc:
        print(f"mission run: {exc}", file=sys.stderr)
        return None
    if not is_loopback(args.host):
        print(f"mission run: the viewer listens on {args.host}: anyone who can reach it sees the mission"
              + ("; cancel and start need the token in its address" if args.allow_control else ""), file=sys.stderr)
    return viewer


def linger_seconds(args) -> float:
    """How long ``--viewer`` keeps serving after the mission: ``--linger``, else until Ctrl-C on a
    terminal (someone is looking) and not at all into a pipe (scripts and CI must not hang)."""
    if args.linger is not None:
        return max(0.0, args.linger)
    return math.inf if sys.stdout.isatty() else 0.0


def _linger(args, executive, executor, viewer, signals):
    """Serve the final state (and whatever the page starts) until the linger time or Ctrl-C."""
    from executive.node import spin_once, spin_until

    seconds = linger_seconds(args)
    if seconds <= 0 or signals:
        return
    print(f"viewer: showing the final state at {viewer.url} "
          + ("until Ctrl-C" if math.isinf(seconds) else f"for {seconds:g} s"), flush=True)
    deadline = time.monotonic() + seconds
    while not signals and time.monotonic() < deadline:
        spin_once(executor, 0.1)
    if executive.halt("mission run is exiting"):     # a mission started from the page
        spin_until(executor, lambda: executive.run.done, executive.get_parameter("halt_timeout").value + 1.0)


def resume(args) -> int:
    """``mission resume [RUN]``: continue an interrupted run (default: the newest one in the log
    directory) here, from its last checkpoint (executive/resume.py), with the live view."""
    from executive import resume as resuming
    from executive.runlog import default_log_dir

    dds.use_profile()
    log_dir = args.log_dir or default_log_dir()
    try:
        plan = resuming.plan_for(log_dir, args.run or "latest", "")
    except resuming.ResumeError as exc:
        print(f"mission resume: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return _guarded(lambda sims: _resume(args, plan, sims))


def _resume(args, plan, sims) -> int:
    from executive.language.resolve import Resolver
    from executive.tools.cli import overrides

    if args.sim:
        text = plan.mission_text
        # Interfaces unchecked: enough to know the robots (as mission run does before its sims start).
        resolver = Resolver(paths.missions_dir(), check_interfaces=False,
                            roots=paths.mission_roots(path=args.mission_path))
        mission = resolver.text(text, overrides(plan.overrides)) if text is not None else \
            resolver.mission(plan.mission_file, overrides(plan.overrides))
        sims.extend(start_sims(robots_of(mission), args.time_scale or 1.0, args.sim_config,
                               options=sim_options(mission)))
    print(f"resuming run {plan.run_id} ({plan.checkpoints} checkpoint(s); "
          f"to run again: {', '.join(plan.again) or 'nothing running'})", flush=True)
    return _run_here(args, lambda executive: executive.prepare_resume(plan), sims=sims)


def _run_here(args, prepare, viewer=None, sims=()) -> int:
    """Run a mission on an executive node in this process, once ``sims`` (spawned, starting
    meanwhile: importing rclpy and making the node overlap their start) serve. ``prepare(node)``
    gives what :meth:`ExecutiveNode.start` takes as ``loaded`` (or a RunResult: not started): the
    resolved mission compiled, or an interrupted run set back to its checkpoint."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions

    from executive import run as runs
    from executive.tools.live import LiveView
    from executive.node import EXIT_CODES, ExecutiveNode, freeze_startup_objects, spin_once

    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    overrides = [Parameter("tick_rate", value=float(args.tick_rate)), Parameter("log_dir", value=args.log_dir or "")]
    if getattr(args, "missions_dir", None):      # mission resume has none: the run's files are known
        overrides.append(Parameter("missions_dir", value=args.missions_dir))
    if args.mission_path:
        overrides.append(Parameter("mission_path", value=os.pathsep.join(args.mission_path)))
    if getattr(args, "groot2", None) is not None:
        overrides += [Parameter("groot2", value=True), Parameter("groot2_port", value=args.groot2),
                      Parameter("groot2_host", value=args.groot2_host or "127.0.0.1")]
    try:
        executive = ExecutiveNode("mission_run", serve=False, parameter_overrides=overrides)
    except ValueError as exc:       # a value out of range (--tick-rate 1e9)
        print(f"mission run: {exc}", file=sys.stderr)
        if viewer is not None:
            viewer.close()
        rclpy.try_shutdown()
        return EXIT_CODES[runs.INVALID]
    executive.get_logger().set_level(rclpy.logging.LoggingSeverity.WARN)   # the live view says it all
    # The mission's own log messages (log leaves) appear in the live view, in their place among the
    # status changes, and in the run log; printed by rclpy as well they would come out of order.
    executive.get_logger().get_child("log").set_level(rclpy.logging.LoggingSeverity.FATAL)
    freeze_startup_objects()
    executor = SingleThreadedExecutor()
    executor.add_node(executive)
    signals = []

    def on_signal(signum, _frame):
        signals.append(signum)      # acted on by the loop below, outside any callback
        if len(signals) > 1:
            raise KeyboardInterrupt
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    if viewer is not None:
        executive.viewer = viewer.attach(executive).start()     # closed with the node
        print(f"viewer: {viewer.page_url}", flush=True)
    if executive.groot2 is not None:
        print(f"groot2: connect to {executive.groot2.host} port {executive.groot2.port}", flush=True)
    try:
        executive.recover_interrupted(executor)
        try:
            wait_sims(sims, sys.stderr)
        except (TimeoutError, RuntimeError) as exc:
            print(f"mission run: could not start the simulated robots: {exc}", file=sys.stderr)
            # A sim that exits at once was given bad arguments; one that never gets ready is unreachable.
            return EXIT_CODES[runs.INVALID if isinstance(exc, RuntimeError) else runs.UNREACHABLE]
        prepared = prepare(executive)
        started = prepared if isinstance(prepared, runs.RunResult) else \
            executive.start(prepared[0].file, getattr(args, "param", ()), loaded=prepared)
        if isinstance(started, runs.RunResult):
            if started.message and not started.errors:
                print(f"mission: {started.message}", file=sys.stderr)
            _print_errors(started.errors)
            return EXIT_CODES[runs.INVALID]
        view = LiveView()
        executive.listeners.append(view.update)
        try:
            while not started.done:
                if signals:
                    executive.halt(f"interrupted by {signal.Signals(signals[0]).name}", runs.INTERRUPTED)
                spin_once(executor, 0.1)
        finally:
            executive.listeners.remove(view.update)
            view.close()        # the terminal leaves the live display whatever happened
        result = started.result
        print(f"mission {started.mission.name} {result.outcome} after {started.elapsed():.2f} s"
              + (f": {result.message}" if result.outcome != runs.SUCCEEDED else ""))
        print(f"log: {started.log.directory}  (mission report {started.log.directory})", flush=True)
        status = 130 if signals else EXIT_CODES[result.outcome]
        if viewer is not None:
            _linger(args, executive, executor, viewer, signals)
        return status
    except KeyboardInterrupt:
        print("mission run: interrupted again; not waiting for goals to end", file=sys.stderr)
        return 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # cleanup must not be interrupted
        executor.shutdown()
        executive.destroy_node()
        rclpy.try_shutdown()
        signal.signal(signal.SIGINT, signal.default_int_handler)

