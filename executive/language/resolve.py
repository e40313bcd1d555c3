"""From mission files to a :class:`~executive.language.model.Mission`: parameters (typed, with
overrides), poses, subtrees and includes expanded, robot namespaces inherited, defaults filled,
expressions parsed and typed, ROS names checked.

Every mistake becomes a MissionError with its file, line and key path. Each pass runs on whatever
the earlier passes could check: a node with a schema error is left out, but its siblings, its
children and the rest of the file are still resolved, so one run reports every mistake, sorted
by position. Warnings (``repeat: {times: 0}``) are reported with the errors but do not make a
mission invalid.
"""
import collections
import functools
import math
import pathlib
import re
import time

from executive import paths
from executive.language import btcpp, loader, names, schema, typecheck
from executive.language.errors import (WARNING, MissionError, MissionInvalid, did_you_mean, format_path,
                                       in_order)
from executive.language.expressions import Check, ExpressionError, Name, Program, compile_check, parse
from executive.language.kinds import BUILTIN, KINDS, PARAMETER_TYPES, PLUGIN_KINDS
from executive.language.model import Location, Mission, Node, bb_key, is_bb_ref

_BROKEN = object()   # a parameter whose value was wrong: its uses report nothing more
PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ACTION_KINDS = [k for k, kind in KINDS.items() if kind.category == "leaf" and "action" in kind.fields]
TOPIC_KINDS = ["subscribe", "wait_for_message", "publish"]
SERVICE_KINDS = [k for k, kind in KINDS.items() if kind.category == "leaf" and "service" in kind.fields]
REMOTE_KINDS = ACTION_KINDS + SERVICE_KINDS
# The fields a remote leaf builds its goal or request from (see compiler.REMOTE).
_REQUEST_FIELDS = ("type", "goal", "request", "pose", "joints", "named_pose", "joint_names", "points",
                   "velocity_scaling", "frame")
# The check a leaf uses when it has no success: of its own (see behaviors/actions.py, services.py).
DEFAULT_CHECKS = {**{k: "error_code == 0" for k in ACTION_KINDS if k != "action" and k in BUILTIN},
                  **{k: "success == true" for k in SERVICE_KINDS if k in BUILTIN}}
FAILURE_RECORD = typecheck.Record("failure", {"reason": typecheck.TEXT, "message": typecheck.TEXT,
                                              "status": typecheck.ANY, "error_code": typecheck.ANY})


def parse_overrides(pairs) -> dict:
    """['speed=0.4', 'target=dock'] -> {'speed': 0.4, 'target': 'dock'}: values are YAML scalars
    or, for a pose parameter, a mapping ('where={x: 1, y: 2}'), read safely (no tags that build
    objects). Raises MissionInvalid naming each bad ``-p``: file
    ``<parameters>``, line = its place among the -p options, column within it, path the option."""
    out, errors = {}, []
    for number, pair in enumerate(pairs, 1):
        name, sep, text = pair.partition("=")
        name = name.strip()
        at_value = len(pair) - len(text) + 1

        def bad(message, column=1, hint=""):
            errors.append(MissionError("<parameters>", number, column, pair, message, hint))
        if not sep or not name:
            bad("expected name=value", hint="e.g. -p laps=3")
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            bad(f"{name!r} is not a parameter name")
            continue
        try:
            value = loader.value(text, "<parameters>") if text.strip() else ""    # read as mission files are
        except MissionInvalid as exc:
            error = exc.errors[0]
            bad(f"the value is not YAML: {error.message.removeprefix('not valid YAML: ')}",
                at_value + max(error.column - 1, 0), "quote a string: -p 'name=\"text\"'")
            continue
        if isinstance(value, list) or value is None and text.strip() not in ("null", "~"):
            bad(f"a parameter is a number, text, true/false or a pose {{x, y, yaw, frame}}, "
                f"not {type(value).__name__}", at_value)
            continue
        if isinstance(value, float) and not math.isfinite(value):
            bad(f"{text.strip()} is not a finite number", at_value)
            continue
        out[name] = value
    if errors:
        raise MissionInvalid(errors)
    return out


def _mapping(value) -> dict:
    """A section that should be a mapping (the schema reported it if it is not)."""
    return dict(value) if isinstance(value, dict) else {}


def _raw(doc, path):
    """The value at ``path`` in ``doc`` as written (before parameters), or None."""
    node = doc
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


class _Scope:
    """Where a node is written and what its references mean there."""

    def __init__(self, file, doc, params, robot, stack, origin=None, calls=()):
        self.file, self.doc, self.params, self.robot = file, doc, params, robot
        self.poses = _mapping(doc.get("poses"))
        self.subtrees = _mapping(doc.get("subtrees"))
        self.stack, self.origin = stack, origin
        self.calls = calls      # the references that led here, innermost first ('file:line:col: include x')


