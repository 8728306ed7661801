"""The emulator's whole state and the lookups ARM handlers and the control API share."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter, OrderedDict

from . import errors
from .clock import Clock
from .config import Config
from .extensions import ExtensionService
from .faults import FaultSet
from .kv_model import KeyVaults
from .model import VM, Operation, Principal, ResourceGroup, Subscription, Token
from .oplinks import OperationLinks
from .render import Renderer
from .requestlog import RequestLog
from .throttling import Throttler

AUDIENCE = "https://management.azure-emulator.local/"
MAX_OPERATIONS = 200_000


def audience_for(resource_or_scope: str) -> str:
    """The audience a token gets: ours for '<aud>[/].default' (any case), else the resource as asked."""
    value = resource_or_scope.strip()
    if value.lower().endswith("/.default"):
        value = value[: -len("/.default")]
    elif value.lower().endswith(".default"):
        value = value[: -len(".default")]
    if value.rstrip("/").lower() == AUDIENCE.rstrip("/").lower():
        return AUDIENCE
    return value


class Store:
    def __init__(self, config: Config, base_url: str = ""):
        self.config = config
        self.clock = Clock(config.time_scale)
        self.base_url = base_url
        self.throttler = Throttler(config, self.clock)
        self.extensions = ExtensionService(self)
        self.render = Renderer(self)
        self.log = RequestLog()
        self.links = OperationLinks()
        self.faults = FaultSet()
        self.counters: Counter = Counter()
        self.principals: dict[str, Principal] = {}     # client id (lower) -> principal
        self.tenants: set[str] = set()
        self.msi: Principal | None = None
        self.identity_header = secrets.token_urlsafe(24)
        self.tokens: dict[str, Token] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.operations: OrderedDict[str, Operation] = OrderedDict()
        self.default_subscription: str | None = None
        self.key_vaults = KeyVaults()

    # --- config -----------------------------------------------------------------------------
    def apply_config(self, changes: dict) -> None:
        old_scale, old_limits = self.config.time_scale, dict(vars(self.config.limits))
        self.config.update(changes)
        self.clock.time_scale = self.config.time_scale
        if old_scale != self.config.time_scale or old_limits != vars(self.config.limits):
            self.throttler.reset()   # buckets are rebuilt with the new rates

    # --- reset ------------------------------------------------------------------------------
    def clear(self) -> None:
        """Everything but principals (and the default subscription, left empty)."""
        for sub in self.subscriptions.values():
            sub.resource_groups.clear()
        self.subscriptions = {k: v for k, v in self.subscriptions.items() if v.id == self.default_subscription}
        self.operations.clear()
        self.tokens.clear()
        self.log.clear()
        self.log.reset_counters()
        self.counters.clear()
        self.faults.clear()
        self.key_vaults.clear()
        self.throttler.reset()
        self.throttler.throttled_count = 0

    # --- principals and tokens -----------------------------------------------------------
    def add_principal(self, principal: Principal) -> Principal:
        if principal.kind == "msi":
            self.msi = principal
        else:
            self.principals[principal.client_id.lower()] = principal
        self.tenants.add(principal.tenant.lower())
        return principal

    def issue_token(self, principal: Principal, audience: str) -> tuple[str, int]:
        value = "emu." + secrets.token_urlsafe(32)
        lifetime = int(self.config.token_lifetime_s)
        self.tokens[value] = Token(principal, audience, time.time() + lifetime)
        self.counters["tokens_issued"] += 1
        if len(self.tokens) > 100_000:   # bounded: drop the oldest
            for key in list(self.tokens)[:10_000]:
                del self.tokens[key]
        return value, lifetime

    def expire_tokens(self) -> int:
        past = time.time() - 1
        for token in self.tokens.values():
            token.expires_at = past
        return len(self.tokens)

    # --- resources --------------------------------------------------------------------------
    def add_subscription(self, sub_id: str, display_name: str | None = None) -> Subscription:
        sub = self.subscriptions.get(sub_id.lower())
        if sub is None:
            sub = Subscription(id=sub_id, display_name=display_name or "Emulated subscription")
            self.subscriptions[sub_id.lower()] = sub
        return sub

    def subscription(self, sub_id: str) -> Subscription:
        sub = self.subscriptions.get(sub_id.lower())
        if sub is None:
            raise errors.subscription_not_found(sub_id)
        return sub

    def resource_group(self, sub_id: str, rg: str) -> ResourceGroup:
        group = self.subscription(sub_id).resource_groups.get(rg.lower())
        if group is None:
            raise errors.resource_group_not_found(rg)
        return group

    def vm(self, sub_id: str, rg: str, name: str) -> VM:
        vm = self.resource_group(sub_id, rg).vms.get(name.lower())
        if vm is None:
            raise errors.resource_not_found("Microsoft.Compute/virtualMachines", name, rg)
        return vm

    def all_vms(self, sub_id: str, rg: str | None = None) -> list[VM]:
        sub = self.subscription(sub_id)
        groups = [self.resource_group(sub_id, rg)] if rg else sorted(sub.resource_groups.values(),
                                                                     key=lambda g: g.name.lower())
        return [vm for group in groups for vm in sorted(group.vms.values(), key=lambda v: v.name.lower())]

    def vm_count(self) -> int:
        return sum(len(g.vms) for s in self.subscriptions.values() for g in s.resource_groups.values())

    # --- operations -------------------------------------------------------------------------
    def add_operation(self, op: Operation) -> None:
        self.operations[op.id] = op
        self.counters["operations"] += 1
        while len(self.operations) > MAX_OPERATIONS:
            old_id, old = next(iter(self.operations.items()))
            if old.status == "InProgress":
                break
            del self.operations[old_id]

    def operation_url(self, op: Operation, monitor: bool = False) -> str:
        """The signed URL a client must poll verbatim (Azure-AsyncOperation, or Location with monitor)."""
        return (f"{self.base_url}/subscriptions/{op.subscription}/providers/Microsoft.Compute/locations/"
                f"{op.location}/operations/{op.id}?{self.links.query(op.id, op.ticks, monitor)}")

    def new_vm_id(self) -> str:
        return str(uuid.uuid4())
