"""Control API under /_emulator/ (same HTTPS port): needs ``x-emulator-key``; ARM tokens do not work."""

from __future__ import annotations

import hmac
import os
import time

from aiohttp import web

from .agent import normalize_agent, set_agent
from .control_extras import EXTRA_FIELDS, extras_state, patch_extras, validate_extras, vm_started
from .errors import ArmError, json_response
from .fleet import FleetError, FleetSeeder, load_fleet, make_principal
from .guest import Account, hash_password
from .model import VM

GUEST_FIELDS = {"rdp_enabled": bool, "rdp_port": int, "firewall_rule_enabled": bool,
                "firewall_service_running": bool, "domain_controller": bool, "min_password_length": int,
                "password_complexity": bool, "vmaccess_user_mode": str, "failure_message": (lambda v: v)}
VM_FIELDS = {"power_state", "agent", "agent_ready_after_s", "agent_timeout_s", "agent_down_since_s",
             "allow_extension_operations", "extension_duration_s", "tags", "guest", "failure_mode", "accounts",
             "password_policy"}


def _bad(message: str, status: int = 400) -> web.Response:
    return json_response({"error": message}, status=status)


@web.middleware
async def require_key(request: web.Request, handler):
    if request.path.startswith("/_emulator/"):
        key = request.app["control_key"]
        given = request.headers.get("x-emulator-key", "")
        if not hmac.compare_digest(given.encode(), key.encode()):
            return _bad("missing or wrong x-emulator-key header", 401)
        try:
            return await handler(request)
        except ArmError as exc:
            return json_response(exc.body(), status=exc.status)
        except (ValueError, FleetError, KeyError, TypeError) as exc:
            return _bad(f"{type(exc).__name__}: {exc}")
    return await handler(request)


async def _json(request: web.Request) -> dict:
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def vm_state(store, vm: VM) -> dict:
    store.extensions.settle_vm(vm)
    now = store.clock.now()
    extensions = []
    for ext in vm.extensions.values():
        op = store.operations.get(ext.pending_op) if ext.pending_op else None
        extensions.append({
            "name": ext.name, "publisher": ext.publisher, "type": ext.type,
            "type_handler_version": ext.type_handler_version, "reported_version": ext.reported_version,
            "auto_upgrade_minor_version": ext.auto_upgrade_minor_version, "force_update_tag": ext.force_update_tag,
            "settings": ext.settings, "provisioning_state": ext.provisioning_state, "statuses": ext.statuses,
            "pending_operation": {"id": op.id, "kind": op.kind, "status": op.status,
                                  "never_finish": op.never_finish} if op else None})
    return {
        "subscription": vm.subscription, "resource_group": vm.resource_group, "name": vm.name, "id": vm.resource_id,
        "vm_id": vm.vm_id, "location": vm.location, "os_type": vm.os_type, "size": vm.size,
        "admin_username": vm.admin_username, "power_state": vm.power_state, "agent": vm.agent,
        "agent_ready_in_s": (max(0.0, vm.agent_ready_at - now) if vm.agent == "starting" and vm.agent_ready_at
                             else None),
        "allow_extension_operations": vm.allow_extension_operations,
        "extension_duration_s": vm.extension_duration_s, "extensions": extensions, "guest": vm.guest.to_dict(),
        "run_count": vm.run_count, "run_history": vm.run_history, **extras_state(store, vm),
    }


