"""Plain data for what the emulator holds: principals, tokens, subscriptions, VMs, extensions, operations."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import random
from dataclasses import dataclass, field

from .guest import Guest, PreparedRun

VMACCESS_PUBLISHER = "microsoft.compute"
VMACCESS_TYPE = "vmaccessagent"
VM_TYPE = "Microsoft.Compute/virtualMachines"
EXTENSION_TYPE = "Microsoft.Compute/virtualMachines/extensions"

# Built-in roles as action patterns (matched case-insensitively, '*' wildcard).
ROLE_ACTIONS = {
    "owner": ["*"],
    "contributor": ["*"],
    "virtual machine contributor": [
        "Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/locations/*",
        "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Network/*/read",
        "Microsoft.Network/networkInterfaces/*", "Microsoft.Network/locations/*",
    ],
    "reader": ["*/read"],
}


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(b"emulator-secret:" + secret.encode()).digest()


@dataclass
class Principal:
    name: str
    tenant: str
    client_id: str
    object_id: str
    secret_digest: bytes | None          # None for the managed identity (no secret)
    roles: dict[str, str]                # subscription id (lower) or '*' -> role name
    actions: list[str] | None = None     # custom role: allowed actions on every subscription
    kind: str = "sp"                     # sp | msi

    def secret_matches(self, secret: str) -> bool:
        return self.secret_digest is not None and hmac.compare_digest(secret_digest(secret), self.secret_digest)

    def allowed_actions(self, subscription: str) -> list[str]:
        if self.actions is not None:
            return self.actions
        role = self.roles.get(subscription.lower()) or self.roles.get("*")
        return ROLE_ACTIONS.get((role or "").lower(), [])

    def may(self, action: str, subscription: str) -> bool:
        action = action.lower()
        return any(fnmatch.fnmatchcase(action, pattern.lower()) for pattern in self.allowed_actions(subscription))

    def to_dict(self) -> dict:
        return {"name": self.name, "tenant": self.tenant, "client_id": self.client_id,
                "object_id": self.object_id, "roles": self.roles, "actions": self.actions, "kind": self.kind}


@dataclass(slots=True)
class Token:
    principal: Principal
    audience: str
    expires_at: float                    # wall epoch seconds


@dataclass
class Extension:
    name: str
    publisher: str
    type: str
    type_handler_version: str
    reported_version: str
    location: str
    auto_upgrade_minor_version: bool | None = None
    force_update_tag: str | None = None
    settings: dict = field(default_factory=dict)
    protected_fingerprint: str | None = None   # keyed hash of protectedSettings, never the value
    provisioning_state: str = "Succeeded"
    statuses: list[dict] = field(default_factory=list)   # last status the guest reported
    substatuses: list[dict] | None = None
    pending_op: str | None = None

    @property
    def handler(self) -> str:
        return f"{self.publisher}.{self.type}"

    def is_vmaccess(self) -> bool:
        return self.publisher.lower() == VMACCESS_PUBLISHER and self.type.lower() == VMACCESS_TYPE


@dataclass
class VM:
    subscription: str
    resource_group: str
    name: str
    location: str
    vm_id: str
    os_type: str                         # Windows | Linux
    size: str
    admin_username: str
    computer_name: str
    image: dict
    power_state: str = "running"         # starting|running|stopping|stopped|deallocating|deallocated
    agent: str = "ready"                 # ready | starting | not_ready ("down")
    agent_ready_at: float | None = None  # monotonic instant a 'starting' agent becomes Ready
    agent_last_report: float | None = None   # monotonic instant a down agent last reported
    created_at: float = 0.0              # monotonic instant the VM was provisioned (status times)
    agent_version: str = "2.7.41491.1102"
    allow_extension_operations: bool = True
    tags: dict = field(default_factory=dict)
    extensions: dict[str, Extension] = field(default_factory=dict)   # lower name -> ext
    guest: Guest = field(default_factory=Guest)
    extension_duration_s: float | list | None = None   # number or [low, high]; None = config default
    agent_ready_after_s: float | None = None
    agent_timeout_s: float | None = None
    agent_down_since_s: float | None = None   # real seconds; None = config default
    rng: random.Random = field(default_factory=random.Random)
    run_count: int = 0
    run_history: list[dict] = field(default_factory=list)
    fingerprint_key: bytes = b""
    model_cache: tuple | None = field(default=None, repr=False)   # (allowExtensionOperations, model dict)
    network: object | None = None        # network.VmNetwork (its own NIC NSG); None = the resource group's defaults
    nic_resource_group: str | None = None   # where its NIC lives when not in the VM's own resource group
    run_command: object | None = None    # runcommand.VmRunCommand, made on first use

    @property
    def key(self) -> tuple:
        return (self.subscription.lower(), self.resource_group.lower(), self.name.lower())

    @property
    def resource_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Compute/virtualMachines/{self.name}")

    def vmaccess_extension(self) -> Extension | None:
        return next((e for e in self.extensions.values() if e.is_vmaccess()), None)

    def sample_duration(self, default: float) -> float:
        value = self.extension_duration_s if self.extension_duration_s is not None else default
        if isinstance(value, (list, tuple)):
            return self.rng.uniform(float(value[0]), float(value[1]))
        return float(value)


@dataclass
class ResourceGroup:
    name: str
    location: str
    tags: dict = field(default_factory=dict)
    vms: dict[str, VM] = field(default_factory=dict)
    network: object | None = None        # network.RgNetwork (vnet, subnet, NSGs), made on first use


@dataclass
class Subscription:
    id: str
    display_name: str
    resource_groups: dict[str, ResourceGroup] = field(default_factory=dict)


@dataclass
class Operation:
    """An Azure-AsyncOperation: a run, a no-op update or a delete of one extension."""
    id: str
    kind: str                            # run | noop | delete
    vm: VM
    extension_name: str
    start_mono: float
    done_at: float                       # monotonic instant it finishes
    never_finish: bool = False
    agent_failure: bool = False          # finishes Failed with VMAgentStatusCommunicationError
    run_start: float | None = None       # monotonic instant the agent picks the run up (transitioning)
    ticks: int = 0                       # .NET ticks of the start, the 't' of the signed operation URL
    run: PreparedRun | None = None
    settings: dict | None = None         # for run history
    force_update_tag: str | None = None
    run_version: str | None = None       # handler build the run installs
    status: str = "InProgress"           # InProgress | Succeeded | Failed
    error: dict | None = None
    end_mono: float | None = None
    polls: int = 0

    @property
    def location(self) -> str:
        return self.vm.location

    @property
    def subscription(self) -> str:
        return self.vm.subscription
