"""Findings: what the VM, its NSGs, the last VMAccess run and the guest's read-only check say is wrong with
Remote Desktop, each with its severity and its fix (a named repair, or a person's todo)."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.nsg import evaluate, normalise_rules
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_findings import (
    REPAIR,
    guest_findings,
    healthy,
    outside_findings,
)

from .rdp_docs import (
    NIC_ADDRESS,
    NIC_NSG_ID,
    RDP_SHADOW_RULE,
    RDP_TCP_RULE,
    RDP_UDP_RULE,
    SUBNET_NSG_ID,
    SUBNET_PREFIXES,
    allow_rdp_from,
    guest_doc,
    joined_guest,
    nsg_doc,
    security_rule,
)
from .vm_docs import vm_doc, vmaccess

CUSTOM_PORT_RULE = {"name": "Remote Desktop - Custom Port", "enabled": True, "local_port": "3390"}


def vm(doc=None, **kwargs):
    return parse_vm(doc or vm_doc(**kwargs))


def agent_silent_doc():
    # Not Ready with a message other than 'not yet populated': the agent is down, not starting.
    doc = vm_doc(agent="Not Ready")
    doc["properties"]["instanceView"]["vmAgent"]["statuses"][0]["message"] = "VM Agent is unresponsive."
    return doc


def network(subnet_rules, nic_rules=None, port=3389, source="Internet"):
    levels = [("subnet", SUBNET_NSG_ID, normalise_rules(nsg_doc(subnet_rules, SUBNET_NSG_ID))),
              ("network interface", NIC_NSG_ID if nic_rules is not None else None,
               normalise_rules(nsg_doc(nic_rules, NIC_NSG_ID)) if nic_rules is not None else [])]
    return evaluate(levels, port, source, NIC_ADDRESS, SUBNET_PREFIXES)


def codes(found):
    return [f["code"] for f in found]


def only(found, code):
    matching = [f for f in found if f["code"] == code]
    assert len(matching) == 1, codes(found)
    return matching[0]


def repaired_by(action):
    return {"by": REPAIR, "action": action}


# --- outside the guest ---------------------------------------------------------------------------

def test_a_running_vm_with_open_nsgs_has_no_outside_findings():
    assert outside_findings(vm(), network([allow_rdp_from("Internet")]), None) == []


def test_a_deallocated_vm_says_so_and_needs_a_person():
    found = outside_findings(vm(power="deallocated"), None, None)
    assert codes(found) == ["vm_not_running"]
    assert found[0]["severity"] == "error" and found[0]["fix"]["by"] == "human"
    assert found[0]["message"] == "web-001 is deallocated, so nothing can connect to it."
    assert "az vm start" in found[0]["fix"]["todo"]


def test_a_stopped_vm_is_not_also_reported_for_its_agent():
    # A stopped VM's agent is silent by nature; one finding says what to do.
    doc = agent_silent_doc()
    doc["properties"]["instanceView"]["statuses"][1]["code"] = "PowerState/stopped"
    assert codes(outside_findings(vm(doc), None, None)) == ["vm_not_running"]


def test_a_silent_agent_is_an_error_for_a_person():
    (found,) = outside_findings(vm(agent_silent_doc()), None, None)
    assert found["code"] == "agent_down" and found["severity"] == "error" and found["fix"]["by"] == "human"
    assert "(VM Agent is unresponsive.)" in found["message"] and "Guest Agent" in found["fix"]["todo"]


def test_a_starting_agent_is_not_reported_down():
    # 'status blob not yet populated' right after boot: the agent is starting, Run Command queues.
    assert outside_findings(vm(agent="Not Ready"), None, None) == []


def test_extensions_disallowed_is_an_error_for_a_person():
    (found,) = outside_findings(vm(allow_extensions=False), None, None)
    assert found["code"] == "extensions_disallowed" and found["severity"] == "error"
    assert found["fix"] == {"by": "human", "todo": "Allow extension operations on the VM (osProfile.allowExtensionOperations)."}


def test_an_nsg_deny_names_the_nsg_level_rule_and_priority():
    net = network([security_rule("DenyRdpInternet", 200, "Deny", source="Internet"), allow_rdp_from("Internet", 300)])
    (found,) = outside_findings(vm(), net, None)
    assert found["code"] == "nsg_denies_rdp" and found["severity"] == "error"
    assert found["message"] == ("Network security group nsg-subnet-web (subnet level) denies TCP 3389 from Internet: "
                                "rule DenyRdpInternet (priority 200).")
    assert found["nsg"] == SUBNET_NSG_ID and found["rule"] == "DenyRdpInternet"
    assert found["fix"] == {"by": "human", "todo": "Allow inbound TCP 3389 from Internet in nsg-subnet-web with a priority "
                                                   "below 200 (the collection never changes NSGs)."}


def test_an_nsg_deny_at_the_nic_level_after_the_subnet_allowed():
    (found,) = outside_findings(vm(), network([allow_rdp_from("Internet")], nic_rules=[]), None)
    assert found["nsg"] == NIC_NSG_ID and found["rule"] == "DenyAllInBound"
    assert "(network interface level)" in found["message"] and "priority below 65500" in found["fix"]["todo"]


def test_an_nsg_where_nothing_matches_says_no_rule_allows_it():
    levels = [("subnet", SUBNET_NSG_ID, normalise_rules(nsg_doc([], defaults=False)))]
    (found,) = outside_findings(vm(), evaluate(levels, 3389, "Internet"), None)
    assert found["message"].endswith(": no rule allows it.") and found["rule"] is None
    assert "priority below 65500" in found["fix"]["todo"]


def test_a_failed_vmaccess_run_is_a_warning_with_its_message():
    doc = vm_doc(extension=vmaccess(state="Failed", level="Error", message="Cannot update Remote Desktop Connection settings"))
    (found,) = outside_findings(vm(doc), None, parse_vm(doc).extension)
    assert found["code"] == "vmaccess_last_failed" and found["severity"] == "warning" and found["fix"]["by"] == "human"
    assert found["message"] == "The last VMAccess run on web-001 failed: Cannot update Remote Desktop Connection settings"


def test_a_succeeded_vmaccess_run_is_not_a_finding():
    doc = vm_doc(extension=vmaccess())
    assert outside_findings(vm(doc), None, parse_vm(doc).extension) == []


def test_everything_wrong_outside_at_once_in_a_stable_order():
    doc = agent_silent_doc()
    doc["properties"]["osProfile"]["allowExtensionOperations"] = False
    doc["resources"].append(vmaccess(state="Failed", level="Error")["model"])
    state = parse_vm(doc)
    assert codes(outside_findings(state, network([]), state.extension)) == [
        "agent_down", "extensions_disallowed", "nsg_denies_rdp", "vmaccess_last_failed"]


# --- the guest's own view ----------------------------------------------------------------------

def test_a_healthy_guest_has_only_the_nla_note():
    found = guest_findings(guest_doc())
    assert codes(found) == ["nla_required"]
    assert found[0]["severity"] == "info" and found[0]["fix"]["by"] == "human" and found[0]["fix"]["todo"]
    assert healthy(found)


def test_a_guest_without_nla_has_no_findings():
    assert guest_findings(guest_doc(rdp={"nla_required": False})) == []


# Each code the guest check can produce: (document, code, severity, fix).
GUEST_CASES = [
    (guest_doc(rdp={"policy_deny_ts_connections": 1}), "rdp_disabled_by_policy", "error", "human"),
    (guest_doc(rdp={"deny_ts_connections": 1}), "rdp_disabled", "error", repaired_by("vmaccess_rdp_reset")),
    (guest_doc(rdp={"port": 3390}, firewall={"rdp_rules": [RDP_TCP_RULE, CUSTOM_PORT_RULE]}), "rdp_port_changed", "error",
     repaired_by("SetRDPPort")),
    (guest_doc(firewall={"service_running": False}), "firewall_service_stopped", "error", "human"),
    (guest_doc(firewall={"rdp_rules": [dict(RDP_TCP_RULE, enabled=False), RDP_UDP_RULE, RDP_SHADOW_RULE]}),
     "rdp_firewall_rule_disabled", "error", repaired_by("vmaccess_rdp_reset")),
    (guest_doc(cert={"expired": True, "not_after": "2024-01-31T00:00:00Z"}), "cert_invalid", "error",
     repaired_by("ResetRDPCert")),
    (guest_doc(cert={"found": False, "not_after": None, "expired": None, "self_signed": None}), "cert_invalid", "error",
     repaired_by("ResetRDPCert")),
    (guest_doc(termservice={"status": "Stopped", "start_type": "Manual"}), "termservice_stopped", "error", "human"),
    (guest_doc(admin={"name": "azureadmin", "enabled": False}), "builtin_admin_disabled", "warning",
     repaired_by("EnableAdminAccount")),
    (guest_doc(rdp={"listener_non_default": ["LanAdapter", "MaxIdleTime"]}), "listener_non_default", "warning",
     repaired_by("RDPSettings")),
    (joined_guest(rdp={"listener_non_default": ["LanAdapter"]}), "listener_non_default", "warning", "human"),
    (joined_guest(secure_channel=False), "nla_domain_unreachable", "error", repaired_by("DisableNLA")),
    (guest_doc(), "nla_required", "info", "human"),
]


@pytest.mark.parametrize("doc, code, severity, fix", GUEST_CASES, ids=["%s-%d" % (c[1], i) for i, c in enumerate(GUEST_CASES)])
def test_each_guest_finding_has_its_severity_and_fix(doc, code, severity, fix):
    found = only(guest_findings(doc), code)
    assert found["severity"] == severity and found["message"]
    if fix == "human":
        assert found["fix"]["by"] == "human" and found["fix"]["todo"] and "action" not in found["fix"]
    else:
        assert found["fix"] == fix
    assert healthy([found]) is (severity != "error")


def test_every_guest_code_is_covered_by_the_table():
    # A new finding code fails here until the table above names its severity and fix.
    assert set(c[1] for c in GUEST_CASES) == {
        "rdp_disabled_by_policy", "rdp_disabled", "rdp_port_changed", "firewall_service_stopped",
        "rdp_firewall_rule_disabled", "cert_invalid", "termservice_stopped", "builtin_admin_disabled",
        "listener_non_default", "nla_domain_unreachable", "nla_required"}


def test_the_policy_todo_names_where_to_change_it():
    local = only(guest_findings(guest_doc(rdp={"policy_deny_ts_connections": 1})), "rdp_disabled_by_policy")
    domain = only(guest_findings(joined_guest(rdp={"policy_deny_ts_connections": 1})), "rdp_disabled_by_policy")
    assert "local policy" in local["fix"]["todo"] and "domain's Group Policy" in domain["fix"]["todo"]


def test_policy_and_registry_denies_are_two_findings():
    found = guest_findings(guest_doc(rdp={"policy_deny_ts_connections": 1, "deny_ts_connections": 1}))
    assert codes(found)[:2] == ["rdp_disabled_by_policy", "rdp_disabled"]


def test_a_policy_allowing_rdp_is_not_a_finding():
    assert "rdp_disabled_by_policy" not in codes(guest_findings(guest_doc(rdp={"policy_deny_ts_connections": 0})))


def test_a_changed_port_carries_the_port_and_checks_the_firewall_for_it():
    # Listening on 3390 with only the built-in 3389 rules: the port and the firewall, both fixed by SetRDPPort.
    found = guest_findings(guest_doc(rdp={"port": 3390}))
    port = only(found, "rdp_port_changed")
    assert port["port"] == 3390 and port["message"] == "Remote Desktop listens on port 3390, not 3389."
    firewall = only(found, "rdp_firewall_rule_disabled")
    assert firewall["message"] == "No enabled firewall rule lets TCP 3390 in." and firewall["fix"] == repaired_by("SetRDPPort")


def test_the_wanted_port_is_the_one_compared():
    doc = guest_doc(rdp={"port": 3390}, firewall={"rdp_rules": [CUSTOM_PORT_RULE]})
    assert codes(guest_findings(doc, expected_port=3390)) == ["nla_required"]
    assert only(guest_findings(guest_doc(), expected_port=3390), "rdp_port_changed")["message"] == \
        "Remote Desktop listens on port 3389, not 3390."


def test_a_missing_port_value_is_windows_default():
    assert "rdp_port_changed" not in codes(guest_findings(guest_doc(rdp={"port": None})))


@pytest.mark.parametrize("rules, enabled", [
    ([RDP_TCP_RULE], True),
    ([dict(RDP_TCP_RULE, local_port="3389,3390")], True),
    ([{"name": "Remote Desktop - Custom Port", "enabled": True, "local_port": "Any"}], True),
    ([dict(RDP_TCP_RULE, enabled=False), RDP_UDP_RULE], False),      # UDP does not carry the session
    ([dict(RDP_TCP_RULE, enabled=False), RDP_SHADOW_RULE], False),   # shadowing is not a session either
    ([dict(RDP_TCP_RULE, local_port="3390")], False),
    ([], False),
])
def test_which_firewall_rules_let_rdp_in(rules, enabled):
    found = codes(guest_findings(guest_doc(firewall={"rdp_rules": rules})))
    assert ("rdp_firewall_rule_disabled" not in found) is enabled


def test_a_stopped_firewall_service_hides_the_rule_check():
    # With mpssvc stopped the rules say nothing (and VMAccess fails): one finding, for a person.
    found = codes(guest_findings(guest_doc(firewall={"service_running": False, "rdp_rules": []})))
    assert "firewall_service_stopped" in found and "rdp_firewall_rule_disabled" not in found


def test_cert_messages_say_expired_or_missing():
    expired = only(guest_findings(guest_doc(cert={"expired": True, "not_after": "2024-01-31T00:00:00Z"})), "cert_invalid")
    missing = only(guest_findings(guest_doc(cert={"found": False, "expired": None})), "cert_invalid")
    assert expired["message"] == "The Remote Desktop listener's certificate has expired (2024-01-31T00:00:00Z)."
    assert missing["message"] == "The Remote Desktop listener's certificate is missing from the store."


def test_a_disabled_termservice_todo_says_to_set_it_to_manual_first():
    disabled = only(guest_findings(guest_doc(termservice={"status": "Stopped", "start_type": "Disabled"})),
                    "termservice_stopped")
    stopped = only(guest_findings(guest_doc(termservice={"status": "Stopped", "start_type": "Manual"})),
                   "termservice_stopped")
    assert disabled["fix"]["todo"] == "Restart the VM (az vm restart), after setting TermService's start type to Manual."
    assert stopped["fix"]["todo"] == "Restart the VM (az vm restart)."
    assert disabled["message"] == "The Remote Desktop Services service (TermService) is Stopped (start type Disabled)."


def test_an_unreported_termservice_is_not_assumed_running():
    found = only(guest_findings(guest_doc(termservice={"status": None, "start_type": None})), "termservice_stopped")
    assert "is not reported (start type unknown)" in found["message"]


@pytest.mark.parametrize("admin", [{"name": None, "enabled": None}, {"name": "azureadmin", "enabled": True}])
def test_no_admin_finding_without_a_disabled_builtin_admin(admin):
    assert "builtin_admin_disabled" not in codes(guest_findings(guest_doc(admin=admin)))


def test_listener_values_are_carried_and_a_domain_vm_is_sent_to_group_policy():
    local = only(guest_findings(guest_doc(rdp={"listener_non_default": ["LanAdapter", "MaxIdleTime"]})),
                 "listener_non_default")
    assert local["values"] == ["LanAdapter", "MaxIdleTime"]
    assert local["message"] == "Listener settings differ from Windows' defaults: LanAdapter, MaxIdleTime."
    joined = only(guest_findings(joined_guest(rdp={"listener_non_default": ["LanAdapter"]})), "listener_non_default")
    assert joined["fix"] == {"by": "human", "todo": "The domain's Group Policy sets them; change them there."}


@pytest.mark.parametrize("doc, code", [
    (joined_guest(secure_channel=False), "nla_domain_unreachable"),
    (joined_guest(secure_channel=True), "nla_required"),
    (joined_guest(secure_channel=None), "nla_required"),     # not checked is not broken
    (guest_doc(domain={"joined": False, "domain": None, "secure_channel": False}), "nla_required"),
])
def test_nla_is_a_fault_only_when_the_domain_is_unreachable(doc, code):
    found = [f for f in guest_findings(doc) if f["code"].startswith("nla")]
    assert codes(found) == [code]


def test_nla_off_with_a_broken_secure_channel_is_fine():
    assert guest_findings(joined_guest(secure_channel=False, rdp={"nla_required": False})) == []


def test_the_unreachable_domain_is_named():
    found = only(guest_findings(joined_guest(secure_channel=False)), "nla_domain_unreachable")
    assert "cannot reach its domain contoso.local (secure channel broken)" in found["message"]


def test_the_most_broken_guest_in_a_stable_order():
    doc = guest_doc(rdp={"policy_deny_ts_connections": 1, "deny_ts_connections": 1, "port": 3390,
                         "listener_non_default": ["TSServerDrainMode"]},
                    cert={"found": False}, termservice={"status": "Stopped", "start_type": "Disabled"},
                    admin={"name": "azureadmin", "enabled": False})
    doc["domain"] = {"joined": False, "domain": None, "secure_channel": None}
    assert codes(guest_findings(doc)) == [
        "rdp_disabled_by_policy", "rdp_disabled", "rdp_port_changed", "rdp_firewall_rule_disabled", "cert_invalid",
        "termservice_stopped", "builtin_admin_disabled", "listener_non_default", "nla_required"]


def test_healthy_means_no_error():
    warning = only(guest_findings(guest_doc(admin={"name": "azureadmin", "enabled": False})), "builtin_admin_disabled")
    error = only(guest_findings(guest_doc(rdp={"deny_ts_connections": 1})), "rdp_disabled")
    assert healthy([]) and healthy([warning]) and not healthy([warning, error])