class Resolver:
    """Resolves one mission. ``check_interfaces=False`` leaves out checking leaves' goals against the
    installed interfaces (it imports the message packages): ``mission run`` finds the robots to
    start that way first. ``max_nodes`` and ``deadline`` (``time.monotonic()`` seconds) bound the
    work: subtrees and includes expand once per use, so a few lines can stand for millions of
    behaviours; past either bound resolution stops with one error. Resolving makes no py_trees
    behaviour, so it may run on a thread of its own (executive/loading.py).

    ``roots``: the mission roots includes may read files in (:func:`executive.paths.mission_roots`;
    default: the search path of ``MISSION_PATH`` and the package's missions), after
    ``missions_root`` (default: the mission file's directory)."""

    def __init__(self, missions_root=None, check_interfaces=True, max_nodes=None, deadline=None, roots=None):
        self.missions_root = pathlib.Path(missions_root).resolve() if missions_root else None
        self._given_roots = roots
        self.check_interfaces = check_interfaces
        self.sources = {}   # path -> text of every file read from disk (what a cache compares)
        self.errors = []
        self._docs = {}
        self._texts = {}    # path -> (text, name in errors) for missions given as text
        self._broken = {}   # file -> key paths with a schema error
        self._lines = {}    # file -> its lines, for positions inside expressions
        self._given = set()  # parameters given when the mission is run (-p)
        self.max_nodes, self.deadline, self.nodes = max_nodes, deadline, 0
        self._calls = ()     # while a reference's parameters are bound: the calls that led there

    @property
    def roots(self) -> list:
        """Where included files may be: ``missions_root``, then the given roots (or the default)."""
        given = self._given_roots if self._given_roots is not None else paths.mission_roots()
        return list(dict.fromkeys([*([self.missions_root] if self.missions_root else []),
                                   *(pathlib.Path(r) for r in given)]))

    def text(self, text: str, overrides=None, name: str = "<goal>") -> Mission:
        """Resolve a mission given as YAML text; errors name the file ``name``; includes are looked
        up in the missions root as for a file there."""
        path = self.missions_root / name
        self._texts[str(path)] = (text, name)
        return self.mission(path, overrides, filename=name)

    def _count_node(self, scope, at):
        self.nodes += 1
        if self.max_nodes is not None and self.nodes > self.max_nodes:
            self._error(scope, scope.doc, at, f"the mission has more than {self.max_nodes} behaviours once its "
                                              "subtrees and includes are expanded (the limit)")
            raise MissionInvalid(self.errors)
        if self.deadline is not None and time.monotonic() > self.deadline:
            self._error(scope, scope.doc, at, "resolving the mission took longer than allowed (the limit)")
            raise MissionInvalid(self.errors)

    # -- errors ----------------------------------------------------------------------------
    def _error(self, scope_or_file, doc, path, message, hint="", key=False, severity="error", calls=None):
        scoped = isinstance(scope_or_file, _Scope)
        file = scope_or_file.file if scoped else scope_or_file
        if calls is None:
            calls = scope_or_file.calls if scoped else self._calls
        line, col = loader.locate(doc, path, key=key) if doc is not None else (0, 0)
        self.errors.append(MissionError(file, line, col, format_path(path), message, hint, severity,
                                        keys=tuple(path), included_from=tuple(calls)))

    def _warn(self, scope, path, message, hint=""):
        self._error(scope, scope.doc, path, message, hint, severity=WARNING)

    def _expression_error(self, file, doc, path, error: ExpressionError, text, severity="error", calls=()):
        """An error inside an expression, at its token when the text is as written in the file."""
        line, col = loader.locate(doc, path)
        if _raw(doc, path) == text and file in self._lines:
            line, col = loader.scalar_position(self._lines[file], line, col, error.offset)
        self.errors.append(MissionError(file, line, col, format_path(path), error.message, error.hint, severity,
                                        keys=tuple(path), included_from=tuple(calls)))

    def _broken_in(self, file, path) -> bool:
        """A schema error at ``path`` or inside it."""
        prefix = tuple(path)
        return any(b[:len(prefix)] == prefix for b in self._broken.get(file, ()))

    # -- files -----------------------------------------------------------------------------
    def document(self, path: pathlib.Path):
        """The loaded document at ``path``, schema errors recorded; None (errors recorded) if it
        cannot be read or parsed at all."""
        key = str(path)
        if key not in self._docs:
            text, name = self._texts.get(key, (None, key))
            try:
                if text is not None:
                    doc = loader.loads(text, name)
                else:
                    text = self.sources[key] = loader.read(path)
                    doc = btcpp.loads(text, key, self.errors) if path.suffix == ".xml" else loader.loads(text, key)
            except MissionInvalid as exc:
                self.errors.extend(exc.errors)
                doc = None
            if doc is not None:
                found = schema.check(doc, name, text)
                self.errors.extend(found)
                self._broken[name] = {e.keys for e in found}
                if text is not None and path.suffix != ".xml":
                    self._lines[name] = text.splitlines()
            self._docs[key] = doc
        return self._docs[key]

    def mission(self, path, overrides=None, filename=None) -> Mission:
        """Resolve the mission at ``path``; raises MissionInvalid with every error found."""
        path = pathlib.Path(path).resolve()
        if self.missions_root is None:
            self.missions_root = path.parent
        doc = self.document(path)
        if doc is None:
            raise MissionInvalid(in_order(self.errors))
        file = filename or str(path)
        overrides = dict(overrides or {})
        self._given = set(overrides)
        params = self._parameters(file, doc, _mapping(doc.get("parameters")), overrides, ["parameters"])
        scope = _Scope(file, doc, params, "", [(str(path), "tree")])
        robot = self._substitute(scope, doc.get("robot") or "", ["robot"])
        scope.robot = str(robot).strip("/")
        self._check_robot(scope, ["robot"], scope.robot, doc.get("robot"))
        root = None
        if "tree" not in doc:
            if not self._broken_in(file, []):
                self._error(file, doc, [], "the mission needs a tree: (a file of subtrees only is a library; "
                                           "include its subtrees from a mission)")
        else:
            root = self._node(scope, doc["tree"], ["tree"])
        board = {bb_key(str(k)): self._substitute(scope, v, ["blackboard", k])
                 for k, v in _mapping(doc.get("blackboard")).items()}
        for key in _mapping(doc.get("blackboard")):
            self._check_key(scope, ["blackboard", key], str(key), where_key=True)
        mission = None
        if root is not None:
            mission = Mission(str(doc.get("name", "")), str(doc.get("description") or ""), file, params, board,
                              root, files=list(self._docs), sources=dict(self.sources))
            self._check_reactive(mission)
            self._check_blackboard(mission)
        ordered = [btcpp.in_xml_terms(e, self._docs.get(e.file)) for e in in_order(self.errors, [file])]
        if mission is None or any(not e.is_warning for e in ordered):
            raise MissionInvalid(ordered)
        mission.warnings = ordered
        return mission

    # -- parameters --------------------------------------------------------------------------
    def _parameters(self, file, doc, declared, given, path, given_at=None, inherited=None):
        """Values of the parameters ``declared`` at ``path`` of ``doc``. ``given_at`` is the
        (scope, key path) where ``given`` was written; None for values given when the mission is run.
        A pose parameter's value is a pose: a name means a pose of the file the name is written in
        (the caller's for a value in ``params:``, this file's for a default or a ``-p`` value)."""
        values = dict(inherited or {})
        poses = []
        for name in given:
            if name not in declared:
                message = f"unknown parameter {name!r}"
                hint = did_you_mean(name, declared) or f"declared: {', '.join(map(str, declared)) or 'none'}"
                if given_at is None:
                    self.errors.append(MissionError("<parameters>", 0, 0, str(name), message, hint))
                else:
                    scope, at = given_at
                    self._error(scope, scope.doc, at + [name], message, hint, key=True)
        for name, spec in declared.items():
            where = path + [name]
            if not isinstance(spec, dict) or not isinstance(spec.get("type"), str) or \
                    spec["type"] not in PARAMETER_TYPES:
                values[name] = _BROKEN      # the schema pass reported it
                continue
            if spec["type"] == "pose" and (name in given or "default" in spec):
                poses.append((name, spec))
                continue
            if name in given:
                value = given[name]
            elif "default" in spec:
                value = spec["default"]
            else:
                self._error(file, doc, where, f"parameter {name!r} has no default and no value was given",
                            f"give one with -p {name}=..." if given_at is None else f"pass {name} in params:",
                            key=True)
                values[name] = _BROKEN
                continue
            typed = _typed(value, spec["type"])
            if typed is None:
                source = " (given when run)" if name in given and given_at is None else ""
                self._error(file, doc, where, f"parameter {name!r} is {spec['type']}, got {value!r}{source}", key=True)
                values[name] = _BROKEN
                continue
            if isinstance(typed, float) and not math.isfinite(typed):
                values[name] = _BROKEN      # reported: by the schema pass, or by parse_overrides
                continue
            values[name] = typed
        for name, spec in poses:
            if name in given and given_at is not None:
                scope, at = given_at
                values[name] = self._pose_value(scope, at + [name], given[name], name)
            else:
                here = _Scope(file, doc, values, "", [], calls=self._calls)
                at = path + [name] + ([] if name in given else ["default"])
                value = given[name] if name in given else spec["default"]
                values[name] = self._pose_value(here, at, value, name, given_when_run=name in given)
        return values

    def _pose_value(self, scope, at, value, name, given_when_run=False):
        """A pose parameter's value as {x, y, yaw, frame}: a pose name of ``scope``'s file, or a
        mapping. _BROKEN (the mistake recorded at ``at`` of ``scope``, or at the ``-p``) otherwise."""
        def error(message, hint=""):
            if given_when_run:
                self.errors.append(MissionError("<parameters>", 0, 0, str(name), message, hint))
            else:
                self._error(scope, scope.doc, at, message, hint)
            return _BROKEN
        source = " (given when run)" if given_when_run else ""
        if isinstance(value, str):
            if value not in scope.poses:
                return error(f"parameter {name!r}: unknown pose {value!r}{source}",
                             did_you_mean(value, scope.poses) or
                             f"poses in {pathlib.Path(scope.file).name}: {', '.join(map(str, scope.poses)) or 'none'}")
            return self._pose(scope, value)
        if not isinstance(value, dict):
            return error(f"parameter {name!r} is a pose (a pose name or {{x, y, yaw, frame}}), got {value!r}{source}")
        problem = _pose_problem(value)
        if problem:
            return error(f"parameter {name!r}{source}: {problem}", "a pose is {x, y, yaw, frame}: x and y required")
        return {"frame": "map", "yaw": 0.0, **{k: v if k == "frame" else float(v) for k, v in value.items()}}

    def _substitute(self, scope, value, path):
        if isinstance(value, str):
            whole = PARAM.fullmatch(value)
            if whole:
                return self._lookup(scope, whole[1], path, value)
            return PARAM.sub(lambda m: str(self._lookup(scope, m[1], path, value)), value)
        if isinstance(value, dict):
            return {k: self._substitute(scope, v, path + [k]) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(scope, v, path + [i]) for i, v in enumerate(value)]
        return value

    def _lookup(self, scope, name, path, text):
        if name in scope.params:
            return text if scope.params[name] is _BROKEN else scope.params[name]
        self._error(scope, scope.doc, path, f"{text}: unknown parameter {name!r}", did_you_mean(name, scope.params))
        return text

    # -- nodes -------------------------------------------------------------------------------
    def _node(self, scope, raw, path):
        """The Node written at ``path`` (None when it is unusable; its mistakes are recorded, and
        those of its children, which are resolved all the same)."""
        self._count_node(scope, path)
        if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in KINDS:
            return None      # the schema pass said why
        kind, body = next(iter(raw.items()))
        if body is not None and not isinstance(body, dict):
            return None
        body = dict(body or {})
        at = path + [kind]
        line, col = loader.locate(scope.doc, path, key=False)
        location = Location(scope.file, line, col, format_path(at))
        raw_children = {k: body.pop(k) for k in ("child", "children") if k in body}
        # A schema error in the node's own fields leaves it out (its children are resolved still);
        # the rest of its fields are checked all the same, so a file's errors come at once.
        whole_broken = tuple(at) in self._broken.get(scope.file, ())
        bad = {k for k in body if self._broken_in(scope.file, at + [k])}
        fields = self._substitute(scope, body, at)
        for name, value in fields.items():
            if name in bad or value is body[name] or value == body[name] or _has_ref(value) or \
                    name not in KINDS[kind].fields:
                continue    # unchanged (a copy, no parameter in it): the schema pass checked it
            for rel, message, hint in schema.field_errors(kind, name, value):
                self._error(scope, scope.doc, at + [name] + rel,
                            f"{message} ({_origin_words(body[name], value, self._given)})", hint)
                bad.add(name)
        broken = whole_broken or bool(bad)
        for name in bad:
            fields.pop(name)
        # Without a required field (or the node as a whole unfit) only its expressions are checked.
        unfit = whole_broken or any(KINDS[kind].fields[k].required for k in bad if k in KINDS[kind].fields)
        robot = fields.pop("robot", None)
        if robot is not None and "robot" not in bad:
            robot = str(robot).strip("/")
            self._check_robot(scope, at + ["robot"], robot, body.get("robot"))
        robot = scope.robot if robot is None else robot
        name = fields.pop("name", None)
        for field_name, spec in KINDS[kind].fields.items():
            if field_name not in fields and field_name not in raw_children and spec.default is not None:
                fields[field_name] = spec.default
        if kind in ("subtree", "include"):
            return None if broken else self._reference(scope, kind, fields, at, name, robot)
        if unfit:
            self._compile_expressions(scope, Node(kind, "", fields, robot, location), at)
        node = Node(kind, str(name or _default_name(kind, fields)), fields, robot, location, origin=scope.origin,
                    source=(scope.file, scope.doc, tuple(at), scope.calls))
        child_scope = scope if robot == scope.robot else _Scope(scope.file, scope.doc, scope.params, robot,
                                                                  scope.stack, scope.origin, scope.calls)
        children = raw_children.get("children")
        if isinstance(children, list):
            node.children = [self._node(child_scope, c, at + ["children", i]) for i, c in enumerate(children)]
        elif "child" in raw_children:
            node.children = [self._node(child_scope, raw_children["child"], at + ["child"])]
        node.children = [c for c in node.children if c is not None]
        if unfit:
            return None
        errors_at_start = len(self.errors)
        self._check_leaf(scope, node, at)
        # The message the leaf sends is built from these: with a mistake in one, its type is not checked.
        request_unfit = any(e.keys[:len(at) + 1] in {tuple(at + [k]) for k in _REQUEST_FIELDS} or e.keys == tuple(at)
                            for e in self.errors[errors_at_start:] if e.severity != WARNING)
        if not bad & {"times", "attempts", "forever", "until"}:
            self._check_counts(scope, node, at)
        self._check_names(scope, node, at, body)
        self._compile_expressions(scope, node, at)
        if "type" in fields and self.check_interfaces and not request_unfit and not _has_ref(fields):
            if isinstance(fields.get("feedback_format"), str):
                self._check_feedback_format(scope, node, at)
            self._check_interface(scope, node, at)
        return None if broken else node

    def _check_feedback_format(self, scope, node, at):
        """``feedback_format`` names scalar fields of the action's feedback, with format specs only."""
        from behaviors.feedback import FormatError, check_text

        try:
            check_text(node.fields["feedback_format"], node.fields["type"])
        except FormatError as exc:
            self._error(scope, scope.doc, at + ["feedback_format"], str(exc))

    def _check_leaf(self, scope, node, at):
        f = node.fields
        if node.kind == "navigate" and isinstance(f["pose"], str) and not _has_ref(f["pose"]):
            if f["pose"] in scope.poses:
                f["pose"] = self._pose(scope, f["pose"])
            else:
                self._error(scope, scope.doc, at + ["pose"], f"unknown pose {f['pose']!r}",
                            did_you_mean(f["pose"], scope.poses) or
                            f"poses in this file: {', '.join(map(str, scope.poses)) or 'none'}")
        if node.kind == "move_arm" and ("pose" in f) == ("joints" in f):
            self._error(scope, scope.doc, at, "move_arm needs pose: or joints:, exactly one")
        if node.kind == "refresh" and node.children and node.children[0].kind not in SERVICE_KINDS:
            self._error(scope, scope.doc, at + ["child"], f"refresh calls a service leaf ({', '.join(SERVICE_KINDS)}), "
                                                          f"not {node.children[0].kind}",
                        "a condition on data an action produces: keep the action in a memory: true sequence")
        for key_field in ("key", "feedback", "result", "response"):
            if isinstance(f.get(key_field), str):
                self._check_key(scope, at + [key_field], f[key_field])
                f[key_field] = bb_key(f[key_field])
        for path, key in _bb_references(f):
            self._check_key(scope, at + path, key)

    def _check_key(self, scope, at, key: str, where_key: bool = False):
        problem = names.blackboard_key_problem(key)
        if problem:
            self._error(scope, scope.doc, at, f"{key!r} is not a blackboard key: {problem}", key=where_key)

    def _check_counts(self, scope, node, at):
        """repeat and retry counts as BT.CPP's: 0 runs nothing (a warning), -1 or forever: true loops."""
        f = node.fields
        if node.kind not in ("repeat", "retry"):
            return
        count, done = ("times", "succeeds") if node.kind == "repeat" else ("attempts", "fails")
        if f.get(count) is not None and f.get("forever"):
            self._error(scope, scope.doc, at + ["forever"], f"give {count}: or forever: true, not both")
        elif f.get(count) is None and not f.get("forever") and not f.get("until"):
            needs = f"{count}:, forever: true" + (" or until:" if node.kind == "repeat" else "")
            self._error(scope, scope.doc, at, f"{node.kind} needs {needs}",
                        f"e.g. {count}: 3; {count}: -1 (as in BT.CPP) and forever: true never stop")
        elif f.get(count) == 0:
            self._warn(scope, at + [count], f"{count}: 0 never runs the child: the {node.kind} {done} at once",
                       f"as BT.CPP's {'Repeat' if node.kind == 'repeat' else 'RetryUntilSuccessful'}; "
                       f"-1 or forever: true runs it forever")

    def _check_robot(self, scope, path, robot, written):
        problem = names.robot_problem(robot)
        if problem:
            self._error(scope, scope.doc, path, f"robot {robot!r} is not a ROS namespace: {problem}",
                        _origin_words(written, robot, self._given, hint=True))

    def _check_names(self, scope, node, at, body):
        """The action or service name of a remote leaf is a ROS name, and so is its full name."""
        for field_name in ("action", "service", "topic"):
            name = node.fields.get(field_name)
            if node.kind not in REMOTE_KINDS + TOPIC_KINDS or not isinstance(name, str):
                continue
            origin = _origin_words(body.get(field_name, name), name, self._given, hint=True)
            problem = names.topic_problem(name)
            if problem:
                self._error(scope, scope.doc, at + [field_name], f"{name!r} is not a ROS name: {problem}", origin)
                continue
            if names.robot_problem(node.robot) or ("~" in name or "{" in name) and not node.robot:
                continue        # the robot is reported where it is written; rcl expands ~ and {node}
            full = names.remote_name(node.robot, name)
            problem = names.full_name_problem(full)
            if problem:
                self._error(scope, scope.doc, at + [field_name], f"{full!r} is not a ROS name: {problem}", origin)

    def _compile_expressions(self, scope, node, at):
        """Parse each check and script of the node into a Check or Program."""
        f = node.fields
        subject = "result" if node.kind in ACTION_KINDS else "response" if node.kind in SERVICE_KINDS else None
        for field_name, spec in KINDS[node.kind].fields.items():
            text = f.get(field_name)
            if spec.type not in ("check", "script") or not isinstance(text, str):
                continue
            dialect = f.get("dialect", "yaml")
            try:
                if spec.type == "script":
                    f[field_name] = parse(text, dialect, statement=True)
                else:
                    f[field_name] = compile_check(text, dialect, subject if field_name == "success" else
                                                  "message" if node.kind == "wait_for_message" else None)
            except ExpressionError as exc:
                self._expression_error(scope.file, scope.doc, at + [field_name], exc, text, calls=scope.calls)

    def _check_interface(self, scope, node, at):
        """The leaf's type must be installed, its constant goal/request fields must fit it, and its
        success check must read fields its result/response has."""
        from behaviors.messages import InterfaceError, import_type
        from executive.language import compiler

        subject = "result" if node.kind in ACTION_KINDS else "response"
        try:
            node.interface = compiler.check_interface(node)
        except InterfaceError as exc:
            if not exc.field:
                self._error(scope, scope.doc, at + ["type"], exc.reason)
                return
            if node.kind == "subscribe":
                self._error(scope, scope.doc, at + ["field"], exc.reason)
                return
            section = {"action": "goal", "publish": "message"}.get(node.kind, "request")
            self._error(scope, scope.doc, at + [section, *exc.field.split(".")], exc.reason,
                        key=exc.unknown_field)
            if node.kind in PLUGIN_KINDS or node.kind in TOPIC_KINDS:
                return
            # The type itself is installed: its success check is checked all the same.
            node.interface = import_type(node.fields["type"], "action" if subject == "result" else "srv")
        if node.kind in PLUGIN_KINDS:
            return      # a plugin's type is checked installed; what it sends is its own
        if node.kind in TOPIC_KINDS:
            check = node.fields.get("check")
            if node.kind == "wait_for_message" and isinstance(check, Check):
                record = typecheck.message_type(node.interface, lambda name: import_type(name, "msg"))
                for error in typecheck.check(check.program, typecheck.Scope.message(record, "message")):
                    self._expression_error(scope.file, scope.doc, at + ["check"], error, check.text,
                                           calls=scope.calls)
            return
        record = typecheck.message_type(getattr(node.interface, subject.capitalize()),
                                        lambda name: import_type(name, "msg"))
        check = node.fields.get("success")
        if isinstance(check, Check):
            for error in typecheck.check(check.program, typecheck.Scope.message(record, subject)):
                self._expression_error(scope.file, scope.doc, at + ["success"], error, check.text,
                                       calls=scope.calls)
        elif "success" not in node.fields and node.kind in DEFAULT_CHECKS:
            if _default_check_misfits(node.kind, node.interface):
                fix = ("write success: with a check of its fields, or success: null to accept any response"
                       if node.kind in SERVICE_KINDS else "use action: for this type, with a success: check of its own")
                self._error(scope, scope.doc, at + ["type"],
                            f"{record.name} has no field the default check {DEFAULT_CHECKS[node.kind]!r} reads "
                            f"(its fields: {', '.join(record.fields) or 'none'})", fix)

    # -- the whole mission -----------------------------------------------------------------------
    def _node_error(self, node, message, hint="", field=None, severity="error"):
        file, doc, at, calls = node.source
        self._error(file, doc, list(at) + ([field] if field else []), message, hint, key=not field,
                    severity=severity, calls=calls)

    def _check_reactive(self, mission):
        """A remote leaf ahead of another child of a memory: false composite is started again on
        every tick and halts the children after it while it runs: refused, with the safe pattern."""
        for node in mission.nodes():
            if node.kind not in ("sequence", "fallback") or node.fields.get("memory") is not False:
                continue
            for child in node.children[:-1]:
                for leaf in _remote_leaves(child):
                    work = "goal" if leaf.kind in ACTION_KINDS else "call"
                    self._node_error(
                        leaf, f"{leaf.kind} {leaf.name!r} is ahead of other children of a memory: false "
                              f"{node.kind}: every tick starts it again, and while its {work} runs the children "
                              f"after it are halted (their goals cancelled), so the {node.kind} never gets past it",
                        "check fresh data instead: refresh: {every: 5.0, key: health, child: {health_check: {}}} "
                        "ahead of a condition: {check: 'health.ok'} (missions/guarded_patrol.yaml); or "
                        "memory: true, or wrap the leaf in once:")

    def _check_blackboard(self, mission):
        """Conditions, until: checks and scripts against the blackboard keys the mission writes:
        types where they are known; a warning for a key nothing writes."""
        from behaviors.messages import import_type

        def load(name):
            return import_type(name, "msg")

        written, scripted = collections.defaultdict(list), set()
        for key, value in mission.blackboard.items():
            written[key.lstrip("/")].append(typecheck.type_of_value(value))
        for node in mission.nodes():
            f, part = node.fields, None
            for output, part in (("result", "Result"), ("feedback", "Feedback"), ("response", "Response")):
                if isinstance(f.get(output), str):
                    iface = getattr(node.interface, part, None)
                    written[f[output].lstrip("/")].append(
                        typecheck.message_type(iface, load) if iface is not None else typecheck.ANY)
            if node.kind == "set":
                written[f["key"].lstrip("/")].append(typecheck.type_of_value(f["value"]))
            if node.kind in PLUGIN_KINDS:
                from behaviors.plugins import registry

                plugin = registry()[node.kind]
                for key in plugin.keys(plugin.writes, f):
                    written[bb_key(key).lstrip("/")].append(typecheck.ANY)
            if node.kind == "wait_for_message" and isinstance(f.get("key"), str):
                written[f["key"].lstrip("/")].append(
                    typecheck.message_type(node.interface, load) if node.interface is not None else typecheck.ANY)
            if node.kind == "subscribe":
                data = typecheck.message_type(node.interface, load) if node.interface is not None and \
                    not f.get("field") else typecheck.ANY
                written[f["key"].lstrip("/")].append(typecheck.Record("subscription", {
                    "data": data, "fresh": typecheck.BOOL, "age": typecheck.NUMBER, "count": typecheck.NUMBER,
                    "stamp": typecheck.NUMBER}))
            if node.kind == "refresh":
                iface = getattr(node.children[0].interface, "Response", None) if node.children else None
                response = typecheck.message_type(iface, load) if iface is not None else typecheck.ANY
                written[f["key"].lstrip("/")].append(typecheck.Record("refresh outcome", {
                    "ok": typecheck.BOOL, "outcome": typecheck.TEXT, "response": response,
                    "failure": FAILURE_RECORD, "count": typecheck.NUMBER, "stamp": typecheck.NUMBER}))
            for value in f.values():     # scripts: of script:, and BT.CPP's conditions and Precondition
                if isinstance(value, Program):
                    scripted.update(name.lstrip("@") for name in value.writes())
        names = {k: typecheck.same_type(v) for k, v in written.items()}
        names.update({k: typecheck.ANY for k in scripted if k not in names})   # a script's own type: its value's
        scope = typecheck.Scope(names)
        for node in mission.nodes():
            for field_name in ("check", "until", "code"):
                if node.kind == "wait_for_message":
                    break       # its check reads the message, not the blackboard
                value = node.fields.get(field_name)
                program = value.program if isinstance(value, Check) else value
                if program is None or isinstance(program, str):
                    continue
                file, doc, at, calls = node.source
                path = list(at) + [field_name]
                for error in typecheck.check(program, scope, want_bool=field_name != "code"):
                    self._expression_error(file, doc, path, error, program.text, calls=calls)
                for name in program.reads():
                    key = name.lstrip("@")
                    if key not in names and not _is_enum_like(name):
                        where = next(n.pos for statement in program.statements for n in statement.walk()
                                     if isinstance(n, Name) and n.name == name)
                        self._expression_error(file, doc, path, ExpressionError(
                            f"blackboard key {key!r} is not written by this mission (blackboard:, set:, a script, "
                            "or a leaf's result:/response:/feedback:/key:)", max(where, 0), len(name),
                            did_you_mean(key, names)), program.text, severity=WARNING, calls=calls)

    def _pose(self, scope, name):
        """A named pose of the scope's file, parameters substituted, coordinates checked."""
        where = ["poses", name]
        if self._broken_in(scope.file, where) or not isinstance(scope.poses[name], dict):
            return {"x": 0.0, "y": 0.0, "yaw": 0.0, "frame": "map"}    # the schema pass reported it
        pose = {"frame": "map", "yaw": 0.0, **self._substitute(scope, dict(scope.poses[name]), where)}
        for axis in ("x", "y", "yaw"):
            value = pose[axis]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                if not (isinstance(value, str) and PARAM.search(value)):   # else: already reported
                    self._error(scope, scope.doc, where + [axis], f"{axis} must be a number, got {value!r}")
                pose[axis] = 0.0
        return pose

    def _include_file(self, scope, written: str, at):
        """The file an include's ``file:`` names (:func:`executive.paths.mission_file`: next to the
        including file, then in each mission root, or ``package://``); None after recording why not."""
        here = pathlib.Path(scope.stack[-1][0]).parent
        roots = self.roots
        try:
            target = paths.mission_file(written, roots, here=here)
        except paths.UnknownPackage as exc:
            self._error(scope, scope.doc, at, f"{written!r}: no installed package {exc.args[0]!r}",
                        f"packages are found in the ament index of {', '.join(paths.ament_prefixes())}")
            return None
        except paths.OutsideRoots:
            allowed = "its package's missions directory" if written.startswith(paths.PACKAGE_URL) else \
                f"the mission roots ({', '.join(map(str, roots))})"
            self._error(scope, scope.doc, at, f"{written!r} is outside {allowed}",
                        "add its directory to the search path (MISSION_PATH, mission --mission-path, the "
                        "executive's mission_path parameter), or name an installed package's file as "
                        "package://<package>/missions/<file>")
            return None
        except (OSError, ValueError) as exc:      # e.g. a NUL character in the name
            self._error(scope, scope.doc, at, f"{written!r} is not a file name ({exc})")
            return None
        if target is None:
            places = [here] + [r for r in roots if pathlib.Path(r) != here]
            self._error(scope, scope.doc, at, f"no mission file {written!r}",
                        f"looked in {', '.join(map(str, places))}")
        return target

    def _reference(self, scope, kind, fields, at, name, robot):
        if kind == "subtree":
            target_doc, target_file, target_path = scope.doc, scope.file, pathlib.Path(scope.stack[-1][0])
            sub_name = fields["use"]
            if sub_name not in scope.subtrees:
                self._error(scope, scope.doc, at + ["use"], f"unknown subtree {sub_name!r}",
                            did_you_mean(sub_name, scope.subtrees) or
                            f"subtrees in this file: {', '.join(map(str, scope.subtrees)) or 'none'}")
                return None
            origin = f"subtree {sub_name}"
        else:
            target_path = self._include_file(scope, str(fields["file"]), at + ["file"])
            if target_path is None:
                return None
            target_doc = self.document(target_path)
            if target_doc is None:
                return None
            target_file = str(target_path)
            sub_name = fields.get("subtree")
            subtrees = _mapping(target_doc.get("subtrees"))
            if sub_name is not None and sub_name not in subtrees:
                self._error(scope, scope.doc, at + ["subtree"], f"{fields['file']} has no subtree {sub_name!r}",
                            did_you_mean(sub_name, subtrees))
                return None
            if sub_name is None and "tree" not in target_doc:
                self._error(scope, scope.doc, at + ["file"], f"{fields['file']} has no tree: (name a subtree:)")
                return None
            origin = f"include {fields['file']}" + (f"#{sub_name}" if sub_name else "")
        key = (str(target_path), sub_name or "tree")
        if key in scope.stack:
            chain = " -> ".join(f"{pathlib.Path(f).name}#{s}" for f, s in scope.stack + [key])
            self._error(scope, scope.doc, at, f"{kind} cycle: {chain}")
            return None
        if sub_name is not None:
            spec = _mapping(target_doc.get("subtrees")).get(sub_name)
            if not isinstance(spec, dict) or "tree" not in spec:
                return None     # the schema pass reported it in its own file
            declared, tree_path = _mapping(spec.get("parameters")), ["subtrees", sub_name]
            tree = spec["tree"]
        else:
            declared, tree_path = _mapping(target_doc.get("parameters")), ["parameters"]
            tree = target_doc["tree"]
        line, col = loader.locate(scope.doc, at[:-1], key=False)
        calls = (f"{scope.file}:{line}:{col}: {origin}", *scope.calls)
        inherited = scope.params if kind == "subtree" else {}
        outer, self._calls = self._calls, calls     # errors in the target's parameters show the chain
        try:
            if kind == "include" and sub_name is not None:
                # an included subtree sees its own file's parameters' defaults
                inherited = self._parameters(target_file, target_doc, _mapping(target_doc.get("parameters")), {},
                                             ["parameters"])
            params = self._parameters(target_file, target_doc, declared, fields["params"],
                                      tree_path + (["parameters"] if sub_name else []),
                                      given_at=(scope, at + ["params"]),
                                      inherited=inherited)
        finally:
            self._calls = outer
        inner = _Scope(target_file, target_doc, params, robot, scope.stack + [key], origin, calls)
        node = self._node(inner, tree, tree_path + ["tree"] if sub_name else ["tree"])
        if node is not None and name:
            node.name = str(name)
        return node


