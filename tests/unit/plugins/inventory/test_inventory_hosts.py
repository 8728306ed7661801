"""The pure half of the azure_vms inventory: VM document -> host variables, filters, groups, names."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.inventory_hosts import (
    AZURE_RM_ALIASES,
    HOSTVAR_NAMES,
    HostFilter,
    assign_hostnames,
    deduplicate,
    default_groups,
    exposed_vars,
    host_vars,
    hostname_candidate,
    parse_tag_filter,
    safe_group_name,
)
from tests.unit.plugins.module_utils.vm_docs import RG, SUB, vm_doc, vmaccess


def windows_doc(**kw):
    doc = vm_doc(**kw)
    doc["tags"] = {"Env": "prod", "owner": "ops"}
    props = doc["properties"]
    props["storageProfile"]["imageReference"] = {
        "publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter", "version": "latest",
        "exactVersion": "20348.2340.240303"}
    props["networkProfile"] = {"networkInterfaces": [{"id": "/subscriptions/x/nic-1"}, {"id": "/subscriptions/x/nic-2"}]}
    props["instanceView"].update({"computerName": "WEB001", "osName": "Windows Server 2022 Datacenter",
                                  "osVersion": "10.0.20348.2340"})
    return doc


def hv_of(name="web-001", rg="rg-web", sub=SUB, **fields):
    hv = {"vm_id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (sub, rg, name),
          "vm_name": name, "resource_group": rg, "subscription_id": sub, "os_type": "Windows",
          "power_state": "running", "location": "westeurope", "vm_tags": {}}
    hv.update(fields)
    return hv


# ------------------------------------------------------------------------ host_vars


class TestHostVars:
    def test_every_documented_variable_and_its_value(self):
        hv = host_vars(windows_doc(extension=vmaccess(tag=None)))
        assert list(hv) == list(HOSTVAR_NAMES)
        vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-001" % (SUB, RG)
        assert hv == {
            "vm_id": vm_id, "vm_name": "web-001", "resource_group": RG, "subscription_id": SUB,
            "location": "westeurope", "os_type": "Windows", "power_state": "running", "provisioning_state": "Succeeded",
            "agent_status": "Ready", "agent_version": "2.7.41491.1083", "admin_username": "azureadmin",
            "computer_name": "WEB001", "vm_size": "Standard_B2s", "vm_uuid": "11111111-2222-3333-4444-555555555555",
            "vm_tags": {"Env": "prod", "owner": "ops"},
            "image": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter",
                      "version": "latest", "exact_version": "20348.2340.240303"},
            "network_interface_ids": ["/subscriptions/x/nic-1", "/subscriptions/x/nic-2"],
            "vmaccess": {"name": "enablevmaccess", "type": "VMAccessAgent", "running_version": "2.4.11",
                         "provisioning_state": "Succeeded", "status_code": "ProvisioningState/succeeded",
                         "status_message": "Successfully updated", "status_time": None, "last_run_succeeded": True},
            "id": vm_id, "name": "web-001", "tags": {"Env": "prod", "owner": "ops"}, "powerstate": "running",
            "os_disk": {"operating_system_type": "windows"}, "os_profile": {"system": "windows"},
            "virtual_machine_size": "Standard_B2s", "vmid": "11111111-2222-3333-4444-555555555555",
        }

    def test_no_ip_and_no_ansible_host(self):
        hv = host_vars(windows_doc())
        assert not any("ip" in key.split("_") or key == "ansible_host" for key in hv)

    def test_plain_json_and_no_secrets(self):
        doc = windows_doc(extension=vmaccess(tag="some-tag", settings={"UserName": "azureadmin"}))
        doc["properties"]["osProfile"]["adminPassword"] = "Never-Here-1!"
        doc["resources"][0]["properties"]["protectedSettings"] = {"Password": "Never-Here-1!"}
        hv = host_vars(doc)
        text = json.dumps(hv)
        assert json.loads(text) == hv
        assert "Never-Here" not in text and "some-tag" not in text  # the raw tag is never exposed

    def test_without_vmaccess(self):
        assert host_vars(windows_doc())["vmaccess"] is None

    def test_failed_vmaccess(self):
        hv = host_vars(windows_doc(extension=vmaccess(state="Failed", level="Error", message="boom")))
        assert hv["vmaccess"]["last_run_succeeded"] is False
        assert hv["vmaccess"]["provisioning_state"] == "Failed"

    def test_linux_aliases_lower_case(self):
        hv = host_vars(vm_doc(name="lnx-1", os_type="Linux"))
        assert hv["os_type"] == "Linux"
        assert hv["os_disk"] == {"operating_system_type": "linux"}
        assert hv["os_profile"] == {"system": "linux"}

    def test_deallocated_vm_without_agent(self):
        doc = vm_doc(power="deallocated")
        view = doc["properties"]["instanceView"]
        del view["vmAgent"]
        hv = host_vars(doc)
        assert hv["power_state"] == hv["powerstate"] == "deallocated"
        assert hv["agent_status"] is None and hv["agent_version"] is None
        assert hv["computer_name"] == "web-001"  # from the OS profile when the agent does not report

    def test_no_instance_view(self):
        doc = vm_doc()
        del doc["properties"]["instanceView"]
        hv = host_vars(doc)
        assert hv["power_state"] is None and hv["agent_status"] is None
        assert default_groups(hv) == ["windows", "power_unknown", "location_westeurope"]

    def test_resource_group_keeps_azure_spelling(self):
        doc = vm_doc()
        doc["id"] = doc["id"].replace("/resourceGroups/rg-web/", "/resourceGroups/RG-Web/")
        assert host_vars(doc)["resource_group"] == "RG-Web"

    def test_exposed_vars_without_aliases(self):
        hv = host_vars(windows_doc())
        bare = exposed_vars(hv, azure_rm_aliases=False)
        assert not set(AZURE_RM_ALIASES) & set(bare)
        assert {"vm_id", "vm_name", "vm_tags"} <= set(bare)
        assert exposed_vars(hv, True) == hv


# ------------------------------------------------------------------------ filters


def names_kept(flt, hosts):
    return sorted(h["vm_name"] for h in hosts if flt.keeps(h))


FLEET = [
    hv_of("web-01", "rg-Web", vm_tags={"env": "prod", "tier": "web"}),
    hv_of("web-02", "rg-web", vm_tags={"Env": "dev"}),
    hv_of("web-03", "rg-web", power_state="deallocated", vm_tags={"env": "prod"}),
    hv_of("app-01", "rg-app", vm_tags={"env": "prod", "remediation": "skip"}),
    hv_of("lnx-01", "rg-linux", os_type="Linux", location="northeurope"),
    hv_of("odd-01", "rg-odd", power_state=None),
]


class TestHostFilter:
    def test_defaults_keep_running_vms_of_any_os(self):
        assert names_kept(HostFilter.from_options({}), FLEET) == ["app-01", "lnx-01", "web-01", "web-02"]

    @pytest.mark.parametrize("options, expected", [
        ({"power_states": ["all"]}, ["app-01", "lnx-01", "odd-01", "web-01", "web-02", "web-03"]),
        ({"power_states": ["deallocated"]}, ["web-03"]),
        ({"power_states": ["unknown"]}, ["odd-01"]),
        ({"os_type": "Windows"}, ["app-01", "web-01", "web-02"]),
        ({"os_type": "Linux"}, ["lnx-01"]),
        ({"os_type": "all"}, ["app-01", "lnx-01", "web-01", "web-02"]),
        ({"include_resource_groups": ["RG-WEB"]}, ["web-01", "web-02"]),
        ({"include_resource_groups": ["rg-w*", "rg-app"]}, ["app-01", "web-01", "web-02"]),
        ({"exclude_resource_groups": ["rg-web"]}, ["app-01", "lnx-01"]),
        ({"include_resource_groups": ["rg-*"], "exclude_resource_groups": ["RG-LIN?X"]}, ["app-01", "web-01", "web-02"]),
        ({"include_vm_names": ["WEB-*"]}, ["web-01", "web-02"]),
        ({"exclude_vm_names": ["web-0[12]", "lnx-*"]}, ["app-01"]),
        ({"include_tags": {"ENV": "prod"}}, ["app-01", "web-01"]),
        ({"include_tags": {"env": None}}, ["app-01", "web-01", "web-02"]),
        ({"include_tags": {"env": ["dev", "prod"], "tier": None}}, ["web-01"]),
        ({"include_tags": ["env=dev"]}, ["web-02"]),
        ({"include_tags": ["env"], "exclude_tags": {"remediation": "skip"}}, ["web-01", "web-02"]),
        ({"exclude_tags": ["tier", "remediation"]}, ["lnx-01", "web-02"]),
        ({"exclude_tags": {"env": "PROD"}}, ["app-01", "lnx-01", "web-01", "web-02"]),  # values are exact
    ])
    def test_filters(self, options, expected):
        assert names_kept(HostFilter.from_options(options), FLEET) == expected

    def test_reasons(self):
        flt = HostFilter.from_options({"include_tags": {"env": "prod"}})
        assert flt.rejects(FLEET[1]) == "tag env not matched"
        assert flt.rejects(FLEET[2]) == "power state deallocated"

    @pytest.mark.parametrize("options, message", [
        ({"power_states": []}, "at least one"),
        ({"include_resource_groups": [""]}, "non-empty"),
        ({"include_tags": "env"}, "mapping"),
        ({"include_tags": [""]}, "key=value"),
        ({"exclude_tags": {"": "x"}}, "empty tag name"),
    ])
    def test_invalid_options(self, options, message):
        with pytest.raises(VmAccessError) as err:
            HostFilter.from_options(options)
        assert err.value.reason == "invalid_argument"
        assert message in err.value.message

    def test_listing_groups(self):
        assert HostFilter.from_options({}).listing_groups() is None
        assert HostFilter.from_options({"include_resource_groups": ["RG-b", "rg-a", "rg-B"]}).listing_groups() == [
            "rg-a", "rg-b"]
        assert HostFilter.from_options({"include_resource_groups": ["rg-a", "rg-*"]}).listing_groups() is None

    def test_tag_filter_forms(self):
        assert parse_tag_filter({"Env": "prod", "Backup": None, "n": 3, "on": True, "v": ["a", "b"]}, "x") == {
            "env": ("prod",), "backup": None, "n": ("3",), "on": ("true",), "v": ("a", "b")}
        assert parse_tag_filter(["a", "b=c", "d=e=f"], "x") == {"a": None, "b": ("c",), "d": ("e=f",)}
        assert parse_tag_filter(None, "x") == {}


# ------------------------------------------------------------------------ groups


class TestGroups:
    def test_default_groups(self):
        assert default_groups(hv_of()) == ["windows", "power_running", "location_westeurope"]
        assert default_groups(hv_of(os_type="Linux", power_state="deallocated", location="North Europe")) == [
            "linux", "power_deallocated", "location_north_europe"]
        assert default_groups(hv_of(os_type=None, location=None)) == ["power_running"]

    @given(st.text(max_size=30))
    def test_safe_group_names(self, text):
        name = safe_group_name(text)
        assert all(c.isascii() and (c.isalnum() or c == "_") and not c.isupper() for c in name)
        assert len(name) == len(text.lower())


# ------------------------------------------------------------------------ host names


class TestHostnames:
    def test_candidates(self):
        hv = hv_of(computer_name="WEB001", vm_uuid="uuid-1")
        assert hostname_candidate(hv, "name") == "web-001"
        assert hostname_candidate(hv, "id") == hv["vm_id"]
        assert hostname_candidate(hv, "computer_name") == "WEB001"
        assert hostname_candidate(hv, "vm_uuid") == "uuid-1"
        assert hostname_candidate(hv_of(computer_name=None), "computer_name") is None
        assert hostname_candidate(hv, "vm_name ~ 'x'") is None  # templates are the plugin's job

    def test_unique_names_are_kept(self):
        a, b = hv_of("a"), hv_of("b")
        names, notes = assign_hostnames([(a["vm_id"], "a", a), (b["vm_id"], "b", b)])
        assert names == {a["vm_id"]: "a", b["vm_id"]: "b"} and notes == []

    def test_qualified_by_resource_group_then_subscription(self):
        one = hv_of("web", "RG-One", "sub-1")
        two = hv_of("WEB", "rg-two", "sub-1")
        three = hv_of("web", "rg-one", "sub-2")
        solo = hv_of("solo")
        cands = [(h["vm_id"], h["vm_name"], h) for h in (one, two, three, solo)]
        names, notes = assign_hostnames(cands)
        assert names == {one["vm_id"]: "web.rg-one.sub-1", two["vm_id"]: "WEB.rg-two",
                         three["vm_id"]: "web.rg-one.sub-2", solo["vm_id"]: "solo"}
        assert notes == ["WEB -> WEB.rg-two", "web -> web.rg-one.sub-1", "web -> web.rg-one.sub-2"]

    def test_error_mode(self):
        one, two = hv_of("web", "rg-1"), hv_of("web", "rg-2")
        with pytest.raises(VmAccessError) as err:
            assign_hostnames([(one["vm_id"], "web", one), (two["vm_id"], "web", two)], "error")
        assert err.value.reason == "invalid_argument" and "'web'" in err.value.message

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(["web", "WEB", "app"]), st.sampled_from(["rg-a", "RG-A", "rg-b"]),
                              st.sampled_from(["s1", "s2"])), max_size=12), st.randoms())
    def test_unique_and_independent_of_order(self, specs, rnd):
        hosts, seen = [], set()
        for name, rg, sub in specs:
            key = (name.lower(), rg.lower(), sub)
            if key in seen:  # Azure: a name is unique per resource group and subscription
                continue
            seen.add(key)
            hosts.append(hv_of(name, rg, sub))
        cands = [(h["vm_id"], h["vm_name"], h) for h in hosts]
        names, _notes = assign_hostnames(cands)
        assert len({n.lower() for n in names.values()}) == len(hosts)
        shuffled = list(cands)
        rnd.shuffle(shuffled)
        assert assign_hostnames(shuffled)[0] == names


def test_deduplicate_keeps_first():
    a = hv_of("a")
    a2 = dict(copy.deepcopy(a), vm_id=a["vm_id"].upper(), location="elsewhere")
    assert deduplicate([a, hv_of("b"), a2]) == [a, hv_of("b")]
