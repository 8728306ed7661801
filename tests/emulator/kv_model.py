"""Key Vault data: vaults, secrets and their versions, RBAC role assignments on a vault.

Secret values live only in memory, in these objects; nothing here logs or prints them.
"""

from __future__ import annotations

import fnmatch
import re
import time
import uuid
from dataclasses import dataclass, field

# The cloud's Key Vault DNS suffix (metadata suffixes.keyVaultDns) and the resource Key Vault's challenge names:
# "https://" + suffix, without a trailing slash, as Azure's "https://vault.azure.net".
KV_DNS_SUFFIX = "vault.azure-emulator.local"
KV_RESOURCE = f"https://{KV_DNS_SUFFIX}"

VAULT_NAME_RE = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")   # 3-24, letter first, no "--"
SECRET_NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_TAGS = 15
MAX_VALUE_BYTES = 25 * 1024

# Built-in Key Vault data-plane roles (dataActions). ARM roles (Owner, Contributor...) carry no dataActions.
DATA_ROLES = {
    "key vault administrator": ["Microsoft.KeyVault/vaults/*"],
    "key vault secrets officer": ["Microsoft.KeyVault/vaults/secrets/*"],
    "key vault secrets user": ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                               "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    "key vault reader": ["Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
}


def new_version_id() -> str:
    return uuid.uuid4().hex


def vault_host_name(host: str) -> str | None:
    """'kv1.vault.azure-emulator.local[:443]' -> 'kv1'; None when the host is not under the vault suffix."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower().rstrip(".")
    suffix = "." + KV_DNS_SUFFIX
    if not name.endswith(suffix) or "." in name[: -len(suffix)]:
        return None
    return name[: -len(suffix)] or None


@dataclass
class SecretVersion:
    version: str
    value: str
    content_type: str | None
    tags: dict
    enabled: bool = True
    nbf: int | None = None
    exp: int | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    updated: int = 0

    def __post_init__(self):
        self.updated = self.updated or self.created


@dataclass
class Secret:
    name: str                                    # as first set; lookups ignore case
    versions: dict[str, SecretVersion] = field(default_factory=dict)   # creation order
    deleted_at: int | None = None                # epoch seconds; set while soft-deleted
    deleting_until: float | None = None          # monotonic instant the deletion completes

    @property
    def latest(self) -> SecretVersion:
        return next(reversed(self.versions.values()))

    def version(self, version_id: str) -> SecretVersion | None:
        return self.versions.get(version_id.lower())


@dataclass
class Assignment:
    principal_object_id: str
    role: str | None                             # a built-in data role, or None with data_actions
    data_actions: list[str]


@dataclass
class Vault:
    name: str
    subscription: str
    resource_group: str
    location: str
    tenant: str
    retention_days: int = 90
    secrets: dict[str, Secret] = field(default_factory=dict)     # lower name -> secret
    assignments: list[Assignment] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://{self.name}.{KV_DNS_SUFFIX}"

    @property
    def resource_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.KeyVault/vaults/{self.name}")

    @property
    def recovery_level(self) -> str:
        # A retention shorter than the 90-day default shows as "Customized" (recorded SDK traffic, 7 days).
        return "Recoverable+Purgeable" if self.retention_days >= 90 else "CustomizedRecoverable+Purgeable"

    def may(self, object_id: str, data_action: str) -> bool:
        action = data_action.lower()
        return any(fnmatch.fnmatchcase(action, pattern.lower())
                   for a in self.assignments if a.principal_object_id.lower() == object_id.lower()
                   for pattern in a.data_actions)

    def has_assignment(self, object_id: str) -> bool:
        return any(a.principal_object_id.lower() == object_id.lower() for a in self.assignments)


class KeyVaults:
    """Every vault of the emulator, and the proxy URL clients reach vault hosts through."""

    def __init__(self):
        self.vaults: dict[str, Vault] = {}
        self.proxy_url: str | None = None

    def add(self, vault: Vault) -> Vault:
        if vault.name.lower() in self.vaults:
            raise ValueError(f"vault {vault.name!r} exists already")
        self.vaults[vault.name.lower()] = vault
        return vault

    def get(self, name: str) -> Vault | None:
        return self.vaults.get(name.lower())

    def by_host(self, host: str) -> Vault | None:
        name = vault_host_name(host)
        return self.get(name) if name else None

    def clear(self) -> None:
        self.vaults.clear()


def role_actions(role: str) -> list[str]:
    actions = DATA_ROLES.get(role.lower())
    if actions is None:
        raise ValueError(f"unknown Key Vault role {role!r}; one of {sorted(r.title() for r in DATA_ROLES)}")
    return actions
