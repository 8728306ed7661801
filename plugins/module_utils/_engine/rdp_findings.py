# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why Remote Desktop fails on a VM: findings with stable codes, one line each, and the fix.

Pure: from what was read outside the guest (the VM, its agent, the network security groups, the last
VMAccess run) and, when guest checks ran, the guest's own view (``rdp_guest``). A finding's ``fix`` says
which repair ``vm_rdp_repair`` applies, or what a human must do (the collection never edits NSGs, starts
VMs or changes group policy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.plan import AGENT_DOWN, agent_condition

ERROR, WARNING, INFO = "error", "warning", "info"
REPAIR = "azure_ops.vm_access.vm_rdp_repair"


def finding(code, severity, message, repair=None, human=None, **details):
    """``repair``: the repair action that fixes it; ``human``: what a person must do instead."""
    fix = {"by": REPAIR, "action": repair} if repair else {"by": "human", "todo": human}
    return dict(details, code=code, severity=severity, message=message, fix=fix)


def outside_findings(vm, network, vmaccess_state):
    """What the VM, its agent, the NSGs and the last VMAccess run show, without entering the guest."""
    name = vm.ref.name
    found = []
    if not vm.is_running:
        found.append(finding("vm_not_running", ERROR, "%s is %s, so nothing can connect to it." % (
            name, vm.power_state or "in an unknown power state"), human="Start the VM (az vm start), then check again."))
    elif agent_condition(vm) == AGENT_DOWN:
        found.append(finding(
            "agent_down", ERROR, "The VM agent on %s is not reporting (%s), so nothing can be checked or fixed from "
            "outside the guest." % (name, vm.agent_message or vm.agent_status or "no status"),
            human="Restart the VM or its Windows Azure Guest Agent service; check boot diagnostics and outbound access."))
    if vm.allow_extension_operations is False:
        found.append(finding("extensions_disallowed", ERROR, "%s allows no extension operations, so neither VMAccess "
                             "nor Run Command can act on it." % name,
                             human="Allow extension operations on the VM (osProfile.allowExtensionOperations)."))
    if network is not None and not network["allowed"]:
        deny = next((d for d in network["decided_by"] if d["access"] != "allow"), {})
        found.append(finding(
            "nsg_denies_rdp", ERROR, "Network security group %s (%s level) denies TCP %d from %s: %s." % (
                deny.get("nsg"), deny.get("level"), network["port"], network["source"],
                "rule %s (priority %s)" % (deny.get("rule"), deny.get("priority")) if deny.get("rule") else "no rule allows it"),
            human="Allow inbound TCP %d from %s in %s with a priority below %s (the collection never changes NSGs)." % (
                network["port"], network["source"], deny.get("nsg"), deny.get("priority") or 65500),
            nsg=deny.get("nsg_id"), rule=deny.get("rule")))
    if vmaccess_state is not None and vmaccess_state.failed:
        message = vmaccess_state.status.message if vmaccess_state.status else None
        found.append(finding("vmaccess_last_failed", WARNING, "The last VMAccess run on %s failed: %s" % (
            name, message or "no message"), human="See the message; vm_access_reset runs it again when needed."))
    return found


def guest_findings(guest, expected_port=3389):
    """What the guest itself reports (the read-only check's document)."""
    found = []
    rdp, cert = guest.get("rdp") or {}, guest.get("cert") or {}
    service, firewall = guest.get("termservice") or {}, guest.get("firewall") or {}
    joined = bool((guest.get("domain") or {}).get("joined"))
    port = rdp.get("port") or 3389
    if rdp.get("policy_deny_ts_connections") == 1:
        found.append(finding(
            "rdp_disabled_by_policy", ERROR, "A policy denies Remote Desktop connections (fDenyTSConnections = 1 in "
            "the Terminal Services policy key).",
            human="Set the policy 'Allow users to connect remotely by using Remote Desktop Services' to enabled "
                  "(%s)." % ("in the domain's Group Policy" if joined else "local policy, or remove the value")))
    if rdp.get("deny_ts_connections") == 1:
        found.append(finding("rdp_disabled", ERROR, "Remote Desktop is turned off (fDenyTSConnections = 1).",
                             repair="vmaccess_rdp_reset"))
    if port != expected_port:
        found.append(finding("rdp_port_changed", ERROR, "Remote Desktop listens on port %d, not %d." % (
            port, expected_port), repair="SetRDPPort", port=port))
    if not firewall.get("service_running", True):
        found.append(finding("firewall_service_stopped", ERROR, "The Windows Firewall service (mpssvc) is stopped; "
                             "VMAccess fails with 0x800706D9 while it is.",
                             human="Start the Windows Firewall service (mpssvc), then repair again."))
    elif not _port_rule_enabled(firewall.get("rdp_rules") or [], port):
        found.append(finding("rdp_firewall_rule_disabled", ERROR, "No enabled firewall rule lets TCP %d in." % port,
                             repair="vmaccess_rdp_reset" if port == 3389 else "SetRDPPort"))
    if not cert.get("found") or cert.get("expired"):
        found.append(finding("cert_invalid", ERROR, "The Remote Desktop listener's certificate %s." % (
            "has expired (%s)" % cert.get("not_after") if cert.get("found") else "is missing from the store"),
            repair="ResetRDPCert"))
    status, start = str(service.get("status") or ""), str(service.get("start_type") or "")
    if status.lower() != "running":
        found.append(finding("termservice_stopped", ERROR, "The Remote Desktop Services service (TermService) is %s "
                             "(start type %s)." % (status or "not reported", start or "unknown"),
                             human="Restart the VM (az vm restart)%s." % (
                                 ", after setting TermService's start type to Manual" if start.lower() == "disabled"
                                 else "")))
    admin = guest.get("admin") or {}
    if admin.get("name") and admin.get("enabled") is False:
        found.append(finding("builtin_admin_disabled", WARNING, "The built-in administrator %s is disabled." % (
            admin["name"]), repair="EnableAdminAccount"))
    names = rdp.get("listener_non_default") or []
    if names:
        found.append(finding("listener_non_default", WARNING, "Listener settings differ from Windows' defaults: %s." % (
            ", ".join(names)), repair=None if joined else "RDPSettings",
            human="The domain's Group Policy sets them; change them there." if joined else None, values=names))
    domain = guest.get("domain") or {}
    if rdp.get("nla_required") and joined and domain.get("secure_channel") is False:
        found.append(finding(
            "nla_domain_unreachable", ERROR, "Network Level Authentication is required and the VM cannot reach its "
            "domain %s (secure channel broken), so domain accounts cannot sign in." % (domain.get("domain") or ""),
            repair="DisableNLA"))
    elif rdp.get("nla_required"):
        found.append(finding(
            "nla_required", INFO, "Network Level Authentication is required (Windows' default); not a fault by itself.",
            human="If clients fail with CredSSP errors, update them and the VM; NLA is turned off only where the "
                  "VM cannot reach its domain."))
    return found


def _port_rule_enabled(rules, port):
    for rule in rules:
        ports = [p.strip() for p in str(rule.get("local_port") or "").split(",")]
        if rule.get("enabled") and (str(port) in ports or "Any" in ports):
            name = str(rule.get("name") or "")
            if "UDP" not in name.upper() and "SHADOW" not in name.upper():
                return True
    return False


def healthy(findings):
    return not any(f["severity"] == ERROR for f in findings)
