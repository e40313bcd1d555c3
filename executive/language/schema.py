"""The JSON Schema of mission files, generated from :mod:`executive.language.kinds`, and its
errors turned into :class:`MissionError` with positions and plain words.

``missions/schema.json`` is this schema written out for editors (yaml-language-server);
``python -m executive.language.schema > missions/schema.json`` regenerates it, and a test keeps the
two equal. Scalars may also be ``${parameter}`` references, resolved after this pass.
"""
import functools
import json
import sys

import jsonschema_rs

from executive.language.errors import MissionError, did_you_mean, format_path
from executive.language.kinds import COMMON, KINDS, PARAMETER_TYPES, TOP_LEVEL
from executive.language.loader import locate

PARAM_REF = {"type": "string", "pattern": r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"}
BB_REF = {"type": "object", "properties": {"bb": {"type": "string"}}, "required": ["bb"],
          "additionalProperties": False}


def _scalar(json_type, expected):
    return {"anyOf": [{"type": json_type}, {"$ref": "#/$defs/param_ref"}], "x-expected": expected}


def _field_schema(f):
    by_type = {
        "number": _scalar("number", "a number"),
        "integer": _scalar("integer", "an integer"),
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
            "properties": {"time": _scalar("number", "a number"),
                           "positions": {"type": "array", "items": _scalar("number", "a number")}}},
            "x-expected": "a list of {time, positions}"},
        "joints": {"type": "object", "additionalProperties": _scalar("number", "a number"),
                   "x-expected": "a mapping of joint names to positions"},
        "check": {"anyOf": [{"type": "string"}, {"type": "null"}], "x-expected": "a comparison like 'x >= 1'"},
        "backoff": {"type": "object", "additionalProperties": False, "properties": {
            k: _scalar("number", "a number") for k in ("initial", "factor", "max", "jitter", "seed")},
            "x-expected": "a mapping {initial, factor, max, jitter, seed}"},
    }
    schema = dict(by_type[f.type])
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


def build() -> dict:
    defs = {f"kind_{name}": _kind_schema(name, kind) for name, kind in KINDS.items()}
    defs.update({
        "param_ref": PARAM_REF,
        "bb_ref": BB_REF,
        "node": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                 "properties": {name: {"$ref": f"#/$defs/kind_{name}"} for name in KINDS},
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


def check(doc, filename) -> list:
    """Every schema error of ``doc`` as MissionError, in document order."""
    try:
        if _IS_VALID(doc):
            return []
    except (ValueError, TypeError, OverflowError):     # what JSON cannot hold (a key that is not a string)
        pass
    errors = []
    for error in validator().iter_errors(doc):
        errors.extend(_translate(error, doc, filename))
    unique = {(e.line, e.column, e.path, e.message): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.line, e.column))


def _translate(error, doc, filename):
    path = list(error.absolute_path)
    schema = error.schema
    v = error.validator

    def at(p, message, hint="", key=False):
        line, col = locate(doc, p, key=key)
        return MissionError(filename, line, col, format_path(p), message, hint)

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


if __name__ == "__main__":
    json.dump(SCHEMA, sys.stdout, indent=2)
    sys.stdout.write("\n")
