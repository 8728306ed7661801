#!/usr/bin/env bash
# The whole test suite: unit tests, the emulator's own tests, and the modules driven through
# Ansible against the emulator. Expects the venv's bin first on PATH (the Makefile does that).
set -euo pipefail
cd "$(dirname "$0")/.."

export ANSIBLE_PYTHON_INTERPRETER="$(command -v python)"
python -m pytest tests -q -p no:cacheprovider "$@"
