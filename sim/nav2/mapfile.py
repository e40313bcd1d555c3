"""map_server's map files, read as far as the sim needs (no ROS): the YAML's metadata and the
image's size from its header."""
import pathlib
import struct

from ruamel.yaml import YAML, YAMLError


def image_size(path: pathlib.Path):
    """(width, height) in pixels of a PGM (P2/P5) or PNG image, read from its header; None for
    anything else."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head[:2] in (b"P2", b"P5"):
        fields = []
        for line in head[2:].split(b"\n"):
            fields += line.split(b"#")[0].split()
            if len(fields) >= 2:
                return int(fields[0]), int(fields[1])
    return None


def read_map_yaml(url: str):
    """(result constant name, bounds [xmin, xmax, ymin, ymax], resolution) of a map_server YAML."""
    path = pathlib.Path(url)
    if not path.is_file():
        return "RESULT_MAP_DOES_NOT_EXIST", None, None
    try:
        meta = YAML(typ="safe").load(path.read_text())
        image = path.parent / str(meta["image"])
        resolution = float(meta["resolution"])
        ox, oy = float(meta["origin"][0]), float(meta["origin"][1])
    except (YAMLError, KeyError, TypeError, ValueError, IndexError):
        return "RESULT_INVALID_MAP_METADATA", None, None
    if resolution <= 0:
        return "RESULT_INVALID_MAP_METADATA", None, None
    size = image_size(image) if image.is_file() else None
    if not size:
        return "RESULT_INVALID_MAP_DATA", None, None
    width, height = size
    return "RESULT_SUCCESS", [ox, ox + width * resolution, oy, oy + height * resolution], resolution
