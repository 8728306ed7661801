"""Microsoft.Network reads the collection makes through the Compute client's pipeline (plain HTTPS):
the VM's NIC, its subnet and NSGs (shapes of the REST spec), the NIC's effective security groups as a
long-running POST, and the permission errors a Reader gets."""

from __future__ import annotations

import pytest
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core.polling.arm_polling import ARMPolling

from .conftest import POLL_S, RG, local, make_credential, retry_hints, vm_path
from .rdp_helpers import network_path, resource_path, wait_async

pytestmark = pytest.mark.timeout(90)
DEFAULT_RULES = [("AllowVnetInBound", 65000, "Inbound", "Allow"), ("AllowAzureLoadBalancerInBound", 65001, "Inbound",
                 "Allow"), ("DenyAllInBound", 65500, "Inbound", "Deny"), ("AllowVnetOutBound", 65000, "Outbound",
                 "Allow"), ("AllowInternetOutBound", 65001, "Outbound", "Allow"),
                 ("DenyAllOutBound", 65500, "Outbound", "Deny")]


def _get(azure, path, token="default"):
    return azure.raw("GET", path, token=token)


def _nic_of(azure, vm: str) -> str:
    model = _get(azure, f"{vm_path(azure, vm)}?api-version=2024-11-01").json()
    return model["properties"]["networkProfile"]["networkInterfaces"][0]["id"]


def test_the_vm_nic_subnet_and_nsg_resolve(azure):
    azure.add_vms({"name": "win1", "nsg": {"deny_rdp_from_internet": True}})
    nic = _get(azure, resource_path(azure, _nic_of(azure, "win1")))
    assert nic.status_code == 200
    body = nic.json()
    assert body["type"] == "Microsoft.Network/networkInterfaces" and body["etag"].startswith('W/"')
    assert body["properties"]["virtualMachine"]["id"].endswith("/virtualMachines/win1")
    config = body["properties"]["ipConfigurations"][0]["properties"]
    assert config["privateIPAddress"].startswith("10.0.0.") and config["primary"] is True
    subnet = _get(azure, resource_path(azure, config["subnet"]["id"])).json()
    assert subnet["name"] == "default" and subnet["properties"]["addressPrefix"] == "10.0.0.0/24"
    assert subnet["type"] == "Microsoft.Network/virtualNetworks/subnets"
    subnet_nsg = _get(azure, resource_path(azure, subnet["properties"]["networkSecurityGroup"]["id"])).json()
    assert subnet_nsg["name"] == f"{RG}-nsg" and subnet_nsg["properties"]["subnets"][0]["id"] == config["subnet"]["id"]
    rule = subnet_nsg["properties"]["securityRules"][0]
    assert rule["name"] == "RDP" and rule["type"] == "Microsoft.Network/networkSecurityGroups/securityRules"
    expected = {"protocol": "Tcp", "destinationPortRange": "3389", "sourceAddressPrefix": "*", "access": "Allow",
                "priority": 300, "direction": "Inbound", "destinationPortRanges": [], "sourceAddressPrefixes": []}
    assert expected.items() <= rule["properties"].items()
    nic_nsg = _get(azure, resource_path(azure, body["properties"]["networkSecurityGroup"]["id"])).json()
    assert nic_nsg["name"] == "win1-nsg" and nic_nsg["properties"]["networkInterfaces"] == [{"id": body["id"]}]
    assert nic_nsg["properties"]["securityRules"][0]["properties"]["sourceAddressPrefix"] == "Internet"
    assert [(r["name"], r["properties"]["priority"], r["properties"]["direction"], r["properties"]["access"])
            for r in nic_nsg["properties"]["defaultSecurityRules"]] == DEFAULT_RULES
    vnet = _get(azure, network_path(azure, f"virtualNetworks/{RG}-vnet")).json()
    assert vnet["properties"]["addressSpace"]["addressPrefixes"] == ["10.0.0.0/16"]


