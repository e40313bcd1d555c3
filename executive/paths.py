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


def mission_candidates(name: str, directory=None, here: bool = False) -> list:
    """Where a mission named ``name`` is looked for, in order: ``directory``, the current directory
    (``here``: the command line only; a goal never names files by the executive's working
    directory), then the package's missions; each as ``name`` and ``name.yaml``."""
    places = [directory, pathlib.Path.cwd() if here else None, missions_dir()]
    return [pathlib.Path(place) / candidate for place in filter(None, places)
            for candidate in (name, f"{name}.yaml")]


def find_mission(name_or_path: str, directory=None, here: bool = False) -> pathlib.Path:
    """A mission file: a path as given, or a mission by name (``patrol``, ``patrol.yaml``) in the
    places :func:`mission_candidates` lists. An unknown name comes back as given, so the loader's
    error names it."""
    path = pathlib.Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".xml") and path.is_absolute() or path.is_file():
        return path
    for candidate in mission_candidates(name_or_path, directory, here):
        if candidate.is_file():
            return candidate
    return path
