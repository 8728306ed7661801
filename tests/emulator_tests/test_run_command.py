"""Run Command through the real azure-mgmt-compute client (begin_run_command, virtual_machine_run_commands)
and raw HTTPS for what the SDK hides: the long-running POST, its limits and errors, the extension it
installs, and the read-only check the collection relies on."""

from __future__ import annotations

import json
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from .conftest import RG, ext_path, local, make_compute, make_credential, put_extension, retry_hints, vmaccess_body
from .rdp_helpers import (CHECK_SCRIPT, check, post_run_command, rdp, run_command, stderr_of, stdout_of,
                          wait_async)

pytestmark = pytest.mark.timeout(120)
BUSY = "Run command extension execution is in progress. Please wait for completion before invoking a run command."
NOT_RUNNING = "Cannot modify extensions in the VM when the VM is not running."
QUICK = {"run_command_duration_s": 2}


def test_the_command_documents_list_pages_and_get(azure):
    azure.control.set_config(page_size=3)
    ids = [doc.id for doc in azure.compute.virtual_machine_run_commands.list("westeurope")]
    assert {"RunPowerShellScript", "RDPSettings", "SetRDPPort", "ResetRDPCert", "DisableNLA", "EnableAdminAccount",
            "IPConfig", "EnableRemotePS", "RunShellScript"} <= set(ids) and len(ids) == len(set(ids))
    first_page = azure.raw("GET", f"/subscriptions/{azure.sub}/providers/Microsoft.Compute/locations/westeurope/"
                                  "runCommands?api-version=2024-11-01").json()
    assert len(first_page["value"]) == 3 and "$skiptoken=" in first_page["nextLink"]
    assert set(first_page["value"][0]) == {"$schema", "id", "osType", "label", "description"}
    doc = azure.compute.virtual_machine_run_commands.get("westeurope", "SetRDPPort")
    assert doc.os_type == "Windows" and doc.script and doc.parameters[0].name == "RDPPORT"
    with pytest.raises(ResourceNotFoundError, match="The entity was not found in this Azure location."):
        azure.compute.virtual_machine_run_commands.get("westeurope", "NoSuchCommand")


def test_the_post_is_a_long_running_operation_like_azures(azure):
    azure.add_vms({"name": "win1", "run_command_duration_s": 100})  # still running at the first poll, even under load
    response = post_run_command(azure, "win1", {"commandId": "IPConfig"})
    assert response.status_code == 202 and response.content == b"" and not retry_hints(response)
    location, async_op = response.headers["Location"], response.headers["Azure-AsyncOperation"]
    assert "monitor=true" in location and "&c=" in async_op and "api-version=2024-11-01" in async_op
    first = azure.raw("GET", local(azure, location))
    assert first.status_code == 202 and not retry_hints(first)
    final = wait_async(azure, response)
    assert final["status"] == "Succeeded" and final["properties"]["output"]["value"][0]["code"] == \
        "ComponentStatus/StdOut/succeeded"
    result = azure.raw("GET", local(azure, location))
    assert result.status_code == 200
    stdout, stderr = result.json()["value"]
    assert stdout["level"] == "Info" and stdout["displayStatus"] == "Provisioning succeeded"
    assert stderr == {"code": "ComponentStatus/StdErr/succeeded", "level": "Info",
                      "displayStatus": "Provisioning succeeded", "message": ""}
    assert "Windows IP Configuration" in stdout["message"]
    assert azure.raw("GET", local(azure, location.replace("&h=", "&h=x"))).status_code == 400   # signed
    kinds = {(r["method"], r["kind"]) for r in azure.control.requests() if "/runCommand" in r["path"]
             or "/operations/" in r["path"]}
    assert kinds == {("POST", "write"), ("GET", "operation")}


