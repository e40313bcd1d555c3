"""Writing BehaviorTree.CPP v4 XML that BT.CPP and Groot2 load, from a resolved mission
(parameters substituted, subtrees expanded).

Built-in nodes carry only BT.CPP's own ports, and are written only where they mean exactly what
the node does. Everything else is a node type of ours (:data:`executive.language.btcpp_model.OUR_IDS`,
or the kind in CamelCase), declared with its ports (direction, type, description from
:mod:`executive.language.kinds`) in ``<TreeNodesModel>``. Port values never look like BT.CPP's
``{key}``: mappings and lists are written ``json:...``, BT.CPP's own convention. These IDs and the
model are stable: Groot2 monitoring relies on them (README: BehaviorTree.CPP).
"""
import json
import xml.etree.ElementTree as ET

from executive.language.btcpp_model import OUR_IDS, PRE_POST, camel, port_value
from executive.language.kinds import KINDS, Field
from executive.language.model import Mission, Node, is_bb_ref

OUTPUTS = ("result", "feedback", "response")          # ports that name an entry the node writes
CATEGORY = {"composite": "Control", "decorator": "Decorator", "leaf": "Action"}


def _text(value) -> str:
    """A port's text: ``{key}`` for a blackboard entry, ``json:...`` for mappings and lists (and
    text that would read as something else), plain text otherwise."""
    if is_bb_ref(value):
        return "{" + value["bb"] + "}"
    if hasattr(value, "text") and hasattr(value, "dialect"):    # a parsed check or script: as written
        return value.text
    if hasattr(value, "program"):
        return value.program.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return Field_number(value)
    if isinstance(value, str) and port_value(value) == value and not value.startswith("json:"):
        return value
    return "json:" + json.dumps(value, separators=(", ", ": "))


def Field_number(value) -> str:
    return str(int(value)) if isinstance(value, int) else repr(float(value))


