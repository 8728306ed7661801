"""Fixtures of the contract test: the definitions, a strict checker and HTTPS clients."""

from __future__ import annotations

import json

import pytest

from . import deviations
from .definitions import load
from .harness import Arm
from .validator import Validator


@pytest.fixture(scope="session")
def definitions():
    try:
        defs = load()
    except Exception as exc:  # pylint: disable=broad-except
        pytest.fail(f"the Compute definitions could not be obtained from PyPI: {exc}\n(run `python -m "
                    "tests.contract.definitions` where PyPI is reachable; see tests/contract/README.md)")
    return deviations.apply(defs)


@pytest.fixture(scope="session")
def validator(definitions) -> Validator:
    return Validator(definitions)


@pytest.fixture(scope="session")
def check(validator):
    """check(type_name, body, what): fail with every mismatch listed."""
    def _check(type_name: str, body, what: str) -> None:
        errors = validator.errors(type_name, body)
        assert not errors, (f"{what}: {len(errors)} mismatch(es) with {type_name}:\n  " + "\n  ".join(errors)
                            + "\nbody: " + json.dumps(body)[:3000])
    return _check


@pytest.fixture
def arm(emulator, monkeypatch) -> Arm:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_file)
    env = emulator.env
    return Arm(emulator, env["AZURE_CLIENT_ID"], env["AZURE_SECRET"], env["AZURE_TENANT"])


@pytest.fixture
def reader_arm(emulator, monkeypatch) -> Arm:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_file)
    reader = emulator.info["reader"]
    return Arm(emulator, reader["client_id"], reader["secret"], reader["tenant"])
