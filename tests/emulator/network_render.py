"""Microsoft.Network JSON shapes (api-version 2024-05-01; azure-rest-api-specs networkInterface.json,
networkSecurityGroup.json, virtualNetwork.json and their examples): NIC, virtual network, subnet, NSG,
and the NIC's effective security rules.

Etags are derived from the resource's guid, so repeated reads agree; ``provisioningState`` is always
``Succeeded`` (nothing here is ever being changed by ARM).
"""

from __future__ import annotations

import uuid

from .network import (AZURE_PLATFORM_IP, DEFAULT_RULES, Nsg, SecurityRule, gateway, mac_address, nic_name, nic_nsg,
                      nic_resource_group, private_ip, rg_network, subnet_mask, subnet_nsg)

NETWORK_API_VERSION = "2024-05-01"


def _etag(guid: str) -> str:
    return f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, guid)}"'


def rg_scope(sub: str, rg) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg.name}/providers/Microsoft.Network"


def nic_id(sub: str, rg, vm) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{nic_resource_group(vm)}/providers/Microsoft.Network/" \
           f"networkInterfaces/{nic_name(vm)}"


def vnet_id(sub: str, rg) -> str:
    return f"{rg_scope(sub, rg)}/virtualNetworks/{rg_network(rg).vnet}"


def subnet_id(sub: str, rg) -> str:
    return f"{vnet_id(sub, rg)}/subnets/{rg_network(rg).subnet}"


def nsg_id(sub: str, rg, nsg: Nsg) -> str:
    return f"{rg_scope(sub, rg)}/networkSecurityGroups/{nsg.name}"


def _single_or_list(props: dict, single: str, plural: str, values: list[str]) -> None:
    """Azure's convention: one value in the singular property (plural []), several in the plural one."""
    if len(values) == 1:
        props[single] = values[0]
        props[plural] = []
    else:
        props[plural] = list(values)


def rule_json(base_id: str, kind: str, rule: SecurityRule, etag: str) -> dict:
    props = {"provisioningState": "Succeeded"}
    if rule.description:
        props["description"] = rule.description
    props["protocol"] = rule.protocol
    _single_or_list(props, "sourcePortRange", "sourcePortRanges", rule.source_ports)
    _single_or_list(props, "destinationPortRange", "destinationPortRanges", rule.destination_ports)
    _single_or_list(props, "sourceAddressPrefix", "sourceAddressPrefixes", rule.source_prefixes)
    _single_or_list(props, "destinationAddressPrefix", "destinationAddressPrefixes", rule.destination_prefixes)
    props.update({"access": rule.access, "priority": rule.priority, "direction": rule.direction})
    return {"name": rule.name, "id": f"{base_id}/{kind}/{rule.name}", "etag": etag,
            "type": f"Microsoft.Network/networkSecurityGroups/{kind}", "properties": props}


def nsg_json(sub: str, rg, nsg: Nsg) -> dict:
    base, etag = nsg_id(sub, rg, nsg), _etag(nsg.guid)
    props = {"provisioningState": "Succeeded", "resourceGuid": nsg.guid,
             "securityRules": [rule_json(base, "securityRules", r, etag) for r in nsg.rules],
             "defaultSecurityRules": [rule_json(base, "defaultSecurityRules", r, etag) for r in DEFAULT_RULES]}
    nics = [{"id": nic_id(sub, rg, vm)} for vm in rg.vms.values() if nic_nsg(rg, vm) is nsg]
    if nics:
        props["networkInterfaces"] = nics
    if subnet_nsg(rg) is nsg:
        props["subnets"] = [{"id": subnet_id(sub, rg)}]
    return {"name": nsg.name, "id": base, "etag": etag, "type": "Microsoft.Network/networkSecurityGroups",
            "location": nsg.location, "properties": props}


def _ip_configuration(sub: str, rg, vm, etag: str) -> dict:
    return {"name": "ipconfig1", "id": f"{nic_id(sub, rg, vm)}/ipConfigurations/ipconfig1", "etag": etag,
            "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
            "properties": {"provisioningState": "Succeeded", "privateIPAddress": private_ip(rg, vm),
                           "privateIPAllocationMethod": "Dynamic", "subnet": {"id": subnet_id(sub, rg)},
                           "primary": True, "privateIPAddressVersion": "IPv4"}}


def nic_json(sub: str, rg, vm) -> dict:
    etag = _etag(vm.vm_id + ":nic")
    props = {"provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, vm.vm_id)),
             "ipConfigurations": [_ip_configuration(sub, rg, vm, etag)],
             "dnsSettings": {"dnsServers": [], "appliedDnsServers": [],
                             "internalDomainNameSuffix": internal_dns_suffix(vm)},
             "macAddress": mac_address(vm), "enableAcceleratedNetworking": False, "vnetEncryptionSupported": False,
             "enableIPForwarding": False, "disableTcpStateTracking": False, "primary": True,
             "virtualMachine": {"id": vm.resource_id}, "hostedWorkloads": [], "tapConfigurations": [],
             "nicType": "Standard", "allowPort25Out": False, "auxiliaryMode": "None", "auxiliarySku": "None"}
    nsg = nic_nsg(rg, vm)
    if nsg is not None:
        props["networkSecurityGroup"] = {"id": nsg_id(sub, rg, nsg)}
    return {"name": nic_name(vm), "id": nic_id(sub, rg, vm), "etag": etag,
            "type": "Microsoft.Network/networkInterfaces", "location": vm.location, "kind": "Regular",
            "properties": props}


