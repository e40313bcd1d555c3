"""The mission model: plain data, every reference resolved. No ROS, no py_trees."""
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class Location:
    file: str
    line: int
    column: int
    path: str


@dataclass
class Node:
    kind: str
    name: str
    fields: dict                    # the kind's fields, parameters substituted, defaults filled
    robot: str                      # namespace for leaves ('' = the executive's own)
    location: Location
    children: list = field(default_factory=list)
    origin: Optional[str] = None    # 'subtree dock' / 'include common.yaml#dock' when expanded from one
    interface: Any = field(default=None, repr=False, compare=False)   # the imported action/service class
    source: Any = field(default=None, repr=False, compare=False)      # (file, document, key path) it came from


@dataclass
class Mission:
    name: str
    description: str
    file: str
    parameters: dict                # name -> value after overrides
    blackboard: dict                # absolute key -> initial value
    root: Node
    files: list = field(default_factory=list)   # every file read, the mission's first
    sources: dict = field(default_factory=dict, repr=False)    # path -> text of each file read from disk
    warnings: list = field(default_factory=list)  # MissionErrors of severity warning

    def nodes(self):
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def bb_key(key: str) -> str:
    """Blackboard keys in missions are written 'target'; py_trees stores them absolute."""
    return key if key.startswith("/") else f"/{key}"


def is_bb_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"bb"} and isinstance(value["bb"], str)