def test_a_nic_without_an_nsg_has_no_network_security_group(azure):
    azure.add_vms({"name": "win1"})
    nic = _get(azure, network_path(azure, "networkInterfaces/win1-nic")).json()
    assert "networkSecurityGroup" not in nic["properties"]


def test_fleet_networks_custom_rules_and_no_subnet_nsg(azure):
    azure.control.add_fleet({"subscriptions": [{"id": azure.sub, "resource_groups": [
        {"name": "rg-open", "location": "westeurope", "network": {"nsg": None}, "vms": [{"name": "open1"}]},
        {"name": "rg-ranges", "location": "westeurope", "network": {
            "vnet": "corp", "address_prefix": "10.9.0.0/16", "subnet": "apps", "subnet_prefix": "10.9.4.0/24",
            "nsg": {"name": "apps-nsg", "rules": [
                {"name": "rdp-office", "priority": 120, "access": "Allow", "source_address_prefixes":
                 ["203.0.113.0/24", "198.51.100.7"], "destination_port_ranges": ["3389", "3390-3391"]}]}},
         "vms": [{"name": "app1"}]}]}]})
    open_subnet = _get(azure, network_path(azure, "virtualNetworks/rg-open-vnet/subnets/default", "rg-open")).json()
    assert "networkSecurityGroup" not in open_subnet["properties"]
    nsg = _get(azure, network_path(azure, "networkSecurityGroups/apps-nsg", "rg-ranges")).json()
    props = nsg["properties"]["securityRules"][0]["properties"]
    assert props["sourceAddressPrefixes"] == ["203.0.113.0/24", "198.51.100.7"] and "sourceAddressPrefix" not in props
    assert props["destinationPortRanges"] == ["3389", "3390-3391"] and props["protocol"] == "Tcp"
    nic = _get(azure, network_path(azure, "networkInterfaces/app1-nic", "rg-ranges")).json()
    subnet_id = nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"]
    assert subnet_id.endswith("/virtualNetworks/corp/subnets/apps")
    assert nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"].startswith("10.9.4.")


def test_missing_network_resources_are_404s(azure):
    azure.add_vms({"name": "win1"})
    for tail, code in (("networkInterfaces/nope-nic", "ResourceNotFound"),
                       ("networkSecurityGroups/nope", "ResourceNotFound"),
                       ("virtualNetworks/nope/subnets/default", "ResourceNotFound"),
                       (f"virtualNetworks/{RG}-vnet/subnets/nope", "NotFound")):
        response = _get(azure, network_path(azure, tail))
        assert response.status_code == 404 and response.json()["error"]["code"] == code, tail


def test_effective_security_groups_is_a_long_running_post(azure):
    azure.add_vms({"name": "win1", "nsg": {"deny_rdp_from_internet": True}})
    response = azure.raw("POST", network_path(azure, "networkInterfaces/win1-nic/effectiveNetworkSecurityGroups"))
    assert response.status_code == 202 and not retry_hints(response) and response.content == b""
    assert "/providers/Microsoft.Network/locations/westeurope/operationResults/" in response.headers["Location"]
    assert wait_async(azure, response) == {"status": "Succeeded"}
    result = azure.raw("GET", local(azure, response.headers["Location"]))
    assert result.status_code == 200
    nic_entry, subnet_entry = result.json()["value"]
    assert nic_entry["association"] == {"networkInterface": {"id": nic_entry["association"]["networkInterface"]["id"]}}
    assert nic_entry["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/win1-nsg")
    assert "subnet" in subnet_entry["association"]
    deny = nic_entry["effectiveSecurityRules"][0]
    assert deny == {"name": "securityRules/DenyRdpFromInternet", "protocol": "Tcp", "sourcePortRange": "0-65535",
                    "destinationPortRange": "3389-3389", "sourceAddressPrefix": "Internet",
                    "destinationAddressPrefix": "0.0.0.0/0", "access": "Deny", "priority": 100, "direction": "Inbound"}
    rules = {r["name"]: r for r in nic_entry["effectiveSecurityRules"]}
    vnet_rule = rules["defaultSecurityRules/AllowVnetInBound"]
    assert vnet_rule["protocol"] == "All"
    assert vnet_rule["expandedSourceAddressPrefix"] == ["10.0.0.0/16", "168.63.129.16/32"]
    assert len(subnet_entry["effectiveSecurityRules"]) == 7


