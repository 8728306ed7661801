"""VirtualMachines_Get / _List / _ListAll and VirtualMachineExtensions_Get / _List, every shape.

Beyond the definitions, a few facts of real traffic are checked too (AZURE_VMACCESS_FACTS.md
8.1): a single VM GET carries full extension objects, lists carry bare extension ids, a
statusOnly list carries the instance view and not the model, and no response carries
protectedSettings.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from .harness import same_origin, seed

pytestmark = pytest.mark.emulator

PAGE_SIZE = 3
VMACCESS = {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "t1",
            "settings": {"UserName": "azureadmin"}}
CSE = {"name": "cse", "publisher": "Microsoft.Compute", "type": "CustomScriptExtension", "version": "1.10.18",
       "settings": {"commandToExecute": "echo hi"}}
VMS = {
    "win-none": {},
    "win-vmaccess": {"extension": VMACCESS},
    "win-several": {"extension": VMACCESS, "extensions": [CSE], "tags": {"env": "prod"}},
    "win-ext-failed": {"extension": {**VMACCESS, "state": "Failed", "message": "Enable failed."}},
    "win-deallocated": {"power_state": "deallocated", "extension": VMACCESS},
    "win-stopped": {"power_state": "stopped"},
    "win-agent-starting": {"agent": "starting", "agent_ready_after_s": 10 ** 7},
    "win-agent-down": {"agent": "not_ready", "extension": VMACCESS},
    "linux-none": {"os": "linux"},
    "linux-vmaccess": {"os": "linux", "extension": {"name": "VMAccessForLinux", "version": "1.5.25"}},
}
WITH_EXTENSIONS = [name for name, spec in VMS.items() if spec.get("extension")]
MODEL_PARTS = ("hardwareProfile", "storageProfile", "osProfile", "networkProfile")


@pytest.fixture(scope="module")
def fleet(emulator):
    """One fleet for the whole module (reads change nothing); small pages so lists page."""
    emulator.control.reset()
    emulator.control.set_config(**{**emulator.initial_config, "page_size": PAGE_SIZE})
    seed(emulator, *({"name": name, **spec} for name, spec in VMS.items()))
    yield emulator
    emulator.control.set_config(**emulator.initial_config)


def no_protected_settings(body, what: str) -> None:
    assert "protectedSettings" not in json.dumps(body), f"{what}: a response carries protectedSettings"


@pytest.mark.parametrize("expand", [False, True], ids=["plain", "instanceView"])
@pytest.mark.parametrize("vm", list(VMS))
def test_vm_get(fleet, arm, check, vm, expand):
    response = arm.get(arm.vm_path(vm), **({"$expand": "instanceView"} if expand else {}))
    assert response.status_code == 200, response.text
    body = response.json()
    check("VirtualMachine", body, f"GET virtualMachines/{vm}")
    assert ("instanceView" in body["properties"]) == expand
    for ext in body.get("resources", []):   # full objects in a single GET (facts 8.1)
        assert {"publisher", "type", "typeHandlerVersion"} <= set(ext.get("properties", {})), ext
    no_protected_settings(body, vm)


def test_vm_instance_view_get(fleet, arm, check):
    for vm in VMS:
        response = arm.get(arm.vm_path(vm) + "/instanceView")
        assert response.status_code == 200, response.text
        check("VirtualMachineInstanceView", response.json(), f"GET virtualMachines/{vm}/instanceView")


def read_pages(arm, check, path: str, **params) -> list[dict]:
    """Every page of a VM list, each checked; nextLink must be followable as given."""
    pages, response = [], arm.get(path, **params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        check("VirtualMachineListPage", page, f"page {len(pages) + 1} of {path} {params}")
        pages.append(page)
        link = page.get("nextLink")
        if not link:
            return pages
        assert same_origin(link, arm.url) and "api-version" in parse_qs(urlsplit(link).query), link
        assert len(pages) < 20, "too many pages"
        response = arm.call("GET", link, api_version=None)


@pytest.mark.parametrize("scope, params", [
    ("resource group", {}),
    ("subscription", {}),
    ("subscription", {"statusOnly": "true"}),
], ids=["rg", "sub", "sub-statusOnly"])
def test_vm_list(fleet, arm, check, scope, params):
    path = arm.vm_path()
    if scope == "subscription":
        path = f"/subscriptions/{arm.sub}/providers/Microsoft.Compute/virtualMachines"
    pages = read_pages(arm, check, path, **params)
    items = [vm for page in pages for vm in page["value"]]
    assert sorted(vm["name"] for vm in items) == sorted(VMS)
    assert len(pages) == -(-len(VMS) // PAGE_SIZE)
    for vm in items:
        props = vm.get("properties", {})
        if params.get("statusOnly"):    # the instance view, not the model (facts 8.1)
            assert "instanceView" in props, vm["name"]
            present = [k for k in MODEL_PARTS if k in props] + [k for k in ("tags", "resources") if k in vm]
            assert not present, f"statusOnly item {vm['name']} carries {present}"
        else:
            assert "instanceView" not in props, vm["name"]
    no_protected_settings(pages, path)


@pytest.mark.parametrize("expand", [False, True], ids=["plain", "instanceView"])
@pytest.mark.parametrize("vm", ["win-none"] + WITH_EXTENSIONS)
def test_extension_list(fleet, arm, check, vm, expand):
    response = arm.get(arm.ext_path(vm), **({"$expand": "instanceView"} if expand else {}))
    assert response.status_code == 200, response.text
    body = response.json()
    check("VirtualMachineExtensionsListResult", body, f"GET {vm}/extensions")
    expected = 1 + len(VMS[vm].get("extensions", [])) if VMS[vm].get("extension") else 0
    assert len(body["value"]) == expected
    for ext in body["value"]:
        assert ("instanceView" in ext["properties"]) == expand, ext["name"]
    no_protected_settings(body, vm)


@pytest.mark.parametrize("expand", [False, True], ids=["plain", "instanceView"])
@pytest.mark.parametrize("vm, name", [(vm, VMS[vm]["extension"]["name"]) for vm in WITH_EXTENSIONS]
                         + [("win-several", "cse")])
def test_extension_get(fleet, arm, check, vm, name, expand):
    response = arm.get(arm.ext_path(vm, name), **({"$expand": "instanceView"} if expand else {}))
    assert response.status_code == 200, response.text
    body = response.json()
    check("VirtualMachineExtension", body, f"GET {vm}/extensions/{name}")
    assert ("instanceView" in body["properties"]) == expand
    no_protected_settings(body, f"{vm}/{name}")
