"""Key Vault for the in-process tests: a fresh vault per test (the SDK caches challenges per host for the
whole process), reached the way the plugins reach it (the session's credential and cloud, through the
emulator's CONNECT proxy), plus the password store on it and what the vault holds."""

from __future__ import annotations

import time
import uuid

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.keyvault import KeyVaultApi, vault_url
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import password_rotation as rot
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.password_store import PasswordStore

OFFICER = "Key Vault Secrets Officer"


class Vault:
    def __init__(self, azure, name):
        self.azure = azure
        self.name = name
        self.control = azure.control
        self.session = AzureSession({}, azure.environ)
        self.url = vault_url(name, self.session.cloud)

    def api(self, credential=None, **kwargs):
        kwargs.setdefault("retry_backoff_factor", 0.01)
        return KeyVaultApi(credential or self.session.credential, self.url, retry_budget_s=30, **kwargs)

    def store(self, **kwargs):
        return PasswordStore(self.api(), vault_url=self.url, **kwargs)

    def secret_of(self, vm, rg=None):
        return rot.secret_name(self.azure.ref(vm, **({"rg": rg} if rg else {})).id)

    def versions(self, secret):
        """Oldest first, with values: what the vault holds (control API)."""
        found = self.control.key_vault_secret(self.name, secret)
        return sorted(found["versions"], key=lambda v: (v["created"], (v["tags"] or {}).get("set_at", "")))

    def states(self, secret):
        return [(v["tags"] or {}).get("state") for v in self.versions(secret)]

    def newest_active(self, secret):
        return [v for v in self.versions(secret) if (v["tags"] or {}).get("state") == "active"][-1]

    def seed_active(self, vm, password, days_old, username="azureadmin"):
        """An active version written ``days_old`` days ago (set_at; Key Vault's own created is now)."""
        ref = self.azure.ref(vm)
        self.control.set_key_vault_secret(self.name, rot.secret_name(ref.id), password, content_type="password",
                                          tags={"vm_id": ref.id, "username": username, "run_tag": "SEED",
                                                "state": "active", "set_at": rot.stamp(time.time() - days_old * 86400)})

    def log(self, since=0):
        return [r for r in self.control.requests(since=since) if r["kind"] == "keyvault" and r["vault"] == self.name]

    def writes(self, since=0):
        """Write requests that reached Key Vault's checks (a client's first request, without a token, is a 401)."""
        return [r for r in self.log(since) if r["method"] in ("PUT", "PATCH", "DELETE") and r["status"] != 401]


@pytest.fixture
def vault(azure, monkeypatch):
    """A fresh vault where the default principal is Key Vault Secrets Officer; the proxy env of env.sh."""
    proxy = azure.emulator.info["https_proxy"]
    for name, value in (("HTTPS_PROXY", proxy), ("https_proxy", proxy), ("NO_PROXY", "127.0.0.1,localhost"),
                        ("no_proxy", "127.0.0.1,localhost")):
        monkeypatch.setenv(name, value)
    azure.environ.update(HTTPS_PROXY=proxy, NO_PROXY="127.0.0.1,localhost")
    name = "kv-%s" % uuid.uuid4().hex[:12]
    azure.control.add_fleet({"key_vaults": [{"name": name, "role_assignments": [
        {"principal": "default", "role": OFFICER}, {"principal": "reader", "role": "Key Vault Reader"}]}]})
    return Vault(azure, name)
