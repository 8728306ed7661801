"""Fixtures of the in-process inventory tests: the seeded fleet, ``parse_inventory``, and a check
that no test leaves the process changed for the next one."""

from __future__ import annotations

import os

import pytest
from ansible import constants as C
from ansible.utils.display import Display

from .fleet import seed
from .in_process import InventoryParser


@pytest.fixture
def seeded(fresh_emulator):
    """The three-subscription fleet; returns (emulator, subscription A = the auth subscription)."""
    return fresh_emulator, seed(fresh_emulator)


@pytest.fixture
def parse_inventory(fresh_emulator, tmp_path, monkeypatch):
    """parse_inventory(config, env=None, flush_cache=False, verbosity=0, name=..., workdir=None,
    unparsed_is_failed=True) -> InventoryRun (see in_process.py)."""
    return InventoryParser(fresh_emulator, tmp_path, monkeypatch).parse


def process_state():
    """What a parse changes for its own duration: the environment, Ansible's display and config."""
    display = Display()
    environment = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    return {"environment": environment, "verbosity": display.verbosity, "warnings shown": display._warns,
            "error_as_warning": Display.error_as_warning,
            "INVENTORY_UNPARSED_IS_FAILED": C.INVENTORY_UNPARSED_IS_FAILED}


@pytest.fixture(autouse=True)
def process_state_is_restored():
    before = process_state()
    yield
    assert process_state() == before