def test_the_check_script_reports_the_schema_and_changes_nothing(azure):
    azure.add_vms({"name": "win1", "rdp": "broken", "rdp_port": 3390, "rdp_cert": "expired", "nla": False,
                   "termservice": "stopped", "listener_defaults": False, "builtin_admin_enabled": False, **QUICK})
    before = azure.vm_state("win1")["guest"]
    doc = check(azure, "win1")
    assert azure.vm_state("win1")["guest"] == before                 # a diagnosis is read-only
    assert doc["version"] == 1 and set(doc) == {"version", "rdp", "cert", "termservice", "firewall", "domain", "admin"}
    assert doc["rdp"] == {"deny_ts_connections": 1, "policy_deny_ts_connections": None, "port": 3390,
                          "nla_required": False, "security_layer": 2,
                          "listener_non_default": before["rdp"]["listener_non_default"]}
    assert doc["cert"]["expired"] is True and doc["cert"]["thumbprint"] == before["rdp"]["cert"]["thumbprint"]
    assert set(doc["cert"]) == {"thumbprint", "found", "not_after", "expired", "self_signed"}
    assert doc["termservice"] == {"status": "Stopped", "start_type": "Manual"}
    assert doc["firewall"]["service_running"] is True
    assert doc["firewall"]["rdp_rules"][0] == {"name": "Remote Desktop - User Mode (TCP-In)", "enabled": False,
                                               "local_port": "3389"}
    assert doc["domain"] == {"joined": False, "domain": None, "secure_channel": None}
    assert doc["admin"] == {"name": "azureadmin", "enabled": False}


def test_any_other_powershell_script_succeeds_silently(azure):
    azure.add_vms({"name": "win1", **QUICK})
    result = run_command(azure, "win1", "RunPowerShellScript", script=["Get-Service TermService"])
    assert stdout_of(result) == "" and stderr_of(result) == ""


def test_one_script_at_a_time(azure):
    azure.add_vms({"name": "win1", "run_command_duration_s": 200})
    first = post_run_command(azure, "win1", {"commandId": "IPConfig"})
    second = post_run_command(azure, "win1", {"commandId": "RDPSettings"})
    assert second.status_code == 409 and second.json() == {"error": {"code": "Conflict", "message": BUSY}}
    with pytest.raises(ResourceExistsError, match="Run command extension execution is in progress"):
        run_command(azure, "win1", "IPConfig")
    assert wait_async(azure, first)["status"] == "Succeeded"
    assert post_run_command(azure, "win1", {"commandId": "IPConfig"}).status_code == 202


def test_a_run_takes_its_duration_and_acts_at_its_end(azure):
    azure.add_vms({"name": "win1", "run_command_duration_s": 100})        # 2 s at the tests' time scale
    started = time.monotonic()
    response = post_run_command(azure, "win1", {"commandId": "DisableNLA"})
    assert rdp(azure, "win1")["nla"] is True                           # nothing happens at POST time
    assert wait_async(azure, response)["status"] == "Succeeded"
    assert time.monotonic() - started >= 100 * azure.control.config()["time_scale"] * 0.9
    assert rdp(azure, "win1")["nla"] is False


def test_output_keeps_the_last_4096_bytes_of_each_stream(azure):
    rules = [{"name": f"Remote Desktop - Custom Port {i:03d}", "local_port": str(4000 + i)} for i in range(120)]
    azure.add_vms({"name": "win1", "rdp_firewall_rules": rules, **QUICK})
    line = stdout_of(run_command(azure, "win1", "RunPowerShellScript", script=CHECK_SCRIPT))
    assert len(line.encode()) == 4096 and not line.startswith("AZOPS_RDP_CHECK")
    assert line.endswith('"admin":{"name":"azureadmin","enabled":true}}')


@pytest.mark.parametrize("spec, status, code", [
    ({"power_state": "deallocated"}, 409, "OperationNotAllowed"),
    ({"allow_extension_operations": False}, 409, "OperationNotAllowed"),
])
def test_a_vm_that_cannot_run_extensions_is_refused(azure, spec, status, code):
    azure.add_vms({"name": "win1", **spec})
    response = post_run_command(azure, "win1", {"commandId": "IPConfig"})
    assert response.status_code == status and response.json()["error"]["code"] == code
    if spec.get("power_state"):
        assert response.json()["error"]["message"] == NOT_RUNNING


