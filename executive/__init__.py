"""The mission executive: mission loading and compiling, the executive node, command line,
and ``Executive``, the Python API for scripts (executive/tools/api.py)."""

_API = ("Executive", "ExecutiveError", "ExecutiveLost", "ExecutiveUnavailable", "MissionFeedback", "MissionResult")


def __getattr__(name):
    # ``from executive import Executive`` imports rclpy; importing the package for anything else
    # (mission validation, the CLI) must not.
    if name in _API:
        from executive.tools import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
