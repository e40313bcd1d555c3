"""The JSON Schema of mission files, generated from :mod:`executive.language.kinds`, and its
errors turned into :class:`MissionError` with positions and plain words.

``missions/schema.json`` is the language's own schema written out for editors (yaml-language-server);
``python -m executive.language.schema > missions/schema.json`` regenerates it, and a test keeps the
two equal. ``mission schema -o FILE`` writes it with the installed plugins' kinds as well. Scalars may also be ``${parameter}`` references, resolved after this pass.
"""
import functools
import json
import math
import re
import sys

import jsonschema_rs

from executive.language.errors import MissionError, did_you_mean, format_path
from executive.language.kinds import (BACKOFF, BUILTIN, COMMON, KINDS, PARAMETER_TYPES, POINT_TIME, QOS_POLICIES, QOS_PRESETS,
                                      TOP_LEVEL, Field)
from executive.language.loader import locate

PARAM_REF = {"type": "string", "pattern": r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"}
BB_REF = {"type": "object", "properties": {"bb": {"type": "string"}}, "required": ["bb"],
          "additionalProperties": False}


def _scalar(json_type, expected, f=None):
    """A number (or other scalar) or a ${parameter}; with the field's bounds, if it has any."""
    plain = {"type": json_type}
    schema = {"anyOf": [plain, {"$ref": "#/$defs/param_ref"}], "x-expected": expected}
    if f is not None and (f.minimum is not None or f.maximum is not None):
        if f.minimum is not None:
            plain["exclusiveMinimum" if f.exclusive_minimum else "minimum"] = f.minimum
        if f.maximum is not None:
            plain["exclusiveMaximum" if f.exclusive_maximum else "maximum"] = f.maximum
        schema["x-bounds"] = f.bounds()
    return schema


def _field_schema(f):
    by_type = {
        "number": _scalar("number", "a number", f),
        "integer": _scalar("integer", "an integer", f),
        "string": {"type": "string", "x-expected": "a string"},
        "boolean": _scalar("boolean", "true or false"),
        "any": {},
        "mapping": {"type": "object", "x-expected": "a mapping"},
        "strings": {"type": "array", "items": {"type": "string"}, "x-expected": "a list of strings"},
        "node": {"$ref": "#/$defs/node"},
        "nodes": {"type": "array", "items": {"$ref": "#/$defs/node"}, "minItems": 1,
                  "x-expected": "a list of nodes"},
        "pose": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/pose"}, {"$ref": "#/$defs/bb_ref"}],
                 "x-expected": "a pose name, {x, y, yaw, frame} or {bb: key}"},
        "points": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["time", "positions"], "additionalProperties": False,
            "properties": {"time": _scalar("number", "a number", POINT_TIME),
                           "positions": {"type": "array", "items": _scalar("number", "a number")}}},
            "x-expected": "a list of {time, positions}"},
        "joints": {"type": "object", "additionalProperties": _scalar("number", "a number"),
                   "x-expected": "a mapping of joint names to positions"},
        "check": {"anyOf": [{"type": "string"}, {"type": "null"}],
                  "x-expected": "a check like 'battery >= 20' (see the README: expressions)"},
        "script": {"type": "string", "x-expected": "statements like 'count := 0; count += 1'"},
        "qos": {"anyOf": [{"enum": list(QOS_PRESETS)}, {
            "type": "object", "additionalProperties": False,
            "properties": {**{k: {"enum": v} for k, v in QOS_POLICIES.items()},
                           "depth": {"type": "integer", "minimum": 1, "maximum": 10000}}}],
            "x-expected": f"a QoS preset ({', '.join(QOS_PRESETS)}) or {{reliability, durability, depth}}"},
        "backoff": {"type": "object", "additionalProperties": False, "properties": {
            k: _scalar(spec.type, "an integer" if spec.type == "integer" else "a number", spec)
            for k, spec in BACKOFF.items()},
            "x-expected": "a mapping {initial, factor, max, jitter, seed}"},
    }
    schema = dict(by_type[f.type])
    if f.type == "check" and f.required:
        schema = {"type": "string", "x-expected": schema["x-expected"]}
    if f.enum:
        if f.type == "strings":
            schema["items"] = {"enum": f.enum}
        else:
            schema = {"enum": f.enum, "x-expected": "one of " + ", ".join(f.enum)}
    if f.blackboard and f.type != "pose":
        schema = {"anyOf": [schema, {"$ref": "#/$defs/bb_ref"}], "x-expected": schema.get("x-expected", "")}
    if f.doc:
        schema["description"] = f.doc
    return schema


