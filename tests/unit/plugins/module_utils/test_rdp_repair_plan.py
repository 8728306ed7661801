"""Repair planning: which Run Command scripts (and the VMAccess RDP reset) fix the findings, in which order,
and what is refused or left to a person. Findings come from the real guest_findings on check documents."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_findings import guest_findings
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_repair import (
    NLA_REFUSED,
    RUN_COMMAND_ORDER,
    VMACCESS_RESET,
    needs_human,
    plan_repairs,
)

from .rdp_docs import RDP_TCP_RULE, RDP_UDP_RULE, guest_doc, joined_guest


def plan(doc, **kwargs):
    return plan_repairs(guest_findings(doc, kwargs.pop("expected_port", 3389)), **kwargs)


def names(actions):
    return [a["action"] for a in actions]


# Every scripted repair but SetRDPPort (which would absorb the VMAccess reset), domain-joined for DisableNLA.
ALL_BUT_PORT = joined_guest(secure_channel=False, rdp={"deny_ts_connections": 1},
                            cert={"expired": True, "not_after": "2024-01-31T00:00:00Z"},
                            admin={"name": "azureadmin", "enabled": False})
ALL_BUT_PORT_LISTENER = guest_doc(rdp={"listener_non_default": ["LanAdapter"], "deny_ts_connections": 1},
                                  cert={"found": False}, admin={"name": "azureadmin", "enabled": False})


def test_the_order_is_admin_cert_settings_nla_then_the_vmaccess_reset():
    actions, refused = plan(ALL_BUT_PORT, allow_disable_nla=True)
    assert names(actions) == ["EnableAdminAccount", "ResetRDPCert", "DisableNLA", VMACCESS_RESET] and refused == []
    actions, _refused = plan(ALL_BUT_PORT_LISTENER)
    assert names(actions) == ["EnableAdminAccount", "ResetRDPCert", "RDPSettings", VMACCESS_RESET]


def test_the_full_order_with_a_port_change():
    doc = joined_guest(secure_channel=False, rdp={"port": 3390}, cert={"found": False},
                       admin={"name": "azureadmin", "enabled": False})
    actions, _refused = plan(doc, allow_disable_nla=True)
    assert names(actions) == ["EnableAdminAccount", "SetRDPPort", "ResetRDPCert", "DisableNLA"]
    local = guest_doc(rdp={"port": 3390, "listener_non_default": ["LanAdapter"]}, cert={"found": False},
                      admin={"name": "azureadmin", "enabled": False})
    assert names(plan(local)[0]) == ["EnableAdminAccount", "SetRDPPort", "ResetRDPCert", "RDPSettings"]


def test_all_six_in_order_when_every_finding_is_present():
    # RDPSettings (not domain-joined) and DisableNLA (domain-joined) never come from one VM: pool two VMs'
    # findings to see the whole sequence at once.
    pooled = guest_findings(ALL_BUT_PORT) + guest_findings(ALL_BUT_PORT_LISTENER)
    actions, _refused = plan_repairs(pooled, allow_disable_nla=True)
    assert names(actions) == ["EnableAdminAccount", "ResetRDPCert", "RDPSettings", "DisableNLA", VMACCESS_RESET]
    with_port = pooled + guest_findings(guest_doc(rdp={"port": 3390}))
    actions, _refused = plan_repairs(with_port, allow_disable_nla=True)
    assert names(actions) == ["EnableAdminAccount", "SetRDPPort", "ResetRDPCert", "RDPSettings", "DisableNLA"]


def test_the_order_does_not_depend_on_the_order_of_the_findings():
    findings = guest_findings(ALL_BUT_PORT)
    forward = plan_repairs(findings, allow_disable_nla=True)[0]
    backward = plan_repairs(list(reversed(findings)), allow_disable_nla=True)[0]
    assert forward == backward


def test_the_declared_order():
    # The documented sequence; a reorder must be deliberate.
    assert RUN_COMMAND_ORDER == ("EnableAdminAccount", "SetRDPPort", "ResetRDPCert", "RDPSettings", "DisableNLA")


def test_set_rdp_port_absorbs_the_vmaccess_reset():
    # SetRDPPort also sets fDenyTSConnections 0 and opens the port: no VMAccess reset after it.
    doc = guest_doc(rdp={"port": 3390, "deny_ts_connections": 1})
    actions, refused = plan(doc)
    assert actions == [{"action": "SetRDPPort", "parameters": {"RDPPORT": "3389"},
                        "findings": ["rdp_disabled", "rdp_firewall_rule_disabled", "rdp_port_changed"]}]
    assert refused == []


def test_the_vmaccess_reset_collects_every_finding_it_fixes():
    doc = guest_doc(rdp={"deny_ts_connections": 1}, firewall={"rdp_rules": [dict(RDP_TCP_RULE, enabled=False), RDP_UDP_RULE]})
    actions, _refused = plan(doc)
    assert actions == [{"action": VMACCESS_RESET, "parameters": {}, "findings": ["rdp_disabled", "rdp_firewall_rule_disabled"]}]


@pytest.mark.parametrize("port", [3390, 50001])
def test_set_rdp_port_is_given_the_wanted_port(port):
    actions, _refused = plan(guest_doc(), expected_port=port, rdp_port=port)
    assert actions == [{"action": "SetRDPPort", "parameters": {"RDPPORT": str(port)}, "findings": ["rdp_port_changed"]}]


def test_only_set_rdp_port_takes_parameters():
    actions, _refused = plan(guest_doc(rdp={"port": 3390}, cert={"found": False}, admin={"name": "a", "enabled": False}),
                             rdp_port=3389)
    assert [(a["action"], a["parameters"]) for a in actions] == [
        ("EnableAdminAccount", {}), ("SetRDPPort", {"RDPPORT": "3389"}), ("ResetRDPCert", {})]


def test_disable_nla_is_refused_without_allow_disable_nla():
    actions, refused = plan(joined_guest(secure_channel=False))
    assert actions == []
    assert [(r["code"], r["refused"]) for r in refused] == [("nla_domain_unreachable", NLA_REFUSED)]
    assert "allow_disable_nla: true" in NLA_REFUSED
    # The refused entry is the finding itself, with why added.
    assert refused[0]["fix"] == {"by": "azure_ops.vm_access.vm_rdp_repair", "action": "DisableNLA"}


def test_disable_nla_is_planned_with_allow_disable_nla():
    actions, refused = plan(joined_guest(secure_channel=False), allow_disable_nla=True)
    assert actions == [{"action": "DisableNLA", "parameters": {}, "findings": ["nla_domain_unreachable"]}]
    assert refused == []


def test_refusing_nla_keeps_the_other_repairs():
    actions, refused = plan(ALL_BUT_PORT)
    assert names(actions) == ["EnableAdminAccount", "ResetRDPCert", VMACCESS_RESET]
    assert [r["code"] for r in refused] == ["nla_domain_unreachable"]


@pytest.mark.parametrize("doc", [
    guest_doc(),                                                       # healthy, NLA note only
    guest_doc(rdp={"nla_required": False}),
    guest_doc(termservice={"status": "Stopped", "start_type": "Disabled"}),   # a person's job
    guest_doc(rdp={"policy_deny_ts_connections": 1}),
    joined_guest(rdp={"listener_non_default": ["LanAdapter"]}),        # group policy's values
])
def test_nothing_to_repair_is_an_empty_plan(doc):
    assert plan(doc, allow_disable_nla=True) == ([], [])


def test_an_empty_list_plans_nothing():
    assert plan_repairs([]) == ([], [])


def test_needs_human_lists_human_fixes_but_not_notes_or_repairs():
    findings = guest_findings(guest_doc(rdp={"policy_deny_ts_connections": 1, "deny_ts_connections": 1},
                                        termservice={"status": "Stopped", "start_type": "Manual"}))
    assert [f["code"] for f in findings] == ["rdp_disabled_by_policy", "rdp_disabled", "termservice_stopped",
                                             "nla_required"]
    assert [f["code"] for f in needs_human(findings)] == ["rdp_disabled_by_policy", "termservice_stopped"]


def test_a_refused_repair_is_not_a_human_fix_by_itself():
    # needs_human() looks at fixes only; the result adds refused repairs (see test_rdp_result).
    assert needs_human(guest_findings(joined_guest(secure_channel=False))) == []
