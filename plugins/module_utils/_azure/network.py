# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few Microsoft.Network reads an RDP diagnosis needs: a VM's network interfaces (one by one, or a
resource group's all at once), their subnets and network security groups, and (where the principal
may) the effective rules.

Plain ARM requests through the Compute client's own pipeline (its credential, retries and user
agent), not azure-mgmt-network: five reads do not justify another SDK to install and import (its
import alone costs more CPU than a diagnosis). Documents are returned as REST dicts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from urllib.parse import quote

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import dig
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

NETWORK_API_VERSION = "2024-05-01"


def _url(resource_id):
    return "%s?api-version=%s" % (resource_id, NETWORK_API_VERSION)


class NetworkApi:
    """Reads by resource id, each id read once per run (NSGs and subnets are shared by many VMs).
    ``before_read()`` runs before each request (the caller's read pacing)."""

    def __init__(self, compute_api, before_read=None):
        self.compute = compute_api
        self.before_read = before_read
        self.requests = 0
        self._cache = {}
        self._locks = {}
        self._lock = threading.Lock()

    def _read(self, url, operation, target):
        if self.before_read is not None:
            self.before_read()
        with self._lock:
            self.requests += 1
        return self.compute.get(url, operation=operation, target=target)

    def get(self, resource_id, what):
        key = resource_id.lower()
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # many VMs share a subnet or an NSG: one read each, even when they ask at once
            if key not in self._cache:
                self._cache[key] = self._read(_url(resource_id), "read the %s" % what, resource_id)
        return self._cache[key]

    def has(self, resource_id):
        return resource_id.lower() in self._cache

    def nic_pages(self, resource_group):
        """The network interfaces of a resource group, one page (a list of the documents a GET of each
        would give) at a time; a caller that has what it needs stops early."""
        url = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkInterfaces?api-version=%s" % (
            quote(self.compute.subscription_id, safe=""), quote(resource_group, safe=""), NETWORK_API_VERSION)
        while url:
            page = self._read(url, "list the network interfaces of", resource_group)
            if not isinstance(page.get("value", []), list):
                raise VmAccessError("unexpected_response", "The network interface list of %s is not an ARM list "
                                    "document." % resource_group)
            yield [doc for doc in page.get("value") or [] if isinstance(doc, dict) and isinstance(doc.get("id"), str)]
            url = page.get("nextLink")

    def remember(self, document):
        """Keep a listed document as its GET's answer (a read already made is kept as it is)."""
        with self._lock:
            self._cache.setdefault(document["id"].lower(), document)

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
