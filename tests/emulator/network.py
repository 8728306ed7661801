"""The network behind a VM: its NIC (``{vm}-nic``, the id the VM model already renders), the resource
group's virtual network and subnet, and network security groups (NSGs) on the subnet and the NIC.

Cheap for large fleets: a resource group has one shared ``RgNetwork`` (vnet, subnet, its NSGs), built on
first use when the fleet gave none, and a VM has a ``VmNetwork`` only when it has its own NIC-level NSG.
NICs are not stored at all; they are rendered from the VM. A NIC lives in its VM's resource group unless
the VM spec names another one (``nic_resource_group``), as Azure allows.

Default (no ``network`` key on the resource group): vnet ``{rg}-vnet`` 10.0.0.0/16, subnet ``default``
10.0.0.0/24, and on the subnet the NSG ``{rg}-nsg`` with the rule the portal adds when RDP is opened
(``RDP``, priority 300, TCP 3389 from any source). NICs have no NSG unless the VM spec gives ``nsg``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass, field

AZURE_PLATFORM_IP = "168.63.129.16/32"
INTERNET_SOURCES = ("*", "internet", "0.0.0.0/0", "any")
RULE_KEYS = {"name", "priority", "direction", "access", "protocol", "description", "source_address_prefix",
             "source_address_prefixes", "destination_address_prefix", "destination_address_prefixes",
             "source_port_range", "source_port_ranges", "destination_port_range", "destination_port_ranges"}
NSG_KEYS = {"name", "allow_rdp_from_internet", "deny_rdp_from_internet", "rules"}
NETWORK_KEYS = {"vnet", "address_prefix", "subnet", "subnet_prefix", "nsg"}


@dataclass
class SecurityRule:
    name: str
    priority: int
    direction: str                      # Inbound | Outbound
    access: str                         # Allow | Deny
    protocol: str                       # * | Tcp | Udp | Icmp | Esp | Ah
    source_prefixes: list[str]
    destination_prefixes: list[str]
    source_ports: list[str]
    destination_ports: list[str]
    description: str | None = None


def _default_rule(name: str, priority: int, direction: str, access: str, source: str, destination: str,
                  description: str) -> SecurityRule:
    return SecurityRule(name, priority, direction, access, "*", [source], [destination], ["*"], ["*"], description)


# Azure's six default rules, present in every NSG (REST example NetworkSecurityGroupGet.json)
DEFAULT_RULES = (
    _default_rule("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork",
                  "Allow inbound traffic from all VMs in VNET"),
    _default_rule("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*",
                  "Allow inbound traffic from azure load balancer"),
    _default_rule("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
    _default_rule("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork",
                  "Allow outbound traffic from all VMs to all VMs in VNET"),
    _default_rule("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet",
                  "Allow outbound traffic from all VMs to Internet"),
    _default_rule("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
)
ALLOW_RDP = {"name": "RDP", "priority": 300, "access": "Allow", "protocol": "Tcp", "destination_port_range": "3389"}
DENY_RDP = {"name": "DenyRdpFromInternet", "priority": 100, "access": "Deny", "protocol": "Tcp",
            "source_address_prefix": "Internet", "destination_port_range": "3389"}


@dataclass
class Nsg:
    name: str
    location: str
    rules: list[SecurityRule]
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class RgNetwork:
    vnet: str
    address_prefix: str
    subnet: str
    subnet_prefix: str
    subnet_nsg: str | None                              # lower-case key into nsgs
    nsgs: dict[str, Nsg] = field(default_factory=dict)
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class VmNetwork:
    nic_nsg: str | None = None                          # lower-case key into the resource group's nsgs


# --- fleet specs -------------------------------------------------------------------------------

def _listed(rule: dict, single: str, plural: str, default: str | None) -> list[str]:
    if rule.get(plural):
        return [str(v) for v in rule[plural]]
    value = rule.get(single, default)
    return [] if value is None else [str(value)]


def make_rule(spec: dict) -> SecurityRule:
    return SecurityRule(
        name=str(spec["name"]), priority=int(spec["priority"]), direction=str(spec.get("direction", "Inbound")),
        access=str(spec["access"]), protocol=str(spec.get("protocol", "Tcp")),
        source_prefixes=_listed(spec, "source_address_prefix", "source_address_prefixes", "*"),
        destination_prefixes=_listed(spec, "destination_address_prefix", "destination_address_prefixes", "*"),
        source_ports=_listed(spec, "source_port_range", "source_port_ranges", "*"),
        destination_ports=_listed(spec, "destination_port_range", "destination_port_ranges", "*"),
        description=spec.get("description"))


def validate_rule(spec, where: str) -> None:
    if not isinstance(spec, dict) or set(spec) - RULE_KEYS:
        raise ValueError(f"{where}: a rule is a mapping with keys {sorted(RULE_KEYS)}")
    if not spec.get("name") or not isinstance(spec.get("priority"), int) or not 100 <= spec["priority"] <= 4096:
        raise ValueError(f"{where}: needs a name and a priority from 100 to 4096")
    checks = (("access", ("allow", "deny"), None), ("direction", ("inbound", "outbound"), "Inbound"),
              ("protocol", ("*", "tcp", "udp", "icmp", "esp", "ah"), "Tcp"))
    for key, allowed, default in checks:
        if str(spec.get(key, default)).lower() not in allowed:
            raise ValueError(f"{where}.{key}: {spec.get(key)!r} is not one of {list(allowed)}")


def validate_nsg_spec(spec, where: str = "nsg") -> None:
    """An NSG spec is null (no NSG) or {name?, allow_rdp_from_internet?, deny_rdp_from_internet?, rules?}."""
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - NSG_KEYS:
        raise ValueError(f"{where}: an NSG is null or a mapping with keys {sorted(NSG_KEYS)}")
    rules = spec.get("rules") or []
    if not isinstance(rules, list):
        raise ValueError(f"{where}.rules: must be a list")
    for i, rule in enumerate(rules):
        validate_rule(rule, f"{where}.rules[{i}]")


def validate_network_spec(spec, where: str = "network") -> None:
    if not isinstance(spec, dict) or set(spec) - NETWORK_KEYS:
        raise ValueError(f"{where}: a mapping with keys {sorted(NETWORK_KEYS)}")
    for key in ("address_prefix", "subnet_prefix"):
        if key in spec:
            try:
                ipaddress.ip_network(str(spec[key]))
            except ValueError:
                raise ValueError(f"{where}.{key}: {spec[key]!r} is not an address prefix") from None
    validate_nsg_spec(spec.get("nsg"), f"{where}.nsg")


def build_nsg(name: str, location: str, spec: dict) -> Nsg:
    rules = [make_rule(r) for r in spec.get("rules") or []]
    if spec.get("deny_rdp_from_internet"):
        rules.append(make_rule(DENY_RDP))
    if spec.get("allow_rdp_from_internet"):
        rules.append(make_rule(ALLOW_RDP))
    return Nsg(str(spec.get("name") or name), location, sorted(rules, key=lambda r: (r.direction, r.priority)))


def _add_nsg(net: RgNetwork, nsg: Nsg) -> str:
    key = nsg.name.lower()
    net.nsgs.setdefault(key, nsg)          # a named NSG given twice is shared: the first definition wins
    return key


def make_rg_network(rg, spec: dict | None) -> RgNetwork:
    spec = spec or {}
    net = RgNetwork(vnet=str(spec.get("vnet") or f"{rg.name}-vnet"),
                    address_prefix=str(spec.get("address_prefix", "10.0.0.0/16")),
                    subnet=str(spec.get("subnet") or "default"),
                    subnet_prefix=str(spec.get("subnet_prefix", "10.0.0.0/24")), subnet_nsg=None)
    nsg_spec = spec["nsg"] if "nsg" in spec else {"allow_rdp_from_internet": True}
    if nsg_spec is not None:
        net.subnet_nsg = _add_nsg(net, build_nsg(f"{rg.name}-nsg", rg.location, nsg_spec))
    return net


def rg_network(rg) -> RgNetwork:
    """The resource group's network, made with the defaults on first use."""
    if rg.network is None:
        rg.network = make_rg_network(rg, None)
    return rg.network


