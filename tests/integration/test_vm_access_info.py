"""vm_access_info: one VM by name or id, a resource group or a subscription in paged list calls."""

import pytest

from .fleet_helpers import RG, info_task, reset_task, seed, windows_vm

pytestmark = pytest.mark.emulator


def test_one_vm_by_name_and_by_id(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-01", extension={"name": "myVMAccess", "version": "2.4.9"}))
    vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-01" % (sub, RG)
    run = run_tasks([info_task(resource_group=RG, vm_name="web-01"), info_task(register="j", vm_id=vm_id)])
    for name in ("i", "j"):
        vm = run.result(name)["vms"][0]
        assert vm["id"].lower() == vm_id.lower() and vm["os_type"] == "Windows"
        assert vm["power_state"] == "running" and vm["agent_status"] == "Ready"
        assert vm["admin_username"] == "azureadmin"
        # One VM is read with a GET, which carries the tag: its kind is known.
        assert vm["vmaccess"]["name"] == "myVMAccess" and vm["vmaccess"]["fingerprint_kind"] == "none"
    assert run.result("i")["changed"] is False


def test_resource_group_in_list_calls_with_state_of_each_vm(fresh_emulator, run_tasks):
    vms = [windows_vm("web-%02d" % i) for i in range(1, 6)]
    vms += [windows_vm("off-01", power_state="deallocated"), windows_vm("lnx-01", os="linux"),
            windows_vm("fw-01", failure_mode="firewall_service_stopped")]
    seed(fresh_emulator, *vms)
    run_tasks([reset_task(resource_group=RG, vm_name="fw-01", reset="rdp", run_tag="T1"),
               reset_task(register="ok", resource_group=RG, vm_name="web-01", reset="rdp", run_tag="T1")])
    fresh_emulator.control.set_config(page_size=3)
    mark = fresh_emulator.control.requests()[-1]["seq"]

    run = run_tasks([info_task(resource_group=RG), info_task(register="w", resource_group=RG, os_type="Windows")])
    report = {vm["name"]: vm for vm in run.result("i")["vms"]}
    assert run.result("i")["count"] == 8 and run.result("w")["count"] == 7
    assert report["off-01"]["power_state"] == "deallocated"
    assert report["lnx-01"]["os_type"] == "Linux"
    assert report["fw-01"]["vmaccess"]["last_run_succeeded"] is False
    assert "0x800706D9" in report["fw-01"]["vmaccess"]["status_message"]
    assert report["web-01"]["vmaccess"]["last_run_succeeded"] is True
    assert report["web-02"]["vmaccess"] is None
    reads = [q for q in fresh_emulator.control.requests(since=mark) if q["kind"] == "read"]
    # Per task: the resource group's plain list and the subscription's statusOnly list, 8 VMs in pages of 3.
    assert len(reads) == 2 * 2 * 3
    assert all(q["path"].lower().endswith("/providers/microsoft.compute/virtualmachines") for q in reads)
    status_passes = [q for q in reads if "statusonly=true" in q["query"].lower()]
    assert len(status_passes) == 2 * 3 and all("/resourcegroups/" not in q["path"].lower() for q in status_passes)


def test_whole_subscription(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-01"), windows_vm("web-02"))
    r = run_tasks([info_task()]).result("i")
    assert sorted(vm["name"] for vm in r["vms"]) == ["web-01", "web-02"]