def test_unknown_commands_and_bad_bodies(azure):
    azure.add_vms({"name": "win1"}, {"name": "lnx1", "os": "linux"})
    unknown = post_run_command(azure, "win1", {"commandId": "FormatC"})
    assert unknown.status_code == 404 and unknown.json()["error"] == {
        "code": "NotFound", "message": "The entity was not found in this Azure location."}
    missing = post_run_command(azure, "win1", {"script": ["x"]})
    assert missing.status_code == 400 and missing.json()["error"]["target"] == "commandId"
    wrong_os = post_run_command(azure, "lnx1", {"commandId": "RDPSettings"})
    assert wrong_os.status_code == 400 and wrong_os.json()["error"]["target"] == "commandId"


def test_a_down_agent_fails_the_run_after_the_agent_timeout(azure):
    azure.add_vms({"name": "win1", "agent": "down", "agent_timeout_s": 50})
    response = post_run_command(azure, "win1", {"commandId": "IPConfig"})
    assert response.status_code == 202
    final = wait_async(azure, response)
    assert final["status"] == "Failed" and final["error"]["code"] == "VMAgentStatusCommunicationError"
    with pytest.raises(HttpResponseError, match="VMAgentStatusCommunicationError"):
        run_command(azure, "win1", "IPConfig")


def test_a_starting_agent_runs_the_command_once_ready(azure):
    azure.add_vms({"name": "win1", "agent": "starting", "agent_ready_after_s": 50, **QUICK})
    assert stdout_of(run_command(azure, "win1", "DisableNLA")).startswith("Configuring registry")
    assert azure.vm_state("win1")["agent"] == "ready"


def test_a_reader_may_list_commands_but_not_run_them(azure):
    azure.add_vms({"name": "win1"})
    reader = azure.emulator.info["reader"]
    credential = make_credential(azure.emulator, reader["client_id"], reader["secret"], reader["tenant"])
    compute = make_compute(azure.emulator, credential)
    assert any(doc.id == "RDPSettings" for doc in compute.virtual_machine_run_commands.list("westeurope"))
    token = credential.get_token(azure.emulator.info["audience"] + ".default").token
    narrow = azure.control.add_principal(actions=["Microsoft.Compute/virtualMachines/*"])
    narrow_token = make_credential(azure.emulator, narrow["client_id"], narrow["secret"], narrow["tenant"]).get_token(
        azure.emulator.info["audience"] + ".default").token
    docs = azure.raw("GET", f"/subscriptions/{azure.sub}/providers/Microsoft.Compute/locations/westeurope/runCommands"
                            "?api-version=2024-11-01", token=narrow_token)
    assert docs.status_code == 403 and "'Microsoft.Compute/locations/runCommands/read'" in docs.json()["error"][
        "message"]
    denied = post_run_command(azure, "win1", {"commandId": "IPConfig"}, token=token)
    scope = f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/win1"
    oid = reader["object_id"]
    assert denied.status_code == 403 and denied.json()["error"] == {"code": "AuthorizationFailed", "message": (
        f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
        f"'Microsoft.Compute/virtualMachines/runCommand/action' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.")}


