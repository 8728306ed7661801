"""Fault matrix for one VM at a time: vm_access_reset through ansible-playbook against the emulator.

All cases run in one playbook (one task per VM; every fault rule is bound to its VM), so the
quick variant pays Ansible's start-up once. For every case: the task's outcome and reason are
right, the guest state agrees with it, the extension writes that landed and the guest runs are
counted (never a duplicate run), and the run ends.
"""

from __future__ import annotations

import pytest

from tests.integration.fleet_helpers import PASSWORD, RG, seed, windows_vm

from .helpers import TRACEBACK, Watcher, ext_puts, landed, secret_hits

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(420)]
GROUP = "single-VM faults"


def _task(case, wait_timeout=60, **args):
    args = dict(resource_group=RG, vm_name="s-" + case, reset="rdp", run_tag="INC-" + case.upper(),
                wait_timeout=wait_timeout, **args)
    task = {"name": case, "azure_ops.vm_access.vm_access_reset": args, "register": "r_" + case.replace("-", "_")}
    if "password" in args:
        task["no_log"] = True
    return task


# case -> (fault rules, task options, expected (failed, reason), expected guest runs)
CASES = {
    "429-short": ([dict(action="status", method="PUT", path="/extensions/", status=429, retry_after=0.3, count=2)],
                  {}, (False, None), 1),
    "429-long": ([dict(action="status", method="PUT", path="/extensions/", status=429, retry_after=30)],
                 {"wait_timeout": 15}, (True, "throttled"), 0),
    "5xx-burst": ([dict(action="status", method="GET", path="/virtualMachines/s-5xx-burst$", status=500,
                        retry_after=0.2, count=2),
                   dict(action="status", method="PUT", path="/extensions/", status=503, retry_after=0.2, count=2)],
                  {}, (False, None), 1),
    "drop-before": ([dict(action="drop_before", method="PUT", path="/extensions/", count=1)], {}, (False, None), 1),
    "drop-after": ([dict(action="drop_after", method="PUT", path="/extensions/", count=1)], {}, (False, None), 1),
    "never-finish": ([dict(action="never_finish", method="PUT", path="/extensions/", count=1)],
                     {"wait_timeout": 6}, (True, "operation_timeout"), 0),
    "dealloc": ([dict(action="delay", method="PUT", path="/extensions/", delay_s=2.0, count=1)], {},
                (True, "vm_not_running"), 0),
    "last-failed": ([], {}, (False, None), 1),
    "token-expiry": ([], {}, (False, None), 1),
}


