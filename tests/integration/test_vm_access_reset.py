"""vm_access_reset through ansible-playbook: the smoke set for what only Ansible shows (no_log at -vvvv, check mode
and diff as Ansible prints them, failures as task results). Every decision and failure reason is tested
in-process in tests/engine/test_reset.py (the module's argument checks too, through its own main()); bad
arguments through ansible-playbook are tests/reliability/test_bad_input.py's smoke test."""

import pytest

from .fleet_helpers import OLD_PASSWORD, PASSWORD, RG, arm_writes, reset_task, seed, windows_vm

pytestmark = [pytest.mark.emulator, pytest.mark.e2e]


def assert_clean(run, *secrets):
    text = run.everything
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text


def test_rdp_reset_repairs_the_guest_then_the_same_run_tag_changes_nothing(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-01", rdp="broken"))
    run = run_tasks([reset_task("first", resource_group=RG, vm_name="web-01", reset="rdp", run_tag="INC1"),
                     reset_task("again", resource_group=RG, vm_name="web-01", reset="rdp", run_tag="INC1")])
    assert run.returncode == 0, run.stdout
    first, again = run.result("first"), run.result("again")
    assert (first["changed"], first["action"]) == (True, "created")
    assert first["extension"]["provisioning_state"] == "Succeeded" and first["extension"]["fingerprint_kind"] == "rdp"
    assert (again["changed"], again["action"]) == (False, "none")
    state = fresh_emulator.control.vm(sub, RG, "web-01")
    assert state["guest"]["rdp_enabled"] and state["guest"]["firewall_rule_enabled"] and state["run_count"] == 1
    assert len(arm_writes(fresh_emulator)) == 1
    assert_clean(run, fresh_emulator.env["AZURE_SECRET"])


def test_password_reset_with_check_and_diff_never_shows_the_password(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-02"))
    args = dict(resource_group=RG, vm_name="web-02", reset="password", password=PASSWORD)
    # Even without no_log on the task, the diff Ansible prints shows only the placeholder.
    predict = dict(reset_task("predicted", no_log=False, **args), check_mode=True, diff=True)
    run = run_tasks([predict, reset_task("reset", **args), reset_task("again", **args)], verbosity=4)
    assert run.returncode == 0, run.stdout
    predicted, reset, again = run.result("predicted"), run.result("reset"), run.result("again")
    assert predicted["changed"] is True and predicted["diff"]["after"]["password"] == "<changed>"
    assert "<changed>" in run.stdout
    assert (reset["changed"], reset["username"]) == (True, "azureadmin")
    assert again["changed"] is False
    control = fresh_emulator.control
    assert control.verify_password(sub, RG, "web-02", "azureadmin", PASSWORD)
    assert not control.verify_password(sub, RG, "web-02", "azureadmin", OLD_PASSWORD)
    assert len(arm_writes(fresh_emulator)) == 1 and control.vm(sub, RG, "web-02")["run_count"] == 1
    assert_clean(run, PASSWORD, fresh_emulator.env["AZURE_SECRET"])


# One VMAccess cannot act on (pre-flight, no write) and one that failed in the guest after the PUT.
FAILURES = [
    (windows_vm("off-01", power_state="deallocated"), "vm_not_running", "Start it", False),
    (windows_vm("fw-01", failure_mode="firewall_service_stopped"), "extension_failed", "0x800706D9", True),
]


def test_failures_are_failed_tasks_with_reason_codes_and_advice(fresh_emulator, run_tasks):
    seed(fresh_emulator, *[vm for vm, _reason, _advice, _changed in FAILURES])
    tasks = [reset_task(vm["name"].replace("-", "_"), resource_group=RG, vm_name=vm["name"], reset="rdp")
             for vm, _reason, _advice, _changed in FAILURES]
    tasks.append(reset_task("missing", resource_group=RG, vm_name="nope", reset="rdp"))
    run = run_tasks(tasks)
    for vm, reason, advice, changed in FAILURES:
        r = run.result(vm["name"].replace("-", "_"))
        assert (r.get("failed"), r.get("reason"), r.get("changed")) == (True, reason, changed), r
        assert advice in r["msg"]
    missing = run.result("missing")
    assert (missing.get("failed"), missing.get("reason")) == (True, "vm_not_found") and "nope" in missing["msg"]
    assert '"reason": "vm_not_running"' in run.stdout  # the reason code is in the task's printed result
    assert_clean(run)
