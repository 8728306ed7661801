"""Microsoft.Network routes: NIC, virtual network, subnet and NSG reads, NIC lists per resource group and
per subscription (paged like the VM lists), and the NIC's effective security groups as the long-running
POST Azure makes it (202 + ``Location`` + ``Azure-AsyncOperation``).

Effective rules need a running VM (Microsoft's "Diagnose a VM network traffic filter problem": "The VM
must be in the running state"). The POST is accepted and its operation then fails: see README for the
(uncertain) code and message. Network operation URLs are Network's own, unsigned, and carry the
api-version of the request; like Compute's they carry no retry hints.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from . import errors
from .errors import ArmError, json_response
from .listing import page
from .network import nics_in, rg_network, vm_for_nic
from .network_render import effective_groups, nic_json, nsg_json, subnet_json, vnet_json

EFFECTIVE_NSG_DURATION_S = 3.0        # simulated; scaled like every other duration
MAX_OPERATIONS = 20_000
OPERATION_KINDS = ("network_operation", "network_operation_result")
NOT_RUNNING = ("Effective network security groups are available only for a network interface attached to a running "
               "virtual machine. Virtual machine '{vm}' is {state}.")

ACTIONS = {
    ("nic", "GET"): ("Microsoft.Network/networkInterfaces/read", "read"),
    ("nic_list_rg", "GET"): ("Microsoft.Network/networkInterfaces/read", "read"),
    ("nic_list_sub", "GET"): ("Microsoft.Network/networkInterfaces/read", "read"),
    ("nic_effective_nsg", "POST"): ("Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action",
                                    "write"),
    ("nsg", "GET"): ("Microsoft.Network/networkSecurityGroups/read", "read"),
    ("vnet", "GET"): ("Microsoft.Network/virtualNetworks/read", "read"),
    ("subnet", "GET"): ("Microsoft.Network/virtualNetworks/subnets/read", "read"),
    ("network_operation", "GET"): ("Microsoft.Network/locations/operations/read", "read"),
    ("network_operation_result", "GET"): ("Microsoft.Network/locations/operationResults/read", "read"),
}
NIC_LIST_TAIL = ["providers", "microsoft.network", "networkinterfaces"]
_RG_ROUTES = {  # (type segment, length of the tail after providers/Microsoft.Network, last segment) -> kind
    ("networkinterfaces", 2, None): "nic",
    ("networkinterfaces", 3, "effectivenetworksecuritygroups"): "nic_effective_nsg",
    ("networksecuritygroups", 2, None): "nsg",
    ("virtualnetworks", 2, None): "vnet",
    ("virtualnetworks", 4, None): "subnet",
}


def parse_network_path(sub: str, rest: list[str], lrest: list[str]) -> tuple[str, str | None, dict] | None:
    """(kind, resource group, extra) for a Microsoft.Network path the emulator serves, else None."""
    if lrest == NIC_LIST_TAIL:
        return "nic_list_sub", None, {"scope": f"/subscriptions/{sub}"}
    if len(rest) == 5 and lrest[0] == "resourcegroups" and lrest[2:] == NIC_LIST_TAIL:
        return "nic_list_rg", rest[1], {"scope": f"/subscriptions/{sub}/resourceGroups/{rest[1]}"}
    if lrest[:3] == ["providers", "microsoft.network", "locations"] and len(rest) == 6:
        kind = {"operations": "network_operation", "operationresults": "network_operation_result"}.get(lrest[4])
        return (kind, None, {"op_id": rest[5], "scope": f"/subscriptions/{sub}"}) if kind else None
    if len(rest) < 6 or lrest[0] != "resourcegroups" or lrest[2:4] != ["providers", "microsoft.network"]:
        return None
    tail, ltail = rest[4:], lrest[4:]
    if len(tail) == 4 and ltail[2] != "subnets":
        return None
    kind = _RG_ROUTES.get((ltail[0], len(tail), ltail[2] if len(tail) == 3 else None))
    if kind is None:
        return None
    resource = rest[:6] if kind == "nic_effective_nsg" else rest
    extra = {"name": tail[1], "child": tail[3] if len(tail) == 4 else None,
             "scope": f"/subscriptions/{sub}/" + "/".join(resource)}
    return kind, rest[1], extra


@dataclass
class NetworkOperation:
    id: str
    subscription: str
    location: str
    vm: object
    resource_group: str
    done_at: float
    api_version: str
    result: dict | None = None
    error: dict | None = None


class NetworkApi:
    def __init__(self, store):
        self.store = store
        self.operations: OrderedDict[str, NetworkOperation] = OrderedDict()

    def routes(self) -> dict:
        return {("nic", "GET"): self.nic_get, ("nic_effective_nsg", "POST"): self.effective_post,
                ("nic_list_rg", "GET"): self.nic_list_rg_get, ("nic_list_sub", "GET"): self.nic_list_sub_get,
                ("nsg", "GET"): self.nsg_get, ("vnet", "GET"): self.vnet_get, ("subnet", "GET"): self.subnet_get,
                ("network_operation", "GET"): self.operation_get,
                ("network_operation_result", "GET"): self.operation_result_get}

    # --- lookups -----------------------------------------------------------------------------
    def _scope(self, p):
        sub = self.store.subscription(p.sub)
        return sub.id, self.store.resource_group(p.sub, p.rg)

    @staticmethod
    def _not_found(resource_type: str, name: str, rg) -> ArmError:
        return errors.resource_not_found(f"Microsoft.Network/{resource_type}", name, rg.name)

    def _vm_of_nic(self, p, rg, name: str):
        """(the VM's own resource group, the VM) of the NIC ``name`` in ``rg``."""
        found = vm_for_nic(self.store.subscription(p.sub), rg, name)
        if found is None:
            raise self._not_found("networkInterfaces", name, rg)
        return found

    def _vnet(self, rg, name: str):
        net = rg_network(rg)
        if net.vnet.lower() != name.lower():
            raise self._not_found("virtualNetworks", name, rg)
        return net

    # --- reads --------------------------------------------------------------------------------
    async def nic_get(self, request, p, api_version):
        sub, rg = self._scope(p)
        return json_response(nic_json(sub, *self._vm_of_nic(p, rg, p.extra["name"])))

    async def nic_list_rg_get(self, request, p, api_version):
        sub, rg = self._scope(p)
        return self._nic_page(request, sub, nics_in(self.store.subscription(p.sub), rg), api_version)

    async def nic_list_sub_get(self, request, p, api_version):
        sub = self.store.subscription(p.sub)
        return self._nic_page(request, sub.id, nics_in(sub), api_version)

    def _nic_page(self, request, sub: str, nics: list[tuple], api_version: str):
        """A list item is the NIC as its GET renders it (REST examples NetworkInterfaceList/ListAll.json)."""
        return json_response(page(self.store, request, nics, lambda nic: nic_json(sub, *nic), api_version))

    async def nsg_get(self, request, p, api_version):
        sub, rg = self._scope(p)
        nsg = rg_network(rg).nsgs.get(p.extra["name"].lower())
        if nsg is None:
            raise self._not_found("networkSecurityGroups", p.extra["name"], rg)
        return json_response(nsg_json(sub, rg, nsg))

    async def vnet_get(self, request, p, api_version):
        sub, rg = self._scope(p)
        self._vnet(rg, p.extra["name"])
        return json_response(vnet_json(sub, rg))

    async def subnet_get(self, request, p, api_version):
        sub, rg = self._scope(p)
        net = self._vnet(rg, p.extra["name"])
        if net.subnet.lower() != p.extra["child"].lower():
            raise ArmError(404, "NotFound", f"Resource {p.extra['scope']} not found.")
        return json_response(subnet_json(sub, rg))

    # --- effective security groups (long-running) ---------------------------------------------
    async def effective_post(self, request, p, api_version):
        store = self.store
        sub, nic_rg = self._scope(p)
        rg, vm = self._vm_of_nic(p, nic_rg, p.extra["name"])
        op = NetworkOperation(str(uuid.uuid4()), sub, vm.location, vm, rg.name,
                              store.clock.deadline(EFFECTIVE_NSG_DURATION_S), api_version)
        if vm.power_state != "running":
            op.error = {"code": "OperationNotAllowed",
                        "message": NOT_RUNNING.format(vm=vm.resource_id, state=vm.power_state)}
        else:
            op.result = effective_groups(sub, rg, vm)     # the rules as they are when the request arrives
        self._remember(op)
        headers = {"Location": self._url(op, "operationResults"), "Azure-AsyncOperation": self._url(op, "operations")}
        return web.Response(status=202, headers=headers)

    def _remember(self, op: NetworkOperation) -> None:
        self.operations[op.id] = op
        while len(self.operations) > MAX_OPERATIONS:
            self.operations.popitem(last=False)

    def _url(self, op: NetworkOperation, kind: str) -> str:
        return (f"{self.store.base_url}/subscriptions/{op.subscription}/providers/Microsoft.Network/locations/"
                f"{op.location}/{kind}/{op.id}?api-version={op.api_version}")

    def _operation(self, p) -> NetworkOperation:
        op = self.operations.get(p.extra["op_id"])
        if op is None or op.subscription.lower() != p.sub.lower() or not self._still_there(op):
            raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
        return op

    def _still_there(self, op: NetworkOperation) -> bool:
        """An operation of a VM removed by a reset is gone with it."""
        sub = self.store.subscriptions.get(op.subscription.lower())
        rg = sub.resource_groups.get(op.resource_group.lower()) if sub else None
        return rg is not None and rg.vms.get(op.vm.name.lower()) is op.vm

    def _done(self, op: NetworkOperation) -> bool:
        return self.store.clock.now() >= op.done_at

    async def operation_get(self, request, p, api_version):
        op = self._operation(p)
        if not self._done(op):
            return json_response({"status": "InProgress"})
        if op.error:
            return json_response({"status": "Failed", "error": op.error})
        return json_response({"status": "Succeeded"})

    async def operation_result_get(self, request, p, api_version):
        op = self._operation(p)
        if not self._done(op):
            return web.Response(status=202, headers={"Location": self._url(op, "operationResults")})
        if op.error:
            raise ArmError(409, op.error["code"], op.error["message"])
        return json_response(op.result)
