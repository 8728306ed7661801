"""VMAccess extension: PUT + LRO + instance view + effect in the simulated guest."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import (RG, delete_extension, ext_path, put_extension, retry_hints, vm_path, vmaccess_body,
                       wait_operation)

pytestmark = pytest.mark.timeout(60)
PASSWORD = "N3w-Passw0rd!x"
FAST = {"extension_duration_s": 5}


def test_password_reset_runs_in_guest(azure):
    azure.add_vms({"name": "win1", "admin_username": "opsadmin", "rdp": "broken", **FAST})
    body = vmaccess_body({"UserName": "opsadmin"}, {"Password": PASSWORD})
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=body)
    assert raw.status_code == 201
    assert raw.json()["properties"]["provisioningState"] == "Creating"
    assert "/providers/Microsoft.Compute/locations/westeurope/operations/" in raw.headers["Azure-AsyncOperation"]
    assert raw.headers["Azure-AsyncNotification"] == "Enabled"
    assert not retry_hints(raw)
    assert "Microsoft.Compute/UpdateVMResource;" in raw.headers["x-ms-ratelimit-remaining-resource"]
    assert PASSWORD not in raw.text and "protectedSettings" not in raw.text
    assert wait_operation(azure, raw)["status"] == "Succeeded"
    # the SDK's poller on a PUT of the same body (no change -> no second run)
    result = put_extension(azure, "win1", body)
    assert result.properties.provisioning_state == "Succeeded"
    ext = azure.compute.virtual_machine_extensions.get(RG, "win1", "enablevmaccess", expand="instanceView")
    status = ext.properties.instance_view.statuses[0]
    assert status.code == "ProvisioningState/succeeded" and status.level == "Info"
    assert status.message.startswith("Succesfully updated Admin account")
    assert ext.properties.instance_view.type == "Microsoft.Compute.VMAccessAgent"
    assert ext.properties.instance_view.type_handler_version == "2.4.11"
    state = azure.vm_state("win1")
    assert state["run_count"] == 1
    assert state["guest"]["rdp_enabled"] and state["guest"]["firewall_rule_enabled"]
    assert azure.control.verify_password(azure.sub, RG, "win1", "opsadmin", PASSWORD)
    assert not azure.control.verify_password(azure.sub, RG, "win1", "opsadmin", "something-else")
    assert PASSWORD not in json.dumps(state)
    get_raw = azure.raw("GET", ext_path(azure, "win1"))
    assert "protectedSettings" not in get_raw.text and PASSWORD not in get_raw.text
    assert get_raw.json()["properties"]["settings"] == {"UserName": "opsadmin"}
    # the VM model lists the extension in 'resources'; its instance view lists the handler
    vm = azure.raw("GET", vm_path(azure, "win1") + "?$expand=instanceView&api-version=2024-11-01").json()
    assert vm["resources"][0]["name"] == "enablevmaccess"
    assert vm["properties"]["instanceView"]["extensions"][0]["statuses"][0]["code"] == "ProvisioningState/succeeded"


def test_new_username_adds_an_admin_or_renames_on_old_builds(azure):
    azure.add_vms({"name": "add", **FAST}, {"name": "ren", "vmaccess_user_mode": "rename", **FAST},
                  {"name": "dis", "accounts": [{"name": "helpdesk", "admin": True, "enabled": False}], **FAST})
    put_extension(azure, "add", vmaccess_body({"UserName": "breakglass"}, {"Password": PASSWORD}))
    accounts = {a["name"]: a for a in azure.vm_state("add")["guest"]["accounts"]}
    assert set(accounts) == {"azureadmin", "breakglass"} and accounts["breakglass"]["admin"]
    put_extension(azure, "ren", vmaccess_body({"UserName": "breakglass"}, {"Password": PASSWORD}))
    assert [a["name"] for a in azure.vm_state("ren")["guest"]["accounts"]] == ["breakglass"]
    assert azure.control.verify_password(azure.sub, RG, "ren", "breakglass", PASSWORD)
    put_extension(azure, "dis", vmaccess_body({"UserName": "helpdesk"}, {"Password": PASSWORD}))
    helpdesk = {a["name"]: a for a in azure.vm_state("dis")["guest"]["accounts"]}["helpdesk"]
    assert helpdesk["enabled"] and helpdesk["password_changes"] == 1


def test_rdp_reset_enables_rdp_and_firewall_rule(azure):
    azure.add_vms({"name": "win1", "rdp": "broken", "rdp_port": 3390, **FAST})
    before = azure.vm_state("win1")["guest"]
    assert not before["rdp_enabled"] and not before["firewall_rule_enabled"]
    put_extension(azure, "win1", vmaccess_body(tag="ticket-1"))
    guest = azure.vm_state("win1")["guest"]
    assert guest["rdp_enabled"] and guest["firewall_rule_enabled"] and guest["rdp_port"] == 3390
    ext = azure.compute.virtual_machine_extensions.get(RG, "win1", "enablevmaccess", expand="instanceView")
    assert "Remote Desktop" in ext.properties.instance_view.statuses[0].message


def test_rerun_only_when_settings_or_tag_change(azure):
    azure.add_vms({"name": "win1", **FAST})
    put_extension(azure, "win1", vmaccess_body(tag="a"))
    assert azure.vm_state("win1")["run_count"] == 1
    azure.control.patch_vm(azure.sub, RG, "win1", rdp_enabled=False)
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a"))
    assert raw.status_code == 200 and raw.json()["properties"]["provisioningState"] == "Updating"
    assert wait_operation(azure, raw)["status"] == "Succeeded"
    put_extension(azure, "win1", vmaccess_body(tag="a"))           # same body: accepted, nothing runs
    state = azure.vm_state("win1")
    assert state["run_count"] == 1 and state["guest"]["rdp_enabled"] is False
    put_extension(azure, "win1", vmaccess_body(tag="b"))           # new tag: runs
    state = azure.vm_state("win1")
    assert state["run_count"] == 2 and state["guest"]["rdp_enabled"] is True
    assert [h["force_update_tag"] for h in state["run_history"]] == ["a", "b"]
    # a changed protected setting alone also reruns (compared without being stored)
    put_extension(azure, "win1", vmaccess_body({"UserName": "azureadmin"}, {"Password": PASSWORD}, tag="b"))
    put_extension(azure, "win1", vmaccess_body({"UserName": "azureadmin"}, {"Password": PASSWORD + "2"}, tag="b"))
    assert azure.vm_state("win1")["run_count"] == 4


def test_same_tag_after_a_failure_says_succeeded_without_running(azure):
    azure.add_vms({"name": "win1", "failure_mode": "firewall_service_stopped", **FAST})
    with pytest.raises(HttpResponseError):
        put_extension(azure, "win1", vmaccess_body(tag="t1"))
    azure.control.patch_vm(azure.sub, RG, "win1", firewall_service_running=True)
    put_extension(azure, "win1", vmaccess_body(tag="t1"))          # the trap: "Succeeded", nothing ran
    ext = azure.compute.virtual_machine_extensions.get(RG, "win1", "enablevmaccess", expand="instanceView")
    assert ext.properties.provisioning_state == "Succeeded"
    assert ext.properties.instance_view.statuses[0].code == "ProvisioningState/failed/0"
    assert azure.vm_state("win1")["run_count"] == 1


def test_one_vmaccess_per_vm(azure):
    azure.add_vms({"name": "app-01", "extension": {"name": "myVMAccess", "version": "2.4.9"}, **FAST})
    raw = azure.raw("PUT", ext_path(azure, "app-01"), json=vmaccess_body(tag="x"))
    assert raw.status_code == 400
    error = raw.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"] == ("Multiple VMExtensions per handler not supported for OS type 'Windows'. VMExtension "
                                "'myVMAccess' with handler 'Microsoft.Compute.VMAccessAgent' already added or "
                                "specified in input.")
    assert error["innererror"] == {"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"}
    with pytest.raises(HttpResponseError) as info:
        put_extension(azure, "app-01", vmaccess_body(tag="x"))
    assert info.value.status_code == 400 and info.value.error.innererror["internalErrorCode"] == \
        "MultipleExtensionsPerHandlerNotAllowed"
    # reusing the existing name (any case) works and keeps the existing build
    put_extension(azure, "app-01", vmaccess_body(tag="x", version="2.4") | {}, name="MYVMACCESS")
    ext = azure.compute.virtual_machine_extensions.get(RG, "app-01", "myVMAccess", expand="instanceView")
    assert ext.name == "myVMAccess" and ext.properties.instance_view.type_handler_version.startswith("2.4.")
    # publisher/type of an existing name cannot change
    other = vmaccess_body(publisher="Microsoft.Azure.Extensions", ext_type="CustomScript", version="2.1")
    raw = azure.raw("PUT", ext_path(azure, "app-01", "myVMAccess"), json=other)
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "PropertyChangeNotAllowed"
    assert raw.json()["error"]["target"] == "publisher"


def test_vm_not_running_or_extensions_disallowed_is_409(azure):
    azure.add_vms({"name": "off", "power_state": "deallocated"}, {"name": "noext", "allow_extension_operations": False},
                  {"name": "on", **FAST})
    with pytest.raises(HttpResponseError) as info:
        put_extension(azure, "off", vmaccess_body(tag="x"))
    assert info.value.status_code == 409 and info.value.error.code == "OperationNotAllowed"
    assert info.value.error.message == "Cannot modify extensions in the VM when the VM is not running."
    body = info.value.response.json()["error"]
    assert "innererror" not in body       # 409s carry details[], never innererror (facts §8.3)
    assert body["details"] == [{"code": "CannotModifyExtensionsWhenVMNotRunning",
                                "message": "Cannot modify extensions in the VM when the VM is not running."}]
    with pytest.raises(HttpResponseError) as info:
        put_extension(azure, "noext", vmaccess_body(tag="x"))
    assert info.value.status_code == 409 and "allowExtensionOperations" in info.value.error.message
    assert set(info.value.response.json()["error"]) == {"code", "message"}
    azure.control.patch_vm(azure.sub, RG, "on", power_state="stopped")     # stopped between pre-flight and PUT
    with pytest.raises(HttpResponseError) as info:
        put_extension(azure, "on", vmaccess_body(tag="x"))
    assert info.value.status_code == 409
    assert azure.vm_state("on")["extensions"] == [] and azure.vm_state("on")["run_count"] == 0


def test_agent_not_ready_fails_after_timeout(azure):
    azure.add_vms({"name": "deaf", "agent": "not_ready", "agent_timeout_s": 30, **FAST})
    with pytest.raises(HttpResponseError) as info:
        put_extension(azure, "deaf", vmaccess_body(tag="x"))
    assert info.value.error.code == "VMAgentStatusCommunicationError"
    assert info.value.error.message.startswith("VM 'deaf' has not reported status for VM agent or extensions.")
    ext = azure.compute.virtual_machine_extensions.get(RG, "deaf", "enablevmaccess")
    assert ext.properties.provisioning_state == "Failed"
    state = azure.vm_state("deaf")
    assert state["run_count"] == 0 and state["run_history"][-1]["outcome"] == "agent_timeout"


def test_starting_agent_delays_the_run_until_ready(azure):
    azure.add_vms({"name": "boot", "agent": "starting", "agent_ready_after_s": 40, **FAST})
    put_extension(azure, "boot", vmaccess_body(tag="x"))
    state = azure.vm_state("boot")
    assert state["agent"] == "ready" and state["run_count"] == 1


WEAK = {"min_length": 14, "complexity": True}
GUEST_FAILURES = [
    ({"password_policy": WEAK}, {"UserName": "azureadmin"}, {"Password": "short1!A"}, "0x800708C5"),
    ({}, {"UserName": "azureadmin"}, {"Password": ""},
     "The Admin User Account password cannot be null or empty if provided the username."),
    ({"accounts": [{"name": "bob", "admin": False}]}, {"UserName": "bob"}, {"Password": PASSWORD},
     "User account bob already exists but cannot be updated because it is not in the Administrators group."),
    ({"failure_mode": "domain_controller"}, {}, {}, "VMAccess Extension does not support Domain Controller."),
    ({"failure_mode": "firewall_service_stopped"}, {}, {}, "0x800706D9"),
]


@pytest.mark.parametrize("vm_spec,settings,protected,expected", GUEST_FAILURES,
                         ids=["policy", "empty-password", "not-admin", "domain-controller", "firewall-service"])
def test_in_guest_failures_surface_the_handler_message(azure, vm_spec, settings, protected, expected):
    azure.add_vms({"name": "win1", "rdp": "broken", **FAST, **vm_spec})
    with pytest.raises(HttpResponseError) as info:
        put_extension(azure, "win1", vmaccess_body(settings, protected, tag="x"))
    error = info.value.error
    assert error.code == "VMExtensionProvisioningError"
    assert error.message.startswith("VM has reported a failure when processing extension 'enablevmaccess' "
                                    "(publisher 'Microsoft.Compute' and type 'VMAccessAgent'). Error message: '")
    assert expected in error.message and "https://aka.ms/vmextensionwindowstroubleshoot" in error.message
    ext = azure.compute.virtual_machine_extensions.get(RG, "win1", "enablevmaccess", expand="instanceView")
    assert ext.properties.provisioning_state == "Failed"
    status = ext.properties.instance_view.statuses[0]
    assert status.code.startswith("ProvisioningState/failed/") and status.level == "Error"
    assert status.display_status == "Provisioning failed" and expected in status.message
    state = azure.vm_state("win1")
    assert state["guest"]["rdp_enabled"] is False          # nothing took effect
    assert all(a["password_changes"] == 0 for a in state["guest"]["accounts"])


def test_put_while_running_is_a_conflict_and_unknown_version_404(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 600})
    assert azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a")).status_code == 201
    second = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="b"))
    assert second.status_code == 409 and second.json()["error"]["code"] == "Conflict"
    assert "innererror" not in second.json()["error"]
    third = azure.raw("PUT", ext_path(azure, "win1", "other"), json=vmaccess_body(tag="b", version="1.0"))
    assert third.status_code == 400   # one-per-handler is checked first
    azure.add_vms({"name": "win2"})
    missing = azure.raw("PUT", ext_path(azure, "win2"), json=vmaccess_body(version="3.1"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ArtifactVersionNotFound"


def test_delete_extension(azure):
    azure.add_vms({"name": "win1", "extension": {"name": "enablevmaccess", "version": "2.4.11"}})
    azure.control.set_config(delete_duration_s=5)
    raw = azure.raw("DELETE", ext_path(azure, "win1"))
    assert raw.status_code == 202 and "monitor=true" in raw.headers["Location"]
    assert "retry-after" not in {h.lower() for h in raw.headers}
    assert azure.vm_state("win1")["extensions"][0]["provisioning_state"] == "Deleting"
    assert wait_operation(azure, raw)["status"] == "Succeeded"
    assert azure.vm_state("win1")["extensions"] == []
    # the SDK's poller (Location / Azure-AsyncOperation) on a fresh delete
    put_extension(azure, "win1", vmaccess_body(tag="again"))
    delete_extension(azure, "win1")
    assert azure.vm_state("win1")["extensions"] == []
    assert azure.raw("GET", ext_path(azure, "win1")).status_code == 404
    gone = azure.raw("DELETE", ext_path(azure, "win1"))
    assert gone.status_code == 204
    # and a new instance can now be created under another name
    put_extension(azure, "win1", vmaccess_body(tag="n"), name="VMAccessAgent")
    assert [e["name"] for e in azure.vm_state("win1")["extensions"]] == ["VMAccessAgent"]