def test_the_sdk_pipeline_follows_the_effective_groups_operation(azure):
    azure.add_vms({"name": "win1"})
    client = azure.compute._client            # the Compute client's pipeline, as the collection uses it
    url = azure.emulator.url + network_path(azure, "networkInterfaces/win1-nic/effectiveNetworkSecurityGroups")
    initial = client.send_request(HttpRequest("POST", url), _return_pipeline_response=True)
    poller = LROPoller(client, initial, lambda pipeline_response: pipeline_response.http_response.json(),
                       ARMPolling(POLL_S))
    result = poller.result(timeout=20)
    assert [entry["association"] for entry in result["value"]][0].keys() == {"subnet"}


def test_effective_groups_need_a_running_vm(azure):
    azure.add_vms({"name": "off", "power_state": "deallocated"})
    response = azure.raw("POST", network_path(azure, "networkInterfaces/off-nic/effectiveNetworkSecurityGroups"))
    assert response.status_code == 202
    final = wait_async(azure, response)
    assert final["status"] == "Failed" and final["error"]["code"] == "OperationNotAllowed"
    assert "running virtual machine" in final["error"]["message"]
    assert azure.raw("GET", local(azure, response.headers["Location"])).status_code == 409


def test_a_reader_reads_the_network_but_not_the_effective_groups(azure):
    azure.add_vms({"name": "win1"})
    reader = azure.emulator.info["reader"]
    token = make_credential(azure.emulator, reader["client_id"], reader["secret"], reader["tenant"]).get_token(
        azure.emulator.info["audience"] + ".default").token
    assert _get(azure, network_path(azure, "networkInterfaces/win1-nic"), token=token).status_code == 200
    assert _get(azure, network_path(azure, f"networkSecurityGroups/{RG}-nsg"), token=token).status_code == 200
    denied = azure.raw("POST", network_path(azure, "networkInterfaces/win1-nic/effectiveNetworkSecurityGroups"),
                       token=token)
    nic_id = f"/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/win1-nic"
    oid = reader["object_id"]
    assert denied.status_code == 403 and denied.json()["error"] == {"code": "AuthorizationFailed", "message": (
        f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
        "'Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action' over scope "
        f"'{nic_id}' or the scope is invalid. If access was recently granted, please refresh your credentials.")}


def test_network_read_actions_are_checked(azure):
    azure.add_vms({"name": "win1"})
    narrow = azure.control.add_principal(actions=["Microsoft.Compute/virtualMachines/read"])
    token = make_credential(azure.emulator, narrow["client_id"], narrow["secret"], narrow["tenant"]).get_token(
        azure.emulator.info["audience"] + ".default").token
    for tail, action in (("networkInterfaces/win1-nic", "Microsoft.Network/networkInterfaces/read"),
                         (f"networkSecurityGroups/{RG}-nsg", "Microsoft.Network/networkSecurityGroups/read"),
                         (f"virtualNetworks/{RG}-vnet/subnets/default",
                          "Microsoft.Network/virtualNetworks/subnets/read")):
        denied = _get(azure, network_path(azure, tail), token=token)
        assert denied.status_code == 403 and f"'{action}'" in denied.json()["error"]["message"], tail


