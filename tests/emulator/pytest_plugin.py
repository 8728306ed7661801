"""pytest fixtures: one emulator per test session, and a fresh (empty) state per test.

``EMULATOR_TIME_SCALE`` overrides the session's time scale (default 0.02: a 60 s extension
run takes 1.2 s).
"""

from __future__ import annotations

import os

import pytest

from .client import EmulatorProcess

DEFAULT_TIME_SCALE = 0.02


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """A running EmulatorProcess (demo fleet at start), stopped at the end of the session."""
    scale = float(os.environ.get("EMULATOR_TIME_SCALE", DEFAULT_TIME_SCALE))
    process = EmulatorProcess(tmp_path_factory.mktemp("azure-emulator"), time_scale=scale)
    process.start(timeout=60)
    process.initial_config = process.control.config()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def fresh_emulator(emulator):
    """The session emulator reset to an empty state (principals and the empty default subscription kept);
    tests seed what they need with ``emulator.control.add_fleet(...)``."""
    emulator.control.reset()
    emulator.control.set_config(**emulator.initial_config)
    yield emulator
    emulator.control.clear_faults()


def emulator_env_vars(emulator: EmulatorProcess) -> dict[str, str]:
    """Environment for a subprocess (ansible-playbook, a module) that should talk to the emulator."""
    env = dict(os.environ)
    env.update(emulator.env)
    env["SSL_CERT_FILE"] = emulator.ca_file            # urllib-based clients (azure-cli-core metadata)
    env["ARM_CLOUD_METADATA_URL"] = emulator.info["metadata_url"]
    env["AZURE_DISABLE_INSTANCE_DISCOVERY"] = "true"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # Key Vault hosts (https://<vault>.vault.azure-emulator.local) are reached through the emulator's proxy
    env["HTTPS_PROXY"] = env["https_proxy"] = emulator.info["https_proxy"]
    return env


@pytest.fixture
def emulator_env(emulator) -> dict[str, str]:
    return emulator_env_vars(emulator)