def set_nic_nsg(rg, vm, spec, *, replace: bool = False) -> None:
    """Attach an NSG built from ``spec`` to the VM's NIC (``{vm}-nsg`` unless named), or none for null.
    Seeding shares a named NSG among the VMs that name it (the first definition wins); a patch replaces it."""
    net = rg_network(rg)
    if spec is None:
        vm.network = None
        return
    nsg = build_nsg(f"{vm.name}-nsg", vm.location, spec)
    if replace or not spec.get("name"):
        net.nsgs[nsg.name.lower()] = nsg
    vm.network = VmNetwork(nic_nsg=_add_nsg(net, nsg))


def set_subnet_nsg(rg, spec) -> None:
    """Replace the subnet's NSG (shared by every VM of the resource group), or remove it for null."""
    net = rg_network(rg)
    if spec is None:
        net.subnet_nsg = None
        return
    nsg = build_nsg(f"{rg.name}-nsg", rg.location, spec)
    net.nsgs[nsg.name.lower()] = nsg
    net.subnet_nsg = nsg.name.lower()


# --- lookups and addresses --------------------------------------------------------------------

def nic_name(vm) -> str:
    return f"{vm.name}-nic"


def nic_resource_group(vm) -> str:
    """The resource group the VM's NIC lives in: its own unless the fleet put the NIC elsewhere."""
    return vm.nic_resource_group or vm.resource_group


