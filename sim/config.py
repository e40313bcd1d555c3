"""Configuration of a simulated robot: the packaged defaults with a user's file merged over them.

A user's file is checked like a mission, every mistake at once, each as ``file:line:col: path:
message (hint)``: settings must be those of ``default_config.yaml``, of the types its values have
(numbers finite, within the bounds below); fault servers and knobs must be those of
:mod:`sim.faults` (``SERVERS``, ``CONTROL_SERVERS``, the knob dataclasses and ``check()``), with a did-you-mean
for a misspelled setting, server or knob. Mappings merge key by key; a user's ``arm.joints`` and
``arm.named_poses`` and ``nav2.docks`` replace the default ones whole (a robot's joints, poses and
docks are its own).
"""
import difflib
import math
import pathlib
from dataclasses import fields

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from sim import faults as fault_knobs
from sim.faults import CONTROL_SERVERS, KNOBS, SERVERS

DEFAULT_CONFIG = pathlib.Path(__file__).with_name("default_config.yaml")
REPLACED_SECTIONS = ("arm.joints", "arm.named_poses", "nav2.docks")
# Bounds of numbers the defaults cannot tell: (minimum, maximum, minimum excluded).
BOUNDS = {
    "seed": (0, 2 ** 32 - 1, False), "result_timeout": (0, 86400, False),
    "navigation.speed": (0, 100, True), "navigation.rate": (0, 1000, True), "arm.rate": (0, 1000, True),
    "calibration.duration": (0, 86400, False), "calibration.failure_probability": (0, 1, False),
    "nav2.path_resolution": (0, 10, True), "nav2.map_resolution": (0, 10, True), "nav2.spin_speed": (0, 100, True),
    "battery.start": (0, 1, False), "battery.drain_per_metre": (0, 1, False), "battery.rate": (0, 1000, True),
    "nav2.minimum_speed": (0, 100, True), "nav2.docking_speed": (0, 100, True), "nav2.waypoint_pause": (0, 86400, False),
}
JOINT_FIELDS = ("min", "max", "max_velocity")
DOCK_FIELDS = ("pose", "type")


