"""Exported missions load into the real BehaviorTree.CPP v4 (the ``behaviortreepy`` wheel) and tick.

behaviortreepy registers custom nodes only without ports, so each of our node types is checked
first against the exported <TreeNodesModel> (every attribute but ``name`` is a declared port),
then registered as a simple node and loaded without its attributes. Built-in nodes load exactly as
exported, so BT.CPP checks their ports itself (it refuses one it does not declare).
"""
import pathlib
import xml.etree.ElementTree as ET

import behaviortreepy as bt
import pytest

from executive.language import btcpp
from executive.language.resolve import Resolver

MISSIONS = pathlib.Path(__file__).resolve().parent.parent / "missions"
SHIPPED = sorted(p for p in MISSIONS.glob("*.yaml") if p.name != "common.yaml") + sorted(MISSIONS.glob("*.xml"))
BUILTIN = set(btcpp.BUILTIN) | {"SubTree", "BehaviorTree"}


def _load_into_btcpp(text: str):
    root = ET.fromstring(text)
    model = {e.attrib["ID"]: (e.tag, {p.attrib["name"] for p in e}) for e in root.find("TreeNodesModel")}
    factory = bt.BehaviorTreeFactory()
    for element in (e for tree in root.iter("BehaviorTree") for e in tree.iter()):
        if element.tag in BUILTIN:
            continue
        assert element.tag in model, f"<{element.tag}> is not declared in <TreeNodesModel>"
        category, ports = model[element.tag]
        extra = set(element.attrib) - ports - {"name"} - set(btcpp.PRE_POST)     # BT.CPP's on every node
        assert not extra, f"<{element.tag}> has attributes {sorted(extra)} its model does not declare"
        for name in list(element.attrib):
            if name != "name" and name not in btcpp.PRE_POST:
                del element.attrib[name]
    for tag, (category, _) in model.items():
        if category == "Decorator":
            factory.register_simple_decorator(tag, lambda status, node: status)
        elif category == "Condition":
            factory.register_simple_condition(tag, lambda node: bt.NodeStatus.SUCCESS)
        else:
            factory.register_simple_action(tag, lambda node: bt.NodeStatus.SUCCESS)
    root.remove(root.find("TreeNodesModel"))
    return factory.create_tree_from_text(ET.tostring(root, encoding="unicode"), bt.Blackboard.create())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_mission_exports_to_xml_btcpp_loads_and_ticks(path):
    mission = Resolver(check_interfaces=False).mission(path)
    text = btcpp.dumps(mission)
    tree = _load_into_btcpp(text)
    assert tree.tick_once() in (bt.NodeStatus.RUNNING, bt.NodeStatus.SUCCESS, bt.NodeStatus.FAILURE)
    tree.halt_tree()
    for element in ET.fromstring(text).iter():      # no value reads as BT.CPP's {key} unless it is one
        for name, value in element.attrib.items():
            if value.startswith("{") and value.endswith("}"):
                assert btcpp.BB_PORT.match(value), f"<{element.tag} {name}={value!r}>"


def test_the_model_declares_ports_with_directions_types_and_descriptions():
    text = btcpp.dumps(Resolver(check_interfaces=False).mission(MISSIONS / "inspection.yaml"))
    model = ET.fromstring(text).find("TreeNodesModel")
    navigate = model.find("Action[@ID='Navigate']")
    ports = {p.attrib["name"]: p for p in navigate}
    assert ports["pose"].tag == "input_port" and "pose name" in ports["pose"].text
    assert ports["result"].tag == "output_port"
    assert ports["server_timeout"].attrib["type"] == "double"
    assert model.find("Decorator[@ID='RetryWithBackoff']") is not None
    assert model.find("Action[@ID='Sequence']") is None        # built-ins are BT.CPP's: not declared
    assert all(port.text and port.attrib["type"] for entry in model for port in entry)


def test_the_shipped_groot_mission_runs_in_btcpp_as_written():
    tree = _load_into_btcpp((MISSIONS / "groot_patrol.xml").read_text())
    assert tree.tick_while_running(1) == bt.NodeStatus.SUCCESS      # its leaves stand in as successes
    assert tree.root_blackboard().get_string("done") == "patrolled 6 legs"
