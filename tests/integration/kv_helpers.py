"""Key Vault for the end-to-end tests: a vault in the emulator, what it holds (values only through the control
API), and the consistency every test checks after every run."""

from __future__ import annotations

import time
import uuid

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import password_rotation as rot

from .fleet_helpers import OLD_PASSWORD, RG


class VaultView:
    def __init__(self, emulator, sub, name=None):
        self.emulator, self.control, self.sub = emulator, emulator.control, sub
        self.name = name or "kv-%s" % uuid.uuid4().hex[:10]
        self.control.add_fleet({"key_vaults": [{"name": self.name, "role_assignments": [
            {"principal": "default", "role": "Key Vault Secrets Officer"}]}]})
        self.url = "https://%s.%s" % (self.name, emulator.info["key_vault_dns_suffix"])

    def secret_of(self, vm):
        return rot.secret_name(VmRef(self.sub, RG, vm).id)

    def seed_active(self, vm, days_old, password=OLD_PASSWORD):
        ref = VmRef(self.sub, RG, vm)
        self.control.set_key_vault_secret(self.name, rot.secret_name(ref.id), password, content_type="password",
                                          tags={"vm_id": ref.id, "username": "azureadmin", "run_tag": "SEED",
                                                "state": "active", "set_at": rot.stamp(time.time() - days_old * 86400)})

    def versions(self, vm):
        """Oldest first, with values."""
        try:
            found = self.control.key_vault_secret(self.name, self.secret_of(vm))
        except Exception:  # no such secret yet
            return []
        return sorted(found["versions"], key=lambda v: (v["created"], (v["tags"] or {}).get("set_at", "")))

    def states(self, vm):
        return [(v["tags"] or {}).get("state") for v in self.versions(vm)]

    def values(self):
        """Every password value the vault holds (to search everything else for)."""
        out = []
        for vault in self.control.key_vaults()["vaults"]:
            if vault["name"] == self.name:
                for secret in vault["secrets"]:
                    name = secret if isinstance(secret, str) else secret["name"]
                    out += [v["value"] for v in self.control.key_vault_secret(self.name, name)["versions"]]
        return out

    def works(self, vm, password):
        self.control.vm(self.sub, RG, vm)  # a control read completes the operations past their end first
        return self.control.verify_password(self.sub, RG, vm, "azureadmin", password)

    def assert_consistent(self, vm):
        """The newest active version is the guest's password; nothing before it was lost (versions only grow)."""
        actives = [v for v in self.versions(vm) if (v["tags"] or {}).get("state") == "active"]
        assert actives, (vm, self.states(vm))
        assert self.works(vm, actives[-1]["value"]), (vm, self.states(vm))
        return actives[-1]

    def log(self, since=0):
        return [r for r in self.control.requests(since=since) if r["kind"] == "keyvault" and r["vault"] == self.name]

    def writes(self, since=0):
        return [r for r in self.log(since) if r["method"] in ("PUT", "PATCH", "DELETE") and r["status"] != 401]


def arm_requests(emulator, since=0, vm=None):
    return [r for r in emulator.control.requests(since=since) if r["kind"] in ("read", "write", "operation")
            and (vm is None or (r["vm"] or "") == vm)]


def extension_puts(emulator, vm, since=0):
    return [r for r in emulator.control.requests(since=since) if r["method"] == "PUT" and "/extensions/" in r["path"]
            and (r["vm"] or "") == vm]


def last_seq(emulator):
    found = emulator.control.requests()
    return found[-1]["seq"] if found else 0
