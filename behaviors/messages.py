"""ROS interface types by name, and messages built from and turned into plain data.

The one place that introspects rosidl-generated classes: type strings such as
``mission_interfaces/action/NavigateToPose`` become classes; nested dicts or dotted paths
(``pose.pose.position.x``) become fields; messages become dicts for the blackboard and the log.
"""
import array
import functools
import importlib
import math

import numpy

KINDS = ("msg", "srv", "action")
FLOAT_TYPES = ("double", "float")


class InterfaceError(ValueError):
    """A type string or field that does not match the installed interfaces.

    ``field`` is the dotted path of the offending field ("pose.header.frame_id"), when there is one.
    """

    def __init__(self, reason: str, field: str = "", unknown_field: bool = False):
        self.reason = reason
        self.field = field
        self.unknown_field = unknown_field   # the field's name is wrong (not its value)
        super().__init__(f"{field}: {reason}" if field else reason)


def import_type(type_string: str, kind: str = None):
    """``pkg/kind/Name`` (or ``pkg/Name`` with ``kind`` given) → the generated class."""
    parts = type_string.strip().split("/")
    if len(parts) == 2 and kind:
        parts = [parts[0], kind, parts[1]]
    if len(parts) != 3 or parts[1] not in KINDS or not all(parts):
        raise InterfaceError(f"{type_string!r} is not an interface type; expected 'package/{kind or 'action'}/Name'")
    package, found_kind, name = parts
    if kind and found_kind != kind:
        raise InterfaceError(f"{type_string!r} is a {found_kind} type, a {kind} type is needed here")
    try:
        module = importlib.import_module(f"{package}.{found_kind}")
    except ModuleNotFoundError:
        raise InterfaceError(f"interface package {package!r} is not installed (needed for {type_string})") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise InterfaceError(f"package {package!r} has no {found_kind} named {name!r}") from None


@functools.lru_cache(maxsize=None)
def type_name(cls) -> str:
    """The ``pkg/kind/Name`` string of a generated class (remembered: every goal's event names it)."""
    module = cls.__module__.split(".")
    return f"{module[0]}/{module[1]}/{cls.__name__}"


def field_types(msg) -> dict:
    return msg.get_fields_and_field_types()


def _step(msg, path: str, at: str):
    """One step along a dotted path: (head, rest, where, field types), or InterfaceError for an
    unknown field or a step into a field that is not a message."""
    head, _, rest = path.partition(".")
    where = at + head
    types = field_types(msg)
    if head not in types:
        raise InterfaceError(f"{type(msg).__name__} has no field {head!r} (its fields: {', '.join(types)})", where,
                             unknown_field=True)
    if rest and not hasattr(getattr(msg, head), "get_fields_and_field_types"):
        raise InterfaceError(f"is {types[head]}, which has no field {rest.split('.')[0]!r}", where)
    return head, rest, where, types


def check_path(msg, path: str, _at: str = "") -> None:
    """Raise InterfaceError unless dotted ``path`` names a field of ``msg``."""
    head, rest, where, _ = _step(msg, path, _at)
    if rest:
        check_path(getattr(msg, head), rest, where + ".")


def set_field(msg, path: str, value, _at: str = "") -> None:
    """Set the field at dotted ``path`` of ``msg`` to ``value`` (a dict fills a nested message)."""
    head, rest, where, types = _step(msg, path, _at)
    if rest:
        set_field(getattr(msg, head), rest, value, where + ".")
        return
    current = getattr(msg, head)
    if hasattr(current, "get_fields_and_field_types") and isinstance(value, dict):
        fill(current, value, where + ".")
        return
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = [_message_from_dict(msg, head, item, f"{where}[{i}].") for i, item in enumerate(value)]
    value = _coerce_numbers(types[head], value)
    msg._check_fields = True  # generated setters check types only when asked to
    try:
        setattr(msg, head, value)
    except (AssertionError, TypeError, ValueError) as exc:
        raise InterfaceError(f"expected {types[head]}, got {value!r}", where) from exc


def _coerce_numbers(field_type: str, value):
    """YAML writes 1 for 1.0: accept integers where the field holds floating point numbers."""
    element = field_type.split("<", 1)[-1].split("[", 1)[0].rstrip(">").split(",")[0]
    if element not in FLOAT_TYPES:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _message_from_dict(parent, field, data: dict, at: str):
    """Build one element of a sequence-of-messages field from a dict."""
    slot = type(parent).SLOT_TYPES[list(field_types(parent)).index(field)]
    value_type = getattr(slot, "value_type", None)
    if value_type is None or not hasattr(value_type, "namespaces"):
        raise InterfaceError(f"expected {field_types(parent)[field]}, got a list of mappings", at.rstrip("."))
    element = getattr(importlib.import_module(".".join(value_type.namespaces)), value_type.name)()
    return fill(element, data, at)


def fill(msg, values: dict, _at: str = ""):
    """Set every ``path: value`` of ``values`` on ``msg``; errors name the full field path."""
    for path, value in values.items():
        set_field(msg, str(path), value, _at)
    return msg


def to_data(value):
    """A message (or field value) as plain Python data: dicts, lists, numbers, strings."""
    if hasattr(value, "get_fields_and_field_types"):
        return {name: to_data(getattr(value, name)) for name in value.get_fields_and_field_types()}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, (numpy.ndarray, array.array)):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, numpy.generic):
        return value.item()
    return value


def non_finite(value, at: str = ""):
    """The dotted path (``''`` for ``value`` itself) of the first NaN or infinite number in
    ``value`` (a message or plain data), else None. Constant fields are checked when the mission is
    validated; this is for values read from the blackboard, which a server's result may have filled."""
    data = to_data(value)
    if isinstance(data, float):
        return None if math.isfinite(data) else at
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, item in items:
        found = non_finite(item, f"{at}.{key}" if at else str(key))
        if found is not None:
            return found
    return None


def get_path(data, path: str):
    """Follow a dotted path into a message or plain data; KeyError names what is missing."""
    for part in path.split("."):
        if hasattr(data, "get_fields_and_field_types"):
            if part not in data.get_fields_and_field_types():
                raise KeyError(path)
            data = getattr(data, part)
        elif isinstance(data, dict):
            data = data[part]
        elif isinstance(data, (list, tuple)) and part.isdigit():
            data = data[int(part)]
        else:
            raise KeyError(path)
    return data