class ConfigError(ValueError):
    """Every mistake of a configuration file; ``errors`` are lines ``file:line:col: path: message``."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def _did_you_mean(word, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


class _Checker:
    def __init__(self, filename):
        self.filename, self.errors = filename, []

    def error(self, parent, key, path, message, hint="", at_key=False):
        line, col = _position(parent, key, at_key)
        where = f"{self.filename}:{line}:{col}" if line else self.filename
        text = f"{where}: {path}: {message}" if path else f"{where}: {message}"
        self.errors.append(((line, col), f"{text} ({hint})" if hint else text))

    # -- by the example of the defaults --------------------------------------------------------
    def section(self, user, default, path, parent=None, key=None):
        if not isinstance(user, dict):
            self.error(parent, key, path, f"expected a mapping, got {_describe(user)}")
            return
        for name, value in user.items():
            where = f"{path}.{name}" if path else str(name)
            if name not in default:
                self.error(user, name, where, f"unknown setting {where}",
                           _did_you_mean(name, default) or f"settings here: {', '.join(map(str, default))}", at_key=True)
            elif where == "faults":
                self.faults(value, user, name)
            elif where == "arm.joints":
                self.joints(value, user, name)
            elif where == "arm.named_poses":
                pass        # checked with the joints, in check()
            elif where == "nav2.docks":
                self.docks(value, user, name)
            elif isinstance(default[name], dict):
                self.section(value, default[name], where, user, name)
            else:
                self.value(value, default[name], where, user, name)

    def value(self, value, example, path, parent, key):
        if isinstance(example, bool):
            if not isinstance(value, bool):
                self.error(parent, key, path, f"expected true or false, got {_describe(value)}")
        elif isinstance(example, (int, float)):
            self.number(value, path, parent, key, integer=path == "seed")
        elif isinstance(example, str):
            if not isinstance(value, str):
                self.error(parent, key, path, f"expected text, got {_describe(value)}")
        elif isinstance(example, list):
            if not isinstance(value, list):
                self.error(parent, key, path, f"expected a list, got {_describe(value)}")
                return
            if example and not isinstance(example[0], str) and len(value) != len(example):
                self.error(parent, key, path, f"expected {len(example)} numbers, got {len(value)}")
            item = example[0] if example else ""
            for i, element in enumerate(value):
                self.value(element, item, f"{path}[{i}]", value, i)

    def number(self, value, path, parent, key, integer=False, bounds=None) -> bool:
        """True when ``value`` is a finite number (an integer if asked) within the bounds."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.error(parent, key, path, f"expected {'an integer' if integer else 'a number'}, got {_describe(value)}")
            return False
        if not math.isfinite(value):
            self.error(parent, key, path, f"{value} is not a finite number")
            return False
        low, high, exclusive = bounds or BOUNDS.get(path, (None, None, False))
        if (low is not None and (value <= low if exclusive else value < low)) or (high is not None and value > high):
            words = [f"{'greater than' if exclusive else 'at least'} {low:g}" if low is not None else "",
                     f"at most {high:g}" if high is not None else ""]
            self.error(parent, key, path, f"must be {' and '.join(w for w in words if w)}, got {value:g}")
            return False
        return True

    # -- sections of their own ------------------------------------------------------------------
    def faults(self, faults, parent, key):
        if faults is None:
            return
        if not isinstance(faults, dict):
            self.error(parent, key, "faults", f"expected a mapping of servers, got {_describe(faults)}")
            return
        servers = {**SERVERS, **CONTROL_SERVERS}
        for server, knobs in faults.items():
            where = f"faults.{server}"
            if server not in servers:
                self.error(faults, server, where, f"unknown server {server!r}",
                           _did_you_mean(server, servers) or f"servers: {', '.join(servers)}", at_key=True)
                continue
            if knobs is None:
                continue
            if not isinstance(knobs, dict):
                self.error(faults, server, where, f"expected a mapping of fault knobs, got {_describe(knobs)}")
                continue
            spec = {f.name: f for f in fields(KNOBS[servers[server]])}
            for knob, value in knobs.items():
                at = f"{where}.{knob}"
                if knob not in spec:
                    self.error(knobs, knob, at, f"unknown fault knob {knob!r} of {server}",
                               _did_you_mean(knob, spec) or f"its knobs: {', '.join(spec)}", at_key=True)
                    continue
                kind = spec[knob].type
                if kind in (int, float):
                    fits = self.number(value, at, knobs, knob, integer=kind is int)
                elif not isinstance(value, kind):
                    fits = False
                    self.error(knobs, knob, at, f"expected {'true or false' if kind is bool else 'text'}, "
                                                f"got {_describe(value)}")
                else:
                    fits = True
                problem = fits and fault_knobs.check(knob, value)
                if problem:
                    self.error(knobs, knob, at, problem)

    def joints(self, joints, parent, key):
        if not isinstance(joints, dict) or not joints:
            self.error(parent, key, "arm.joints", f"expected a mapping of joint names to {{min, max, max_velocity}}, "
                                                  f"got {_describe(joints)}")
            return
        for name, limits in joints.items():
            where = f"arm.joints.{name}"
            if not isinstance(limits, dict):
                self.error(joints, name, where, f"expected {{min, max, max_velocity}}, got {_describe(limits)}")
                continue
            for field_name, value in limits.items():
                if field_name not in JOINT_FIELDS:
                    self.error(limits, field_name, f"{where}.{field_name}", f"unknown setting {field_name!r}",
                               _did_you_mean(field_name, JOINT_FIELDS), at_key=True)
                else:
                    bounds = (0, None, True) if field_name == "max_velocity" else None
                    self.number(value, f"{where}.{field_name}", limits, field_name, bounds=bounds)
            missing = [f for f in JOINT_FIELDS if f not in limits]
            if missing:
                self.error(joints, name, where, f"needs {', '.join(missing)}")
            elif all(isinstance(limits[f], (int, float)) for f in ("min", "max")) and limits["min"] >= limits["max"]:
                self.error(joints, name, where, f"min ({limits['min']}) must be less than max ({limits['max']})")

    def docks(self, docks, parent, key):
        if not isinstance(docks, dict):
            self.error(parent, key, "nav2.docks", f"expected a mapping of dock ids to {{pose, type}}, "
                                                  f"got {_describe(docks)}")
            return
        for name, dock in docks.items():
            where = f"nav2.docks.{name}"
            if not isinstance(dock, dict):
                self.error(docks, name, where, f"expected {{pose, type}}, got {_describe(dock)}")
                continue
            for field_name in dock:
                if field_name not in DOCK_FIELDS:
                    self.error(dock, field_name, f"{where}.{field_name}", f"unknown setting {field_name!r}",
                               _did_you_mean(field_name, DOCK_FIELDS), at_key=True)
            if "pose" in dock:
                self.value(dock["pose"], [0.0, 0.0, 0.0], f"{where}.pose", dock, "pose")

    def dock_types(self, user_nav2, merged_nav2):
        docks = user_nav2.get("docks") if isinstance(user_nav2, dict) else None
        types = merged_nav2.get("dock_types") if isinstance(merged_nav2.get("dock_types"), list) else []
        for name, dock in (docks.items() if isinstance(docks, dict) else ()):
            kind = dock.get("type") if isinstance(dock, dict) else None
            if kind is not None and kind not in types:
                self.error(dock, "type", f"nav2.docks.{name}.type", f"no dock type {kind!r}",
                           _did_you_mean(kind, types) or f"dock_types: {', '.join(map(str, types))}")

    def arm_poses(self, user_arm, merged_arm):
        poses = (user_arm or {}).get("named_poses") if isinstance(user_arm, dict) else None
        joints = merged_arm.get("joints") if isinstance(merged_arm.get("joints"), dict) else {}
        if poses is not None:
            if not isinstance(poses, dict):
                self.error(user_arm, "named_poses", "arm.named_poses",
                           f"expected a mapping of pose names to positions, got {_describe(poses)}")
            else:
                for name, positions in poses.items():
                    where = f"arm.named_poses.{name}"
                    if not isinstance(positions, list) or len(positions) != len(joints):
                        self.error(poses, name, where, f"expected {len(joints)} positions (one per joint), got "
                                                       f"{_describe(positions)}")
                        continue
                    for i, value in enumerate(positions):
                        self.number(value, f"{where}[{i}]", positions, i)
        start = user_arm.get("start") if isinstance(user_arm, dict) else None
        named = merged_arm.get("named_poses") if isinstance(merged_arm.get("named_poses"), dict) else {}
        if isinstance(start, str) and start not in named:
            self.error(user_arm, "start", "arm.start", f"no named pose {start!r}",
                       _did_you_mean(start, named) or f"named poses: {', '.join(named)}")

    def health(self, user_health, merged_health):
        if not isinstance(user_health, dict) or not isinstance(user_health.get("unhealthy"), list):
            return
        components = merged_health.get("components") if isinstance(merged_health.get("components"), list) else []
        for i, name in enumerate(user_health["unhealthy"]):
            if isinstance(name, str) and name not in components:
                self.error(user_health["unhealthy"], i, f"health.unhealthy[{i}]", f"no component {name!r}",
                           _did_you_mean(name, components) or f"components: {', '.join(map(str, components))}")


