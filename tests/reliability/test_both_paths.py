"""One engine, two paths: every fault and VM condition, through the module per host and through the fleet
playbook, ends with the same reason code, the same message and the same effect in the guest.

The only difference is delivery: where VMAccess cannot act on a VM now (not running, not Windows, agent down,
extensions disallowed), a fleet host is *skipped* with the reason while the single-VM task *fails* with it, since
that task asked for that one VM.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import REPO_ROOT, ansible_env
from tests.integration.fleet_helpers import RG, seed, windows_vm

from .helpers import TRACEBACK, ext_puts, landed

pytestmark = [pytest.mark.emulator, pytest.mark.e2e, pytest.mark.timeout(420)]
GROUP = "both paths"
# Every run here takes ~1 s at the emulator's time scale; the never-finishing one waits for this, on each path.
WAIT_TIMEOUT = 8
RUN_TAG = "CHG-BOTH"
SKIP_REASONS = {"not_windows", "vm_not_running", "agent_not_ready", "extensions_disallowed"}
FAILED_LAST = {"name": "enablevmaccess", "version": "2.4.11", "settings": {}, "state": "Failed",
               "force_update_tag": "azops:v1:rdp:0:%s" % RUN_TAG}

# case -> (VM fields, fault rules on its PUT/polls, expected reason, guest runs)
CASES = {
    "ok": ({}, [], None, 1),
    "429": ({}, [dict(action="status", method="PUT", path="/extensions/", status=429, retry_after=0.3, count=2)],
            None, 1),
    "5xx": ({}, [dict(action="status", method="PUT", path="/extensions/", status=503, retry_after=0.2, count=2)],
            None, 1),
    "dropb": ({}, [dict(action="drop_before", method="PUT", path="/extensions/", count=1)], None, 1),
    "dropa": ({}, [dict(action="drop_after", method="PUT", path="/extensions/", count=1)], None, 1),
    "never": ({}, [dict(action="never_finish", method="PUT", path="/extensions/", count=1)], "operation_timeout", 0),
    "guestfail": ({"failure_mode": "firewall_service_stopped"}, [], "extension_failed", 1),
    "dc": ({"domain_controller": True}, [], "extension_failed", 1),
    "lastfail": ({"extension": FAILED_LAST}, [], None, 1),
    "v23": ({"extension": {"name": "myVMAccess", "version": "2.3.3", "type_handler_version": "2.3",
                           "settings": {}}}, [], None, 1),
    "starting": ({"agent": "starting", "agent_ready_after_s": 60}, [], None, 1),
    "down": ({"agent": "not_ready"}, [], "agent_not_ready", 0),
    "dealloc": ({"power_state": "deallocated"}, [], "vm_not_running", 0),
    "linux": ({"os": "linux"}, [], "not_windows", 0),
    "locked": ({"allow_extension_operations": False}, [], "extensions_disallowed", 0),
}

MODULE_PLAY = [{
    "name": "The single-VM module per host",
    "hosts": "windows",
    "gather_facts": False,
    "tasks": [
        {"name": "Reset RDP", "azure_ops.vm_access.vm_access_reset": {
            "resource_group": "{{ resource_group }}", "vm_name": "{{ vm_name }}", "reset": "rdp",
            "run_tag": RUN_TAG, "wait_timeout": WAIT_TIMEOUT, "poll_interval": 0.2},
         "delegate_to": "localhost", "register": "reset", "ignore_errors": True},
        {"name": "Save", "delegate_to": "localhost", "ansible.builtin.copy": {
            "content": "{{ reset | to_json }}", "dest": "{{ results_dir }}/{{ inventory_hostname }}.json"}},
    ],
}]


def _run(cmd, workdir, emu):
    env = ansible_env(emu.env, workdir)
    proc = subprocess.run(cmd, cwd=str(workdir), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert TRACEBACK not in proc.stdout + proc.stderr
    return proc


def _hosts(prefix):
    return {"%s-%s" % (prefix, case): {"resource_group": RG, "vm_name": "%s-%s" % (prefix, case)} for case in CASES}


def run_module_path(emu, workdir):
    workdir.mkdir()
    results = workdir / "results"
    results.mkdir()
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"windows": {"hosts": _hosts("m")}}))
    (workdir / "play.yml").write_text(yaml.safe_dump(MODULE_PLAY))
    _run([str(Path(sys.executable).parent / "ansible-playbook"), "play.yml", "-i", "inventory.yml", "-f", "8",
          "-e", json.dumps({"results_dir": str(results)})], workdir, emu)
    out = {}
    for path in results.glob("*.json"):
        r = json.loads(path.read_text())
        outcome = "failed" if r.get("failed") else ("changed" if r.get("changed") else "ok")
        # A module success has no msg: the guest's own message is in its extension result.
        msg = r.get("msg") or (r.get("extension") or {}).get("status_message") or ""
        out[path.stem.split("-", 1)[1]] = (outcome, r.get("reason"), msg, bool(r.get("changed")))
    return out


def run_fleet_path(emu, workdir):
    workdir.mkdir()
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"windows": {"hosts": _hosts("f")}}))
    extra = {"vm_access_run_tag": RUN_TAG, "vm_access_wait_timeout": WAIT_TIMEOUT, "vm_access_poll_interval": 0.2,
             "vm_access_report_dir": str(workdir / "reports")}
    proc = _run([str(Path(sys.executable).parent / "ansible-playbook"), str(REPO_ROOT / "playbooks/reset_rdp.yml"),
                 "-i", "inventory.yml", "-e", json.dumps(extra)], workdir, emu)
    report = json.loads(sorted((workdir / "reports").glob("*.json"))[-1].read_text())
    return {vm["host"].split("-", 1)[1]: (vm["outcome"], vm["reason"], vm["msg"], vm["changed"])
            for vm in report["vms"]}, proc


def both_paths(emu, tmp_path, suffix):
    """The module path and the fleet path at once (their VMs are distinct): most of their time is waiting."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        module = pool.submit(run_module_path, emu, tmp_path / ("module" + suffix))
        fleet = pool.submit(run_fleet_path, emu, tmp_path / ("fleet" + suffix))
        return module.result(), fleet.result()


