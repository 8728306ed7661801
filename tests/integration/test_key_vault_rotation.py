"""Generated passwords in Azure Key Vault and scheduled rotation, through Ansible against the emulator:
playbooks/rotate_passwords.yml (the fleet) and vm_access_reset (one VM).

After every run each VM is checked in the vault and in its emulated guest: the newest ``active`` version's
password works in the guest, earlier versions are kept, and no VM got a PUT whose pending version could not
be written. Every password the vault holds is searched for in everything the runs produced (at -vvvv)."""

from __future__ import annotations

import pytest

from .fleet_helpers import OLD_PASSWORD, RG, seed, windows_vm
from .kv_helpers import VaultView, arm_requests, extension_puts, last_seq

pytestmark = [pytest.mark.emulator, pytest.mark.e2e, pytest.mark.timeout(600)]


def report_of(run):
    assert run.results["reports"], run.stdout[-3000:] + run.stderr[-2000:]
    return {vm["host"]: vm for vm in run.results["reports"][-1]["vms"]}


def assert_no_password(run, vault):
    text = run.everything + "\n".join(run.results["markdown"])
    assert "Traceback" not in text
    for value in vault.values():
        assert value not in text


def test_fleet_rotation_faults_and_reruns_until_nothing_is_due(fresh_emulator, run_playbook):
    emu = fresh_emulator
    names = ["kv-01", "kv-02", "kv-03", "kv-04", "kv-fault", "kv-fail", "kv-off"]
    sub = seed(emu, *[windows_vm(n) for n in names[:5]],
               windows_vm("kv-fail", failure_mode="message:The password does not meet the password policy requirements."),
               windows_vm("kv-off", power_state="deallocated"))
    vault = VaultView(emu, sub)
    for name, age in (("kv-01", 40), ("kv-02", 31), ("kv-03", 3), ("kv-fault", 40), ("kv-fail", 40), ("kv-off", 40)):
        vault.seed_active(name, age)   # kv-04 has no secret yet
    emu.control.add_fault(method="PUT", path=r"^/secrets/%s$" % vault.secret_of("kv-fault"), status=403,
                          code="Forbidden", message="Caller is not authorized to perform action on resource.")
    hosts = dict((n, {"resource_group": RG, "vm_name": n}) for n in names)
    extra = {"vm_access_key_vault_url": vault.name,            # a name: the URL comes from the cloud's suffix
             "vm_access_rotation_max_age_days": 30, "vm_access_run_tag": "ROT-1"}
    emu.control.clear_requests()

    first = run_playbook("playbooks/rotate_passwords.yml", hosts, args=["-vvvv"], extra_vars=extra)
    assert first.returncode != 0  # kv-fault and kv-fail fail, as they should
    report = report_of(first)
    outcome = dict((h, (r["outcome"], r["reason"])) for h, r in report.items())
    assert outcome == {"kv-01": ("changed", None), "kv-02": ("changed", None), "kv-03": ("ok", None),
                       "kv-04": ("changed", None), "kv-fault": ("failed", "key_vault_forbidden"),
                       "kv-fail": ("failed", "extension_failed"), "kv-off": ("skipped", "vm_not_running")}
    for name in ("kv-01", "kv-02", "kv-04"):
        newest = vault.assert_consistent(name)
        assert report[name]["key_vault"]["version"] == newest["version"] and report[name]["key_vault"]["state"] == "active"
        assert set(newest["tags"]) == {"vm_id", "username", "run_tag", "state", "set_at"}
        assert newest["content_type"] == "password" and newest["tags"]["run_tag"] == "ROT-1"
    assert vault.states("kv-01") == ["active", "active"] and vault.states("kv-04") == ["active"]
    # Not due: no request about the VM at all, and no Key Vault write.
    assert arm_requests(emu, vm="kv-03") == [] and vault.states("kv-03") == ["active"]
    assert "not due" in report["kv-03"]["msg"]
    # The vault refused kv-fault's pending version: no PUT, the old password untouched and still working.
    assert extension_puts(emu, "kv-fault") == [] and vault.states("kv-fault") == ["active"]
    assert vault.works("kv-fault", OLD_PASSWORD) and report["kv-fault"]["changed"] is False
    assert "Key Vault Secrets Officer" in report["kv-fault"]["msg"]
    # The extension failed in kv-fail's guest: its version is failed, the old active one still works.
    assert vault.states("kv-fail") == ["active", "failed"] and vault.works("kv-fail", OLD_PASSWORD)
    assert report["kv-fail"]["key_vault"]["state"] == "failed"
    assert vault.states("kv-off") == ["active"] and vault.works("kv-off", OLD_PASSWORD)
    for name in names:
        vault.assert_consistent(name)
    markdown = first.results["markdown"][-1]
    assert "## Passwords in Azure Key Vault" in markdown and "| kv-fail | %s |" % vault.secret_of("kv-fail") in markdown
    assert first.results["reports"][-1]["summary"]["by_outcome"] == {"changed": 3, "ok": 1, "skipped": 1, "failed": 2}
    assert_no_password(first, vault)

    # The causes are fixed; the next scheduled run rotates exactly the VMs still due.
    emu.control.clear_faults()
    emu.control.patch_vm(sub, RG, "kv-fail", failure_mode="none")
    emu.control.patch_vm(sub, RG, "kv-off", power_state="running", agent="ready")
    mark = last_seq(emu)
    second = run_playbook("playbooks/rotate_passwords.yml", hosts, extra_vars=dict(extra, vm_access_run_tag="ROT-2"))
    assert second.returncode == 0, second.stdout[-3000:]
    report = report_of(second)
    changed = sorted(h for h, r in report.items() if r["outcome"] == "changed")
    assert changed == ["kv-fail", "kv-fault", "kv-off"]
    assert {report[h]["outcome"] for h in names if h not in changed} == {"ok"}
    assert {r["vm"] for r in arm_requests(emu, since=mark) if r["kind"] == "write"} == set(changed)
    assert vault.states("kv-fail") == ["active", "failed", "active"]
    for name in names:
        vault.assert_consistent(name)
    assert_no_password(second, vault)

    # Inside max age: nothing is due, and the run makes no write at all - neither Key Vault nor ARM.
    mark = last_seq(emu)
    third = run_playbook("playbooks/rotate_passwords.yml", hosts, extra_vars=dict(extra, vm_access_run_tag="ROT-3"))
    assert third.returncode == 0, third.stdout[-3000:]
    assert {r["outcome"] for r in report_of(third).values()} == {"ok"}
    assert arm_requests(emu, since=mark) == []       # not a single ARM request
    assert vault.writes(since=mark) == []             # Key Vault: version lists only
    assert "ok=" in third.stdout and "changed=1" not in third.stdout
    for name in names:
        vault.assert_consistent(name)


