"""The playbooks run as AWX / Automation Controller runs them: through ansible-runner.

Every test writes a private data directory laid out as AWX lays it (tests/awx/awx_job.py), with
the Azure RM credential's injected environment, survey answers + awx_* variables as extra vars,
the inventory as AWX renders it and, for sliced jobs, each slice as its own job. It then checks
what AWX reads back (the job events, ``playbook_on_stats`` and its ``artifact_data`` = the
job's set_stats artifacts, rc/status, the artifacts directory) and what happened in the
emulated guests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from tests.awx.awx_job import AZURE_RM_CREDENTIAL_ENV, slice_hosts
from tests.integration.fleet_helpers import PASSWORD, RG, arm_writes, seed, windows_vm

pytestmark = [pytest.mark.emulator, pytest.mark.e2e, pytest.mark.timeout(420)]

COUNTERS = ("vm_access_changed", "vm_access_ok", "vm_access_skipped", "vm_access_failed")


def guest(emulator, sub, name):
    return emulator.control.vm(sub, RG, name)


def counts(changed=0, ok=0, skipped=0, failed=0):
    return dict(zip(COUNTERS, (changed, ok, skipped, failed)))


def reports(report_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(report_dir.glob("*.json"))]


def everything_awx_keeps(job, report_dir: Path | None = None) -> str:
    """All a job leaves behind that AWX stores or shows: events, stdout, every artifact file, reports."""
    parts = [json.dumps(job.events), job.stdout]
    parts += list(job.artifact_texts().values())
    if report_dir is not None and report_dir.exists():
        parts += [p.read_text(errors="replace") for p in sorted(report_dir.rglob("*")) if p.is_file()]
    return "\n".join(parts)


def assert_clean_job(job):
    text = json.dumps(job.events) + job.stdout
    assert "Traceback" not in text
    # The credential's client secret is in the job's environment, never in what the job shows.
    # (ansible-runner's own artifacts/<ident>/command file records the whole environment, the
    # injected credential included: AWX runs the job in a throw-away EE and deletes the private
    # data dir; see docs/awx.md.)
    assert job.private_data_dir.joinpath("env", "envvars").exists()
    secret = json.loads(job.private_data_dir.joinpath("env", "envvars").read_text())["AZURE_SECRET"]
    assert secret not in text


def test_rdp_job_template_reports_per_host_results_and_set_stats(job_template, fresh_emulator, tmp_path):
    """A survey-launched reset_rdp job on a mixed 6-VM inventory, read back the way AWX reads it;
    then "Relaunch on failed hosts" fixes the one VM that failed."""
    fixable = ["web-01", "web-02", "web-03", "web-04"]
    sub = seed(fresh_emulator, *[windows_vm(n, rdp="broken") for n in fixable],
               windows_vm("lnx-01", os="linux"),
               windows_vm("fw-01", rdp="broken", failure_mode="firewall_service_stopped"))
    jt = job_template("playbooks/reset_rdp.yml", {"windows": fixable + ["fw-01", "lnx-01"]})
    survey = {"target": "windows", "vm_access_run_tag": "CHG0042"}

    job = jt.launch(survey)

    # The private data dir is AWX's: env/envvars carries exactly the Azure RM credential's variables
    # (+ the emulator's CA bundle, which a real EE gets from its trust store, + the collection path).
    envvars = json.loads((job.private_data_dir / "env" / "envvars").read_text())
    assert set(envvars) == set(AZURE_RM_CREDENTIAL_ENV) | {"REQUESTS_CA_BUNDLE", "ANSIBLE_COLLECTIONS_PATH"}
    extravars = json.loads((job.private_data_dir / "env" / "extravars").read_text())
    assert extravars["awx_job_id"] == int(job.ident) and extravars["target"] == "windows"

    # rc/status: one host failed, so the job failed (AWX shows the job as Failed).
    assert job.status == "failed" and job.rc == 2, job.stdout
    assert (job.artifact_dir / "rc").read_text().strip() == "2"
    assert (job.artifact_dir / "status").read_text().strip() == "failed"
    assert_clean_job(job)

    # Per-host results, from the runner_on_* events of the per-host outcome task.
    assert job.host_outcomes() == dict({h: "changed" for h in fixable}, **{"fw-01": "failed", "lnx-01": "skipped"})
    fw = job.host_events()["fw-01"]
    # The reset failed in the guest after Azure accepted it: failed, and changed (the extension was written).
    assert fw["event"] == "runner_on_failed" and fw["event_data"]["res"]["changed"] is True
    assert "extension_failed" in fw["event_data"]["res"]["msg"] and "0x800706D9" in fw["event_data"]["res"]["msg"]
    for host in fixable:
        event = job.host_events()[host]
        assert event["event"] == "runner_on_ok" and event["event_data"]["res"]["changed"] is True

    # playbook_on_stats: AWX's job host summaries, and the set_stats data it saves as the job's artifacts.
    stats = job.stats_event
    assert sorted(stats["changed"]) == fixable
    assert sorted(stats["failures"]) == ["fw-01"] and stats["dark"] == {}
    assert stats["skipped"].get("lnx-01", 0) >= 1
    assert job.set_stats == counts(changed=4, skipped=1, failed=1)
    assert job.failed_hosts == ["fw-01"]
    # ansible-runner's own view of the same stats agrees.
    assert job.stats["failures"] == {"fw-01": 1}

    # The emulated guests: RDP is back on every fixable VM, nothing changed on the others.
    for host in fixable:
        state = guest(fresh_emulator, sub, host)
        assert state["guest"]["rdp_enabled"] is True and state["guest"]["firewall_rule_enabled"] is True
    assert guest(fresh_emulator, sub, "lnx-01")["run_count"] == 0

    # The report of the run: one record per VM, outcome and reason, tagged with the survey's run tag.
    (report,) = reports(tmp_path / "reports")
    assert report["run_tag"] == "CHG0042"
    by_host = {r["host"]: r for r in report["vms"]}
    assert by_host["lnx-01"]["reason"] == "not_windows" and by_host["fw-01"]["reason"] == "extension_failed"

    # "Relaunch on failed hosts": AWX relaunches with the original extra vars (survey answers
    # included) and --limit set to the hosts that failed. The operator fixed the firewall service.
    fresh_emulator.control.patch_vm(sub, RG, "fw-01", firewall_service_running=True)
    mark = fresh_emulator.control.requests()[-1]["seq"]
    relaunch = jt.launch(survey, limit=",".join(job.failed_hosts), launch_type="relaunch")
    assert relaunch.status == "successful" and relaunch.rc == 0, relaunch.stdout
    assert relaunch.host_outcomes() == {"fw-01": "changed"}
    assert relaunch.set_stats == counts(changed=1)
    writes = arm_writes(fresh_emulator, since=mark)
    assert writes and all("/virtualMachines/fw-01/" in w["path"] for w in writes), writes
    assert guest(fresh_emulator, sub, "fw-01")["guest"]["rdp_enabled"] is True


def test_password_survey_answer_resets_passwords_and_never_shows(job_template, fresh_emulator, tmp_path):
    """A password-type survey answer reaches every VM and nowhere else: not in any job event, the
    stdout, any artifact file or the reports, even at verbosity 3 (Debug)."""
    hosts = ["app-01", "app-02", "app-03"]
    sub = seed(fresh_emulator, *[windows_vm(n) for n in hosts])
    jt = job_template("playbooks/reset_password.yml", {"windows": hosts})
    survey = {"target": "windows", "vm_access_run_tag": "CHG0043", "vm_access_password": PASSWORD}

    job = jt.launch(survey, verbosity=3)

    assert job.status == "successful" and job.rc == 0, job.stdout
    assert_clean_job(job)
    assert job.host_outcomes() == {h: "changed" for h in hosts}
    assert job.set_stats == counts(changed=3)
    for host in hosts:
        assert fresh_emulator.control.verify_password(sub, RG, host, "azureadmin", PASSWORD), host
    assert reports(tmp_path / "reports")[0]["run_tag"] == "CHG0043"

    text = everything_awx_keeps(job, tmp_path / "reports")
    assert PASSWORD not in text
    # The task that carries the password shows as censored, as AWX's job output would show it.
    reset = [e for e in job.events_of("runner_on_ok")
             if e["event_data"].get("task_action") == "azure_ops.vm_access.vm_access_fleet"]
    assert reset and all(e["event_data"]["res"].get("censored") for e in reset)


def test_sliced_job_runs_each_slice_as_its_own_job(job_template, fresh_emulator, tmp_path):
    """Job slicing (2 slices over a 6-host inventory): two jobs at once, each with its own job id
    (and so its own default run tag), its own events, set_stats counts and report pair."""
    hosts = ["web-%02d" % i for i in range(1, 7)]
    sub = seed(fresh_emulator, *[windows_vm(n, rdp="broken") for n in hosts])
    # An inventory made for Windows hosts: WinRM connection vars and addresses nothing can reach.
    # The playbook never connects to a VM (every API task runs on the controller).
    winrm = {h: {"ansible_connection": "winrm", "ansible_host": "192.0.2.%d" % i, "ansible_port": 5986}
             for i, h in enumerate(hosts, 1)}
    jt = job_template("playbooks/reset_rdp.yml", {"windows": hosts}, hostvars=winrm)

    workflow_job_id, jobs = jt.launch_sliced({"target": "windows"}, slice_count=2)

    assert [job.limit for job in jobs] == [",".join(slice_hosts(hosts, n, 2)) for n in (1, 2)]
    seen = []
    for job in jobs:
        slice_members = job.limit.split(",")
        assert job.status == "successful" and job.rc == 0, job.stdout
        assert_clean_job(job)
        extravars = json.loads((job.private_data_dir / "env" / "extravars").read_text())
        assert extravars["awx_workflow_job_id"] == workflow_job_id and extravars["awx_job_id"] == int(job.ident)
        # Only the slice's hosts appear in this job: per-host events, stats and set_stats.
        assert job.host_outcomes() == {h: "changed" for h in slice_members}
        assert sorted(job.stats_event["changed"]) == slice_members
        assert {e["event_data"]["host"] for e in job.events_of(*("runner_on_ok", "runner_on_skipped"))} \
            <= set(slice_members)
        assert job.set_stats == counts(changed=len(slice_members))
        seen += slice_members
    assert sorted(seen) == hosts   # every host in exactly one slice

    # Each slice wrote its own report pair, tagged with its own job id (the default run tag).
    # (str(): the report keeps awx_job_id's type, an int, when the run tag defaults to it.)
    by_tag = {str(r["run_tag"]): sorted(v["host"] for v in r["vms"]) for r in reports(tmp_path / "reports")}
    assert by_tag == {job.ident: job.limit.split(",") for job in jobs}
    for host in hosts:
        assert guest(fresh_emulator, sub, host)["guest"]["rdp_enabled"] is True


def test_generated_passwords_with_an_awx_vault_credential(job_template, fresh_emulator, tmp_path):
    """Per-VM generated passwords in an AWX job: the vault secret comes from a Vault credential
    (AWX adds ``--vault-id <id>@prompt`` and answers the prompt from env/passwords); the passwords
    land only in the encrypted file, and each one verifies in its guest."""
    hosts = ["db-01", "db-02"]
    sub = seed(fresh_emulator, *[windows_vm(n) for n in hosts])
    vault_file = tmp_path / "vault" / "passwords.vault"
    vault_file.parent.mkdir()
    vault_secret = "awx-vault-credential-S3cret"
    jt = job_template("playbooks/reset_password.yml", {"windows": hosts},
                      extra_vars={"vm_access_generate_passwords": True,
                                  "vm_access_password_vault_file": str(vault_file)})

    job = jt.launch({"target": "windows", "vm_access_run_tag": "CHG0044"},
                    cmdline="--vault-id rotation@prompt",
                    passwords={r"Vault password \(rotation\):\s*?$": vault_secret})

    assert job.status == "successful" and job.rc == 0, job.stdout
    assert_clean_job(job)
    assert job.host_outcomes() == {h: "changed" for h in hosts}
    assert job.set_stats == counts(changed=2)
    vault = VaultLib([("rotation", VaultSecret(vault_secret.encode()))])
    records = json.loads(vault.decrypt(vault_file.read_bytes()))
    assert sorted(records) == hosts
    text = everything_awx_keeps(job, tmp_path / "reports")
    assert vault_secret not in text
    for host in hosts:
        password = records[host]["password"]
        assert fresh_emulator.control.verify_password(sub, RG, host, records[host]["username"], password), host
        assert password not in text


def test_status_job_writes_no_change_and_reports_into_the_project_directory(job_template, fresh_emulator, tmp_path):
    """vm_access_status.yml as a job template: every host ok, no writes, counts in set_stats. Without
    vm_access_report_dir the reports land in ./vm_access_reports of the directory ansible-playbook runs in,
    which in an AWX job is the project directory (not the launcher's home)."""
    sub = seed(fresh_emulator, windows_vm("web-01", rdp="broken"), windows_vm("web-02"),
               windows_vm("off-01", power_state="deallocated"))
    jt = job_template("playbooks/vm_access_status.yml", {"windows": ["web-01", "web-02", "off-01"]},
                      extra_vars={"vm_access_report_dir": None})
    mark = fresh_emulator.control.requests()[-1]["seq"] if fresh_emulator.control.requests() else 0

    job = jt.launch({"target": "windows"})

    assert job.status == "successful" and job.rc == 0, job.stdout
    assert_clean_job(job)
    assert arm_writes(fresh_emulator, since=mark) == []
    # Status reads only: every VM is "ok" with what ARM shows of it (power, agent), even a deallocated one.
    assert job.host_outcomes() == {"web-01": "ok", "web-02": "ok", "off-01": "ok"}
    assert job.set_stats == counts(ok=3)
    assert guest(fresh_emulator, sub, "web-01")["guest"]["rdp_enabled"] is False
    project_reports = sorted((job.private_data_dir / "project" / "vm_access_reports").glob("*.json"))
    launcher_reports = sorted((job.private_data_dir / "home" / "vm_access_reports").glob("*.json"))
    assert project_reports and not launcher_reports, (project_reports, launcher_reports)
