"""One VM's RDP result (diagnose, repair in check mode, repaired, failed, needs a person), the batch summary,
the final line and the throttled stage lines. RdpItem is driven the way the engine drives it, without Azure."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.nsg import normalise_rules
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine import RdpOptions
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_findings import finding
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_repair import NLA_REFUSED, plan_repairs
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_result import (
    RdpItem,
    StageProgress,
    final_line,
    rdp_summary,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

from .rdp_docs import (
    NIC_ADDRESS,
    NIC_ID,
    SUBNET_NSG_ID,
    SUBNET_PREFIXES,
    allow_rdp_from,
    guest_doc,
    joined_guest,
    nsg_doc,
)
from .vm_docs import vm_doc

DIAGNOSE = RdpOptions()
DIAGNOSE_GUEST = RdpOptions(guest_checks=True)
REPAIR = RdpOptions(repair=True, guest_checks=True)
REPAIR_CHECK_MODE = RdpOptions(repair=True, guest_checks=True, check_mode=True)
OUTSIDE_ONLY = " - seen from outside only (guest_checks looks inside the guest)"


def network(subnet_rules=(allow_rdp_from("Internet"),)):
    """read_network()'s answer for one NIC: the subnet's NSG, no NSG on the NIC."""
    levels = [("subnet", SUBNET_NSG_ID, normalise_rules(nsg_doc(list(subnet_rules)))),
              ("network interface", None, [])]
    return {"nics": [{"id": NIC_ID, "address": NIC_ADDRESS, "prefixes": SUBNET_PREFIXES, "levels": levels}],
            "rules_from": "nsg_rules", "note": None, "problem": None}


def rdp_item(guest=None, net=None, name="web-001", **vm_kwargs):
    state = parse_vm(vm_doc(name=name, **vm_kwargs))
    item = RdpItem(VmTarget(host=name, ref=state.ref))
    item.vm, item.network = state, net if net is not None else network()
    if guest is not None:
        item.set_guest("before", guest)
    return item


def diagnosed(options, guest=None, **kwargs):
    item = rdp_item(guest, **kwargs)
    item.diagnose(options.rdp_port, options.source_address)
    if options.repair:
        item.actions, item.refused = plan_repairs(item.findings, options.rdp_port, options.allow_disable_nla)
    return item


def run_command_result(stdout, stderr=""):
    return {"value": [{"code": "ComponentStatus/StdOut/succeeded", "message": stdout},
                      {"code": "ComponentStatus/StdErr/succeeded", "message": stderr}]}


def repaired(item, options, after_guest, outcomes=None):
    """Run the planned Run Commands (each succeeding unless ``outcomes`` says otherwise), then check again."""
    outcomes = outcomes or {}
    for action in item.actions:
        if action["action"] != "vmaccess_rdp_reset":
            item.record(action, outcomes.get(action["action"], run_command_result("%s done" % action["action"])))
    item.set_guest("after", after_guest)
    if item.repaired:
        item.diagnose(options.rdp_port, options.source_address, after=True)
    return item.result(options)


# --- diagnose ----------------------------------------------------------------------------------------

def test_diagnose_from_outside_says_what_it_did_not_see():
    result = diagnosed(DIAGNOSE).result(DIAGNOSE)
    assert (result["outcome"], result["reason"], result["changed"]) == ("ok", None, False)
    assert result["msg"] == "healthy" + OUTSIDE_ONLY
    assert result["line"] == "ok: healthy" + OUTSIDE_ONLY
    assert result["healthy"] is True and result["findings"] == [] and result["needs_human"] == []
    assert result["network"]["allowed"] is True and result["network"]["rules_from"] == "nsg_rules"
    assert result["guest"] is None and result["vm"]["name"] == "web-001" and result["host"] == "web-001"


def test_diagnose_with_guest_checks_lists_notes_apart():
    result = diagnosed(DIAGNOSE_GUEST, guest_doc()).result(DIAGNOSE_GUEST)
    assert result["msg"] == "healthy (notes: nla_required)" and result["outcome"] == "ok"
    assert result["findings"] == ["nla_required"] and result["found"] == [] and result["healthy"] is True


def test_diagnose_reports_problems_as_ok_with_their_codes():
    # A diagnosis succeeded even when RDP is broken: outcome ok, the problems in msg and needs_human.
    result = diagnosed(DIAGNOSE_GUEST, guest_doc(rdp={"deny_ts_connections": 1}), net=network([])).result(DIAGNOSE_GUEST)
    assert result["outcome"] == "ok" and result["healthy"] is False
    assert result["msg"] == "nsg_denies_rdp, rdp_disabled (notes: nla_required)"
    assert result["found"] == ["nsg_denies_rdp", "rdp_disabled"]
    assert [h["code"] for h in result["needs_human"]] == ["nsg_denies_rdp"]
    assert "Allow inbound TCP 3389 from Internet in nsg-subnet-web" in result["needs_human"][0]["todo"]


def test_the_nsgs_are_judged_on_the_port_the_guest_listens_on():
    # NSG open for 3389, listener moved to 3390: the network verdict is about 3390.
    result = diagnosed(DIAGNOSE_GUEST, guest_doc(rdp={"port": 3390})).result(DIAGNOSE_GUEST)
    assert result["network"]["port"] == 3390 and result["network"]["allowed"] is False
    assert result["findings"][:2] == ["nsg_denies_rdp", "rdp_port_changed"]


def test_an_unreadable_network_is_a_warning_with_its_reason():
    net = {"nics": [], "rules_from": None, "note": None,
           "problem": VmAccessError("authorization_failed", "The client may not read nsg-subnet-web.")}
    item = diagnosed(DIAGNOSE, net=net)
    (found,) = item.findings
    assert found["code"] == "network_unreadable" and found["severity"] == "warning"
    assert found["reason"] == "authorization_failed" and found["fix"]["by"] == "human"
    result = item.result(DIAGNOSE)
    assert result["network"] is None and result["healthy"] is True
    assert result["msg"] == "network_unreadable" + OUTSIDE_ONLY


def test_a_guest_check_that_did_not_complete_is_reported_not_hidden():
    item = rdp_item()
    item.set_guest("before", None, finding("guest_check_failed", "warning", "The read-only guest check on web-001 did "
                                           "not complete: busy", human="Run the check again.", reason="run_command_busy"))
    item.diagnose(3389, "Internet")
    result = item.result(DIAGNOSE_GUEST)
    assert result["msg"] == "guest_check_failed" and result["findings"] == ["guest_check_failed"]
    assert result["needs_human"] == [{"code": "guest_check_failed", "todo": "Run the check again."}]


# --- repair, check mode -----------------------------------------------------------------------------

def test_check_mode_says_what_would_run():
    guest = guest_doc(rdp={"deny_ts_connections": 1}, cert={"found": False})
    result = diagnosed(REPAIR_CHECK_MODE, guest).result(REPAIR_CHECK_MODE)
    assert (result["outcome"], result["changed"]) == ("changed", True)
    assert result["msg"] == "would run ResetRDPCert, vmaccess_rdp_reset for rdp_disabled, cert_invalid (notes: nla_required)"
    assert result["planned"] == ["ResetRDPCert", "vmaccess_rdp_reset"] and result["repairs"] == []


def test_check_mode_with_nothing_to_run():
    result = diagnosed(REPAIR_CHECK_MODE, guest_doc()).result(REPAIR_CHECK_MODE)
    assert (result["outcome"], result["changed"]) == ("ok", False)
    assert result["msg"] == "nothing to repair: healthy (notes: nla_required)"


def test_check_mode_predicts_what_would_still_need_a_person():
    """As the real run would end: the repairs it would make, and a failure for what they leave."""
    guest = guest_doc(cert={"found": False}, termservice={"status": "Stopped", "start_type": "Manual"})
    result = diagnosed(REPAIR_CHECK_MODE, guest).result(REPAIR_CHECK_MODE)
    assert (result["outcome"], result["reason"], result["changed"]) == ("failed", "rdp_needs_human", True)
    assert result["msg"].startswith("would run ResetRDPCert; still needs a person - termservice_stopped: Restart the VM")
    assert result["repairs"] == []


# --- repair ---------------------------------------------------------------------------------------

def test_a_repair_that_fixes_everything_is_changed():
    item = diagnosed(REPAIR, guest_doc(cert={"expired": True, "not_after": "2024-01-31T00:00:00Z"},
                                       admin={"name": "azureadmin", "enabled": False}))
    result = repaired(item, REPAIR, guest_doc())
    assert (result["outcome"], result["reason"], result["changed"]) == ("changed", None, True)
    assert result["msg"] == ("fixed builtin_admin_disabled, cert_invalid with EnableAdminAccount, ResetRDPCert; "
                             "now healthy (notes: nla_required)")
    assert result["fixed"] == ["builtin_admin_disabled", "cert_invalid"]
    assert result["findings_before"] and [f["code"] for f in result["findings_after"]] == ["nla_required"]
    assert [(r["action"], r["outcome"], r["output"]) for r in result["repairs"]] == [
        ("EnableAdminAccount", "done", "EnableAdminAccount done"), ("ResetRDPCert", "done", "ResetRDPCert done")]


def test_disable_nla_adds_the_restart_note():
    options = RdpOptions(repair=True, guest_checks=True, allow_disable_nla=True)
    item = diagnosed(options, joined_guest(secure_channel=False))
    result = repaired(item, options, joined_guest(secure_channel=False, rdp={"nla_required": False}))
    assert result["outcome"] == "changed"
    assert result["msg"] == ("fixed nla_domain_unreachable with DisableNLA; now healthy; "
                             "restart the VM for the NLA change to take effect")


def test_a_failed_repair_carries_the_reason_of_the_failing_action():
    item = diagnosed(REPAIR, guest_doc(rdp={"port": 3390}, cert={"found": False}))
    busy = VmAccessError("run_command_busy", "Another Run Command script was still running on web-001.")
    result = repaired(item, REPAIR, None, outcomes={"SetRDPPort": busy})
    assert (result["outcome"], result["reason"]) == ("failed", "run_command_busy")
    assert result["msg"] == "repair SetRDPPort failed: Another Run Command script was still running on web-001."
    assert result["line"] == "failed (run_command_busy): " + result["msg"]
    assert result["repairs"][0] == {"action": "SetRDPPort", "findings": ["rdp_firewall_rule_disabled", "rdp_port_changed"],
                                    "parameters": {"RDPPORT": "3389"}, "outcome": "failed", "reason": "run_command_busy",
                                    "message": "Another Run Command script was still running on web-001."}


def test_a_repair_without_an_answer_fails_as_unexpected():
    item = diagnosed(REPAIR, guest_doc(cert={"found": False}))
    item.record(item.actions[0], None)
    result = item.result(REPAIR)
    assert (result["outcome"], result["reason"], result["msg"]) == ("failed", "unexpected_error",
                                                                    "repair ResetRDPCert failed: no result")


def test_an_output_is_kept_to_its_tail():
    item = diagnosed(REPAIR, guest_doc(cert={"found": False}))
    item.record(item.actions[0], run_command_result("x" * 2000, "  warning  "))
    assert item.repairs[0]["output"] == ("x" * 2000 + " warning")[-600:]


def test_refused_nla_is_a_person_s_job():
    item = diagnosed(REPAIR, joined_guest(secure_channel=False))
    result = item.result(REPAIR)
    assert (result["outcome"], result["reason"]) == ("failed", "rdp_needs_human")
    assert result["msg"] == "needs a person - nla_domain_unreachable: " + NLA_REFUSED
    assert result["needs_human"] == [{"code": "nla_domain_unreachable", "todo": NLA_REFUSED}]
    assert [r["code"] for r in result["refused"]] == ["nla_domain_unreachable"] and result["planned"] == []


def test_human_only_findings_need_a_person_with_their_todo():
    item = diagnosed(REPAIR, guest_doc(termservice={"status": "Stopped", "start_type": "Disabled"}))
    result = item.result(REPAIR)
    assert result["reason"] == "rdp_needs_human" and result["changed"] is False
    assert result["msg"] == ("needs a person - termservice_stopped: Restart the VM (az vm restart), after setting "
                             "TermService's start type to Manual.")


def test_still_broken_after_repairs_names_them_and_what_is_left():
    item = diagnosed(REPAIR, guest_doc(cert={"found": False}, termservice={"status": "Stopped", "start_type": "Manual"}))
    result = repaired(item, REPAIR, guest_doc(termservice={"status": "Stopped", "start_type": "Manual"}))
    assert (result["outcome"], result["reason"], result["changed"]) == ("failed", "rdp_needs_human", True)
    assert result["msg"] == "still broken after ResetRDPCert - termservice_stopped: Restart the VM (az vm restart)."
    assert result["fixed"] == ["cert_invalid"]


def test_a_repair_that_did_not_take_says_so():
    item = diagnosed(REPAIR, guest_doc(cert={"found": False}))
    result = repaired(item, REPAIR, guest_doc(cert={"found": False}))
    assert result["msg"] == "still broken after ResetRDPCert - cert_invalid: not fixed by its repair"


def test_the_after_check_falls_back_to_the_before_port_for_the_network():
    # No check after the repair (it failed): the NSG verdict still uses the port the guest reported before.
    item = diagnosed(REPAIR, guest_doc(rdp={"port": 3390}))
    item.record(item.actions[0], run_command_result("ok"))
    item.diagnose(3389, "Internet", after=True)
    assert item.net["port"] == 3390 and [f["code"] for f in item.after] == ["nsg_denies_rdp"]


def test_nothing_to_repair_on_a_healthy_vm():
    result = diagnosed(REPAIR, guest_doc()).result(REPAIR)
    assert (result["outcome"], result["msg"]) == ("ok", "nothing to repair: healthy (notes: nla_required)")


# --- the VMAccess reset step ---------------------------------------------------------------------------

def test_the_vmaccess_reset_result_is_recorded():
    item = diagnosed(REPAIR, guest_doc(rdp={"deny_ts_connections": 1}))
    assert item.wants_vmaccess_reset()
    item.record_vmaccess({"outcome": "changed", "reason": None, "msg": "Successfully updated Remote Desktop settings"})
    item.set_guest("after", guest_doc())
    item.diagnose(3389, "Internet", after=True)
    result = item.result(REPAIR)
    assert result["outcome"] == "changed"
    assert result["msg"] == "fixed rdp_disabled with vmaccess_rdp_reset; now healthy (notes: nla_required)"
    assert result["repairs"] == [{"action": "vmaccess_rdp_reset", "findings": ["rdp_disabled"], "parameters": {},
                                  "outcome": "done", "output": "Successfully updated Remote Desktop settings"}]


def test_a_failed_vmaccess_reset_fails_with_its_reason():
    item = diagnosed(REPAIR, guest_doc(rdp={"deny_ts_connections": 1}))
    item.record_vmaccess({"outcome": "failed", "reason": "extension_failed", "msg": "VMAccess ran on web-001 and failed"})
    result = item.result(REPAIR)
    assert (result["outcome"], result["reason"]) == ("failed", "extension_failed")
    assert result["msg"] == "repair vmaccess_rdp_reset failed: VMAccess ran on web-001 and failed"


def test_no_vmaccess_reset_after_a_failed_run_command():
    item = diagnosed(REPAIR, guest_doc(rdp={"deny_ts_connections": 1}, cert={"found": False}))
    assert item.wants_vmaccess_reset()
    item.record(item.actions[0], VmAccessError("operation_timeout", "still running"))
    assert not item.wants_vmaccess_reset()


# --- VMs that were not diagnosed ------------------------------------------------------------------------

@pytest.mark.parametrize("stop, outcome", [("skip", "skipped"), ("fail", "failed")])
def test_a_stopped_item_has_its_error_and_no_findings(stop, outcome):
    item = RdpItem(VmTarget(host="lnx-01"))
    getattr(item, stop)(VmAccessError("not_windows", "lnx-01 does not run Windows."))
    result = item.result(REPAIR)
    assert item.done and result["outcome"] == outcome and result["reason"] == "not_windows"
    assert result["line"] == "%s (not_windows): lnx-01 does not run Windows." % outcome
    assert (result["findings"], result["healthy"], result["needs_human"], result["vm"], result["vm_id"]) == (
        [], None, [], None, None)


# --- the batch -------------------------------------------------------------------------------------

def batch():
    healthy = diagnosed(DIAGNOSE_GUEST, guest_doc(), name="vm-healthy").result(DIAGNOSE_GUEST)
    broken = diagnosed(DIAGNOSE_GUEST, guest_doc(rdp={"deny_ts_connections": 1}, cert={"found": False}),
                       name="vm-broken").result(DIAGNOSE_GUEST)
    nsg = diagnosed(DIAGNOSE_GUEST, guest_doc(cert={"found": False}), net=network([]),
                    name="vm-nsg").result(DIAGNOSE_GUEST)
    skipped = RdpItem(VmTarget(host="vm-linux"))
    skipped.skip(VmAccessError("not_windows", "not Windows"))
    failed = RdpItem(VmTarget(host="vm-gone"))
    failed.fail(VmAccessError("vm_not_found", "gone"))
    return [healthy, broken, nsg, skipped.result(DIAGNOSE_GUEST), failed.result(DIAGNOSE_GUEST)]


def test_the_summary_counts():
    summary = rdp_summary(batch())
    assert summary["total"] == 5
    assert summary["by_outcome"] == {"changed": 0, "ok": 3, "skipped": 1, "failed": 1}
    assert summary["by_reason"] == {"not_windows": 1, "vm_not_found": 1}
    assert summary["healthy"] == 1 and summary["needs_human"] == 1
    # by_finding counts VMs per finding before repair, notes (info) left out.
    assert summary["by_finding"] == {"rdp_disabled": 1, "cert_invalid": 2, "nsg_denies_rdp": 1}


def test_the_summary_stats_are_the_rdp_counters():
    stats = rdp_summary(batch())["stats"]
    assert stats == {"vm_rdp_changed": 0, "vm_rdp_ok": 3, "vm_rdp_skipped": 1, "vm_rdp_failed": 1,
                     "vm_rdp_healthy": 1, "vm_rdp_needs_human": 1}


def test_an_empty_summary():
    summary = rdp_summary([])
    assert summary["total"] == 0 and summary["by_finding"] == {} and summary["stats"]["vm_rdp_healthy"] == 0


def test_the_final_line():
    results = batch() + [
        {"outcome": "changed", "reason": None, "healthy": True},
        {"outcome": "failed", "reason": "rdp_needs_human", "healthy": False},
    ]
    expected = "done: 7 VMs - healthy 1, with findings 2, changed 1, needs a person 1, skipped 1, failed 1 (81s)"
    assert final_line(results, 81.7) == expected


def test_the_final_line_leaves_out_zero_counts():
    assert final_line([{"outcome": "ok", "reason": None, "healthy": True}] * 3, 2) == "done: 3 VMs - healthy 3 (2s)"
    assert final_line([], 0) == "done: 0 VMs - none (0s)"


# --- stage lines ----------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_stage_lines_are_throttled_to_one_per_interval():
    clock, lines = FakeClock(), []
    progress = StageProgress(lines.append, 15.0, clock)
    progress.say("first")          # the first line always shows
    clock.now += 5
    progress.say("too soon")
    clock.now += 9.9
    progress.say("still too soon")
    clock.now += 0.1               # 15 s after the first
    progress.say("on time")
    clock.now += 1
    progress.say("forced", force=True)
    clock.now += 14.5
    progress.say("too soon after the forced one")
    clock.now += 0.5
    progress.say("last")
    assert lines == ["first", "on time", "forced", "last"]


def test_no_reporter_means_no_lines_and_no_clock_reads():
    def clock():
        raise AssertionError("the clock is not read without a reporter")
    StageProgress(None, 15.0, clock).say("nobody listens", force=True)
