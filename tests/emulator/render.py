"""JSON shapes of VMs, instance views and extensions, as ARM returns them.

Which read carries what (facts §8.1):
- a single VM GET (with or without $expand=instanceView) and the extension GET/list: full extension
  objects, forceUpdateTag included;
- VM lists: ``resources[]`` as bare ids only;
- statusOnly=true: name, id, type, location and the instance view, no model.
"""

from __future__ import annotations

from .agent import agent_reports
from .clock import iso
from .model import EXTENSION_TYPE, VM_TYPE, VM, Extension
from .network import nic_resource_group

OS_NAMES = {"Windows": ("Windows Server 2022 Datacenter", "10.0.20348.2340"), "Linux": ("ubuntu", "22.04")}
POWER_DISPLAY = {"starting": "VM starting", "running": "VM running", "stopping": "VM stopping",
                 "stopped": "VM stopped", "deallocating": "VM deallocating", "deallocated": "VM deallocated",
                 "unknown": "VM status unknown"}
AGENT_STARTING = "VM status blob is found but not yet populated."
AGENT_DOWN = "VM Agent is unresponsive."


def _status(code: str, level: str, display: str, message: str | None = None, time: str | None = None) -> dict:
    status = {"code": code, "level": level, "displayStatus": display}
    if message is not None:
        status["message"] = message
    if time is not None:
        status["time"] = time
    return status


