"""Run the collection's playbooks the way AWX / Automation Controller runs a job template.

AWX hands every job to ``ansible-runner`` with a *private data directory* it writes itself:

    <private_data_dir>/
      project/            the checked-out project (here: a copy of this checkout's playbooks/)
      inventory/hosts     the job's inventory, an executable script printing AWX's JSON
                          (groups, ``_meta.hostvars`` incl. remote_tower_enabled/remote_tower_id)
      env/envvars         environment: what the credentials inject (the Azure RM credential's
                          AZURE_SUBSCRIPTION_ID / AZURE_CLIENT_ID / AZURE_SECRET / AZURE_TENANT /
                          AZURE_CLOUD_ENVIRONMENT) plus where the EE keeps its collections
      env/extravars       the job's extra vars: job template extra vars + survey answers
                          (password-type answers in clear: AWX decrypts them for the run) +
                          the awx_* / tower_* variables AWX adds to every job
      env/passwords       prompt -> answer pairs for credentials that prompt (vault passwords)
      env/cmdline         extra ansible-playbook arguments (e.g. ``--vault-id x@prompt``)
      env/settings        runner settings (job_timeout, idle_timeout, ...)
      artifacts/<ident>/  what runner writes back: job_events/, stdout, rc, status, command,
                          fact_cache/ - AWX streams the same events into its database.

This helper writes such a directory, runs ``ansible_runner.run`` against the emulator and
returns the events in the shape AWX stores them.

Two things differ from a real AWX job, on purpose:
- REQUESTS_CA_BUNDLE points at the emulator's test CA. In AWX it is not injected by the Azure
  credential: real ARM endpoints are trusted through the execution environment's trust store.
- The process environment of the job is rebuilt from scratch (PATH with this venv first, a
  private HOME, the locale), like the clean environment of an EE container, so nothing from the
  developer's shell (ANSIBLE_*, AZURE_*, a cached az login) leaks into the job.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import ansible_runner

REPO_ROOT = Path(__file__).resolve().parents[2]
# What an EE has under /usr/share/ansible/collections: the collection, installed. Here the
# checkout's symlink tree (tests/collection_link.py) is that installed copy.
COLLECTIONS_DIR = REPO_ROOT / "collections"
VENV_BIN = Path(sys.executable).parent

# Exactly the variables AWX's "Microsoft Azure Resource Manager" credential injects for a
# service principal (client + tenant given): awx/main/models/credential/injectors.py azure_rm.
AZURE_RM_CREDENTIAL_ENV = ("AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT",
                           "AZURE_CLOUD_ENVIRONMENT")
JOB_TIMEOUT_S = 180          # env/settings job_timeout: runner kills the job past this (status "timeout")
OUTCOME_TASK = "Outcome of this VM"
HOST_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")

_job_ids = itertools.count(4100)


def next_job_id() -> int:
    return next(_job_ids)


def awx_job_vars(job_id: int, template_name: str, *, workflow_job_id: int | None = None,
                 launch_type: str = "manual") -> dict:
    """The variables AWX adds to every job's extra vars (both spellings, awx_* and tower_*)."""
    names = {
        "job_id": job_id,
        "job_launch_type": launch_type,
        "job_template_id": 17,
        "job_template_name": template_name,
        "host": "https://awx.example.com",
        "execution_node": "awx-ee-worker-0",
        "project_revision": "0123456789abcdef0123456789abcdef01234567",
        "project_scm_branch": "main",
        "inventory_id": 5,
        "inventory_name": "Azure Windows VMs",
        "user_id": 3,
        "user_name": "oncall",
        "user_email": "oncall@example.com",
        "user_first_name": "On",
        "user_last_name": "Call",
    }
    if workflow_job_id is not None:   # every slice of a sliced job runs as a node of a workflow job
        names.update(workflow_job_id=workflow_job_id, workflow_job_name=template_name,
                     workflow_job_launch_type=launch_type)
    out = {}
    for key, value in names.items():
        out["awx_" + key] = value
        out["tower_" + key] = value
    return out


def awx_inventory(groups: dict[str, dict[str, dict]]) -> dict:
    """AWX's inventory JSON (get_script_data(hostvars=True, towervars=True)) from {group: {host: vars}}."""
    data: dict = {"all": {"children": sorted(groups), "vars": {}}, "_meta": {"hostvars": {}}}
    host_ids = itertools.count(101)
    for group, hosts in groups.items():
        data[group] = {"hosts": sorted(hosts), "vars": {}}
        for host, hostvars in hosts.items():
            meta = data["_meta"]["hostvars"].setdefault(host, {"remote_tower_enabled": "true",
                                                               "remote_tower_id": next(host_ids)})
            meta.update(hostvars)
    return data


