"""NIC lists instead of a GET per NIC: which resource groups are listed (by each NIC id's own group), how a
list fills NetworkApi's per-id cache, stops once it gave what is needed, and leaves the rest to GETs when
it fails. Pure: a fake Compute client answers the ARM paths."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.network import NetworkApi
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_network import (
    list_nics,
    nic_groups_to_list,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

SUB = "00000000-0000-0000-0000-000000000001"


def nic_id(group, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkInterfaces/%s" % (SUB, group, name)


class FakeCompute:
    """Answers a NIC's GET from ``nics``, and the resource group's list in pages of ``page_size``."""

    subscription_id = SUB

    def __init__(self, nics, page_size=2, list_error=None):
        self.nics = nics
        self.page_size = page_size
        self.list_error = list_error
        self.paths = []

    def get(self, url, operation, target=""):
        path, _sep, query = url.partition("?")
        self.paths.append(path)
        if path.lower().endswith("/networkinterfaces"):
            if self.list_error is not None:
                raise self.list_error
            offset = int(query.split("skip=")[1]) if "skip=" in query else 0
            page = {"value": self.nics[offset:offset + self.page_size]}
            if offset + self.page_size < len(self.nics):
                page["nextLink"] = "https://management.example%s?api-version=x&skip=%d" % (path, offset + self.page_size)
            return page
        return next(doc for doc in self.nics if doc["id"].lower() == path.lower())


def nics(group, count):
    return [{"id": nic_id(group, "vm%d-nic" % i), "properties": {"ipConfigurations": []}} for i in range(count)]


def test_groups_are_those_of_the_nic_ids_with_enough_nics_to_read():
    ids = [doc["id"] for doc in nics("rg-A", 3)] + [doc["id"] for doc in nics("rg-b", 2)] + ["not an id"]
    assert nic_groups_to_list(ids, 3) == {"rg-a": set(i.lower() for i in ids[:3])}
    assert sorted(nic_groups_to_list(ids, 2)) == ["rg-a", "rg-b"]
    assert nic_groups_to_list(ids[:2], 3) == {}


def test_a_list_fills_the_cache_and_a_nic_it_gave_needs_no_get():
    compute = FakeCompute(nics("rg-a", 5))
    api = NetworkApi(compute)
    wanted = set(doc["id"].lower() for doc in compute.nics)
    list_nics(api, "rg-a", wanted)
    assert len(compute.paths) == 3 and api.requests == 3  # 5 NICs in pages of 2, following nextLink
    assert api.get(nic_id("rg-a", "VM4-NIC"), "network interface") == compute.nics[4]
    assert len(compute.paths) == 3


def test_a_list_stops_once_every_nic_needed_is_there():
    compute = FakeCompute(nics("rg-a", 9))
    api = NetworkApi(compute)
    list_nics(api, "rg-a", set([nic_id("rg-a", "vm0-nic").lower(), nic_id("rg-a", "vm3-nic").lower()]))
    assert len(compute.paths) == 2


@pytest.mark.parametrize("reason", ["authorization_failed", "unexpected_response"])
def test_a_failed_list_leaves_every_nic_to_its_get(reason):
    compute = FakeCompute(nics("rg-a", 3), list_error=VmAccessError(reason, "no list"))
    api = NetworkApi(compute)
    list_nics(api, "rg-a", set(doc["id"].lower() for doc in compute.nics))
    assert api.get(nic_id("rg-a", "vm1-nic"), "network interface") == compute.nics[1]
    assert api.requests == 2


def test_each_request_waits_for_the_read_budget_first():
    compute = FakeCompute(nics("rg-a", 4))
    paced = []
    api = NetworkApi(compute, before_read=lambda: paced.append(len(compute.paths)))
    list_nics(api, "rg-a", set(doc["id"].lower() for doc in compute.nics))
    assert paced == [0, 1]  # before each page, never after
