"""BehaviorTree.CPP v4's vocabulary as this executive reads and writes it: BT.CPP's built-in node IDs
and ports and the kinds they map to, the built-ins refused, our own node IDs, pre- and
post-condition attributes, and how a port's text reads (``{key}``, ``json:``, YAML). One table for
:mod:`executive.language.btcpp_import` and :mod:`executive.language.btcpp_export`.
"""
import json
import re

from executive.language import loader
from executive.language.errors import MissionInvalid

def snake(name: str) -> str:
    """IfThenElse -> if_then_else"""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    """if_then_else -> IfThenElse"""
    return "".join(part.capitalize() for part in name.split("_"))


def boolean(text: str) -> bool:
    """BT.CPP's convertFromString<bool> of a port: true/false/1/0; ValueError otherwise."""
    if text.strip().lower() in ("true", "1"):
        return True
    if text.strip().lower() in ("false", "0"):
        return False
    raise ValueError(text)


_PREFIX = {"int": re.compile(r"\s*[-+]?\d+"), "double": re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")}


def queue(text: str, type_name: str) -> list:
    """BT.CPP's convertFromString of a SharedQueue: the text split at ';', each part converted
    (numbers as far as they read: '7x' is 7). ValueError for a part that is not one."""
    if text.strip().startswith("{"):
        raise ValueError("a queue on the blackboard has no equivalent here yet; give the values, e.g. 1;2;3")
    out = []
    for part in text.split(";"):
        if type_name == "string":
            out.append(part)
        elif type_name == "bool":
            out.append(boolean(part))
        else:
            number = _PREFIX[type_name].match(part)
            if not number:
                raise ValueError(f"{part!r} is not {'an integer' if type_name == 'int' else 'a number'}")
            out.append(int(number[0]) if type_name == "int" else float(number[0]))
    return out


BB_PORT = re.compile(r"^\{([A-Za-z_@/][\w/]*|=)\}$")
STATUS_WORDS = {"SUCCESS": "success", "FAILURE": "failure", "RUNNING": "running", "SKIPPED": "skipped"}
MSEC = ("seconds", lambda v: float(v) / 1000.0)

# BT.CPP v4's built-in node IDs (its BehaviorTreeFactory constructor): our kind, fixed fields, and
# each port -> (our field, conversion). A port not listed is an error, as in BT.CPP.
BUILTIN = {
    "Sequence": ("sequence", {"memory": True}, {}),
    "AsyncSequence": ("sequence", {"memory": True, "yields": True}, {}),
    "ReactiveSequence": ("sequence", {"memory": False}, {}),
    "SequenceWithMemory": ("sequence_with_memory", {}, {}),
    "SequenceStar": ("sequence_with_memory", {}, {}),
    "Fallback": ("fallback", {"memory": True}, {}),
    "AsyncFallback": ("fallback", {"memory": True, "yields": True}, {}),
    "ReactiveFallback": ("fallback", {"memory": False}, {}),
    "Parallel": ("parallel", {"success_count": -1, "failure_count": 1},
                 {"success_count": ("success_count", int), "failure_count": ("failure_count", int)}),
    "ParallelAll": ("parallel_all", {}, {"max_failures": ("max_failures", int)}),
    "IfThenElse": ("if_then_else", {}, {}),
    "WhileDoElse": ("while_do_else", {}, {}),
    **{f"Switch{n}": ("switch", {}, {"variable": ("variable", str),
                                     **{f"case_{i}": (f"case_{i}", str) for i in range(1, n + 1)}})
       for n in range(2, 7)},
    "Inverter": ("invert", {}, {}),
    "ForceSuccess": ("force_success", {}, {}),
    "ForceFailure": ("force_failure", {}, {}),
    # BT.CPP retries at once: no backoff
    "RetryUntilSuccessful": ("retry", {"backoff": {"initial": 0.0}}, {"num_attempts": ("attempts", int)}),
    "Repeat": ("repeat", {}, {"num_cycles": ("times", int)}),
    "KeepRunningUntilFailure": ("keep_running_until_failure", {}, {}),
    "Timeout": ("timeout", {}, {"msec": MSEC}),
    "Delay": ("delay", {}, {"delay_msec": MSEC}),
    "RunOnce": ("once", {"then_skip": True}, {"then_skip": ("then_skip", boolean)}),
    "Precondition": ("precondition", {}, {"if": ("if", str), "else": ("else", lambda v: STATUS_WORDS[v])}),
    **{f"Loop{name}": ("loop", {"type": name.lower()}, {
        "queue": ("queue", lambda text, name=name: queue(text, name.lower())), "value": ("value", str),
        "if_empty": ("if_empty", lambda v: STATUS_WORDS[v])}) for name in ("Int", "Double", "String", "Bool")},
    "AlwaysSuccess": ("always_success", {}, {}),
    "AlwaysFailure": ("always_failure", {}, {}),
    "Script": ("script", {"dialect": "btcpp"}, {"code": ("code", str)}),
    "ScriptCondition": ("condition", {"dialect": "btcpp"}, {"code": ("check", str)}),
    "SetBlackboard": ("set", {}, {"output_key": ("key", str), "value": ("value", str)}),
    "UnsetBlackboard": ("unset", {}, {"key": ("key", str)}),
    "Sleep": ("wait", {}, {"msec": MSEC}),
}
# BT.CPP v4 built-ins with no equivalent here yet: refused by name, never read as something else.
UNSUPPORTED = {
    "WasEntryUpdated": "entry sequence numbers",
    "SkipUnlessUpdated": "entry sequence numbers", "WaitValueUpdate": "entry sequence numbers",
    "ManualSelector": "a terminal user interface", "TryCatch": "BT.CPP 4.9's TryCatch",
    "PopFromQueue": "queues of values", "ConsumeQueue": "queues of values",
}
# Our node types whose ID is not the kind in CamelCase (Navigate, HealthCheck, Log, ... are): what
# BT.CPP has no node for, or a node of the same name that means something else. Stable IDs: Groot2
# monitoring relies on them.
OUR_IDS = {"condition": "Check", "script": "RunScript", "set": "SetValue", "retry": "RetryWithBackoff",
           "repeat": "RepeatUntil", "parallel": "ParallelPolicy", "action": "ActionGoal"}
# ID -> (kind, fixed fields) when read back: Check and RunScript are the yaml dialect's.
OURS = {tag: (kind, {"dialect": "yaml"} if kind in ("condition", "script") else {}) for kind, tag in OUR_IDS.items()}
PRE_POST = {"_failureIf": "failure_if", "_successIf": "success_if", "_skipIf": "skip_if", "_while": "while_true",
            "_onSuccess": "on_success", "_onFailure": "on_failure", "_onHalted": "on_halted", "_post": "post"}
IGNORED = {"_uid", "_fullpath", "_description"}       # Groot2's bookkeeping
KEY_FIELDS = ("key", "result", "feedback", "response")  # fields that name a blackboard entry
MAX_NODES = 100_000


def port_value(text: str):
    """A port's text as a value: ``{key}`` a blackboard entry, ``json:...`` JSON (BT.CPP's
    convention), anything else a YAML scalar or flow collection (text when it is not YAML)."""
    port = BB_PORT.match(text.strip())
    if port:
        return {"bb": port[1]}
    if text.startswith("json:"):
        try:
            return json.loads(text[5:])
        except ValueError:
            return text
    try:
        value = loader.value(text)
    except MissionInvalid:
        return text
    return text if value is None and text.strip() else value
