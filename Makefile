# The README's commands. Each target sets up what it needs first (scripts/setup.sh is idempotent).
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test bench clean
setup:
	@bash scripts/setup.sh

demo: setup
	@$(PY) -m executive.demo

test: setup
	@$(PY) -m pytest

bench: setup
	@$(PY) -m bench

clean:
	rm -rf build install log .pytest_cache
