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


def mission_roots(configured="") -> list:
    """The directories an ExecuteMission goal may name missions in, in search order: the
    executive's ``missions_dir`` parameter (``configured``, when set), then the package's missions.
    The one place that decides them (a library search path joins here)."""
    roots = [pathlib.Path(configured)] if configured else []
    return roots + [missions_dir()]


class OutsideRoots(ValueError):
    """A goal named a file outside the mission roots (absolute elsewhere, ``..``, a symlink out)."""


def goal_mission(name: str, roots) -> pathlib.Path:
    """The mission file a goal's ``name`` means, confined to ``roots`` (see :func:`mission_roots`):
    ``patrol``, ``patrol.yaml``, ``sub/patrol.yaml`` relative to a root, or an absolute path inside
    one. Returns None when no root has it. Raises OutsideRoots, before touching the file system,
    for a name with a ``..`` part or an absolute path outside every root; and for a name inside a
    root that resolves (through a symlink) to a file outside it. Nothing outside the roots is ever
    opened, so no error can quote it."""
    path = pathlib.PurePosixPath(name)
    if not name or "\0" in name or ".." in path.parts:
        raise OutsideRoots(name)
    pairs = [(pathlib.PurePosixPath(root), _resolved(root)) for root in roots]
    pairs = [(lexical, real) for lexical, real in pairs if real is not None]
    if path.is_absolute():
        candidates = [(real, real / path.relative_to(base)) for lexical, real in pairs for base in (lexical, real)
                      if path.is_relative_to(base)]
        if not candidates:
            raise OutsideRoots(name)
    else:
        candidates = [(real, real / candidate) for _, real in pairs for candidate in (name, f"{name}.yaml")]
    for root, candidate in candidates:
        try:
            real = candidate.resolve()
            if not real.is_relative_to(root):   # a symlink in the root leads out of it
                raise OutsideRoots(name)
            if real.is_file():
                return real
        except (OSError, RuntimeError):   # a name too long, a symlink loop: not a mission
            continue
    return None


def _resolved(root):
    try:
        return pathlib.Path(root).resolve()
    except (OSError, RuntimeError):
        return None


def mission_candidates(name: str, directory=None, here: bool = False) -> list:
    """Where a mission named ``name`` is looked for, in order: ``directory``, the current directory
    (``here``: the command line only; a goal never names files by the executive's working
    directory), then the package's missions; each as ``name`` and ``name.yaml``."""
    places = [directory, pathlib.Path.cwd() if here else None, missions_dir()]
    return [pathlib.Path(place) / candidate for place in filter(None, places)
            for candidate in (name, f"{name}.yaml")]


def is_file(path) -> bool:
    """``path`` is a file; False (not OSError) for a name the system cannot hold (too long, a NUL)."""
    try:
        return pathlib.Path(path).is_file()
    except (OSError, ValueError):
        return False


def find_mission(name_or_path: str, directory=None, here: bool = False) -> pathlib.Path:
    """A mission file: a path as given, or a mission by name (``patrol``, ``patrol.yaml``) in the
    places :func:`mission_candidates` lists. An unknown name comes back as given, so the loader's
    error names it."""
    path = pathlib.Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".xml") and path.is_absolute() or is_file(path):
        return path
    for candidate in mission_candidates(name_or_path, directory, here):
        if is_file(candidate):
            return candidate
    return path
