"""Benchmarks: every figure is printed with a baseline measured in the same run (raw rclpy or
plain py_trees) and their ratio. ``make bench`` (= ``python -m bench``) runs them all."""
