"""NSG evaluation for inbound Remote Desktop: priority order, Azure's default rules, ports, protocols,
sources and the two levels (subnet, then NIC). Pure: REST-shaped documents in, verdicts out."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.nsg import (
    decide,
    evaluate,
    normalise_effective,
    normalise_rules,
)

from .rdp_docs import (
    NIC_ADDRESS,
    NIC_NSG_ID,
    SUBNET_NSG_ID,
    SUBNET_PREFIXES,
    allow_rdp_from,
    effective_rule,
    nsg_doc,
    security_rule,
)


def decided(rules, port=3389, source="Internet", address=NIC_ADDRESS, prefixes=SUBNET_PREFIXES):
    """(name, access) of the deciding rule of one NSG document, or None."""
    rule = decide(normalise_rules(nsg_doc(rules)), port, source, address, prefixes)
    return (rule["name"], rule["access"]) if rule else None


def levels(subnet_rules=None, nic_rules=None):
    """evaluate()'s levels; None for a level without an NSG."""
    return [("subnet", SUBNET_NSG_ID if subnet_rules is not None else None,
             normalise_rules(nsg_doc(subnet_rules, SUBNET_NSG_ID)) if subnet_rules is not None else []),
            ("network interface", NIC_NSG_ID if nic_rules is not None else None,
             normalise_rules(nsg_doc(nic_rules, NIC_NSG_ID)) if nic_rules is not None else [])]


# --- normalising the documents ---------------------------------------------------------------------

def test_normalise_keeps_inbound_rules_and_the_three_inbound_defaults():
    doc = nsg_doc([allow_rdp_from("Internet"), security_rule("DenyRdpOut", 100, "Deny", "Outbound")])
    rules = normalise_rules(doc)
    assert [(r["name"], r["priority"], r["access"]) for r in rules] == [
        ("AllowRDP", 300, "allow"), ("AllowVnetInBound", 65000, "allow"),
        ("AllowAzureLoadBalancerInBound", 65001, "allow"), ("DenyAllInBound", 65500, "deny")]
    assert rules[0] == {"name": "AllowRDP", "priority": 300, "access": "allow", "direction": "inbound", "protocol": "tcp",
                        "sources": ["Internet"], "destinations": ["*"], "ports": ["3389"]}


def test_normalise_merges_singular_and_plural_fields():
    rule = security_rule("Office", 200, sources=["203.0.113.0/24", "198.51.100.7"], ports=["22", "3389"])
    (office,) = [r for r in normalise_rules(nsg_doc([rule])) if r["name"] == "Office"]
    assert office["sources"] == ["203.0.113.0/24", "198.51.100.7"] and office["ports"] == ["22", "3389"]


def test_an_nsg_document_without_rules_yields_no_rules():
    # Not Azure's shape (every NSG carries its defaults) but a partial document must not raise.
    assert normalise_rules({"properties": {}}) == [] and normalise_rules({}) == []


# --- Azure's default rules ----------------------------------------------------------------------------

def test_defaults_alone_deny_the_internet():
    assert decided([]) == ("DenyAllInBound", "deny")


def test_defaults_alone_allow_an_address_inside_the_virtual_network():
    assert decided([], source="10.0.1.50") == ("AllowVnetInBound", "allow")


def test_defaults_alone_allow_the_virtual_network_tag():
    # source_address: VirtualNetwork is accepted by the modules; AllowVnetInBound (65000) covers it.
    assert decided([], source="VirtualNetwork") == ("AllowVnetInBound", "allow")


def test_an_address_outside_the_known_vnet_prefixes_falls_to_deny_all():
    assert decided([], source="10.9.0.5") == ("DenyAllInBound", "deny")


def test_azure_load_balancer_tag_is_not_any_internet_source():
    assert decided([], source="203.0.113.7") == ("DenyAllInBound", "deny")


# --- priority ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("deny_priority, allow_priority, expected", [
    (200, 300, ("DenyRDP", "deny")),
    (300, 200, ("AllowRDP", "allow")),
    (4096, 100, ("AllowRDP", "allow")),
])
def test_the_lowest_priority_number_decides(deny_priority, allow_priority, expected):
    # Listed deny-last so that list order and priority order disagree in half the cases.
    rules = [allow_rdp_from("Internet", allow_priority), security_rule("DenyRDP", deny_priority, "Deny", source="*")]
    assert decided(rules) == expected


