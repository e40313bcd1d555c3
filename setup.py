"""ament_python package mission_executive: installs with pip into a venv or with colcon."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "mission_executive"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Behaviour-tree mission executive for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["executive", "executive.*", "behaviors", "behaviors.*", "sim", "sim.*"]),
    package_data={"sim": ["*.yaml"], "executive": ["dds/*.xml", "viewer/static/*"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/missions", glob("missions/*.yaml") + glob("missions/*.json")),
    ],
    # ROS packages (rclpy, messages) come from the ROS install or the ros-* wheels
    # (requirements/runtime.txt), not from install_requires: colcon builds must not pull them.
    install_requires=["setuptools"],
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "mission = executive.tools.cli:main",
            "mission-sim = sim.process:main",
            "sim = sim.robot:main",
            "mission-executive = executive.node:main",
            "executive = executive.node:main",
        ],
    },
)
