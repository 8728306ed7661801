"""VM GET / instance view / list paging, resource groups, ARM headers, 404s, api-version."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from .conftest import RG

pytestmark = pytest.mark.timeout(60)


def test_vm_get_with_instance_view_has_azure_shape(azure):
    azure.add_vms({"name": "win1", "admin_username": "opsadmin"}, {"name": "lin1", "os": "linux"})
    raw = azure.raw("GET", f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/"
                           "virtualMachines/win1?$expand=instanceView&api-version=2024-11-01")
    assert raw.status_code == 200
    body = raw.json()
    assert body["type"] == "Microsoft.Compute/virtualMachines" and body["location"] == "westeurope"
    props = body["properties"]
    assert props["storageProfile"]["osDisk"]["osType"] == "Windows"
    assert props["osProfile"]["adminUsername"] == "opsadmin"
    assert props["osProfile"]["windowsConfiguration"]["provisionVMAgent"] is True
    view = props["instanceView"]
    assert [s["code"] for s in view["statuses"]] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert view["vmAgent"]["statuses"][0]["displayStatus"] == "Ready"
    for header in ("x-ms-request-id", "x-ms-correlation-request-id", "x-ms-ratelimit-remaining-subscription-reads"):
        assert header in raw.headers
    assert "Microsoft.Compute/LowCostGet3Min;" in raw.headers["x-ms-ratelimit-remaining-resource"]
    # the real SDK reads it
    vm = azure.compute.virtual_machines.get(RG, "lin1", expand="instanceView")
    assert vm.storage_profile.os_disk.os_type == "Linux"
    assert vm.instance_view.statuses[1].code == "PowerState/running"
    assert vm.os_profile.linux_configuration is not None


def test_instance_view_endpoint_and_agent_states(azure):
    azure.add_vms({"name": "fresh", "agent": "starting", "agent_ready_after_s": 10},
                  {"name": "off", "power_state": "deallocated"})
    view = azure.compute.virtual_machines.instance_view(RG, "fresh")
    assert view.vm_agent.statuses[0].code == "ProvisioningState/Unavailable"
    assert view.vm_agent.statuses[0].display_status == "Not Ready"
    assert view.vm_agent.vm_agent_version == "Unknown"
    off = azure.compute.virtual_machines.instance_view(RG, "off")
    assert off.statuses[1].code == "PowerState/deallocated" and off.vm_agent is None
    import time
    time.sleep(10 * azure.emulator.time_scale + 0.1)
    assert azure.compute.virtual_machines.instance_view(RG, "fresh").vm_agent.statuses[0].display_status == "Ready"


def test_vm_list_pages_with_nextlink(azure):
    azure.control.set_config(page_size=20)
    azure.add_vms({"name": "web-{i:03d}", "count": 45})
    azure.add_vms({"name": "db-{i:02d}", "count": 5}, rg="rg-db")
    names = [vm.name for vm in azure.compute.virtual_machines.list(RG)]
    assert len(names) == 45 and len(set(names)) == 45
    everything = list(azure.compute.virtual_machines.list_all(status_only="true"))
    assert len(everything) == 50
    assert all(vm.instance_view.statuses[1].code == "PowerState/running" for vm in everything)
    pages = [r for r in azure.control.requests() if "virtualmachines" in r["path"].lower() and r["kind"] == "read"]
    assert sum("skiptoken" in r["query"] for r in pages) == 2 + 2   # 45 -> 3 pages, 50 -> 3 pages


def test_resource_group_get_and_case_insensitive_paths(azure):
    azure.add_vms({"name": "MixedCase"})
    rg = azure.raw("GET", f"/subscriptions/{azure.sub}/resourcegroups/RG-TEST?api-version=2022-09-01")
    assert rg.status_code == 200 and rg.json()["name"] == RG
    vm = azure.raw("GET", f"/SUBSCRIPTIONS/{azure.sub}/RESOURCEGROUPS/rg-test/PROVIDERS/microsoft.compute/"
                          "VIRTUALMACHINES/mixedcase?api-version=2024-11-01")
    assert vm.status_code == 200 and vm.json()["name"] == "MixedCase"


def test_api_version_is_required(azure):
    azure.add_vms({"name": "v"})
    response = azure.raw("GET", f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/"
                                "virtualMachines/v")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "MissingApiVersionParameter",
        "message": "The api-version query parameter (?api-version=) is required for all requests."}


def test_not_found_codes(azure):
    azure.add_vms({"name": "exists"})
    with pytest.raises(ResourceNotFoundError) as info:
        azure.compute.virtual_machines.get(RG, "missing")
    assert info.value.error.code == "ResourceNotFound"
    assert info.value.error.message == ("The Resource 'Microsoft.Compute/virtualMachines/missing' under resource "
                                        "group 'rg-test' was not found. For more details please go to "
                                        "https://aka.ms/ARMResourceNotFoundFix")
    with pytest.raises(ResourceNotFoundError) as info:
        azure.compute.virtual_machines.get("rg-nope", "exists")
    assert info.value.error.code == "ResourceGroupNotFound"
    assert info.value.error.message == "Resource group 'rg-nope' could not be found."
    with pytest.raises(ResourceNotFoundError) as info:
        azure.compute.virtual_machine_extensions.get(RG, "exists", "enablevmaccess")
    assert info.value.error.code == "ResourceNotFound"
    other = azure.raw("GET", "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/x?api-version=2022-09-01")
    assert other.status_code == 404 and other.json()["error"]["code"] == "SubscriptionNotFound"


def test_correlation_id_is_echoed(azure):
    azure.add_vms({"name": "v"})
    response = azure.raw("GET", f"/subscriptions/{azure.sub}/resourceGroups/{RG}?api-version=2022-09-01",
                         headers={"x-ms-correlation-request-id": "corr-123", "x-ms-client-request-id": "cli-9"})
    assert response.headers["x-ms-correlation-request-id"] == "corr-123"
    assert response.headers["x-ms-client-request-id"] == "cli-9"