def test_a_custom_rule_beats_the_defaults_even_at_4096():
    assert decided([security_rule("DenyVnetRdp", 4096, "Deny", source="VirtualNetwork")], source="10.0.1.50") == \
        ("DenyVnetRdp", "deny")


# --- ports ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("port, expected", [(3380, "AllowRange"), (3389, "AllowRange"), (3390, "AllowRange"),
                                            (3379, "DenyAllInBound"), (3391, "DenyAllInBound")])
def test_a_port_range_includes_both_ends(port, expected):
    assert decided([security_rule("AllowRange", 300, source="Internet", port="3380-3390")], port=port)[0] == expected


@pytest.mark.parametrize("port, expected", [(22, "AllowList"), (3389, "AllowList"), (443, "DenyAllInBound")])
def test_a_port_list_matches_each_entry(port, expected):
    rule = security_rule("AllowList", 300, source="Internet", ports=["22", "3380-3390"])
    assert decided([rule], port=port)[0] == expected


def test_a_star_port_matches_any_port():
    assert decided([security_rule("AnyPort", 300, source="Internet", port="*")], port=50001) == ("AnyPort", "allow")


def test_an_unparsable_port_entry_matches_nothing():
    assert decided([security_rule("Odd", 300, source="Internet", ports=["rdp", "3389"])]) == ("Odd", "allow")
    assert decided([security_rule("Odd", 300, source="Internet", ports=["rdp"])]) == ("DenyAllInBound", "deny")


# --- protocols -------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol, matches", [("Tcp", True), ("*", True), ("Udp", False), ("Icmp", False),
                                               ("Esp", False), ("Ah", False)])
def test_only_tcp_or_any_protocol_matches_rdp(protocol, matches):
    result = decided([security_rule("AllowIt", 300, source="Internet", protocol=protocol)])
    assert result == (("AllowIt", "allow") if matches else ("DenyAllInBound", "deny"))


def test_a_udp_deny_does_not_block_tcp():
    rules = [security_rule("DenyUdp", 100, "Deny", protocol="Udp"), allow_rdp_from("Internet", 200)]
    assert decided(rules) == ("AllowRDP", "allow")


# --- sources ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, matches", [
    ("Internet", True), ("203.0.113.7", True), ("8.8.8.0/24", True),
    # private (RFC 1918, CGNAT) sources are not 'Internet'
    ("10.1.2.3", False), ("172.16.5.4", False), ("192.168.1.10", False), ("100.64.1.1", False),
    ("VirtualNetwork", False),
])
def test_the_internet_tag_covers_public_sources_only(source, matches):
    result = decided([allow_rdp_from("Internet")], source=source, prefixes=["10.0.1.0/24"])
    assert (result == ("AllowRDP", "allow")) is matches


def test_a_private_ipv6_source_is_not_internet():
    assert decided([allow_rdp_from("Internet")], source="fd00:db8::7", prefixes=[]) == ("DenyAllInBound", "deny")
    assert decided([allow_rdp_from("Internet")], source="2001:db8::7", prefixes=[]) == ("AllowRDP", "allow")


@pytest.mark.parametrize("source, matches", [
    ("203.0.113.7", True), ("203.0.113.0/25", True), ("203.0.113.0/24", True),
    ("203.0.112.0/23", False),   # wider than the rule: only part of it is allowed
    ("198.51.100.1", False), ("Internet", False),
])
def test_a_cidr_source_covers_addresses_inside_it(source, matches):
    assert (decided([allow_rdp_from("203.0.113.0/24")], source=source) == ("AllowRDP", "allow")) is matches


def test_a_list_of_sources_matches_any_entry():
    rule = security_rule("Offices", 300, sources=["198.51.100.0/24", "203.0.113.7/32"])
    assert decided([rule], source="203.0.113.7") == ("Offices", "allow")
    assert decided([rule], source="198.51.100.200") == ("Offices", "allow")
    assert decided([rule], source="203.0.113.8") == ("DenyAllInBound", "deny")


@pytest.mark.parametrize("source, matches", [("10.0.1.77", True), ("VirtualNetwork", True), ("Internet", False),
                                             ("203.0.113.7", False), ("10.0.2.5", False)])
