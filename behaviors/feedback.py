"""One-line summaries of action feedback for people: built in for the shipped action types, and a
mission's own ``feedback_format`` for any type.

A format names feedback fields and format specs only::

    feedback_format: "{distance_remaining:.1f} m left, {estimated_time_remaining:.0f} s to go"

Missions arrive over the network, so a format is never handed to ``str.format``, which follows
attributes and indexes of live objects (``{0.__class__.__init__.__globals__}``) and builds strings
of any width (``{x:999999999}``). Instead :func:`parse` splits it with ``string.Formatter().parse``
and keeps only fields that are dotted message field names (no indexes, no conversions such as
``!r``, no nested fields in specs, widths and precisions of at most two digits); :func:`check`
follows each field through the feedback type's declared fields when the mission is validated; and
:func:`FeedbackFormat.render` reads each value with :func:`~behaviors.messages.get_path` (declared
fields only) and formats plain numbers and strings itself. A ``builtin_interfaces`` Duration or
Time field formats as seconds (a float).

Built-in summaries (``BUILTIN``, by action type; nav2's and control_msgs' types have the same
fields as ours): NavigateToPose "2.4 m left, about 5 s"; FollowJointTrajectory "1.2 s in, joint
error 0.003 rad"; MoveArm "45% done".
"""
import re
import string

from behaviors.messages import InterfaceError, check_path, get_path, import_type

FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
# Python's format spec mini-language, with widths and precisions of at most two digits.
SPEC = re.compile(r"((.)?[<>=^])?[-+ ]?z?#?0?(\d{1,2})?[_,]?(\.\d{1,2})?[bcdeEfFgGnosxX%]?")
LIMIT = 200          # characters of a rendered summary
MISSING = "?"        # a value that is absent or does not take the spec


class FormatError(ValueError):
    """A ``feedback_format`` that is not a format of message fields; the message says why."""


def _seconds(value):
    """A Duration or Time message (or its data) as seconds; other values unchanged."""
    if hasattr(value, "get_fields_and_field_types") and set(value.get_fields_and_field_types()) == {"sec", "nanosec"}:
        return value.sec + value.nanosec * 1e-9
    return value


def _plain(value):
    """``value`` if it is a plain scalar (numpy scalars converted), else None."""
    value = _seconds(value)
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    return value if isinstance(value, (bool, int, float, str)) else None


class FeedbackFormat:
    """A parsed format: (literal text, field path or None, spec) pieces."""

    def __init__(self, text: str, pieces: list):
        self.text, self.pieces = text, pieces

    @property
    def fields(self) -> list:
        return [path for _, path, _ in self.pieces if path is not None]

    def render(self, message) -> str:
        """The summary of a feedback ``message`` (a message or plain data)."""
        out = []
        for literal, path, spec in self.pieces:
            out.append(literal)
            if path is None:
                continue
            try:
                value = _plain(get_path(message, path))
            except (KeyError, IndexError, TypeError):
                value = None
            try:
                out.append(MISSING if value is None else format(value, spec))
            except (ValueError, TypeError):     # e.g. 'd' given a float at run time
                out.append(MISSING)
        text = "".join(out)
        return text if len(text) <= LIMIT else text[:LIMIT - 1] + "…"

    def __repr__(self):
        return f"FeedbackFormat({self.text!r})"


def parse(text: str) -> FeedbackFormat:
    """Parse a mission's ``feedback_format``; FormatError says what is not allowed."""
    if not isinstance(text, str):
        raise FormatError("feedback_format must be a string")
    if len(text) > LIMIT:
        raise FormatError(f"feedback_format is longer than {LIMIT} characters")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise FormatError(f"{exc} (write {{{{ and }}}} for literal braces)") from None
    pieces = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None, ""))
            continue
        if name == "":
            raise FormatError("a field needs a name, e.g. {distance_remaining}")
        if not FIELD.fullmatch(name):
            raise FormatError(f"{{{name}}}: name message fields with dots only, e.g. {{current_pose.pose.position.x}}")
        if conversion is not None:
            raise FormatError(f"{{{name}!{conversion}}}: conversions are not allowed")
        if not SPEC.fullmatch(spec or ""):
            raise FormatError(f"{{{name}:{spec}}}: {spec!r} is not a format spec (e.g. .1f, 5.2f, .0%; "
                              "widths and precisions of at most 2 digits)")
        pieces.append((literal, name, spec or ""))
    return FeedbackFormat(text, pieces)


def check(fmt: FeedbackFormat, feedback_type) -> None:
    """Raise FormatError unless every field of ``fmt`` is a scalar field (number, string, bool,
    Duration or Time) of ``feedback_type`` (a generated Feedback class) and takes its spec."""
    for _, path, spec in fmt.pieces:
        if path is None:
            continue
        sample = feedback_type()
        try:
            check_path(sample, path)
        except InterfaceError as exc:
            raise FormatError(f"{{{path}}}: {exc.reason}") from None
        value = _plain(get_path(sample, path))   # the field's default: a value of its type
        if value is None:
            raise FormatError(f"{{{path}}} is not a number, string or duration (name one of its fields)")
        try:
            format(value, spec)
        except ValueError as exc:
            raise FormatError(f"{{{path}:{spec}}}: {exc}") from None


def check_text(text: str, action_type: str) -> None:
    """Validate a mission's ``feedback_format`` against the action type string; FormatError."""
    fmt = parse(text)
    try:
        cls = import_type(action_type, "action") if isinstance(action_type, str) else action_type
    except InterfaceError:
        return      # the type itself is reported where it is checked
    check(fmt, cls.Feedback)


# -- built-in summaries of the shipped action types (trusted code, so plain functions) --------------
def _navigate(fb) -> str:
    text = f"{fb.distance_remaining:.1f} m left"
    eta = _seconds(fb.estimated_time_remaining)
    if eta > 0:
        text += f", about {eta:.0f} s"
    if fb.number_of_recoveries:
        text += f" ({fb.number_of_recoveries} recoveries)"
    return text


def _follow_trajectory(fb) -> str:
    errors = [abs(e) for e in fb.error.positions]
    text = f"{_seconds(fb.actual.time_from_start):.1f} s in"
    return text + (f", joint error {max(errors):.3f}" if errors else "")


def _move_arm(fb) -> str:
    return f"{fb.progress:.0%} done"


BUILTIN = {
    "mission_interfaces/action/NavigateToPose": _navigate,
    "nav2_msgs/action/NavigateToPose": _navigate,
    "mission_interfaces/action/FollowJointTrajectory": _follow_trajectory,
    "control_msgs/action/FollowJointTrajectory": _follow_trajectory,
    "mission_interfaces/action/MoveArm": _move_arm,
}


def summarizer(action_type: str, fmt=None):
    """A callable(feedback message) -> str for a leaf: its mission's format when given, else the
    type's built-in summary, else None (the leaf keeps its own status text)."""
    if fmt is not None:
        fmt = parse(fmt) if isinstance(fmt, str) else fmt
        return fmt.render
    builtin = BUILTIN.get(action_type)
    if builtin is None:
        return None

    def summary(message) -> str:
        try:
            return builtin(message)
        except (AttributeError, TypeError, ValueError):   # a type of the same name, other fields
            return ""
    return summary
