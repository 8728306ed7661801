"""Helpers for the Key Vault tests: the real SecretClient reaching vault hosts through the emulator's proxy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import requests
from azure.keyvault.secrets import SecretClient

from .conftest import make_credential

OFFICER, USER, READER = "Key Vault Secrets Officer", "Key Vault Secrets User", "Key Vault Reader"


def vault_name() -> str:
    """A fresh name per test: the SDK caches challenges per host for the whole process."""
    return f"kv-{uuid.uuid4().hex[:12]}"


@dataclass
class KeyVaultEnv:
    emulator: object
    vault: str
    url: str

    @property
    def control(self):
        return self.emulator.control

    @property
    def proxy(self) -> str:
        return self.emulator.info["https_proxy"]

    def client(self, credential=None, url: str | None = None, **kwargs) -> SecretClient:
        """SecretClient exactly as the collection builds it: challenge verification left on."""
        return SecretClient(url or self.url, credential or make_credential(self.emulator), **kwargs)

    def principal(self, role: str | None = None, **data) -> tuple[dict, object]:
        """A new service principal (ARM Contributor) with ``role`` on the vault (none if None), and its credential."""
        created = self.control.add_principal(role="Contributor", name=f"p-{uuid.uuid4().hex[:6]}",
                                             tenant=self.emulator.env["AZURE_TENANT"])   # the vault's tenant
        if role or data:
            self.control.add_key_vault_role(self.vault, created["client_id"], role=role, **data)
        return created, make_credential(self.emulator, client_id=created["client_id"], secret=created["secret"],
                                        tenant=created["tenant"])

    def raw(self, method: str, path: str, token: str | None = None, url: str | None = None,
            **kwargs) -> requests.Response:
        """A raw HTTPS call to the vault through the proxy, for status codes, headers and bodies."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, (url or self.url) + path, headers=headers, timeout=10,
                                proxies={"https": self.proxy}, verify=self.emulator.ca_file, **kwargs)

    def token(self, resource: str | None = None, credential=None) -> str:
        scope = (resource or self.emulator.info["key_vault_resource"]) + "/.default"
        return (credential or make_credential(self.emulator)).get_token(scope).token

    def log(self) -> list[dict]:
        return [r for r in self.control.requests() if r["kind"] == "keyvault" and r["vault"] == self.vault]


@pytest.fixture
def kv(fresh_emulator, monkeypatch) -> KeyVaultEnv:
    """A fresh vault where the default principal is Secrets Officer and 'reader' a Key Vault Reader, and the
    environment a client process gets from env.sh (CA bundle, HTTPS_PROXY, NO_PROXY)."""
    proxy = fresh_emulator.info["https_proxy"]
    for name, value in (("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file), ("HTTPS_PROXY", proxy),
                        ("https_proxy", proxy), ("NO_PROXY", "127.0.0.1,localhost"),
                        ("no_proxy", "127.0.0.1,localhost")):
        monkeypatch.setenv(name, value)
    name = vault_name()
    fresh_emulator.control.add_fleet({"key_vaults": [{"name": name, "role_assignments": [
        {"principal": "default", "role": OFFICER}, {"principal": "reader", "role": READER}]}]})
    return KeyVaultEnv(fresh_emulator, name, f"https://{name}.{fresh_emulator.info['key_vault_dns_suffix']}")
