"""From mission files to a :class:`~executive.language.model.Mission`: parameters (typed, with
overrides), poses, subtrees and includes expanded, robot namespaces inherited, defaults filled.

Every mistake becomes a MissionError with its file, line and key path; resolution goes on past a
mistake where it can, so one run reports them all.
"""
import functools
import pathlib
import re
import time


from executive.language import btcpp, loader, schema
from executive.language.errors import MissionError, MissionInvalid, did_you_mean, format_path
from executive.language.kinds import KINDS
from executive.language.model import Location, Mission, Node, bb_key

_BROKEN = object()   # a parameter whose value was wrong: its uses report nothing more
PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CHECK = re.compile(r"^\s*(?P<path>[A-Za-z_/][\w/.\-]*)\s*(?P<op>==|!=|<=|>=|<|>|not in|in)\s*(?P<value>.+?)\s*$")


@functools.lru_cache(maxsize=None)
def _field_validator(kind, name):
    from jsonschema import Draft202012Validator     # only for a value that does not fit: not at start-up

    field_schema = schema.SCHEMA["$defs"][f"kind_{kind}"]["properties"][name]
    return Draft202012Validator({**field_schema, "$defs": schema.SCHEMA["$defs"]})


def _field_errors(kind, name, value):
    """jsonschema's errors of a field's value that came from a parameter (none, fast, when it fits)."""
    if schema.fits(kind, name, value):
        return []
    return list(_field_validator(kind, name).iter_errors(value))


def parse_check(text: str):
    """'error_code == 0' -> ('error_code', '==', 0); None when malformed. Values are YAML scalars."""
    match = CHECK.match(text or "")
    if not match:
        return None
    try:
        value = loader.value(match["value"])
    except MissionInvalid:
        return None
    return match["path"], match["op"].replace("not in", "not_in"), value


def parse_overrides(pairs) -> dict:
    """['speed=0.4', 'target=dock'] -> {'speed': 0.4, 'target': 'dock'} (values as YAML scalars)."""
    out = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise MissionInvalid([MissionError("<parameters>", 0, 0, pair, "expected name=value")])
        try:
            value = loader.value(text, "<parameters>") if text.strip() else ""
        except MissionInvalid as exc:
            problem = exc.errors[0].message.removeprefix("not valid YAML: ")
            raise MissionInvalid([MissionError("<parameters>", 0, 0, pair, f"the value is not YAML: {problem}",
                                               "quote a string: -p 'name=\"text\"'")]) from None
        out[name.strip()] = value
    return out


class _Scope:
    """Where a node is written and what its references mean there."""

    def __init__(self, file, doc, params, robot, stack, origin=None):
        self.file, self.doc, self.params, self.robot = file, doc, params, robot
        self.poses = dict(doc.get("poses") or {})
        self.subtrees = dict(doc.get("subtrees") or {})
        self.stack, self.origin = stack, origin


