"""Missions: YAML → validated model → py_trees tree. Nothing here talks to a ROS graph."""
