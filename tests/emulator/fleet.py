"""Fleet files: principals, subscriptions, resource groups and VMs (with count expansion and
per-field distributions), validated with clear errors and seeded into the store.

A distribution is a mapping ``{value: weight}`` on the fields listed in DISTRIBUTED; the
top-level ``seed`` makes sampling reproducible.
"""

from __future__ import annotations

import random
import secrets
import uuid
from pathlib import Path
from typing import Any

import yaml

from .agent import AGENT_ALIASES, AGENT_STATES, set_agent
from .guest import Account, Guest, hash_password
from .handlers import major_minor, seeded_build
from .kv_fleet import seed_key_vaults, validate_key_vaults
from .model import VM, Extension, Principal, ResourceGroup, secret_digest
from .network import make_rg_network, set_nic_nsg, validate_network_spec, validate_nsg_spec
from .rdp_spec import RDP_KEYS, seed_rdp, validate_rdp_spec
from .runcommand import vm_run_command

DEMO_FLEET = Path(__file__).with_name("fleets") / "demo.yml"
DISTRIBUTED = ("os", "power_state", "agent", "rdp", "failure_mode", "vmaccess_user_mode", "size")
POWER_STATES = ("starting", "running", "stopping", "stopped", "deallocating", "deallocated")
AGENT_CHOICES = AGENT_STATES + tuple(AGENT_ALIASES)     # "down" is "not_ready"
FAILURE_MODES = ("none", "domain_controller", "firewall_service_stopped")
SEEDED_STATUS_TIME = "2025-11-02T09:14:07.1234567+00:00"   # "months ago", for seeded extension statuses
IMAGES = {
    "Windows": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-azure-edition",
                "version": "latest"},
    "Linux": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
              "version": "latest"},
}
VM_KEYS = {"name", "count", "start", "os", "size", "location", "admin_username", "computer_name", "power_state",
           "agent", "allow_extension_operations", "rdp", "rdp_enabled", "firewall_rule_enabled", "rdp_port",
           "firewall_service_running", "domain_controller", "password_policy", "vmaccess_user_mode", "failure_mode",
           "failure_message", "accounts", "extension", "extensions", "extension_duration_s", "agent_ready_after_s",
           "agent_timeout_s", "agent_down_since_s", "tags", "image", "nsg", "run_command_duration_s",
           "nic_resource_group"} | RDP_KEYS
TOP_KEYS = {"seed", "time_scale", "principals", "subscriptions", "resource_groups", "defaults", "page_size",
            "key_vaults"}


class FleetError(ValueError):
    pass


