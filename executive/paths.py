"""Where the package's shared files are: the ament index when installed by colcon, else the
source tree (an editable pip install)."""
import pathlib

SOURCE_ROOT = pathlib.Path(__file__).resolve().parent.parent


def share_dir() -> pathlib.Path:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
        try:
            return pathlib.Path(get_package_share_directory("mission_executive"))
        except (PackageNotFoundError, OSError):   # OSError: no AMENT_PREFIX_PATH (a plain venv)
            pass
    except ImportError:
        pass
    return SOURCE_ROOT


def missions_dir() -> pathlib.Path:
    return share_dir() / "missions"


def fastdds_profile() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parent / "dds" / "fastdds_profile.xml"
