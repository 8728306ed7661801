"""The checker itself: strict enough to catch an emulator that invents, drops or mistypes fields."""

from __future__ import annotations

import copy

import pytest

EXT_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute"
          "/virtualMachines/vm1/extensions/enablevmaccess")
EXTENSION = {
    "name": "enablevmaccess", "id": EXT_ID, "type": "Microsoft.Compute/virtualMachines/extensions",
    "location": "westeurope",
    "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
                   "autoUpgradeMinorVersion": True, "provisioningState": "Succeeded", "forceUpdateTag": "t1",
                   "settings": {"UserName": "azureadmin"},
                   "instanceView": {"name": "enablevmaccess", "type": "Microsoft.Compute.VMAccessAgent",
                                    "typeHandlerVersion": "2.4.11",
                                    "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info",
                                                  "displayStatus": "Provisioning succeeded",
                                                  "time": "2025-11-02T09:14:07.1234567+00:00"}]}},
}


def changed(doc: dict, path: str, value) -> dict:
    """A deep copy of doc with the dotted path set (or removed when value is ...)."""
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def test_definitions_come_from_the_pinned_wheels(definitions):
    assert "azure-mgmt-compute 37.2.0" in definitions["VirtualMachine"].origin
    assert "Compute 2017-12-01" in definitions["OperationStatusResponse"].origin
    ext = definitions["VirtualMachineExtension"].fields
    assert ext["type_properties_type"].key == ("properties", "type")
    assert ext["location"].required and ext["provisioning_state"].readonly


def test_a_valid_extension_passes(validator):
    assert validator.errors("VirtualMachineExtension", EXTENSION) == []


@pytest.mark.parametrize("path, value, expected", [
    ("invented", 1, "$.invented: not declared in VirtualMachineExtension"),
    ("properties.protectedSettingz", {}, "$.properties.protectedSettingz: not declared"),
    ("properties.instanceView.statuses.0.extra", "x", "$.properties.instanceView.statuses[0].extra: not declared"),
    ("properties.autoUpgradeMinorVersion", "true", "is not a valid bool"),
    ("properties.typeHandlerVersion", 2.4, "is not a valid str"),
    ("properties.settings", None, "null where the definition says object"),
    ("properties.instanceView.statuses", {}, "where the definition says an array"),
    ("properties.instanceView.statuses.0.time", "11/2/2025 9:14:07 AM", "is not a valid iso-8601"),
    ("properties.instanceView.statuses.0.level", "Verbose", "is not one of the fixed enum"),
    ("location", ..., "$.location: required by VirtualMachineExtension but missing"),
    ("properties", [], "where VirtualMachineExtension has an object"),
])
def test_a_broken_extension_fails(validator, path, value, expected):
    errors = validator.errors("VirtualMachineExtension", changed(EXTENSION, path, value))
    assert any(expected in e for e in errors), errors


def test_model_as_string_enums_take_any_string(validator):
    disk = {"osType": "Windows", "createOption": "SomethingNew", "caching": "ReadWrite",
            "managedDisk": {"storageAccountType": "Future_LRS"}}
    assert validator.errors("OSDisk", disk) == []
    assert validator.errors("OSDisk", {**disk, "osType": "FreeBSD"}) != []


def test_lists_carry_extensions_as_bare_ids(validator):
    vm = {"name": "vm1", "id": EXT_ID.rsplit("/extensions", 1)[0], "type": "Microsoft.Compute/virtualMachines",
          "location": "westeurope", "properties": {"vmId": "x"}, "resources": [{"id": EXT_ID}]}
    assert validator.errors("VirtualMachineListPage", {"value": [vm]}) == []
    full = changed(vm, "resources.0", EXTENSION)
    errors = validator.errors("VirtualMachineListPage", {"value": [full]})
    assert any("$.value[0].resources[0].properties: not declared in ExtensionIdInList" in e for e in errors), errors
    assert validator.errors("VirtualMachineListPage", {}) == ["$.value: required by VirtualMachineListPage but missing"]


def test_error_bodies(validator):
    bad_request = {"error": {"code": "BadRequest", "message": "m",
                             "innererror": {"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"}}}
    assert validator.errors("ErrorBody", bad_request) == []
    assert validator.errors("ErrorBody", changed(bad_request, "error.innererror.hint", "x")) != []
    assert validator.errors("ErrorBody", changed(bad_request, "error.message", ...)) != []
    conflict = {"error": {"code": "OperationNotAllowed", "message": "m",
                          "details": [{"code": "TooManyRequests", "target": "t", "message": "{}"}]}}
    assert validator.errors("ErrorBody409", conflict) == []
    assert validator.errors("ErrorBody409", changed(conflict, "error.details.0.extra", 1)) != []
    errors = validator.errors("ErrorBody409", changed(conflict, "error.innererror", {"internalErrorCode": "X"}))
    assert any("innererror: not declared" in e for e in errors), errors


def test_operation_status(validator):
    done = {"startTime": "2026-01-01T00:00:00+00:00", "endTime": "2026-01-01T00:00:01Z", "status": "Failed",
            "name": "op", "error": {"code": "VMExtensionProvisioningError", "message": "m"}}
    assert validator.errors("OperationStatus", done) == []
    assert validator.errors("OperationStatus", changed(done, "status", "Done")) != []
    assert validator.errors("OperationStatus", changed(done, "percentComplete", 100)) != []
