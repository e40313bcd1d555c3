"""Launch arguments as typed in a shell (``name:=value``): the checks launch/*.py share, each failing
with one message that names the file, the argument, the value given and what it must be.
No launch import here, so they are tested where launch is not installed.

``ros2 launch`` refuses an empty value (``namespace:=`` is "malformed launch argument"), and a shell
turns ``namespace:=''`` into exactly that; so no argument needs an empty value for a meaning that
cannot be had by leaving it out: the root namespace is spelled ``namespace:=/``.
"""
import re

BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# A relative or absolute ROS name's parts (rcl's rules): letters, digits, underscores, no leading digit.
_NAMESPACE_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class LaunchArgumentError(ValueError):
    """A launch argument's value is not one it can take; the message says which and why."""


def checked(launch_file: str, name: str, text: str, convert, what: str, ok=lambda value: True):
    """``convert(text)``, or LaunchArgumentError saying that ``name`` must be ``what`` when it
    cannot be converted or ``ok`` refuses the value."""
    try:
        value = convert(text)
    except (ValueError, KeyError, TypeError):
        value = None
    if value is None or not ok(value):
        raise LaunchArgumentError(f"{launch_file}: {name}:={text!r} must be {what}")
    return value


def boolean(text: str) -> bool:
    """true/false, 1/0, yes/no (any case); KeyError otherwise (for :func:`checked`)."""
    return BOOLEANS[text.strip().lower()]


def positive(launch_file: str, name: str, text: str, kind=float):
    """A positive int or float."""
    what = "a positive integer" if kind is int else "a positive number"
    return checked(launch_file, name, text, kind, what, lambda value: value > 0)


def namespace(launch_file: str, name: str, text: str) -> str:
    """A ROS namespace without its leading and trailing slashes: ``/`` (or an empty value given by
    another launch file) is the root namespace, ``""``."""
    stripped = text.strip().strip("/")
    if stripped and not all(_NAMESPACE_PART.match(part) for part in stripped.split("/")):
        raise LaunchArgumentError(
            f"{launch_file}: {name}:={text!r} must be a ROS namespace (parts of letters, digits and "
            f"underscores, not starting with a digit, separated by /), or / for the root namespace")
    return stripped
