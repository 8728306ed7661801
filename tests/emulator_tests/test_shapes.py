"""Single reads, instance views, settings and handler versions (brief points 4, 5, 11, 12)."""

from __future__ import annotations

import time

import pytest

from .conftest import RG, ext_path, parse_time, put_extension, vm_path, vmaccess_body, wait_operation

pytestmark = pytest.mark.timeout(60)
API = "api-version=2024-11-01"
SEEDED = {"name": "myVMAccess", "version": "2.4.9", "force_update_tag": "t1", "settings": {"UserName": "ops"}}
FULL_EXTENSION_KEYS = {"publisher", "type", "typeHandlerVersion", "settings", "provisioningState", "forceUpdateTag",
                       "autoUpgradeMinorVersion"}


def _ext_list(azure, vm, expand=""):
    return azure.raw("GET", f"{vm_path(azure, vm)}/extensions?{API}{expand}")


def test_single_reads_carry_full_extension_objects(azure):
    azure.add_vms({"name": "win1", "extension": SEEDED})
    for expand in ("", "&$expand=instanceView"):
        vm = azure.raw("GET", f"{vm_path(azure, 'win1')}?{API}{expand}").json()
        props = vm["resources"][0]["properties"]
        assert FULL_EXTENSION_KEYS <= set(props) and props["forceUpdateTag"] == "t1"
        assert "protectedSettings" not in props
    ext = azure.raw("GET", ext_path(azure, "win1", "myVMAccess")).json()["properties"]
    assert FULL_EXTENSION_KEYS <= set(ext) and "instanceView" not in ext
    with_view = azure.raw("GET", ext_path(azure, "win1", "myVMAccess") + "&$expand=instanceView").json()
    assert with_view["properties"]["instanceView"]["typeHandlerVersion"] == "2.4.9"
    listed = _ext_list(azure, "win1", "&$expand=instanceView").json()["value"][0]["properties"]
    assert FULL_EXTENSION_KEYS <= set(listed) and listed["instanceView"]["statuses"][0]["time"]
    assert "instanceView" not in _ext_list(azure, "win1").json()["value"][0]["properties"]
    sdk = azure.compute.virtual_machine_extensions.get(RG, "win1", "myVMAccess", expand="instanceView")
    assert sdk.properties.force_update_tag == "t1" and sdk.properties.instance_view.name == "myVMAccess"
    wrong = azure.raw("GET", ext_path(azure, "win1", "myVMAccess") + "&$expand=statuses")
    assert wrong.status_code == 400 and wrong.json()["error"]["target"] == "$expand"


def test_instance_view_extension_entries_are_statuses_with_times(azure):
    azure.add_vms({"name": "win1", "extension": SEEDED})
    view = azure.raw("GET", f"{vm_path(azure, 'win1')}?$expand=instanceView&{API}").json()["properties"]["instanceView"]
    entry = view["extensions"][0]
    assert set(entry) <= {"name", "type", "typeHandlerVersion", "statuses", "substatuses"}
    assert entry["type"] == "Microsoft.Compute.VMAccessAgent" and entry["typeHandlerVersion"] == "2.4.9"
    assert entry["statuses"][0]["code"] == "ProvisioningState/succeeded"
    everything = [*entry["statuses"], *view["vmAgent"]["statuses"], *view["disks"][0]["statuses"],
                  view["statuses"][0]]
    assert all(status.get("time") for status in everything)
    assert view["statuses"][1]["code"] == "PowerState/running"     # PowerState has no time on Azure either


def test_a_run_under_way_is_transitioning_since_it_began(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 600})
    before = time.time()
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a"))
    after = time.time()
    assert raw.status_code == 201

    def extension_status():
        view = azure.raw("GET", f"{vm_path(azure, 'win1')}?$expand=instanceView&{API}").json()
        return view["properties"]["instanceView"]["extensions"][0]["statuses"][0]

    first = extension_status()
    time.sleep(0.2)
    second = extension_status()
    assert first["code"] == "ProvisioningState/transitioning" and first == second
    assert before - 0.1 <= parse_time(first["time"]) <= after + 0.1


def test_settings_are_omitted_when_none_were_sent(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 5}, {"name": "win2", "extension_duration_s": 5})
    rdp = vmaccess_body(tag="rdp")          # settings {} and protectedSettings {}
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=rdp)
    assert "settings" not in raw.json()["properties"] and "protectedSettings" not in raw.text
    wait_operation(azure, raw)
    assert "settings" not in azure.raw("GET", ext_path(azure, "win1")).json()["properties"]
    no_keys = vmaccess_body(tag="x")
    del no_keys["properties"]["settings"], no_keys["properties"]["protectedSettings"]
    answer = azure.raw("PUT", ext_path(azure, "win2"), json=no_keys)
    assert answer.status_code == 201 and "settings" not in answer.json()["properties"]
    wait_operation(azure, answer)
    password = azure.raw("PUT", ext_path(azure, "win2"),
                         json=vmaccess_body({"UserName": "azureadmin"}, {"Password": "N3w-Passw0rd!x"}, tag="x"))
    assert password.json()["properties"]["settings"] == {"UserName": "azureadmin"}
    assert "protectedSettings" not in password.text and "N3w-Passw0rd" not in password.text


@pytest.mark.parametrize("version,build", [("2.0", "2.0.2"), ("2.3", "2.3.3"), ("2.4", "2.4.11")])
def test_vmaccess_versions_request_major_minor(azure, version, build):
    azure.add_vms({"name": "win1", "extension_duration_s": 5})
    put_extension(azure, "win1", vmaccess_body(tag="a", version=version, auto_upgrade=False))
    ext = azure.compute.virtual_machine_extensions.get(RG, "win1", "enablevmaccess", expand="instanceView")
    assert ext.properties.type_handler_version == version
    assert ext.properties.instance_view.type_handler_version == build


def test_a_build_number_is_not_a_version_to_request(azure):
    azure.add_vms({"name": "win1"})
    answer = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a", version="2.4.9"))
    assert answer.status_code == 404
    assert answer.json()["error"] == {
        "code": "ArtifactVersionNotFound",
        "message": "No version found in the artifact repository that satisfies the requested version '2.4.9' for "
                   "VM extension with publisher 'Microsoft.Compute' and type 'VMAccessAgent'."}
    assert azure.vm_state("win1")["extensions"] == []


def test_an_existing_2_3_instance_is_reused_and_updated(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 5,
                   "extension": {"name": "VMAccessAgent", "version": "2.3", "auto_upgrade_minor_version": False}})
    ext = azure.compute.virtual_machine_extensions.get(RG, "win1", "VMAccessAgent", expand="instanceView")
    assert ext.properties.type_handler_version == "2.3"
    assert ext.properties.instance_view.type_handler_version == "2.3.3"
    put_extension(azure, "win1", vmaccess_body(tag="same-minor", version="2.3", auto_upgrade=False), name="VMAccessAgent")
    state = azure.vm_state("win1")["extensions"][0]
    assert state["reported_version"] == "2.3.3" and state["force_update_tag"] == "same-minor"
    put_extension(azure, "win1", vmaccess_body(tag="upgrade", version="2.4", auto_upgrade=False), name="VMAccessAgent")
    state = azure.vm_state("win1")["extensions"][0]
    assert state["type_handler_version"] == "2.4" and state["reported_version"] == "2.4.11"
    assert azure.vm_state("win1")["run_count"] == 2