class _Writer:
    def __init__(self):
        self.model = {}         # ID -> (category, {port: (direction, type, description)})

    def declare(self, tag, node: Node, ports):
        kind = KINDS[node.kind]
        category = "Condition" if node.kind == "condition" else CATEGORY[kind.category]
        known = self.model.setdefault(tag, (category, {}))[1]
        every = [k for k in kind.fields if k not in ("child", "children", "dialect")]
        for port in every + list(ports) + (["robot"] if kind.category == "leaf" else []):
            if port in ("name",) or port in known:
                continue
            spec = kind.fields.get(port) or KINDS_COMMON.get(port)
            direction = "output_port" if port in OUTPUTS else "input_port"
            doc = spec.doc if spec and spec.doc else \
                f"blackboard key the {port} is written to" if port in OUTPUTS else port.replace("_", " ")
            known[port] = (direction, spec.type if spec else "string", doc)

    def node(self, node: Node, parent_robot: str) -> ET.Element:
        f = {k: v for k, v in node.fields.items() if v is not None}
        if node.kind == "conditions":
            element = self.node(node.children[0], parent_robot)
            for field, attribute in ((v, k) for k, v in PRE_POST.items()):
                if field in f:
                    element.set(attribute, _text(f[field]))
            return element
        tag, ports = self.builtin(node, f)      # built-ins' port texts are written already
        if tag is None:
            tag, ports = self.ours(node, f, parent_robot)
            self.declare(tag, node, ports)
            # Our ports hold values: a text that would read back as something else (a ':' makes
            # YAML a mapping) is written json:"...", as the import reads it.
            ports = {port: _text(value) for port, value in ports.items()}
        element = ET.Element(tag, {"name": node.name})
        for port, value in ports.items():
            element.set(port, value if isinstance(value, str) else _text(value))
        for child in node.children:
            element.append(self.node(child, node.robot))
        return element

    @staticmethod
    def builtin(node: Node, f):
        """(BT.CPP ID, ports) when a built-in means exactly what ``node`` does, else (None, None)."""
        kind = node.kind
        msec = lambda seconds: str(int(round(float(seconds) * 1000)))      # noqa: E731
        if kind in ("sequence", "fallback"):
            base = "Sequence" if kind == "sequence" else "Fallback"
            if not f.get("memory", True):
                return f"Reactive{base}", {}
            return (f"Async{base}" if f.get("yields") else base), {}
        simple = {"sequence_with_memory": "SequenceWithMemory", "if_then_else": "IfThenElse",
                  "while_do_else": "WhileDoElse", "invert": "Inverter", "force_success": "ForceSuccess",
                  "force_failure": "ForceFailure", "keep_running_until_failure": "KeepRunningUntilFailure",
                  "always_success": "AlwaysSuccess", "always_failure": "AlwaysFailure"}
        if kind in simple:
            return simple[kind], {}
        if kind == "parallel":
            success, failure = (-1, 1) if f["policy"] == "all" else (1, -1)
            return "Parallel", {"success_count": str(f.get("success_count", success)),
                                "failure_count": str(f.get("failure_count", failure))}
        if kind == "parallel_all":
            return "ParallelAll", {"max_failures": str(f["max_failures"])}
        if kind == "switch":
            return f"Switch{len(f['cases'])}", {"variable": "{" + f["variable"].lstrip("/") + "}",
                                                **{f"case_{i}": c for i, c in enumerate(f["cases"], 1)}}
        if kind == "retry" and not f.get("retry_on") and not f.get("no_retry_on") and \
                (f.get("backoff") or {}).get("initial", 1.0) == 0:
            return "RetryUntilSuccessful", {"num_attempts": str(-1 if f.get("forever") else f["attempts"])}
        if kind == "repeat" and f.get("until") is None:
            return "Repeat", {"num_cycles": str(-1 if f.get("forever") else f["times"])}
        if kind == "timeout":
            return "Timeout", {"msec": msec(f["seconds"])}
        if kind == "delay":
            return "Delay", {"delay_msec": msec(f["seconds"])}
        if kind == "wait":
            return "Sleep", {"msec": msec(f["seconds"])}
        if kind == "once":
            return "RunOnce", {"then_skip": "true" if f.get("then_skip") else "false"}
        if kind == "precondition":
            return "Precondition", {"if": _text(f["if"]), "else": f["else"].upper()}
        if kind == "script" and f.get("dialect") == "btcpp":
            return "Script", {"code": _text(f["code"])}
        if kind == "condition" and f.get("dialect") == "btcpp":
            return "ScriptCondition", {"code": _text(f["check"])}
        if kind == "set" and isinstance(f["value"], str) and not is_bb_ref(f["value"]):
            return "SetBlackboard", {"output_key": f["key"].lstrip("/"), "value": f["value"]}
        if kind == "loop" and isinstance(f["queue"], list):
            items = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in f["queue"]]
            return f"Loop{f['type'].capitalize()}", {"queue": ";".join(items), "value": "{" + f["value"].lstrip("/") + "}",
                                                     "if_empty": f["if_empty"].upper()}
        if kind == "unset":
            return "UnsetBlackboard", {"key": f["key"].lstrip("/")}
        return None, None

    @staticmethod
    def ours(node: Node, f, parent_robot):
        """(our ID, ports) for a node no built-in means: its fields that differ from their default."""
        tag = OUR_IDS.get(node.kind, camel(node.kind))
        defaults = KINDS[node.kind].fields
        ports = {}
        for key, value in f.items():
            default = defaults[key].default if key in defaults else None
            if key == "dialect" or default is not None and value == default:
                continue
            if key in ("key",) + OUTPUTS and isinstance(value, str):
                value = value.lstrip("/")
            ports[key] = value
        if node.robot != parent_robot and KINDS[node.kind].category == "leaf":
            ports["robot"] = node.robot
        elif node.robot and KINDS[node.kind].category == "leaf":
            ports["robot"] = node.robot
        return tag, ports


KINDS_COMMON = {"robot": Field("string", doc="robot namespace of the leaf, e.g. robot1")}


def dumps(mission: Mission) -> str:
    """BT.CPP v4 XML of a resolved mission (parameters substituted, subtrees expanded), with a
    <TreeNodesModel> declaring each of our node types it uses: BT.CPP and Groot2 load it as is
    once those IDs are registered. Initial blackboard values travel in a ``blackboard`` attribute
    of ``<root>``, which BT.CPP ignores."""
    writer = _Writer()
    root = ET.Element("root", {"BTCPP_format": "4", "main_tree_to_execute": mission.name})
    if mission.blackboard:
        root.set("blackboard", _text({k.lstrip("/"): v for k, v in mission.blackboard.items()}))
    tree = ET.SubElement(root, "BehaviorTree", {"ID": mission.name})
    tree.append(writer.node(mission.root, ""))
    model = ET.SubElement(root, "TreeNodesModel")
    for tag, (category, ports) in sorted(writer.model.items()):
        entry = ET.SubElement(model, category, {"ID": tag})
        for port, (direction, type_name, doc) in sorted(ports.items()):
            ET.SubElement(entry, direction, {"name": port, "type": _PORT_TYPES.get(type_name, "std::string")}).text = \
                doc or None
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


_PORT_TYPES = {"number": "double", "integer": "int", "boolean": "bool", "string": "std::string"}