class Resolver:
    """Resolves one mission. ``check_interfaces=False`` leaves out checking leaves' goals against the
    installed interfaces (it imports the message packages): ``mission run`` finds the robots to
    start that way first. ``max_nodes`` and ``deadline`` (``time.monotonic()`` seconds) bound the
    work: subtrees and includes expand once per use, so a few lines can stand for millions of
    behaviours; past either bound resolution stops with one error. Resolving makes no py_trees
    behaviour, so it may run on a thread of its own (executive/loading.py)."""

    def __init__(self, missions_root=None, check_interfaces=True, max_nodes=None, deadline=None):
        self.missions_root = pathlib.Path(missions_root).resolve() if missions_root else None
        self.check_interfaces = check_interfaces
        self.errors = []
        self._docs = {}
        self._texts = {}    # path -> (text, name in errors) for missions given as text
        self.sources = {}   # path -> text of every file read from disk (what a cache compares)
        self.max_nodes, self.deadline, self.nodes = max_nodes, deadline, 0

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
    def _error(self, scope_or_file, doc, path, message, hint="", key=False):
        file = scope_or_file.file if isinstance(scope_or_file, _Scope) else scope_or_file
        line, col = loader.locate(doc, path, key=key) if doc is not None else (0, 0)
        self.errors.append(MissionError(file, line, col, format_path(path), message, hint))

    # -- files -----------------------------------------------------------------------------
    def document(self, path: pathlib.Path):
        """The loaded, schema-checked document at ``path``; None (errors recorded) if unusable."""
        key = str(path)
        if key not in self._docs:
            text, name = self._texts.get(key, (None, key))
            try:
                if text is not None:
                    doc = loader.loads(text, name)
                else:
                    text = self.sources[key] = loader.read(path)
                    doc = btcpp.loads(text, key) if path.suffix == ".xml" else loader.loads(text, key)
            except MissionInvalid as exc:
                self.errors.extend(exc.errors)
                doc = None
            if doc is not None:
                found = schema.check(doc, name)
                self.errors.extend(found)
                doc = None if found else doc
            self._docs[key] = doc
        return self._docs[key]

    def mission(self, path, overrides=None, filename=None) -> Mission:
        """Resolve the mission at ``path``; raises MissionInvalid with every error found."""
        path = pathlib.Path(path).resolve()
        if self.missions_root is None:
            self.missions_root = path.parent
        doc = self.document(path)
        if doc is None:
            raise MissionInvalid(self.errors)
        file = filename or str(path)
        params = self._parameters(file, doc, doc.get("parameters") or {}, dict(overrides or {}), ["parameters"])
        scope = _Scope(file, doc, params, "", [(str(path), "tree")])
        scope.robot = str(self._substitute(scope, doc.get("robot") or "", ["robot"])).strip("/")
        if "tree" not in doc:
            self._error(file, doc, [], "the mission needs a tree: (a file of subtrees only is a library; "
                                       "include its subtrees from a mission)")
            raise MissionInvalid(self.errors)
        root = self._node(scope, doc["tree"], ["tree"])
        board = {bb_key(str(k)): self._substitute(scope, v, ["blackboard", k])
                 for k, v in (doc.get("blackboard") or {}).items()}
        if self.errors:
            raise MissionInvalid(self.errors)
        return Mission(str(doc["name"]), str(doc.get("description") or ""), file, params, board, root,
                       files=list(self._docs), sources=dict(self.sources))

    # -- parameters --------------------------------------------------------------------------
    def _parameters(self, file, doc, declared, given, path, given_at=None, inherited=None):
        """Values of the parameters ``declared`` at ``path`` of ``doc``. ``given_at`` is the
        (scope, key path) where ``given`` was written; None for values given when the mission is run."""
        values = dict(inherited or {})
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
            values[name] = typed
        return values

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
        self._count_node(scope, path)
        kind, body = next(iter(raw.items()))
        body = dict(body or {})
        errors_at_start = len(self.errors)
        at = path + [kind]
        line, col = loader.locate(scope.doc, path, key=False)
        location = Location(scope.file, line, col, format_path(at))
        raw_children = {k: body.pop(k) for k in ("child", "children") if k in body}
        fields = self._substitute(scope, body, at)
        before = len(self.errors)
        for name, value in fields.items():
            if value is body[name] or value == body[name]:
                continue    # unchanged (a copy, no parameter in it): the schema pass checked it
            for error in _field_errors(kind, name, value):
                self._error(scope, scope.doc, at + [name] + list(error.absolute_path),
                            f"{value!r} (from a parameter) does not fit: {error.message}")
        if len(self.errors) > before:
            return None
        robot = fields.pop("robot", None)
        robot = scope.robot if robot is None else str(robot).strip("/")
        name = fields.pop("name", None)
        for field_name, spec in KINDS[kind].fields.items():
            if field_name not in fields and field_name not in raw_children and spec.default is not None:
                fields[field_name] = spec.default
        if kind in ("subtree", "include"):
            return self._reference(scope, kind, fields, at, name, robot)
        node = Node(kind, str(name or _default_name(kind, fields)), fields, robot, location, origin=scope.origin)
        child_scope = scope if robot == scope.robot else _Scope(scope.file, scope.doc, scope.params, robot,
                                                                  scope.stack, scope.origin)
        if "children" in raw_children:
            node.children = [self._node(child_scope, c, at + ["children", i])
                             for i, c in enumerate(raw_children["children"])]
        elif "child" in raw_children:
            node.children = [self._node(child_scope, raw_children["child"], at + ["child"])]
        node.children = [c for c in node.children if c is not None]
        self._check_leaf(scope, node, at, interfaces=len(self.errors) == errors_at_start and not _has_ref(fields))
        return node

    def _check_leaf(self, scope, node, at, interfaces=True):
        errors_before = len(self.errors)
        f = node.fields
        if node.kind == "navigate" and isinstance(f["pose"], str):
            if f["pose"] in scope.poses:
                f["pose"] = self._pose(scope, f["pose"])
            else:
                self._error(scope, scope.doc, at + ["pose"], f"unknown pose {f['pose']!r}",
                            did_you_mean(f["pose"], scope.poses) or
                            f"poses in this file: {', '.join(scope.poses) or 'none'}")
        if node.kind == "move_arm" and ("pose" in f) == ("joints" in f):
            self._error(scope, scope.doc, at, "move_arm needs pose: or joints:, exactly one")
        if node.kind == "retry" and f["attempts"] < 1:
            self._error(scope, scope.doc, at + ["attempts"], "attempts must be at least 1")
        for check_field in ("check", "success"):
            if isinstance(f.get(check_field), str):
                parsed = parse_check(f[check_field])
                if parsed is None:
                    self._error(scope, scope.doc, at + [check_field],
                                f"{f[check_field]!r} is not a comparison",
                                "write 'name op value' with op one of == != < <= > >= in 'not in', e.g. 'battery >= 20'")
                else:
                    f[check_field] = parsed
        for key_field in ("key", "feedback", "result", "response"):
            if isinstance(f.get(key_field), str):
                f[key_field] = bb_key(f[key_field])
        if "type" in f and interfaces and self.check_interfaces and len(self.errors) == errors_before:
            if isinstance(f.get("feedback_format"), str):
                self._check_feedback_format(scope, node, at)
            if len(self.errors) == errors_before:
                self._check_interface(scope, node, at)

    def _check_feedback_format(self, scope, node, at):
        """``feedback_format`` names scalar fields of the action's feedback, with format specs only."""
        from behaviors.feedback import FormatError, check_text

        try:
            check_text(node.fields["feedback_format"], node.fields["type"])
        except FormatError as exc:
            self._error(scope, scope.doc, at + ["feedback_format"], str(exc))

    def _check_interface(self, scope, node, at):
        """The leaf's type must be installed and its constant goal/request fields must fit it."""
        from behaviors.messages import InterfaceError
        from executive.language import compiler

        try:
            compiler.check_interface(node)
        except InterfaceError as exc:
            if not exc.field:
                self._error(scope, scope.doc, at + ["type"], exc.reason)
            else:
                section = "goal" if node.kind == "action" else "request"
                self._error(scope, scope.doc, at + [section, *exc.field.split(".")], exc.reason,
                            key=exc.unknown_field)

    def _pose(self, scope, name):
        """A named pose of the scope's file, parameters substituted, coordinates checked."""
        where = ["poses", name]
        pose = {"frame": "map", "yaw": 0.0, **self._substitute(scope, dict(scope.poses[name]), where)}
        for axis in ("x", "y", "yaw"):
            value = pose[axis]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                if not (isinstance(value, str) and PARAM.search(value)):   # else: already reported
                    self._error(scope, scope.doc, where + [axis], f"{axis} must be a number, got {value!r}")
                pose[axis] = 0.0
        return pose

    def _reference(self, scope, kind, fields, at, name, robot):
        if kind == "subtree":
            target_doc, target_file, target_path = scope.doc, scope.file, pathlib.Path(scope.stack[-1][0])
            sub_name = fields["use"]
            if sub_name not in scope.subtrees:
                self._error(scope, scope.doc, at + ["use"], f"unknown subtree {sub_name!r}",
                            did_you_mean(sub_name, scope.subtrees) or
                            f"subtrees in this file: {', '.join(scope.subtrees) or 'none'}")
                return None
            origin = f"subtree {sub_name}"
        else:
            target_path = (pathlib.Path(scope.stack[-1][0]).parent / fields["file"]).resolve()
            if self.missions_root not in target_path.parents:
                self._error(scope, scope.doc, at + ["file"],
                            f"{fields['file']!r} is outside the missions directory {self.missions_root}")
                return None
            if not target_path.is_file():
                self._error(scope, scope.doc, at + ["file"], f"no mission file {fields['file']!r} "
                                                             f"(looked for {target_path})")
                return None
            target_doc = self.document(target_path)
            if target_doc is None:
                return None
            target_file = str(target_path)
            sub_name = fields.get("subtree")
            subtrees = target_doc.get("subtrees") or {}
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
            spec = (target_doc.get("subtrees") or {})[sub_name]
            declared, tree_path = dict(spec.get("parameters") or {}), ["subtrees", sub_name]
        else:
            declared, tree_path = dict(target_doc.get("parameters") or {}), ["parameters"]
        inherited = scope.params if kind == "subtree" else {}
        if kind == "include" and sub_name is not None:
            # an included subtree sees its own file's parameters' defaults
            inherited = self._parameters(target_file, target_doc, target_doc.get("parameters") or {}, {},
                                         ["parameters"])
        params = self._parameters(target_file, target_doc, declared, fields["params"],
                                  tree_path + (["parameters"] if sub_name else []),
                                  given_at=(scope, at + ["params"]),
                                  inherited=inherited)
        inner = _Scope(target_file, target_doc, params, robot, scope.stack + [key], origin)
        tree = target_doc["subtrees"][sub_name]["tree"] if sub_name else target_doc["tree"]
        node = self._node(inner, tree, tree_path + ["tree"] if sub_name else ["tree"])
        if node is not None and name:
            node.name = str(name)
        return node


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