def test_the_virtual_network_tag(source, matches):
    result = decided([security_rule("DenyVnet", 100, "Deny", source="VirtualNetwork"), allow_rdp_from("*", 200)],
                     source=source)
    assert result == (("DenyVnet", "deny") if matches else ("AllowRDP", "allow"))


def test_a_cidr_rule_covering_the_vnet_applies_to_the_virtual_network_tag():
    rules = [security_rule("DenyCorp", 100, "Deny", source="10.0.0.0/16"), allow_rdp_from("*", 200)]
    assert decided(rules, source="VirtualNetwork") == ("DenyCorp", "deny")
    assert decided(rules, source="VirtualNetwork", prefixes=["172.20.0.0/24"]) == ("AllowRDP", "allow")


@pytest.mark.parametrize("prefix", ["*", "Any", "0.0.0.0/0"])
def test_any_source_spellings(prefix):
    for source in ("Internet", "10.0.1.9", "203.0.113.7", "VirtualNetwork"):
        assert decided([allow_rdp_from(prefix)], source=source) == ("AllowRDP", "allow")


# --- destinations ---------------------------------------------------------------------------------

def test_a_rule_for_another_address_does_not_apply_to_this_nic():
    rules = [allow_rdp_from("Internet", destination="10.0.1.5")]
    assert decided(rules) == ("DenyAllInBound", "deny")
    assert decided(rules, address="10.0.1.5") == ("AllowRDP", "allow")
    assert decided([allow_rdp_from("Internet", destination="10.0.1.0/24")]) == ("AllowRDP", "allow")


# --- outbound ---------------------------------------------------------------------------------------

def test_outbound_rules_never_decide_inbound_traffic():
    rules = [security_rule("DenyOutRdp", 100, "Deny", "Outbound", source="*"),
             security_rule("AllowOutRdp", 110, "Allow", "Outbound", source="*", port="*")]
    assert decided(rules) == ("DenyAllInBound", "deny")
    assert decided(rules + [allow_rdp_from("Internet", 300)]) == ("AllowRDP", "allow")


# --- two levels ------------------------------------------------------------------------------------

def test_a_subnet_deny_stops_before_the_nic():
    verdict = evaluate(levels(subnet_rules=[], nic_rules=[allow_rdp_from("Internet")]), 3389, "Internet", NIC_ADDRESS,
                       SUBNET_PREFIXES)
    assert verdict["allowed"] is False and verdict["port"] == 3389 and verdict["source"] == "Internet"
    assert verdict["decided_by"] == [{"level": "subnet", "nsg": "nsg-subnet-web", "nsg_id": SUBNET_NSG_ID,
                                      "rule": "DenyAllInBound", "priority": 65500, "access": "deny"}]


def test_both_levels_must_allow():
    nic_denies = evaluate(levels([allow_rdp_from("Internet")], []), 3389, "Internet", NIC_ADDRESS, SUBNET_PREFIXES)
    assert nic_denies["allowed"] is False
    assert [(d["level"], d["rule"], d["access"]) for d in nic_denies["decided_by"]] == [
        ("subnet", "AllowRDP", "allow"), ("network interface", "DenyAllInBound", "deny")]
    both = evaluate(levels([allow_rdp_from("Internet")], [allow_rdp_from("Internet", 1000)]), 3389, "Internet",
                    NIC_ADDRESS, SUBNET_PREFIXES)
    assert both["allowed"] is True
    assert [(d["nsg"], d["rule"], d["priority"]) for d in both["decided_by"]] == [
        ("nsg-subnet-web", "AllowRDP", 300), ("nsg-nic-web-001", "AllowRDP", 1000)]


@pytest.mark.parametrize("subnet, nic", [(None, "allow"), ("allow", None)])
def test_a_level_without_an_nsg_allows(subnet, nic):
    rules = [allow_rdp_from("Internet")]
    verdict = evaluate(levels(rules if subnet else None, rules if nic else None), 3389, "Internet", NIC_ADDRESS,
                       SUBNET_PREFIXES)
    assert verdict["allowed"] is True
    missing = [d for d in verdict["decided_by"] if d["nsg"] is None]
    assert len(missing) == 1 and missing[0]["access"] == "allow" and missing[0]["why"] == "no network security group"