def _same_message(module_msg, fleet_msg):
    return module_msg.replace("m-", "X-") == fleet_msg.replace("f-", "X-")


def test_every_case_ends_alike_through_the_module_and_the_fleet(fresh_emulator, tmp_path, reliability):
    emu, control = fresh_emulator, fresh_emulator.control
    vms = [windows_vm("%s-%s" % (prefix, case), rdp="broken", extension_duration_s=20, **fields)
           for prefix in ("m", "f") for case, (fields, _faults, _reason, _runs) in CASES.items()]
    sub = seed(emu, *vms)
    for case, (_fields, faults, _reason, _runs) in CASES.items():
        for prefix in ("m", "f"):
            for rule in faults:
                control.add_fault(vm="%s-%s" % (prefix, case), **rule)

    module, (fleet, proc) = both_paths(emu, tmp_path, "")
    assert set(module) == set(fleet) == set(CASES)
    for case, (_fields, _faults, reason, runs) in CASES.items():
        m_outcome, m_reason, m_msg, m_changed = module[case]
        f_outcome, f_reason, f_msg, f_changed = fleet[case]
        assert m_reason == f_reason == reason, (case, module[case], fleet[case])
        assert _same_message(m_msg, f_msg), (case, m_msg, f_msg)
        assert m_changed == f_changed, (case, m_changed, f_changed)
        expected = "changed" if reason is None else ("skipped" if reason in SKIP_REASONS else "failed")
        assert f_outcome == expected, (case, fleet[case])
        assert m_outcome == ("failed" if expected == "skipped" else expected), (case, module[case])
        for prefix in ("m", "f"):
            state = control.vm(sub, RG, "%s-%s" % (prefix, case))
            assert state["run_count"] == runs, (prefix, case, state["run_count"])
            assert state["guest"]["rdp_enabled"] is (reason is None), (prefix, case)
        reliability.record(GROUP, "module per host = fleet playbook: %s" % case, cases=2,
                           outcomes="%s%s" % (expected, "/" + reason if reason else ""),
                           writes_per_vm="%d guest run" % runs, notes="same reason, message and guest effect")
    # Skipped hosts say why in their own task output.
    assert "skipping: [f-dealloc]" in proc.stdout and "vm_not_running" in proc.stdout.split("skipping: [f-dealloc]")[1]

    # The same run again, with the same run_tag: what succeeded is not written again, on either path.
    since = control.requests()[-1]["seq"]
    module_again, (fleet_again, _proc) = both_paths(emu, tmp_path, "-again")
    done = [case for case, (_f, _r, reason, _n) in CASES.items() if reason is None]
    for case in done:
        assert module_again[case][0] == "ok" and fleet_again[case][0] == "ok", case
        for prefix in ("m", "f"):
            assert not landed(ext_puts(emu, since=since, vm="%s-%s" % (prefix, case))), (prefix, case)
    reliability.record(GROUP, "second run with the same run_tag (both paths)", cases=2 * len(done),
                       outcomes="ok", writes_per_vm="0 PUT")
