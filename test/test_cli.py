"""The ``mission`` command as a user meets it: a user's mistake is a message and an exit code,
never a traceback; render's formats differ and name nodes as runs do; list shows parameters."""
import subprocess

import pytest

from executive.tools.launcher import BIN

TWINS = """name: twins
tree:
  sequence:
    name: twins
    children:
      - retry: {attempts: 2, child: {wait: {seconds: 0.01}}}
      - retry: {attempts: 2, child: {wait: {seconds: 0.01}}}
"""


def mission(*args, cwd=None, shell=False):
    command = f"{BIN / 'mission'} {args[0]}" if shell else [str(BIN / "mission"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, shell=shell)


def no_traceback(done):
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


def test_a_mission_by_name_in_this_directory_and_where_a_missing_one_was_looked_for(tmp_path):
    (tmp_path / "warehouse.yaml").write_text(TWINS.replace("twins", "warehouse"))
    found = mission("validate", "warehouse", cwd=tmp_path)
    assert found.returncode == 0 and "warehouse.yaml: valid" in found.stdout, found.stderr
    missing = mission("validate", "storehouse", cwd=tmp_path)
    no_traceback(missing)
    assert missing.returncode == 2 and "no such mission file" in missing.stderr
    assert str(tmp_path / "storehouse.yaml") in missing.stderr and "missions/storehouse.yaml" in missing.stderr


def test_render_formats_differ_and_name_nodes_as_runs_do(tmp_path):
    (tmp_path / "twins.yaml").write_text(TWINS)
    ascii_text = mission("render", str(tmp_path / "twins.yaml"), "-f", "ascii").stdout
    unicode_text = mission("render", str(tmp_path / "twins.yaml"), "-f", "unicode").stdout
    assert ascii_text != unicode_text and ascii_text.isascii() and "├── " in unicode_text
    assert "retry#2" in ascii_text and "wait" in ascii_text
    dot = mission("render", str(tmp_path / "twins.yaml"), "-f", "dot").stdout
    assert '"twins/retry#2"' in dot and 'label="retry#2\\n(retry)"' in dot
    assert dot.isascii(), "every label is plain text, so no font lacks a glyph"


def test_render_into_a_closed_pipe_is_quiet():
    done = mission("render patrol -f unicode | head -1", shell=True)
    no_traceback(done)
    assert done.stdout.strip().endswith("patrol  [sequence]")


@pytest.mark.parametrize("args,message", [
    (["run", "patrol", "--time-scale", "4"], "--time-scale need --sim"),
    (["run", "patrol", "--robots", "2"], "--robots need --sim"),
    (["run", "patrol", "--allow-control"], "--allow-control need --viewer"),
    (["run", "patrol", "-p", "laps=["], "laps=[: the value is not YAML"),
    (["validate", "patrol", "-p", "laps=["], "laps=[: the value is not YAML"),
    (["run", "patrol", "--log-dir", "/proc/x"], "cannot write run logs to /proc/x"),
    (["report", "/nonexistent/run"], "No such file"),
    (["list", "--dir", "/nonexistent"], "is not a directory"),
    (["export", "patrol", "-o", "/proc/x/out.xml"], "/proc/x/out.xml"),
    # A name longer than a file name may be (the 300-character mission name) is not a file.
    (["validate", "a" * 300], "no such mission file"),
    (["run", "a" * 300], "no such mission file"),
    (["render", "a" * 300], "no such mission file"),
])
def test_a_users_mistake_is_a_message_not_a_traceback(args, message):
    done = mission(*args)
    no_traceback(done)
    assert done.returncode in (1, 2) and message in done.stderr, done.stderr


def test_send_takes_a_name_too_long_for_a_file_as_a_name():
    """It is sent as a name (no "File name too long"): with no executive, that is what it says."""
    done = mission("send", "a" * 300, "--wait", "0.5")
    no_traceback(done)
    assert done.returncode == 3 and "File name too long" not in done.stderr, done.stderr


def test_list_shows_each_missions_parameters():
    listed = mission("list").stdout.splitlines()
    patrol = next(line for line in listed if line.startswith("patrol "))
    assert "(robot=robot1, laps=2)" in patrol
