"""What behaves differently on Jazzy's rclpy 7 and Kilted's rclpy 9, checked in every file where
only a run on the other distribution would show it (CI runs both, but a rarely taken path may not).

rclpy 7 remembers the severity of each logging call site (file, function, line) per logger object
and raises "Logger severity cannot be changed between calls" when the same line logs at another
severity; rclpy 9 does not. So a call whose method is chosen at run time (``(logger.warn if x else
logger.error)(...)``, ``getattr(logger, level)(...)``) is a fault on Jazzy, unless its logger object
is its own per severity (a Log leaf's child logger: one level per instance)."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEVERITIES = {"debug", "info", "warn", "warning", "error", "fatal"}
# file -> why its run-time choice is safe
ALLOWED = {"behaviors/basics.py": "Log: each instance logs through its own child logger, at its one level"}


def _chosen_at_run_time(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.IfExp):
        return all(isinstance(branch, ast.Attribute) and branch.attr in SEVERITIES for branch in (func.body, func.orelse))
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "getattr":
        target, name = func.args[0], func.args[1]
        return "log" in ast.unparse(target).lower() and not isinstance(name, ast.Constant)
    return False


def test_no_logging_call_chooses_its_severity_at_run_time():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if any(part.startswith(".") or part in ("build", "install", "log") for part in path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _chosen_at_run_time(node) and relative not in ALLOWED:
                found.append(f"{relative}:{node.lineno}: {ast.unparse(node.func)}")
    assert found == [], "one call site per severity (rclpy 7):\n" + "\n".join(found)