def patch_vm(store, vm: VM, changes: dict) -> None:
    unknown = set(changes) - VM_FIELDS - set(GUEST_FIELDS) - EXTRA_FIELDS
    if unknown:
        allowed = sorted(VM_FIELDS | set(GUEST_FIELDS) | EXTRA_FIELDS)
        raise ValueError(f"unknown VM fields {sorted(unknown)}; allowed: {allowed}")
    validate_extras(changes)
    store.extensions.settle_vm(vm)
    guest_changes = dict(changes.get("guest") or {})
    guest_changes.update({k: v for k, v in changes.items() if k in GUEST_FIELDS})
    if "password_policy" in changes:
        policy = changes["password_policy"] or {}
        guest_changes.update({"min_password_length": policy.get("min_length", vm.guest.min_password_length),
                              "password_complexity": policy.get("complexity", vm.guest.password_complexity)})
    mode = changes.get("failure_mode")
    if mode is not None:
        guest_changes.setdefault("domain_controller", mode == "domain_controller")
        guest_changes.setdefault("firewall_service_running", mode != "firewall_service_stopped")
        guest_changes.setdefault("failure_message", mode[len("message:"):].strip() if mode.startswith("message:")
                                 else None)
    for key, value in guest_changes.items():
        if key == "accounts":
            continue
        if key not in GUEST_FIELDS:
            raise ValueError(f"unknown guest field {key!r}; allowed: {sorted(GUEST_FIELDS)}")
        setattr(vm.guest, key, GUEST_FIELDS[key](value) if value is not None else None)
    for acc in list(changes.get("accounts") or []) + list(guest_changes.get("accounts") or []):
        account = vm.guest.account(acc["name"]) or Account(name=acc["name"])
        vm.guest.add_account(account)
        account.admin = bool(acc.get("admin", account.admin))
        account.enabled = bool(acc.get("enabled", account.enabled))
        if acc.get("password"):
            account.salt, account.password_hash = hash_password(str(acc["password"]))
    for key in ("agent_ready_after_s", "agent_timeout_s", "agent_down_since_s", "extension_duration_s", "tags"):
        if key in changes:
            setattr(vm, key, changes[key])
    if "allow_extension_operations" in changes:
        vm.allow_extension_operations = bool(changes["allow_extension_operations"])
    patch_extras(store, vm, changes)
    _patch_power_and_agent(store, vm, changes)


def _patch_power_and_agent(store, vm: VM, changes: dict) -> None:
    """A VM that just started has an agent that is not ready yet; one that stopped stops reporting."""
    agent = normalize_agent(changes["agent"]) if "agent" in changes else None
    was_running = vm.power_state == "running"
    if "power_state" in changes:
        vm.power_state = str(changes["power_state"])
        if vm.power_state == "running" and not was_running:
            vm_started(vm)
        if vm.power_state == "running" and not was_running and agent is None and vm.agent != "not_ready":
            agent = "starting"
        if was_running and vm.power_state != "running":
            vm.agent_last_report = store.clock.now()
    if agent is not None:
        set_agent(store, vm, agent)
    elif "agent_down_since_s" in changes and vm.agent == "not_ready":
        set_agent(store, vm, "not_ready")