def test_the_first_run_installs_run_command_windows_like_any_extension(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 5, **QUICK,
                   "extension": {"name": "myVMAccess", "version": "2.4"}})
    run_command(azure, "win1", "IPConfig")
    vm = azure.raw("GET", f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/"
                          "virtualMachines/win1?$expand=instanceView&api-version=2024-11-01").json()
    ext = next(r for r in vm["resources"] if r["name"] == "RunCommandWindows")
    assert ext["properties"]["publisher"] == "Microsoft.CPlat.Core" and ext["properties"]["type"] == "RunCommandWindows"
    assert ext["properties"]["typeHandlerVersion"] == "1.1" and ext["properties"]["provisioningState"] == "Succeeded"
    view = next(e for e in vm["properties"]["instanceView"]["extensions"] if e["name"] == "RunCommandWindows")
    assert view["type"] == "Microsoft.CPlat.Core.RunCommandWindows" and view["typeHandlerVersion"] == "1.1.15"
    assert [s["code"] for s in view["substatuses"]] == [
        "ComponentStatus/StdOut/succeeded", "ComponentStatus/StdErr/succeeded"]
    handlers = [h["type"] for h in vm["properties"]["instanceView"]["vmAgent"]["extensionHandlers"]]
    assert "Microsoft.CPlat.Core.RunCommandWindows" in handlers
    assert azure.compute.virtual_machine_extensions.get(RG, "win1", "RunCommandWindows").name == "RunCommandWindows"
    # one instance per handler still holds, per handler: VMAccess keeps working, its own rule stays
    put_extension(azure, "win1", vmaccess_body(tag="after-run-command"), name="myVMAccess")
    second = azure.raw("PUT", ext_path(azure, "win1", "rc2"), json={"location": "westeurope", "properties": {
        "publisher": "Microsoft.CPlat.Core", "type": "RunCommandWindows", "typeHandlerVersion": "1.1"}})
    assert second.status_code == 400 and second.json()["error"]["innererror"]["internalErrorCode"] == \
        "MultipleExtensionsPerHandlerNotAllowed"
    run_command(azure, "win1", "IPConfig")                            # the installed instance is reused
    names = [e.name for e in azure.compute.virtual_machine_extensions.list(RG, "win1").value]
    assert sorted(names) == ["RunCommandWindows", "myVMAccess"]


def test_linux_runs_through_run_command_linux_with_its_one_status(azure):
    azure.add_vms({"name": "lnx1", "os": "linux", **QUICK})
    result = run_command(azure, "lnx1", "ifconfig")
    assert len(result.value) == 1 and result.value[0].code == "ProvisioningState/succeeded"
    assert result.value[0].message.startswith("Enable succeeded: \n[stdout]\neth0:")
    assert azure.compute.virtual_machine_extensions.get(RG, "lnx1", "RunCommandLinux").type_handler_version == "1.0"


def test_control_api_reports_runs_and_sets_the_duration(azure):
    azure.add_vms({"name": "win1"})
    state = azure.control.patch_vm(azure.sub, RG, "win1", run_command_duration_s=1)["run_command"]
    assert state["duration_s"] == 1.0 and state["extension"] is None and state["pending_operation"] is None
    run_command(azure, "win1", "RunPowerShellScript", script=CHECK_SCRIPT)
    vm = azure.vm_state("win1")
    job = vm["run_command"]["jobs"][-1]
    assert job["command_id"] == "RunPowerShellScript" and json.loads(job["stdout"].split(" ", 1)[1])["version"] == 1
    assert vm["run_history"][-1]["kind"] == "run_command" and vm["run_command"]["extension"] == "RunCommandWindows"
    counters = azure.control.counters()
    assert counters["run_commands"] == 1 and counters["run_command_runs"] == 1


def test_the_sdk_models_serialize_to_what_the_emulator_reads(azure):
    from azure.mgmt.compute.models import RunCommandInput, RunCommandInputParameter
    azure.add_vms({"name": "win1", **QUICK})
    body = RunCommandInput(command_id="SetRDPPort", parameters=[RunCommandInputParameter(name="RDPPORT", value="3391")])
    poller = azure.compute.virtual_machines.begin_run_command(RG, "win1", body, polling_interval=0.05)
    assert stdout_of(poller.result(timeout=30)).startswith("Get RDP PortNumber: 3389\nSetting RDP PortNumber to 3391")
    assert rdp(azure, "win1")["port"] == 3391
