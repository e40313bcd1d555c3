"""Interface types of upstream ROS packages (Nav2, ros2_control) that the sim serves on request.

None of them installs from PyPI, so they are imported only when an option asks for them, and a
missing one is one clear line naming the package and how to get it.
"""
import importlib

# package -> (the mission-sim option that needs it, the Debian/Ubuntu package of a ROS install)
PACKAGES = {
    "nav2_msgs": ("--nav2", "ros-$ROS_DISTRO-nav2-msgs"),
    "control_msgs": ("--ros2-control", "ros-$ROS_DISTRO-control-msgs"),
}


class UpstreamMissing(RuntimeError):
    """An option needs an interface package that is not installed."""


def require(package: str, kind: str, name: str):
    """The generated class ``package/kind/name``; raises UpstreamMissing naming the package."""
    option, apt_name = PACKAGES[package]
    try:
        module = importlib.import_module(f"{package}.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != package:
            raise       # the package is there but broken: not what this message is for
        raise UpstreamMissing(
            f"{option} needs the ROS package {package}, which is not installed (it is not on PyPI): "
            f"install {apt_name} and source your ROS setup, or build {package} from source into a "
            "workspace and source its install/setup.bash") from None
    return getattr(module, name)
