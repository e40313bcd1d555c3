"""ROS 2 names, checked without ROS: robot namespaces and action/service names, by the rules of
the ROS 2 name design (``rcl_validate_topic_name``, ``rmw_validate_namespace`` and
``rmw_validate_full_topic_name``; ``test/test_mission_language.py`` compares them with rclpy's
validators). Each function returns why a name is invalid, or '' when it is valid.
"""
import re

TOPIC_MAX = 255 - 8          # RMW_TOPIC_MAX_NAME_LENGTH: a full name, '/' included
NAMESPACE_MAX = TOPIC_MAX - 2  # RMW_NAMESPACE_MAX_LENGTH
_TOKEN = re.compile(r"[A-Za-z0-9_]")


def _tokens_problem(name: str, what: str) -> str:
    for token in name.split("/"):
        if token[:1].isdigit():
            return f"{what} token {token!r} starts with a number"
    return ""


def _absolute_problem(name: str, what: str, maximum: int) -> str:
    """The rules namespaces and full names share: absolute, letters, digits, '_' and '/' only,
    no '//', no '/' at the end, no token starting with a number, at most ``maximum`` long."""
    if not name.startswith("/"):
        return f"a {what} must start with '/'"
    bad = next((c for c in name if c != "/" and not _TOKEN.match(c)), None)
    if bad is not None:
        return f"a {what} has only letters, digits, '_' and '/', not {bad!r}"
    if "//" in name:
        return f"a {what} must not contain '//'"
    if name.endswith("/"):
        return f"a {what} must not end with '/'"
    problem = _tokens_problem(name[1:], what)
    if problem:
        return problem
    if len(name) > maximum:
        return f"a {what} is at most {maximum} characters long, this one {len(name)}"
    return ""


def namespace_problem(namespace: str) -> str:
    """Why ``namespace`` (absolute, '/robot1') is not a valid ROS namespace ('' if it is)."""
    if not namespace:
        return "a namespace must not be empty"
    if namespace == "/":
        return ""
    return _absolute_problem(namespace, "namespace", NAMESPACE_MAX)


def robot_problem(robot: str) -> str:
    """Why a mission's ``robot`` ('robot1', 'fleet/robot1'; '' for none) is not a namespace."""
    if robot == "":
        return ""
    return namespace_problem("/" + robot)


def topic_problem(name: str) -> str:
    """Why ``name`` (relative or absolute, before expansion) is not a valid ROS topic, service or
    action name ('' if it is). Substitutions ``{node}`` and a leading ``~`` are allowed, as in rcl."""
    if not name:
        return "a name must not be empty"
    if name[0].isdigit():
        return "a name must not start with a number"
    if name.endswith("/"):
        return "a name must not end with '/'"
    in_braces = False
    for i, c in enumerate(name):
        if in_braces:
            if c == "}":
                in_braces = False
            elif not _TOKEN.match(c):
                return "a substitution {...} has only letters, digits and '_'"
            elif name[i - 1] == "{" and c.isdigit():
                return "a substitution {...} must not start with a number"
            continue
        if c == "{":
            in_braces = True
        elif c == "}":
            return "a name must not have unbalanced '{}'"
        elif c == "~":
            if i != 0:
                return "'~' may only start a name"
        elif c != "/" and not _TOKEN.match(c):
            return f"a name has only letters, digits, '_', '/', '~' and {{}}, not {c!r}"
    if in_braces:
        return "a name must not have unbalanced '{}'"
    if name.startswith("~") and len(name) > 2 and name[1] != "/":   # rcl lets '~x' of two characters by
        return "'~' must be followed by '/'"
    return _tokens_problem(name.split("/", 1)[1] if name.startswith("~/") else
                           "" if name.startswith("~") else name, "name")


def full_name_problem(name: str) -> str:
    """Why an expanded name ('/robot1/navigate_to_pose') is not a valid full ROS name."""
    if name == "/":
        return "a full name must not be '/' alone"
    return _absolute_problem(name, "name", TOPIC_MAX)


def remote_name(robot: str, name: str) -> str:
    """The full name a leaf talks to: under the robot's namespace unless absolute (as the compiler
    names it; a relative name without a robot lives under the executive's namespace, here '/')."""
    if name.startswith("/"):
        return name
    return f"/{robot}/{name}" if robot else f"/{name}"


def blackboard_key_problem(key: str) -> str:
    """Why ``key`` ('target', 'arm/state', '/target') cannot name a blackboard entry: py_trees
    stores keys as absolute paths and normalises '.', '..' and '//' away, so such a key would
    be written under another name than the one it was registered with."""
    if not key or key == "/":
        return "a blackboard key must not be empty"
    if any(ord(c) < 32 or c == "\x7f" for c in key):
        return "a blackboard key has no control characters"
    parts = key[1:].split("/") if key.startswith("/") else key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "a blackboard key's parts (between '/') are not empty, '.' or '..'"
    return ""