@functools.lru_cache(maxsize=None)
def _default_check_misfits(kind, interface) -> bool:
    """Whether the check a leaf of ``kind`` uses without a success: of its own reads a field its
    interface's result (or response) lacks (once per kind and interface)."""
    from behaviors.messages import import_type

    subject = "result" if kind in ACTION_KINDS else "response"
    record = typecheck.message_type(getattr(interface, subject.capitalize()), lambda name: import_type(name, "msg"))
    return bool(typecheck.check(parse(DEFAULT_CHECKS[kind]), typecheck.Scope.message(record, subject)))


def _remote_leaves(node):
    """The action and service leaves under ``node`` that run each time it is ticked afresh (a
    once: or refresh: keeps its own)."""
    if node.kind in REMOTE_KINDS:
        yield node
    if node.kind in ("once", "refresh"):
        return
    for child in node.children:
        yield from _remote_leaves(child)


def _is_enum_like(name) -> bool:
    return name.isupper()


def _origin_words(written, value, given, hint=False) -> str:
    """Where a value came from, when it came from a parameter: "from ${robot} = 'robot 2' (-p)"."""
    refs = PARAM.findall(written) if isinstance(written, str) else []
    if not refs:
        return "" if hint else "from a parameter"
    names_given = [r for r in refs if r in given]
    where = " (given with -p)" if names_given else ""
    return f"from ${{{refs[0]}}} = {value!r}{where}"


