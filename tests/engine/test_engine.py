"""The reset engine against the emulator: reads, decisions, writes, following and verdicts, for one VM
(the module's path) and for many (the fleet's), checked in the emulated guest."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

from .conftest import PASSWORD, windows_vm

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(180)]
FLEET = ["w-%02d" % i for i in range(1, 11)]


def fleet_vms(**fields):
    return [windows_vm(name, **fields) for name in FLEET]


def test_one_vm_reads_once_writes_once_and_reads_the_extension_once(azure):
    azure.seed(windows_vm("one"))
    result = azure.run(["one"])["one"]
    assert (result["outcome"], result["reason"], result["action"]) == ("changed", None, "created")
    assert result["changed"] is True
    assert result["extension"]["provisioning_state"] == "Succeeded"
    assert result["extension"]["fingerprint_kind"] == "rdp"
    guest = azure.vm("one")["guest"]
    assert guest["rdp_enabled"] and guest["firewall_rule_enabled"]
    calls = azure.calls()
    assert calls[("GET", "vm")] == 1 and calls[("PUT", "extension")] == 1 and calls[("GET", "extension")] == 1
    assert calls[("GET", "operation")] >= 1 and calls[("GET", "list")] == 0
    again = azure.run(["one"])["one"]
    assert (again["outcome"], again["action"], again["changed"]) == ("ok", "none", False)
    assert azure.calls() == {("GET", "vm"): 1}  # the tag is in the single VM read


def test_a_fleet_is_read_with_two_list_passes_and_idempotent_per_run_tag(azure):
    azure.seed(*fleet_vms())
    first = azure.run(FLEET)
    assert {r["outcome"] for r in first.values()} == {"changed"}
    calls = azure.calls()
    assert calls[("PUT", "extension")] == len(FLEET)
    assert calls[("GET", "vm")] == 0 and calls[("GET", "list")] >= 2
    assert calls[("GET", "extension")] + calls[("GET", "extensions")] <= len(FLEET)
    assert all(azure.vm(name)["guest"]["rdp_enabled"] for name in FLEET)
    second = azure.run(FLEET)
    assert {(r["outcome"], r["action"]) for r in second.values()} == {("ok", "none")}
    calls = azure.calls()
    assert calls[("PUT", "extension")] == 0
    # Lists carry no tag: exactly one read per VM that holds an instance, and no VM GET.
    assert calls[("GET", "extension")] + calls[("GET", "extensions")] == len(FLEET)
    assert calls[("GET", "vm")] == 0


def test_tags_are_read_only_where_an_instance_exists(azure):
    half = FLEET[:5]
    theirs = {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "theirs", "settings": {}}
    vms = [windows_vm(name, extension=theirs) if name in half else windows_vm(name) for name in FLEET]
    azure.seed(*vms)
    results = azure.run(FLEET)
    assert {r["outcome"] for r in results.values()} == {"changed"}
    assert {results[n]["action"] for n in half} == {"rerun"} and {results[n]["action"] for n in FLEET[5:]} == {"created"}
    calls = azure.calls()
    assert calls[("GET", "extension")] - len(FLEET) + calls[("GET", "extensions")] <= len(half)


def test_what_vmaccess_cannot_fix_is_skipped_without_a_write(azure):
    azure.seed(windows_vm("stopped", power_state="deallocated"), windows_vm("linux", os="linux"),
               windows_vm("locked", allow_extension_operations=False), windows_vm("down", agent="not_ready"))
    results = azure.run(["stopped", "linux", "locked", "down"])
    assert [(results[n]["outcome"], results[n]["reason"]) for n in ("stopped", "linux", "locked", "down")] == [
        ("skipped", "vm_not_running"), ("skipped", "not_windows"), ("skipped", "extensions_disallowed"),
        ("skipped", "agent_not_ready")]
    assert "Start it" in results["stopped"]["msg"] and "VMAccessForLinux" in results["linux"]["msg"]
    assert "require_agent_ready: false" in results["down"]["msg"]
    assert azure.writes() == 0


def test_a_starting_agent_gets_the_reset_at_once(azure):
    azure.seed(windows_vm("booting", agent="starting", agent_ready_after_s=60))
    result = azure.run(["booting"])["booting"]
    assert (result["outcome"], result["action"]) == ("changed", "created")
    assert azure.vm("booting")["guest"]["rdp_enabled"]


def test_a_down_agent_is_waited_for_only_when_asked(azure):
    azure.seed(windows_vm("down", agent="not_ready"))
    result = azure.run(["down"], agent_wait_timeout=1)["down"]
    assert (result["outcome"], result["reason"]) == ("skipped", "agent_not_ready")
    assert "after waiting 1s" in result["msg"] and azure.writes() == 0
    anyway = azure.run(["down"], request=ResetRequest(reset="rdp", run_tag="T1", require_agent_ready=False),
                       wait_timeout=3)["down"]
    # Sent anyway: accepted (changed), then Azure's ~25 minutes are not waited for.
    assert (anyway["changed"], anyway["reason"]) == (True, "operation_timeout")


def test_an_existing_instance_keeps_its_name_and_a_2_3_instance_is_updated(azure):
    azure.seed(windows_vm("old", extension={"name": "myVMAccess", "version": "2.3.0", "type_handler_version": "2.3",
                                            "settings": {}}))
    result = azure.run(["old"])["old"]
    assert (result["outcome"], result["action"]) == ("changed", "updated")
    assert result["warnings"] == []  # no extension_name was asked for
    ext = azure.vm("old")["extensions"][0]
    assert ext["name"] == "myVMAccess" and ext["type_handler_version"] == "2.4"


def test_an_in_guest_failure_after_the_put_is_failed_and_changed(azure):
    azure.seed(windows_vm("fw", failure_mode="firewall_service_stopped"))
    result = azure.run(["fw"])["fw"]
    assert (result["outcome"], result["reason"], result["changed"]) == ("failed", "extension_failed", True)
    assert "0x800706D9" in result["msg"]
    again = azure.run(["fw"])["fw"]  # the same reset again: a new attempt, or Azure would skip it
    assert again["action"] == "rerun" and "attempt 1" in again["why"]


def test_password_reset_sets_the_password_once(azure):
    azure.seed(windows_vm("pw"))
    request = ResetRequest(reset="password", password=PASSWORD)
    result = azure.run(["pw"], request=request)["pw"]
    assert (result["outcome"], result["username"]) == ("changed", "azureadmin")
    assert azure.control.verify_password(azure.sub, "rg-eng", "pw", "azureadmin", PASSWORD)
    assert PASSWORD not in repr(result)
    again = azure.run(["pw"], request=request)["pw"]
    assert (again["outcome"], again["action"]) == ("ok", "none") and azure.vm("pw")["run_count"] == 1


def test_an_operation_that_never_ends_times_out(azure):
    azure.seed(windows_vm("stuck"))
    azure.control.add_fault(vm="stuck", action="never_finish", method="PUT", path="/extensions/", count=1)
    result = azure.run(["stuck"], wait_timeout=3)["stuck"]
    assert (result["outcome"], result["reason"], result["changed"]) == ("failed", "operation_timeout", True)


def test_a_failing_operation_endpoint_falls_back_to_the_extension(azure):
    azure.seed(windows_vm("op500"))
    azure.control.add_fault(action="status", method="GET", path="/operations/", status=500, retry_after=0.05)
    result = azure.run(["op500"], wait_timeout=30)["op500"]
    assert result["outcome"] == "changed"
    assert any("instance view shows the reset succeeded" in w for w in result["warnings"])


def test_wait_false_returns_after_the_put_and_a_later_run_follows(azure):
    azure.seed(windows_vm("later", extension_duration_s=200))
    submitted = azure.run(["later"], wait=False)["later"]
    assert (submitted["outcome"], submitted["action"]) == ("changed", "created")
    followed = azure.run(["later"], wait_timeout=30)["later"]
    assert followed["action"] == "wait" and followed["outcome"] == "ok"
    assert azure.vm("later")["run_count"] == 1


def test_check_mode_writes_nothing(azure):
    done = {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "azops:v1:rdp:0:T1", "settings": {}}
    azure.seed(windows_vm("c1"), windows_vm("c2", extension=done))
    results = azure.run(["c1", "c2"], check_mode=True)
    assert (results["c1"]["outcome"], results["c2"]["outcome"]) == ("changed", "ok")
    assert azure.writes() == 0


def test_status_reports_without_writing_and_fails_what_it_cannot_read(azure):
    azure.seed(*fleet_vms())
    results = azure.status(FLEET + ["ghost"])
    assert {results[n]["outcome"] for n in FLEET} == {"ok"}
    assert (results["ghost"]["outcome"], results["ghost"]["reason"]) == ("failed", "vm_not_found")
    # From lists: no fingerprint kind, since lists carry no tag.
    assert results["w-01"]["extension"] is None or results["w-01"]["extension"]["fingerprint_kind"] is None
    assert azure.writes() == 0


def test_before_submit_runs_before_any_put_and_its_failure_stops_them(azure):
    azure.seed(*fleet_vms())
    seen, writes_before = [], []

    def store(items):
        writes_before.append(azure.writes())
        seen.extend(items)

    engine = azure.engine(ResetRequest(reset="rdp", run_tag="T1"), before_submit=store, poll_interval=0.1)
    engine.run([VmTarget(host=n, ref=azure.ref(n)) for n in FLEET])
    assert sorted(host for host, _vm_id, _user in seen) == sorted(FLEET)
    assert writes_before[0] == 0  # nothing was written before the first store

    def refuse(items):
        raise VmAccessError("vault_unavailable", "cannot store")

    azure.control.clear_requests()
    engine = azure.engine(ResetRequest(reset="rdp", run_tag="T2"), before_submit=refuse)
    results = engine.run([VmTarget(host=n, ref=azure.ref(n)) for n in FLEET])
    assert {(r["outcome"], r["reason"]) for r in results} == {("failed", "vault_unavailable")}
    assert azure.writes() == 0


def test_before_submit_can_fail_single_vms_and_the_others_go_on(azure):
    """A store that cannot keep one VM's password: that VM gets no PUT and fails with the store's reason;
    the rest of the batch is reset. An unexpected exception stops the whole batch's PUTs, never some."""
    azure.seed(*fleet_vms())
    refused = {"w-03", "w-07"}

    def store(items):
        return dict((host, VmAccessError("key_vault_forbidden", "cannot store %s" % host))
                    for host, _vm_id, _user in items if host in refused)

    engine = azure.engine(ResetRequest(reset="rdp", run_tag="T3"), before_submit=store)
    results = dict((r["host"], r) for r in engine.run([VmTarget(host=n, ref=azure.ref(n)) for n in FLEET]))
    assert {(results[h]["outcome"], results[h]["reason"], results[h]["changed"]) for h in refused} == {
        ("failed", "key_vault_forbidden", False)}
    assert {results[h]["outcome"] for h in FLEET if h not in refused} == {"changed"}
    written = {r["vm"] for r in azure.control.requests() if r["kind"] == "write"}
    assert written == set(FLEET) - refused

    def broken(items):
        raise KeyError("boom")

    azure.control.clear_requests()
    engine = azure.engine(ResetRequest(reset="rdp", run_tag="T4"), before_submit=broken)
    results = engine.run([VmTarget(host=n, ref=azure.ref(n)) for n in FLEET])
    assert {(r["outcome"], r["reason"]) for r in results} == {("failed", "unexpected_error")}
    assert azure.writes() == 0


def test_progress_is_reported_while_a_fleet_runs(azure):
    azure.seed(*fleet_vms(extension_duration_s=60))
    snapshots = []
    azure.run(FLEET, progress=snapshots.append, progress_interval=0.2)
    assert snapshots and snapshots[-1]["final"] and snapshots[-1]["changed"] == len(FLEET)
    assert any(s["running"] for s in snapshots[:-1])