class ControlApi:
    def __init__(self, store, initial_fleet: dict | None):
        self.store = store
        self.initial_fleet = initial_fleet
        self.started = time.time()

    def _vm(self, request) -> VM:
        m = request.match_info
        return self.store.vm(m["sub"], m["rg"], m["vm"])

    async def health(self, request):
        return json_response({"status": "ok", "pid": os.getpid(), "uptime_s": round(time.time() - self.started, 3),
                              "vms": self.store.vm_count(), "time_scale": self.store.config.time_scale})

    async def reset(self, request):
        body = await _json(request)
        fleet = self.initial_fleet if body.get("initial") else body.get("fleet")
        fleet = load_fleet(fleet) if fleet else None
        self.store.clear()
        result = FleetSeeder(self.store).seed(fleet) if fleet else {"vms_added": 0, "vms_total": 0, "secrets": {}}
        return json_response(result)

    async def add_fleet(self, request):
        body = await _json(request)
        return json_response(FleetSeeder(self.store).seed(load_fleet(body.get("fleet", body))))

    async def requests(self, request):
        since = int(request.query.get("since", 0))
        limit = int(request.query["limit"]) if "limit" in request.query else None
        return json_response(self.store.log.since(since, limit))

    async def clear_requests(self, request):
        self.store.log.clear()
        return json_response({"cleared": True, "last_seq": self.store.log.last_seq})

    async def counters(self, request):
        data = self.store.log.summary(self.store.counters)
        data["throttled_by_emulator"] = self.store.throttler.throttled_count
        data.update({key: self.store.counters[key] for key in ("run_commands", "run_command_runs")})
        return json_response(data)

    async def list_vms(self, request):
        for sub in self.store.subscriptions.values():   # operations past their end complete first
            for vm in self.store.all_vms(sub.id):
                self.store.extensions.settle_vm(vm)
        return json_response([{"subscription": vm.subscription, "resource_group": vm.resource_group, "name": vm.name,
                               "os_type": vm.os_type, "power_state": vm.power_state, "agent": vm.agent,
                               "run_count": vm.run_count}
                              for sub in self.store.subscriptions.values() for vm in self.store.all_vms(sub.id)])

    async def get_vm(self, request):
        return json_response(vm_state(self.store, self._vm(request)))

    async def patch_vm(self, request):
        vm = self._vm(request)
        patch_vm(self.store, vm, await _json(request))
        return json_response(vm_state(self.store, vm))

    async def verify_password(self, request):
        body = await _json(request)
        account = self._vm(request).guest.account(str(body.get("username", "")))
        ok = account is not None and account.enabled and account.check(str(body.get("password", "")))
        return json_response({"valid": bool(ok), "account_exists": account is not None,
                              "enabled": bool(account and account.enabled)})

    async def faults(self, request):
        return json_response(self.store.faults.to_list())

    async def add_fault(self, request):
        return json_response(self.store.faults.add(await _json(request)).to_dict(), status=201)

    async def clear_faults(self, request):
        self.store.faults.clear()
        return json_response({"cleared": True})

    async def delete_fault(self, request):
        if not self.store.faults.remove(request.match_info["id"]):
            return _bad("no such fault", 404)
        return json_response({"deleted": request.match_info["id"]})

    async def principals(self, request):
        items = list(self.store.principals.values()) + ([self.store.msi] if self.store.msi else [])
        return json_response([p.to_dict() for p in items])

    async def add_principal(self, request):
        body = await _json(request)
        tenant = body.get("tenant") or next(iter(self.store.tenants), None)
        principal, secret = make_principal(body, tenant)
        self.store.add_principal(principal)
        return json_response({**principal.to_dict(), "secret": secret}, status=201)

    async def expire_tokens(self, request):
        return json_response({"expired": self.store.expire_tokens()})

    async def get_config(self, request):
        return json_response(self.store.config.to_dict())

    async def patch_config(self, request):
        self.store.apply_config(await _json(request))
        return json_response(self.store.config.to_dict())

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/_emulator/health", self.health)
        r.add_post("/_emulator/reset", self.reset)
        r.add_post("/_emulator/fleet", self.add_fleet)
        r.add_get("/_emulator/requests", self.requests)
        r.add_delete("/_emulator/requests", self.clear_requests)
        r.add_get("/_emulator/counters", self.counters)
        r.add_get("/_emulator/vms", self.list_vms)
        r.add_get("/_emulator/vms/{sub}/{rg}/{vm}", self.get_vm)
        r.add_patch("/_emulator/vms/{sub}/{rg}/{vm}", self.patch_vm)
        r.add_post("/_emulator/vms/{sub}/{rg}/{vm}/verify-password", self.verify_password)
        r.add_get("/_emulator/faults", self.faults)
        r.add_post("/_emulator/faults", self.add_fault)
        r.add_delete("/_emulator/faults", self.clear_faults)
        r.add_delete("/_emulator/faults/{id}", self.delete_fault)
        r.add_get("/_emulator/principals", self.principals)
        r.add_post("/_emulator/principals", self.add_principal)
        r.add_post("/_emulator/tokens/expire", self.expire_tokens)
        r.add_get("/_emulator/config", self.get_config)
        r.add_patch("/_emulator/config", self.patch_config)
