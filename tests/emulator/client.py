"""Drive an emulator from tests and scripts: ``EmulatorProcess`` runs one in a subprocess,
``ControlClient`` talks to its control API (standard ``requests``, TLS verified with its CA)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


class ControlClient:
    def __init__(self, url: str, key: str, ca_file: str | os.PathLike, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.verify = str(ca_file)
        self._session.trust_env = False          # never route loopback through a proxy
        self._session.headers["x-emulator-key"] = key

    def _call(self, method: str, path: str, body: Any = None, **params) -> Any:
        response = self._session.request(method, f"{self.url}/_emulator/{path}", json=body,
                                         params=params or None, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(f"emulator control {method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def health(self) -> dict:
        return self._call("GET", "health")

    def reset(self, fleet: dict | str | os.PathLike | None = None, initial: bool = False) -> dict:
        """Clear everything but principals; seed ``fleet`` (dict or file) or, with initial=True, the start fleet."""
        body: dict = {"initial": True} if initial else {}
        if fleet is not None:
            body["fleet"] = _fleet_dict(fleet)
        return self._call("POST", "reset", body)

    def add_fleet(self, fleet: dict | str | os.PathLike) -> dict:
        return self._call("POST", "fleet", {"fleet": _fleet_dict(fleet)})

    def requests(self, since: int = 0) -> list[dict]:
        return self._call("GET", "requests", since=since)

    def clear_requests(self) -> dict:
        return self._call("DELETE", "requests")

    def counters(self) -> dict:
        return self._call("GET", "counters")

    def vms(self) -> list[dict]:
        return self._call("GET", "vms")

    def vm(self, sub: str, rg: str, name: str) -> dict:
        return self._call("GET", f"vms/{sub}/{rg}/{name}")

    def patch_vm(self, sub: str, rg: str, name: str, **changes) -> dict:
        return self._call("PATCH", f"vms/{sub}/{rg}/{name}", changes)

    def verify_password(self, sub: str, rg: str, name: str, username: str, password: str) -> bool:
        return bool(self._call("POST", f"vms/{sub}/{rg}/{name}/verify-password",
                               {"username": username, "password": password})["valid"])

    def add_fault(self, **rule) -> str:
        return self._call("POST", "faults", rule)["id"]

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def add_principal(self, tenant: str | None = None, client_id: str | None = None, secret: str | None = None,
                      role: str | None = None, roles: dict | None = None, actions: list | None = None,
                      name: str | None = None, object_id: str | None = None) -> dict:
        spec = {k: v for k, v in dict(tenant=tenant, client_id=client_id, secret=secret, role=role, roles=roles,
                                      actions=actions, name=name, object_id=object_id).items() if v is not None}
        return self._call("POST", "principals", spec)

    def principals(self) -> list[dict]:
        return self._call("GET", "principals")

    def expire_tokens(self) -> int:
        return self._call("POST", "tokens/expire")["expired"]

    def config(self) -> dict:
        return self._call("GET", "config")

    def set_config(self, **changes) -> dict:
        return self._call("PATCH", "config", changes)

    # --- Key Vault ------------------------------------------------------------------------------
    def key_vaults(self) -> dict:
        """{dns_suffix, resource, proxy_url, vaults: [summary without secret values]}"""
        return self._call("GET", "keyvault/vaults")

    def add_key_vault(self, name: str, **spec) -> dict:
        return self._call("POST", "keyvault/vaults", {"name": name, **spec})

    def add_key_vault_role(self, vault: str, principal: str, role: str | None = None,
                           data_actions: list | None = None) -> dict:
        body = {"principal": principal, **({"role": role} if role else {"data_actions": data_actions})}
        return self._call("POST", f"keyvault/vaults/{vault}/role-assignments", body)

    def set_key_vault_secret(self, vault: str, name: str, value: str, **props) -> dict:
        """Seed a version (props: content_type, tags, enabled); returns {name, version, id}."""
        return self._call("PUT", f"keyvault/vaults/{vault}/secrets/{name}", {"value": value, **props})

    def key_vault_secret(self, vault: str, name: str) -> dict:
        """Every version of a secret with its value, oldest first; {name, deleted, versions}."""
        return self._call("GET", f"keyvault/vaults/{vault}/secrets/{name}")

    def close(self) -> None:
        self._session.close()


def _fleet_dict(fleet: dict | str | os.PathLike) -> dict:
    if isinstance(fleet, dict):
        return fleet
    from .fleet import load_fleet
    return load_fleet(fleet)


class EmulatorProcess:
    """Runs ``python -m tests.emulator serve`` in a subprocess (cwd = repo root)."""

    def __init__(self, state_dir: str | os.PathLike, fleet: dict | str | os.PathLike | None = None, port: int = 0,
                 time_scale: float = 1.0, extra_args: tuple | list = ()):
        self.state_dir = Path(state_dir)
        self.fleet = fleet
        self.port = port
        self.time_scale = time_scale
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen | None = None
        self.info: dict = {}
        self.env: dict[str, str] = {}
        self.control: ControlClient | None = None
        self._log = None

    # --- attributes from env.json ------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.info["url"]

    @property
    def ca_file(self) -> str:
        return self.info["ca_file"]

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "EmulatorProcess":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env_json = self.state_dir / "env.json"
        env_json.unlink(missing_ok=True)
        fleet_arg = self.fleet
        if isinstance(self.fleet, dict):
            fleet_arg = self.state_dir / "fleet.json"
            fleet_arg.write_text(json.dumps(self.fleet))
        cmd = [sys.executable, "-m", "tests.emulator", "serve", "--state-dir", str(self.state_dir),
               "--port", str(self.port), "--time-scale", str(self.time_scale), *self.extra_args]
        if fleet_arg is not None:
            cmd += ["--fleet", str(fleet_arg)]
        self._log = open(self.state_dir / "emulator.log", "ab")
        self.process = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not env_json.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.process.returncode}: {self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"emulator not ready after {timeout}s: {self._tail()}")
            time.sleep(0.05)
        self.info = json.loads(env_json.read_text())
        self.env = {k: v for k, v in self.info.items() if k.isupper()}
        self.control = ControlClient(self.url, self.info["AZURE_EMULATOR_CONTROL_KEY"], self.ca_file)
        return self

    def _tail(self) -> str:
        try:
            return (self.state_dir / "emulator.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.control:
            self.control.close()
        if self._log:
            self._log.close()
            self._log = None
        return self.process.returncode

    def __enter__(self) -> "EmulatorProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
