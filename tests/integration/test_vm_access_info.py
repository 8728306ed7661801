"""vm_access_info through ansible-playbook, in check mode: one VM by name, and a resource group filtered by
os_type. The read paths (one GET, paged list passes merged by id, the state of each VM) and the module's own
main() are tested in-process in tests/engine/test_info.py."""

import pytest

from .fleet_helpers import RG, info_task, seed, windows_vm

pytestmark = [pytest.mark.emulator, pytest.mark.e2e]


def test_one_vm_and_a_resource_group(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-01", extension={"name": "myVMAccess", "version": "2.4.9"}),
               windows_vm("web-02"), windows_vm("lnx-01", os="linux"))
    vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-01" % (sub, RG)
    run = run_tasks([info_task("one", resource_group=RG, vm_name="web-01"),
                     info_task("windows", resource_group=RG, os_type="Windows")], check=True)
    assert run.returncode == 0, run.stdout
    one = run.result("one")
    assert (one["changed"], one["count"]) == (False, 1)
    vm = one["vms"][0]
    assert vm["id"].lower() == vm_id.lower() and (vm["os_type"], vm["power_state"]) == ("Windows", "running")
    assert vm["vmaccess"]["name"] == "myVMAccess"
    windows = run.result("windows")
    assert (windows["changed"], sorted(vm["name"] for vm in windows["vms"])) == (False, ["web-01", "web-02"])
