"""Where missions are: the package's shared files, the mission roots (the directories missions
may be read from), and the files a goal's name or an include's ``file:`` means within them.

The ament resource index (``<prefix>/share/ament_index/resource_index/packages/<name>``) says which
packages a prefix holds; their files are under ``<prefix>/share/<name>``. The prefixes searched
are ``AMENT_PREFIX_PATH``'s (a sourced ROS install or colcon workspace) and this interpreter's
own (``sys.prefix``: the venv, where ``make setup`` registers ``mission_executive`` and the
example plugin's package as colcon would).
"""
import os
import pathlib
import sys

SOURCE_ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "mission_executive"
ENVIRONMENT = "MISSION_PATH"       # directories searched for missions, os.pathsep-separated
PACKAGE_URL = "package://"


def ament_prefixes() -> list:
    """The install prefixes searched for packages, in order: ``AMENT_PREFIX_PATH``, then ``sys.prefix``."""
    listed = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return list(dict.fromkeys(listed + [sys.prefix]))


def package_share(package: str):
    """``<prefix>/share/<package>`` of the first prefix whose ament index holds ``package``, or None
    (as ament_index_python's get_package_share_directory, over :func:`ament_prefixes`)."""
    if not package or "/" in package or package in (".", ".."):
        return None
    for prefix in ament_prefixes():
        if (pathlib.Path(prefix, "share", "ament_index", "resource_index", "packages", package)).is_file():
            return pathlib.Path(prefix, "share", package)
    return None


def share_dir() -> pathlib.Path:
    """This package's shared files: its ament share directory when registered, else the source tree."""
    return package_share(PACKAGE) or SOURCE_ROOT


def missions_dir() -> pathlib.Path:
    return share_dir() / "missions"


def search_path(given=()) -> list:
    """The mission search path: ``given`` (an executive's ``mission_path`` parameter, ``mission
    --mission-path``: directories, or one string of them separated by ``os.pathsep``), then the
    ``MISSION_PATH`` environment variable's."""
    if isinstance(given, str):
        given = [given]
    parts = [part for entry in given for part in str(entry).split(os.pathsep)]
    parts += os.environ.get(ENVIRONMENT, "").split(os.pathsep)
    return [pathlib.Path(p) for p in dict.fromkeys(p.strip() for p in parts) if p]


def mission_roots(configured="", path=()) -> list:
    """The directories missions may be read from, in search order: the executive's ``missions_dir``
    parameter (``configured``, when set), the search path (:func:`search_path` of ``path``), then
    the package's missions. The one place that decides them: a goal names missions in these (or
    carries the text); an include's ``file:`` names files in these, or in an installed package's
    ``share/<package>/missions`` as ``package://<package>/missions/<file>``."""
    roots = ([pathlib.Path(configured)] if configured else []) + search_path(path) + [missions_dir()]
    unique = {}
    for root in roots:
        unique.setdefault(_resolved(root) or root, root)
    return list(unique.values())


class OutsideRoots(ValueError):
    """A goal or an include named a file outside the mission roots (absolute elsewhere, ``..``, a
    symlink out, a package's file outside its missions)."""


class UnknownPackage(ValueError):
    """A ``package://`` name of a package the ament index does not hold."""


def package_missions(url: str):
    """(the file, the package's missions directory) a ``package://<package>/<path>`` names: a
    path under the package's ament share directory. Raises UnknownPackage for a package that is
    not installed, OutsideRoots for a path that is not under ``<share>/missions``."""
    package, _, rest = url[len(PACKAGE_URL):].partition("/")
    share = package_share(package)
    if share is None:
        raise UnknownPackage(package)
    relative = pathlib.PurePosixPath(rest)
    if not rest or relative.is_absolute() or ".." in relative.parts or relative.parts[0] != "missions":
        raise OutsideRoots(url)
    return share / relative, share / "missions"


