# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's path for inbound Remote Desktop through its network security groups.

Reads each network interface, its subnet and the NSGs of both (once per id: VMs share subnets and
NSGs), paced on the read budget. Where many of the NICs to read live in one resource group, one list of
that group reads them all first (``list_nics``); a NIC the list did not give is read on its own. With
``effective_rules`` (the single-VM check) it asks Azure for the effective rules, which also reflect
what the NSG documents cannot show (for example rules through application security groups); a
principal that may not (a Reader) or a VM that is not running falls back to evaluating the NSG rules
by priority, default rules included, and the result says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.network import nic_facts, subnet_facts
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.nsg import (
    evaluate,
    normalise_effective,
    normalise_rules,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

_RESOURCE_GROUP = re.compile(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)/", re.IGNORECASE)


def nic_groups_to_list(nic_ids, threshold):
    """{resource group (lower): {NIC id (lower)}} of the groups holding at least ``threshold`` of ``nic_ids``.
    A NIC can live in another resource group than its VM: its own id says where."""
    groups = {}
    for nic_id in nic_ids:
        match = _RESOURCE_GROUP.match(nic_id or "")
        if match:
            groups.setdefault(match.group(1).lower(), set()).add(nic_id.lower())
    return dict((group, ids) for group, ids in groups.items() if len(ids) >= threshold)


def list_nics(api, resource_group, nic_ids):
    """Read the NICs of a resource group with its list, into ``api``'s cache, until ``nic_ids`` are all there.
    A list that fails is no verdict: the NICs it did not give are read one by one, and a failure there is
    reported VM by VM."""
    try:
        for page in api.nic_pages(resource_group):
            for document in page:
                api.remember(document)
            if all(api.has(nic_id) for nic_id in nic_ids):
                return
    except VmAccessError:
        return


def read_network(api, vm, options, run_wave, deadline):
    """{"nics": [{id, address, prefixes, levels}], "rules_from": "effective"|"nsg_rules", "note"}, or a dict
    with only a ``problem`` (a VmAccessError) when the network could not be read."""
    nics = []
    try:
        for nic_id in vm.network_interfaces:
            nics.append(_nic_levels(api, nic_id))
    except VmAccessError as error:
        return {"nics": [], "rules_from": None, "note": None, "problem": error}
    network = {"nics": nics, "rules_from": "nsg_rules", "note": None, "problem": None}
    if options.effective_rules and vm.is_running and nics:
        _use_effective_rules(api, vm, network, run_wave, deadline)
    return network


def _nic_levels(api, nic_id):
    subnet_id, address, nic_nsg = nic_facts(api.get(nic_id, "network interface"))
    subnet_nsg, prefixes = subnet_facts(api.get(subnet_id, "subnet")) if subnet_id else (None, [])
    levels = [("subnet", subnet_nsg, normalise_rules(api.get(subnet_nsg, "network security group"))
               if subnet_nsg else []),
              ("network interface", nic_nsg, normalise_rules(api.get(nic_nsg, "network security group"))
               if nic_nsg else [])]
    return {"id": nic_id, "address": address, "prefixes": prefixes, "levels": levels}


def _use_effective_rules(api, vm, network, run_wave, deadline):
    jobs = [(nic["id"], vm.ref.subscription_id, (lambda nic_id=nic["id"]: api.effective_rules(nic_id)))
            for nic in network["nics"]]
    outcomes = run_wave(jobs, deadline)
    for nic in network["nics"]:
        outcome = outcomes.get(nic["id"])
        if isinstance(outcome, VmAccessError) or not isinstance(outcome, dict):
            reason = outcome.reason if isinstance(outcome, VmAccessError) else "unexpected_response"
            network["note"] = ("Azure's effective rules were not available (%s); the NSG rules were evaluated "
                               "instead." % reason)
            return
        nic["effective_levels"] = _effective_levels(outcome.get("value") or [])
    for nic in network["nics"]:
        nic["levels"] = nic.pop("effective_levels")
    network["rules_from"] = "effective"


def _effective_levels(groups):
    levels = {"subnet": ("subnet", None, []), "network interface": ("network interface", None, [])}
    for group in groups:
        association = group.get("association") or {}
        level = "subnet" if association.get("subnet") else "network interface"
        nsg_id = (group.get("networkSecurityGroup") or {}).get("id")
        levels[level] = (level, nsg_id, normalise_effective(group.get("effectiveSecurityRules")))
    return [levels["subnet"], levels["network interface"]]


def verdict(network, port, source):
    """Whether TCP ``port`` from ``source`` reaches the VM through any of its NICs, and why."""
    if not network or not network.get("nics"):
        return None
    per_nic = []
    for nic in network["nics"]:
        result = evaluate(nic["levels"], port, source, nic["address"], nic["prefixes"])
        result["nic"] = nic["id"]
        per_nic.append(result)
    chosen = next((r for r in per_nic if r["allowed"]), per_nic[0])
    return dict(chosen, rules_from=network["rules_from"], note=network.get("note"), nics=len(per_nic))
