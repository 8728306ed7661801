"""A Key Vault rotation interrupted by SIGTERM in the middle of its PUTs, then run again.

While a rotation runs, each VM's new password is a ``pending`` version written before its PUT. A run killed
mid-batch leaves some VMs with a pending version and the new password in the guest, some with a pending version
and no PUT, and some untouched. Nothing is lost: for every VM the guest's password is the newest ``active``
version, or the newest ``pending`` one. The rerun (a new job, a new run tag) finishes each pending version with
its own password and run tag - a VM whose reset already reached the guest gets no second PUT - and rotates the
rest: every VM ends with exactly one new version, ``active``, whose password works.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import REPO_ROOT, ansible_env
from tests.integration.fleet_helpers import RG, seed
from tests.integration.kv_helpers import VaultView

from .helpers import TRACEBACK, ext_puts, interrupt, landed, last_seq, start_playbook, writes_by_vm

pytestmark = [pytest.mark.emulator, pytest.mark.e2e, pytest.mark.timeout(600)]


def _command(workdir, hosts, extra):
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"windows": {"hosts": hosts}}))
    extra = dict(extra, vm_access_poll_interval=0.2, vm_access_report_dir=str(workdir / "reports"))
    (workdir / "extra.json").write_text(json.dumps(extra))
    return [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO_ROOT / "playbooks/rotate_passwords.yml"),
            "-i", "inventory.yml", "-e", "@extra.json"]


def test_interrupted_rotation_loses_nothing_and_the_rerun_finishes_it(fresh_emulator, tmp_path, reliability):
    emu, control = fresh_emulator, fresh_emulator.control
    n = 40
    sub = seed(emu, {"name": "k-{i:02d}", "count": n, "os": "windows", "admin_username": "azureadmin",
                     "accounts": [{"name": "azureadmin", "admin": True, "password": "Old-Passw0rd!2020"}],
                     "extension_duration_s": 20})
    names = ["k-%02d" % i for i in range(1, n + 1)]
    vault = VaultView(emu, sub)
    for name in names:
        vault.seed_active(name, days_old=45)
    hosts = dict((name, {"resource_group": RG, "vm_name": name}) for name in names)
    extra = {"vm_access_key_vault_url": vault.url, "vm_access_rotation_max_age_days": 30, "vm_access_max_workers": 2,
             "vm_access_wait_timeout": 120, "vm_access_run_tag": "ROT-A"}
    # Slow PUTs (2 writers, 0.3 s each) so the signal lands in the middle of the submissions.
    control.add_fault(action="delay", method="PUT", path="/extensions/", delay_s=0.3)
    workdir = tmp_path / "interrupted"
    workdir.mkdir()
    proc = start_playbook(_command(workdir, hosts, extra), cwd=str(workdir), env=ansible_env(emu.env, workdir))
    deadline = time.monotonic() + 300
    while len(landed(ext_puts(emu))) < 8 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    out = interrupt(proc, signal.SIGTERM)
    assert TRACEBACK not in out
    control.clear_faults()
    time.sleep(3)   # what Azure had accepted finishes; nothing more may be sent
    mark = last_seq(emu)
    time.sleep(2)
    assert [r for r in control.requests(since=mark) if r["method"] in ("PUT", "PATCH")] == []

    put_before = set(writes_by_vm(emu))
    pending_only, in_guest, untouched = [], [], []
    for name in names:
        versions = vault.versions(name)
        states = [(v["tags"] or {}).get("state") for v in versions]
        assert states[0] == "active" and len(states) <= 2, (name, states)
        if len(states) == 2:
            assert states[1] == "pending", (name, states)   # never active before the run could see it succeed
            if vault.works(name, versions[1]["value"]):
                in_guest.append(name)
            else:
                assert vault.works(name, versions[0]["value"]), name
                pending_only.append(name)
        else:
            assert vault.works(name, versions[0]["value"]), name
            untouched.append(name)
        assert name in put_before or name not in in_guest  # a new password reaches a guest only through our PUT
    for name in put_before:
        assert len(vault.versions(name)) == 2, name        # every PUT had its pending version first
    assert in_guest and untouched, (len(in_guest), len(pending_only), len(untouched))

    # The rerun: a new job with its own run tag.
    mark = last_seq(emu)
    rerun_dir = tmp_path / "rerun"
    rerun_dir.mkdir()
    rerun = subprocess.run(_command(rerun_dir, hosts, dict(extra, vm_access_max_workers=16, vm_access_run_tag="ROT-B")),
                           cwd=str(rerun_dir), env=ansible_env(emu.env, rerun_dir), capture_output=True, text=True,
                           timeout=400, check=False)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    report = dict((vm["host"], vm) for vm in json.loads(sorted((rerun_dir / "reports").glob("*.json"))[-1]
                                                        .read_text())["vms"])
    rewrites = writes_by_vm(emu, since=mark)
    assert not set(rewrites) & set(in_guest)                 # finished without a second PUT
    assert set(rewrites) == set(pending_only) | set(untouched) and max(rewrites.values()) == 1
    for name in names:
        assert vault.states(name) == ["active", "active"], (name, vault.states(name))  # one new version each
        vault.assert_consistent(name)
        assert report[name]["key_vault"]["state"] == "active"
    assert sorted(h for h, r in report.items() if r["outcome"] == "ok") == sorted(in_guest)
    everything = out + rerun.stdout + rerun.stderr + "".join(p.read_text() for p in (rerun_dir / "reports").glob("*"))
    assert TRACEBACK not in everything
    for value in vault.values():
        assert value not in everything
    reliability.record("nothing lost", "Key Vault rotation interrupted by SIGTERM mid-submission, then re-run", cases=n,
                       outcomes="after the signal: %d new password in guest (pending), %d pending without PUT, %d "
                                "untouched; re-run: every VM active, %d finished without a second PUT"
                                % (len(in_guest), len(pending_only), len(untouched), len(in_guest)),
                       writes_per_vm="1 PUT per VM over both runs", secrets_found=0)
