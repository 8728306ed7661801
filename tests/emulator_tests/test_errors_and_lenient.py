"""Error bodies (brief point 10) and the explicit opt-in to the old generous answers (point 14)."""

from __future__ import annotations

import pytest

from .conftest import (RG, ext_path, local, retry_hints, sub_list_path, vm_path, vmaccess_body,
                       wait_operation)

pytestmark = pytest.mark.timeout(60)
API = "api-version=2024-11-01"
NOT_RUNNING = "Cannot modify extensions in the VM when the VM is not running."


def test_409_bodies_have_no_innererror(azure):
    azure.add_vms({"name": "off", "power_state": "stopped"}, {"name": "noext", "allow_extension_operations": False},
                  {"name": "busy", "extension_duration_s": 600})
    not_running = azure.raw("PUT", ext_path(azure, "off"), json=vmaccess_body(tag="a")).json()["error"]
    assert not_running == {"code": "OperationNotAllowed", "message": NOT_RUNNING,
                           "details": [{"code": "CannotModifyExtensionsWhenVMNotRunning", "message": NOT_RUNNING}]}
    disallowed = azure.raw("PUT", ext_path(azure, "noext"), json=vmaccess_body(tag="a")).json()["error"]
    assert set(disallowed) == {"code", "message"} and disallowed["code"] == "OperationNotAllowed"
    azure.raw("PUT", ext_path(azure, "busy"), json=vmaccess_body(tag="a"))
    conflict = azure.raw("PUT", ext_path(azure, "busy"), json=vmaccess_body(tag="b"))
    assert conflict.status_code == 409 and set(conflict.json()["error"]) == {"code", "message"}
    assert "/operations/" in conflict.json()["error"]["message"]


def test_the_400_for_a_second_vmaccess_keeps_azures_innererror(azure):
    azure.add_vms({"name": "app", "extension": {"name": "myVMAccess", "version": "2.4.9"}})
    error = azure.raw("PUT", ext_path(azure, "app"), json=vmaccess_body(tag="a")).json()["error"]
    assert error["code"] == "BadRequest"
    assert error["innererror"] == {"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"}


def test_lenient_mode_restores_the_generous_answers(azure):
    azure.control.set_config(lenient=True)
    azure.add_vms({"name": "win1", "extension_duration_s": 600, "power_state": "running",
                   "extension": {"name": "myVMAccess", "version": "2.4.9", "force_update_tag": "t1"}},
                  {"name": "off", "power_state": "stopped"})
    listed = azure.raw("GET", f"{vm_path(azure)}?$expand=instanceView&{API}")
    assert listed.status_code == 200
    first = next(vm for vm in listed.json()["value"] if vm["name"] == "win1")
    assert first["resources"][0]["properties"]["forceUpdateTag"] == "t1" and first["properties"]["instanceView"]
    rg_status = azure.raw("GET", f"{vm_path(azure)}?statusOnly=true&{API}").json()["value"][0]
    assert "instanceView" in rg_status["properties"] and "hardwareProfile" in rg_status["properties"]
    sub_status = azure.raw("GET", sub_list_path(azure, "statusOnly=true")).json()["value"][0]
    assert "hardwareProfile" in sub_status["properties"]
    raw = azure.raw("PUT", ext_path(azure, "win1", "myVMAccess"), json=vmaccess_body(tag="t2", version="2.4.9"))
    assert raw.status_code == 200 and retry_hints(raw)
    path = local(azure, raw.headers["Azure-AsyncOperation"]).split("?")[0]
    assert azure.raw("GET", f"{path}?{API}").json()["status"] == "InProgress"      # unsigned URL accepted
    not_running = azure.raw("PUT", ext_path(azure, "off"), json=vmaccess_body(tag="a")).json()["error"]
    assert not_running["innererror"] == {"internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning"}


def test_strict_is_the_default_again_after_a_reset(azure):
    assert azure.control.config()["lenient"] is False
    azure.add_vms({"name": "win1", "extension_duration_s": 5})
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a"))
    assert not retry_hints(raw)
    assert wait_operation(azure, raw)["status"] == "Succeeded"
    assert azure.compute.virtual_machines.get(RG, "win1").resources[0].properties.publisher == "Microsoft.Compute"
