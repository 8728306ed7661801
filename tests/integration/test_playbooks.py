"""The fleet playbooks, run as users run them (ansible-playbook + inventory) against a seeded fleet."""

import re

import pytest

from .fleet_helpers import OLD_PASSWORD, PASSWORD, RG, arm_writes, seed, windows_vm

pytestmark = [pytest.mark.emulator, pytest.mark.e2e]


def recap(run):
    """Per host: ok / changed / failed / skipped counts from the PLAY RECAP."""
    found = {}
    for host, ok, changed, unreachable, failed, skipped in re.findall(
            r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", run.stdout, re.M):
        found[host] = dict(ok=int(ok), changed=int(changed), failed=int(failed), skipped=int(skipped))
    assert found, run.stdout + run.stderr
    return found


def mixed_fleet(emulator):
    vms = [windows_vm("web-%02d" % i, rdp="broken") for i in range(1, 7)]
    vms += [windows_vm("lnx-01", os="linux"), windows_vm("off-01", power_state="deallocated", rdp="broken"),
            windows_vm("noagent-01", agent="not_ready", rdp="broken"),
            windows_vm("fw-01", rdp="broken", failure_mode="firewall_service_stopped")]
    sub = seed(emulator, *vms)
    hosts = {vm["name"]: {"resource_group": RG, "vm_name": vm["name"]} for vm in vms}
    return sub, hosts


def test_reset_rdp_predicts_fixes_explains_and_is_idempotent(fresh_emulator, run_playbook):
    """Check mode predicts; the run fixes every fixable VM and explains the rest; the same run tag again
    writes nothing."""
    sub, hosts = mixed_fleet(fresh_emulator)
    hosts["ghost"] = {}
    # Check mode first: predicted, nothing written.
    check = run_playbook("playbooks/reset_rdp.yml", hosts, args=["--check"],
                         extra_vars={"vm_access_run_tag": "CHG-1", "vm_access_agent_wait_timeout": 1})
    assert arm_writes(fresh_emulator) == []
    assert fresh_emulator.control.vm(sub, RG, "web-01")["guest"]["rdp_enabled"] is False
    assert recap(check)["web-01"]["changed"] == 1 and check.results["reports"][0]["check_mode"] is True

    run = run_playbook("playbooks/reset_rdp.yml", hosts,
                       extra_vars={"vm_access_run_tag": "CHG-1", "vm_access_agent_wait_timeout": 1})
    assert run.returncode != 0  # two hosts fail, as they should
    for name in ("web-%02d" % i for i in range(1, 7)):
        guest = fresh_emulator.control.vm(sub, RG, name)["guest"]
        assert guest["rdp_enabled"] and guest["firewall_rule_enabled"], name
    assert fresh_emulator.control.vm(sub, RG, "off-01")["guest"]["rdp_enabled"] is False

    per_host = recap(run)
    assert all(per_host["web-%02d" % i]["changed"] == 1 and per_host["web-%02d" % i]["failed"] == 0
               for i in range(1, 7))
    for skipped in ("lnx-01", "off-01", "noagent-01"):
        assert per_host[skipped]["failed"] == 0 and per_host[skipped]["skipped"] >= 1
    assert per_host["fw-01"]["failed"] == 1 and per_host["ghost"]["failed"] == 1

    report = run.results["reports"][0]
    outcome = {vm["host"]: (vm["outcome"], vm["reason"]) for vm in report["vms"]}
    assert outcome["lnx-01"] == ("skipped", "not_windows")
    assert outcome["off-01"] == ("skipped", "vm_not_running")
    assert outcome["noagent-01"] == ("skipped", "agent_not_ready")
    assert outcome["fw-01"] == ("failed", "extension_failed")
    assert outcome["ghost"] == ("failed", "vm_unresolved")
    assert report["summary"]["by_outcome"] == {"changed": 6, "ok": 0, "skipped": 3, "failed": 2}
    assert "| web-01 | changed |" in run.results["markdown"][0]
    assert "changed=6" in run.stdout and "vm_not_running=1" in run.stdout  # the play summary
    # Progress while the batch runs, and every skipped or failed host says why in its own output.
    assert re.search(r"vm_access_fleet: 11/11 done \(changed 6, skipped 3, failed 2\)", run.stdout), run.stdout
    for host, reason in (("lnx-01", "not_windows"), ("off-01", "vm_not_running"), ("noagent-01", "agent_not_ready")):
        assert re.search(r"skipping: \[%s\] => \{[^}]*%s" % (host, reason), run.stdout, re.S), host
    assert re.search(r"fatal: \[fw-01\]: FAILED! => \{[^}]*extension_failed", run.stdout, re.S)

    # Every VM got at most one write.
    writes = list(arm_writes(fresh_emulator))
    per_vm = {}
    for w in writes:
        per_vm[w["vm"]] = per_vm.get(w["vm"], 0) + 1
    assert max(per_vm.values()) == 1 and "off-01" not in per_vm and "lnx-01" not in per_vm

    # Same run tag again: nothing to do, no writes; the failed VM is retried.
    mark = fresh_emulator.control.requests()[-1]["seq"]
    again = run_playbook("playbooks/reset_rdp.yml", {k: v for k, v in hosts.items() if k.startswith("web")},
                         extra_vars={"vm_access_run_tag": "CHG-1"})
    assert again.returncode == 0
    assert all(v["changed"] == 0 for v in recap(again).values())
    assert arm_writes(fresh_emulator, since=mark) == []


def test_limit_and_max_fail_percentage(fresh_emulator, run_playbook):
    sub, hosts = mixed_fleet(fresh_emulator)
    limited = run_playbook("playbooks/reset_rdp.yml", hosts, args=["--limit", "web-01,web-02"],
                           extra_vars={"vm_access_run_tag": "CHG-3"})
    assert limited.returncode == 0 and set(recap(limited)) == {"web-01", "web-02"}
    assert {w["vm"] for w in arm_writes(fresh_emulator)} == {"web-01", "web-02"}
    assert fresh_emulator.control.vm(sub, RG, "web-03")["guest"]["rdp_enabled"] is False

    # Batches of 2 in inventory order (fw-01, web-03 | web-04, web-05): the first batch fails 50% > 10%,
    # so the play stops before the second batch.
    ordered = {name: hosts[name] for name in ["fw-01", "web-03", "web-04", "web-05"]}
    stopped = run_playbook("playbooks/reset_rdp.yml", ordered,
                           extra_vars={"vm_access_run_tag": "CHG-4", "vm_access_serial": 2,
                                       "vm_access_max_fail_percentage": 10})
    assert stopped.returncode != 0
    assert fresh_emulator.control.vm(sub, RG, "web-03")["guest"]["rdp_enabled"] is True
    for never_reached in ("web-04", "web-05"):
        assert fresh_emulator.control.vm(sub, RG, never_reached)["guest"]["rdp_enabled"] is False
        assert never_reached not in {w["vm"] for w in arm_writes(fresh_emulator)}
    assert set(recap(stopped)) == {"fw-01", "web-03"}


def test_one_password_for_all_from_a_survey_style_variable(fresh_emulator, run_playbook):
    vms = [windows_vm("web-%02d" % i) for i in range(1, 4)]
    sub = seed(fresh_emulator, *vms)
    hosts = {vm["name"]: {"resource_group": RG, "vm_name": vm["name"]} for vm in vms}
    run = run_playbook("playbooks/reset_password.yml", hosts, args=["-vvv"],
                       extra_vars={"vm_access_password": PASSWORD})
    assert run.returncode == 0, run.stdout
    for vm in vms:
        assert fresh_emulator.control.verify_password(sub, RG, vm["name"], "azureadmin", PASSWORD)
    assert PASSWORD not in run.everything and PASSWORD not in str(run.results)


def test_generated_passwords_live_only_in_the_vault_file(fresh_emulator, run_playbook, tmp_path):
    from ansible.parsing.vault import VaultLib, VaultSecret
    import json

    vms = [windows_vm("web-%02d" % i) for i in range(1, 4)] + [windows_vm("off-01", power_state="deallocated")]
    sub = seed(fresh_emulator, *vms)
    hosts = {vm["name"]: {"resource_group": RG, "vm_name": vm["name"]} for vm in vms}
    # Without a vault secret nothing is set: the passwords would have nowhere to go.
    refused = run_playbook("playbooks/reset_password.yml", hosts, extra_vars={"vm_access_generate_passwords": True})
    assert refused.returncode != 0 and "vault_unavailable" in refused.stdout
    assert arm_writes(fresh_emulator) == []
    vault_pass = tmp_path / "vault-pass.txt"
    vault_pass.write_text("correct horse battery staple\n")
    vault_file = tmp_path / "passwords.vault"
    run = run_playbook("playbooks/reset_password.yml", hosts,
                       args=["--vault-password-file", str(vault_pass), "-vvvv"],
                       extra_vars={"vm_access_generate_passwords": True,
                                   "vm_access_password_vault_file": str(vault_file)})
    assert run.returncode == 0, run.stdout
    raw = vault_file.read_bytes()
    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    assert oct(vault_file.stat().st_mode & 0o777) == "0o600"
    secret = VaultSecret(b"correct horse battery staple")
    document = json.loads(VaultLib([("default", secret)]).decrypt(raw))
    assert set(document) == {"web-01", "web-02", "web-03"}  # off-01 was skipped: no password for it
    for host, record in document.items():
        assert record["status"] == "changed" and record["username"] == "azureadmin"
        assert fresh_emulator.control.verify_password(sub, RG, host, "azureadmin", record["password"])
        assert not fresh_emulator.control.verify_password(sub, RG, host, "azureadmin", OLD_PASSWORD)
        assert record["password"] not in run.everything
        assert record["password"] not in json.dumps(run.results)
    assert len({r["password"] for r in document.values()}) == 3


def test_status_playbook_and_azure_rm_style_hostvars_by_fqcn(fresh_emulator, run_playbook):
    sub = seed(fresh_emulator, windows_vm("web-01"), windows_vm("lnx-01", os="linux"))
    vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-01" % (sub, RG)
    hosts = {"web-01_abcd": {"id": vm_id, "resource_group": RG, "name": "web-01",
                             "os_disk": {"operating_system_type": "windows"}, "powerstate": "running"},
             "lnx": {"resource_group": RG, "name": "lnx-01"},
             "gone": {"resource_group": RG, "vm_name": "deleted-vm"}}
    run = run_playbook("azure_ops.vm_access.vm_access_status", hosts)
    assert run.returncode != 0, run.stdout  # the VM that could not be read fails, with its reason
    report = {vm["host"]: vm for vm in run.results["reports"][0]["vms"]}
    assert report["web-01_abcd"]["power_state"] == "running" and report["lnx"]["os_type"] == "Linux"
    assert (report["gone"]["outcome"], report["gone"]["reason"]) == ("failed", "vm_not_found")
    assert recap(run)["gone"]["failed"] == 1 and recap(run)["lnx"]["failed"] == 0
    assert arm_writes(fresh_emulator) == []
