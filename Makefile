# The README's commands. Each target sets up what it needs first (scripts/setup.sh is idempotent).
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test bench clean
setup:
	@bash scripts/setup.sh

# The inspection mission against a simulated robot (4x speed), kept on this machine's loopback.
demo: setup
	@ROS_AUTOMATIC_DISCOVERY_RANGE=$${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST} $(VENV)/bin/mission run inspection --sim --time-scale 4

test: setup
	@$(PY) -m pytest

bench: setup
	@$(PY) -m bench

clean:
	rm -rf build install log .pytest_cache
