"""The package's Fast DDS settings (``fastdds_profile.xml`` beside this file) and how a process gets them.

The profile gives every participant a 3 s lease (a killed or unplugged process leaves the ROS graph
after 3 s, not Fast DDS's default 20 s) and lets service servers wait up to 3 s for a just-discovered
client's reader before answering it (see the profile's comments).

Fast DDS reads a profile file named by an environment variable whose name changed with its major
version. Measured with the PyPI wheels (a killed ``mission-sim``, its node gone from a client's graph):

============================  ===================================  ====================================
variable set                  Jazzy (Fast DDS 2.14, rmw 8.4)       Kilted (Fast DDS 3.2, rmw 9.3)
============================  ===================================  ====================================
none                          20 s (the default lease)             20 s
FASTDDS_DEFAULT_PROFILES_FILE 20 s: ignored                        3 s
FASTRTPS_DEFAULT_PROFILES_FILE 3 s                                 3 s, and rmw warns that the name is
                                                                   deprecated, in every process
============================  ===================================  ====================================

So a process is given the name its Fast DDS reads (:func:`fastdds_major`), and both names only when
that is unknown. Every place that starts our processes or nodes applies it: ``mission run`` and
``mission send`` (for themselves and the children they start, executive/tools/launcher.py), the
executive node's ``main``, the launch files, the test session and the benchmarks. No other module
names the variables (``test/test_dds.py`` checks).
"""
import os
import pathlib
from importlib import metadata

PROFILE = pathlib.Path(__file__).resolve().parent / "fastdds_profile.xml"
VARIABLES = {2: "FASTRTPS_DEFAULT_PROFILES_FILE", 3: "FASTDDS_DEFAULT_PROFILES_FILE"}
# The ROS 2 distributions whose Fast DDS is 2.x (Humble 2.6, Iron 2.10, Jazzy 2.14); later ones ship 3.x.
FASTDDS_2_DISTROS = ("humble", "iron", "jazzy")


def profile_path() -> pathlib.Path:
    """The package's profile, ``executive/dds/fastdds_profile.xml``."""
    return PROFILE


def fastdds_major(environ=None):
    """2 or 3: the major version of the Fast DDS that this interpreter's rclpy loads; None when
    unknown. From the installed wheels (``ros-fastrtps`` is 2.x, ``ros-fastdds`` 3.x), else from
    ``ROS_DISTRO``, which a sourced ROS 2 installation sets."""
    for distribution, major in (("ros-fastdds", 3), ("ros-fastrtps", 2)):
        try:
            metadata.version(distribution)
            return major
        except metadata.PackageNotFoundError:
            pass
    distro = (os.environ if environ is None else environ).get("ROS_DISTRO", "").strip().lower()
    if not distro:
        return None
    return 2 if distro in FASTDDS_2_DISTROS else 3


def profile_environment(environ=None, major="detect") -> dict:
    """The variables to add to ``environ`` (default ``os.environ``; not changed) so that Fast DDS
    ``major`` (2 or 3; None: unknown; default: :func:`fastdds_major`) loads a profile: the one
    ``environ`` names under either name (an empty value names none), else ours; under the name that
    Fast DDS reads, or both names when ``major`` is unknown. A variable ``environ`` has is never
    changed, so a profile the user chose is kept."""
    environ = os.environ if environ is None else environ
    major = fastdds_major(environ) if major == "detect" else major
    named = [environ[name] for name in VARIABLES.values() if environ.get(name)]
    chosen = named[0] if named else str(PROFILE)
    needed = [VARIABLES[major]] if major in VARIABLES else list(VARIABLES.values())
    return {name: chosen for name in needed if not environ.get(name)}


def use_profile(environ=None, replace: bool = False):
    """Add :func:`profile_environment` to ``environ`` (default ``os.environ``, changed in place) and
    return it; ``replace``: ours, whatever ``environ`` named before (the test session). Takes effect
    for participants created afterwards: call it before ``rclpy.init``."""
    environ = os.environ if environ is None else environ
    if replace:
        for name in VARIABLES.values():
            environ.pop(name, None)
    environ.update(profile_environment(environ))
    return environ
