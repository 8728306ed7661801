"""VirtualMachineExtensions_CreateOrUpdate (201, 200), _Delete (202, 204) and the async
operation documents (InProgress, Succeeded, Failed).

Facts of real traffic checked beside the definitions (AZURE_VMACCESS_FACTS.md 5.2, 8.3): the PUT
answers carry Azure-AsyncOperation and no retry hint, nor do the operation polls; a failed
operation is HTTP 200 with status Failed and an error; no response carries protectedSettings.
"""

from __future__ import annotations

import pytest

from .harness import LOCATION, same_origin, seed

pytestmark = pytest.mark.emulator

RETRY_HINTS = ("Retry-After", "retry-after-ms", "x-ms-retry-after-ms")


def vmaccess(tag: str | None = None, user: str = "azureadmin") -> dict:
    props = {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
             "autoUpgradeMinorVersion": True, "settings": {"UserName": user},
             "protectedSettings": {"Password": "Contract-Test-1!"}}
    if tag:
        props["forceUpdateTag"] = tag
    return {"location": LOCATION, "properties": props}


def no_retry_hints(response, what: str) -> None:
    present = [h for h in RETRY_HINTS if h in response.headers]
    assert not present, f"{what} carries retry hints {present} (facts 8.3: none in recorded traffic)"


def put_and_check(arm, check, vm: str, body: dict, expected_status: int, name: str = "enablevmaccess") -> str:
    """PUT, check the answer; returns the Azure-AsyncOperation URL."""
    response = arm.call("PUT", arm.ext_path(vm, name), body=body)
    assert response.status_code == expected_status, response.text
    doc = response.json()
    check("VirtualMachineExtension", doc, f"PUT {vm}/extensions/{name} ({expected_status})")
    assert "protectedSettings" not in doc["properties"]
    assert doc["properties"]["provisioningState"] == ("Creating" if expected_status == 201 else "Updating")
    url = response.headers.get("Azure-AsyncOperation", "")
    assert url.startswith("https://") and same_origin(url, arm.url), url
    no_retry_hints(response, f"PUT {expected_status}")
    return url


def poll_and_check(arm, check, url: str, final: str) -> list[dict]:
    answers = arm.poll_until_done(url)
    docs = []
    for answer in answers:
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        check("OperationStatus", doc, f"operation poll ({doc.get('status')})")
        no_retry_hints(answer, f"operation poll ({doc.get('status')})")
        docs.append(doc)
    assert docs[-1]["status"] == final, docs[-1]
    return docs


def test_put_create_update_and_polls(fresh_emulator, arm, check):
    seed(fresh_emulator, {"name": "win-put", "extension_duration_s": 100})
    url = put_and_check(arm, check, "win-put", vmaccess(), 201)
    # While the operation runs: the extension is Creating and its instance view transitioning.
    running = arm.get(arm.ext_path("win-put", "enablevmaccess"), **{"$expand": "instanceView"})
    check("VirtualMachineExtension", running.json(), "GET of the extension while the PUT runs")
    vm = arm.get(arm.vm_path("win-put"), **{"$expand": "instanceView"})
    check("VirtualMachine", vm.json(), "GET of the VM while the PUT runs")
    docs = poll_and_check(arm, check, url, "Succeeded")
    assert docs[0]["status"] == "InProgress" and "endTime" not in docs[0]
    assert "endTime" in docs[-1] and "error" not in docs[-1]

    got = arm.get(arm.ext_path("win-put", "enablevmaccess"))
    check("VirtualMachineExtension", got.json(), "GET after the PUT")

    url = put_and_check(arm, check, "win-put", vmaccess(tag="rerun-1"), 200)
    poll_and_check(arm, check, url, "Succeeded")


@pytest.mark.parametrize("vm, code", [
    ({"failure_mode": "message:The password does not meet the password policy requirements."},
     "VMExtensionProvisioningError"),
    ({"agent": "not_ready", "agent_timeout_s": 30}, "VMAgentStatusCommunicationError"),
], ids=["in-guest-failure", "agent-down"])
def test_failed_operation(fresh_emulator, arm, check, vm, code):
    seed(fresh_emulator, {"name": "win-fail", "extension_duration_s": 20, **vm})
    url = put_and_check(arm, check, "win-fail", vmaccess(), 201)
    docs = poll_and_check(arm, check, url, "Failed")
    error = docs[-1].get("error") or {}
    assert error.get("code") == code and error.get("message"), docs[-1]
    got = arm.get(arm.ext_path("win-fail", "enablevmaccess"), **{"$expand": "instanceView"})
    check("VirtualMachineExtension", got.json(), "GET after a failed operation")


def test_delete(fresh_emulator, arm, check):
    seed(fresh_emulator, {"name": "win-del", "extension": {"name": "enablevmaccess", "version": "2.4.11"}})
    response = arm.call("DELETE", arm.ext_path("win-del", "enablevmaccess"))
    assert response.status_code == 202, response.text
    assert response.content == b"", "VirtualMachineExtensions_Delete 202 has no body in the definition"
    location, operation = response.headers.get("Location", ""), response.headers.get("Azure-AsyncOperation", "")
    assert same_origin(location, arm.url) and same_origin(operation, arm.url), response.headers
    poll_and_check(arm, check, operation, "Succeeded")

    final = arm.call("GET", location)
    assert final.status_code == 200 and final.content == b"", (final.status_code, final.text)

    again = arm.call("DELETE", arm.ext_path("win-del", "enablevmaccess"))
    assert again.status_code == 204 and again.content == b"", (again.status_code, again.text)


def test_delete_location_while_in_progress(fresh_emulator, arm):
    seed(fresh_emulator, {"name": "win-del", "extension": {"name": "enablevmaccess", "version": "2.4.11"}})
    fresh_emulator.control.set_config(delete_duration_s=10 ** 6)
    response = arm.call("DELETE", arm.ext_path("win-del", "enablevmaccess"))
    assert response.status_code == 202, response.text
    monitor = arm.call("GET", response.headers["Location"])
    assert monitor.status_code == 202 and monitor.content == b"", (monitor.status_code, monitor.text)
