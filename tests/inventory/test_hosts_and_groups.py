"""Hosts, groups and host variables of the azure_vms inventory, parsed in-process against the emulator."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
try:
    from ansible.template import is_trusted_as_template
except ImportError:  # ansible-core < 2.19: a string not to template is an AnsibleUnsafe
    from ansible.utils.unsafe_proxy import AnsibleUnsafe

    def is_trusted_as_template(value):
        return not isinstance(value, AnsibleUnsafe)

from .fleet import ALL_LIST_CALLS, LIST_PATH, RUNNING, SUB_B, SUB_C, VMS_PER_SUB, identity_calls, pages, three_subs

pytestmark = pytest.mark.emulator


def test_three_subscriptions_hosts_groups_and_requests(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a))
    assert run.error is None, run.output
    assert run.hosts == RUNNING
    assert run.groups == {
        "windows": {"web-01.rg-web", "web-02", "web-03", "app-01", "app-02", "web-01.rg-edge", "ops-01", "lab-02"},
        "linux": {"lnx-01", "lnx-02", "lab-01"},
        "power_running": RUNNING,
        "location_westeurope": {"web-01.rg-web", "web-02", "web-03", "app-01", "app-02"},
        "location_northeurope": {"lnx-01", "lnx-02"},
        "location_eastus": {"web-01.rg-edge", "ops-01"},
        "location_uksouth": {"lab-01", "lab-02"},
    }
    # Same name in two subscriptions: both qualified with their resource group, and said so.
    assert "web-01 -> web-01.rg-edge" in run.output and "web-01 -> web-01.rg-web" in run.output

    # List calls only, never a per-VM GET, one token: per subscription a plain pass (the model) and a
    # statusOnly pass (the instance views), each paged; never $expand on a list.
    assert all(LIST_PATH.match(r["path"]) and r["method"] == "GET" for r in run.arm), run.arm
    assert len(run.arm) == 2 * sum(pages(n) for n in VMS_PER_SUB.values()) == ALL_LIST_CALLS
    assert {r["subscription"] for r in run.arm} == {sub_a, SUB_B, SUB_C}
    assert len([r for r in run.arm if "statusOnly=true" in r["query"]]) == 5
    assert not any("expand" in unquote(r["query"]).lower() for r in run.arm)
    assert len(identity_calls(run.requests)) == 1
    assert all(r["status"] == 200 for r in run.requests)


def test_hostvars(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a))
    assert run.error is None, run.output
    hv = run.hostvars("app-01")
    vm_id = "/subscriptions/%s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01" % sub_a
    vm_uuid = emulator.control.vm(sub_a, "rg-app", "app-01")["vm_id"]
    expected = {
        "vm_id": vm_id, "vm_name": "app-01", "resource_group": "rg-app", "subscription_id": sub_a,
        "location": "westeurope", "os_type": "Windows", "power_state": "running", "provisioning_state": "Succeeded",
        "agent_status": "Ready", "admin_username": "azureadmin", "computer_name": "app-01",
        "vm_size": "Standard_D2s_v5", "vm_uuid": vm_uuid, "vm_tags": {},
        "network_interface_ids": [
            "/subscriptions/%s/resourceGroups/rg-app/providers/Microsoft.Network/networkInterfaces/app-01-nic" % sub_a],
        # What the lists tell of the instance: no settings, requested version or fingerprint (no tag).
        "vmaccess": {"name": "myVMAccess", "type": "VMAccessAgent", "running_version": "2.4.9",
                     "provisioning_state": "Succeeded", "status_code": "ProvisioningState/succeeded",
                     "status_message": hv["vmaccess"]["status_message"], "status_time": "2025-11-02T09:14:07.1234567+00:00",
                     "last_run_succeeded": True},
    }
    assert {k: hv[k] for k in expected} == expected
    assert hv["agent_version"]
    # azure_rm's aliases are opt-in: 'name' and 'tags' are names Ansible reserves.
    assert not {"id", "name", "tags", "powerstate", "os_disk", "os_profile", "virtual_machine_size", "vmid"} & set(hv)
    assert hv["image"]["offer"] == "WindowsServer"
    assert "ansible_host" not in hv and not any("ip_address" in k for k in hv)

    assert run.hostvars("app-02")["agent_status"] == "Not Ready"
    assert run.hostvars("app-02")["vmaccess"] is None
    lnx = run.hostvars("lab-01")
    assert (lnx["os_type"], lnx["subscription_id"], lnx["vm_tags"]) == ("Linux", SUB_C, {"env": "dev"})
    assert "reserved name" not in run.output
    assert run.hostvars("web-01.rg-edge")["resource_group"] == "RG-Edge"  # Azure's spelling
    # Strings from Azure are not trusted as templates: a tag can never inject a template
    # (ansible-inventory --list shows them as {"__ansible_unsafe": ...}).
    assert not is_trusted_as_template(hv["vm_name"])
    assert not is_trusted_as_template(lnx["vm_tags"]["env"])


def test_azure_rm_aliases_are_what_ansible_warns_about(seeded, parse_inventory):
    """The warning test_hostvars checks the absence of, with the aliases that cause it."""
    emulator, sub_a = seeded
    run = parse_inventory({"subscriptions": [SUB_C], "azure_rm_aliases": True})
    assert run.error is None, run.output
    hv = run.hostvars("lab-02")
    assert (hv["name"], hv["tags"]) == ("lab-02", {"env": "dev"})
    assert "Found variable using reserved name 'name'" in run.output
    assert "Found variable using reserved name 'tags'" in run.output


def test_default_subscription_all_power_states(seeded, parse_inventory):
    emulator, _sub_a = seeded
    run = parse_inventory({"power_states": ["all"]})
    assert run.error is None, run.output
    sub_a_all = {"web-01", "web-02", "web-03", "web-04", "app-01", "app-02", "lnx-01", "lnx-02"}
    assert run.groups == {
        "windows": sub_a_all - {"lnx-01", "lnx-02"},
        "linux": {"lnx-01", "lnx-02"},
        "power_running": sub_a_all - {"web-04"},
        "power_deallocated": {"web-04"},
        "location_westeurope": sub_a_all - {"lnx-01", "lnx-02"},
        "location_northeurope": {"lnx-01", "lnx-02"},
    }
    assert run.group("ungrouped") == set()
    assert len(run.arm) == 2 * pages(VMS_PER_SUB["a"])  # only the auth subscription, two passes

    running = parse_inventory({})
    assert running.pattern("windows") == {"web-01", "web-02", "web-03", "app-01", "app-02"}


def test_keyed_groups_groups_compose_and_hostnames(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(
        sub_a, hostnames=["vm_name ~ '_' ~ (subscription_id | truncate(8, True, ''))"], strict=True,
        keyed_groups=[{"key": "vm_tags.env | default('none')", "prefix": "env"},
                      {"key": "resource_group | lower", "prefix": "rg"}],
        groups={"needs_vmaccess": "vmaccess is none", "agent_down": "agent_status != 'Ready'"},
        compose={"ansible_host": "computer_name ~ '.corp.example'", "sub_short": "subscription_id[:8]"}))
    assert run.error is None, run.output
    short = sub_a[:8]
    assert "web-01_%s" % short in run.hosts and "web-01_22222222" in run.hosts
    assert "share host names" not in run.output
    assert run.group("env_prod") == {"web-01_%s" % short, "web-02_%s" % short, "web-03_%s" % short,
                                     "web-01_22222222"}
    assert run.group("env_dev") == {"lab-01_33333333", "lab-02_33333333"}  # app-02's tag key is 'Env'
    assert run.group("rg_rg_edge") == {"web-01_22222222"}
    assert run.group("agent_down") == {"app-02_%s" % short}
    assert run.group("needs_vmaccess") == run.hosts - {"app-01_%s" % short}
    hv = run.hostvars("ops-01_22222222")
    assert hv["ansible_host"] == "ops-01.corp.example" and hv["sub_short"] == "22222222"
    assert run.group("windows") and run.group("location_uksouth") == {"lab-01_33333333", "lab-02_33333333"}


def test_hostnames_id_no_default_groups_no_aliases(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a, hostnames=["id"], default_groups=False,
                                     azure_rm_aliases=False, os_type="Windows"))
    assert run.error is None, run.output
    assert all(h.startswith("/subscriptions/") for h in run.hosts) and len(run.hosts) == 8
    assert run.groups == {"ungrouped": run.hosts}
    hv = run.hostvars(next(iter(run.hosts)))
    assert not {"id", "name", "tags", "powerstate", "os_disk", "os_profile", "vmid"} & set(hv)
    assert "reserved name" not in run.output


def test_hostname_collision_error(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a, hostname_collisions="error"))
    assert run.error is not None and run.hosts == set()
    assert str(run.plugin_error).startswith("azure_vms [invalid_argument]: ")
    assert "'web-01'" in str(run.plugin_error)
    assert "azure_vms [invalid_argument]" in run.output
