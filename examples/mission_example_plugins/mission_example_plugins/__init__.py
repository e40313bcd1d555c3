"""Example behaviour plugins for mission_executive (see README: Behaviour plugins)."""
