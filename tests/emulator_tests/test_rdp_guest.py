"""The guest's Remote Desktop model: fleet keys, control-API patches and reads, and VMAccess's effects
staying what they were (it only enables RDP and the 3389 rule; a password reset enables the account)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator import load_fleet
from tests.emulator.fleet import FleetError

from .conftest import put_extension, vmaccess_body
from .rdp_helpers import rdp

pytestmark = pytest.mark.timeout(90)
FLEETS = Path(__file__).resolve().parents[1] / "emulator" / "fleets"


def test_a_default_guest_is_a_healthy_listener(azure):
    azure.add_vms({"name": "win1"})
    state = rdp(azure, "win1")
    assert state["deny_ts_connections"] == 0 and state["policy_deny_ts_connections"] is None
    assert state["effective_enabled"] and state["port"] == 3389 and state["nla"] and state["security_layer"] == 2
    assert state["cert"]["found"] and state["cert"]["expired"] is False and state["cert"]["self_signed"]
    assert len(state["cert"]["thumbprint"]) == 40 and state["cert"]["bound"] is False
    assert state["termservice"] == {"status": "Running", "start_type": "Manual"}
    assert state["domain_joined"] is False and state["domain"] is None
    assert state["builtin_admin"] == {"name": "azureadmin", "enabled": True}
    assert state["listener_non_default"] == []
    assert [r["name"] for r in state["firewall_rules"]] == [
        "Remote Desktop - User Mode (TCP-In)", "Remote Desktop - User Mode (UDP-In)",
        "Remote Desktop - Shadow (TCP-In)"]
    accounts = azure.vm_state("win1")["guest"]["accounts"]
    assert [a["name"] for a in accounts if a["builtin"]] == ["azureadmin"]


def test_fleet_keys_seed_every_kind_of_trouble(azure):
    azure.add_vms(
        {"name": "policy", "policy_deny_ts_connections": 1},
        {"name": "nla", "nla": False, "security_layer": 1},
        {"name": "missing", "rdp_cert": "missing"},
        {"name": "expired", "rdp_cert": "expired", "rdp_cert_self_signed": False},
        {"name": "svc", "termservice": "stopped", "termservice_start_type": "disabled"},
        {"name": "admin", "builtin_admin_enabled": False, "admin_username": "opsadmin"},
        {"name": "domain", "domain_joined": True, "domain": "corp.example.com", "domain_reachable": False},
        {"name": "listener", "listener_defaults": False, "listener_values": {"MaxIdleTime": 60000}},
        {"name": "rules", "rdp_firewall_rules": [{"name": "Remote Desktop - Custom Port", "local_port": "3390"}]})
    assert rdp(azure, "policy")["effective_enabled"] is False
    assert rdp(azure, "nla")["nla"] is False and rdp(azure, "nla")["security_layer"] == 1
    missing = rdp(azure, "missing")["cert"]
    assert missing["found"] is False and missing["bound"] is True and missing["not_after"] is None
    expired = rdp(azure, "expired")["cert"]
    assert expired["found"] and expired["expired"] is True and expired["self_signed"] is False
    assert rdp(azure, "svc")["termservice"] == {"status": "Stopped", "start_type": "Disabled"}
    assert rdp(azure, "admin")["builtin_admin"] == {"name": "opsadmin", "enabled": False}
    assert rdp(azure, "domain")["domain_joined"] and rdp(azure, "domain")["domain"] == "corp.example.com"
    assert rdp(azure, "domain")["domain_reachable"] is False and rdp(azure, "nla")["domain_reachable"] is True
    listener = rdp(azure, "listener")
    assert listener["listener_values"]["MaxIdleTime"] == 60000
    assert {"LanAdapter", "TSServerDrainMode", "MaxInstanceCount", "MaxIdleTime"} <= set(
        listener["listener_non_default"])
    assert rdp(azure, "rules")["firewall_rules"][-1] == {"name": "Remote Desktop - Custom Port", "enabled": True,
                                                         "local_port": "3390"}


def test_a_domain_controller_counts_as_domain_joined(azure):
    azure.add_vms({"name": "dc", "failure_mode": "domain_controller"})
    assert rdp(azure, "dc")["domain_joined"] is True and rdp(azure, "dc")["domain"] == "contoso.local"


@pytest.mark.parametrize("bad, field", [({"nla": "yes"}, "nla"), ({"rdp_cert": "revoked"}, "rdp_cert"),
                                        ({"termservice": "paused"}, "termservice"),
                                        ({"policy_deny_ts_connections": 2}, "policy_deny_ts_connections"),
                                        ({"listener_values": {"NoSuchValue": 1}}, "listener_values"),
                                        ({"security_layer": 5}, "security_layer")])
def test_bad_rdp_keys_are_clear_fleet_errors(bad, field):
    fleet = {"resource_groups": [{"name": "rg", "vms": [{"name": "vm", **bad}]}]}
    with pytest.raises(FleetError, match=rf"resource_groups\[0\]\.vms\[0\]: {field}"):
        load_fleet(fleet)


def test_distributions_work_for_cert_and_termservice(azure):
    azure.add_vms({"name": "vm-{i:02d}", "count": 16, "rdp_cert": {"valid": 1, "expired": 1},
                   "termservice": {"running": 1, "stopped": 1}})
    states = [rdp(azure, f"vm-{i:02d}") for i in range(1, 17)]
    assert {s["cert"]["expired"] for s in states} == {True, False}
    assert {s["termservice"]["status"] for s in states} == {"Running", "Stopped"}


def test_patch_changes_and_reads_back_the_rdp_state(azure):
    azure.add_vms({"name": "win1"})
    state = azure.control.patch_vm(azure.sub, "rg-test", "win1", nla=False, rdp_cert="expired",
                                   termservice="stopped", policy_deny_ts_connections=0, builtin_admin_enabled=False,
                                   domain_joined=True, listener_values={"LanAdapter": 1})["guest"]["rdp"]
    assert state["nla"] is False and state["cert"]["expired"] is True
    assert state["termservice"]["status"] == "Stopped" and state["policy_deny_ts_connections"] == 0
    assert state["builtin_admin"]["enabled"] is False and state["domain"] == "contoso.local"
    assert state["listener_non_default"] == ["LanAdapter"]
    with pytest.raises(RuntimeError, match="nla: must be true or false"):
        azure.control.patch_vm(azure.sub, "rg-test", "win1", nla="off")
    with pytest.raises(RuntimeError, match="unknown VM fields"):
        azure.control.patch_vm(azure.sub, "rg-test", "win1", rdp_colour="blue")


def test_vmaccess_rdp_reset_enables_rdp_and_the_3389_rule_only(azure):
    azure.add_vms({"name": "win1", "rdp": "broken", "rdp_port": 3390, "nla": False, "rdp_cert": "expired",
                   "termservice": "stopped", "policy_deny_ts_connections": 1, "extension_duration_s": 5})
    before = rdp(azure, "win1")
    put_extension(azure, "win1", vmaccess_body(tag="reset-1"))
    after = rdp(azure, "win1")
    assert after["deny_ts_connections"] == 0 and after["firewall_rules"][0]["enabled"] is True
    for unchanged in ("port", "nla", "cert", "termservice", "policy_deny_ts_connections", "security_layer"):
        assert after[unchanged] == before[unchanged], unchanged
    assert after["effective_enabled"] is False          # the group policy still denies


def test_vmaccess_password_reset_enables_the_disabled_builtin_admin(azure):
    azure.add_vms({"name": "win1", "builtin_admin_enabled": False, "extension_duration_s": 5})
    put_extension(azure, "win1", vmaccess_body({"UserName": "azureadmin"}, {"Password": "N3w-Passw0rd!x"}))
    assert rdp(azure, "win1")["builtin_admin"] == {"name": "azureadmin", "enabled": True}


def test_starting_a_stopped_vm_boots_the_guest(azure):
    azure.add_vms({"name": "win1", "termservice": "stopped"})
    azure.control.patch_vm(azure.sub, "rg-test", "win1", power_state="stopped")
    state = azure.control.patch_vm(azure.sub, "rg-test", "win1", power_state="running", agent="ready")
    assert state["guest"]["rdp"]["termservice"]["status"] == "Running"


def test_the_rdp_broken_demo_fleet_breaks_rdp_in_many_ways(fresh_emulator):
    control = fresh_emulator.control
    control.reset(fleet=FLEETS / "rdp_broken.yml")
    sub = load_fleet(FLEETS / "rdp_broken.yml")["subscriptions"][0]["id"]

    def state(name, rg="rg-rdp"):
        return control.vm(sub, rg, name)

    ok = state("rdp-ok-01")
    assert ok["guest"]["rdp"]["effective_enabled"] and ok["network"]["rdp_from_internet"]["allowed"]
    troubles = {
        "rdp-off-01": lambda s: s["guest"]["rdp"]["deny_ts_connections"] == 1,
        "rdp-policy-01": lambda s: s["guest"]["rdp"]["policy_deny_ts_connections"] == 1,
        "rdp-port-01": lambda s: s["guest"]["rdp"]["port"] == 3390 and not s["network"]["rdp_from_internet"]["allowed"],
        "rdp-cert-01": lambda s: s["guest"]["rdp"]["cert"]["found"] is False,
        "rdp-cert-02": lambda s: s["guest"]["rdp"]["cert"]["expired"] is True,
        "rdp-svc-01": lambda s: s["guest"]["rdp"]["termservice"]["status"] == "Stopped",
        "rdp-admin-01": lambda s: s["guest"]["rdp"]["builtin_admin"]["enabled"] is False,
        "rdp-listener-01": lambda s: bool(s["guest"]["rdp"]["listener_non_default"]),
        "rdp-nsg-01": lambda s: not s["network"]["rdp_from_internet"]["allowed"],
    }
    for name, broken in troubles.items():
        assert broken(state(name)), name
    assert not state("rdp-subnet-01", "rg-rdp-locked")["network"]["rdp_from_internet"]["allowed"]