def _describe(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "nothing"
    return repr(value)


def _position(parent, key, at_key=False):
    """(line, column), 1-based, of ``parent[key]`` (or of the key) as ruamel recorded it."""
    try:
        if isinstance(parent, CommentedMap):
            line, col = parent.lc.key(key) if at_key else parent.lc.value(key)
        elif isinstance(parent, CommentedSeq):
            line, col = parent.lc.item(key)
        else:
            return 0, 0
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        lc = getattr(parent, "lc", None)
        return (lc.line + 1, lc.col + 1) if lc is not None and lc.line is not None else (0, 0)


def _merge(base: dict, override: dict, where: str) -> dict:
    merged = dict(base)
    for key, value in override.items():
        path = f"{where}.{key}" if where else key
        if isinstance(value, dict) and isinstance(base.get(key), dict) and path not in REPLACED_SECTIONS:
            merged[key] = _merge(base[key], value, path)
        else:
            merged[key] = value
    return merged


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def check(text: str, filename: str = "<config>") -> dict:
    """The configuration ``text`` merged over the defaults; ConfigError with every mistake."""
    default = YAML(typ="safe").load(DEFAULT_CONFIG.read_text())
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        user = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = " ".join(p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
        raise ConfigError([f"{where}: not valid YAML: {problem or exc}"]) from None
    except Exception as exc:        # ruamel fails on a few malformed inputs
        raise ConfigError([f"{filename}: not valid YAML ({type(exc).__name__}: {exc})"]) from None
    if user is None:
        return default
    checker = _Checker(filename)
    if not isinstance(user, dict):
        raise ConfigError([f"{filename}:1:1: the configuration must be a mapping, got {_describe(user)}"])
    checker.section(user, default, "")
    merged = _merge(default, _plain(user), "")
    checker.arm_poses(user.get("arm"), merged.get("arm") if isinstance(merged.get("arm"), dict) else {})
    checker.health(user.get("health"), merged.get("health") if isinstance(merged.get("health"), dict) else {})
    checker.dock_types(user.get("nav2"), merged.get("nav2") if isinstance(merged.get("nav2"), dict) else {})
    if checker.errors:
        raise ConfigError([text for _, text in sorted(checker.errors, key=lambda e: e[0])])
    return merged


def load_config(path=None) -> dict:
    """The defaults, with the file at ``path`` merged over them. Raises ConfigError (every mistake)
    or OSError."""
    if not path:
        return YAML(typ="safe").load(DEFAULT_CONFIG.read_text())
    return check(pathlib.Path(path).read_text(), str(path))
