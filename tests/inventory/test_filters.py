"""Which VMs the azure_vms inventory keeps, and how it lists resource groups (in-process)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from .fleet import RUNNING, SUB_B, VMS_PER_SUB, pages, three_subs

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize("config, expected", [
    ({"power_states": ["all"]}, RUNNING | {"web-04", "db-01"}),
    ({"power_states": ["deallocated", "stopped"]}, {"web-04", "db-01"}),
    ({"os_type": "Windows"}, RUNNING - {"lnx-01", "lnx-02", "lab-01"}),
    ({"os_type": "Linux"}, {"lnx-01", "lnx-02", "lab-01"}),
    ({"exclude_resource_groups": ["RG-WEB", "rg-l*"]}, {"app-01", "app-02", "web-01", "ops-01"}),
    ({"include_resource_groups": ["rg-*"], "exclude_resource_groups": ["rg-app", "rg-linux", "rg-lab"]},
     {"web-01.rg-web", "web-02", "web-03", "web-01.rg-edge", "ops-01"}),
    ({"include_vm_names": ["WEB-*", "ops-?1"], "exclude_vm_names": ["web-03"]},
     {"web-01.rg-web", "web-02", "web-01.rg-edge", "ops-01"}),
    ({"include_tags": {"env": "prod"}}, {"web-01.rg-web", "web-02", "web-03", "web-01.rg-edge"}),
    ({"include_tags": {"ENV": None}, "power_states": ["all"]},
     {"web-01.rg-web", "web-02", "web-03", "web-04", "app-02", "web-01.rg-edge", "db-01", "lab-01", "lab-02"}),
    ({"include_tags": ["env=dev"], "os_type": "Windows"}, {"app-02", "lab-02"}),
    ({"exclude_tags": ["remediation=skip", "tier"], "include_resource_groups": ["rg-OPS", "rg-edge"]}, {"web-01"}),
])
def test_filters(seeded, parse_inventory, config, expected):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a, **config))
    assert run.error is None, run.output
    assert run.hosts == expected


def test_resource_groups_are_listed_one_by_one(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a, include_resource_groups=["RG-WEB", "rg-edge"]))
    assert run.error is None, run.output
    assert run.hosts == {"web-01.rg-web", "web-02", "web-03", "web-01.rg-edge"}
    # Each group's plain list is tried in every subscription: found once each, 404 elsewhere (skipped).
    plain = [r for r in run.arm if "/resourceGroups/" in r["path"]]
    found = sorted((r["subscription"], r["path"].split("/")[4].lower()) for r in plain if r["status"] == 200)
    assert found == sorted([(sub_a, "rg-web"), (sub_a, "rg-web"), (SUB_B, "rg-edge")])  # rg-web: 4 VMs, 2 pages
    assert len(plain) == 2 * 3 + 1
    # The statusOnly pass has no per-group form: one per subscription where a group was found, filtered here.
    status = [r for r in run.arm if "/resourceGroups/" not in r["path"]]
    assert all("statusOnly=true" in r["query"] for r in status)
    assert len(status) == pages(VMS_PER_SUB["a"]) + pages(VMS_PER_SUB["b"])
    assert not any("expand" in unquote(r["query"]).lower() for r in run.arm)


def test_resource_group_in_no_subscription(seeded, parse_inventory):
    emulator, sub_a = seeded
    run = parse_inventory(three_subs(sub_a, include_resource_groups=["rg-nowhere"]))
    assert run.error is not None and run.hosts == set()
    assert str(run.plugin_error).startswith("azure_vms [resource_group_not_found]: ")
    assert "rg-nowhere" in str(run.plugin_error) and "azure_vms [resource_group_not_found]" in run.output
