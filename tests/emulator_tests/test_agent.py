"""The two 'not ready' agents of facts §8.2: starting (a PUT waits) and down (a PUT fails late)
(brief point 13)."""

from __future__ import annotations

import time

import pytest

from .conftest import RG, ext_path, local, parse_time, put_extension, vm_path, vmaccess_body, wait_operation

pytestmark = pytest.mark.timeout(60)
API = "api-version=2024-11-01"


def _view(azure, vm: str) -> dict:
    return azure.raw("GET", f"{vm_path(azure, vm)}?$expand=instanceView&{API}").json()["properties"]["instanceView"]


def test_a_starting_agent_is_not_yet_populated_and_a_put_waits_for_it(azure):
    ready_after = 50                     # simulated; 1 s real at the session's 0.02
    azure.add_vms({"name": "boot", "agent": "starting", "agent_ready_after_s": ready_after,
                   "extension_duration_s": 5, "rdp": "broken"})
    started = time.time()
    view = _view(azure, "boot")
    agent = view["vmAgent"]
    assert agent["vmAgentVersion"] == "Unknown"
    status = agent["statuses"][0]
    assert {k: status[k] for k in ("code", "level", "displayStatus", "message")} == {
        "code": "ProvisioningState/Unavailable", "level": "Warning", "displayStatus": "Not Ready",
        "message": "VM status blob is found but not yet populated."}
    assert abs(parse_time(status["time"]) - time.time()) < 5     # a current time
    assert not {"computerName", "osName", "osVersion"} & set(view)
    raw = azure.raw("PUT", ext_path(azure, "boot"), json=vmaccess_body(tag="x"))
    assert raw.status_code == 201
    assert azure.raw("GET", local(azure, raw.headers["Azure-AsyncOperation"])).json()["status"] == "InProgress"
    final = wait_operation(azure, raw)
    assert final["status"] == "Succeeded"
    assert parse_time(final["endTime"]) >= started + ready_after * azure.emulator.time_scale - 0.1
    view = _view(azure, "boot")
    assert view["vmAgent"]["statuses"][0]["displayStatus"] == "Ready" and view["computerName"] == "boot"
    assert azure.vm_state("boot")["guest"]["rdp_enabled"] is True


def test_a_down_agent_reports_an_old_time_and_a_put_fails_after_the_timeout(azure):
    timeout_s = 40                       # simulated; 0.8 s real
    azure.add_vms({"name": "deaf", "agent": "down", "agent_down_since_s": 1800, "agent_timeout_s": timeout_s})
    status = _view(azure, "deaf")["vmAgent"]["statuses"][0]
    assert status["message"] == "VM Agent is unresponsive." and status["displayStatus"] == "Not Ready"
    assert time.time() - parse_time(status["time"]) >= 1790      # old: 30 real minutes, whatever the scale
    raw = azure.raw("PUT", ext_path(azure, "deaf"), json=vmaccess_body(tag="x"))
    assert raw.status_code == 201
    assert azure.raw("GET", local(azure, raw.headers["Azure-AsyncOperation"])).json()["status"] == "InProgress"
    final = wait_operation(azure, raw)
    assert final["status"] == "Failed" and final["error"]["code"] == "VMAgentStatusCommunicationError"
    took = parse_time(final["endTime"]) - parse_time(final["startTime"])
    assert took == pytest.approx(timeout_s * azure.emulator.time_scale, abs=0.05)
    assert azure.vm_state("deaf")["run_count"] == 0


def test_agent_states_seed_and_patch_with_not_ready_and_down(azure):
    azure.add_vms({"name": "a", "agent": "not_ready"}, {"name": "b", "agent": "down"}, {"name": "c"})
    assert azure.vm_state("a")["agent"] == azure.vm_state("b")["agent"] == "not_ready"
    azure.control.patch_vm(azure.sub, RG, "c", agent="down", agent_down_since_s=900)
    status = _view(azure, "c")["vmAgent"]["statuses"][0]
    assert status["message"] == "VM Agent is unresponsive."
    assert 890 <= time.time() - parse_time(status["time"]) <= 960
    azure.control.patch_vm(azure.sub, RG, "c", agent="ready")
    azure.control.patch_vm(azure.sub, RG, "c", power_state="deallocated")
    assert "vmAgent" not in _view(azure, "c")
    azure.control.patch_vm(azure.sub, RG, "c", power_state="running")      # a fresh start: starting
    assert azure.vm_state("c")["agent"] == "starting"
    assert _view(azure, "c")["vmAgent"]["statuses"][0]["message"] == "VM status blob is found but not yet populated."


def test_sdk_put_through_a_starting_agent(azure):
    azure.add_vms({"name": "boot", "agent": "starting", "agent_ready_after_s": 20, "extension_duration_s": 5})
    put_extension(azure, "boot", vmaccess_body(tag="x"))
    state = azure.vm_state("boot")
    assert state["agent"] == "ready" and state["run_count"] == 1
