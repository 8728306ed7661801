# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few Microsoft.Network reads an RDP diagnosis needs: a VM's network interfaces, their subnets and
network security groups, and (where the principal may) the effective rules.

Plain ARM requests through the Compute client's own pipeline (its credential, retries and user
agent), not azure-mgmt-network: four reads do not justify another SDK to install and import (its
import alone costs more CPU than a diagnosis). Documents are returned as REST dicts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import dig

NETWORK_API_VERSION = "2024-05-01"


def _url(resource_id):
    return "%s?api-version=%s" % (resource_id, NETWORK_API_VERSION)


class NetworkApi:
    """Reads by resource id, each id read once per run (NSGs and subnets are shared by many VMs)."""

    def __init__(self, compute_api, before_read=None):
        self.compute = compute_api
        self.before_read = before_read
        self._cache = {}
        self._locks = {}
        self._lock = threading.Lock()

    @property
    def reads(self):
        """How many distinct resources were read."""
        return len(self._cache)

    def get(self, resource_id, what):
        key = resource_id.lower()
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # many VMs share a subnet or an NSG: one read each, even when they ask at once
            if key not in self._cache:
                if self.before_read is not None:
                    self.before_read()
                self._cache[key] = self.compute.get(_url(resource_id), operation="read the %s" % what,
                                                    target=resource_id)
        return self._cache[key]

    def effective_rules(self, nic_id):
        """Start the effective-NSG computation of a NIC (an ARM action, long-running; needs
        networkInterfaces/effectiveNetworkSecurityGroups/action). Returns its Operation."""
        return self.compute.begin_post("%s/effectiveNetworkSecurityGroups?api-version=%s" % (nic_id, NETWORK_API_VERSION),
                                       operation="compute the effective security rules of", target=nic_id)


def nic_facts(nic_doc):
    """(the primary IP configuration's subnet id and private address, the NIC's own NSG id or None)."""
    configs = dig(nic_doc, "properties", "ipConfigurations") or [{}]
    primary = next((c for c in configs if dig(c, "properties", "primary")), configs[0])
    return (dig(primary, "properties", "subnet", "id"), dig(primary, "properties", "privateIPAddress"),
            dig(nic_doc, "properties", "networkSecurityGroup", "id"))


def subnet_facts(subnet_doc):
    """(the subnet's NSG id or None, its address prefixes)."""
    props = dig(subnet_doc, "properties") or {}
    prefixes = list(props.get("addressPrefixes") or []) + ([props["addressPrefix"]] if props.get("addressPrefix") else [])
    return dig(props, "networkSecurityGroup", "id"), prefixes
