"""A scheduled password rotation job template (playbooks/rotate_passwords.yml), run as AWX runs it: through
ansible-runner, with the Azure RM credential's environment, at verbosity 4 (-vvvv).

Every password the vault holds - the ones the job generated and the old ones - and the credential's client
secret are searched for in everything the job leaves: every job event, stdout, every file under artifacts/
and the reports. The next day's launch (nothing is due) makes no write at all."""

from __future__ import annotations

import json

import pytest

from tests.integration.fleet_helpers import seed, windows_vm
from tests.integration.kv_helpers import VaultView, arm_requests, last_seq

from .test_awx_jobs import assert_clean_job, counts, everything_awx_keeps, reports

pytestmark = [pytest.mark.emulator, pytest.mark.e2e, pytest.mark.timeout(420)]


def test_scheduled_rotation_job_never_shows_a_password_even_at_verbosity_4(job_template, fresh_emulator, tmp_path):
    hosts = ["app-01", "app-02", "app-03"]
    sub = seed(fresh_emulator, *[windows_vm(n) for n in hosts])
    vault = VaultView(fresh_emulator, sub)
    vault.seed_active("app-01", days_old=40)
    vault.seed_active("app-02", days_old=2)     # not due
    # The emulator's vaults are reached through its CONNECT proxy; a real EE reaches *.vault.azure.net directly.
    proxy = {"HTTPS_PROXY": fresh_emulator.info["https_proxy"], "NO_PROXY": "127.0.0.1,localhost"}
    jt = job_template("playbooks/rotate_passwords.yml", {"windows": hosts}, extra_env=proxy,
                      extra_vars={"vm_access_key_vault_url": vault.url, "vm_access_rotation_max_age_days": 30})

    job = jt.launch({"target": "windows"}, verbosity=4, launch_type="scheduled")

    assert job.status == "successful" and job.rc == 0, job.stdout[-3000:]
    assert_clean_job(job)
    assert job.host_outcomes() == {"app-01": "changed", "app-02": "ok", "app-03": "changed"}
    assert job.set_stats == counts(changed=2, ok=1)
    for host in hosts:
        vault.assert_consistent(host)
    assert vault.states("app-01") == ["active", "active"] and vault.states("app-02") == ["active"]
    (report,) = reports(tmp_path / "reports")
    assert str(report["run_tag"]) == job.ident   # the default run tag: the AWX job id
    assert {vm["host"]: vm["key_vault"]["state"] for vm in report["vms"]} == dict.fromkeys(hosts, "active")
    rotation = [e for e in job.events_of("runner_on_ok")
                if e["event_data"].get("task_action") == "azure_ops.vm_access.vm_access_fleet"]
    assert rotation and all(e["event_data"]["res"].get("censored") for e in rotation)
    text = everything_awx_keeps(job, tmp_path / "reports")
    values = vault.values()
    assert len(values) == 4   # two seeded, two generated
    for value in values:
        assert value not in text
    # The client secret: nowhere either, but in runner's artifacts/<ident>/command, which records the job's whole
    # environment (AWX deletes it with the job's private data dir; see docs/awx.md).
    secret = json.loads(job.private_data_dir.joinpath("env", "envvars").read_text())["AZURE_SECRET"]
    kept = dict((path, body) for path, body in job.artifact_texts().items() if not path.endswith("/command"))
    assert secret not in json.dumps(job.events) + job.stdout + "".join(kept.values())

    # The next day's scheduled launch: nothing is due, nothing is written (neither Key Vault nor ARM).
    mark = last_seq(fresh_emulator)
    nothing = jt.launch({"target": "windows"}, launch_type="scheduled")
    assert nothing.status == "successful" and nothing.host_outcomes() == dict.fromkeys(hosts, "ok")
    assert nothing.set_stats == counts(ok=3)
    assert arm_requests(fresh_emulator, since=mark) == [] and vault.writes(since=mark) == []
