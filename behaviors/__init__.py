"""py_trees behaviours that drive ROS 2 actions and services, and the decorators they need."""
