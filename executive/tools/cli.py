"""The ``mission`` command: validate, render, export and list missions (YAML or BT.CPP XML); run
one here (``run``, optionally with simulated robots), send one to a running executive (``send``),
and read a run's log (``report``) or replay it in the browser (``view``).

Exit codes: 0 success, 1 mission failed, 2 invalid mission (errors printed, one per line,
file:line:col: path: message), 3 a server or the executive was unreachable, 130 interrupted.
"""
import argparse
import os
import pathlib
import sys

from executive import paths
from executive.language.errors import MissionError, MissionInvalid

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
RENDER_FORMATS = ("ascii", "unicode", "dot", "svg", "png")


def mission_file(name: str, missions_dir=None, search=()) -> pathlib.Path:
    """The file of mission ``name`` (a path, or a name looked up as paths.mission_candidates
    says, the current directory and the search path ``search`` included); MissionInvalid saying
    where it looked otherwise."""
    path = paths.find_mission(name, missions_dir, here=True, path=search or ())
    if paths.is_file(path):
        return path
    looked = ", ".join(str(c) for c in paths.mission_candidates(name, missions_dir, here=True, path=search or ()))
    raise MissionInvalid([MissionError(name, 0, 0, "", "no such mission file", f"looked for {looked}")])


def overrides(pairs) -> dict:
    """``-p name=value`` options as values; MissionInvalid naming each option that is not a value."""
    from executive.language.resolve import parse_overrides

    return parse_overrides(pairs)


def load_tree(path, params=(), search=()):
    """(mission, py_trees root) for a YAML mission; includes may name files in the mission roots
    of the search path ``search`` (--mission-path); raises MissionInvalid."""
    from executive.language.compiler import compile_mission
    from executive.language.resolve import resolve

    mission = resolve(path, overrides(params), roots=paths.mission_roots(path=search or ()))
    return mission, compile_mission(mission)


def print_errors(errors):
    for error in errors:
        print(error, file=sys.stderr)


def cmd_validate(args) -> int:
    from executive.language import loader
    from executive.language.resolve import check_library, is_library

    status = EXIT_OK
    for name in args.files:
        try:
            path = mission_file(name, search=args.mission_path)
            if path.suffix == ".yaml" and is_library(loader.load(path)):
                warnings = check_library(path, roots=paths.mission_roots(path=args.mission_path))
            else:
                warnings = load_tree(path, args.param, args.mission_path)[0].warnings
            print_errors(warnings)
            counted = f" ({len(warnings)} warning{'s' if len(warnings) > 1 else ''})" if warnings else ""
            print(f"{path}: valid{counted}")
        except MissionInvalid as exc:
            print_errors(exc.errors)
            status = EXIT_INVALID
    return status


