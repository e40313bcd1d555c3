#!/usr/bin/env bash
# Set up the project on a machine that has only Python 3.11, in steps:
#
#   scripts/setup.sh demo   what `make demo` needs: apt build tools (cmake, g++, make), a venv with
#                           the ROS 2 wheels and the runtime libraries, mission_interfaces built
#                           into the venv, this package installed editable
#   scripts/setup.sh test   all of that, plus the test tools: Chromium and ChromeDriver (browser
#                           tests), tmux (terminal tests), iproute2 (the two-host test), Graphviz and
#                           a font (mission render --format svg|png), and requirements/dev.txt
#                           (pytest, hypothesis, selenium, colcon)
#
# ROS_DISTRO picks the ROS 2 distribution, each in a venv of its own, side by side:
#   kilted (default)  .venv        requirements/ros-kilted.txt  (rclpy 9, Fast DDS 3)
#   jazzy             .venv-jazzy  requirements/ros-jazzy.txt   (rclpy 7.1, Fast DDS 2.14)
#
# One line per step on screen; each step's whole output goes to build/setup/<step>.log
# (build/setup-jazzy/ for Jazzy; its last lines are shown when it fails). A step is skipped when its
# inputs are unchanged since it last succeeded (stamps in <venv>/.stamps hold a hash of the
# inputs), so a second run is quick.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-test}"
case "$TARGET" in
  demo|test) ;;
  *) echo "usage: [ROS_DISTRO=kilted|jazzy] scripts/setup.sh [demo|test]" >&2; exit 2 ;;
esac
DISTRO="${ROS_DISTRO:-kilted}"
case "$DISTRO" in
  kilted) SUFFIX="" ;;
  jazzy) SUFFIX="-jazzy" ;;
  *) echo "scripts/setup.sh: ROS_DISTRO=$DISTRO: this setup installs ROS 2 kilted or jazzy from PyPI" \
          "(ROS_DISTRO=kilted or jazzy); with a ROS 2 installation of your own, build the packages in a" \
          "colcon workspace (README: \"In a ROS 2 workspace\")" >&2
     exit 2 ;;
esac
VENV="$ROOT/.venv$SUFFIX"
STAMPS="$VENV/.stamps"
LOGS="$ROOT/build/setup$SUFFIX"
ROS_REQUIREMENTS="requirements/ros-$DISTRO.txt"
cd "$ROOT"
mkdir -p "$LOGS"

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
up_to_date() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
mark_done() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }

# step NAME DESCRIPTION COMMAND...: run COMMAND with its output in build/setup/NAME.log and one
# line on screen; on failure, the log's end and where the whole log is.
step() {
  local name="$1" what="$2"; shift 2
  local log="$LOGS/$name.log" start=$SECONDS
  printf '[setup] %-44s ' "$what"
  local code=0
  # In the background, not in an `if` or `||`: there set -e would be ignored, and a step of
  # several commands would go on past a failure.
  "$@" >"$log" 2>&1 &
  wait $! || code=$?
  if [ "$code" -eq 0 ]; then
    printf 'done (%ds)\n' $((SECONDS - start))
  else
    printf 'FAILED (exit %d)\n' "$code"
    tail -n 30 "$log" | sed 's/^/    /' >&2
    echo "[setup] the whole log: $log" >&2
    exit "$code"
  fi
}
skip() { printf '[setup] %-44s up to date\n' "$1"; }

# -- 1. System packages (apt) ------------------------------------------------------------------
# command -> Debian package; only the missing ones are installed, without recommended packages.
DEMO_APT=(cmake:cmake g++:g++ make:make)
TEST_APT=(chromium:chromium chromedriver:chromium-driver tmux:tmux ip:iproute2 dot:graphviz
          fc-list:fontconfig)