def _kind_schema(name, kind):
    fields = {**COMMON, **kind.fields}
    required = [k for k, f in kind.fields.items() if f.required]
    body = {"type": "object" if required else ["object", "null"], "description": kind.doc,
            "properties": {k: _field_schema(f) for k, f in fields.items()},
            "additionalProperties": False, "x-kind": name, "x-expected": f"the fields of {name}"}
    if required:
        body["required"] = required
    return body


def build(kinds=None) -> dict:
    """The schema of missions with ``kinds`` (default: every kind, the installed plugins' too)."""
    kinds = KINDS if kinds is None else kinds
    defs = {f"kind_{name}": _kind_schema(name, kind) for name, kind in kinds.items()}
    defs.update({
        "param_ref": PARAM_REF,
        "bb_ref": BB_REF,
        "node": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                 "properties": {name: {"$ref": f"#/$defs/kind_{name}"} for name in kinds},
                 "x-node": True, "x-expected": "a node: a mapping with one key, its kind"},
        "pose": {"type": "object", "required": ["x", "y"], "additionalProperties": False,
                 "properties": {"x": _scalar("number", "a number"), "y": _scalar("number", "a number"),
                                "yaw": _scalar("number", "a number"), "frame": {"type": "string"}},
                 "x-expected": "a pose {x, y, yaw, frame}"},
        "parameter": {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
            "type": {"enum": list(PARAMETER_TYPES), "x-expected": "one of " + ", ".join(PARAMETER_TYPES)},
            "default": {}, "description": {"type": "string"}},
            "x-expected": "a mapping {type, default, description}"},
        "subtree": {"type": "object", "required": ["tree"], "additionalProperties": False, "properties": {
            "parameters": {"type": "object", "additionalProperties": {"$ref": "#/$defs/parameter"}},
            "tree": {"$ref": "#/$defs/node"}, "description": {"type": "string"}},
            "x-expected": "a mapping {parameters, tree}"},
    })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mission-executive.dev/schema/mission.json",
        "title": "Mission",
        "description": "A mission for the mission_executive behaviour-tree executive.",
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "x-top": True,
        "x-expected": "a mission",
        "properties": {
            "name": {"type": "string", "x-expected": "a string"},
            "description": {"type": "string", "x-expected": "a string"},
            "robot": {"type": "string", "x-expected": "a string",
                      "description": "default robot namespace for every leaf"},
            "parameters": {"type": "object", "additionalProperties": {"$ref": "#/$defs/parameter"},
                           "x-expected": "a mapping of parameter names to {type, default}"},
            "poses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/pose"},
                      "x-expected": "a mapping of pose names to {x, y, yaw, frame}"},
            "blackboard": {"type": "object", "x-expected": "a mapping of keys to initial values"},
            "subtrees": {"type": "object", "additionalProperties": {"$ref": "#/$defs/subtree"},
                         "x-expected": "a mapping of subtree names to {parameters, tree}"},
            "tree": {"$ref": "#/$defs/node"},
        },
        "$defs": defs,
    }


SCHEMA = build()
# Compiled once, in Rust: it only says whether a document is valid (0.2 ms for 1,000 behaviours,
# where jsonschema takes ~100 ms). Only an invalid document pays for jsonschema's detailed errors.
_IS_VALID = jsonschema_rs.validator_for(SCHEMA).is_valid
# Only these spellings make a YAML float that is not finite: .inf, .nan, or an exponent of 3 digits.
_NOT_FINITE_HINT = re.compile(r"\.(?:inf|nan)|[eE][-+]?0*[1-9][0-9]{2}", re.IGNORECASE)


@functools.lru_cache(maxsize=None)
def _field_is_valid(kind: str, field: str):
    return jsonschema_rs.validator_for({"$ref": f"#/$defs/kind_{kind}/properties/{field}",
                                        "$defs": SCHEMA["$defs"]}).is_valid


def fits(kind: str, field: str, value) -> bool:
    """Whether ``value`` is valid for ``field`` of a ``kind`` node (compiled once per field, ~1 ms).
    False too when in doubt (what JSON cannot hold): the caller then asks jsonschema for errors."""
    try:
        return _field_is_valid(kind, field)(value)
    except (ValueError, TypeError, OverflowError):
        return False


@functools.lru_cache(maxsize=None)
def validator():
    """jsonschema's validator of SCHEMA, whose errors carry what :func:`check` reports."""
    from jsonschema import Draft202012Validator
    return Draft202012Validator(SCHEMA)