def test_single_vm_fault_matrix(fresh_emulator, run_tasks, reliability):
    emu = fresh_emulator
    control = emu.control
    vms = [windows_vm("s-" + case, rdp="broken") for case in CASES]
    for vm in vms:
        if vm["name"] == "s-last-failed":
            vm["extension"] = {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "azops:v1:rdp:0:INC-LAST-FAILED",
                               "settings": {}, "state": "Failed", "message": "Enable failed: injected."}
    sub = seed(emu, *vms)
    for case, (faults, _unused_opts, _unused_expect, _unused_runs) in CASES.items():
        for rule in faults:
            control.add_fault(vm="s-" + case, **rule)
    # VM deallocated between the pre-flight read and the PUT (the PUT is delayed 2 s to open the window).
    dealloc = Watcher(emu, lambda: control.patch_vm(sub, RG, "s-dealloc", power_state="deallocated"),
                      method="GET", vm="s-dealloc", path="/virtualMachines/s-dealloc$", timeout=400)
    # Every issued token expires while the module waits on its extension.
    expiry = Watcher(emu, control.expire_tokens, method="PUT", vm="s-token-expiry", path="/extensions/", timeout=400)
    dealloc.start()
    expiry.start()
    try:
        run = run_tasks([_task(case, **opts) for case, (_unused_faults, opts, _unused_expect, _unused_runs) in CASES.items()])
    finally:
        dealloc.stop()
        expiry.stop()
    assert dealloc.fired.is_set() and expiry.fired.is_set(), (dealloc.error, expiry.error)
    assert TRACEBACK not in run.everything
    assert secret_hits(run.everything, [emu.env["AZURE_SECRET"], PASSWORD]) == 0

    requests = control.requests()
    for case, (faults, opts, (should_fail, reason), runs) in CASES.items():
        name = "s-" + case
        r = run.result("r_" + case.replace("-", "_"))
        state = control.vm(sub, RG, name)
        guest = state["guest"]
        assert bool(r.get("failed")) is should_fail, (case, r.get("reason"), r.get("msg"))
        assert r.get("reason") == reason, (case, r.get("reason"), r.get("msg"))
        assert state["run_count"] == runs, (case, state["run_count"])  # never a duplicate guest run
        puts = ext_puts(emu, vm=name)
        # The truth: reported success <=> the reset ran in the guest.
        assert guest["rdp_enabled"] is (not should_fail), case
        if not should_fail:
            assert r["extension"]["provisioning_state"] == "Succeeded", case
            assert r["changed"] is True
        reliability.record(GROUP, "single VM: " + case, cases=1,
                           outcomes=("failed/%s" % reason) if should_fail else "changed",
                           writes_per_vm="%d PUT sent, %d landed, %d guest run" % (len(puts), len(landed(puts)), runs),
                           notes=NOTES.get(case, ""))
    # Specific checks.
    assert len(landed(ext_puts(emu, vm="s-drop-after"))) == 2  # the PUT landed, its retry joined the same run
    assert len(landed(ext_puts(emu, vm="s-drop-before"))) == 1
    assert len(landed(ext_puts(emu, vm="s-429-long"))) == 0
    assert len(ext_puts(emu, vm="s-429-long")) == 1  # Retry-After 30 s > wait_timeout: not waited for
    assert "Retry-After" in run.result("r_429_long")["msg"] or run.result("r_429_long").get("retry_after")
    tag = control.vm(sub, RG, "s-last-failed")["extensions"][0]["force_update_tag"]
    assert tag == "azops:v1:rdp:1:INC-LAST-FAILED"  # a new attempt tag, or Azure would skip the run
    assert run.result("r_last_failed")["action"] == "rerun"
    identity_after_expiry = [q for q in requests if q["kind"] == "identity"]
    assert len(identity_after_expiry) >= len(CASES) + 1  # the expired token was replaced by a fresh one
    assert any(q["status"] == 401 for q in requests)  # ARM refused the expired token (the operation poll)...


NOTES = {
    "429-short": "PUT answered 429 twice (Retry-After 0.3 s), then accepted",
    "429-long": "Retry-After 30 s > wait_timeout 15 s: fails fast as throttled instead of sleeping",
    "5xx-burst": "VM GET 500 x2 and PUT 503 x2, retried",
    "drop-before": "connection dropped before the PUT was processed; retried",
    "drop-after": "PUT processed, answer lost; the identical retry joins the running operation",
    "never-finish": "operation stays InProgress; wait_timeout 6 s",
    "dealloc": "VM deallocated after the pre-flight read, before the PUT (409 from Azure)",
    "last-failed": "VMAccess last run Failed with the same run_tag: rerun as attempt 1",
    "token-expiry": "every token expired server-side right after the PUT; fresh token fetched",
}


def test_operation_endpoint_failing_while_the_extension_succeeds(fresh_emulator, run_tasks, reliability):
    """Every poll of the async operation fails (500), yet the extension ran: report success from the
    instance view, with a warning, not the transport error."""
    emu = fresh_emulator
    sub = seed(emu, windows_vm("s-op-500", rdp="broken"))
    emu.control.add_fault(action="status", method="GET", path=r"/operations/", status=500, retry_after=0.1)
    run = run_tasks([_task("op-500", wait_timeout=60)])
    r = run.result("r_op_500")
    state = emu.control.vm(sub, RG, "s-op-500")
    assert not r.get("failed"), r.get("msg")
    assert r["changed"] is True and r["extension"]["provisioning_state"] == "Succeeded"
    assert state["run_count"] == 1 and state["guest"]["rdp_enabled"] is True
    assert "instance view shows the reset succeeded" in run.stdout + run.stderr  # the warning
    assert TRACEBACK not in run.everything
    puts = ext_puts(emu, vm="s-op-500")
    reliability.record(GROUP, "single VM: operation endpoint 500s, extension succeeded", cases=1,
                       outcomes="changed + warning (from the instance view)",
                       writes_per_vm="%d PUT, %d guest run" % (len(landed(puts)), state["run_count"]))