def test_no_nsg_anywhere_allows_everything():
    verdict = evaluate(levels(None, None), 3389, "Internet", NIC_ADDRESS, SUBNET_PREFIXES)
    assert verdict["allowed"] is True and [d["level"] for d in verdict["decided_by"]] == ["subnet", "network interface"]


def test_an_nsg_where_no_rule_matches_denies():
    # Rules without Azure's defaults (a partial effective-rules answer): nothing matches, so nothing allows.
    verdict = evaluate([("subnet", SUBNET_NSG_ID, normalise_rules(nsg_doc([], defaults=False)))], 3389, "Internet")
    assert verdict["allowed"] is False
    assert verdict["decided_by"][0]["rule"] is None and verdict["decided_by"][0]["priority"] is None


# --- the effective-rules shape ------------------------------------------------------------------------

EFFECTIVE = [
    effective_rule("securityRules/AllowCorpRDP", 300, source="VirtualNetwork",
                   expanded=["10.0.0.0/16", "172.20.0.0/16", "168.63.129.16/32"]),
    effective_rule("defaultSecurityRules/AllowVnetInBound", 65000, protocol="All", source="VirtualNetwork",
                   expanded=["10.0.0.0/16", "168.63.129.16/32"], port="0-65535", destination="VirtualNetwork"),
    effective_rule("defaultSecurityRules/AllowAzureLoadBalancerInBound", 65001, protocol="All",
                   source="AzureLoadBalancer", expanded=["168.63.129.16/32"], port="0-65535"),
    effective_rule("defaultSecurityRules/DenyAllInBound", 65500, "Deny", protocol="All", port="0-65535"),
    effective_rule("defaultSecurityRules/DenyAllOutBound", 65500, "Deny", protocol="All", port="0-65535",
                   direction="Outbound"),
]


def test_effective_rules_are_normalised_by_their_short_name_inbound_only():
    rules = normalise_effective(EFFECTIVE)
    assert [r["name"] for r in rules] == ["AllowCorpRDP", "AllowVnetInBound", "AllowAzureLoadBalancerInBound",
                                          "DenyAllInBound"]
    assert rules[0]["sources"] == ["VirtualNetwork", "10.0.0.0/16", "172.20.0.0/16", "168.63.129.16/32"]
    assert rules[1]["protocol"] == "all" and rules[1]["ports"] == ["0-65535"]


@pytest.mark.parametrize("source, expected", [
    ("172.20.3.4", "AllowCorpRDP"),        # only the expanded prefixes say this peered range is 'VirtualNetwork'
    ("10.0.1.9", "AllowCorpRDP"),
    ("Internet", "DenyAllInBound"),
    ("203.0.113.7", "DenyAllInBound"),
])
def test_effective_rules_match_through_the_expanded_prefixes(source, expected):
    assert decide(normalise_effective(EFFECTIVE), 3389, source, NIC_ADDRESS, SUBNET_PREFIXES)["name"] == expected


def test_effective_protocol_all_and_port_lists():
    rules = normalise_effective([effective_rule("securityRules/AllowMgmt", 100, protocol="All", source="Internet",
                                                port=None, ports=["22-22", "3389-3389"])])
    assert decide(rules, 3389, "Internet")["name"] == "AllowMgmt"
    assert decide(rules, 3390, "Internet") is None


def test_normalise_effective_takes_none():
    assert normalise_effective(None) == []


# --- properties ------------------------------------------------------------------------------------

PORTS = ["*", "3389", "3380-3390", "22", "443", "3000-4000", "3390"]
SOURCES = ["*", "Internet", "VirtualNetwork", "AzureLoadBalancer", "10.0.0.0/16", "10.0.1.0/24", "203.0.113.0/24",
           "198.51.100.7/32", "0.0.0.0/0"]
QUERY_SOURCES = ["Internet", "VirtualNetwork", "10.0.1.4", "10.0.7.7", "203.0.113.9", "198.51.100.7", "192.168.0.1"]


# Rule shapes (access, direction, protocol, sources, ports), a pool drawn from in one step each: cheaper for
# hypothesis than drawing every field, so the properties stay fast.
SHAPES = [(access, direction, protocol, sources, ports)
          for access in ("Allow", "Deny") for direction in ("Inbound", "Inbound", "Outbound")
          for protocol in ("Tcp", "Udp", "*")
          for sources in [[s] for s in SOURCES] + [["203.0.113.0/24", "10.0.0.0/16"], ["Internet", "VirtualNetwork"]]
          for ports in [[p] for p in PORTS] + [["22", "3380-3390"]]]


