# The README's two commands: `make demo` and `make test`. Both create their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test unit emulator-tests contract integration artifact lint sanity bench-emulator bench-peer bench-fleet bench-rdp clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m tests.collection_link
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

## The emulator's answers checked against the Compute API definitions (tests/contract/README.md).
contract: venv
	$(BIN)/python -m pytest tests/contract -q

integration: venv
	$(BIN)/python -m pytest tests/integration -q

## The built collection: ansible-galaxy build + install, ansible-doc, ad-hoc run, stdlib-only imports.
artifact: venv
	$(BIN)/python -m pytest tests/artifact -q

## The support matrix: unit + engine tests and the e2e smoke set under ansible-core 2.16-2.19 and the SDK range ends.
matrix: venv
	$(BIN)/nox -s matrix

## docs/reliability.md from the reliability suite's last run (tests/output/reliability/); check it in when you mean to.
reliability-report: venv
	$(BIN)/python scripts/reliability_report.py

## ansible-lint (production profile) and antsibull-changelog lint.
lint: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/lint.sh

## ansible-test sanity (all tests, --venv, no Docker).
sanity: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/sanity.sh

bench-emulator: venv
	$(BIN)/python bench/emulator_throughput.py

## Fleet benchmark: reset_rdp.yml over 1,000 emulated VMs vs the per-host module (writes bench/results/fleet.md).
bench-fleet: venv
	$(BIN)/python bench/fleet_bench.py

## RDP diagnosis benchmark: vm_rdp_fleet's engine in-process on 1,000 emulated VMs, ARM requests per VM without
## guest checks, write-budget pacing with them (writes bench/results/rdp.md; docs/benchmarks-rdp.md explains it).
bench-rdp: venv
	$(BIN)/python bench/rdp_bench.py

clean:
	rm -rf $(VENV) collections .tmp tests/output .pytest_cache

## Side by side with azure.azcollection (installed by bench/peer/setup.sh into bench/peer/.venv); writes bench/results/compare_peer.md.
bench-peer: venv
	bash bench/peer/setup.sh
	$(BIN)/python bench/compare_peer.py
