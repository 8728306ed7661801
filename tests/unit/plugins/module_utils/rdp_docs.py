"""REST-shaped network security group documents and read-only check documents for the RDP unit tests."""

import copy

SUB = "00000000-0000-0000-0000-000000000001"
NET_RG = "/subscriptions/%s/resourceGroups/rg-net/providers/Microsoft.Network" % SUB
SUBNET_NSG_ID = NET_RG + "/networkSecurityGroups/nsg-subnet-web"
NIC_NSG_ID = NET_RG + "/networkSecurityGroups/nsg-nic-web-001"
NIC_ID = NET_RG + "/networkInterfaces/web-001-nic"
NIC_ADDRESS = "10.0.1.4"
SUBNET_PREFIXES = ("10.0.1.0/24",)


def security_rule(name, priority, access="Allow", direction="Inbound", protocol="Tcp", source="*", sources=None,
                  port="3389", ports=None, destination="*", kind="securityRules", nsg_id=SUBNET_NSG_ID):
    """One rule as Azure returns it: the singular fields, and the plural ones (empty unless given)."""
    return {
        "name": name,
        "id": "%s/%s/%s" % (nsg_id, kind, name),
        "type": "Microsoft.Network/networkSecurityGroups/%s" % kind,
        "properties": {
            "provisioningState": "Succeeded",
            "protocol": protocol,
            "sourcePortRange": "*",
            "destinationPortRange": port if ports is None else None,
            "sourceAddressPrefix": source if sources is None else None,
            "destinationAddressPrefix": destination,
            "access": access,
            "priority": priority,
            "direction": direction,
            "sourcePortRanges": [],
            "destinationPortRanges": list(ports or []),
            "sourceAddressPrefixes": list(sources or []),
            "destinationAddressPrefixes": [],
        },
    }


def default_rules(nsg_id=SUBNET_NSG_ID):
    """Azure's six default rules, inbound and outbound, exactly as every NSG document carries them."""
    def rule(name, priority, access, direction, source, destination):
        return security_rule(name, priority, access, direction, protocol="*", source=source, port="*",
                             destination=destination, kind="defaultSecurityRules", nsg_id=nsg_id)
    return [
        rule("AllowVnetInBound", 65000, "Allow", "Inbound", "VirtualNetwork", "VirtualNetwork"),
        rule("AllowAzureLoadBalancerInBound", 65001, "Allow", "Inbound", "AzureLoadBalancer", "*"),
        rule("DenyAllInBound", 65500, "Deny", "Inbound", "*", "*"),
        rule("AllowVnetOutBound", 65000, "Allow", "Outbound", "VirtualNetwork", "VirtualNetwork"),
        rule("AllowInternetOutBound", 65001, "Allow", "Outbound", "*", "Internet"),
        rule("DenyAllOutBound", 65500, "Deny", "Outbound", "*", "*"),
    ]


def nsg_doc(rules=(), nsg_id=SUBNET_NSG_ID, defaults=True):
    return {
        "name": nsg_id.rsplit("/", 1)[-1],
        "id": nsg_id,
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "securityRules": list(rules),
            "defaultSecurityRules": default_rules(nsg_id) if defaults else [],
        },
    }


def effective_rule(name, priority, access="Allow", protocol="Tcp", source="0.0.0.0/0", expanded=(), port="3389-3389",
                   ports=None, destination="0.0.0.0/0", direction="Inbound"):
    """One rule of the effective-rules answer: flat, names prefixed with their kind, service tags expanded."""
    rule = {"name": name, "protocol": protocol, "sourcePortRange": "0-65535", "destinationPortRange": port,
            "sourceAddressPrefix": source, "destinationAddressPrefix": destination,
            "expandedSourceAddressPrefix": list(expanded), "expandedDestinationAddressPrefix": [],
            "access": access, "priority": priority, "direction": direction}
    if ports is not None:
        rule["destinationPortRanges"] = list(ports)
    return rule


def allow_rdp_from(source, priority=300, **kwargs):
    return security_rule("AllowRDP", priority, source=source, **kwargs)


# --- the read-only check's document (schema version 1, as tests/emulator/rdp.py check_document writes it) ---

RDP_TCP_RULE = {"name": "Remote Desktop - User Mode (TCP-In)", "enabled": True, "local_port": "3389"}
RDP_UDP_RULE = {"name": "Remote Desktop - User Mode (UDP-In)", "enabled": True, "local_port": "3389"}
RDP_SHADOW_RULE = {"name": "Remote Desktop - Shadow (TCP-In)", "enabled": True, "local_port": "Any"}

_HEALTHY_GUEST = {
    "version": 1,
    "rdp": {"deny_ts_connections": 0, "policy_deny_ts_connections": None, "port": 3389, "nla_required": True,
            "security_layer": 2, "listener_non_default": []},
    "cert": {"thumbprint": "3F1C0E5B8A9D2C4E6F7A8B9C0D1E2F3A4B5C6D7E", "found": True,
             "not_after": "2031-05-27T10:00:00Z", "expired": False, "self_signed": True},
    "termservice": {"status": "Running", "start_type": "Manual"},
    "firewall": {"service_running": True, "rdp_rules": [RDP_TCP_RULE, RDP_UDP_RULE, RDP_SHADOW_RULE]},
    "domain": {"joined": False, "domain": None, "secure_channel": None},
    "admin": {"name": "azureadmin", "enabled": True},
}


def guest_doc(**sections):
    """A healthy Windows default (NLA on, port 3389, rules enabled), with ``sections`` merged into it:
    ``guest_doc(rdp={"port": 3390})`` changes only the port."""
    doc = copy.deepcopy(_HEALTHY_GUEST)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    return doc


def joined_guest(secure_channel=True, **sections):
    doc = guest_doc(**sections)
    doc["domain"] = {"joined": True, "domain": "contoso.local", "secure_channel": secure_channel}
    return doc
