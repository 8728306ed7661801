"""Fleet fault matrix, in-process: the reset engine over >= 200 VMs (the fleet's path: two list passes, tag reads
only where an instance exists, PUTs pipelined, runs followed by statusOnly passes) with faults bound to some VMs.

One run covers every fault class on its own VMs (short 429s, 5xx bursts, dropped connections before and after the
PUT, operations that never finish, a VM deallocated between the list read and its PUT, a failed last run, another
extension on the VM) plus a server-side expiry of every token while the fleet waits; VMs of the same resource group
that are not targeted must not be touched. Then, through ansible-playbook (e2e): interrupting the fleet playbook
(SIGTERM / SIGINT) mid-fleet; then a re-run (in-process) finishes the job.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from tests.engine import fixtures
from tests.engine.fixtures import once
from tests.integration.conftest import REPO_ROOT, ansible_env
from tests.integration.fleet_helpers import RG, seed, windows_vm

from .helpers import TRACEBACK, ext_puts, interrupt, landed, last_seq, secret_hits, start_playbook, writes_by_vm

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
pytestmark = [pytest.mark.emulator]
GROUP = "fleet faults"
CSE = {"name": "cse", "publisher": "Microsoft.Compute", "type": "CustomScriptExtension", "version": "1.10",
       "settings": {"commandToExecute": "powershell -File keep-me.ps1"}}
RUN_TAG = "CHG-FLEET"
WAIT_TIMEOUT = 8
PUT = dict(method="PUT", path="/extensions/")

# prefix -> (how many VMs, fault rules for each, expected outcome, expected reason, guest runs)
CLASSES = {
    "f-429s": (4, [dict(PUT, action="status", status=429, retry_after=0.3, count=2)], "changed", None, 1),
    "f-5xx": (4, [dict(PUT, action="status", status=503, retry_after=0.2, count=2),
                  dict(action="status", method="GET", path="/extensions/", status=500, retry_after=0.2, count=1)],
              "changed", None, 1),
    "f-dropb": (4, [dict(PUT, action="drop_before", count=1)], "changed", None, 1),
    "f-dropa": (4, [dict(PUT, action="drop_after", count=1)], "changed", None, 1),
    "f-never": (2, [dict(PUT, action="never_finish", count=1)], "failed", "operation_timeout", 0),
    "f-dealloc": (2, [], "skipped", "vm_not_running", 0),
    "f-lastfail": (3, [], "changed", None, 1),
    "f-cse": (3, [], "changed", None, 1),
}
FLEET_NOTES = {
    "f-429s": "429 on the PUT x2, Retry-After 0.3 s",
    "f-5xx": "PUT 503 x2 + extension GET 500",
    "f-dropb": "connection dropped before the PUT",
    "f-dropa": "connection dropped after the PUT landed",
    "f-never": "operation never finishes (wait_timeout %d s)" % WAIT_TIMEOUT,
    "f-dealloc": "deallocated between pre-flight and PUT",
    "f-lastfail": "last VMAccess run failed (same run_tag)",
    "f-cse": "VM with a CustomScriptExtension too",
    "f-ok": "no fault",
}


def _fleet(n_plain, extra_untargeted=5):
    """(VM specs, {targeted VM name: class prefix}); the untargeted x-NN VMs hold a VMAccess instance of their own."""
    vms, names = [], {}
    for prefix, (count, _faults, _outcome, _reason, _runs) in CLASSES.items():
        for i in range(1, count + 1):
            vm = windows_vm("%s-%02d" % (prefix, i), rdp="broken", extension_duration_s=20)
            if prefix == "f-lastfail":
                vm["extension"] = {"name": "enablevmaccess", "version": "2.4.11", "settings": {}, "state": "Failed",
                                   "force_update_tag": "azops:v1:rdp:0:%s" % RUN_TAG}
            if prefix == "f-cse":
                vm["extensions"] = [CSE]
            vms.append(vm)
            names[vm["name"]] = prefix
    vms.append({"name": "f-ok-{i:03d}", "count": n_plain, "os": "windows", "rdp": "broken",
                "extension_duration_s": 20})
    names.update({"f-ok-%03d" % i: "f-ok" for i in range(1, n_plain + 1)})
    vms.append({"name": "x-{i:02d}", "count": extra_untargeted, "os": "windows", "rdp": "broken",
                "extension": {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "theirs",
                              "settings": {}}})
    return vms, names


def _expected(prefix):
    _count, _faults, outcome, reason, runs = CLASSES.get(prefix, (0, [], "changed", None, 1))
    return outcome, reason, runs


@pytest.mark.timeout(300)
def test_fleet_fault_matrix(azure_run, reliability, soak):
    emu, control = azure_run.emulator, azure_run.control
    n_plain = 974 if soak else 180
    vms, names = _fleet(n_plain)
    azure_run.seed(*vms, rg=RG)
    targeted = sorted(names)
    assert len(targeted) >= 200
    for name, prefix in names.items():
        for rule in CLASSES.get(prefix, (0, []))[1]:
            control.add_fault(vm=name, **rule)
    before_cse = {n: control.vm(azure_run.sub, RG, n)["extensions"] for n in names if names[n] == "f-cse"}
    dealloc = [n for n in targeted if names[n] == "f-dealloc"]
    # Every token expires server-side while the fleet waits: once every PUT was accepted and runs are followed.
    expire = once(control.expire_tokens)

    def progress(snapshot):
        if snapshot["planning"] == 0 and snapshot["running"] > 0:
            expire()

    results = azure_run.run(targeted, ResetRequest(reset="rdp", run_tag=RUN_TAG), rg=RG, wait_timeout=WAIT_TIMEOUT,
                            poll_interval=0.2, progress=progress, progress_interval=0.2,
                            before_put=once(lambda: azure_run.deallocate(*dealloc, rg=RG)))

    assert expire.fired.is_set()
    assert set(results) == set(targeted)
    assert secret_hits(repr(results), [emu.env["AZURE_SECRET"]]) == 0  # no secret, no bearer token
    requests = control.requests()
    vm_lists = [q for q in requests if q["method"] == "GET" and q["path"].lower().endswith("/virtualmachines")]
    vm_gets = [q for q in requests if q["method"] == "GET" and re.search(r"/virtualMachines/[^/]+$", q["path"], re.I)]
    assert vm_lists and not vm_gets  # the fleet's path: list passes, never a GET per VM
    seen = Counter()
    for name in targeted:
        outcome, reason, runs = _expected(names[name])
        got, state = results[name], control.vm(azure_run.sub, RG, name)
        assert (got["outcome"], got["reason"]) == (outcome, reason), (name, got["msg"])
        assert state["run_count"] == runs, (name, state["run_count"])  # never a duplicate guest run
        # The truth: reported changed <=> the reset ran and succeeded in the guest.
        assert state["guest"]["rdp_enabled"] is (outcome == "changed"), name
        seen[names[name]] += 1
    writes = writes_by_vm(emu)
    assert max(writes.values()) <= 2 and all(writes[n] == 2 for n in names if names[n] == "f-dropa")
    for name in names:
        if names[name] == "f-lastfail":  # a new attempt tag, or Azure would skip the run
            assert control.vm(azure_run.sub, RG, name)["extensions"][0]["force_update_tag"] == \
                "azops:v1:rdp:1:%s" % RUN_TAG
    # The expired tokens were refused, then replaced by a fresh one.
    refused = [q for q in requests if q["status"] == 401]
    assert refused and [q for q in requests if q["kind"] == "identity" and q["seq"] > refused[0]["seq"]]

    # Nothing lost: the other extension is untouched; untargeted VMs got no request of their own at all.
    for name, extensions in before_cse.items():
        after = {e["name"]: e for e in control.vm(azure_run.sub, RG, name)["extensions"]}
        assert after["cse"] == next(e for e in extensions if e["name"] == "cse"), name
    assert not [q for q in requests if "/extensions/cse" in q["path"].lower()]
    for i in range(1, 6):
        x = control.vm(azure_run.sub, RG, "x-%02d" % i)
        assert x["extensions"][0]["force_update_tag"] == "theirs" and x["run_count"] == 0
    assert not [q for q in requests if (q["vm"] or "").startswith("x-")]

    for prefix in list(CLASSES) + ["f-ok"]:
        members = [n for n in targeted if names[n] == prefix]
        sent = sum(len(ext_puts(emu, vm=n)) for n in members) / len(members)
        put_landed = sum(writes[n] for n in members) / len(members)
        guest_runs = sum(control.vm(azure_run.sub, RG, n)["run_count"] for n in members) / len(members)
        outcome, reason, _runs = _expected(prefix)
        reliability.record(GROUP, "fleet (%d VMs): %s" % (len(targeted), FLEET_NOTES[prefix]), cases=seen[prefix],
                           outcomes="%s%s" % (outcome, "/" + reason if reason else ""),
                           writes_per_vm="%.1f PUT sent, %.1f landed, %.1f guest run" % (sent, put_landed, guest_runs))
    reliability.record("nothing lost", "untargeted VMs (--limit) and another extension (CustomScriptExtension)",
                       cases=5 + len(before_cse), outcomes="untouched (no write, tag and settings unchanged)",
                       writes_per_vm="0 on untargeted VMs, 0 on the other extension")
    reliability.record(GROUP, "fleet: token expiry mid-run (every token expired while waiting)", cases=len(targeted),
                       outcomes="fresh token fetched after the 401; outcomes as above", writes_per_vm="as above")


# -- through ansible-playbook: a signal mid-fleet, then a re-run ---------------------------------------------------

def _playbook_cmd(workdir, hosts, extra_vars, args=()):
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"windows": {"hosts": hosts}}))
    extra = dict(vm_access_poll_interval=0.2, vm_access_report_dir=str(workdir / "reports"))
    extra.update(extra_vars)
    (workdir / "extra.json").write_text(json.dumps(extra))
    return [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO_ROOT / "playbooks/reset_rdp.yml"),
            "-i", "inventory.yml", "-e", "@extra.json", *args]


@pytest.mark.e2e
@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_fleet_leaves_every_vm_consistent_and_a_rerun_finishes(fresh_emulator, azure_run, tmp_path,
                                                                           reliability, soak, sig):
    if sig == signal.SIGINT and not soak:
        pytest.skip("SIGINT variant runs with --soak (the quick variant interrupts with SIGTERM)")
    emu, control = fresh_emulator, fresh_emulator.control
    n = 200
    sub = seed(emu, {"name": "i-{i:03d}", "count": n, "os": "windows", "rdp": "broken", "extension_duration_s": 20})
    names = ["i-%03d" % i for i in range(1, n + 1)]
    hosts = {name: {"resource_group": RG, "vm_name": name} for name in names}
    # Slow PUTs (2 writers, 0.15 s each) so the signal lands in the middle of the submissions.
    control.add_fault(action="delay", method="PUT", path="/extensions/", delay_s=0.15)
    workdir = tmp_path / "interrupted"
    workdir.mkdir()
    extra = {"vm_access_run_tag": "CHG-INT", "vm_access_max_workers": 2, "vm_access_wait_timeout": 60}
    env = ansible_env(emu.env, workdir)
    proc = start_playbook(_playbook_cmd(workdir, hosts, extra), cwd=str(workdir), env=env)
    deadline = time.monotonic() + 300
    while len(landed(ext_puts(emu))) < 40 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    out = interrupt(proc, sig)
    assert TRACEBACK not in out
    # Whatever was already sent finishes in Azure; let it settle, and check nothing more is sent.
    control.clear_faults()
    time.sleep(3)
    mark = last_seq(emu)
    time.sleep(3)
    late = [r for r in control.requests(since=mark) if r["method"] == "PUT"]
    assert late == [], "writes after ansible-playbook ended: %d" % len(late)
    touched, untouched = [], []
    for name in names:
        state = control.vm(sub, RG, name)
        exts = state["extensions"]
        if not exts:
            assert state["run_count"] == 0 and state["guest"]["rdp_enabled"] is False, name
            untouched.append(name)
        else:
            ext = exts[0]
            assert ext["force_update_tag"] == "azops:v1:rdp:0:CHG-INT", name
            assert ext["provisioning_state"] == "Succeeded" and state["run_count"] == 1, (name, ext)
            assert state["guest"]["rdp_enabled"] is True, name  # extension state and guest agree
            touched.append(name)
    assert touched and untouched, (len(touched), len(untouched))

    # The re-run (in-process: the engine the fleet action runs) finishes the job: changed exactly on the VMs that
    # still needed it, no write to the others.
    mark = last_seq(emu)
    report = azure_run.run(names, ResetRequest(reset="rdp", run_tag="CHG-INT"), rg=RG, wait_timeout=60,
                           poll_interval=0.2)
    assert sorted(h for h, r in report.items() if r["outcome"] == "changed") == sorted(untouched)
    assert sorted(h for h, r in report.items() if r["outcome"] == "ok") == sorted(touched)
    rewrites = writes_by_vm(emu, since=mark)
    assert set(rewrites) == set(untouched) and max(rewrites.values()) == 1
    assert all(control.vm(sub, RG, name)["run_count"] == 1 for name in names)
    reliability.record("nothing lost", "fleet interrupted by %s mid-submission, then re-run" % sig.name, cases=n,
                       outcomes="after the signal: %d reset + consistent, %d untouched, 0 half-done; re-run: "
                                "changed=%d, ok=%d" % (len(touched), len(untouched), len(untouched), len(touched)),
                       writes_per_vm="1 PUT and 1 guest run per VM over both runs")
