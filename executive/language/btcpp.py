"""BehaviorTree.CPP XML (the format Groot2 edits) in and out.

Reading builds the same position-carrying document the YAML loader builds, so an XML mission is
resolved, checked and reported exactly like a YAML one. Element names are BT.CPP's for control
nodes (Sequence, ReactiveSequence, Fallback, ReactiveFallback, Parallel, RetryUntilSuccessful,
Timeout, Repeat, Inverter, ForceSuccess, ForceFailure, RunOnce, Sleep, SubTree, SetBlackboard) and
ours in CamelCase for the rest (Navigate, MoveArm, FollowTrajectory, HealthCheck, ...). Attribute
values are YAML (``pose="{x: 1, y: 2}"``); ``"{key}"`` is a blackboard entry, as in BT.CPP.
Writing produces BT.CPP v4 XML from a resolved mission (parameters substituted, subtrees expanded);
initial blackboard values travel in a ``blackboard`` attribute of ``<root>``, which BT.CPP ignores.
"""
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

from executive.language import loader
from executive.language.errors import MissionError, MissionInvalid
from executive.language.kinds import KINDS
from executive.language.model import Mission, Node, is_bb_ref

CONTROL = {  # BT.CPP element -> (our kind, fixed fields)
    "Sequence": ("sequence", {"memory": True}), "SequenceWithMemory": ("sequence", {"memory": True}),
    "ReactiveSequence": ("sequence", {"memory": False}),
    "Fallback": ("fallback", {"memory": True}), "ReactiveFallback": ("fallback", {"memory": False}),
    "Parallel": ("parallel", {}), "RetryUntilSuccessful": ("retry", {}), "Timeout": ("timeout", {}),
    "Repeat": ("repeat", {}), "Inverter": ("invert", {}), "ForceSuccess": ("force_success", {}),
    "ForceFailure": ("force_failure", {}), "RunOnce": ("once", {}), "Sleep": ("wait", {}),
    "SubTree": ("subtree", {}), "SetBlackboard": ("set", {}),
}
RENAMED = {  # BT.CPP attribute -> (our field, conversion)
    "num_attempts": ("attempts", int), "num_cycles": ("times", int), "output_key": ("key", str),
    "msec": ("seconds", lambda v: float(v) / 1000.0), "ID": ("use", str),
    # expressions are text as written, not YAML ('true' stays the expression true)
    "check": ("check", str), "success": ("success", str), "until": ("until", str), "code": ("code", str),
}
BB_PORT = re.compile(r"^\{([A-Za-z_/][\w/]*)\}$")
EXPORT_TAG = {"sequence": ("Sequence", "ReactiveSequence"), "fallback": ("Fallback", "ReactiveFallback"),
              "retry": "RetryUntilSuccessful", "timeout": "Timeout", "repeat": "Repeat", "invert": "Inverter",
              "force_success": "ForceSuccess", "force_failure": "ForceFailure", "once": "RunOnce",
              "wait": "Sleep", "set": "SetBlackboard", "parallel": "Parallel"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# -- reading --------------------------------------------------------------------------------------

class _Element:
    def __init__(self, tag, attrs, line, col):
        self.tag, self.attrs, self.line, self.col, self.children = tag, attrs, line, col, []


def _parse(text, filename):
    parser = expat.ParserCreate()
    root, stack = [], []

    def start(tag, attrs):
        element = _Element(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise MissionInvalid([MissionError(filename, exc.lineno, exc.offset + 1, "",
                                           f"not valid XML: {expat.ErrorString(exc.code)}")]) from None
    return root[0]


def _mapping(line, col):
    """A document mapping at expat's (1-based line, 0-based column)."""
    return loader.Mapping(start=(line, col + 1))


def _put(mapping, key, value, line, col):
    mapping.put(key, value, (line, col + 1))


def _value(text):
    port = BB_PORT.match(text.strip())
    if port:
        return {"bb": port[1]}
    try:
        value = loader.value(text)
    except MissionInvalid:
        return text
    return text if value is None and text.strip() else value


def _node(element, errors, filename):
    tag = element.tag
    if tag in ("Action", "Condition", "Control", "Decorator") and "ID" in element.attrs:
        tag = element.attrs["ID"]         # BT.CPP v3 style: <Action ID="Navigate" .../>
        attrs = {k: v for k, v in element.attrs.items() if k != "ID"}
    else:
        attrs = dict(element.attrs)
    kind, fields = CONTROL.get(tag, (snake(tag), {}))
    body = _mapping(element.line, element.col)
    for key, value in fields.items():
        _put(body, key, value, element.line, element.col)
    params = {}
    for key, text in attrs.items():
        if kind == "parallel" and key == "success_count":
            _put(body, "policy", "one" if text.strip() == "1" else "all", element.line, element.col)
            continue
        if kind == "parallel" and key == "failure_count":
            continue
        name, convert = RENAMED.get(key, (key, _value))
        try:
            value = convert(text)
        except ValueError:
            value = text
        if kind == "subtree" and name not in ("use", "name"):
            params[name] = value
        else:
            _put(body, name, value, element.line, element.col)
    if params:
        _put(body, "params", params, element.line, element.col)
    children = [_node(c, errors, filename) for c in element.children]
    if KINDS.get(kind) and KINDS[kind].category == "composite":
        seq = loader.Sequence(children, start=(element.line, element.col + 1))
        seq.items_at = [(child.line, child.col + 1) for child in element.children]
        _put(body, "children", seq, element.line, element.col)
    elif KINDS.get(kind) and KINDS[kind].category == "decorator" and len(children) == 1:
        _put(body, "child", children[0], element.children[0].line, element.children[0].col)
    elif children:
        errors.append(MissionError(filename, element.line, element.col + 1, tag,
                                   f"<{tag}> takes {'one child' if KINDS.get(kind) else 'no children'}"
                                   f", found {len(children)}"))
    node = _mapping(element.line, element.col)
    _put(node, kind, body, element.line, element.col)
    return node


def load(path) -> loader.Mapping:
    text = open(path, encoding="utf-8").read()
    return loads(text, str(path))


def loads(text, filename="<mission>") -> loader.Mapping:
    root = _parse(text, filename)
    errors = []
    trees = [e for e in root.children if e.tag == "BehaviorTree"] if root.tag == "root" else []
    if not trees:
        raise MissionInvalid([MissionError(filename, root.line, root.col + 1, "",
                                           "expected <root> with <BehaviorTree ID=...> elements")])
    main = root.attrs.get("main_tree_to_execute") or trees[0].attrs.get("ID", "main")
    doc = _mapping(root.line, root.col)
    _put(doc, "name", main, root.line, root.col)
    subtrees = _mapping(root.line, root.col)
    for tree in trees:
        if len(tree.children) != 1:
            errors.append(MissionError(filename, tree.line, tree.col + 1, tree.attrs.get("ID", ""),
                                       "a <BehaviorTree> holds exactly one node"))
            continue
        node = _node(tree.children[0], errors, filename)
        if tree.attrs.get("ID", main) == main and "tree" not in doc:
            _put(doc, "tree", node, tree.line, tree.col)
        else:
            entry = _mapping(tree.line, tree.col)
            _put(entry, "tree", node, tree.line, tree.col)
            _put(subtrees, tree.attrs.get("ID"), entry, tree.line, tree.col)
    if subtrees:
        _put(doc, "subtrees", subtrees, root.line, root.col)
    if "blackboard" in root.attrs:
        _put(doc, "blackboard", _value(root.attrs["blackboard"]), root.line, root.col)
    if errors:
        raise MissionInvalid(errors)
    return doc


# -- writing ----------------------------------------------------------------------------------------

PLAIN = re.compile(r"^[A-Za-z_/][\w./-]*$")
YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "~"}


def _flow(value) -> str:
    """YAML flow style, quoting only where YAML needs it: readable in Groot2's port fields."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str) and not (PLAIN.match(value) and value.lower() not in YAML_WORDS):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _text(value) -> str:
    if is_bb_ref(value):
        return "{" + value["bb"] + "}"
    if isinstance(value, str):
        return value if PLAIN.match(value) and value.lower() not in YAML_WORDS else _flow(value)
    return _flow(value)


def _export_node(node: Node, parent_robot: str) -> ET.Element:
    tag = EXPORT_TAG.get(node.kind, camel(node.kind))
    fields = dict(node.fields)
    if isinstance(tag, tuple):
        tag = tag[0] if fields.pop("memory", True) else tag[1]
    element = ET.Element(tag, {"name": node.name})
    if node.robot != parent_robot:
        element.set("robot", node.robot)
    if node.kind == "parallel":
        element.set("success_count", "1" if fields.pop("policy") == "one" else "-1")
        element.set("failure_count", "1")
    defaults = KINDS[node.kind].fields
    for key, value in fields.items():
        if key in defaults and defaults[key].default is not None and value == defaults[key].default:
            continue
        if node.kind in ("retry",) and key == "attempts":
            key = "num_attempts"
        elif node.kind == "repeat" and key == "times":
            key = "num_cycles"
        elif node.kind in ("timeout", "wait") and key == "seconds":
            key, value = "msec", int(round(float(value) * 1000))
        elif node.kind == "set" and key == "key":
            key = "output_key"
        if value is None:
            continue
        if hasattr(value, "text") and hasattr(value, "dialect"):    # a parsed check or script: as written
            element.set(key, value.text)
            continue
        element.set(key, _text(value))
    for child in node.children:
        element.append(_export_node(child, node.robot))
    return element


def dumps(mission: Mission) -> str:
    root = ET.Element("root", {"BTCPP_format": "4", "main_tree_to_execute": mission.name})
    if mission.blackboard:   # BT.CPP ignores attributes of <root> it does not know
        root.set("blackboard", _flow({k.lstrip("/"): v for k, v in mission.blackboard.items()}))
    tree = ET.SubElement(root, "BehaviorTree", {"ID": mission.name})
    top = _export_node(mission.root, "")
    if mission.root.robot:
        top.set("robot", mission.root.robot)
    tree.append(top)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"
