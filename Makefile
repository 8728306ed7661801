# The README's two commands: `make demo` and `make test`. Both create their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test unit emulator-tests integration bench-emulator clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## Start the emulator with the demo fleet, run a reset against it and show the result.
demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## The whole test suite (what CI runs).
test: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/test.sh

unit: venv
	$(BIN)/python -m pytest tests/unit -q

emulator-tests: venv
	$(BIN)/python -m pytest tests/emulator_tests -q

integration: venv
	$(BIN)/python -m pytest tests/integration -q

bench-emulator: venv
	$(BIN)/python bench/emulator_throughput.py

clean:
	rm -rf $(VENV) collections .tmp tests/output .pytest_cache