def _has_ref(value) -> bool:
    """True when a ${...} is left in ``value`` (its parameter was wrong; that is reported already)."""
    if isinstance(value, str):
        return bool(PARAM.search(value))
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_ref(v) for v in value)
    return False


def _typed(value, type_name):
    if type_name == "string":
        return None if isinstance(value, (dict, list)) or value is None else str(value)
    if type_name == "float":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if type_name == "int":
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if type_name == "bool":
        return value if isinstance(value, bool) else None
    return None


def _pose_problem(pose: dict) -> str:
    """Why a mapping is not a pose {x, y, yaw, frame} ("" when it is one)."""
    extra = [str(k) for k in pose if k not in ("x", "y", "yaw", "frame")]
    if extra:
        return f"a pose has no {extra[0]!r}"
    missing = [k for k in ("x", "y") if k not in pose]
    if missing:
        return f"a pose needs {missing[0]!r}"
    for axis in ("x", "y", "yaw"):
        value = pose.get(axis, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{axis} must be a finite number, got {value!r}"
    if not isinstance(pose.get("frame", ""), str):
        return f"frame must be text, got {pose['frame']!r}"
    return ""


def _default_name(kind, fields):
    if kind == "navigate" and isinstance(fields.get("pose"), str):
        return f"navigate to {fields['pose']}"
    if kind == "move_arm" and isinstance(fields.get("pose"), str):
        return f"arm to {fields['pose']}"
    return kind


def is_library(doc) -> bool:
    return "tree" not in doc and bool(doc.get("subtrees"))


def check_library(path, missions_root=None, roots=None) -> list:
    """Validate a file of subtrees: each subtree whose parameters all have defaults is resolved
    as if included; the others are checked when a mission includes them. Raises MissionInvalid;
    returns the warnings."""
    resolver = Resolver(missions_root or pathlib.Path(path).resolve().parent, roots=roots)
    path = pathlib.Path(path).resolve()
    doc = resolver.document(path)
    if doc is not None:
        for name, spec in _mapping(doc.get("subtrees")).items():
            if isinstance(spec, dict) and all(isinstance(p, dict) and "default" in p
                                              for p in _mapping(spec.get("parameters")).values()):
                scope = _Scope(str(path), doc, {}, "", [(str(path), "library")])
                resolver._reference(scope, "include", {"file": path.name, "subtree": name, "params": {}},
                                    ["subtrees", name], None, "")
    ordered = in_order(resolver.errors, [str(path)])
    if any(not e.is_warning for e in ordered):
        raise MissionInvalid(ordered)
    return ordered


def resolve(path, overrides=None, missions_root=None, check_interfaces=True, roots=None) -> Mission:
    """Resolve the mission file at ``path`` (see :class:`Resolver` for ``roots``)."""
    return Resolver(missions_root, check_interfaces, roots=roots).mission(path, overrides)


def resolve_text(text: str, missions_root, overrides=None, name: str = "<goal>", roots=None) -> Mission:
    """Resolve a mission given as YAML text (an ExecuteMission goal). Errors name the file ``name``;
    includes are looked up in ``missions_root`` as for a file there, then in ``roots``."""
    return Resolver(missions_root, roots=roots).text(text, overrides, name)




def _bb_references(value, path=()):
    """(key path, key) of every ``{bb: key}`` in a node's fields."""
    if is_bb_ref(value):
        yield list(path), value["bb"]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bb_references(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bb_references(item, path + (index,))
