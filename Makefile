# The README's commands. Each target sets up what it needs first (scripts/setup.sh is idempotent:
# a step whose inputs have not changed is skipped). Setup logs: build/setup/<step>.log.
#
# ROS_DISTRO=jazzy runs any target on ROS 2 Jazzy instead of Kilted (the default), in .venv-jazzy
# (logs in build/setup-jazzy/): `ROS_DISTRO=jazzy make test`.
ROS_DISTRO ?= kilted
export ROS_DISTRO
VENV := $(if $(filter kilted,$(ROS_DISTRO)),.venv,.venv-$(ROS_DISTRO))
PY := $(VENV)/bin/python

.PHONY: setup setup-demo setup-test demo test bench clean
# A developer's setup: everything the demo and the tests need.
setup: setup-test

# Only what the demo needs: build tools, the ROS 2 wheels, mission_interfaces, this package.
setup-demo:
	@bash scripts/setup.sh demo

# The demo's setup plus the test tools (Chromium, ChromeDriver, tmux, iproute2, Graphviz, pytest...).
setup-test:
	@bash scripts/setup.sh test

# The inspection mission against a simulated robot (4x speed), kept on this machine's loopback.
demo: setup-demo
	@ROS_AUTOMATIC_DISCOVERY_RANGE=$${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST} $(VENV)/bin/mission run inspection --sim --time-scale 4

test: setup-test
	@$(PY) -m pytest

bench: setup-test
	@$(PY) -m bench

clean:
	rm -rf build install log .pytest_cache
