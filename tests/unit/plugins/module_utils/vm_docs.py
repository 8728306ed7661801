"""REST-shaped VM documents for unit tests of the pure parts."""

SUB = "00000000-0000-0000-0000-000000000001"
RG = "rg-web"


def vm_doc(name="web-001", os_type="Windows", power="running", agent="Ready", admin="azureadmin",
           extension=None, allow_extensions=True):
    vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (SUB, RG, name)
    agent_status = {
        "Ready": {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
                  "message": "GuestAgent is running and processing the extensions."},
        "Not Ready": {"code": "ProvisioningState/Unavailable", "level": "Warning", "displayStatus": "Not Ready",
                      "message": "VM status blob is found but not yet populated."},
    }[agent]
    doc = {
        "id": vm_id,
        "name": name,
        "location": "westeurope",
        "properties": {
            "vmId": "11111111-2222-3333-4444-555555555555",
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"osDisk": {"osType": os_type}},
            "osProfile": {"computerName": name, "adminUsername": admin, "allowExtensionOperations": allow_extensions},
            "provisioningState": "Succeeded",
            "instanceView": {
                "vmAgent": {"vmAgentVersion": "2.7.41491.1083", "statuses": [agent_status]},
                "extensions": [],
                "statuses": [
                    {"code": "ProvisioningState/succeeded", "level": "Info"},
                    {"code": "PowerState/%s" % power, "level": "Info"},
                ],
            },
        },
        "resources": [],
    }
    if extension:
        doc["resources"].append(extension["model"])
        doc["properties"]["instanceView"]["extensions"].append(extension["view"])
    return doc


def vmaccess(name="enablevmaccess", version="2.4", tag=None, settings=None, state="Succeeded", level="Info",
             message="Successfully updated"):
    code = "ProvisioningState/succeeded" if state == "Succeeded" else (
        "ProvisioningState/failed/0" if state == "Failed" else "ProvisioningState/transitioning")
    props = {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": version,
             "autoUpgradeMinorVersion": True, "settings": settings or {}, "provisioningState": state}
    if tag is not None:
        props["forceUpdateTag"] = tag
    return {
        "model": {"name": name, "type": "Microsoft.Compute/virtualMachines/extensions", "properties": props},
        "view": {"name": name, "type": "Microsoft.Compute.VMAccessAgent", "typeHandlerVersion": version + ".11",
                 "statuses": [{"code": code, "level": level, "displayStatus": "Provisioning " + state.lower(),
                               "message": message}]},
    }
