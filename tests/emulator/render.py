"""JSON shapes of VMs, instance views and extensions, as ARM returns them."""

from __future__ import annotations

from .clock import iso
from .model import EXTENSION_TYPE, VM_TYPE, VM, Extension

OS_NAMES = {"Windows": ("Windows Server 2022 Datacenter", "10.0.20348.2340"), "Linux": ("ubuntu", "22.04")}
POWER_DISPLAY = {"starting": "VM starting", "running": "VM running", "stopping": "VM stopping",
                 "stopped": "VM stopped", "deallocating": "VM deallocating", "deallocated": "VM deallocated",
                 "unknown": "VM status unknown"}


class Renderer:
    def __init__(self, store):
        self.store = store

    # --- extensions ----------------------------------------------------------------------
    def extension(self, vm: VM, ext: Extension, *, instance_view: bool = False) -> dict:
        props = {"autoUpgradeMinorVersion": bool(ext.auto_upgrade_minor_version),
                 "provisioningState": ext.provisioning_state, "publisher": ext.publisher, "type": ext.type,
                 "typeHandlerVersion": ext.type_handler_version, "settings": ext.settings}
        if ext.force_update_tag is not None:
            props["forceUpdateTag"] = ext.force_update_tag
        if instance_view:
            props["instanceView"] = self.extension_instance_view(vm, ext)
        return {"name": ext.name, "id": f"{vm.resource_id}/extensions/{ext.name}", "type": EXTENSION_TYPE,
                "location": ext.location, "properties": props}

    def extension_instance_view(self, vm: VM, ext: Extension) -> dict:
        view = {"name": ext.name, "type": ext.handler, "typeHandlerVersion": ext.reported_version,
                "statuses": self._reported_statuses(vm, ext)}
        if ext.substatuses:
            view["substatuses"] = ext.substatuses
        return view

    def _reported_statuses(self, vm: VM, ext: Extension) -> list[dict]:
        """While a run is under way and the agent reports, the guest says 'transitioning'."""
        op = self.store.operations.get(ext.pending_op) if ext.pending_op else None
        if op is not None and op.kind == "run" and not op.agent_failure and self._agent_ready(vm):
            return [{"code": "ProvisioningState/transitioning", "level": "Info",
                     "displayStatus": "Transitioning", "message": "Enabling extension",
                     "time": iso(self.store.clock.wall())}]
        return ext.statuses

    # --- VM --------------------------------------------------------------------------------
    def _agent_ready(self, vm: VM) -> bool:
        return vm.power_state == "running" and vm.agent == "ready"

    def vm_agent(self, vm: VM) -> dict | None:
        if vm.power_state in ("deallocated", "deallocating"):
            return None
        now_iso = iso(self.store.clock.wall())
        if self._agent_ready(vm):
            handlers = [{"type": e.handler, "typeHandlerVersion": e.reported_version,
                         "status": {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready"}}
                        for e in vm.extensions.values() if e.statuses]
            return {"vmAgentVersion": vm.agent_version,
                    "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
                                  "message": "GuestAgent is running and processing the extensions.",
                                  "time": now_iso}],
                    "extensionHandlers": handlers}
        message = ("VM status blob is found but not yet populated."
                   if vm.agent == "starting" and vm.power_state == "running" else "VM Agent is unresponsive.")
        return {"vmAgentVersion": "Unknown",
                "statuses": [{"code": "ProvisioningState/Unavailable", "level": "Warning",
                              "displayStatus": "Not Ready", "message": message, "time": now_iso}]}

    def instance_view(self, vm: VM) -> dict:
        self.store.extensions.settle_vm(vm)
        os_name, os_version = OS_NAMES.get(vm.os_type, ("", ""))
        view: dict = {"computerName": vm.computer_name, "osName": os_name, "osVersion": os_version}
        if vm.os_type == "Windows":
            view["hyperVGeneration"] = "V2"
        agent = self.vm_agent(vm)
        if agent is not None:
            view["vmAgent"] = agent
        else:
            del view["computerName"], view["osName"], view["osVersion"]
        view["disks"] = [{"name": f"{vm.name}_OsDisk_1", "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"}]}]
        extensions = [self.extension_instance_view(vm, e) for e in vm.extensions.values() if e.statuses or e.pending_op]
        if extensions and agent is not None:
            view["extensions"] = extensions
        view["statuses"] = [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
            {"code": f"PowerState/{vm.power_state}", "level": "Info",
             "displayStatus": POWER_DISPLAY.get(vm.power_state, vm.power_state)},
        ]
        return view

    def vm(self, vm: VM, *, instance_view: bool = False) -> dict:
        self.store.extensions.settle_vm(vm)
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
        props: dict = {
            "hardwareProfile": {"vmSize": vm.size},
            "provisioningState": "Succeeded",
            "vmId": vm.vm_id,
            "storageProfile": {"imageReference": {**image, "exactVersion": image.get("version", "latest")},
                               "osDisk": os_disk, "dataDisks": []},
            "osProfile": os_profile,
            "networkProfile": {"networkInterfaces": [{
                "id": f"/subscriptions/{vm.subscription}/resourceGroups/{vm.resource_group}"
                      f"/providers/Microsoft.Network/networkInterfaces/{vm.name}-nic"}]},
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        }
        if instance_view:
            props["instanceView"] = self.instance_view(vm)
        body = {"name": vm.name, "id": vm.resource_id, "type": VM_TYPE, "location": vm.location,
                "properties": props}
        if vm.tags:
            body["tags"] = vm.tags
        if vm.extensions:
            body["resources"] = [self.extension(vm, e) for e in vm.extensions.values()]
        return body
