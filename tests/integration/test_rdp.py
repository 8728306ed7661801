"""Remote Desktop diagnosis and repair the way users run them: the playbooks over the RDP-broken fleet,
and the two modules on one VM, each checked in the emulated guest."""

import re

import pytest

from tests.rdp_cases import EXPECTED, FLEET, NEEDS_HUMAN, REPAIRS, SUB, guest_effects_hold, rg_of, untouched, vm_id

from .test_playbooks import recap

pytestmark = [pytest.mark.emulator, pytest.mark.e2e]


@pytest.fixture
def broken(fresh_emulator):
    fresh_emulator.control.add_fleet(str(FLEET))
    fresh_emulator.control.clear_requests()
    return fresh_emulator


def guest_of(emulator):
    return lambda name: emulator.control.vm(SUB, rg_of(name), name)["guest"]["rdp"]


def writes(emulator, since=0):
    return sorted(set((q["method"], q["path"].rsplit("/", 1)[-1]) for q in emulator.control.requests(since=since)
                      if q["kind"] == "write"))


def test_diagnose_then_repair_playbooks(broken, run_playbook):
    hosts = dict((name, {"vm_id": vm_id(name)}) for name in EXPECTED)
    rdp_state = guest_of(broken)
    before = dict((name, rdp_state(name)) for name in EXPECTED)

    diagnosis = run_playbook("playbooks/diagnose_rdp.yml", hosts, extra_vars={"vm_access_guest_checks": True})
    assert diagnosis.returncode == 0, diagnosis.stdout
    report = diagnosis.results["reports"][0]
    assert dict((vm["host"], set(vm["found"])) for vm in report["vms"]) == EXPECTED
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in recap(diagnosis).values())
    assert dict((name, rdp_state(name)) for name in EXPECTED) == before  # a diagnosis changes nothing
    assert writes(broken) == [("POST", "runCommand")]
    assert "| rdp-nsg-01 | ok |  | nsg_denies_rdp |" in diagnosis.results["markdown"][0]
    assert re.search(r"vm_rdp_fleet: guest checks: 15/15 finished", diagnosis.stdout)

    predicted = run_playbook("playbooks/repair_rdp.yml", hosts, args=["--check"])
    assert dict((name, rdp_state(name)) for name in EXPECTED) == before
    assert all(recap(predicted)[name]["changed"] == 1 for name in REPAIRS)

    mark = broken.control.requests()[-1]["seq"]
    repair = run_playbook("playbooks/repair_rdp.yml", hosts, extra_vars={"vm_access_run_tag": "INC-7"})
    assert repair.returncode != 0  # the VMs only a person can fix fail, with what to do
    per_host = recap(repair)
    for name in EXPECTED:
        expected = (1, 0) if name in REPAIRS else (0, 1) if name in NEEDS_HUMAN else (0, 0)
        assert (per_host[name]["changed"], per_host[name]["failed"]) == expected, name
    assert all(guest_effects_hold(rdp_state).values()) and untouched(rdp_state)
    assert re.search(r"fatal: \[rdp-nsg-01\]: FAILED! => .*rdp_needs_human.*rdp-nsg-01-nsg", repair.stdout)
    assert not [w for w in writes(broken, mark) if "networkSecurityGroups" in w[1]]
    vms = dict((vm["host"], vm) for vm in repair.results["reports"][0]["vms"])
    assert [r["action"] for r in vms["rdp-cert-02"]["repairs"]] == ["ResetRDPCert"]
    assert vms["rdp-nla-01"]["refused"] == ["nla_domain_unreachable"]
    assert "| rdp-port-01 | changed |" in repair.results["markdown"][0]

    mark = broken.control.requests()[-1]["seq"]
    again = run_playbook("playbooks/repair_rdp.yml", hosts)
    assert all(counts["changed"] == 0 for counts in recap(again).values())
    assert writes(broken, mark) == [("POST", "runCommand")]  # only the read-only check


def test_modules_on_one_vm(broken, run_tasks):
    rdp_state = guest_of(broken)
    common = {"poll_interval": 0.2}
    run = run_tasks([
        {"name": "check", "azure_ops.vm_access.vm_rdp_check": dict(
            common, vm_id=vm_id("rdp-nsg-01"), guest_checks=True), "register": "check"},
        {"name": "bad port", "azure_ops.vm_access.vm_rdp_check": dict(
            common, vm_id=vm_id("rdp-ok-01"), rdp_port=70000), "register": "bad"},
        {"name": "refused", "azure_ops.vm_access.vm_rdp_repair": dict(
            common, resource_group="rg-rdp", vm_name="rdp-nla-01", subscription_id=SUB), "register": "refused"},
        {"name": "allowed", "azure_ops.vm_access.vm_rdp_repair": dict(
            common, vm_id=vm_id("rdp-nla-01"), allow_disable_nla=True), "register": "allowed"},
        {"name": "predicted", "azure_ops.vm_access.vm_rdp_repair": dict(common, vm_id=vm_id("rdp-cert-01")),
         "check_mode": True, "register": "predicted"},
    ])
    check = run.result("check")
    assert not check.get("failed") and check["healthy"] is False
    assert [f["code"] for f in check["findings"] if f["severity"] != "info"] == ["nsg_denies_rdp"]
    assert check["network"]["rules_from"] == "effective" and check["network"]["allowed"] is False
    assert check["guest"]["rdp"]["port"] == 3389

    bad = run.result("bad")
    assert bad["failed"] and bad["reason"] == "invalid_argument" and "rdp_port" in bad["msg"]

    refused = run.result("refused")
    assert refused["failed"] and refused["reason"] == "rdp_needs_human" and "allow_disable_nla" in refused["msg"]
    allowed = run.result("allowed")
    assert allowed["changed"] and [r["action"] for r in allowed["repairs"]] == ["DisableNLA"]
    assert rdp_state("rdp-nla-01")["nla"] is False

    predicted = run.result("predicted")
    assert predicted["changed"] and predicted["planned"] == ["ResetRDPCert"] and predicted["repairs"] == []
    assert rdp_state("rdp-cert-01")["cert"]["found"] is False
