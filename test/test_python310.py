"""The README claims ROS 2 Humble, whose Python is 3.10; there are no Humble wheels, so what can be
checked here is the Python: no code of the package needs a newer one (vermin reads every file,
ROS parts included), and the ROS-free parts run on a real 3.10 (test/py310/check_language.py in
.venv-py310, which `make test`'s setup makes where a python3.10 exists)."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PY310 = ROOT / ".venv-py310/bin/python"
CODE = ["executive", "behaviors", "sim", "launch", "bench", "test", "scripts", "setup.py"]


def test_no_code_needs_a_newer_python_than_310():
    vermin = pathlib.Path(sys.executable).parent / "vermin"
    out = subprocess.run([str(vermin), "--target=3.10-", "--violations", "--no-tips", "--eval-annotations", *CODE],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(not PY310.exists(), reason="no .venv-py310: setup found no python3.10")
def test_the_ros_free_parts_run_on_python_310():
    compiled = subprocess.run([str(PY310), "-m", "compileall", "-q", *CODE], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    out = subprocess.run([str(PY310), "test/py310/check_language.py"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("python 3.10"), out.stdout
