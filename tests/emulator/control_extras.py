"""Control-API fields for the guest's Remote Desktop state, the VM's network and Run Command:
``PATCH /_emulator/vms/{sub}/{rg}/{vm}`` takes them, ``GET`` reports them (see README "Control API").

- the RDP keys of ``rdp_spec.RDP_KEYS`` (the same names and values as in fleet files);
- ``nsg``: the NIC's own NSG (an NSG spec, replacing any, or null to detach it);
- ``subnet_nsg``: the subnet's NSG, shared by every VM of the resource group (spec or null);
- ``run_command_duration_s``: simulated seconds a run command takes on this VM.
"""

from __future__ import annotations

from .network import network_state, set_nic_nsg, set_subnet_nsg, validate_nsg_spec
from .rdp_spec import RDP_KEYS, apply_rdp_changes, on_vm_started, validate_rdp_spec
from .runcommand import run_command_state, vm_run_command

EXTRA_FIELDS = RDP_KEYS | {"nsg", "subnet_nsg", "run_command_duration_s"}


def _resource_group(store, vm):
    return store.resource_group(vm.subscription, vm.resource_group)


def validate_extras(changes: dict) -> None:
    """Everything is checked before anything changes (ValueError -> 400)."""
    validate_rdp_spec({k: v for k, v in changes.items() if k in RDP_KEYS})
    for key in ("nsg", "subnet_nsg"):
        if key in changes:
            validate_nsg_spec(changes[key], key)
    duration = changes.get("run_command_duration_s")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0):
        raise ValueError("run_command_duration_s: must be a number of seconds")


def patch_extras(store, vm, changes: dict) -> None:
    rg = _resource_group(store, vm)
    apply_rdp_changes(vm.guest, {k: v for k, v in changes.items() if k in RDP_KEYS})
    if "nsg" in changes:
        set_nic_nsg(rg, vm, changes["nsg"], replace=True)
    if "subnet_nsg" in changes:
        set_subnet_nsg(rg, changes["subnet_nsg"])
    if "run_command_duration_s" in changes:
        duration = changes["run_command_duration_s"]
        vm_run_command(vm).duration_s = None if duration is None else float(duration)


def vm_started(vm) -> None:
    """The control API started a stopped VM: its guest boots (services start, pending settings apply)."""
    on_vm_started(vm.guest)


def extras_state(store, vm) -> dict:
    return {"network": network_state(_resource_group(store, vm), vm), "run_command": run_command_state(store, vm)}