def mission_file(name: str, roots, here=None):
    """The file ``name`` means, confined to ``roots``, or None when no root has it: a goal's mission
    (``patrol``, ``patrol.yaml``, ``sub/patrol.yaml`` relative to a root, or an absolute path inside
    one; ``here`` None), or an include's ``file:`` (``here``: the including file's directory,
    looked in first, then each root; ``..`` allowed while the file stays in a root; the name as
    written, no ``.yaml`` added). ``package://<package>/missions/...`` names a file of an installed
    package (see :func:`package_missions`). Raises OutsideRoots, before opening anything, when
    every place the name could mean is outside the roots (a ``..`` part in a goal's name, an
    absolute path elsewhere, a symlink out). Nothing outside the roots is ever opened or tested,
    so no error can tell anything of it."""
    if not name or "\0" in name:
        raise OutsideRoots(name)
    if name.startswith(PACKAGE_URL):
        candidate, root = package_missions(name)
        return _first_file([candidate], [root], name)
    path = pathlib.PurePosixPath(name)
    if here is None and ".." in path.parts:
        raise OutsideRoots(name)
    if path.is_absolute():
        candidates = [pathlib.Path(name)]
    else:
        names = (name,) if here is not None else (name, f"{name}.yaml")
        places = ([pathlib.Path(here)] if here is not None else []) + [pathlib.Path(root) for root in roots]
        candidates = [place / candidate for place in places for candidate in names]
    return _first_file(candidates, roots, name)


def _first_file(candidates, roots, name):
    """The first candidate that resolves to a file inside a root. OutsideRoots when none is inside
    one, or when one written inside a root resolves (through a symlink) to a place outside them."""
    lexical = [pathlib.Path(os.path.normpath(os.path.abspath(root))) for root in roots]
    real = [r for r in map(_resolved, roots) if r is not None]
    inside = False
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
            if not any(resolved.is_relative_to(root) for root in real):
                written = pathlib.Path(os.path.normpath(os.path.abspath(candidate)))
                if any(written.is_relative_to(root) for root in lexical + real):
                    raise OutsideRoots(name)        # a symlink in a root leads out of it
                continue
            inside = True
            if resolved.is_file():
                return resolved
        except (OSError, RuntimeError):   # a name too long, a symlink loop: not a mission
            continue
    if not inside:
        raise OutsideRoots(name)
    return None


def goal_mission(name: str, roots) -> pathlib.Path:
    """The mission file a goal's ``name`` means (:func:`mission_file` without ``here``)."""
    return mission_file(name, roots)


def _resolved(root):
    try:
        return pathlib.Path(root).resolve()
    except (OSError, RuntimeError):
        return None


def mission_candidates(name: str, directory=None, here: bool = False, path=()) -> list:
    """Where a mission named ``name`` is looked for, in order: ``directory``, the current directory
    (``here``: the command line only; a goal never names files by the executive's working
    directory), the search path (:func:`search_path` of ``path``), then the package's missions;
    each as ``name`` and ``name.yaml``."""
    places = [directory, pathlib.Path.cwd() if here else None, *search_path(path), missions_dir()]
    return [pathlib.Path(place) / candidate for place in filter(None, places)
            for candidate in (name, f"{name}.yaml")]


def is_file(path) -> bool:
    """``path`` is a file; False (not OSError) for a name the system cannot hold (too long, a NUL)."""
    try:
        return pathlib.Path(path).is_file()
    except (OSError, ValueError):
        return False


def find_mission(name_or_path: str, directory=None, here: bool = False, path=()) -> pathlib.Path:
    """A mission file: a path as given, or a mission by name (``patrol``, ``patrol.yaml``) in the
    places :func:`mission_candidates` lists. An unknown name comes back as given, so the loader's
    error names it."""
    given = pathlib.Path(name_or_path)
    if given.suffix in (".yaml", ".yml", ".xml") and given.is_absolute() or is_file(given):
        return given
    for candidate in mission_candidates(name_or_path, directory, here, path):
        if is_file(candidate):
            return candidate
    return given