def slice_hosts(hosts: list[str], slice_number: int, slice_count: int) -> list[str]:
    """AWX's job slicing: slice N of M gets every M-th host, starting at the (N-1)-th."""
    return list(hosts)[slice_number - 1::slice_count]


@dataclass
class AwxJob:
    """One finished runner job, read the way AWX reads it."""

    private_data_dir: Path
    ident: str
    status: str
    rc: int
    events: list = field(default_factory=list)
    stats: dict | None = None
    limit: str | None = None

    @property
    def artifact_dir(self) -> Path:
        return self.private_data_dir / "artifacts" / self.ident

    @property
    def stdout(self) -> str:
        return (self.artifact_dir / "stdout").read_text()

    def events_of(self, *names: str) -> list[dict]:
        return [e for e in self.events if e.get("event") in names]

    def host_events(self, task: str = OUTCOME_TASK) -> dict[str, dict]:
        """{host: event} of the per-host result events of one task (AWX's job host summaries)."""
        out = {}
        for event in self.events_of(*HOST_EVENTS):
            data = event["event_data"]
            if data.get("task") == task:
                assert data["host"] not in out, "two results for %s in %s" % (data["host"], task)
                out[data["host"]] = event
        return out

    def host_outcomes(self, task: str = OUTCOME_TASK) -> dict[str, str]:
        """{host: changed|ok|failed|skipped|unreachable} as the AWX job's host events show it."""
        out = {}
        for host, event in self.host_events(task).items():
            kind = event["event"][len("runner_on_"):]
            res = event["event_data"].get("res") or {}
            out[host] = "changed" if kind == "ok" and res.get("changed") else kind
        return out

    @property
    def stats_event(self) -> dict:
        found = self.events_of("playbook_on_stats")
        assert len(found) == 1, "expected one playbook_on_stats event, got %d" % len(found)
        return found[0]["event_data"]

    @property
    def set_stats(self) -> dict:
        """What AWX saves as the job's ``artifacts`` (the set_stats data of the whole run)."""
        return self.stats_event.get("artifact_data") or {}

    @property
    def failed_hosts(self) -> list[str]:
        """The hosts AWX's "Relaunch on failed hosts" targets: failures or unreachable in the stats."""
        stats = self.stats_event
        return sorted(set(stats.get("failures") or {}) | set(stats.get("dark") or {}))

    def artifact_texts(self) -> dict[str, str]:
        """Every file under artifacts/ (all jobs of this private data dir), as text."""
        out = {}
        for path in sorted((self.private_data_dir / "artifacts").rglob("*")):
            if path.is_file():
                out[str(path.relative_to(self.private_data_dir))] = path.read_text(errors="replace")
        return out


class JobTemplate:
    """A job template: a project, an inventory, one Azure RM credential, extra vars, a survey."""

    def __init__(self, base_dir: Path, *, playbook: str, inventory: dict[str, dict[str, dict]],
                 credential_env: dict[str, str], ca_bundle: str, extra_vars: dict | None = None,
                 name: str = "VMAccess reset", extra_env: dict[str, str] | None = None):
        self.base_dir = Path(base_dir)
        self.playbook = playbook
        self.inventory = inventory
        self.credential_env = {k: credential_env[k] for k in AZURE_RM_CREDENTIAL_ENV}
        self.ca_bundle = ca_bundle
        self.extra_vars = dict(extra_vars or {})
        self.name = name
        # Test-only environment beside the credential's (the emulator's proxy to its Key Vault hosts).
        self.extra_env = dict(extra_env or {})
        self.jobs: list[AwxJob] = []

    @property
    def hosts(self) -> list[str]:
        return sorted({h for hosts in self.inventory.values() for h in hosts})

    def prepare(self, survey: dict | None = None, *, job_id: int | None = None, workflow_job_id: int | None = None,
                launch_type: str = "manual", passwords: dict | None = None, cmdline: str | None = None):
        """Write the private data dir AWX would write for one job of this template; returns (pdd, ident)."""
        job_id = job_id if job_id is not None else next_job_id()
        pdd = self.base_dir / ("job-%d" % job_id)
        extra_vars = dict(self.extra_vars)
        extra_vars.update(survey or {})
        extra_vars.update(awx_job_vars(job_id, self.name, workflow_job_id=workflow_job_id, launch_type=launch_type))
        write_private_data_dir(pdd, inventory=awx_inventory(self.inventory),
                               envvars=dict(self.credential_env, REQUESTS_CA_BUNDLE=self.ca_bundle, **self.extra_env),
                               extravars=extra_vars, passwords=passwords, cmdline=cmdline)
        return pdd, str(job_id)

    def launch(self, survey: dict | None = None, *, limit: str | None = None, verbosity: int = 0,
               **prepare_args) -> AwxJob:
        """One job: a fresh private data dir, run to the end by ansible-runner."""
        pdd, ident = self.prepare(survey, **prepare_args)
        job = run_job(pdd, self.playbook, ident=ident, limit=limit, verbosity=verbosity)
        self.jobs.append(job)
        return job

    def launch_sliced(self, survey: dict | None = None, *, slice_count: int, launch_type: str = "manual"):
        """A sliced job: a workflow job whose N slice jobs run at the same time, each on its slice of
        the inventory (passed here as the job's --limit) with its own job id and artifacts."""
        workflow_job_id = next_job_id()
        started = []
        for number in range(1, slice_count + 1):
            pdd, ident = self.prepare(survey, workflow_job_id=workflow_job_id, launch_type=launch_type)
            limit = ",".join(slice_hosts(self.hosts, number, slice_count))
            started.append((pdd, ident, limit) + tuple(start_job(pdd, self.playbook, ident=ident, limit=limit)))
        jobs = []
        for pdd, ident, limit, thread, runner in started:
            job = finish_job(pdd, ident, thread, runner)
            job.limit = limit
            jobs.append(job)
        self.jobs.extend(jobs)
        return workflow_job_id, jobs


