"""What the emulator's RDP-broken fleet (tests/emulator/fleets/rdp_broken.yml) holds, VM by VM: the
findings a diagnosis must name, the repair that fixes each repairable VM, and the VMs only a person can
fix. Shared by the in-process engine tests and the tests through Ansible."""

import pathlib

FLEET = pathlib.Path(__file__).resolve().parent / "emulator" / "fleets" / "rdp_broken.yml"
SUB = "3c9d1f0e-2b4a-4e6f-8a1b-5c7d9e0f1a2b"
LOCKED = ("rdp-subnet-01", "rdp-ok-02")  # in rg-rdp-locked; every other VM is in rg-rdp

# Errors and warnings the read-only guest check and the outside reads find on each VM.
EXPECTED = {
    "rdp-ok-01": set(),
    "rdp-off-01": {"rdp_disabled", "rdp_firewall_rule_disabled"},
    "rdp-policy-01": {"rdp_disabled_by_policy"},
    "rdp-port-01": {"rdp_port_changed", "rdp_firewall_rule_disabled", "nsg_denies_rdp"},
    "rdp-cert-01": {"cert_invalid"},
    "rdp-cert-02": {"cert_invalid"},
    "rdp-nla-01": {"nla_domain_unreachable"},
    "rdp-svc-01": {"termservice_stopped"},
    "rdp-svc-02": {"termservice_stopped"},
    "rdp-admin-01": {"builtin_admin_disabled"},
    "rdp-listener-01": {"listener_non_default"},
    "rdp-nsg-01": {"nsg_denies_rdp"},
    "rdp-fw-01": {"firewall_service_stopped"},
    "rdp-subnet-01": {"nsg_denies_rdp"},
    "rdp-ok-02": {"nsg_denies_rdp"},
}
# The repair that fixes each repairable VM (rdp-nla-01 only with allow_disable_nla).
REPAIRS = {
    "rdp-off-01": ["vmaccess_rdp_reset"],
    "rdp-port-01": ["SetRDPPort"],
    "rdp-cert-01": ["ResetRDPCert"],
    "rdp-cert-02": ["ResetRDPCert"],
    "rdp-admin-01": ["EnableAdminAccount"],
    "rdp-listener-01": ["RDPSettings"],
}
NEEDS_HUMAN = {"rdp-policy-01", "rdp-svc-01", "rdp-svc-02", "rdp-nsg-01", "rdp-fw-01", "rdp-subnet-01", "rdp-ok-02",
               "rdp-nla-01"}


def rg_of(name):
    return "rg-rdp-locked" if name in LOCKED else "rg-rdp"


def vm_id(name):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (SUB, rg_of(name), name)


def guest_effects_hold(rdp_state):
    """{vm: True} where each repair's effect shows in the emulated guest (``rdp_state(name)``: guest.rdp)."""
    return {
        "rdp-off-01": rdp_state("rdp-off-01")["effective_enabled"] and any(
            r["enabled"] and r["local_port"] == "3389" for r in rdp_state("rdp-off-01")["firewall_rules"]),
        "rdp-port-01": rdp_state("rdp-port-01")["port"] == 3389,
        "rdp-cert-01": bool(rdp_state("rdp-cert-01")["cert"]["found"]),
        "rdp-cert-02": rdp_state("rdp-cert-02")["cert"]["expired"] is False,
        "rdp-admin-01": bool(rdp_state("rdp-admin-01")["builtin_admin"]["enabled"]),
        "rdp-listener-01": rdp_state("rdp-listener-01")["listener_non_default"] == [],
    }


def untouched(rdp_state):
    """What the collection never changes: a policy, services, NLA without the flag, the firewall service."""
    return (rdp_state("rdp-policy-01")["policy_deny_ts_connections"] == 1
            and rdp_state("rdp-svc-02")["termservice"]["status"] == "Stopped"
            and rdp_state("rdp-svc-01")["termservice"]["status"] == "Stopped"
            and rdp_state("rdp-nla-01")["nla"]
            and not rdp_state("rdp-fw-01")["firewall_service_running"])
