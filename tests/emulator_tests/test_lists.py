"""VM lists carry what Azure's lists carry and no more (brief points 1-3; facts §8.1)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import RG, sub_list_path, vm_path

pytestmark = pytest.mark.timeout(60)
API = "api-version=2024-11-01"
SEEDED = {"name": "myVMAccess", "version": "2.4.9", "force_update_tag": "t1", "settings": {"UserName": "ops"}}


def _rg_list(azure, query: str = "", rg: str = RG):
    return azure.raw("GET", f"{vm_path(azure, rg=rg)}?{API}" + (f"&{query}" if query else ""))


def _scale_set_filter(azure) -> str:
    scale_set = (f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/"
                 "virtualMachineScaleSets/ss1")
    return "$filter=" + quote(f"virtualMachineScaleSet/id eq '{scale_set}'")


def test_lists_carry_extensions_as_bare_ids(azure):
    azure.add_vms({"name": "win1", "extension": SEEDED, "tags": {"env": "prod"}})
    azure.add_vms({"name": "db1", "extension": SEEDED}, rg="rg-db")
    per_rg = _rg_list(azure).json()["value"]
    per_sub = azure.raw("GET", sub_list_path(azure)).json()["value"]
    assert len(per_rg) == 1 and len(per_sub) == 2
    for vm in per_rg + per_sub:
        assert vm["resources"] == [{"id": vm["id"] + "/extensions/myVMAccess"}]
        assert "instanceView" not in vm["properties"]        # a plain list has no instance view
        assert vm["properties"]["hardwareProfile"] and vm["properties"]["storageProfile"]
    assert per_rg[0]["tags"] == {"env": "prod"}
    # the SDK sees an extension with an id and nothing else
    listed = next(iter(azure.compute.virtual_machines.list(RG)))
    assert listed.resources[0].id.endswith("/extensions/myVMAccess")
    assert listed.resources[0].properties is None and listed.instance_view is None


def test_status_only_gives_the_instance_view_without_the_model(azure):
    azure.add_vms({"name": "win1", "extension": SEEDED, "tags": {"env": "prod"}},
                  {"name": "off", "power_state": "deallocated"})
    items = azure.raw("GET", sub_list_path(azure, "statusOnly=true")).json()["value"]
    by_name = {vm["name"]: vm for vm in items}
    for vm in items:
        assert set(vm) == {"name", "id", "type", "location", "properties"}
        assert set(vm["properties"]) == {"instanceView"}
        view = vm["properties"]["instanceView"]
        assert not {"computerName", "osName", "osVersion"} & set(view)
        assert view["statuses"][1]["code"].startswith("PowerState/")
    view = by_name["win1"]["properties"]["instanceView"]
    assert view["vmAgent"]["statuses"][0]["displayStatus"] == "Ready"
    assert view["extensions"][0]["name"] == "myVMAccess"
    assert "forceUpdateTag" not in str(view)
    assert by_name["off"]["properties"]["instanceView"]["statuses"][1]["code"] == "PowerState/deallocated"


def test_a_client_merges_a_plain_and_a_status_only_pass_by_id(azure):
    azure.control.set_config(page_size=3)
    azure.add_vms({"name": "web-{i:02d}", "count": 5})
    models = {vm.id.lower(): vm for vm in azure.compute.virtual_machines.list_all()}
    statuses = {vm.id.lower(): vm for vm in azure.compute.virtual_machines.list_all(status_only="true")}
    assert set(models) == set(statuses) and len(models) == 5
    for key, model in models.items():
        assert model.storage_profile.os_disk.os_type == "Windows" and model.instance_view is None
        assert statuses[key].storage_profile is None
        assert statuses[key].instance_view.statuses[1].code == "PowerState/running"


def test_expand_instance_view_without_a_valid_filter_is_a_400(azure):
    azure.add_vms({"name": "win1"})
    for answer in (_rg_list(azure, "$expand=instanceView"),
                   azure.raw("GET", sub_list_path(azure, "$expand=instanceView")),
                   azure.raw("GET", sub_list_path(azure, "statusOnly=true&$expand=instanceView"))):
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "InvalidParameter" and error["target"] == "$expand"
        assert "$filter" in error["message"]
    with pytest.raises(HttpResponseError) as info:
        list(azure.compute.virtual_machines.list(RG, expand="instanceView"))
    assert info.value.status_code == 400 and info.value.error.code == "InvalidParameter"


def test_a_valid_scale_set_filter_lists_that_set_here_empty(azure):
    azure.add_vms({"name": "win1"})
    for query in (_scale_set_filter(azure), _scale_set_filter(azure) + "&$expand=instanceView"):
        for answer in (_rg_list(azure, query), azure.raw("GET", sub_list_path(azure, query))):
            assert answer.status_code == 200 and answer.json() == {"value": []}


def test_other_filters_and_expands_are_refused(azure):
    azure.add_vms({"name": "win1"})
    bad_filter = _rg_list(azure, "$filter=" + quote("name eq 'win1'"))
    assert bad_filter.status_code == 400
    assert bad_filter.json()["error"]["code"] == "InvalidParameter" and bad_filter.json()["error"]["target"] == "$filter"
    bad_expand = _rg_list(azure, "$expand=userData")
    assert bad_expand.status_code == 400
    assert bad_expand.json()["error"] == {"code": "InvalidParameter", "message": "The request URL is not valid.",
                                          "target": "$expand"}


def test_status_only_on_a_resource_group_list_is_ignored(azure):
    azure.add_vms({"name": "win1", "extension": SEEDED})
    plain = _rg_list(azure).json()
    with_status_only = _rg_list(azure, "statusOnly=true").json()
    assert with_status_only == plain
    assert "instanceView" not in with_status_only["value"][0]["properties"]


def test_status_only_pages_keep_their_shape(azure):
    azure.control.set_config(page_size=2)
    azure.add_vms({"name": "web-{i:02d}", "count": 5})
    url, pages = sub_list_path(azure, "statusOnly=true"), 0
    while url:
        body = azure.raw("GET", url.replace(azure.emulator.url, "")).json()
        pages += 1
        assert all(set(vm["properties"]) == {"instanceView"} for vm in body["value"])
        url = body.get("nextLink")
        assert url is None or "statusOnly=true" in url
    assert pages == 3
