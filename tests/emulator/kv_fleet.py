"""Key Vaults in fleet files and through the control API: validation, seeding, role assignments.

    key_vaults:
      - name: kv-vmaccess-demo            # 3-24 letters, digits, dashes; a letter first
        resource_group: rg-keyvault       # where the vault "lives" (its resource id, RBAC messages)
        location: westeurope
        subscription: <id>                # default: the default subscription
        tenant: <id>                      # default: the first principal's tenant
        soft_delete_retention_days: 90    # 7-90
        role_assignments:                 # RBAC on the vault; ARM roles grant no data actions
          - {principal: default, role: Key Vault Secrets Officer}
          - {principal: <client or object id>, data_actions: [Microsoft.KeyVault/vaults/secrets/getSecret/action]}
        secrets:                          # each entry adds a version (repeat a name for more)
          - {name: seeded, value: "...", content_type: password, tags: {state: active}, enabled: true}
"""

from __future__ import annotations

import uuid

from .kv_model import (DATA_ROLES, MAX_TAGS, SECRET_NAME_RE, VAULT_NAME_RE, Assignment, Secret, SecretVersion,
                       Vault, new_version_id, role_actions)

VAULT_KEYS = {"name", "resource_group", "location", "subscription", "tenant", "soft_delete_retention_days",
              "role_assignments", "secrets"}
ASSIGNMENT_KEYS = {"principal", "role", "data_actions"}
SECRET_KEYS = {"name", "value", "content_type", "tags", "enabled"}


