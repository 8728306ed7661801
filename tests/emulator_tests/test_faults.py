"""Injected faults: status codes, delays, dropped connections, operations that never finish."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import RG, put_extension, vmaccess_body

pytestmark = pytest.mark.timeout(60)


def _ext_url(azure, vm="v"):
    return (f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{vm}"
            "/extensions/enablevmaccess?api-version=2024-11-01")


def test_status_fault_n_times_and_sdk_retries(azure):
    azure.add_vms({"name": "v"})
    fault = azure.control.add_fault(method="GET", path=r"/virtualMachines/v$", status=503, retry_after=0.05, count=2)
    assert azure.compute.virtual_machines.get(RG, "v").name == "v"
    rule = next(f for f in azure.control.faults() if f["id"] == fault)
    assert rule["hits"] == 2 and rule["remaining"] == 0
    statuses = [r["status"] for r in azure.control.requests() if r["path"].endswith("/v")]
    assert statuses == [503, 503, 200]
    raw_fault = azure.control.add_fault(path="/virtualMachines/v$", status=500, code="InternalServerError", count=1)
    answer = azure.raw("GET", _ext_url(azure).replace("/extensions/enablevmaccess", ""))
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "InternalServerError"
    assert "Retry-After" not in answer.headers
    azure.control.remove_fault(raw_fault)


def test_probability_and_vm_filter(azure):
    azure.add_vms({"name": "a"}, {"name": "b"})
    azure.control.add_fault(path="virtualMachines", vm="a", status=429, retry_after=0.01, probability=0.0)
    azure.control.add_fault(path="virtualMachines", vm="b", status=409, code="Conflict", message="injected")
    assert azure.compute.virtual_machines.get(RG, "a").name == "a"
    answer = azure.raw("GET", _ext_url(azure, "b").replace("/extensions/enablevmaccess", ""))
    assert answer.status_code == 409 and answer.json()["error"] == {"code": "Conflict", "message": "injected"}
    hits = {f["vm"]: f["hits"] for f in azure.control.faults()}
    assert hits == {"a": 0, "b": 1}


def test_delay_fault(azure):
    azure.add_vms({"name": "v"})
    azure.control.add_fault(action="delay", path="/virtualMachines/v$", delay_s=0.4, count=1)
    started = time.monotonic()
    azure.compute.virtual_machines.get(RG, "v")
    assert time.monotonic() - started >= 0.4


def test_drop_before_processing(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 1})
    azure.control.add_fault(action="drop_before", method="PUT", path="/extensions/", count=1)
    with pytest.raises(requests.ConnectionError):
        azure.raw("PUT", _ext_url(azure), json=vmaccess_body(tag="x"))
    assert azure.vm_state("v")["extensions"] == []          # nothing landed
    put_extension(azure, "v", vmaccess_body(tag="x"))        # no fault left: works
    assert azure.vm_state("v")["run_count"] == 1


def test_drop_after_processing_the_put_lands(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 1, "rdp": "broken"})
    azure.control.add_fault(action="drop_after", method="PUT", path="/extensions/", count=1)
    with pytest.raises(requests.ConnectionError):
        azure.raw("PUT", _ext_url(azure), json=vmaccess_body(tag="x"))
    state = azure.vm_state("v")
    assert state["extensions"][0]["force_update_tag"] == "x"  # the client never heard, but the PUT landed
    time.sleep(1 * azure.emulator.time_scale + 0.1)
    assert azure.vm_state("v")["guest"]["rdp_enabled"] is True
    # the SDK's own retry on a dropped PUT: it resends and the run is not repeated (same body)
    azure.control.add_fault(action="drop_after", method="PUT", path="/extensions/", count=1)
    put_extension(azure, "v", vmaccess_body(tag="x"))
    assert azure.vm_state("v")["run_count"] == 1


def test_operation_that_never_finishes(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 1})
    azure.control.add_fault(action="never_finish", method="PUT", path="/extensions/", count=1)
    # polling=False: a poller thread left waiting forever would outlive the test
    poller = azure.compute.virtual_machine_extensions.begin_create_or_update(
        RG, "v", "enablevmaccess", vmaccess_body(tag="x"), polling=False)
    operation = poller.polling_method()._initial_response.http_response.headers["Azure-AsyncOperation"]
    deadline = time.monotonic() + 0.5          # 25x the run's scaled duration
    while time.monotonic() < deadline:
        status = azure.raw("GET", operation.replace(azure.emulator.url, "")).json()["status"]
        assert status == "InProgress"
        time.sleep(0.05)
    state = azure.vm_state("v")
    assert state["extensions"][0]["pending_operation"]["never_finish"] is True
    assert state["extensions"][0]["provisioning_state"] == "Creating" and state["run_count"] == 0
