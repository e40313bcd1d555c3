"""Behaviour plugins: node kinds that other Python packages add to the mission language.

A package declares each behaviour under the entry-point group ``mission_executive.behaviors``
(pyproject: ``[project.entry-points."mission_executive.behaviors"] charge = "pkg.specs:CHARGE"``),
naming a :class:`Plugin`: its YAML kind, its parameters (:class:`executive.language.kinds.Field`,
the language's own types with descriptions and bounds), the blackboard keys it reads and
writes, and its behaviour class. They are loaded once, when the language's kinds are
(:mod:`executive.language.kinds`), and from then on are kinds like the built-in ones: the schema,
validation, the views, the run log, the report and the BT.CPP export all read ``KINDS``.

The spec module should import no ROS (``behaviour`` may be ``"module:Class"``, imported when a
tree is built), so that validating a mission stays light. A plugin that fails to load is a
:class:`PluginError` naming the entry point, its package and the reason; ``mission`` prints it
and exits 2. As BehaviorTree.CPP's plugins and Nav2's BT node plugins, a plugin runs with the
executive's rights: install only packages you trust.
"""
import importlib
import importlib.metadata
import re
from dataclasses import dataclass, field
from typing import Any

GROUP = "mission_executive.behaviors"
CATEGORIES = ("leaf", "decorator")
KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginError(RuntimeError):
    """A behaviour plugin that cannot be used: it fails to import, or declares something wrong."""


@dataclass
class Plugin:
    """One behaviour a package adds.

    ``behaviour`` is a py_trees behaviour class, or ``"module:Class"`` naming one; a tree calls
    ``Class(name, **fields)`` with the node's fields (parameters, defaults filled; an ``action``,
    ``service`` or ``topic`` field already under the robot's namespace) and, for a decorator,
    ``child=`` its child's behaviour. ``reads`` and ``writes``: blackboard key -> what it holds; a
    key written ``{parameter}`` is that parameter's value (a key the mission chooses)."""

    kind: str
    behaviour: Any
    doc: str
    parameters: dict = field(default_factory=dict)
    reads: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)
    category: str = "leaf"
    package: str = ""           # the distribution that declared it (filled in when loaded)
    entry_point: str = ""       # 'name = module:attribute'

    def behaviour_class(self):
        """The behaviour class (importing its module the first time); PluginError if it cannot."""
        if not isinstance(self.behaviour, str):
            return self.behaviour
        module, _, attribute = self.behaviour.partition(":")
        try:
            self.behaviour = getattr(importlib.import_module(module), attribute)
        except Exception as exc:        # anything the plugin's module raises is the plugin's error
            raise PluginError(f"behaviour plugin {self.kind!r} of package {self.package!r}: cannot import "
                              f"{self.behaviour}: {type(exc).__name__}: {exc}") from exc
        return self.behaviour

    def keys(self, written: dict, fields: dict) -> list:
        """The blackboard keys of ``written`` (``reads`` or ``writes``) for a node's ``fields``."""
        out = []
        for key in written:
            match = re.fullmatch(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", key)
            value = fields.get(match[1]) if match else key
            if isinstance(value, str) and value:
                out.append(value)
        return out


_loaded = None


def registry() -> dict:
    """kind -> :class:`Plugin` for every behaviour the installed packages declare (loaded once).
    Raises PluginError for a plugin that fails to import or declares a bad kind."""
    global _loaded
    if _loaded is None:
        _loaded = _load(importlib.metadata.entry_points(group=GROUP))
    return _loaded


def _load(entry_points) -> dict:
    from executive.language.kinds import Field

    found = {}
    for entry_point in sorted(entry_points, key=lambda e: e.name):
        package = entry_point.dist.name if entry_point.dist is not None else "?"
        where = f"behaviour plugin {entry_point.name!r} of package {package!r} ({entry_point.value})"
        try:
            plugin = entry_point.load()
        except Exception as exc:        # anything the plugin's module raises is the plugin's error
            raise PluginError(f"{where} failed to import: {type(exc).__name__}: {exc}") from exc
        if not isinstance(plugin, Plugin):
            raise PluginError(f"{where} is a {type(plugin).__name__}, not a behaviors.plugins.Plugin")
        problem = (f"its kind {plugin.kind!r} is not a name of lowercase letters, digits and _"
                   if not isinstance(plugin.kind, str) or not KIND_NAME.match(plugin.kind) else
                   f"its kind {plugin.kind!r} is declared twice (also by {found[plugin.kind].package!r})"
                   if plugin.kind in found else
                   f"its category {plugin.category!r} is not one of {', '.join(CATEGORIES)}"
                   if plugin.category not in CATEGORIES else
                   next((f"parameter {name!r} is not a kinds.Field" for name, spec in plugin.parameters.items()
                         if not isinstance(spec, Field)), ""))
        if problem:
            raise PluginError(f"{where}: {problem}")
        plugin.package, plugin.entry_point = package, f"{entry_point.name} = {entry_point.value}"
        found[plugin.kind] = plugin
    return found
