"""Simulated robot hardware: real rclpy action and service servers."""