def _require(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ValueError(f"{where}: {message}")


def _keys(data, allowed: set, where: str) -> None:
    _require(isinstance(data, dict), where, "must be a mapping")
    unknown = set(data) - allowed
    _require(not unknown, where, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


def validate_assignment(spec, where: str) -> None:
    _keys(spec, ASSIGNMENT_KEYS, where)
    _require(bool(spec.get("principal")), where, "needs a principal (name, client id or object id)")
    _require(bool(spec.get("role")) != bool(spec.get("data_actions")), where, "give either a role or data_actions")
    if spec.get("role"):
        _require(str(spec["role"]).lower() in DATA_ROLES, f"{where}.role",
                 f"{spec['role']!r} is not one of {sorted(r.title() for r in DATA_ROLES)}")
    else:
        actions = spec["data_actions"]
        _require(isinstance(actions, list) and all(isinstance(a, str) for a in actions), f"{where}.data_actions",
                 "must be a list of data actions")


def validate_secret(spec, where: str) -> None:
    _keys(spec, SECRET_KEYS, where)
    _require(isinstance(spec.get("name"), str) and bool(SECRET_NAME_RE.match(spec["name"])), f"{where}.name",
             "1-127 letters, digits and dashes")
    _require(isinstance(spec.get("value"), str), f"{where}.value", "needs a string value")
    tags = spec.get("tags") or {}
    _require(isinstance(tags, dict) and len(tags) <= MAX_TAGS, f"{where}.tags", f"a mapping of at most {MAX_TAGS}")


def validate_vault(spec, where: str) -> None:
    _keys(spec, VAULT_KEYS, where)
    _require(isinstance(spec.get("name"), str) and bool(VAULT_NAME_RE.match(spec["name"])), f"{where}.name",
             "3-24 letters, digits and dashes, starting with a letter, ending with a letter or digit, no '--'")
    days = spec.get("soft_delete_retention_days", 90)
    _require(isinstance(days, int) and 7 <= days <= 90, f"{where}.soft_delete_retention_days", "7 to 90 days")
    for i, assignment in enumerate(spec.get("role_assignments") or []):
        validate_assignment(assignment, f"{where}.role_assignments[{i}]")
    for i, secret in enumerate(spec.get("secrets") or []):
        validate_secret(secret, f"{where}.secrets[{i}]")


def validate_key_vaults(specs) -> None:
    _require(isinstance(specs or [], list), "key_vaults", "must be a list of vaults")
    names = [str(s.get("name", "")).lower() for s in specs or [] if isinstance(s, dict)]
    _require(len(names) == len(set(names)), "key_vaults", "vault names must be unique")
    for i, spec in enumerate(specs or []):
        validate_vault(spec, f"key_vaults[{i}]")


# --- seeding ----------------------------------------------------------------------------------------

def find_principal(store, ref: str):
    """A principal by name, client id or object id (the managed identity included)."""
    ref = str(ref).lower()
    candidates = list(store.principals.values()) + ([store.msi] if store.msi else [])
    for principal in candidates:
        if ref in (principal.name.lower(), principal.client_id.lower(), principal.object_id.lower()):
            return principal
    raise ValueError(f"no principal {ref!r} (give a name, client id or object id)")


def add_assignment(store, vault: Vault, spec: dict) -> Assignment:
    validate_assignment(spec, "role_assignment")
    principal = find_principal(store, spec["principal"])
    role = spec.get("role")
    assignment = Assignment(principal.object_id, role, role_actions(role) if role else list(spec["data_actions"]))
    vault.assignments.append(assignment)
    return assignment


def add_secret_version(vault: Vault, spec: dict) -> tuple[Secret, SecretVersion]:
    """A seeded version, exactly as a PUT would make it (a soft-deleted name refuses, as Key Vault does)."""
    validate_secret(spec, "secret")
    secret = vault.secrets.get(spec["name"].lower())
    if secret is not None and secret.deleted_at is not None:
        raise ValueError(f"secret {spec['name']!r} is soft-deleted; purge or recover it first")
    if secret is None:
        secret = vault.secrets[spec["name"].lower()] = Secret(spec["name"])
    version = SecretVersion(new_version_id(), spec["value"], spec.get("content_type"), dict(spec.get("tags") or {}),
                            enabled=bool(spec.get("enabled", True)))
    secret.versions[version.version] = version
    return secret, version


def default_tenant(store) -> str:
    principal = next(iter(store.principals.values()), None) or store.msi
    if principal is None:
        raise ValueError("no principals yet: a vault needs a tenant")
    return principal.tenant


def create_vault(store, spec: dict) -> Vault:
    validate_vault(spec, "key_vault")
    subscription = spec.get("subscription") or store.default_subscription
    if subscription is None:   # a fleet with vaults only: the vault's subscription becomes the default one
        subscription = store.default_subscription = store.add_subscription(str(uuid.uuid4())).id
    vault = Vault(name=spec["name"], subscription=str(subscription),
                  resource_group=spec.get("resource_group", "rg-keyvault"), location=spec.get("location", "westeurope"),
                  tenant=str(spec.get("tenant") or default_tenant(store)),
                  retention_days=int(spec.get("soft_delete_retention_days", 90)))
    store.key_vaults.add(vault)
    try:
        for assignment in spec.get("role_assignments") or []:
            add_assignment(store, vault, assignment)
        for secret in spec.get("secrets") or []:
            add_secret_version(vault, secret)
    except ValueError:
        store.key_vaults.vaults.pop(vault.name.lower(), None)   # all or nothing
        raise
    return vault


def seed_key_vaults(store, specs) -> int:
    for spec in specs or []:
        create_vault(store, spec)
    return len(specs or [])


def vault_summary(vault: Vault) -> dict:
    """What the control API shows of a vault: never a secret value."""
    live = [s for s in vault.secrets.values() if s.deleted_at is None]
    return {"name": vault.name, "url": vault.url, "resource_id": vault.resource_id, "location": vault.location,
            "tenant": vault.tenant, "soft_delete_retention_days": vault.retention_days,
            "secrets": sorted(s.name for s in live),
            "deleted_secrets": sorted(s.name for s in vault.secrets.values() if s.deleted_at is not None),
            "role_assignments": [{"principal_object_id": a.principal_object_id, "role": a.role,
                                  "data_actions": a.data_actions} for a in vault.assignments]}