apt_missing() {
  local pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || printf '%s\n' "${pair#*:}"
  done
  # Graphviz draws labels with a system font; DejaVu has every glyph `mission render` uses.
  if [ "$TARGET" = test ] && [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    echo fonts-dejavu-core
  fi
}
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@"
}
wanted=("${DEMO_APT[@]}")
[ "$TARGET" = test ] && wanted+=("${TEST_APT[@]}")
mapfile -t missing < <(apt_missing "${wanted[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  step apt "apt: ${missing[*]}" apt_install "${missing[@]}"
else
  skip "apt packages ($TARGET)"
fi

# -- 2. The virtual environment ----------------------------------------------------------------
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$VENV/bin/python" ]; then
  step venv "creating .venv$SUFFIX ($("$PYTHON" --version 2>&1))" "$PYTHON" -m venv "$VENV"
else
  skip ".venv$SUFFIX"
fi
PIP=("$VENV/bin/pip" --disable-pip-version-check)

# -- 3. Python packages: the ROS 2 wheels (runtime and rosidl), py_trees, rich, ... ------------
pip_runtime() {
  "${PIP[@]}" install --upgrade pip wheel 'setuptools>=68,<80'
  "${PIP[@]}" install -r "$ROS_REQUIREMENTS" -r requirements/runtime.txt -r requirements/build.txt
  # The message wheels' cmake files name the wheel builder's include paths; point them here.
  "$VENV/bin/python" scripts/fix_wheel_cmake.py "$VENV"
}
key=$(hash_of "$ROS_REQUIREMENTS" requirements/runtime.txt requirements/build.txt scripts/fix_wheel_cmake.py)
if ! up_to_date pip "$key"; then
  step pip "Python packages, ROS 2 $DISTRO (minutes)" pip_runtime
  mark_done pip "$key"
else
  skip "Python packages"
fi

# -- 4. mission_interfaces, generated by rosidl and installed into the venv --------------------
build_rosidl() {   # NAME SOURCE_DIR IMPORT_CHECK: an interface package built with rosidl into the venv
  local build="$ROOT/build/venv$SUFFIX/$1"
  rm -rf "$build"
  mkdir -p "$ROOT/build/venv$SUFFIX"
  export AMENT_PREFIX_PATH="$VENV" VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"
  cmake -S "$2" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$VENV/bin/python"
  cmake --build "$build" -j2
  cmake --install "$build"
  "$VENV/bin/python" -c "$3"
}
build_interfaces() {
  build_rosidl mission_interfaces interfaces \
    "from mission_interfaces.action import NavigateToPose, FollowJointTrajectory, MoveArm, ExecuteMission"
}
key=$(hash_of $(find interfaces -type f | sort) "$STAMPS/pip")
if ! up_to_date interfaces "$key"; then
  step interfaces "building mission_interfaces" build_interfaces
  mark_done interfaces "$key"
else
  skip "mission_interfaces"
fi

# -- 5. This package, editable: code changes need no reinstall; metadata changes do -------------
key=$(hash_of setup.py setup.cfg package.xml "$STAMPS/interfaces")
if ! up_to_date package "$key"; then
  # compat mode puts the source tree on sys.path, so packages added later import without a reinstall.
  step package "installing mission_executive (editable)" \
    "${PIP[@]}" install --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
  mark_done package "$key"
else
  skip "mission_executive"
fi

# -- 5b. The venv's ament index, as colcon would make it (--symlink-install) ---------------------
# <venv>/share/ament_index/resource_index/packages/<name> says the venv holds the package; its share
# directory links to the sources, so `package://mission_executive/missions/common.yaml` resolves on
# a fresh machine and edits need no reinstall (executive/paths.py reads the index).
register_package() {   # NAME SOURCE_DIR ITEM...: share/NAME/ITEM -> SOURCE_DIR/ITEM; says whether it changed
  local name="$1" source="$2" item changed=""; shift 2
  mkdir -p "$VENV/share/ament_index/resource_index/packages" "$VENV/share/$name"
  [ -f "$VENV/share/ament_index/resource_index/packages/$name" ] || changed=yes
  : > "$VENV/share/ament_index/resource_index/packages/$name"
  for item in "$@"; do
    if [ "$(readlink "$VENV/share/$name/$item")" != "$source/$item" ]; then
      rm -rf "${VENV:?}/share/$name/$item"
      ln -s "$source/$item" "$VENV/share/$name/$item"
      changed=yes
    fi
  done
  if [ -n "$changed" ]; then
    echo "[setup] ament index: $name registered in .venv$SUFFIX"
  else
    skip "ament index: $name"
  fi
}
register_package mission_executive "$ROOT" missions launch package.xml

# -- 5c. The example behaviour plugin (make test: CI runs it end to end) --------------------------
# Its action type is an interface package of its own, built as mission_interfaces is; the plugin
# is a Python package declaring its behaviours under the mission_executive.behaviors entry points.
if [ "$TARGET" = test ]; then
  EXAMPLE=examples/mission_example_plugins
  key=$(hash_of $(find examples/mission_example_interfaces -type f | sort) "$STAMPS/interfaces")
  if ! up_to_date example-interfaces "$key"; then
    step example-interfaces "building mission_example_interfaces" build_rosidl mission_example_interfaces \
      examples/mission_example_interfaces "from mission_example_interfaces.action import Charge"
    mark_done example-interfaces "$key"
  else
    skip "mission_example_interfaces"
  fi
  key=$(hash_of "$EXAMPLE/pyproject.toml" "$STAMPS/package")
  if ! up_to_date example-plugin "$key"; then
    step example-plugin "installing the example plugin (editable)" \
      "${PIP[@]}" install --no-deps --no-build-isolation -e "$EXAMPLE" --config-settings editable_mode=compat
    mark_done example-plugin "$key"
  else
    skip "the example plugin"
  fi
  register_package mission_example_plugins "$ROOT/$EXAMPLE" missions
fi

# -- 6. Test tools (make test only) ------------------------------------------------------------
if [ "$TARGET" = test ]; then
  key=$(hash_of requirements/dev.txt "$STAMPS/pip")
  if ! up_to_date pip-dev "$key"; then
    step pip-dev "test tools (requirements/dev.txt)" "${PIP[@]}" install -r requirements/dev.txt
    mark_done pip-dev "$key"
  else
    skip "test tools"
  fi
fi
# -- 7. Python 3.10 (Humble's), for test/test_python310.py (make test on Kilted only) --------------
# There are no ROS 2 wheels for it: the venv holds requirements/runtime.txt, the ROS-free libraries.
# Skipped, and that test with it, where no python3.10 is found (pyenv's included).
find_python310() {
  # A pyenv shim exists without the version being selected, so each candidate must run.
  local candidate
  for candidate in ${PYTHON310:-} "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python "$(command -v python3.10 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
}
PY310=$(find_python310)
if [ "$TARGET" = test ] && [ "$DISTRO" = kilted ]; then
  if [ -z "$PY310" ]; then
    skip "Python 3.10 venv: no python3.10 found"
  else
    py310_venv() {
      [ -x "$ROOT/.venv-py310/bin/python" ] || "$PY310" -m venv "$ROOT/.venv-py310"
      "$ROOT/.venv-py310/bin/pip" --disable-pip-version-check install -r requirements/runtime.txt
    }
    key=$( (cat requirements/runtime.txt; echo "$PY310") | sha256sum | cut -d' ' -f1)
    if ! up_to_date py310 "$key"; then
      step py310 "Python 3.10 venv (.venv-py310)" py310_venv
      mark_done py310 "$key"
    else
      skip "Python 3.10 venv (.venv-py310)"
    fi
  fi
fi
echo "[setup] ready for $TARGET on ROS 2 $DISTRO in .venv$SUFFIX (logs in build/setup$SUFFIX/)"