def load_fleet(source: str | Path | dict | None) -> dict:
    """Read (YAML/JSON file or dict) and validate a fleet; returns the normalised dict."""
    if source is None:
        source = DEMO_FLEET
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FleetError(f"fleet file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise FleetError(f"{path}: not valid YAML: {exc}") from None
    else:
        data = dict(source)
    _validate(data)
    return data


def _require(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise FleetError(f"{where}: {message}")


def _check_keys(data: dict, allowed: set, where: str) -> None:
    _require(isinstance(data, dict), where, "must be a mapping")
    unknown = set(data) - allowed
    _require(not unknown, where, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


def _check_choice(value: Any, choices: tuple, where: str) -> None:
    values = list(value) if isinstance(value, dict) else [value]
    if isinstance(value, dict):
        _require(all(isinstance(w, (int, float)) and w >= 0 for w in value.values()) and sum(value.values()) > 0,
                 where, "a distribution needs non-negative numeric weights with a positive sum")
    for v in values:
        _require(str(v).lower() in choices or (choices is FAILURE_MODES and str(v).startswith("message:")),
                 where, f"{v!r} is not one of {list(choices)}")


def _validate(data: dict) -> None:
    _check_keys(data, TOP_KEYS, "fleet")
    for i, p in enumerate(data.get("principals") or []):
        where = f"principals[{i}]"
        _check_keys(p, {"name", "tenant", "client_id", "object_id", "secret", "role", "roles", "actions", "kind"}, where)
        _require(p.get("kind", "sp") in ("sp", "msi"), where, "kind must be 'sp' or 'msi'")
        _require(not (p.get("actions") and (p.get("role") or p.get("roles"))), where,
                 "give either a role/roles or a custom 'actions' list, not both")
    subs = list(data.get("subscriptions") or [])
    if data.get("resource_groups"):
        subs.append({"resource_groups": data["resource_groups"]})
    for si, sub in enumerate(subs):
        _check_keys(sub, {"id", "name", "resource_groups"}, f"subscriptions[{si}]")
        for ri, rg in enumerate(sub.get("resource_groups") or []):
            where = f"subscriptions[{si}].resource_groups[{ri}]"
            _check_keys(rg, {"name", "location", "tags", "vms", "network"}, where)
            _require(bool(rg.get("name")), where, "needs a name")
            if "network" in rg:
                _check_with(lambda: validate_network_spec(rg["network"]), where)
            for vi, spec in enumerate(rg.get("vms") or []):
                _validate_vm({**(data.get("defaults") or {}), **spec}, f"{where}.vms[{vi}]")
    try:
        validate_key_vaults(data.get("key_vaults"))
    except ValueError as exc:
        raise FleetError(str(exc)) from None


def _check_with(check, where: str) -> None:
    """Run a module's validator and report its ValueError ('field: why') under the fleet path."""
    try:
        check()
    except ValueError as exc:
        raise FleetError(f"{where}: {exc}") from None


def _validate_vm(spec: dict, where: str) -> None:
    _check_keys(spec, VM_KEYS, where)
    _check_with(lambda: validate_rdp_spec(spec), where)
    if "nsg" in spec:
        _check_with(lambda: validate_nsg_spec(spec["nsg"]), where)
    duration = spec.get("run_command_duration_s")
    _require(duration is None or (isinstance(duration, (int, float)) and duration >= 0), where,
             "run_command_duration_s must be a number of seconds")
    _require(isinstance(spec.get("name"), str) and spec["name"], where, "needs a name (pattern like 'web-{i:03d}')")
    _require(spec.get("nic_resource_group") is None or (isinstance(spec["nic_resource_group"], str)
                                                        and spec["nic_resource_group"]), where,
             "nic_resource_group must be a resource group name")
    count = spec.get("count", 1)
    _require(isinstance(count, int) and count >= 0, where, "count must be a non-negative integer")
    if count > 1:
        _require("{" in spec["name"], where, "a name pattern with {i} is needed when count > 1")
    _check_choice(spec.get("os", "windows"), ("windows", "linux"), f"{where}.os")
    _check_choice(spec.get("power_state", "running"), POWER_STATES, f"{where}.power_state")
    _check_choice(spec.get("agent", "ready"), AGENT_CHOICES, f"{where}.agent")
    _check_choice(spec.get("rdp", "ok"), ("ok", "broken"), f"{where}.rdp")
    _check_choice(spec.get("failure_mode", "none"), FAILURE_MODES, f"{where}.failure_mode")
    _check_choice(spec.get("vmaccess_user_mode", "add"), ("add", "rename"), f"{where}.vmaccess_user_mode")
    duration = spec.get("extension_duration_s")
    if isinstance(duration, list):
        _require(len(duration) == 2 and all(isinstance(x, (int, float)) for x in duration) and duration[0] <= duration[1],
                 f"{where}.extension_duration_s", "a range is [low, high]")
    extra = spec.get("extensions") or []
    _require(isinstance(extra, list), f"{where}.extensions", "must be a list of extension specs")
    for ei, ext in enumerate([spec.get("extension")] + list(extra)):
        if not isinstance(ext, dict):
            continue
        where_ext = f"{where}.extension" if ei == 0 else f"{where}.extensions[{ei - 1}]"
        _check_keys(ext, {"name", "version", "type_handler_version", "force_update_tag", "settings",
                          "protected_settings", "state", "message", "probability", "auto_upgrade_minor_version",
                          "publisher", "type", "time"}, where_ext)
        _require(ext.get("state", "Succeeded") in ("Succeeded", "Failed"), f"{where_ext}.state",
                 "must be Succeeded or Failed")
    for ai, acc in enumerate(spec.get("accounts") or []):
        _check_keys(acc, {"name", "admin", "enabled", "password"}, f"{where}.accounts[{ai}]")
        _require(bool(acc.get("name")), f"{where}.accounts[{ai}]", "needs a name")


# --- seeding ---------------------------------------------------------------------------------

def _pick(value: Any, rng: random.Random) -> Any:
    """A scalar, or a sample from a {value: weight} distribution."""
    if isinstance(value, dict) and value and all(isinstance(w, (int, float)) for w in value.values()):
        choices, weights = zip(*value.items())
        return rng.choices(choices, weights=weights)[0]
    return value


def make_principal(spec: dict, default_tenant: str) -> tuple[Principal, str | None]:
    """A principal from its spec; returns it and its plaintext secret (for env files only)."""
    kind = spec.get("kind", "sp")
    secret = None if kind == "msi" else str(spec.get("secret") or "emu~" + secrets.token_urlsafe(30))
    roles = {str(k).lower(): v for k, v in (spec.get("roles") or {}).items()}
    if not roles and not spec.get("actions"):
        roles = {"*": spec.get("role", "Contributor")}
    principal = Principal(name=spec.get("name") or kind, tenant=str(spec.get("tenant") or default_tenant),
                          client_id=str(spec.get("client_id") or uuid.uuid4()),
                          object_id=str(spec.get("object_id") or uuid.uuid4()),
                          secret_digest=secret_digest(secret) if secret else None, roles=roles,
                          actions=list(spec["actions"]) if spec.get("actions") else None, kind=kind)
    return principal, secret


class FleetSeeder:
    def __init__(self, store):
        self.store = store

    def seed(self, fleet: dict) -> dict:
        """Add a validated fleet to the store; returns counts and the plaintext secrets it created."""
        store = self.store
        rng = random.Random(fleet.get("seed", 0))
        created_secrets: dict[str, str] = {}
        default_tenant = next(iter(store.tenants), None) or str(uuid.uuid4())
        for spec in fleet.get("principals") or []:
            principal, secret = make_principal(spec, default_tenant)
            store.add_principal(principal)
            if secret:
                created_secrets[principal.name] = secret
        subs = list(fleet.get("subscriptions") or [])
        if fleet.get("resource_groups"):
            subs.append({"resource_groups": fleet["resource_groups"]})
        vm_total = 0
        for sub_spec in subs:
            sub_id = str(sub_spec.get("id") or store.default_subscription or uuid.uuid4())
            if store.default_subscription is None:
                store.default_subscription = sub_id
            sub = store.add_subscription(sub_id, sub_spec.get("name"))
            for rg_spec in sub_spec.get("resource_groups") or []:
                rg = sub.resource_groups.get(rg_spec["name"].lower())
                if rg is None:
                    rg = ResourceGroup(name=rg_spec["name"], location=rg_spec.get("location", "westeurope"),
                                       tags=dict(rg_spec.get("tags") or {}))
                    sub.resource_groups[rg.name.lower()] = rg
                if "network" in rg_spec:   # else the defaults, made on first use (network.rg_network)
                    rg.network = make_rg_network(rg, rg_spec["network"])
                for vm_spec in rg_spec.get("vms") or []:
                    spec = {**(fleet.get("defaults") or {}), **vm_spec}
                    start = int(spec.get("start", 1))
                    for i in range(start, start + int(spec.get("count", 1))):
                        vm = self._make_vm(sub.id, rg, spec, i, rng)
                        rg.vms[vm.name.lower()] = vm
                        vm_total += 1
            self._add_nic_groups(sub)
        try:   # after the principals and subscriptions their role assignments and ids refer to
            vaults = seed_key_vaults(store, fleet.get("key_vaults"))
        except ValueError as exc:
            raise FleetError(str(exc)) from None
        return {"vms_added": vm_total, "vms_total": store.vm_count(), "secrets": created_secrets,
                "key_vaults_added": vaults}

    @staticmethod
    def _add_nic_groups(sub) -> None:
        """A resource group that holds NICs of VMs elsewhere (``nic_resource_group``) exists, empty if the
        fleet does not define it."""
        for rg in list(sub.resource_groups.values()):
            for vm in rg.vms.values():
                name = vm.nic_resource_group
                if name and name.lower() not in sub.resource_groups:
                    sub.resource_groups[name.lower()] = ResourceGroup(name=name, location=rg.location)

    def _make_vm(self, sub_id: str, rg: ResourceGroup, spec: dict, i: int, rng: random.Random) -> VM:
        name = spec["name"].format(i=i) if "{" in spec["name"] else spec["name"]
        os_type = "Linux" if str(_pick(spec.get("os", "windows"), rng)).lower() == "linux" else "Windows"
        admin = spec.get("admin_username", "azureadmin")
        agent = str(_pick(spec.get("agent", "ready"), rng)).lower()
        vm = VM(subscription=sub_id, resource_group=rg.name, name=name, location=spec.get("location", rg.location),
                vm_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), os_type=os_type,
                size=str(_pick(spec.get("size", "Standard_D2s_v5"), rng)), admin_username=admin,
                computer_name=spec.get("computer_name") or name[:15],
                image=dict(spec.get("image") or IMAGES[os_type]),
                power_state=str(_pick(spec.get("power_state", "running"), rng)).lower(),
                allow_extension_operations=bool(spec.get("allow_extension_operations", True)),
                tags=dict(spec.get("tags") or {}), extension_duration_s=spec.get("extension_duration_s"),
                agent_ready_after_s=spec.get("agent_ready_after_s"), agent_timeout_s=spec.get("agent_timeout_s"),
                agent_down_since_s=spec.get("agent_down_since_s"), created_at=self.store.clock.now(),
                nic_resource_group=spec.get("nic_resource_group"),
                rng=random.Random(rng.getrandbits(64)), fingerprint_key=secrets.token_bytes(16))
        set_agent(self.store, vm, agent)
        vm.guest = self._make_guest(spec, admin, rng)
        seed_rdp(vm.guest, {k: v for k, v in spec.items() if k in RDP_KEYS}, rng, vm.vm_id)
        if spec.get("nsg") is not None:
            set_nic_nsg(rg, vm, spec["nsg"])
        if spec.get("run_command_duration_s") is not None:
            vm_run_command(vm).duration_s = float(spec["run_command_duration_s"])
        ext_spec = _pick(spec.get("extension"), rng)
        if isinstance(ext_spec, dict) and rng.random() < float(ext_spec.get("probability", 1.0)):
            ext = make_extension(vm, ext_spec)
            vm.extensions[ext.name.lower()] = ext
        for extra_spec in spec.get("extensions") or []:   # more extensions (any handler), always present
            ext = make_extension(vm, extra_spec)
            vm.extensions[ext.name.lower()] = ext
        return vm

    @staticmethod
    def _make_guest(spec: dict, admin: str, rng: random.Random) -> Guest:
        policy = spec.get("password_policy") or {}
        guest = Guest(rdp_port=int(spec.get("rdp_port", 3389)),
                      firewall_service_running=bool(spec.get("firewall_service_running", True)),
                      domain_controller=bool(spec.get("domain_controller", False)),
                      min_password_length=int(policy.get("min_length", 8)),
                      password_complexity=bool(policy.get("complexity", True)),
                      vmaccess_user_mode=str(_pick(spec.get("vmaccess_user_mode", "add"), rng)).lower(),
                      failure_message=spec.get("failure_message"))
        broken = str(_pick(spec.get("rdp", "ok"), rng)).lower() == "broken"
        guest.rdp_enabled = bool(spec.get("rdp_enabled", not broken))
        guest.firewall_rule_enabled = bool(spec.get("firewall_rule_enabled", not broken))
        mode = str(_pick(spec.get("failure_mode", "none"), rng))
        if mode == "domain_controller":
            guest.domain_controller = True
        elif mode == "firewall_service_stopped":
            guest.firewall_service_running = False
        elif mode.startswith("message:"):
            guest.failure_message = mode[len("message:"):].strip()
        guest.add_account(Account(name=admin, admin=True, enabled=True, builtin=True))
        for acc in spec.get("accounts") or []:
            account = Account(name=acc["name"], admin=bool(acc.get("admin", True)),
                              enabled=bool(acc.get("enabled", True)))
            if acc.get("password"):
                account.salt, account.password_hash = hash_password(str(acc["password"]))
            guest.add_account(account)
        return guest


def make_extension(vm: VM, spec: dict) -> Extension:
    """An extension already on the VM (e.g. a VMAccess run from months ago); its status has a time."""
    from .extensions import protected_fingerprint
    failed = spec.get("state", "Succeeded") == "Failed"
    message = spec.get("message") or ("Enable failed." if failed else
                                      "Succesfully updated Admin account and enabled Remote Desktop Connection.")
    publisher = spec.get("publisher", "Microsoft.Compute" if vm.os_type == "Windows" else "Microsoft.OSTCExtensions")
    ext_type = spec.get("type", "VMAccessAgent" if vm.os_type == "Windows" else "VMAccessForLinux")
    build = seeded_build(publisher, ext_type, str(spec.get("version", "2.4.11")))
    return Extension(
        name=spec.get("name", "enablevmaccess"), publisher=publisher, type=ext_type,
        type_handler_version=str(spec.get("type_handler_version") or major_minor(build)),
        reported_version=build, location=vm.location,
        auto_upgrade_minor_version=spec.get("auto_upgrade_minor_version", True),
        force_update_tag=None if spec.get("force_update_tag") is None else str(spec["force_update_tag"]),
        settings=dict(spec.get("settings") or {}),
        protected_fingerprint=protected_fingerprint(vm, spec.get("protected_settings") or {}),
        provisioning_state="Failed" if failed else "Succeeded",
        statuses=[{"code": "ProvisioningState/failed/0" if failed else "ProvisioningState/succeeded",
                   "level": "Error" if failed else "Info",
                   "displayStatus": "Provisioning failed" if failed else "Provisioning succeeded",
                   "message": message, "time": str(spec.get("time") or SEEDED_STATUS_TIME)}])
