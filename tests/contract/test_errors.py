"""ARM error bodies of the operations the collection uses: 400, 401, 403, 404, 409, 429.

Every body is checked against Compute's CloudError ({"error": ApiError}) as the operations
declare it, with what real traffic shows (deviations.py): innererror may carry
internalErrorCode (facts 4), a 409 carries no innererror (facts 8.3), code and message are
always there. A 429 carries Retry-After (facts 4).
"""

from __future__ import annotations

import uuid

import pytest

from .harness import LOCATION, seed

pytestmark = pytest.mark.emulator

VMACCESS_EXT = {"name": "enablevmaccess", "version": "2.4.11"}


def body(ext_type: str = "VMAccessAgent") -> dict:
    return {"location": LOCATION, "properties": {
        "publisher": "Microsoft.Compute", "type": ext_type, "typeHandlerVersion": "2.4",
        "autoUpgradeMinorVersion": True, "settings": {}, "protectedSettings": {}}}


def expect_error(check, response, status: int, code: str, what: str) -> dict:
    assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    doc = response.json()
    check("ErrorBody409" if status == 409 else "ErrorBody", doc, f"{what} ({status})")
    assert doc["error"]["code"] == code, doc
    return doc


@pytest.fixture
def vms(fresh_emulator):
    seed(fresh_emulator,
         {"name": "win-ok", "extension": VMACCESS_EXT},
         {"name": "win-deallocated", "power_state": "deallocated"},
         {"name": "win-no-ext-ops", "allow_extension_operations": False},
         {"name": "win-busy", "extension_duration_s": 10 ** 6})
    return fresh_emulator


def test_400_missing_api_version(vms, arm, check):
    response = arm.call("GET", arm.vm_path("win-ok"), api_version=None)
    expect_error(check, response, 400, "MissingApiVersionParameter", "GET without api-version")


def test_400_malformed_body(vms, arm, check):
    response = arm.call("PUT", arm.ext_path("win-ok", "enablevmaccess"), data="{not json")
    expect_error(check, response, 400, "InvalidRequestContent", "PUT with malformed JSON")


def test_400_second_vmaccess_instance(vms, arm, check):
    response = arm.call("PUT", arm.ext_path("win-ok", "another"), body=body())
    doc = expect_error(check, response, 400, "BadRequest", "PUT of a second VMAccess instance")
    assert doc["error"].get("innererror", {}).get("internalErrorCode") == "MultipleExtensionsPerHandlerNotAllowed"


def test_400_property_change(vms, arm, check):
    response = arm.call("PUT", arm.ext_path("win-ok", "enablevmaccess"), body=body("CustomScriptExtension"))
    expect_error(check, response, 400, "PropertyChangeNotAllowed", "PUT changing the type")


@pytest.mark.parametrize("token", [None, "garbled"], ids=["missing", "garbled"])
def test_401(vms, arm, check, token):
    response = arm.call("GET", arm.vm_path("win-ok"), token=token)
    expect_error(check, response, 401, "AuthenticationFailed", f"GET with a {token or 'missing'} token")


def test_403_authorization_failed(vms, reader_arm, check):
    response = reader_arm.call("PUT", reader_arm.ext_path("win-ok", "enablevmaccess"), body=body())
    expect_error(check, response, 403, "AuthorizationFailed", "PUT as a Reader")


@pytest.mark.parametrize("what", ["vm", "extension", "vm of extension", "resource group", "subscription",
                                  "operation"])
def test_404(vms, arm, check, what):
    paths = {
        "vm": (arm.vm_path("nope"), "ResourceNotFound"),
        "extension": (arm.ext_path("win-ok", "nope"), "ResourceNotFound"),
        "vm of extension": (arm.ext_path("nope", "enablevmaccess"), "ResourceNotFound"),
        "resource group": (arm.vm_path("win-ok", rg="rg-nope"), "ResourceGroupNotFound"),
        "subscription": (arm.vm_path("win-ok", sub=str(uuid.uuid4())), "SubscriptionNotFound"),
        "operation": (f"/subscriptions/{arm.sub}/providers/Microsoft.Compute/locations/{LOCATION}/operations/"
                      f"{uuid.uuid4()}", "NotFound"),
    }
    path, code = paths[what]
    expect_error(check, arm.get(path), 404, code, f"GET of a missing {what}")


def test_409_vm_not_running(vms, arm, check):
    response = arm.call("PUT", arm.ext_path("win-deallocated", "enablevmaccess"), body=body())
    expect_error(check, response, 409, "OperationNotAllowed", "PUT on a deallocated VM")


def test_409_extension_operations_disallowed(vms, arm, check):
    response = arm.call("PUT", arm.ext_path("win-no-ext-ops", "enablevmaccess"), body=body())
    expect_error(check, response, 409, "OperationNotAllowed", "PUT with extension operations disallowed")


def test_409_conflict(vms, arm, check):
    first = arm.call("PUT", arm.ext_path("win-busy", "enablevmaccess"), body=body())
    assert first.status_code == 201, first.text
    second = {**body(), "properties": {**body()["properties"], "forceUpdateTag": "other"}}
    response = arm.call("PUT", arm.ext_path("win-busy", "enablevmaccess"), body=second)
    expect_error(check, response, 409, "Conflict", "a different PUT while an operation runs")


def test_429_arm_throttling(vms, arm, check):
    vms.control.set_config(limits={"arm_reads_burst": 2, "arm_reads_per_s": 0.001})
    responses = [arm.get(arm.vm_path(vm)) for vm in ("win-ok", "win-ok", "win-ok")]
    doc = expect_error(check, responses[-1], 429, "SubscriptionRequestsThrottled", "GET over the ARM read budget")
    assert responses[-1].headers.get("Retry-After", "").isdigit(), responses[-1].headers
    assert doc["error"]["message"]


def test_429_compute_throttling(vms, arm, check):
    vms.control.set_config(limits={"vm_updates_per_min": 1})
    first = arm.call("PUT", arm.ext_path("win-ok", "enablevmaccess"), body=body())
    assert first.status_code == 200, first.text
    response = arm.call("PUT", arm.ext_path("win-ok", "enablevmaccess"), body=body())
    doc = expect_error(check, response, 429, "OperationNotAllowed", "PUT over UpdateVMResource")
    assert response.headers.get("Retry-After", "").isdigit(), response.headers
    assert [d["code"] for d in doc["error"].get("details", [])] == ["TooManyRequests"], doc