def build_rules(drawn):
    """Inbound and outbound rules with distinct priorities (Azure enforces that per direction)."""
    rules = [security_rule("r%d" % index, priority, access=access, direction=direction, protocol=protocol,
                           sources=sources if len(sources) > 1 else None, source=sources[0],
                           ports=ports if len(ports) > 1 else None, port=ports[0])
             for index, (priority, (access, direction, protocol, sources, ports)) in enumerate(drawn)]
    return normalise_rules(nsg_doc(rules))


def rule_sets(max_size=8):
    return st.lists(st.tuples(st.integers(100, 4096), st.sampled_from(SHAPES)), max_size=max_size,
                    unique_by=lambda pair: pair[0]).map(build_rules)


queries = st.tuples(st.sampled_from([22, 3389, 3390, 443, 50000]), st.sampled_from(QUERY_SOURCES))


def matches_alone(rule, port, source):
    return decide([rule], port, source, NIC_ADDRESS, SUBNET_PREFIXES) is rule


@settings(max_examples=150, deadline=None)
@given(rule_sets(), queries)
def test_the_decision_is_the_lowest_priority_rule_that_matches_on_its_own(rules, query):
    port, source = query
    matching = [r for r in rules if matches_alone(r, port, source)]
    expected = min(matching, key=lambda r: r["priority"]) if matching else None
    assert decide(rules, port, source, NIC_ADDRESS, SUBNET_PREFIXES) is expected
    # Azure's DenyAllInBound matches everything: a full NSG always decides.
    assert expected is not None


@settings(max_examples=150, deadline=None)
@given(rule_sets(), queries, st.data())
def test_a_rule_below_the_deciding_one_never_changes_the_decision(rules, query, data):
    port, source = query
    before = decide(rules, port, source, NIC_ADDRESS, SUBNET_PREFIXES)
    used = set(r["priority"] for r in rules)
    priority = data.draw(st.integers(before["priority"] + 1, 65535).filter(lambda p: p not in used))
    extra = normalise_rules({"properties": {"securityRules": [security_rule(
        "extra", priority, access=data.draw(st.sampled_from(["Allow", "Deny"])), source="*", port="*",
        protocol="*")]}})
    after = decide(rules + extra, port, source, NIC_ADDRESS, SUBNET_PREFIXES)
    assert (after["name"], after["access"]) == (before["name"], before["access"])


@settings(max_examples=100, deadline=None)
@given(rule_sets(), queries, st.randoms())
def test_the_order_rules_are_listed_in_does_not_matter(rules, query, random):
    port, source = query
    shuffled = list(rules)
    random.shuffle(shuffled)
    assert decide(shuffled, port, source, NIC_ADDRESS, SUBNET_PREFIXES) is \
        decide(rules, port, source, NIC_ADDRESS, SUBNET_PREFIXES)


@settings(max_examples=100, deadline=None)
@given(rule_sets(), rule_sets(), st.booleans(), st.booleans(), queries)
def test_traffic_passes_exactly_when_every_level_with_an_nsg_allows(subnet, nic, subnet_has, nic_has, query):
    port, source = query
    levels_ = [("subnet", SUBNET_NSG_ID if subnet_has else None, subnet),
               ("network interface", NIC_NSG_ID if nic_has else None, nic)]
    verdict = evaluate(levels_, port, source, NIC_ADDRESS, SUBNET_PREFIXES)
    accesses = [decide(rules, port, source, NIC_ADDRESS, SUBNET_PREFIXES)["access"]
                for _level, nsg, rules in levels_ if nsg is not None]
    assert verdict["allowed"] is all(a == "allow" for a in accesses)
    # The first denying level ends the list; a level without an NSG is listed as allowing.
    first_deny = next((i for i, (_level, nsg, rules) in enumerate(levels_) if nsg is not None and
                       decide(rules, port, source, NIC_ADDRESS, SUBNET_PREFIXES)["access"] == "deny"), None)
    assert len(verdict["decided_by"]) == (2 if first_deny is None else first_deny + 1)
    assert verdict["decided_by"][-1]["access"] == ("allow" if first_deny is None else "deny")
