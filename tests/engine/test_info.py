"""vm_access_info's reads in-process: one VM by name or id (a GET, tag included), a resource group or the
subscription in paged list calls (a plain pass and a statusOnly pass merged by id), through the module's own
``read_vms`` and ``vm_report``."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.modules import vm_access_info
from ansible_collections.azure_ops.vm_access.plugins.modules.vm_access_info import read_vms, vm_report

from . import fixtures
from .fixtures import RG, windows_vm

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]


def info(azure, vm_id=None, resource_group=None, vm_name=None):
    """{name: report} as vm_access_info returns them, and the ARM reads it took."""
    azure.control.clear_requests()
    vms, _api = read_vms(azure.session(), {"vm_id": vm_id, "resource_group": resource_group, "vm_name": vm_name})
    reads = [q for q in azure.control.requests() if q["kind"] == "read"]
    return {vm.ref.name: vm_report(vm) for vm in vms}, reads


def test_one_vm_by_name_and_by_id_is_one_get_with_its_tag(azure_run):
    azure_run.seed(windows_vm("web-01", extension={"name": "myVMAccess", "version": "2.4.9"}))
    vm_id = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-01"
             % (azure_run.sub, RG))
    for how in (dict(resource_group=RG, vm_name="web-01"), dict(vm_id=vm_id)):
        report, reads = info(azure_run, **how)
        vm = report["web-01"]
        assert vm["id"].lower() == vm_id.lower() and vm["os_type"] == "Windows"
        assert (vm["power_state"], vm["agent_status"], vm["admin_username"]) == ("running", "Ready", "azureadmin")
        # One VM is read with a GET, which carries the tag: its kind is known.
        assert vm["vmaccess"]["name"] == "myVMAccess" and vm["vmaccess"]["fingerprint_kind"] == "none"
        assert len(reads) == 1 and reads[0]["path"].endswith("/virtualMachines/web-01")


def test_a_resource_group_in_paged_lists_with_the_state_of_each_vm(azure_run):
    vms = [windows_vm("web-%02d" % i) for i in range(1, 6)]
    vms += [windows_vm("off-01", power_state="deallocated"), windows_vm("lnx-01", os="linux"),
            windows_vm("fw-01", failure_mode="firewall_service_stopped")]
    azure_run.seed(*vms)
    runs = azure_run.run(["fw-01", "web-01"], ResetRequest(reset="rdp", run_tag="T1"))
    assert (runs["fw-01"]["reason"], runs["web-01"]["outcome"]) == ("extension_failed", "changed")
    azure_run.control.set_config(page_size=3)

    report, reads = info(azure_run, resource_group=RG)
    assert sorted(report) == sorted(vm["name"] for vm in vms)
    assert report["off-01"]["power_state"] == "deallocated" and report["lnx-01"]["os_type"] == "Linux"
    assert report["fw-01"]["vmaccess"]["last_run_succeeded"] is False
    assert "0x800706D9" in report["fw-01"]["vmaccess"]["status_message"]
    assert report["web-01"]["vmaccess"]["last_run_succeeded"] is True
    assert report["web-02"]["vmaccess"] is None
    # The resource group's plain list and the subscription's statusOnly list: 8 VMs in pages of 3 each.
    assert len(reads) == 2 * 3
    assert all(q["path"].lower().endswith("/providers/microsoft.compute/virtualmachines") for q in reads)
    status_passes = [q for q in reads if "statusonly=true" in q["query"].lower()]
    assert len(status_passes) == 3 and all("/resourcegroups/" not in q["path"].lower() for q in status_passes)


def test_the_whole_subscription(azure_run):
    azure_run.seed(windows_vm("web-01"), windows_vm("web-02"))
    azure_run.seed(windows_vm("db-01"), rg="rg-db")
    report, reads = info(azure_run)
    assert sorted(report) == ["db-01", "web-01", "web-02"]
    assert {vm["resource_group"].lower() for vm in report.values()} == {RG, "rg-db"}
    assert all("/resourcegroups/" not in q["path"].lower() for q in reads)


def test_the_module_filters_by_os_type(azure_run):
    """The module's own main(), in this process: the os_type filter applies after the reads."""
    azure_run.seed(windows_vm("web-01"), windows_vm("lnx-01", os="linux"), windows_vm("lnx-02", os="linux"))
    result = azure_run.module(vm_access_info.main, os_type="Linux")
    assert (result["changed"], result["count"]) == (False, 2)
    assert sorted(vm["name"] for vm in result["vms"]) == ["lnx-01", "lnx-02"]
    assert azure_run.writes() == 0