def vm_for_nic(sub, rg, name: str):
    """(the VM's own resource group, the VM) whose NIC ``name`` lives in ``rg``, or None."""
    if not name.lower().endswith("-nic"):
        return None
    vm_name = name[:-4].lower()
    for home in [rg, *(g for g in sub.resource_groups.values() if g is not rg)]:
        vm = home.vms.get(vm_name)
        if vm is not None and nic_resource_group(vm).lower() == rg.name.lower():
            return home, vm
    return None


def nics_in(sub, rg=None) -> list[tuple]:
    """[(the VM's own resource group, VM)] of every NIC that lives in ``rg`` (None: in the subscription), in a
    stable order for list paging: by the NIC's resource group, then its VM's."""
    nics = [(home, vm) for home in sub.resource_groups.values() for vm in home.vms.values()
            if rg is None or nic_resource_group(vm).lower() == rg.name.lower()]
    return sorted(nics, key=lambda nic: (nic_resource_group(nic[1]).lower(), nic[0].name.lower(), nic[1].name.lower()))


def nic_nsg(rg, vm) -> Nsg | None:
    key = vm.network.nic_nsg if vm.network is not None else None
    return rg_network(rg).nsgs.get(key) if key else None


def subnet_nsg(rg) -> Nsg | None:
    net = rg_network(rg)
    return net.nsgs.get(net.subnet_nsg) if net.subnet_nsg else None


def _digest(vm) -> bytes:
    return hashlib.sha1(vm.vm_id.encode()).digest()


def private_ip(rg, vm) -> str:
    subnet = ipaddress.ip_network(rg_network(rg).subnet_prefix, strict=False)
    hosts = max(subnet.num_addresses - 5, 1)          # Azure reserves the first four and the last address
    return str(subnet.network_address + 4 + int.from_bytes(_digest(vm)[:4], "big") % hosts)


def subnet_mask(rg) -> str:
    return str(ipaddress.ip_network(rg_network(rg).subnet_prefix, strict=False).netmask)


def gateway(rg) -> str:
    return str(ipaddress.ip_network(rg_network(rg).subnet_prefix, strict=False).network_address + 1)


def mac_address(vm) -> str:
    return "00-0D-3A-" + "-".join(f"{b:02X}" for b in _digest(vm)[4:7])


# --- evaluation (a convenience of the control API, not an Azure answer) ----------------------------

def _port_matches(ranges: list[str], port: int) -> bool:
    for value in ranges:
        low, _sep, high = value.partition("-")
        if value == "*" or (low.isdigit() and int(low) <= port <= int(high or low)):
            return True
    return False


def _from_internet(rule: SecurityRule, port: int) -> bool:
    return (rule.direction.lower() == "inbound" and rule.protocol.lower() in ("*", "tcp")
            and any(p.lower() in INTERNET_SOURCES for p in rule.source_prefixes)
            and _port_matches(rule.destination_ports, port))


def inbound_verdict(nsg: Nsg, port: int) -> tuple[str, str]:
    """(access, rule name) of the first rule, by priority, that TCP ``port`` from any Internet address hits."""
    for rule in sorted([*nsg.rules, *DEFAULT_RULES], key=lambda r: r.priority):
        if _from_internet(rule, port):
            return rule.access, rule.name
    return "Deny", "DenyAllInBound"


def rdp_from_internet(rg, vm, port: int) -> dict:
    verdicts = []
    for association, nsg in (("networkInterface", nic_nsg(rg, vm)), ("subnet", subnet_nsg(rg))):
        if nsg is not None:
            access, rule = inbound_verdict(nsg, port)
            verdicts.append({"association": association, "nsg": nsg.name, "access": access, "rule": rule})
    return {"port": port, "allowed": all(v["access"] == "Allow" for v in verdicts), "verdicts": verdicts}


def network_state(rg, vm) -> dict:
    net, nic, sub = rg_network(rg), nic_nsg(rg, vm), subnet_nsg(rg)
    return {"nic": nic_name(vm), "private_ip": private_ip(rg, vm), "vnet": net.vnet, "subnet": net.subnet,
            "nic_nsg": nic.name if nic else None, "subnet_nsg": sub.name if sub else None,
            "nic_nsg_rules": [vars(r) for r in nic.rules] if nic else [],
            "subnet_nsg_rules": [vars(r) for r in sub.rules] if sub else [],
            "rdp_from_internet": rdp_from_internet(rg, vm, vm.guest.rdp_port)}
