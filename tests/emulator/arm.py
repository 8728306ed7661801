"""Azure Resource Manager routes: resource groups, VMs, extensions, async operations.

ARM paths are case-insensitive in their fixed segments and in resource names, so instead of
aiohttp's (case-sensitive) router one catch-all handler parses the path itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from . import errors
from .clock import iso
from .errors import ArmError, json_response
from .extensions import parse_extension_body
from .listing import list_page, parse_list_query
from .model import VM, Operation
from .network_api import ACTIONS as NETWORK_ACTIONS
from .network_api import OPERATION_KINDS as NETWORK_OPERATION_KINDS
from .network_api import NetworkApi, parse_network_path
from .oplinks import invalid_operation_uri
from .runcommand import ACTIONS as RUN_COMMAND_ACTIONS
from .runcommand import RunCommandApi, parse_runcommand_path, run_command_result
from .state import AUDIENCE, Store
from .throttling import retry_headers

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha)?$")
POLL_HINT_S = 10.0          # simulated seconds between polls suggested in lenient mode only
VM_EXPANDS = ("instanceview", "userdata", "resiliencyview")   # InstanceViewTypes
EXTENSION_EXPANDS = ("instanceview",)


@dataclass
class ArmPath:
    kind: str               # subscription | rg | vm_list_sub | vm_list_rg | vm | vm_iv | ext_list | ext | operation,
    sub: str                # and the Run Command and Network kinds of runcommand.py / network_api.py
    rg: str | None = None
    vm: str | None = None
    ext: str | None = None
    op_id: str | None = None
    extra: dict = field(default_factory=dict)   # names of the other kinds, and their RBAC scope


def parse_arm_path(path: str) -> ArmPath | None:
    seg = [s for s in path.split("/") if s]
    low = [s.lower() for s in seg]
    if len(seg) < 2 or low[0] != "subscriptions":
        return None
    sub, rest, lrest = seg[1], seg[2:], low[2:]
    if not rest:
        return ArmPath("subscription", sub)
    if lrest[:3] == ["providers", "microsoft.compute", "virtualmachines"] and len(rest) == 3:
        return ArmPath("vm_list_sub", sub)
    if (lrest[:3] == ["providers", "microsoft.compute", "locations"] and len(rest) == 6
            and lrest[4] == "operations"):
        return ArmPath("operation", sub, op_id=rest[5])
    extra = _parse_extra_path(sub, rest, lrest)
    if extra is not None:
        return extra
    if lrest[0] != "resourcegroups" or len(rest) < 2:
        return None
    rg, tail, ltail = rest[1], rest[2:], lrest[2:]
    if not tail:
        return ArmPath("rg", sub, rg)
    if ltail[:3] != ["providers", "microsoft.compute", "virtualmachines"]:
        return None
    tail, ltail = tail[3:], ltail[3:]
    if not tail:
        return ArmPath("vm_list_rg", sub, rg)
    vm = tail[0]
    if len(tail) == 1:
        return ArmPath("vm", sub, rg, vm)
    if ltail[1:] == ["instanceview"]:
        return ArmPath("vm_iv", sub, rg, vm)
    if ltail[1:] == ["runcommand"]:
        return ArmPath("vm_runcommand", sub, rg, vm)
    if ltail[1] == "extensions" and len(tail) == 2:
        return ArmPath("ext_list", sub, rg, vm)
    if ltail[1] == "extensions" and len(tail) == 3:
        return ArmPath("ext", sub, rg, vm, tail[2])
    return None


def _parse_extra_path(sub: str, rest: list[str], lrest: list[str]) -> ArmPath | None:
    """Run Command documents and Microsoft.Network resources (routes of runcommand.py and network_api.py)."""
    found = parse_runcommand_path(sub, rest, lrest)
    if found is not None:
        return ArmPath(found[0], sub, extra=found[1])
    found = parse_network_path(sub, rest, lrest)
    if found is not None:
        return ArmPath(found[0], sub, found[1], extra=found[2])
    return None


# (kind, method) -> (RBAC action, ARM bucket)
ACTIONS = {
    ("subscription", "GET"): ("Microsoft.Resources/subscriptions/read", "read"),
    ("rg", "GET"): ("Microsoft.Resources/subscriptions/resourceGroups/read", "read"),
    ("vm_list_sub", "GET"): ("Microsoft.Compute/virtualMachines/read", "read"),
    ("vm_list_rg", "GET"): ("Microsoft.Compute/virtualMachines/read", "read"),
    ("vm", "GET"): ("Microsoft.Compute/virtualMachines/read", "read"),
    ("vm_iv", "GET"): ("Microsoft.Compute/virtualMachines/instanceView/read", "read"),
    ("ext_list", "GET"): ("Microsoft.Compute/virtualMachines/extensions/read", "read"),
    ("ext", "GET"): ("Microsoft.Compute/virtualMachines/extensions/read", "read"),
    ("ext", "PUT"): ("Microsoft.Compute/virtualMachines/extensions/write", "write"),
    ("ext", "DELETE"): ("Microsoft.Compute/virtualMachines/extensions/delete", "write"),
    ("operation", "GET"): ("Microsoft.Compute/locations/operations/read", "read"),
    **RUN_COMMAND_ACTIONS, **NETWORK_ACTIONS,
}
OPERATION_KINDS = ("operation", *NETWORK_OPERATION_KINDS)


def scope_of(p: ArmPath) -> str:
    if "scope" in p.extra:
        return p.extra["scope"]
    scope = f"/subscriptions/{p.sub}"
    if p.kind == "operation":
        return scope
    if p.rg:
        scope += f"/resourceGroups/{p.rg}"
    if p.vm:
        scope += f"/providers/Microsoft.Compute/virtualMachines/{p.vm}"
    if p.ext:
        scope += f"/extensions/{p.ext}"
    return scope


def _auth_error(code: str, message: str, store: Store, description: str | None = None) -> ArmError:
    desc = (description or message).replace('"', "'")
    challenge = (f'Bearer authorization_uri="{store.base_url}/", error="invalid_token", '
                 f'error_description="{desc}"')
    return ArmError(401, code, message, headers={"WWW-Authenticate": challenge})


def _us_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%-m/%-d/%Y %-I:%M:%S %p")


def authenticate(request: web.Request, store: Store):
    header = request.headers.get("Authorization")
    if not header:
        raise _auth_error("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                          store, "The authentication failed because of missing 'Authorization' header.")
    scheme, _sep, value = header.partition(" ")
    token = store.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise _auth_error("AuthenticationFailed",
                          "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                          store)
    now = time.time()
    if token.expires_at <= now:
        raise _auth_error("ExpiredAuthenticationToken",
                          f"The access token expiry UTC time '{_us_time(token.expires_at)}' is earlier than current "
                          f"UTC time '{_us_time(now)}'.", store)
    if token.audience != AUDIENCE:
        raise _auth_error("InvalidAuthenticationTokenAudience",
                          f"The access token has been obtained for wrong audience or resource '{token.audience}'. It "
                          f"should exactly match with one of the allowed audiences '{AUDIENCE}',"
                          f"'{AUDIENCE.rstrip('/')}'.", store)
    return token.principal


def _poll_hint(store: Store, op: Operation) -> dict[str, str]:
    """Retry hints on operations exist only in lenient mode: recorded traffic has none (facts §8.3)."""
    if not store.config.lenient:
        return {}
    remaining = max(op.done_at - store.clock.now(), 0.0) if not op.never_finish else float("inf")
    return retry_headers(max(min(store.clock.scaled(POLL_HINT_S), remaining + 0.01), 0.02),
                         store.clock.time_scale < 1)


def _expand(request: web.Request, allowed: tuple[str, ...], lenient: bool) -> str:
    """The $expand value (lower case); one the operation does not take is a 400 unless lenient."""
    value = (request.query.get("$expand") or "").lower()
    if value and value not in allowed:
        if lenient:
            return ""
        raise errors.invalid_url_parameter("$expand")
    return value


class ArmHandler:
    def __init__(self, store: Store):
        self.store = store
        self.extra_routes = {**RunCommandApi(store).routes(), **NetworkApi(store).routes()}

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        store = self.store
        p: ArmPath | None = request.get("arm_path")
        log = request["log"] = {"kind": "read", "subscription": p.sub if p else None, "vm": p.vm if p else None}
        headers = request["extra_headers"]
        principal = authenticate(request, store)
        log["principal"] = principal.client_id
        api_version = request.query.get("api-version")
        if not api_version:
            raise errors.missing_api_version()
        if not API_VERSION_RE.match(api_version):
            raise errors.invalid_api_version(api_version)
        if p is None:
            raise ArmError(404, "InvalidResourceType",
                           f"The resource type could not be found for path '{request.path}' and api version "
                           f"'{api_version}'.")
        method = request.method.upper()
        action = ACTIONS.get((p.kind, method))
        if action is None:
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
        log["kind"] = "operation" if p.kind in OPERATION_KINDS else action[1]
        store.subscription(p.sub)
        if not principal.may(action[0], p.sub):
            raise errors.authorization_failed(principal.object_id, action[0], scope_of(p))
        headers.update(store.throttler.arm(action[1], p.sub, principal.object_id))
        handler = getattr(self, f"_{p.kind}_{method.lower()}", None) or self.extra_routes[(p.kind, method)]
        return await handler(request, p, api_version)

    # --- reads --------------------------------------------------------------------------------
    async def _subscription_get(self, request, p, api_version):
        sub = self.store.subscription(p.sub)
        tenant = next(iter(self.store.tenants), "")
        return json_response({"id": f"/subscriptions/{sub.id}", "subscriptionId": sub.id, "tenantId": tenant,
                              "displayName": sub.display_name, "state": "Enabled",
                              "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                                       "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
                              "authorizationSource": "RoleBased"})

    async def _rg_get(self, request, p, api_version):
        sub = self.store.subscription(p.sub)
        rg = self.store.resource_group(p.sub, p.rg)
        body = {"id": f"/subscriptions/{sub.id}/resourceGroups/{rg.name}", "name": rg.name,
                "type": "Microsoft.Resources/resourceGroups", "location": rg.location,
                "properties": {"provisioningState": "Succeeded"}}
        if rg.tags:
            body["tags"] = rg.tags
        return json_response(body)

    def _vm(self, request, p) -> VM:
        vm = self.store.vm(p.sub, p.rg, p.vm)
        request["extra_headers"].update(self.store.throttler.vm_get(p.sub))
        return vm

    async def _vm_get(self, request, p, api_version):
        vm = self._vm(request, p)
        expand = _expand(request, VM_EXPANDS, self.store.config.lenient)
        return json_response(self.store.render.vm(vm, instance_view=expand == "instanceview"))

    async def _vm_iv_get(self, request, p, api_version):
        return json_response(self.store.render.instance_view(self._vm(request, p)))

    async def _vm_list_rg_get(self, request, p, api_version):
        return self._vm_list(request, p, self.store.all_vms(p.sub, p.rg), api_version, per_subscription=False)

    async def _vm_list_sub_get(self, request, p, api_version):
        return self._vm_list(request, p, self.store.all_vms(p.sub), api_version, per_subscription=True)

    def _vm_list(self, request, p, vms: list[VM], api_version: str, *, per_subscription: bool) -> web.Response:
        query = parse_list_query(request.query, per_subscription=per_subscription,
                                 lenient=self.store.config.lenient)
        request["extra_headers"].update(self.store.throttler.vm_get(p.sub))
        return json_response(list_page(self.store, request, vms, query, api_version))

    async def _ext_list_get(self, request, p, api_version):
        vm = self._vm(request, p)
        self.store.extensions.settle_vm(vm)
        expand = _expand(request, EXTENSION_EXPANDS, self.store.config.lenient) == "instanceview"
        return json_response({"value": [self.store.render.extension(vm, e, instance_view=expand)
                                        for e in vm.extensions.values()]})

    def _extension(self, vm: VM, p: ArmPath):
        self.store.extensions.settle_vm(vm)
        ext = vm.extensions.get(p.ext.lower())
        if ext is None:
            raise errors.resource_not_found("Microsoft.Compute/virtualMachines/extensions", f"{vm.name}/{p.ext}",
                                            p.rg)
        return ext

    async def _ext_get(self, request, p, api_version):
        vm = self._vm(request, p)
        expand = _expand(request, EXTENSION_EXPANDS, self.store.config.lenient) == "instanceview"
        ext = self._extension(vm, p)
        return json_response(self.store.render.extension(vm, ext, instance_view=expand))

    async def _operation_get(self, request, p, api_version):
        store = self.store
        op = store.operations.get(p.op_id)
        if op is None or op.subscription.lower() != p.sub.lower():
            raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
        monitor = (request.query.get("monitor") or "").lower() == "true"
        if not store.config.lenient and not store.links.verify(op.id, op.ticks, request.query, monitor):
            raise invalid_operation_uri()
        op.polls += 1
        store.extensions.settle_operation(op)
        headers = request["extra_headers"]
        headers.update(store.throttler.operation_poll(p.sub, op.polls))
        if op.status == "InProgress":
            headers.update(_poll_hint(store, op))
        if monitor:   # Location polling (DELETE)
            if op.status == "InProgress":
                headers["Location"] = store.operation_url(op, monitor=True)
                return web.Response(status=202, headers=headers)
            if op.status == "Succeeded":
                result = run_command_result(op)     # a run command's Location ends with its RunCommandResult
                return web.Response(status=200) if result is None else json_response(result)
        return json_response(self._operation_body(op))

    def _operation_body(self, op: Operation) -> dict:
        """InProgress {startTime, status, name}; finished adds endTime (the scheduled end) and any error."""
        wall = self.store.clock.wall
        body = {"startTime": iso(wall(op.start_mono)), "status": op.status, "name": op.id}
        if op.status != "InProgress":
            body = {"startTime": body["startTime"], "endTime": iso(wall(op.end_mono)), "status": op.status,
                    "name": op.id}
            if op.error:
                body["error"] = op.error
            result = run_command_result(op)
            if result is not None:
                body = {**body, "properties": {"output": result}, "name": op.id}
        return body

    # --- writes -------------------------------------------------------------------------------
    async def _ext_put(self, request, p, api_version):
        store = self.store
        vm = store.vm(p.sub, p.rg, p.vm)
        body = parse_extension_body(await request.read())
        request["extra_headers"].update(store.throttler.vm_update(p.sub, vm.key))
        store.counters["extension_puts"] += 1
        status, ext, op = store.extensions.put(vm, p.ext, body, never_finish=request.get("never_finish", False))
        headers = {"Azure-AsyncOperation": store.operation_url(op), "Azure-AsyncNotification": "Enabled",
                   **_poll_hint(store, op)}
        return json_response(store.render.extension(vm, ext), status=status, headers=headers)

    async def _ext_delete(self, request, p, api_version):
        store = self.store
        vm = store.vm(p.sub, p.rg, p.vm)
        request["extra_headers"].update(store.throttler.vm_update(p.sub, vm.key))
        store.counters["extension_deletes"] += 1
        op = store.extensions.delete(vm, p.ext, never_finish=request.get("never_finish", False))
        if op is None:
            return web.Response(status=204)
        headers = {"Location": store.operation_url(op, monitor=True),
                   "Azure-AsyncOperation": store.operation_url(op), "Azure-AsyncNotification": "Enabled",
                   **_poll_hint(store, op)}
        return web.Response(status=202, headers=headers)
