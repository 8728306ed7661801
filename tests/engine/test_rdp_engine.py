"""The Remote Desktop engine in-process against the emulator's RDP-broken fleet: every finding, every
repair and its effect inside the emulated guest, what is never changed, and the faults of Run Command
and the network reads; and, on fleets of plain VMs, how NIC lists replace per-VM NIC GETs."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine import RdpEngine, RdpOptions
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget
from tests.rdp_cases import EXPECTED, FLEET, LOCKED, NEEDS_HUMAN, REPAIRS, SUB, guest_effects_hold, rg_of, untouched


class Rdp:
    def __init__(self, emulator, environ=None):
        self.control = emulator.control
        self.environ = environ or dict(os.environ, **emulator.env)
        self.emulator = emulator

    def run(self, names=None, **options):
        """``names``: VMs of the RDP fleet, or (resource group, name) pairs."""
        names = [name if isinstance(name, tuple) else (rg_of(name), name) for name in names or EXPECTED]
        options.setdefault("poll_interval", 0.1)
        options.setdefault("wait_timeout", 120)
        pacing = Pacing()
        session = AzureSession({}, self.environ, on_response=pacing.observe)
        targets = [VmTarget(host=name, ref=VmRef(SUB, rg, name)) for rg, name in names]
        self.lines = []
        engine = RdpEngine(session.api, RdpOptions(**options), pacing=pacing, progress=self.lines.append)
        return dict((r["host"], r) for r in engine.run(targets))

    def guest(self, name):
        return self.control.vm(SUB, rg_of(name), name)["guest"]["rdp"]

    def commands(self):
        """Run Command ids started since the last clear, per VM."""
        started = {}
        for job_vm in self.control.vms():
            state = self.control.vm(job_vm["subscription"], job_vm["resource_group"], job_vm["name"])
            started[job_vm["name"]] = [j["command_id"] for j in (state.get("run_command") or {}).get("jobs") or []]
        return started

    def requests(self):
        out = Counter()
        for q in self.control.requests():
            if q["kind"] not in ("read", "write", "operation"):
                continue
            path = q["path"].lower()
            what = ("runCommand" if path.endswith("/runcommand") else "extension" if "/extensions/" in path
                    else "nic" if "/networkinterfaces/" in path else "nic list" if path.endswith("/networkinterfaces")
                    else "subnet" if "/subnets/" in path
                    else "nsg" if "/networksecuritygroups/" in path else "list" if path.endswith("/virtualmachines")
                    else q["kind"])
            out[(q["method"], what)] += 1
        self.control.clear_requests()
        return out


@pytest.fixture
def rdp(fresh_emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    fresh_emulator.control.add_fleet(str(FLEET))
    fresh_emulator.control.clear_requests()
    return Rdp(fresh_emulator)


def problems(result):
    return set(result["found"])


def test_outside_diagnosis_reads_each_shared_resource_once_and_writes_nothing(rdp):
    results = rdp.run()
    calls = rdp.requests()
    assert not [key for key in calls if key[0] != "GET"], calls
    assert calls[("GET", "nic list")] == 1  # rg-rdp's 13 NICs in one page
    assert calls[("GET", "nic")] == len(LOCKED)  # rg-rdp-locked holds 2 (< 8): a GET each
    assert calls[("GET", "subnet")] == 2  # one subnet per resource group
    # rg-rdp's subnet NSG, rdp-nsg-01's NIC NSG, locked-nsg, rdp-ok-02's NIC NSG
    assert calls[("GET", "nsg")] == 4
    for name, result in results.items():
        assert result["outcome"] == "ok", result
        outside = EXPECTED[name] & {"nsg_denies_rdp"} if name != "rdp-port-01" else set()
        assert problems(result) == outside, name  # rdp-port-01's NSG denies 3390 only: seen from the guest's port
        assert result["guest"] is None
    assert "seen from outside only" in results["rdp-ok-01"]["msg"]
    denied = results["rdp-nsg-01"]["network"]["decided_by"][-1]
    assert (denied["level"], denied["access"], denied["priority"]) == ("network interface", "deny", 100)
    assert results["rdp-ok-02"]["network"]["decided_by"][0]["rule"] == "DenyAllInBound"


def test_guest_checks_name_every_cause_and_change_nothing(rdp):
    before = dict((name, rdp.guest(name)) for name in EXPECTED)
    results = rdp.run(guest_checks=True)
    for name, result in results.items():
        assert problems(result) == EXPECTED[name], (name, result["findings_before"])
        assert result["outcome"] == "ok" and not result["changed"]
    assert dict((name, rdp.guest(name)) for name in EXPECTED) == before
    writes = [key for key in rdp.requests() if key[0] != "GET"]
    assert writes == [("POST", "runCommand")]
    assert set(sum(rdp.commands().values(), [])) == {"RunPowerShellScript"}
    nla = next(f for f in results["rdp-nla-01"]["findings_before"] if f["code"] == "nla_domain_unreachable")
    assert nla["fix"] == {"by": "azure_ops.vm_access.vm_rdp_repair", "action": "DisableNLA"}
    nsg = next(f for f in results["rdp-nsg-01"]["findings_before"] if f["code"] == "nsg_denies_rdp")
    assert nsg["fix"]["by"] == "human" and "rdp-nsg-01-nsg" in nsg["fix"]["todo"]


def test_repair_fixes_what_it_may_in_the_guest_and_reports_the_rest(rdp):
    results = rdp.run(repair=True, run_tag="INC-1")
    for name, result in results.items():
        assert [r["action"] for r in result["repairs"]] == REPAIRS.get(name, []), name
        assert all(r["outcome"] == "done" for r in result["repairs"])
        if name in REPAIRS:
            assert result["outcome"] == "changed" and result["healthy"], result["msg"]
            assert set(result["fixed"]) >= EXPECTED[name] - {"nsg_denies_rdp"}
        elif name in NEEDS_HUMAN:
            assert (result["outcome"], result["reason"]) == ("failed", "rdp_needs_human"), name
            assert result["needs_human"] and all(entry["todo"] for entry in result["needs_human"])
        else:
            assert result["outcome"] == "ok" and result["repairs"] == []
    assert all(guest_effects_hold(rdp.guest).values()), guest_effects_hold(rdp.guest)
    assert untouched(rdp.guest)  # and, with no network write at all below, the NSGs
    calls = rdp.requests()
    assert not [key for key in calls if key[0] != "GET" and key[1] in ("nic", "subnet", "nsg")]
    assert calls[("PUT", "extension")] == 1  # the VMAccess RDP reset, on rdp-off-01 only
    refused = results["rdp-nla-01"]
    assert refused["refused"][0]["code"] == "nla_domain_unreachable"
    assert "allow_disable_nla" in refused["msg"]


def test_second_repair_runs_only_the_read_only_check(rdp):
    rdp.run(repair=True)
    rdp.requests()
    jobs_before = rdp.commands()
    results = rdp.run(repair=True)
    for name, result in results.items():
        assert result["repairs"] == [] and not result["changed"], name
    started = dict((name, rdp.commands()[name][len(jobs_before[name]):]) for name in EXPECTED)
    assert set(sum(started.values(), [])) == {"RunPowerShellScript"}
    assert [key for key in rdp.requests() if key[0] not in ("GET",)] == [("POST", "runCommand")]


def test_nla_is_turned_off_only_with_the_flag(rdp):
    refused = rdp.run(["rdp-nla-01", "rdp-ok-01"], repair=True)
    assert refused["rdp-nla-01"]["planned"] == [] and rdp.guest("rdp-nla-01")["nla"]
    assert refused["rdp-ok-01"]["planned"] == []  # NLA on a healthy VM is never a reason to turn it off
    allowed = rdp.run(["rdp-nla-01", "rdp-ok-01"], repair=True, allow_disable_nla=True)
    assert [r["action"] for r in allowed["rdp-nla-01"]["repairs"]] == ["DisableNLA"]
    assert allowed["rdp-nla-01"]["outcome"] == "changed" and "restart the VM" in allowed["rdp-nla-01"]["msg"]
    assert not rdp.guest("rdp-nla-01")["nla"] and rdp.guest("rdp-ok-01")["nla"]


def test_check_mode_plans_and_changes_nothing(rdp):
    before = dict((name, rdp.guest(name)) for name in EXPECTED)
    results = rdp.run(repair=True, check_mode=True)
    for name, result in results.items():
        assert result["planned"] == REPAIRS.get(name, []), name
        assert result["repairs"] == []
    assert results["rdp-cert-01"]["outcome"] == "changed" and results["rdp-cert-01"]["msg"].startswith("would run")
    assert dict((name, rdp.guest(name)) for name in EXPECTED) == before
    assert [key for key in rdp.requests() if key[0] != "GET"] == [("POST", "runCommand")]


def test_a_script_already_running_is_waited_for_then_reported_busy(rdp):
    rdp.control.add_fault(action="never_finish", method="POST", path="/runCommand", vm="rdp-cert-01", count=1)
    hung = rdp.run(["rdp-cert-01"], guest_checks=True, wait_timeout=2)
    assert hung["rdp-cert-01"]["findings"] == ["guest_check_failed"]
    busy = rdp.run(["rdp-cert-01", "rdp-ok-01"], guest_checks=True, wait_timeout=10, poll_interval=0.5)
    failed = busy["rdp-cert-01"]["findings_before"][0]
    assert (failed["code"], failed["reason"]) == ("guest_check_failed", "run_command_busy")
    assert "still running on the VM" in failed["message"]
    assert busy["rdp-ok-01"]["found"] == [] and busy["rdp-ok-01"]["guest"]  # one busy VM holds up no other


def test_a_script_start_refused_with_a_429_is_made_again(rdp):
    rdp.control.add_fault(action="status", method="POST", path="/runCommand$", vm="rdp-cert-01", status=429,
                          retry_after=0.2, count=1)  # azure-core does not retry a POST: the wave does
    results = rdp.run(["rdp-cert-01", "rdp-ok-01"], guest_checks=True)
    assert results["rdp-cert-01"]["found"] == ["cert_invalid"] and results["rdp-ok-01"]["found"] == []
    assert rdp.requests()[("POST", "runCommand")] == 3


def test_a_reader_diagnoses_from_the_nsg_documents_and_cannot_run_scripts(rdp):
    reader = rdp.emulator.info["reader"]
    environ = dict(rdp.environ, AZURE_CLIENT_ID=reader["client_id"], AZURE_SECRET=reader["secret"],
                   AZURE_CLIENT_SECRET=reader["secret"], AZURE_TENANT=reader["tenant"], AZURE_TENANT_ID=reader["tenant"])
    as_reader = Rdp(rdp.emulator, environ)
    results = as_reader.run(["rdp-nsg-01", "rdp-ok-01"], guest_checks=True, effective_rules=True)
    network = results["rdp-nsg-01"]["network"]
    assert network["rules_from"] == "nsg_rules" and "authorization_failed" in network["note"]
    assert not network["allowed"]
    check = results["rdp-ok-01"]["findings_before"][-1]
    assert (check["code"], check["reason"]) == ("guest_check_failed", "authorization_failed")


def test_effective_rules_where_the_principal_may(rdp):
    results = rdp.run(["rdp-nsg-01", "rdp-ok-02"], effective_rules=True)
    for result in results.values():
        assert result["network"]["rules_from"] == "effective" and not result["network"]["allowed"]
    assert rdp.requests()[("POST", "nic")] == 2  # one effectiveNetworkSecurityGroups action per NIC


def test_stopped_windows_and_linux_vms(rdp):
    rdp.control.patch_vm(SUB, "rg-rdp", "rdp-ok-01", power_state="stopped")
    rdp.control.add_fleet({"subscriptions": [{"id": SUB, "resource_groups": [
        {"name": "rg-rdp", "location": "westeurope", "vms": [{"name": "lnx-01", "os": "linux"}]}]}]})
    results = rdp.run(["rdp-ok-01", "lnx-01"], repair=True)
    stopped = results["rdp-ok-01"]
    assert (stopped["outcome"], stopped["reason"]) == ("failed", "rdp_needs_human")
    assert stopped["found"] == ["vm_not_running"] and stopped["repairs"] == []
    assert (results["lnx-01"]["outcome"], results["lnx-01"]["reason"]) == ("skipped", "not_windows")


def test_unreadable_network_is_a_warning_not_a_verdict(rdp):
    rdp.control.add_fault(action="status", method="GET", path="/networkInterfaces/", status=403,
                          code="AuthorizationFailed", message="no network read")
    result = rdp.run(["rdp-ok-01"])["rdp-ok-01"]
    unreadable = result["findings_before"][0]
    assert (unreadable["code"], unreadable["severity"], unreadable["reason"]) == (
        "network_unreadable", "warning", "authorization_failed")
    assert result["network"] is None and result["outcome"] == "ok"


def test_progress_lines_name_each_stage(rdp):
    rdp.run(guest_checks=True)
    assert rdp.lines[0].startswith("read 15 VMs: 15 to diagnose")
    assert any(line.startswith("guest checks: 15/15 finished") for line in rdp.lines)
    assert rdp.lines[-1].startswith("done: 15 VMs")


# --- NIC lists: one per resource group holding at least LIST_THRESHOLD (8) of the NICs to read ---------------------

def add_group(rdp, rg, count, prefix=None, **spec):
    """``count`` healthy Windows VMs ``{prefix}-01``… in ``rg``; returns their (resource group, name) pairs."""
    prefix = prefix or rg
    rdp.control.add_fleet({"subscriptions": [{"id": SUB, "resource_groups": [
        {"name": rg, "location": "westeurope", "vms": [dict(spec, name=prefix + "-{i:02d}", count=count)]}]}]})
    return [(rg, "%s-%02d" % (prefix, i)) for i in range(1, count + 1)]


def test_a_group_of_many_vms_reads_its_nics_with_one_list(rdp):
    rdp.control.set_config(page_size=5)
    vms = add_group(rdp, "rg-many", 12)
    rdp.control.clear_requests()
    results = rdp.run(vms)
    calls = rdp.requests()
    assert (calls[("GET", "nic list")], calls[("GET", "nic")]) == (3, 0)  # 12 NICs in pages of 5, no NIC GET
    assert calls[("GET", "subnet")] == 1 and calls[("GET", "nsg")] == 1
    assert all(r["outcome"] == "ok" and r["network"]["allowed"] for r in results.values())
    assert results["rg-many-01"]["network"]["nic"].endswith("/networkInterfaces/rg-many-01-nic")


def test_a_list_stops_once_it_gave_every_nic_needed(rdp):
    rdp.control.set_config(page_size=5)
    vms = add_group(rdp, "rg-many", 20)[:8]  # the first 8 of 20 (the emulator lists NICs by name)
    rdp.control.clear_requests()
    rdp.run(vms)
    calls = rdp.requests()
    assert (calls[("GET", "nic list")], calls[("GET", "nic")]) == (2, 0)


def test_nics_are_listed_in_their_own_resource_group_and_read_one_by_one_elsewhere(rdp):
    many = add_group(rdp, "rg-many", 12)
    shared = add_group(rdp, "rg-a", 4, nic_resource_group="rg-nics") + add_group(
        rdp, "rg-b", 4, nic_resource_group="rg-nics")  # 8 VMs in two groups, their NICs in a third
    lone = add_group(rdp, "rg-many", 1, prefix="lone", nic_resource_group="rg-lone")
    rdp.control.clear_requests()
    results = rdp.run(many + shared + lone)
    listed = [q["path"].lower() for q in rdp.control.requests() if q["path"].lower().endswith("/networkinterfaces")]
    calls = rdp.requests()
    assert sorted(path.split("/")[4] for path in listed) == ["rg-many", "rg-nics"]
    assert calls[("GET", "nic")] == 1  # lone-01's NIC, alone in rg-lone
    assert all(r["outcome"] == "ok" and r["network"]["allowed"] for r in results.values())
    assert "/resourcegroups/rg-lone/" in results["lone-01"]["network"]["nic"].lower()


def test_a_forbidden_list_falls_back_to_a_get_per_nic(rdp):
    vms = add_group(rdp, "rg-many", 9)
    rdp.control.add_fault(action="status", method="GET", path="/providers/Microsoft.Network/networkInterfaces$",
                          status=403, code="AuthorizationFailed", message="no list here")
    rdp.control.clear_requests()
    results = rdp.run(vms)
    calls = rdp.requests()
    assert (calls[("GET", "nic list")], calls[("GET", "nic")]) == (1, 9)
    assert all(r["outcome"] == "ok" and r["network"]["allowed"] for r in results.values())


def test_without_network_interface_read_every_vm_says_its_network_was_unreadable(rdp):
    vms = add_group(rdp, "rg-many", 9)
    narrow = rdp.control.add_principal(actions=[
        "Microsoft.Compute/virtualMachines/read", "Microsoft.Network/virtualNetworks/subnets/read",
        "Microsoft.Network/networkSecurityGroups/read"])  # everything a diagnosis reads but the NICs
    environ = dict(rdp.environ, AZURE_CLIENT_ID=narrow["client_id"], AZURE_SECRET=narrow["secret"],
                   AZURE_CLIENT_SECRET=narrow["secret"], AZURE_TENANT=narrow["tenant"], AZURE_TENANT_ID=narrow["tenant"])
    rdp.control.clear_requests()
    results = Rdp(rdp.emulator, environ).run(vms)
    statuses = Counter((q["path"].lower().endswith("/networkinterfaces"), q["status"]) for q in rdp.control.requests()
                       if "/networkinterfaces" in q["path"].lower())
    assert statuses == {(True, 403): 1, (False, 403): 9}  # the list, then each NIC's GET
    for result in results.values():
        unreadable = result["findings_before"][0]
        assert (unreadable["code"], unreadable["reason"]) == ("network_unreadable", "authorization_failed")