def cmd_render(args) -> int:
    import subprocess

    from executive.tools import render

    _, root = load_tree(mission_file(args.file, search=args.mission_path), args.param, args.mission_path)
    rows = render.rows_of(root)
    if args.format in ("ascii", "unicode"):
        print(render.text_tree(rows, unicode=args.format == "unicode"))
        return EXIT_OK
    text = render.dot(rows, root.name)
    if args.format == "dot":
        sys.stdout.write(text)
        return EXIT_OK
    output = args.output or f"{root.name}.{args.format}"
    try:
        done = subprocess.run(["dot", f"-T{args.format}"], input=text.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        print(f"mission render: {args.format} needs Graphviz's dot program (apt-get install graphviz)",
              file=sys.stderr)
        return EXIT_FAILED
    if done.returncode != 0:
        print(f"mission render: dot failed: {done.stderr.decode(errors='replace').strip()}", file=sys.stderr)
        return EXIT_FAILED
    pathlib.Path(output).write_bytes(done.stdout)
    print(output)
    return EXIT_OK


def cmd_export(args) -> int:
    from executive.language import btcpp
    from executive.language.resolve import resolve

    mission = resolve(mission_file(args.file, search=args.mission_path), overrides(args.param),
                      roots=paths.mission_roots(path=args.mission_path))
    text = btcpp.dumps(mission)
    if args.output:
        pathlib.Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_behaviors(args) -> int:
    """The installed plugins' behaviours (or every kind, --all): kind, package, documentation,
    parameters with their types, defaults and bounds, and the blackboard keys read and written."""
    from behaviors.plugins import registry
    from executive.language.kinds import BUILTIN, KINDS

    plugins = registry()
    kinds = [k for k in KINDS if args.all or k not in BUILTIN]
    if not kinds:
        print("no behaviour plugins installed (entry-point group mission_executive.behaviors)")
    for kind in kinds:
        plugin = plugins.get(kind)
        origin = f"  (package {plugin.package}: {plugin.entry_point})" if plugin else "  (built in)"
        print(f"{kind}: {KINDS[kind].doc}{origin}")
        for name, spec in KINDS[kind].fields.items():
            notes = [spec.type, "required" if spec.required else f"default {spec.default!r}" if
                     spec.default is not None else "optional"]
            if spec.bounds():
                notes.append(spec.bounds())
            print(f"    {name} ({', '.join(notes)}){': ' + spec.doc if spec.doc else ''}")
        for title, keys in (("reads", plugin.reads if plugin else {}), ("writes", plugin.writes if plugin else {})):
            for key, doc in keys.items():
                print(f"    {title} blackboard {key}: {doc}")
    return EXIT_OK


def cmd_schema(args) -> int:
    """The JSON Schema of missions, the installed plugins' kinds included, for editors."""
    from executive.language import schema

    text = schema.dumps(schema.builtin() if args.builtin else schema.SCHEMA)
    if args.output:
        pathlib.Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _parameters_text(declared) -> str:
    parts = []
    for name, spec in (declared or {}).items():
        spec = spec or {}
        parts.append(f"{name}={spec['default']}" if "default" in spec else f"{name} ({spec.get('type', '?')}, required)")
    return ", ".join(parts)


def cmd_list(args) -> int:
    """The missions of a directory: name, description and parameters (name=default)."""
    from executive.language import loader

    directory = pathlib.Path(args.dir) if args.dir else paths.missions_dir()
    if not directory.is_dir():
        print(f"mission list: {directory} is not a directory", file=sys.stderr)
        return EXIT_INVALID
    found = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = loader.load(path)
        except MissionInvalid:
            found.append((path.stem, "(unreadable)", ""))
            continue
        if "tree" in doc:
            found.append((path.stem, " ".join(str(doc.get("description") or "").split()),
                          _parameters_text(doc.get("parameters"))))
    width = max([len(name) for name, _, _ in found] + [4])
    for name, description, parameters in found:     # one line each, so grep finds a mission whole
        print(f"{name:{width}}  " + (f"({parameters})  " if parameters else "") + description)
    return EXIT_OK


def cmd_run(args) -> int:
    from executive.tools import runner
    return runner.run(args)


def cmd_resume(args) -> int:
    from executive.tools import runner
    return runner.resume(args)


def cmd_send(args) -> int:
    from executive.tools import client
    return client.send(args)


def cmd_view(args) -> int:
    """``mission view``: the browser viewer over run logs alone (replay), until Ctrl-C or SIGTERM."""
    import signal
    import time

    from executive.viewer import Viewer, ViewerError

    log_dir, run_id = args.log_dir, args.run or ""
    if run_id and pathlib.Path(run_id).is_dir():      # a run directory: its parent is the log dir
        log_dir, run_id = str(pathlib.Path(run_id).resolve().parent), pathlib.Path(run_id).resolve().name
    try:
        viewer = Viewer(log_dir, args.host, args.port, live=False, allowed_hosts=args.allow_host)
    except ViewerError as exc:
        print(f"mission view: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if run_id and not (viewer.server.log_dir / run_id).is_dir():
        print(f"mission view: no run {run_id!r} in {viewer.server.log_dir}", file=sys.stderr)
        viewer.close()
        return EXIT_INVALID
    stopped = []

    def on_signal(signum, _frame):
        stopped.append(signum)
    # Set here, as mission run and the executive do: a process started in the background by a
    # non-interactive shell (a CI script, `cmd &`) inherits SIGINT ignored, and Ctrl-C or the
    # test's SIGINT would then never stop it (seen: it ran on after SIGINT in such a CI run).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    viewer.start()
    print(f"viewer: {viewer.url}" + (f"#run={run_id}" if run_id else "") + f"  (logs in {viewer.server.log_dir}; "
          "Ctrl-C stops)", flush=True)
    try:
        while not stopped:
            # The server runs on its own thread; this one waits for a signal. Short sleeps, not
            # signal.pause(): a signal that lands just before pause() would leave it waiting forever.
            time.sleep(0.2)
    finally:
        viewer.close()
    return EXIT_OK


def add_viewer_arguments(p, control: bool):
    p.add_argument("--port", type=int, default=8765, metavar="P", help="the viewer's port (0: any free one)")
    p.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="the viewer's address (default 127.0.0.1; anything else exposes it to the network)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another host name the viewer answers to (besides its addresses, localhost and this "
                        "machine's names)")
    if control:
        p.add_argument("--allow-control", action="store_true", help="with --viewer: cancel and start buttons")
        p.add_argument("--linger", type=float, metavar="S", help="with --viewer: keep serving S seconds after "
                       "the mission (default: until Ctrl-C on a terminal, else not at all)")


def cmd_report(args) -> int:
    from executive.tools import report
    try:
        print(report.main(args.log, failures=args.failures, leaf=args.leaf, as_json=args.json))
    except (OSError, ValueError) as exc:
        print(f"mission report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def add_search_path(parser):
    parser.add_argument("--mission-path", action="append", default=[], metavar="DIRS",
                        help=f"directories of missions and libraries (':'-separated, or repeated), searched "
                             f"for missions by name and for included files, before ${paths.ENVIRONMENT}'s and the "
                             "package's own")


def build_parser():
    parser = argparse.ArgumentParser(prog="mission", description="Behaviour-tree missions for ROS 2.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check missions; exit 2 with every error when one is invalid")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    add_search_path(p)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("render", help="print the compiled tree")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", "-f", choices=RENDER_FORMATS, default="unicode")
    p.add_argument("--output", "-o", help="file for svg/png (default: <mission>.<format>)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    add_search_path(p)
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("export", help="write the resolved mission as BehaviorTree.CPP v4 XML (Groot2)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=["btcpp-xml"], default="btcpp-xml")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    add_search_path(p)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("run", help="run a mission here, with a live view (and simulated robots with --sim)")
    p.add_argument("mission", metavar="MISSION", help="a mission name or file")
    p.add_argument("--sim", action="store_true", help="start simulated robots first (one process each)")
    p.add_argument("--robots", type=int, metavar="N",
                   help="with --sim: start robot1..robotN (default: the robots the mission uses)")
    p.add_argument("--time-scale", type=float, help="with --sim: simulated seconds per second (default 1)")
    p.add_argument("--sim-config", metavar="FILE", help="with --sim: YAML merged over the sim's configuration")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--tick-rate", type=float, default=10.0, metavar="HZ")
    p.add_argument("--log-dir", help="where the run log goes (default ~/.ros/mission_logs)")
    p.add_argument("--missions-dir", help="look here for missions by name first")
    add_search_path(p)
    p.add_argument("--viewer", action="store_true", help="serve a live view of the run to a browser")
    add_viewer_arguments(p, control=True)
    p.add_argument("--groot2", type=int, nargs="?", const=1667, metavar="PORT",
                   help="serve Groot2's monitoring protocol (BT.CPP's Groot2Publisher) on PORT and PORT+1 "
                        "(default 1667)")
    p.add_argument("--groot2-host", metavar="H", help="with --groot2: the address to serve on (default 127.0.0.1; "
                                                      "anything else exposes the mission to the network)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("resume", help="continue an interrupted run here from its last checkpoint (a crash, SIGKILL, "
                                      "Ctrl-C or a shutdown stopped it)")
    p.add_argument("run", metavar="RUN", nargs="?", help="a run id in the log directory, or a run directory "
                                                         "(default: the newest interrupted run)")
    p.add_argument("--log-dir", help="where run logs are (default ~/.ros/mission_logs)")
    p.add_argument("--sim", action="store_true", help="start simulated robots first (one process each)")
    p.add_argument("--time-scale", type=float, help="with --sim: simulated seconds per second (default 1)")
    p.add_argument("--sim-config", metavar="FILE", help="with --sim: YAML merged over the sim's configuration")
    p.add_argument("--tick-rate", type=float, default=10.0, metavar="HZ")
    add_search_path(p)      # the run's includes are found as when it started: give the same path
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("send", help="send a mission to a running executive and follow it")
    p.add_argument("mission", metavar="MISSION", help="a mission name the executive knows, or a mission file here "
                                                      "(its contents are sent)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--text", action="store_true", help="MISSION is a file: send its contents (the default for a "
                                                        "file that exists here)")
    p.add_argument("--action", default="/execute_mission", help="the executive's action (default /execute_mission)")
    p.add_argument("--wait", type=float, default=10.0, metavar="S", help="how long to wait for the executive")
    p.set_defaults(func=cmd_send)
    p = sub.add_parser("report", help="a run's timeline and where its time went")
    p.add_argument("log", metavar="LOG", help="a run directory or its events.jsonl")
    p.add_argument("--failures", action="store_true", help="only failures and what they set off")
    p.add_argument("--leaf", metavar="PATH", help="only the behaviours at or under PATH (a path or its end)")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("view", help="open run logs in the browser viewer (replay), without running anything")
    p.add_argument("run", metavar="RUN", nargs="?", help="a run id in the log directory, or a run directory")
    p.add_argument("--log-dir", help="where run logs are (default ~/.ros/mission_logs)")
    add_viewer_arguments(p, control=False)
    p.set_defaults(func=cmd_view)
    p = sub.add_parser("behaviors", help="the behaviours installed plugins add, with their documentation")
    p.add_argument("--all", action="store_true", help="every kind, the built-in ones too")
    p.set_defaults(func=cmd_behaviors)
    p = sub.add_parser("schema", help="write the JSON Schema of missions (with the plugins' kinds) for editors")
    p.add_argument("--output", "-o", help="file to write, e.g. missions/schema.json (default: standard output)")
    p.add_argument("--builtin", action="store_true", help="the language's own kinds only")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("list", help="the shipped missions")
    p.add_argument("--dir", help="another missions directory")
    p.set_defaults(func=cmd_list)
    return parser


SIM_ONLY = ("robots", "time_scale", "sim_config")


def check_arguments(parser, args):
    """Options that only mean something together with another are an error without it."""
    if args.command == "run" and not args.sim:
        given = [f"--{name.replace('_', '-')}" for name in SIM_ONLY if getattr(args, name) is not None]
        if given:
            parser.error(f"{' and '.join(given)} need --sim (they configure the simulated robots)")
    if args.command == "run" and not args.viewer:
        given = [option for option, value in (("--allow-control", args.allow_control), ("--linger", args.linger),
                                              ("--host", args.host != "127.0.0.1"), ("--port", args.port != 8765))
                 if value not in (None, False)]
        if given:
            parser.error(f"{' and '.join(given)} need --viewer")
    if args.command == "run" and args.groot2 is None and args.groot2_host is not None:
        parser.error("--groot2-host needs --groot2")


def main(argv=None) -> int:
    """Run one command. A user's mistake (an invalid mission, a file that cannot be read or
    written, a closed pipe) is a message and an exit code, never a traceback."""
    from behaviors.plugins import PluginError

    parser = build_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    try:
        return args.func(args)
    except PluginError as exc:
        print(f"mission {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except MissionInvalid as exc:
        print_errors(exc.errors)
        return EXIT_INVALID
    except BrokenPipeError:
        # The reader went away (`mission render ... | head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"mission {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
