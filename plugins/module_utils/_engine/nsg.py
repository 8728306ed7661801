# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Would inbound TCP to the RDP port reach the VM? Network security group rules, evaluated as Azure does.

Inbound traffic passes the subnet's NSG first, then the network interface's; it must be allowed by
both (a level without an NSG allows everything). Within one NSG the rule with the lowest priority
number that matches decides; Azure's default rules (AllowVnetInBound 65000,
AllowAzureLoadBalancerInBound 65001, DenyAllInBound 65500) close the list. Rules come from the NSG
documents, or from the effective-rules call where the principal may make it (same evaluation).
Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

INTERNET = "internet"
VIRTUAL_NETWORK = "virtualnetwork"
# Sources the Internet tag does not cover: RFC 1918, shared (CGNAT) and IPv6 unique local addresses.
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")]


def _items(props, singular, plural):
    values = props.get(plural) or []
    if props.get(singular) not in (None, ""):
        values = [props.get(singular)] + list(values)
    return [str(v) for v in values]


def normalise_rules(nsg_doc):
    """The inbound rules of an NSG document (its own and Azure's defaults), as plain dicts."""
    props = nsg_doc.get("properties") or {}
    rules = []
    for kind in ("securityRules", "defaultSecurityRules"):
        for rule in props.get(kind) or []:
            rules.append(_rule(rule.get("name"), rule.get("properties") or {}))
    return [r for r in rules if r["direction"] == "inbound"]


def normalise_effective(effective_rules):
    """Rules of one entry of the effective-rules answer (``effectiveSecurityRules``)."""
    out = []
    for rule in effective_rules or []:
        props = dict(rule)
        props["sourceAddressPrefixes"] = (rule.get("expandedSourceAddressPrefix") or []) + \
            (rule.get("sourceAddressPrefixes") or [])
        out.append(_rule((rule.get("name") or "").split("/")[-1], props))
    return [r for r in out if r["direction"] == "inbound"]


def _rule(name, props):
    return {
        "name": name,
        "priority": int(props.get("priority") or 0),
        "access": str(props.get("access") or "").lower(),
        "direction": str(props.get("direction") or "").lower(),
        "protocol": str(props.get("protocol") or "*").lower(),
        "sources": _items(props, "sourceAddressPrefix", "sourceAddressPrefixes"),
        "destinations": _items(props, "destinationAddressPrefix", "destinationAddressPrefixes"),
        "ports": _items(props, "destinationPortRange", "destinationPortRanges"),
    }


def _port_matches(ranges, port):
    for value in ranges or ["*"]:
        value = value.strip()
        if value == "*":
            return True
        low, _sep, high = value.partition("-")
        try:
            if int(low) <= port <= int(high or low):
                return True
        except ValueError:
            continue
    return False


def _network(value):
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _source_matches(prefixes, source, vnet_prefixes):
    """Does a rule's source cover traffic from ``source`` (``Internet``, ``VirtualNetwork`` or an address/prefix)?

    ``VirtualNetwork`` as the source is traffic from inside the VNet: the VirtualNetwork tag covers it, the
    Internet tag does not, and a prefix does when it covers the VNet's known prefixes."""
    tag = source.strip().lower()
    source_net = None if tag in (INTERNET, VIRTUAL_NETWORK) else _network(source)
    for prefix in prefixes or ["*"]:
        lowered = prefix.strip().lower()
        if lowered in ("*", "any", "0.0.0.0/0"):
            return True
        if lowered == INTERNET:
            if tag == VIRTUAL_NETWORK:
                continue
            if source_net is None or not any(source_net.subnet_of(p) for p in _PRIVATE if p.version == source_net.version):
                return True
            continue
        if lowered == VIRTUAL_NETWORK:
            if tag == VIRTUAL_NETWORK:
                return True
            if source_net is not None and any(source_net.version == v.version and source_net.subnet_of(v)
                                              for v in vnet_prefixes):
                return True
            continue
        net = _network(prefix)
        if net is None:
            continue
        if tag == VIRTUAL_NETWORK:
            if any(v.version == net.version and v.subnet_of(net) for v in vnet_prefixes):
                return True
            continue
        if source_net is not None and source_net.version == net.version and source_net.subnet_of(net):
            return True
    return False


def _destination_matches(prefixes, address):
    for prefix in prefixes or ["*"]:
        lowered = prefix.strip().lower()
        if lowered in ("*", "any", "0.0.0.0/0", "virtualnetwork"):
            return True
        net = _network(prefix)
        if net is not None and address is not None and ipaddress.ip_address(address) in net:
            return True
    return False


def decide(rules, port, source, address=None, vnet_prefixes=()):
    """The first matching inbound rule (by priority) for TCP ``port`` from ``source`` to ``address``,
    or None when nothing matches (Azure's defaults are among ``rules`` when the NSG carries them)."""
    vnets = [n for n in (_network(p) for p in vnet_prefixes) if n is not None]
    for rule in sorted(rules, key=lambda r: r["priority"]):
        if rule["protocol"] not in ("tcp", "*", "all", "any"):
            continue
        if not _port_matches(rule["ports"], port):
            continue
        if not _source_matches(rule["sources"], source, vnets):
            continue
        if not _destination_matches(rule["destinations"], address):
            continue
        return rule
    return None


def evaluate(levels, port, source, address=None, vnet_prefixes=()):
    """``levels``: [(level, nsg id or None, rules)] in traffic order (subnet, then NIC).

    Returns {"allowed", "port", "source", "decided_by": [...]}: each level's deciding rule, and the
    first level that denies stops the traffic.
    """
    verdict = {"allowed": True, "port": port, "source": source, "decided_by": []}
    for level, nsg_id, rules in levels:
        if nsg_id is None:
            verdict["decided_by"].append({"level": level, "nsg": None, "rule": None, "access": "allow",
                                          "why": "no network security group"})
            continue
        rule = decide(rules, port, source, address, vnet_prefixes)
        access = rule["access"] if rule else "deny"
        verdict["decided_by"].append({"level": level, "nsg": nsg_id.rsplit("/", 1)[-1], "nsg_id": nsg_id,
                                      "rule": rule["name"] if rule else None,
                                      "priority": rule["priority"] if rule else None, "access": access})
        if access != "allow":
            verdict["allowed"] = False
            break
    return verdict
