"""Point the ROS message wheels' cmake files at this interpreter's include directories.

The wheels export cmake targets that hard-code the paths of the machine that built them
(/opt/python/cp311-cp311/...). cmake refuses an imported target whose include directory does
not exist, so building any interface package against them fails until the paths are rewritten.
Idempotent: a second run finds nothing to change.
"""
import pathlib
import sys
import sysconfig

import numpy

BUILDER_PYTHON_INCLUDE = "/opt/python/cp311-cp311/include/python3.11"
BUILDER_NUMPY_INCLUDE = "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"


def main(prefix: str) -> int:
    replacements = {
        BUILDER_NUMPY_INCLUDE: numpy.get_include(),  # the longer string first: it contains the other's prefix
        BUILDER_PYTHON_INCLUDE: sysconfig.get_paths()["include"],
    }
    changed = 0
    for path in pathlib.Path(prefix, "share").rglob("*.cmake"):
        text = path.read_text()
        new = text
        for old, here in replacements.items():
            new = new.replace(old, here)
        if new != text:
            path.write_text(new)
            changed += 1
    print(f"[setup] rewrote builder paths in {changed} cmake files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
