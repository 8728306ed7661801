"""ARM token buckets and Compute limits: headers, 429 bodies, and the SDK's own retry recovering."""

from __future__ import annotations

import json

import pytest

from .conftest import RG, put_extension, vmaccess_body

pytestmark = pytest.mark.timeout(60)


def _vm_path(sub, vm="v"):
    return f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{vm}"


def test_remaining_read_header_counts_down(azure):
    azure.add_vms({"name": "v"})
    token = azure.token()
    seen = [int(azure.raw("GET", _vm_path(azure.sub) + "?api-version=2024-11-01", token=token)
                .headers["x-ms-ratelimit-remaining-subscription-reads"]) for _attempt in range(3)]
    assert seen[0] <= 249 and seen[1] <= seen[0] and seen[2] <= seen[1]


def test_arm_read_throttling_429_and_sdk_retry_recovers(azure):
    azure.add_vms({"name": "v"})
    # 3-token burst refilling so slowly that no machine load lets a token come back mid-loop
    azure.control.set_config(limits={"arm_reads_burst": 3, "arm_reads_per_s": 0.0001})
    token = azure.token()
    answers = [azure.raw("GET", _vm_path(azure.sub) + "?api-version=2024-11-01", token=token) for _attempt in range(5)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, [a.status_code for a in answers]
    error = throttled[0].json()["error"]
    assert error["code"] == "SubscriptionRequestsThrottled" and "https://aka.ms/arm-throttling" in error["message"]
    assert int(throttled[0].headers["retry-after-ms"]) > 0
    assert throttled[0].headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    # the SDK's RetryPolicy honours the hint and gets through (refilling 1/s, x time_scale -> fast)
    azure.control.set_config(limits={"arm_reads_burst": 3, "arm_reads_per_s": 1.0})
    for _attempt in range(6):
        assert azure.compute.virtual_machines.get(RG, "v").name == "v"
    log = azure.control.requests()
    assert any(r["status"] == 429 and r["throttled"] for r in log)
    assert azure.control.counters()["429"] >= 1


def test_compute_per_vm_update_limit(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 600})
    azure.control.set_config(limits={"vm_updates_per_min": 2})
    token = azure.token()
    answers = [azure.raw("PUT", _vm_path(azure.sub) + "/extensions/enablevmaccess?api-version=2024-11-01",
                         token=token, json=vmaccess_body(tag=f"t{i}")) for i in range(3)]
    # the first lands, the second meets the running operation, the third is over the per-VM budget
    assert [a.status_code for a in answers] == [201, 409, 429]
    assert "UpdateVMResource;1" in answers[0].headers["x-ms-ratelimit-remaining-resource"]
    body = answers[2].json()["error"]
    assert body["code"] == "OperationNotAllowed"
    assert body["message"] == ("The server rejected the request because too many requests have been received "
                               "for this subscription.")
    assert body["details"][0]["code"] == "TooManyRequests" and body["details"][0]["target"] == "UpdateVMResource"
    assert json.loads(body["details"][0]["message"])["allowedRequestCount"] == 2
    assert answers[2].headers["x-ms-ratelimit-remaining-resource"] == "Microsoft.Compute/UpdateVMResource;0"
    assert int(answers[2].headers["retry-after-ms"]) > 0


def test_sdk_recovers_from_compute_429_on_put(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 1})
    azure.control.set_config(limits={"vm_updates_per_min": 1})
    put_extension(azure, "v", vmaccess_body(tag="a"))
    put_extension(azure, "v", vmaccess_body(tag="b"))   # first try is a 429, the retry after the hint lands
    assert azure.vm_state("v")["run_count"] == 2
    assert [r["status"] for r in azure.control.requests() if r["method"] == "PUT"].count(429) >= 1


def test_throttling_can_be_switched_off(azure):
    azure.add_vms({"name": "v"})
    azure.control.set_config(throttling_enabled=False, limits={"arm_reads_burst": 1, "arm_reads_per_s": 0.001})
    token = azure.token()
    assert all(azure.raw("GET", _vm_path(azure.sub) + "?api-version=2024-11-01", token=token).status_code == 200
               for _attempt in range(5))