def write_private_data_dir(pdd: Path, *, inventory: dict, envvars: dict, extravars: dict,
                           passwords: dict | None = None, cmdline: str | None = None,
                           job_timeout: int = JOB_TIMEOUT_S) -> Path:
    pdd.mkdir(parents=True)
    # project/: AWX checks the project out; the job runs with project/ as its working directory.
    shutil.copytree(REPO_ROOT / "playbooks", pdd / "project" / "playbooks")
    (pdd / "inventory").mkdir()
    hosts = pdd / "inventory" / "hosts"
    # AWX writes the inventory as a script that prints its JSON (the EE's python3 runs it).
    hosts.write_text("#!%s\n# -*- coding: utf-8 -*-\nprint(%r)\n" % (sys.executable, json.dumps(inventory)))
    hosts.chmod(0o700)
    env = pdd / "env"
    env.mkdir()
    envvars = dict(envvars)
    # The EE has the collection installed; AWX adds the project's own collections dir in front.
    envvars["ANSIBLE_COLLECTIONS_PATH"] = "%s:%s" % (pdd / "project" / "collections", COLLECTIONS_DIR)
    _write_private(env / "envvars", envvars)
    _write_private(env / "extravars", extravars)
    if passwords:
        _write_private(env / "passwords", passwords)
    if cmdline:
        (env / "cmdline").write_text(cmdline)
    _write_private(env / "settings", {"job_timeout": job_timeout, "idle_timeout": job_timeout})
    return pdd


def _write_private(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)


def job_process_env(home: Path) -> dict[str, str]:
    """The job's base process environment: as clean as an EE container's."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": "%s:/usr/local/bin:/usr/bin:/bin" % VENV_BIN,
        "HOME": str(home),
        "PWD": str(home),           # the launcher's directory (in an EE: /runner)
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }


def start_job(pdd: Path, playbook: str, *, ident: str, limit: str | None = None, verbosity: int = 0):
    """Start ansible-runner over a prepared private data dir, with a clean process environment.

    Returns (thread, runner): the runner's config (and so the job's environment) is built before
    this returns, so several jobs can run at once, like the slices of a sliced job."""
    kwargs = {"private_data_dir": str(pdd), "playbook": playbook, "ident": ident, "quiet": True}
    if limit:
        kwargs["limit"] = limit
    if verbosity:
        kwargs["verbosity"] = verbosity
    with mock.patch.dict(os.environ, job_process_env(pdd / "home"), clear=True):
        return ansible_runner.run_async(**kwargs)


def finish_job(pdd: Path, ident: str, thread, runner, timeout: float = JOB_TIMEOUT_S + 30) -> AwxJob:
    thread.join(timeout)
    assert not thread.is_alive(), "runner job %s still running after %ss" % (ident, timeout)
    return AwxJob(private_data_dir=pdd, ident=ident, status=runner.status, rc=runner.rc,
                  events=list(runner.events), stats=runner.stats)


def run_job(pdd: Path, playbook: str, *, ident: str, limit: str | None = None, verbosity: int = 0) -> AwxJob:
    thread, runner = start_job(pdd, playbook, ident=ident, limit=limit, verbosity=verbosity)
    job = finish_job(pdd, ident, thread, runner)
    job.limit = limit
    return job
