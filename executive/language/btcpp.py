"""BehaviorTree.CPP v4 XML (the format Groot2 edits) in and out: :func:`load`/:func:`loads` read it
(:mod:`executive.language.btcpp_import`), :func:`dumps` writes it
(:mod:`executive.language.btcpp_export`); :mod:`executive.language.btcpp_model` holds the
vocabulary both use. README: "BehaviorTree.CPP / Groot2".
"""
from executive.language.btcpp_export import dumps  # noqa: F401
from executive.language.btcpp_import import in_xml_terms, load, loads  # noqa: F401
from executive.language.btcpp_model import BB_PORT, BUILTIN, OUR_IDS, OURS, PRE_POST, UNSUPPORTED  # noqa: F401