def check(doc, filename, text=None) -> list:
    """Every schema error of ``doc`` as MissionError, in document order, and every number in it
    that is not finite (YAML's .inf and .nan, or 1e400). ``text``, the document's source when
    known, spares the walk for the numbers when it spells none that could be."""
    errors = []
    if text is None or _NOT_FINITE_HINT.search(text):
        for path, value in _numbers(doc):
            if not math.isfinite(value):
                line, col = locate(doc, path)
                written = _written(text, line, col) or _yaml_number(value)
                errors.append(MissionError(filename, line, col, format_path(path),
                                           f"{written} is not a finite number", keys=tuple(path)))
    try:
        if not errors and _IS_VALID(doc):
            return []
    except (ValueError, TypeError, OverflowError):     # what JSON cannot hold (a key that is not a string)
        pass
    for error in validator().iter_errors(doc):
        errors.extend(_translate(error, doc, filename))
    unique = {(e.line, e.column, e.path, e.message): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.line, e.column))


def _numbers(value, path=()):
    if isinstance(value, float):
        yield list(path), value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, path + (i,))


def _written(text, line, col):
    """The plain scalar at line:col of ``text`` as written (``1e400``, which YAML reads as .inf)."""
    lines = text.splitlines() if text and line > 0 else ()
    match = re.match(r"[^\s,\]}#]+", lines[line - 1][col - 1:]) if line <= len(lines) else None
    try:    # the number itself (not, in a BT.CPP XML document, the element the line:col names)
        return match[0] if match and not math.isfinite(float(match[0])) else None
    except ValueError:
        return None


def _yaml_number(value) -> str:
    return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")


def field_errors(kind: str, name: str, value) -> list:
    """(relative key path, message) for each way ``value`` does not fit field ``name`` of ``kind``
    (a value that came from a parameter, checked after substitution)."""
    if fits(kind, name, value):
        return []
    from jsonschema import Draft202012Validator

    field_schema = SCHEMA["$defs"][f"kind_{kind}"]["properties"][name]
    out = []
    for error in Draft202012Validator({**field_schema, "$defs": SCHEMA["$defs"]}).iter_errors(value):
        for item in _translate(error, {name: value}, ""):
            out.append((list(error.absolute_path), item.message, item.hint))
    return out


def _translate(error, doc, filename):
    path = list(error.absolute_path)
    schema = error.schema
    v = error.validator
    instance = error.instance

    def at(p, message, hint="", key=False):
        line, col = locate(doc, p, key=key)
        return MissionError(filename, line, col, format_path(p), message, hint, keys=tuple(p))

    if isinstance(instance, float) and not math.isfinite(instance):
        return []       # reported once, by check()
    if v == "anyOf" and schema.get("x-bounds") and isinstance(instance, (int, float)) \
            and not isinstance(instance, bool):
        plain = schema["anyOf"][0]
        if plain["type"] == "number" or float(instance).is_integer():
            return [at(path, f"must be {schema['x-bounds']}, got {Field.number(instance)}")]

    if v == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        out = []
        for extra in [k for k in error.instance if k not in allowed]:
            if schema.get("x-node"):
                message = f"unknown node kind {extra!r}"
            elif schema.get("x-kind"):
                message = f"{schema['x-kind']} has no field {extra!r}"
            elif schema.get("x-top"):
                message = f"unknown top-level key {extra!r}; a mission has {', '.join(TOP_LEVEL)}"
            else:
                message = f"unexpected key {extra!r}"
            out.append(at(path + [extra], message, did_you_mean(extra, allowed), key=True))
        return out
    if v in ("minProperties", "maxProperties") and schema.get("x-node"):
        keys = ", ".join(map(str, error.instance)) or "nothing"
        return [at(path, f"a node is a mapping with exactly one key, its kind (found: {keys})")]
    if v == "required":
        missing = error.message.split("'")[1]
        what = schema.get("x-kind") or ("the mission" if schema.get("x-top") else "this mapping")
        return [at(path, f"{what} needs {missing!r}")]
    if v == "minItems":
        return [at(path, "must not be empty")]
    if v == "enum":
        return [at(path, f"{error.instance!r} is not one of {', '.join(map(str, schema['enum']))}",
                   did_you_mean(error.instance, schema["enum"]))]
    if v == "pattern":
        return [at(path, f"{error.instance!r} is not a ${{parameter}} reference")]
    expected = schema.get("x-expected")
    if v in ("anyOf", "type") and expected:
        return [at(path, f"expected {expected}, got {_describe(error.instance)}")]
    return [at(path, error.message)]


def _describe(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def builtin() -> dict:
    """The schema of the language alone (missions/schema.json): no plugin's kinds."""
    return build({name: kind for name, kind in KINDS.items() if name in BUILTIN})


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dumps(builtin()))