def internal_dns_suffix(vm) -> str:
    return f"{uuid.uuid5(uuid.NAMESPACE_DNS, vm.resource_group.lower()).hex[:26]}.ax.internal.cloudapp.net"


def subnet_json(sub: str, rg) -> dict:
    net = rg_network(rg)
    etag = _etag(net.guid)
    props = {"provisioningState": "Succeeded", "addressPrefix": net.subnet_prefix,
             "ipConfigurations": [{"id": f"{nic_id(sub, rg, vm)}/ipConfigurations/ipconfig1"}
                                  for vm in rg.vms.values()],
             "delegations": [], "privateEndpointNetworkPolicies": "Disabled",
             "privateLinkServiceNetworkPolicies": "Enabled"}
    nsg = subnet_nsg(rg)
    if nsg is not None:
        props["networkSecurityGroup"] = {"id": nsg_id(sub, rg, nsg)}
    return {"name": net.subnet, "id": subnet_id(sub, rg), "etag": etag,
            "type": "Microsoft.Network/virtualNetworks/subnets", "properties": props}


def vnet_json(sub: str, rg) -> dict:
    net = rg_network(rg)
    return {"name": net.vnet, "id": vnet_id(sub, rg), "etag": _etag(net.guid), "type":
            "Microsoft.Network/virtualNetworks", "location": rg.location,
            "properties": {"provisioningState": "Succeeded", "resourceGuid": net.guid,
                           "addressSpace": {"addressPrefixes": [net.address_prefix]},
                           "subnets": [subnet_json(sub, rg)], "virtualNetworkPeerings": [],
                           "enableDdosProtection": False}}


# --- effective security rules (EffectiveNetworkSecurityGroupListResult) -----------------------------

def _port_range(value: str) -> str:
    if value == "*":
        return "0-65535"
    return value if "-" in value else f"{value}-{value}"


def _address(value: str) -> str:
    return "0.0.0.0/0" if value == "*" else value


def _expanded(values: list[str], vnet_prefix: str) -> list[str] | None:
    """Service tags the emulator expands (Internet's thousands of prefixes are not listed)."""
    out: list[str] = []
    for value in values:
        if value.lower() == "virtualnetwork":
            out += [vnet_prefix, AZURE_PLATFORM_IP]
        elif value.lower() == "azureloadbalancer":
            out.append(AZURE_PLATFORM_IP)
    return out or None


def effective_rule(kind: str, rule: SecurityRule, vnet_prefix: str) -> dict:
    out = {"name": f"{kind}/{rule.name}", "protocol": "All" if rule.protocol == "*" else rule.protocol}
    for single, plural, values, convert in (
            ("sourcePortRange", "sourcePortRanges", rule.source_ports, _port_range),
            ("destinationPortRange", "destinationPortRanges", rule.destination_ports, _port_range),
            ("sourceAddressPrefix", "sourceAddressPrefixes", rule.source_prefixes, _address),
            ("destinationAddressPrefix", "destinationAddressPrefixes", rule.destination_prefixes, _address)):
        converted = [convert(v) for v in values]
        if len(converted) == 1:
            out[single] = converted[0]
        else:
            out[plural] = converted
    for key, values in (("expandedSourceAddressPrefix", rule.source_prefixes),
                        ("expandedDestinationAddressPrefix", rule.destination_prefixes)):
        expanded = _expanded(values, vnet_prefix)
        if expanded:
            out[key] = expanded
    out.update({"access": rule.access, "priority": rule.priority, "direction": rule.direction})
    return out


def effective_groups(sub: str, rg, vm) -> dict:
    """One entry per NSG that applies to the NIC: its own, then its subnet's; none when neither has one."""
    vnet_prefix = rg_network(rg).address_prefix
    entries = []
    for association, nsg in (({"networkInterface": {"id": nic_id(sub, rg, vm)}}, nic_nsg(rg, vm)),
                             ({"subnet": {"id": subnet_id(sub, rg)}}, subnet_nsg(rg))):
        if nsg is None:
            continue
        rules = [effective_rule("securityRules", r, vnet_prefix) for r in nsg.rules]
        rules += [effective_rule("defaultSecurityRules", r, vnet_prefix) for r in DEFAULT_RULES]
        entries.append({"networkSecurityGroup": {"id": nsg_id(sub, rg, nsg)}, "association": association,
                        "effectiveSecurityRules": rules})
    return {"value": entries}


def guest_facts_network(rg, vm) -> dict:
    """Addresses the guest sees (for IPConfig and ifconfig)."""
    return {"private_ip": private_ip(rg, vm), "subnet_mask": subnet_mask(rg), "gateway": gateway(rg),
            "mac": mac_address(vm), "dns_suffix": internal_dns_suffix(vm)}