def test_module_generates_or_takes_the_password_from_key_vault(fresh_emulator, run_tasks):
    emu = fresh_emulator
    sub = seed(emu, windows_vm("gen-01"), windows_vm("given-01"), windows_vm("given-02"))
    vault = VaultView(emu, sub)
    given = emu.control.set_key_vault_secret(vault.name, "given-01-admin", "Given-Passw0rd!2026",
                                             content_type="password", tags={"owner": "ops"})

    def reset(register, vm, **args):
        return {"name": register, "register": register, "no_log": True,
                "azure_ops.vm_access.vm_access_reset": dict(resource_group=RG, vm_name=vm, reset="password",
                                                            run_tag="MOD-1", **args)}

    run = run_tasks([
        reset("gen", "gen-01", generate_password=True, key_vault_url=vault.url, rotation_max_age_days=30),
        reset("gen_again", "gen-01", generate_password=True, key_vault_url=vault.name, rotation_max_age_days=30),
        reset("given", "given-01", key_vault_url=vault.url, password_secret="given-01-admin"),
        reset("conflict", "given-02", key_vault_url=vault.url, password_secret="given-01-admin",
              password_secret_version=given["version"]),
        reset("missing", "given-02", key_vault_url=vault.url, password_secret="no-such-secret"),
    ], verbosity=4, diff=True)
    gen, again = run.result("gen"), run.result("gen_again")
    assert gen["changed"] is True and gen["key_vault"]["state"] == "active", gen
    assert gen["key_vault"]["secret_name"] == vault.secret_of("gen-01") and gen["key_vault"]["vault_url"] == vault.url
    newest = vault.assert_consistent("gen-01")
    assert newest["version"] == gen["key_vault"]["version"] and vault.states("gen-01") == ["active"]
    assert again["changed"] is False and again["key_vault"]["version"] == gen["key_vault"]["version"]
    assert "not due" in again["why"]
    given_result = run.result("given")
    assert given_result["changed"] is True and given_result["key_vault"]["version"] == given["version"]
    (tagged,) = emu.control.key_vault_secret(vault.name, "given-01-admin")["versions"]
    assert tagged["tags"]["state"] == "active" and tagged["tags"]["owner"] == "ops"
    assert vault.works("given-01", "Given-Passw0rd!2026")
    conflict, missing = run.result("conflict"), run.result("missing")
    assert conflict["failed"] and conflict["reason"] == "secret_conflict", conflict
    assert missing["failed"] and missing["reason"] == "secret_not_found", missing
    assert arm_requests(emu, vm="given-02") == []   # refused before any ARM call
    assert vault.works("given-02", OLD_PASSWORD)
    assert "Traceback" not in run.everything
    for value in vault.values():
        assert value not in run.everything