def _default_name(kind, fields):
    if kind == "navigate" and isinstance(fields.get("pose"), str):
        return f"navigate to {fields['pose']}"
    if kind == "move_arm" and isinstance(fields.get("pose"), str):
        return f"arm to {fields['pose']}"
    return kind


def is_library(doc) -> bool:
    return "tree" not in doc and bool(doc.get("subtrees"))


def check_library(path, missions_root=None):
    """Validate a file of subtrees: each subtree whose parameters all have defaults is resolved
    as if included; the others are checked when a mission includes them. Raises MissionInvalid."""
    resolver = Resolver(missions_root or pathlib.Path(path).resolve().parent)
    path = pathlib.Path(path).resolve()
    doc = resolver.document(path)
    if doc is not None:
        for name, spec in (doc.get("subtrees") or {}).items():
            if all("default" in p for p in (spec.get("parameters") or {}).values()):
                scope = _Scope(str(path), doc, {}, "", [(str(path), "library")])
                resolver._reference(scope, "include", {"file": path.name, "subtree": name, "params": {}},
                                    ["subtrees", name], None, "")
    if resolver.errors:
        raise MissionInvalid(resolver.errors)


def resolve(path, overrides=None, missions_root=None, check_interfaces=True) -> Mission:
    return Resolver(missions_root, check_interfaces).mission(path, overrides)


def resolve_text(text: str, missions_root, overrides=None, name: str = "<goal>") -> Mission:
    """Resolve a mission given as YAML text (an ExecuteMission goal). Errors name the file ``name``;
    includes are looked up in ``missions_root`` as for a file there."""
    return Resolver(missions_root).text(text, overrides, name)