def test_control_api_patches_nsgs_and_reports_the_verdict(azure):
    azure.add_vms({"name": "win1"})
    assert azure.vm_state("win1")["network"]["rdp_from_internet"]["allowed"] is True
    state = azure.control.patch_vm(azure.sub, RG, "win1", nsg={"deny_rdp_from_internet": True})["network"]
    assert state["nic_nsg"] == "win1-nsg" and state["rdp_from_internet"]["allowed"] is False
    assert state["rdp_from_internet"]["verdicts"][0] == {"association": "networkInterface", "nsg": "win1-nsg",
                                                         "access": "Deny", "rule": "DenyRdpFromInternet"}
    state = azure.control.patch_vm(azure.sub, RG, "win1", nsg=None, subnet_nsg={"rules": []})["network"]
    assert state["nic_nsg"] is None and state["rdp_from_internet"]["verdicts"][0]["rule"] == "DenyAllInBound"
    with pytest.raises(RuntimeError, match="priority from 100 to 4096"):
        azure.control.patch_vm(azure.sub, RG, "win1", nsg={"rules": [{"name": "x", "priority": 5, "access": "Allow"}]})


def test_large_fleets_share_their_network_objects(azure):
    azure.control.add_fleet({"subscriptions": [{"id": azure.sub, "resource_groups": [
        {"name": "rg-big", "location": "westeurope", "vms": [
            {"name": "vm-{i:03d}", "count": 300,
             "nsg": {"name": "shared-nic-nsg", "deny_rdp_from_internet": True}}]}]}]})
    nsg = _get(azure, network_path(azure, "networkSecurityGroups/shared-nic-nsg", "rg-big")).json()
    assert len(nsg["properties"]["networkInterfaces"]) == 300
    subnet = _get(azure, network_path(azure, "virtualNetworks/rg-big-vnet/subnets/default", "rg-big")).json()
    assert len(subnet["properties"]["ipConfigurations"]) == 300


# --- NIC lists (NetworkInterfaces_List / _ListAll; REST examples NetworkInterfaceList.json, ...ListAll.json) --------

def _all_pages(azure, path, token="default") -> tuple[list[dict], int]:
    """Every item of a list, following nextLink verbatim; and the number of pages."""
    items, pages = [], 0
    while path:
        response = _get(azure, path, token=token)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        pages += 1
        path = local(azure, body["nextLink"]) if "nextLink" in body else None
    return items, pages


def _sub_nics_path(azure) -> str:
    return f"/subscriptions/{azure.sub}/providers/Microsoft.Network/networkInterfaces?api-version=2024-05-01"


def test_a_resource_group_lists_its_nics_as_their_gets_render_them(azure):
    azure.control.set_config(page_size=3)
    azure.add_vms({"name": "win-{i:02d}", "count": 7}, {"name": "guarded", "nsg": {"deny_rdp_from_internet": True}})
    azure.add_vms({"name": "other"}, rg="rg-other")
    items, pages = _all_pages(azure, network_path(azure, "networkInterfaces"))
    assert pages == 3 and [item["name"] for item in items] == ["guarded-nic"] + [f"win-{i:02d}-nic" for i in range(1, 8)]
    for item in items:   # the same document as the NIC's own GET: subnet, address, NSG, VM
        assert item == _get(azure, resource_path(azure, item["id"])).json()
    guarded = items[0]["properties"]
    assert guarded["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/guarded-nsg")
    assert guarded["ipConfigurations"][0]["properties"]["subnet"]["id"].endswith("/subnets/default")
    assert "networkSecurityGroup" not in items[1]["properties"]


def test_the_subscription_lists_every_nic_and_its_next_link_keeps_the_api_version(azure):
    azure.control.set_config(page_size=2)
    azure.add_vms({"name": "a1"}, {"name": "a2"})
    azure.add_vms({"name": "b1"}, rg="rg-b")
    first = _get(azure, _sub_nics_path(azure)).json()
    assert "api-version=2024-05-01" in first["nextLink"] and "$skiptoken=" in first["nextLink"]
    items, pages = _all_pages(azure, _sub_nics_path(azure))
    assert pages == 2 and sorted(item["name"] for item in items) == ["a1-nic", "a2-nic", "b1-nic"]


