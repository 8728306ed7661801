"""Run the collection the way users do: ``ansible-playbook`` subprocesses against the emulator.

Each call writes a one-play playbook, runs it with the emulator's environment (as AWX injects
an Azure credential: AZURE_SUBSCRIPTION_ID / AZURE_CLIENT_ID / AZURE_SECRET / AZURE_TENANT /
AZURE_CLOUD_ENVIRONMENT), and returns the registered result of every task plus everything
Ansible printed or logged, so tests can assert on results, on the emulated guest, and on
secrets never appearing anywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

PLAYBOOK_TIMEOUT_S = 240


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str
    log: str
    results: dict = field(default_factory=dict)

    def result(self, name="r"):
        return self.results[name]

    @property
    def everything(self):
        """All text the run produced: what a secret scan must search."""
        return "\n".join([self.stdout, self.stderr, self.log, json.dumps(self.results)])


def ansible_env(emulator_env, tmp_path, extra=None):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("AZURE_") or key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            del env[key]
    env.update(emulator_env)
    env.update({
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOG_PATH": str(tmp_path / "ansible.log"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "HOME": str(tmp_path / "home"),
    })
    (tmp_path / "home").mkdir(exist_ok=True)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _with_result_savers(tasks, results_dir):
    """After every task that registers a result (also inside blocks), save it as JSON."""
    out = []
    for task in tasks:
        task = dict(task)
        if "block" in task:
            task["block"] = _with_result_savers(task["block"], results_dir)
        out.append(task)
        name = task.get("register")
        if name:
            task.setdefault("ignore_errors", True)
            out.append({
                "name": "save %s" % name,
                "ansible.builtin.copy": {"content": "{{ %s | to_json }}" % name,
                                         "dest": str(results_dir / ("%s.json" % name))},
                "check_mode": False,
                "diff": False,
            })
    return out


@pytest.fixture
def run_tasks(emulator, tmp_path):
    """run_tasks(tasks, check=False, diff=False, verbosity=0, env=None) -> PlaybookRun.

    Every task that sets ``register: NAME`` gets its result saved under results[NAME].
    """
    counter = {"n": 0}

    def run(tasks, check=False, diff=False, verbosity=0, env=None, extra_vars=None):
        counter["n"] += 1
        workdir = tmp_path / ("run%d" % counter["n"])
        workdir.mkdir()
        results_dir = workdir / "results"
        results_dir.mkdir()
        play_tasks = _with_result_savers(tasks, results_dir)
        playbook = workdir / "play.yml"
        # Azure sends no polling hint for extension operations; at the emulator's time scale, poll often.
        defaults = {"azure_ops.vm_access.vm_access_reset": {"poll_interval": 0.2}}
        playbook.write_text(yaml.safe_dump([{
            "name": "test play", "hosts": "localhost", "gather_facts": False, "module_defaults": defaults,
            "tasks": play_tasks}]))
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook),
               "-i", "localhost,", "-c", "local"]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if extra_vars:
            extra_file = workdir / "extra.json"
            extra_file.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@%s" % extra_file]
        run_env = ansible_env(emulator.env, workdir, env)
        proc = subprocess.run(cmd, cwd=str(workdir), env=run_env, capture_output=True, text=True, check=False,
                              timeout=PLAYBOOK_TIMEOUT_S)
        log_path = Path(run_env["ANSIBLE_LOG_PATH"])
        results = {p.stem: json.loads(p.read_text()) for p in results_dir.glob("*.json")}
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr,
                           log_path.read_text() if log_path.exists() else "", results)

    return run


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_playbook(emulator, tmp_path):
    """run_playbook(playbook, hosts, args=(), extra_vars=None, env=None) -> PlaybookRun.

    ``playbook`` is a path under playbooks/ or an FQCN; ``hosts`` maps inventory host -> hostvars
    (put in the ``windows`` group). results["report"] holds the JSON report(s) of the run.
    """
    counter = {"n": 0}

    def run(playbook, hosts, args=(), extra_vars=None, env=None, groups=None):
        counter["n"] += 1
        workdir = tmp_path / ("play%d" % counter["n"])
        workdir.mkdir()
        inventory = {"windows": {"hosts": hosts}}
        inventory.update(groups or {})
        (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory))
        target = playbook if "." in playbook and "/" not in playbook else str(REPO_ROOT / playbook)
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), target, "-i", "inventory.yml"] + list(args)
        extra = dict(vm_access_poll_interval=0.2, vm_access_report_dir=str(workdir / "reports"))
        extra.update(extra_vars or {})
        (workdir / "extra.json").write_text(json.dumps(extra))
        cmd += ["-e", "@extra.json"]
        run_env = ansible_env(emulator.env, workdir, env)
        proc = subprocess.run(cmd, cwd=str(workdir), env=run_env, capture_output=True, text=True,
                              timeout=PLAYBOOK_TIMEOUT_S, check=False)
        log_path = Path(run_env["ANSIBLE_LOG_PATH"])
        reports = sorted((workdir / "reports").glob("*.json")) if (workdir / "reports").exists() else []
        results = {"reports": [json.loads(p.read_text()) for p in reports],
                   "markdown": [p.read_text() for p in sorted((workdir / "reports").glob("*.md"))] if reports else [],
                   "workdir": str(workdir)}
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr,
                           log_path.read_text() if log_path.exists() else "", results)

    return run
