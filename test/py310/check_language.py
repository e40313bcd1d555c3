"""Run under Python 3.10 (what ROS 2 Humble uses) by test/test_python310.py, in a venv that has only
requirements/runtime.txt: no ROS, since there are no Humble wheels for it. The mission language's
ROS-free parts on every shipped mission and on the broken-mission corpus, and `mission list`.
Prints one line of counts; any failure is a traceback and a non-zero exit."""
import contextlib
import io
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from executive.language import loader, schema  # noqa: E402
from executive.language.errors import MissionInvalid  # noqa: E402
from executive.tools import cli  # noqa: E402


def main() -> int:
    assert sys.version_info[:2] == (3, 10), sys.version
    missions = sorted((ROOT / "missions").glob("*.yaml"))
    runnable = set()
    for path in missions:
        doc = loader.load(path)
        assert schema.check(doc, str(path)) == [], path
        if "tree" in doc:           # not a library of subtrees
            runnable.add(path.stem)
    assert json.loads((ROOT / "missions/schema.json").read_text()) == schema.SCHEMA, "schema.json is stale"
    broken = sorted((ROOT / "test/broken").rglob("*.yaml"))
    refused = 0
    for path in broken:
        try:
            errors = schema.check(loader.load(path), str(path))
        except MissionInvalid as exc:
            errors = exc.errors
        assert all(e.file == str(path) and e.line >= 0 for e in errors), (path, errors)
        refused += bool(errors)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["list"]) == 0
    listed = out.getvalue().splitlines()
    assert {line.split()[0] for line in listed} == runnable, listed
    print(f"python {sys.version.split()[0]}: {len(missions)} missions pass the schema; {refused} of "
          f"{len(broken)} broken files refused by the loader or the schema; mission list: {len(listed)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