def test_a_nic_in_another_resource_group_than_its_vm(azure):
    azure.control.add_fleet({"subscriptions": [{"id": azure.sub, "resource_groups": [
        {"name": RG, "location": "westeurope", "vms": [{"name": "app1", "nic_resource_group": "rg-nics"},
                                                       {"name": "app2"}]}]}]})
    nic_id = _nic_of(azure, "app1")
    assert "/resourceGroups/rg-nics/providers/Microsoft.Network/networkInterfaces/app1-nic" in nic_id
    nic = _get(azure, resource_path(azure, nic_id)).json()
    assert nic["properties"]["virtualMachine"]["id"].endswith(f"/resourceGroups/{RG}/providers/Microsoft.Compute/"
                                                              "virtualMachines/app1")
    subnet_id = nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"]
    assert f"/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/" in subnet_id   # the VM's network
    assert _get(azure, network_path(azure, "networkInterfaces/app1-nic")).status_code == 404
    assert [i["name"] for i in _all_pages(azure, network_path(azure, "networkInterfaces"))[0]] == ["app2-nic"]
    assert [i["id"] for i in _all_pages(azure, network_path(azure, "networkInterfaces", "rg-nics"))[0]] == [nic_id]
    subnet = _get(azure, resource_path(azure, subnet_id)).json()
    assert {"id": f"{nic_id}/ipConfigurations/ipconfig1"} in subnet["properties"]["ipConfigurations"]
    response = azure.raw("POST", resource_path(azure, f"{nic_id}/effectiveNetworkSecurityGroups"))
    assert response.status_code == 202 and wait_async(azure, response) == {"status": "Succeeded"}


def test_nic_lists_need_network_interface_read_are_reads_and_are_throttled_as_reads(azure):
    azure.add_vms({"name": "win1"})
    reader = azure.emulator.info["reader"]
    reader_token = make_credential(azure.emulator, reader["client_id"], reader["secret"], reader["tenant"]).get_token(
        azure.emulator.info["audience"] + ".default").token
    assert _get(azure, network_path(azure, "networkInterfaces"), token=reader_token).status_code == 200
    narrow = azure.control.add_principal(actions=["Microsoft.Compute/virtualMachines/read"])
    token = make_credential(azure.emulator, narrow["client_id"], narrow["secret"], narrow["tenant"]).get_token(
        azure.emulator.info["audience"] + ".default").token
    for path, scope in ((network_path(azure, "networkInterfaces"), f"/subscriptions/{azure.sub}/resourceGroups/{RG}"),
                        (_sub_nics_path(azure), f"/subscriptions/{azure.sub}")):
        denied = _get(azure, path, token=token)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "AuthorizationFailed"
        assert f"'Microsoft.Network/networkInterfaces/read' over scope '{scope}'" in denied.json()["error"]["message"]
    token = azure.token()
    azure.control.clear_requests()
    listed = _get(azure, network_path(azure, "networkInterfaces"), token=token)
    assert int(listed.headers["x-ms-ratelimit-remaining-subscription-reads"]) < 250
    assert [(q["kind"], q["status"]) for q in azure.control.requests()] == [("read", 200)]
    azure.control.set_config(limits={"arm_reads_burst": 2, "arm_reads_per_s": 0.0001})   # buckets rebuilt
    token = azure.token()
    answers = [_get(azure, _sub_nics_path(azure), token=token) for _attempt in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "SubscriptionRequestsThrottled"


def test_a_nic_list_of_a_missing_resource_group_is_a_404(azure):
    response = _get(azure, network_path(azure, "networkInterfaces", "rg-nope"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "ResourceGroupNotFound"