class Renderer:
    def __init__(self, store):
        self.store = store

    def _iso(self, mono: float | None = None) -> str:
        return iso(self.store.clock.wall(mono))

    # --- extensions ----------------------------------------------------------------------
    def extension(self, vm: VM, ext: Extension, *, instance_view: bool = False) -> dict:
        props = {"autoUpgradeMinorVersion": bool(ext.auto_upgrade_minor_version),
                 "provisioningState": ext.provisioning_state, "publisher": ext.publisher, "type": ext.type,
                 "typeHandlerVersion": ext.type_handler_version}
        if ext.settings:    # omitted when none were sent (facts §8.3); protectedSettings never
            props["settings"] = ext.settings
        if ext.force_update_tag is not None:
            props["forceUpdateTag"] = ext.force_update_tag
        if instance_view:
            props["instanceView"] = self.extension_instance_view(vm, ext)
        return {"name": ext.name, "id": f"{vm.resource_id}/extensions/{ext.name}", "type": EXTENSION_TYPE,
                "location": ext.location, "properties": props}

    @staticmethod
    def extension_reference(vm: VM, ext: Extension) -> dict:
        """What a VM list carries per extension: its id, nothing else."""
        return {"id": f"{vm.resource_id}/extensions/{ext.name}"}

    def extension_instance_view(self, vm: VM, ext: Extension) -> dict:
        view = {"name": ext.name, "type": ext.handler, "typeHandlerVersion": ext.reported_version}
        statuses = self._reported_statuses(vm, ext)
        if statuses:
            view["statuses"] = statuses
        if ext.substatuses:
            view["substatuses"] = ext.substatuses
        return view

    def _reported_statuses(self, vm: VM, ext: Extension) -> list[dict]:
        """While a run is under way and the agent reports, the guest says 'transitioning' (since the run began)."""
        op = self.store.operations.get(ext.pending_op) if ext.pending_op else None
        now = self.store.clock.now()
        if (op is not None and op.kind in ("run", "runcommand") and op.run_start is not None and now >= op.run_start
                and agent_reports(vm, now)):
            return [_status("ProvisioningState/transitioning", "Info", "Transitioning", "Enabling extension",
                            self._iso(op.run_start))]
        return ext.statuses

    # --- VM --------------------------------------------------------------------------------
    def vm_agent(self, vm: VM) -> dict | None:
        if vm.power_state in ("deallocated", "deallocating"):
            return None
        now = self.store.clock.now()
        if agent_reports(vm, now):
            handlers = [{"type": e.handler, "typeHandlerVersion": e.reported_version,
                         "status": _status("ProvisioningState/succeeded", "Info", "Ready")}
                        for e in vm.extensions.values() if e.statuses]
            return {"vmAgentVersion": vm.agent_version,
                    "statuses": [_status("ProvisioningState/succeeded", "Info", "Ready",
                                         "GuestAgent is running and processing the extensions.", self._iso(now))],
                    "extensionHandlers": handlers}
        if vm.agent == "starting" and vm.power_state in ("starting", "running"):
            message, reported = AGENT_STARTING, now
        else:
            message = AGENT_DOWN
            reported = vm.agent_last_report if vm.agent_last_report is not None else \
                now - self.store.config.agent_down_since_s
        return {"vmAgentVersion": "Unknown",
                "statuses": [_status("ProvisioningState/Unavailable", "Warning", "Not Ready", message,
                                     self._iso(reported))]}

    def instance_view(self, vm: VM, *, status_only: bool = False) -> dict:
        """The VM instance view; the guest's names appear only once its agent has reported (facts §8.2),
        and never in a statusOnly list (azure-sdk-for-go#18565)."""
        self.store.extensions.settle_vm(vm)
        view: dict = {}
        agent = self.vm_agent(vm)
        if agent is not None and agent_reports(vm, self.store.clock.now()) and not status_only:
            os_name, os_version = OS_NAMES.get(vm.os_type, ("", ""))
            view.update({"computerName": vm.computer_name, "osName": os_name, "osVersion": os_version})
        if vm.os_type == "Windows" and not status_only:
            view["hyperVGeneration"] = "V2"
        if agent is not None:
            view["vmAgent"] = agent
        created = self._iso(vm.created_at)
        view["disks"] = [{"name": f"{vm.name}_OsDisk_1", "statuses": [
            _status("ProvisioningState/succeeded", "Info", "Provisioning succeeded", time=created)]}]
        extensions = [self.extension_instance_view(vm, e) for e in vm.extensions.values()]
        extensions = [e for e in extensions if "statuses" in e]
        if extensions and agent is not None:
            view["extensions"] = extensions
        # PowerState carries no time, as in the REST reference's VirtualMachine_Get_InstanceView example
        view["statuses"] = [
            _status("ProvisioningState/succeeded", "Info", "Provisioning succeeded", time=created),
            _status(f"PowerState/{vm.power_state}", "Info", POWER_DISPLAY.get(vm.power_state, vm.power_state)),
        ]
        return view

    def vm_status_only(self, vm: VM) -> dict:
        """A statusOnly=true list item: the run-time status without the model (no profiles, tags, resources)."""
        return {"name": vm.name, "id": vm.resource_id, "type": VM_TYPE, "location": vm.location,
                "properties": {"instanceView": self.instance_view(vm, status_only=True)}}

    def vm(self, vm: VM, *, instance_view: bool = False, in_list: bool = False) -> dict:
        self.store.extensions.settle_vm(vm)
        props = dict(self._vm_model(vm))     # a copy: the cached model is shared between reads
        if instance_view:
            props["instanceView"] = self.instance_view(vm)
        body = {"name": vm.name, "id": vm.resource_id, "type": VM_TYPE, "location": vm.location,
                "properties": props}
        if vm.tags:
            body["tags"] = vm.tags
        if vm.extensions:
            body["resources"] = [self.extension_reference(vm, e) if in_list else self.extension(vm, e)
                                 for e in vm.extensions.values()]
        return body

    @staticmethod
    def _vm_model(vm: VM) -> dict:
        """The model part of a VM document; it changes only with allowExtensionOperations, so it is cached."""
        cached = vm.model_cache
        if cached is not None and cached[0] == vm.allow_extension_operations:
            return cached[1]
        model = Renderer._build_vm_model(vm)
        vm.model_cache = (vm.allow_extension_operations, model)
        return model

    @staticmethod
    def _build_vm_model(vm: VM) -> dict:
        image = vm.image
        os_disk = {"osType": vm.os_type, "name": f"{vm.name}_OsDisk_1", "createOption": "FromImage",
                   "caching": "ReadWrite", "managedDisk": {
                       "storageAccountType": "Premium_LRS",
                       "id": f"/subscriptions/{vm.subscription}/resourceGroups/{vm.resource_group.upper()}"
                             f"/providers/Microsoft.Compute/disks/{vm.name}_OsDisk_1"},
                   "deleteOption": "Delete", "diskSizeGB": 127 if vm.os_type == "Windows" else 30}
        os_profile = {"computerName": vm.computer_name, "adminUsername": vm.admin_username, "secrets": [],
                      "allowExtensionOperations": vm.allow_extension_operations, "requireGuestProvisionSignal": True}
        if vm.os_type == "Windows":
            os_profile["windowsConfiguration"] = {"provisionVMAgent": True, "enableAutomaticUpdates": True,
                                                  "patchSettings": {"patchMode": "AutomaticByOS",
                                                                    "assessmentMode": "ImageDefault"}}
        else:
            os_profile["linuxConfiguration"] = {"disablePasswordAuthentication": False, "provisionVMAgent": True,
                                                "patchSettings": {"patchMode": "ImageDefault",
                                                                  "assessmentMode": "ImageDefault"}}
        return {
            "hardwareProfile": {"vmSize": vm.size},
            "provisioningState": "Succeeded",
            "vmId": vm.vm_id,
            "storageProfile": {"imageReference": {**image, "exactVersion": image.get("version", "latest")},
                               "osDisk": os_disk, "dataDisks": []},
            "osProfile": os_profile,
            "networkProfile": {"networkInterfaces": [{
                "id": f"/subscriptions/{vm.subscription}/resourceGroups/{nic_resource_group(vm)}"
                      f"/providers/Microsoft.Network/networkInterfaces/{vm.name}-nic"}]},
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        }
