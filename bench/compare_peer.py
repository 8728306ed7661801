#!/usr/bin/env python
"""Side by side with azure.azcollection: the same VMAccess resets on the same emulated fleet (not a test).

One emulator (127.0.0.1 only, throttling on, time-scaled) holds K Windows VMs with Remote Desktop
broken. For every repetition, each of three contenders starts from the same freshly seeded fleet and
runs ``ansible-playbook`` over the same K inventory hosts (forks 5):

  module  this collection's single-VM module per host: azure_ops.vm_access.vm_access_reset with
          ``delegate_to: localhost`` (one module process per VM), poll_interval = 10 s x time scale
  fleet   this collection's fleet playbooks, as a user runs them for many VMs:
          playbooks/reset_rdp.yml / playbooks/reset_password.yml (role vm_access, action plugin
          vm_access_fleet: the Azure work of all hosts in one controller process); static inventory,
          group ``windows``, hostvars resource_group + vm_name; extra vars vm_access_run_tag (fresh per
          repetition), vm_access_poll_interval = 15 s x time scale, vm_access_report_dir (temp dir)
  peer    azure.azcollection's azure_rm_virtualmachineextension per host (``delegate_to: localhost``);
          azure-core's LRO poller at its default 30 s x time scale (bench/peer/scaled_polling on the
          peer's PYTHONPATH: the strict emulator, like Azure, sends no Retry-After on operations,
          and the module has no polling option)

and the runs

  rdp       RDP reset                   module: vm_access_reset reset=rdp run_tag=…
                                         fleet: reset_rdp.yml -e vm_access_run_tag=…
                                         peer: azure_rm_virtualmachineextension VMAccessAgent 2.4,
                                               settings {}, protected_settings {}, force_update_tag: true
  noop      start-up, no change         module / fleet: the same RDP run with --check (VMs already reset)
                                         peer: the same extension task without force_update_tag (it has no
                                               check mode: under --check Ansible would skip it); identical
                                               settings, so it reads and writes nothing
  rdp-again second forced run           RDP re-broken in the guest, then module: the same task + force: true;
                                         fleet: + vm_access_force=true; peer: the identical task
  password  password reset              module: reset=password password=…; fleet: reset_password.yml
                                         -e vm_access_password=…; peer: settings {UserName},
                                         protected_settings {Password}, force_update_tag: true
  password-again second forced run      the password changed inside the guest, then the same run again
                                         (module force: true; fleet vm_access_force=true; peer identical)

For each run it measures the whole ansible-playbook process tree (os.wait4 on the one child:
user+sys CPU and ru_maxrss, i.e. the largest single process of the tree), wall time, the ARM
requests the emulator logged during the run, and correctness from the emulator's guest state and
extension run counter (never from Ansible's ``changed``). The "again" runs use the first
``--again-hosts`` VMs only (they are correctness checks; their cost is reported per VM too).
The contenders' order rotates between repetitions.

After the repetitions, a short start-up profile explains the CPU figures: the CPU seconds of the
imports a module process pays (fresh interpreter, time.process_time, median of 5), ``-X importtime``
self times of azure-mgmt-compute's generated models and operations (minimum of 5), and Ansible's own
per-task floor (``ansible.builtin.ping`` with ``delegate_to: localhost`` over the same K hosts, forks 5,
once per repetition) in both venvs.

    .venv/bin/python bench/compare_peer.py [--reps 5] [--vms 20] [--again-hosts 5] [--time-scale 0.02]
    .venv/bin/python bench/compare_peer.py --from-json bench/results/compare_peer.json   # only rewrite the .md

Writes bench/results/compare_peer.md (and the raw figures to bench/results/compare_peer.json).
Needs the peer installed by bench/peer/setup.sh (``make bench-peer`` runs both).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.emulator import EmulatorProcess  # noqa: E402
from tests.emulator.pytest_plugin import emulator_env_vars  # noqa: E402

PEER = REPO / "bench" / "peer"
RESULTS = REPO / "bench" / "results"
SUB = "00000000-0000-4000-8000-0000000be7c4"
RG = "rg-bench"
ADMIN = "azureadmin"
OLD_PASSWORD = "Old-Passw0rd!2020"
DRIFT_PASSWORD = "Dr1ft-Passw0rd!2024"
RUN_TIMEOUT_S = 600
MODULE_POLL_S = 10.0      # vm_access_reset's poll_interval default (real seconds on Azure)
FLEET_POLL_S = 15.0       # vm_access_poll_interval given to the fleet playbooks (as in every earlier run)
PEER_POLL_S = 30.0        # azure-core's default LRO polling interval (no Retry-After on strict Azure)

CONTENDERS = ("module", "fleet", "peer")
OURS = ("module", "fleet")
LABELS = {"module": "module", "fleet": "fleet", "peer": "peer"}
KINDS = ("rdp", "noop", "rdp-again", "password", "password-again")


# --- the fleet ------------------------------------------------------------------------------------

def fleet(k: int) -> dict:
    return {"seed": 1, "subscriptions": [{"id": SUB, "name": "bench", "resource_groups": [{
        "name": RG, "location": "westeurope", "vms": [{
            "name": "vm-{i:02d}", "count": k, "os": "windows", "rdp": "broken", "admin_username": ADMIN,
            "accounts": [{"name": ADMIN, "admin": True, "password": OLD_PASSWORD}],
            "extension_duration_s": 30}]}]}]}


def vm_names(k: int) -> list[str]:
    return [f"vm-{i:02d}" for i in range(1, k + 1)]


# --- playbooks ------------------------------------------------------------------------------------

def ours_task(kind: str) -> dict:
    if kind.startswith("rdp") or kind == "noop":
        args = {"reset": "rdp", "run_tag": "{{ run_tag }}"}
    else:
        args = {"reset": "password", "password": "{{ new_password }}"}
    args["poll_interval"] = "{{ poll_interval | float }}"
    if kind.endswith("-again"):
        args["force"] = True
    args = {"resource_group": RG, "vm_name": "{{ inventory_hostname }}", **args}
    task = {"name": f"vm_access_reset ({kind})", "azure_ops.vm_access.vm_access_reset": args,
            "delegate_to": "localhost"}
    if "password" in kind:
        task["no_log"] = True
    return task


def peer_task(kind: str) -> dict:
    """azure_rm_virtualmachineextension configured as a user would for VMAccess."""
    args = {"resource_group": RG, "virtual_machine_name": "{{ inventory_hostname }}", "name": "enablevmaccess",
            "publisher": "Microsoft.Compute", "virtual_machine_extension_type": "VMAccessAgent",
            "type_handler_version": "2.4"}
    if kind.startswith("rdp") or kind == "noop":
        args.update(settings={}, protected_settings={})
    else:
        args.update(settings={"UserName": ADMIN}, protected_settings={"Password": "{{ new_password }}"})
    if kind != "noop":
        args["force_update_tag"] = True
    task = {"name": f"azure_rm_virtualmachineextension ({kind})",
            "azure.azcollection.azure_rm_virtualmachineextension": args, "delegate_to": "localhost"}
    if "password" in kind:
        task["no_log"] = True
    return task


def write_play(path: Path, task: dict) -> None:
    path.write_text(yaml.safe_dump([{"name": "bench", "hosts": "vms", "gather_facts": False, "tasks": [task]}],
                                   sort_keys=False))


# --- contenders -----------------------------------------------------------------------------------

class Contender:
    """One way of running the resets: its venv's ansible-playbook, its collections, its playbooks."""

    def __init__(self, name: str, bin_dir: Path, collections_path: Path, workdir: Path, time_scale: float):
        self.name = name
        self.bin_dir = bin_dir
        self.python = bin_dir / "python"
        self.collections_path = collections_path
        self.workdir = workdir
        self.time_scale = time_scale
        workdir.mkdir(parents=True, exist_ok=True)
        self.plays = {}
        for kind in KINDS:
            if name == "fleet":   # the collection's own playbooks, unchanged
                self.plays[kind] = REPO / "playbooks" / ("reset_password.yml" if "password" in kind else "reset_rdp.yml")
                continue
            play = workdir / f"{kind}.yml"
            write_play(play, ours_task(kind) if name == "module" else peer_task(kind))
            self.plays[kind] = play

    def extra_vars(self, kind: str, run_tag: str, password: str) -> dict:
        if self.name == "module":
            # the module's own default (10 s) on the emulator's clock, as every other duration here
            return {"run_tag": run_tag, "new_password": password,
                    "poll_interval": round(MODULE_POLL_S * self.time_scale, 3)}
        if self.name != "fleet":
            return {"run_tag": run_tag, "new_password": password}
        ev = {"vm_access_run_tag": run_tag, "vm_access_poll_interval": round(FLEET_POLL_S * self.time_scale, 3),
              "vm_access_report_dir": str(self.workdir / "reports")}
        if "password" in kind:
            ev["vm_access_password"] = password
        if kind.endswith("-again"):
            ev["vm_access_force"] = True
        return ev

    def command(self, kind: str, inv: Path, extra: Path, check: bool = False) -> list[str]:
        cmd = [str(self.bin_dir / "ansible-playbook"), str(self.plays[kind]), "-i", str(inv), "-f", "5",
               "-e", f"@{extra}"]
        return cmd + (["--check"] if check else [])

    def env(self, emu: EmulatorProcess) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AZURE_", "ANSIBLE_", "ARM_")) and k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
        env.update(emulator_env_vars(emu))   # AZURE_* (service principal, cloud), CA bundle, metadata URL
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        env.update({
            "HOME": str(home),
            "AZURE_CONFIG_DIR": str(self.workdir / "azure-config"),   # fresh per emulator address (cloud cache)
            "ANSIBLE_HOME": str(self.workdir / "ansible-home"),
            "ANSIBLE_COLLECTIONS_PATH": str(self.collections_path),
            "ANSIBLE_PYTHON_INTERPRETER": str(self.python),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "PATH": f"{self.bin_dir}:{env.get('PATH', '')}",
        })
        if self.name == "peer":
            # azure-core's own polling interval (30 s; the strict emulator sends no Retry-After, and
            # azure_rm_virtualmachineextension passes no polling_interval) on the emulator's clock
            env["PYTHONPATH"] = str(PEER / "scaled_polling")
            env["BENCH_POLLING_SCALE"] = str(self.time_scale)
        return env


def ours_collections(root: Path) -> Path:
    """ANSIBLE_COLLECTIONS_PATH for the checkout: ansible_collections/azure_ops/vm_access -> the repo's entries."""
    coll = root / "ansible_collections" / "azure_ops" / "vm_access"
    coll.mkdir(parents=True, exist_ok=True)
    for entry in REPO.iterdir():
        if entry.name in ("collections", ".git", ".venv", "bench", ".tmp", ".pytest_cache"):
            continue
        link = coll / entry.name
        if not link.exists():
            link.symlink_to(entry)
    return root


def inventory(path: Path, names: list[str]) -> Path:
    path.write_text(yaml.safe_dump({"all": {"children": {"vms": {
        "hosts": {n: {} for n in names}, "vars": {"ansible_connection": "local"}}}}}))
    return path


def fleet_inventory(path: Path, names: list[str]) -> Path:
    """What a user of the fleet playbooks writes: group windows, hostvars resource_group + vm_name."""
    path.write_text(yaml.safe_dump({"all": {"children": {"windows": {
        "hosts": {n: {"resource_group": RG, "vm_name": n} for n in names}}}}}))
    return path


# --- measuring ------------------------------------------------------------------------------------

def run_measured(cmd: list[str], env: dict, cwd: Path, log_path: Path) -> dict:
    """Run cmd; its whole process tree's CPU and largest RSS come from os.wait4 on the one child.

    wait4's rusage is the child plus every descendant it (transitively) waited for, exactly the
    RUSAGE_CHILDREN delta around the run; its ru_maxrss is the largest single process of that tree.
    (A RUSAGE_CHILDREN ru_maxrss would be the maximum over every child this script ever waited for,
    mixing contenders, hence wait4.)"""
    before = os.times()
    load1 = os.getloadavg()[0]
    with open(log_path, "w") as log:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        timer = threading.Timer(RUN_TIMEOUT_S, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _pid, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    after = os.times()
    cpu = ru.ru_utime + ru.ru_stime
    delta = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"rc": proc.returncode, "wall_s": wall, "cpu_s": cpu, "cpu_children_delta_s": delta,
            "maxrss_mib": ru.ru_maxrss / 1024.0, "load1_before": load1, "load1_after": os.getloadavg()[0]}


RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(log_text: str) -> dict:
    out = {"changed": 0, "failed": 0}
    for _host, _ok, changed, unreachable, failed in RECAP.findall(log_text):
        out["changed"] += int(changed)
        out["failed"] += int(failed) + int(unreachable)
    return out


def arm_counts(entries: list[dict]) -> dict:
    out = {"reads": 0, "polls": 0, "writes": 0, "tokens": 0, "metadata": 0, "throttled_429": 0}
    names = {"read": "reads", "operation": "polls", "write": "writes", "identity": "tokens", "metadata": "metadata"}
    for e in entries:
        key = names.get(e["kind"])
        if key:
            out[key] += 1
        if e["status"] == 429:
            out["throttled_429"] += 1
    return out


# --- one contender, one repetition -----------------------------------------------------------------

def guest(emu, name):
    return emu.control.vm(SUB, RG, name)


def run_sequence(emu: EmulatorProcess, who: Contender, names: list[str], again: list[str], *, rep: int, k: int,
                 inventories: dict) -> dict:
    ctl = emu.control
    ctl.reset(fleet(k))
    env = who.env(emu)
    password = f"Bench-{rep:02d}-Pw!{who.name}A7"
    inv_all, inv_again = inventories["fleet" if who.name == "fleet" else "hosts"]
    runs = {}

    def one(kind: str, inv: Path, hosts: list[str], check: bool = False) -> dict:
        extra = who.workdir / f"extra-{kind}.json"
        extra.write_text(json.dumps(who.extra_vars(kind, f"bench-rep{rep}", password)))
        runs_before = {n: guest(emu, n)["run_count"] for n in hosts}
        seq = ctl.counters()["last_seq"]
        log_path = who.workdir / f"rep{rep}-{kind}.log"
        m = run_measured(who.command(kind, inv, extra, check), env, who.workdir, log_path)
        m.update(arm_counts(ctl.requests(since=seq)))
        m.update(recap(log_path.read_text(errors="replace")))
        states = {n: guest(emu, n) for n in hosts}
        m["vms"] = len(hosts)
        m["extension_runs"] = sum(states[n]["run_count"] - runs_before[n] for n in hosts)
        m["vms_rerun"] = sum(1 for n in hosts if states[n]["run_count"] > runs_before[n])
        m["rdp_ok"] = sum(1 for n in hosts if states[n]["guest"]["rdp_enabled"]
                          and states[n]["guest"]["firewall_rule_enabled"])
        if "password" in kind:
            m["password_ok"] = sum(1 for n in hosts if ctl.verify_password(SUB, RG, n, ADMIN, password))
        return m

    runs["rdp"] = one("rdp", inv_all, names)
    runs["noop"] = one("noop", inv_all, names, check=(who.name in OURS))
    for n in again:
        ctl.patch_vm(SUB, RG, n, guest={"rdp_enabled": False, "firewall_rule_enabled": False})
    runs["rdp-again"] = one("rdp-again", inv_again, again)
    runs["password"] = one("password", inv_all, names)
    for n in again:
        ctl.patch_vm(SUB, RG, n, accounts=[{"name": ADMIN, "password": DRIFT_PASSWORD}])
    runs["password-again"] = one("password-again", inv_again, again)
    for kind, m in runs.items():
        if m["rc"] != 0:
            print(f"  !! {who.name} {kind}: ansible-playbook exited {m['rc']} (see {who.workdir}/rep{rep}-{kind}.log)",
                  file=sys.stderr)
    return runs


# --- why: start-up profile ------------------------------------------------------------------------

IMPORT_CPU_PY = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
out = []
for name in sys.argv[2:]:
    t = time.process_time()
    __import__(name)
    out.append([name, time.process_time() - t])
print(json.dumps(out))
"""

# cumulative: each step's CPU is what it adds to the ones before it, in one fresh interpreter
IMPORT_STEPS = {
    "module": ["ansible.module_utils.basic", "azure.core", "msal", "azure.identity", "azure.mgmt.compute",
               "ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.compute",
               "ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session",
               "ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine",
               "ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.module_runtime",
               "ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs"],
    "peer": ["ansible.module_utils.basic", "azure.core", "msal", "azure.identity", "azure.mgmt.compute",
             "ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common"],
}
# What the module would import if it made its four ARM calls through azure-mgmt-core (the pipeline,
# retries and ARM poller azure-mgmt-compute itself uses) instead of ComputeManagementClient.
WITHOUT_COMPUTE_STEPS = ["ansible.module_utils.basic", "azure.core", "msal", "azure.identity", "azure.mgmt.core",
                         "azure.mgmt.core.polling.arm_polling"]
IMPORTTIME_SELF = ("azure.mgmt.compute.models._models", "azure.mgmt.compute.operations._operations")

PING_PLAY = [{"name": "floor", "hosts": "vms", "gather_facts": False,
              "tasks": [{"name": "ping", "ansible.builtin.ping": {}, "delegate_to": "localhost"}]}]


def import_profile(python: Path, collections_path: Path, steps: list[str], n: int = 5) -> dict:
    runs = []
    for _unused_run in range(n):
        out = subprocess.run([str(python), "-c", IMPORT_CPU_PY, str(collections_path), *steps], capture_output=True,
                             text=True, check=True).stdout
        runs.append(dict(json.loads(out)))
    cpu = {s: med([r[s] for r in runs]) for s in steps}
    cpu["total"] = med([sum(r.values()) for r in runs])
    selfs = {}
    for _unused_run in range(n):
        err = subprocess.run([str(python), "-X", "importtime", "-c", "import azure.mgmt.compute"], capture_output=True,
                             text=True, check=True).stderr
        for line in err.splitlines():
            parts = [x.strip() for x in line.split("|")]
            if len(parts) == 3 and parts[0].startswith("import time:") and parts[0][12:].strip().isdigit():
                name = parts[2]
                if name in IMPORTTIME_SELF or name == "azure.mgmt.compute":
                    self_us, cum_us = int(parts[0][12:]), int(parts[1])
                    value = cum_us if name == "azure.mgmt.compute" else self_us
                    selfs[name] = min(selfs.get(name, value), value)
    return {"import_cpu_s": cpu, "importtime_min_us": selfs}


KDF_CPU_PY = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.fingerprint import password_fingerprint
t = time.process_time()
password_fingerprint("Bench-Pw!1a", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
                     "azureadmin")
print(json.dumps(time.process_time() - t))
"""


def kdf_cpu(python: Path, collections_path: Path, n: int = 5) -> float:
    """CPU seconds of one password fingerprint (the scrypt every password reset computes), median of n."""
    return med([json.loads(subprocess.run([str(python), "-c", KDF_CPU_PY, str(collections_path)], capture_output=True,
                                          text=True, check=True).stdout) for _unused in range(n)])


def ansible_floor(emu, who: Contender, inv_all: Path, k: int, reps: int) -> list[float]:
    play = who.workdir / "floor.yml"
    play.write_text(yaml.safe_dump(PING_PLAY, sort_keys=False))
    out = []
    for i in range(reps):
        m = run_measured([str(who.bin_dir / "ansible-playbook"), str(play), "-i", str(inv_all), "-f", "5"],
                         who.env(emu), who.workdir, who.workdir / f"floor-{i}.log")
        if m["rc"] == 0:
            out.append(m["cpu_s"] / k)
    return out


# --- versions -------------------------------------------------------------------------------------

VERSIONS_PY = r"""
import json, sys
from importlib import metadata
out = {"python": sys.version.split()[0], "distributions": len(list(metadata.distributions()))}
for d in ("ansible-core", "azure-identity", "azure-mgmt-compute", "azure-core", "azure-cli-core", "msal"):
    try:
        out[d] = metadata.version(d)
    except metadata.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def versions(python: Path, collection_manifest: Path | None, galaxy: Path | None) -> dict:
    out = json.loads(subprocess.run([str(python), "-c", VERSIONS_PY], capture_output=True, text=True,
                                    check=True).stdout)
    if collection_manifest and collection_manifest.exists():
        out["collection"] = json.loads(collection_manifest.read_text())["collection_info"]["version"]
    if galaxy and galaxy.exists():
        out["collection"] = yaml.safe_load(galaxy.read_text())["version"]
    return out


# --- report ---------------------------------------------------------------------------------------

def med(values):
    return statistics.median(values) if values else float("nan")


def fmt(v, digits=2):
    if v != v:   # nan  # pylint: disable=comparison-with-itself
        return "n/a"
    if abs(v - round(v)) < 1e-9 and abs(v) >= 1:
        return str(int(round(v)))
    return f"{v:.{digits}f}"


def cell(values, digits=2):
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    if abs(hi - lo) < 10 ** -digits:
        return fmt(med(values), digits)
    return f"{fmt(med(values), digits)} [{fmt(lo, digits)}–{fmt(hi, digits)}]"


def ratio(a, b):
    return a / b if b else float("nan")


PER_VM_FIGURES = [
    # key, label, per VM?, digits
    ("cpu_s", "controller CPU s (user+sys, whole tree) per VM", True, 3),
    ("wall_s", "wall s, whole playbook", False, 1),
    ("maxrss_mib", "peak RSS MiB (largest process)", False, 0),
    ("reads", "ARM reads per VM (GET, excl. polls)", True, 2),
    ("polls", "ARM operation polls per VM", True, 2),
    ("arm_gets", "ARM GETs per VM (reads + polls)", True, 2),
    ("writes", "ARM writes per VM", True, 2),
    ("tokens", "token requests per VM", True, 2),
    ("metadata", "metadata/discovery GETs per VM", True, 2),
    ("throttled_429", "429 responses, whole playbook", False, 0),
]


def series(reps: list[dict], who: str, kind: str, key: str, per_vm: bool) -> list[float]:
    out = []
    for rep in reps:
        m = rep[who][kind]
        value = m["reads"] + m["polls"] if key == "arm_gets" else m[key]
        out.append(value / m["vms"] if per_vm else float(value))
    return out


def rcell(r: float) -> str:
    return "n/a" if r != r else f"{r:.2f}×"  # pylint: disable=comparison-with-itself


HEAD = ["| figure | module | fleet | peer | module/peer | fleet/peer | target: module · fleet |",
        "| --- | --- | --- | --- | --- | --- | --- |"]


def figures_table(reps: list[dict], kind: str, targets: dict) -> list[str]:
    lines = list(HEAD)
    for key, label, per_vm, digits in PER_VM_FIGURES:
        vals = {w: series(reps, w, kind, key, per_vm) for w in CONTENDERS}
        meds = {w: med(v) for w, v in vals.items()}
        ratios = {w: ratio(meds[w], meds["peer"]) for w in OURS}
        target = ""
        if key in targets:
            text, ok = targets[key]
            target = f"{text}: " + " · ".join(f"{'✅' if ok(meds[w], meds['peer'], ratios[w]) else '❌'} {w}"
                                              for w in OURS)
        lines.append(f"| {label} | " + " | ".join(cell(vals[w], digits) for w in CONTENDERS) + " | "
                     + " | ".join(rcell(ratios[w]) for w in OURS) + f" | {target} |")
    return lines


def reset_targets():
    return {
        "cpu_s": ("≤ 0.25×", lambda o, p, r: r <= 0.25),
        "maxrss_mib": ("≤ 0.5×", lambda o, p, r: r <= 0.5),
        "writes": ("= 1", lambda o, p, r: abs(o - 1) < 1e-9),
        "reads": ("≤ peer", lambda o, p, r: o <= p),
        "arm_gets": ("≤ peer", lambda o, p, r: o <= p),
    }


def verdict(ok: bool, text: str) -> str:
    return f"{'✅' if ok else '❌'} {text}"


def correctness_table(reps: list[dict]) -> list[str]:
    lines = ["| run | what is checked (emulator guest state) | module | fleet | peer |",
             "| --- | --- | --- | --- | --- |"]

    def frac(who, kind, key):
        vals = [rep[who][kind][key] for rep in reps]
        total = [rep[who][kind]["vms"] for rep in reps]
        sv, st = sum(vals), sum(total)
        mark = "✅" if sv == st else ("❌" if sv == 0 else "⚠️")
        return f"{mark} {sv}/{st}"

    def zero(who, kind, key):
        vals = [rep[who][kind][key] for rep in reps]
        return f"{'✅' if sum(vals) == 0 else '❌'} {sum(vals)}"

    def changed(who, kind):
        vals = [rep[who][kind]["changed"] for rep in reps]
        total = [rep[who][kind]["vms"] for rep in reps]
        return f"{sum(vals)}/{sum(total)}"

    rows = [
        ("rdp", "RDP and its firewall rule enabled afterwards", "rdp_ok", frac),
        ("rdp", "extension ran in the guest (run_count rose)", "vms_rerun", frac),
        ("noop", "no extension run (run_count unchanged)", "extension_runs", zero),
        ("noop", "no ARM write", "writes", zero),
        ("rdp-again", "RDP re-broken in the guest, same run forced: RDP enabled again", "rdp_ok", frac),
        ("rdp-again", "… the extension actually re-ran (run_count rose)", "vms_rerun", frac),
        ("password", "new password verified in the guest", "password_ok", frac),
        ("password", "extension ran in the guest (run_count rose)", "vms_rerun", frac),
        ("password-again", "password changed in the guest, same run forced: password restored", "password_ok",
         frac),
        ("password-again", "… the extension actually re-ran (run_count rose)", "vms_rerun", frac),
    ]
    for kind, what, key, fn in rows:
        lines.append(f"| {kind} | {what} | " + " | ".join(fn(w, kind, key) for w in CONTENDERS) + " |")
    for kind in KINDS:
        lines.append(f"| {kind} | Ansible reported `changed` (hosts, for comparison) | "
                     + " | ".join(changed(w, kind) for w in CONTENDERS) + " |")
    for kind in KINDS:
        fails = [sum(rep[w][kind]["failed"] for rep in reps) for w in CONTENDERS]
        if any(fails):
            lines.append(f"| {kind} | tasks failed (hosts) | " + " | ".join(str(f) for f in fails) + " |")
    return lines


def why_lines(data: dict) -> list[str]:
    why = data.get("why")
    if not why:
        return []
    k = data["args"]["vms"]
    lines = ["## Where the CPU goes (start-up profile)", "",
             "Imports a module process pays, CPU seconds (`time.process_time()` around each import in one fresh "
             "interpreter, cumulative: each row is what it adds to the rows above it; median of 5). "
             f"Ansible's floor: `ansible.builtin.ping` with `delegate_to: localhost` over the same {k} hosts, "
             "forks 5, whole tree CPU per VM (one run per repetition).", "",
             "| | module venv (ours) | peer venv |", "| --- | --- | --- |"]
    imp_o, imp_p = why["module"]["import_cpu_s"], why["peer"]["import_cpu_s"]
    names = []
    for n in IMPORT_STEPS["module"] + IMPORT_STEPS["peer"]:
        if n not in names:
            names.append(n)
    for n in names:
        label = f"`import {n.replace('ansible_collections.', '').replace('.plugins.module_utils.', ' … ')}`"
        lines.append(f"| {label} | {fmt(imp_o[n], 3) if n in imp_o else '–'} | "
                     f"{fmt(imp_p[n], 3) if n in imp_p else '–'} |")
    lines.append(f"| **all of the above** | **{fmt(imp_o['total'], 3)}** | **{fmt(imp_p['total'], 3)}** |")
    if "without_compute_cpu_s" in why["module"]:
        lines.append("| the same with `azure.mgmt.core` and its ARM poller in place of `azure.mgmt.compute` (what the "
                     f"module's four ARM calls need without ComputeManagementClient) | "
                     f"{fmt(why['module']['without_compute_cpu_s'], 3)} | – |")
    if "kdf_cpu_s" in why["module"]:
        lines.append(f"| one password fingerprint (scrypt), CPU s | {fmt(why['module']['kdf_cpu_s'], 3)} | – |")

    def us(who, name):
        v = why[who]["importtime_min_us"].get(name)
        return "not imported" if v is None else f"{v / 1e6:.3f}"

    for name in IMPORTTIME_SELF:
        lines.append(f"| `-X importtime` self time of `{name}` (min of 5), s | {us('module', name)} | "
                     f"{us('peer', name)} |")
    lines.append(f"| `-X importtime` `import azure.mgmt.compute` cumulative (min of 5), s | "
                 f"{us('module', 'azure.mgmt.compute')} | {us('peer', 'azure.mgmt.compute')} |")
    lines.append(f"| Ansible floor (`ping`), CPU s per VM | {cell(why['module']['floor_cpu_per_vm'], 3)} | "
                 f"{cell(why['peer']['floor_cpu_per_vm'], 3)} |")
    lines += ["", *why_paragraph(data)]
    return lines + [""]


def why_paragraph(data: dict) -> list[str]:
    """The same figures, in words: what a per-host run costs above Ansible's floor, and the fleet's split."""
    reps, why, a = data["reps"], data["why"], data["args"]
    cpu = {w: med(series(reps, w, "rdp", "cpu_s", True)) for w in CONTENDERS}
    floor_o, floor_p = med(why["module"]["floor_cpu_per_vm"]), med(why["peer"]["floor_cpu_per_vm"])
    io, ip = why["module"]["import_cpu_s"], why["peer"]["import_cpu_s"]
    sdk = io["azure.mgmt.compute"]
    ident = io["azure.core"] + io["msal"] + io["azure.identity"]
    ours_utils = sum(v for n, v in io.items() if n.startswith("ansible_collections."))
    imports_o = io["total"] - io["ansible.module_utils.basic"]     # ping's module pays basic too
    rest_o = cpu["module"] - floor_o - imports_o
    peer_common = ip["ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common"]
    it = why["module"]["importtime_min_us"]
    # the fleet: total CPU of the K-VM run and of the again_hosts-VM forced run -> fixed + per-VM (two points)
    k, k2 = a["vms"], a["again_hosts"]
    t_k = med([r["fleet"]["rdp"]["cpu_s"] for r in reps])
    t_k2 = med([r["fleet"]["rdp-again"]["cpu_s"] for r in reps])
    out = [f"**Why.** Ansible's own per-task cost in this shape is {fmt(floor_o, 2)} CPU-s per VM (ours) / "
           f"{fmt(floor_p, 2)} (peer venv), paid by every per-host task whatever the module does; it alone is "
           f"{floor_o / cpu['peer']:.2f}× the peer's {fmt(cpu['peer'], 2)} CPU-s per RDP reset, so a per-host module "
           f"meets ≤ 0.25× only if its own work stays under {fmt(0.25 * cpu['peer'] - floor_o, 2)} CPU-s. "
           f"The module spends {fmt(cpu['module'] - floor_o, 2)} above the floor: {fmt(imports_o, 2)} importing "
           f"(beyond `ansible.module_utils.basic`, which `ping` imports too) — azure-mgmt-compute 39 "
           f"{fmt(sdk, 2)}, azure-core + msal + azure-identity {fmt(ident, 2)}, its own module_utils "
           f"{fmt(ours_utils, 2)} — and {fmt(rest_o, 2)} running (token, TLS, its ARM calls, AnsiballZ payload). "
           f"Of azure-mgmt-compute's {it.get('azure.mgmt.compute', 0) / 1e6:.2f} s (`-X importtime`, cumulative, "
           f"min of 5) the generated `models._models` is {it.get('azure.mgmt.compute.models._models', 0) / 1e6:.2f} s "
           f"self time and `operations._operations` "
           f"{it.get('azure.mgmt.compute.operations._operations', 0) / 1e6:.2f} s; the rest is what it pulls in "
           f"(azure-core, typing, ssl) and its other modules (types, enums, client). The peer spends {fmt(cpu['peer'] - floor_p, 2)} above its "
           f"floor, {fmt(peer_common, 2)} of it importing `azure_rm_common` (azure-cli-core and its SDK clients). "
           f"The fleet playbook pays interpreter start-up, the SDK import and the report tasks once per batch: its "
           f"{k}-VM RDP run used {fmt(t_k, 2)} CPU-s and its {k2}-VM forced run {fmt(t_k2, 2)}, i.e. about "
           f"{fmt(t_k2 - k2 * (t_k - t_k2) / (k - k2), 2)} CPU-s per playbook plus "
           f"{fmt((t_k - t_k2) / (k - k2), 3)} per VM (two-point estimate), hence its per-VM figure falls with K."]
    if "without_compute_cpu_s" in why["module"] and "kdf_cpu_s" in why["module"]:
        out += ["", *what_it_would_take(data)]
    return out


def what_it_would_take(data: dict) -> list[str]:
    """For the per-host module: how far from 0.25x, and what the two big remaining costs are worth."""
    reps, why = data["reps"], data["why"]["module"]
    saved = why["import_cpu_s"]["total"] - why["without_compute_cpu_s"]
    parts = []
    for kind in ("rdp", "password"):
        ours, peer = med(series(reps, "module", kind, "cpu_s", True)), med(series(reps, "peer", kind, "cpu_s", True))
        parts.append(f"{kind}: {fmt(ours, 2)} CPU-s per reset, {fmt(max(0.0, ours - 0.25 * peer), 2)} over "
                     f"0.25 × the peer's {fmt(peer, 2)}; without the azure-mgmt-compute import about "
                     f"{(ours - saved) / peer:.2f}×")
    return [f"**What 0.25× per host would take.** {'; '.join(parts)}. Importing `azure.mgmt.core` and its ARM "
            f"poller in place of `azure.mgmt.compute` costs {fmt(saved, 2)} CPU-s less per module process (the "
            f"estimates above subtract it; they assume nothing else changes). A password reset also computes one "
            f"scrypt fingerprint, {fmt(why['kdf_cpu_s'], 2)} CPU-s, which is the cost of a guess to anyone who can "
            f"read the extension: lowering it is a security decision, not a tuning one."]


def report(data: dict) -> str:
    reps = data["reps"]
    a = data["args"]
    vo, vp = data["versions"]["ours"], data["versions"]["peer"]
    lines = [
        "# This collection vs azure.azcollection: VMAccess resets on the emulator",
        "",
        f"Measured {data['when']} on {data['machine']} with `{data['command']}` "
        f"({len(reps)} repetitions, K = {a['vms']} VMs, forks 5, emulator time scale {a['time_scale']}, "
        f"throttling on; 1-minute load average {data.get('load', '?')}; total {data['total_s'] / 60:.1f} min).",
        "",
        f"- **module**: azure_ops.vm_access {vo.get('collection')} `vm_access_reset`, one task per host "
        f"(`delegate_to: localhost`): one module process per VM.",
        f"- **fleet**: azure_ops.vm_access {vo.get('collection')} `playbooks/reset_rdp.yml` / "
        f"`playbooks/reset_password.yml` unchanged (role `vm_access`, action plugin `vm_access_fleet`: the Azure "
        f"work of all hosts in one controller process, then per-host outcome tasks); inventory group `windows` "
        f"with hostvars `resource_group` + `vm_name`; `vm_access_poll_interval` = {FLEET_POLL_S:g} s × {a['time_scale']}.",
        f"- polling: the emulator is strict (no Retry-After on extension operations, as on Azure), so each "
        f"client polls at its own interval, scaled like every other duration: the module's `poll_interval` = "
        f"its default {MODULE_POLL_S:g} s × {a['time_scale']}; the peer's azure-core poller its default "
        f"{PEER_POLL_S:g} s × {a['time_scale']} (azure_rm_virtualmachineextension has no option for it; "
        f"`bench/peer/scaled_polling/sitecustomize.py` scales it in the peer's processes only).",
        f"- both of ours: ansible-core {vo.get('ansible-core')}, azure-identity {vo.get('azure-identity')}, "
        f"azure-mgmt-compute {vo.get('azure-mgmt-compute')} (project venv: {vo['distributions']} distributions, "
        f"Python {vo['python']}).",
        f"- **peer**: azure.azcollection {vp.get('collection')} `azure_rm_virtualmachineextension`, one task per "
        f"host (`delegate_to: localhost`; from the `{data['peer_wheel']}` wheel); ansible-core "
        f"{vp.get('ansible-core')}, azure-cli-core {vp.get('azure-cli-core')}, azure-identity "
        f"{vp.get('azure-identity')}, azure-mgmt-compute {vp.get('azure-mgmt-compute')} (its requirements.txt: "
        f"{vp['distributions']} distributions, Python {vp['python']}).",
        "",
        "Cells: median over the repetitions [min–max]. Per-VM figures are the playbook's total divided by the "
        "number of VMs it ran on. CPU and peak RSS are of the whole `ansible-playbook` process tree (os.wait4 on "
        "it: user+sys of every process, and the largest single process's ru_maxrss). ARM requests come from the "
        "emulator's request log for that run. Ratios are module/peer and fleet/peer of the medians, all three "
        "measured in the same run (order rotating between repetitions).",
        "",
        f"## RDP reset ({a['vms']} VMs)",
        "",
        *figures_table(reps, "rdp", reset_targets()),
        "",
        f"## Password reset ({a['vms']} VMs)",
        "",
        *figures_table(reps, "password", reset_targets()),
        "",
        f"## Start-up: a no-op run ({a['vms']} VMs)",
        "",
        "module: the RDP task again with `--check` on the already-reset VMs (reads the VM and its extension, "
        "writes nothing). fleet: `reset_rdp.yml --check` with the same run tag (reads the VMs, writes nothing). "
        "peer: `azure_rm_virtualmachineextension` has no check mode (under `--check` Ansible skips it), so the "
        "same extension task with identical settings and without `force_update_tag` (reads the resource group "
        "and the extension, writes nothing).",
        "",
        *figures_table(reps, "noop", {}),
        "",
        *peer_noop_note(reps),
        f"## Second forced run ({a['again_hosts']} VMs; correctness check, costs per VM)",
        "",
        "RDP re-broken (or the password changed) inside the guest, then the same run again, forced: module with "
        "`force: true`, fleet with `-e vm_access_force=true`, peer unchanged (`force_update_tag: true`, which it "
        "sends as the constant string `\"True\"`). Fixed per-playbook costs weigh more on "
        f"{a['again_hosts']} VMs than on {a['vms']}.",
        "",
        *figures_table(reps, "rdp-again", {}),
        "",
        "## Correctness (totals over all repetitions, from the emulator's guest state)",
        "",
        *correctness_table(reps),
        "",
        *why_lines(data),
    ]
    lines += previous_lines(reps)
    lines += load_lines(reps)
    lines += summary_lines(reps)
    return "\n".join(lines) + "\n"


# The run before the strict emulator (bench/results/compare_peer.md of 2026-11-25 20:49 UTC, lenient
# emulator: Retry-After of 10 simulated s on operations, extensions in VM lists): medians [min-max].
PREVIOUS = {
    "when": "2026-11-25 20:49 UTC (lenient emulator)",
    ("rdp", "cpu_s"): {"module": "1.093 [0.942–1.210]", "fleet": "0.247 [0.200–0.253]", "peer": "3.466 [3.446–4.135]"},
    ("password", "cpu_s"): {"module": "1.266 [1.107–1.292]", "fleet": "0.343 [0.318–0.347]",
                            "peer": "3.430 [3.241–4.035]"},
    ("noop", "cpu_s"): {"module": "1.041 [0.982–1.162]", "fleet": "0.230 [0.193–0.244]", "peer": "3.492 [3.289–3.762]"},
    ("rdp", "maxrss_mib"): {"module": "66", "fleet": "82", "peer": "191"},
    ("password", "maxrss_mib"): {"module": "81", "fleet": "90", "peer": "191"},
    ("rdp", "wall_s"): {"module": "13.1", "fleet": "5.0", "peer": "36.5"},
}
# Issue #13: "no worse than before" (ranges over the runs before the strict emulator).
NO_WORSE = {
    ("rdp", "cpu_s"): {"module": 1.1, "fleet": 0.25},
    ("password", "cpu_s"): {"module": 1.3, "fleet": 0.34},
    ("rdp", "maxrss_mib"): {"module": 66, "fleet": 82},
    ("password", "maxrss_mib"): {"module": 81, "fleet": 90},
}


def peer_noop_note(reps: list[dict]) -> list[str]:
    writes = sum(rep["peer"]["noop"]["writes"] for rep in reps)
    runs = sum(rep["peer"]["noop"]["extension_runs"] for rep in reps)
    total = sum(rep["peer"]["noop"]["vms"] for rep in reps)
    if not writes:
        return []
    return [f"The peer's no-op is not one on the strict emulator: it wrote {writes} times and the extension ran "
            f"{runs} times on {total} VMs. azure_rm_virtualmachineextension compares the `settings` it is given "
            "(`{}`) with the extension's, and Azure leaves `settings` out of its answers when none were sent (the "
            "emulator, strict, does the same), so it sees a difference and PUTs again, now with "
            "`force_update_tag` false; the changed tag makes the extension run. (On the lenient emulator, which "
            "echoed `settings: {}`, it wrote nothing.) Its start-up figure therefore includes a write and its "
            "follow-up. The same flip of the tag back to `\"True\"` is why the peer's forced RDP run after it "
            "re-ran the extension here, while its forced password run (whose settings do round-trip) did not.", ""]


def previous_lines(reps: list[dict]) -> list[str]:
    out = [f"## Against the previous run ({PREVIOUS['when']})", "",
           "Issue #13's bar: no worse than before (module 0.9–1.1 CPU-s per RDP reset, 1.1–1.3 per password "
           "reset; fleet 0.19–0.25 / 0.27–0.34; peak RSS module 66 / 81 MiB, fleet 82 / 90 MiB). CPU per VM "
           "and peak RSS, medians [min–max]; the previous figures are from the lenient emulator.", "",
           "| figure | who | previous | now | no worse (≤ upper end before) |", "| --- | --- | --- | --- | --- |"]
    labels = {"cpu_s": "controller CPU s per VM", "maxrss_mib": "peak RSS MiB", "wall_s": "wall s, 20 VMs"}
    for (kind, key), before in [(k, v) for k, v in PREVIOUS.items() if k != "when"]:
        per_vm = key == "cpu_s"
        for who in CONTENDERS:
            vals = series(reps, who, kind, key, per_vm)
            limit = NO_WORSE.get((kind, key), {}).get(who)
            check = "" if limit is None else no_worse(med(vals), limit, key)
            digits = 3 if per_vm else (1 if key == "maxrss_mib" else 0)
            out.append(f"| {kind}: {labels[key]} | {who} | {before[who]} | {cell(vals, digits)} | {check} |")
    return out + [""]


def no_worse(now: float, limit: float, key: str) -> str:
    """CPU: at most the upper end before. RSS: the old figures are whole MiB (±0.5), so up to limit + 0.5 is
    no worse, up to 1.5 MiB more is 'about the same' (⚠️, said with its size), more is worse."""
    if key != "maxrss_mib":
        return verdict(now <= limit * 1.0001, f"≤ {fmt(limit, 2)}")
    if now <= limit + 0.5:
        return verdict(True, f"≤ {limit} (±0.5)")
    if now <= limit + 1.5:
        return f"⚠️ about the same: +{now - limit:.1f} MiB over {limit} (rounded before)"
    return verdict(False, f"+{now - limit:.0f} MiB over {limit} ({now / limit:.2f}×)")


def load_lines(reps: list[dict]) -> list[str]:
    """The 1-minute load average before each measured run: other sessions share this 2-CPU machine."""
    out = ["## Load during the runs", "",
           "1-minute load average before each measured run, per repetition (2 CPUs; the benchmark's own forks "
           "add up to ~5). CPU seconds and RSS are robust to other work, wall times are not.", "",
           "| rep | " + " | ".join(f"{w} {k}" for w in CONTENDERS for k in ("rdp", "password")) + " |",
           "| --- |" + " --- |" * (2 * len(CONTENDERS))]
    for i, rep in enumerate(reps, 1):
        loads = [f"{rep[w][k].get('load1_before', float('nan')):.1f}" for w in CONTENDERS for k in ("rdp", "password")]
        out.append(f"| {i} | " + " | ".join(loads) + " |")
    return out + [""]


def summary_lines(reps: list[dict]) -> list[str]:
    out = ["## Targets (ratios to the peer in the same run)", ""]
    for kind in ("rdp", "password"):
        for who in OURS:
            cpu = ratio(med(series(reps, who, kind, "cpu_s", True)), med(series(reps, "peer", kind, "cpu_s", True)))
            rss = ratio(med(series(reps, who, kind, "maxrss_mib", False)),
                        med(series(reps, "peer", kind, "maxrss_mib", False)))
            writes = med(series(reps, who, kind, "writes", True))
            reads_o = med(series(reps, who, kind, "reads", True))
            reads_p = med(series(reps, "peer", kind, "reads", True))
            gets_o = med(series(reps, who, kind, "arm_gets", True))
            gets_p = med(series(reps, "peer", kind, "arm_gets", True))
            out.append(f"- {kind}, {who}: CPU per reset {verdict(cpu <= 0.25, f'{cpu:.2f}× peer (≤ 0.25×)')}; "
                       f"peak RSS {verdict(rss <= 0.5, f'{rss:.2f}× peer (≤ 0.5×)')}; "
                       f"ARM writes per reset {verdict(abs(writes - 1) < 1e-9, f'{fmt(writes)} (= 1)')}; "
                       f"reads per reset {verdict(reads_o <= reads_p, f'{fmt(reads_o)} vs {fmt(reads_p)}')} "
                       f"(with polls {verdict(gets_o <= gets_p, f'{fmt(gets_o)} vs {fmt(gets_p)}')}).")
    out += ["", f"Operation polls depend on each client's own poll interval now that no `Retry-After` comes: the "
                f"module polls every {MODULE_POLL_S:g} s (× scale), the peer's azure-core every {PEER_POLL_S:g} s, "
                "so a 30 s extension run costs the module about 3 more polls than the peer. Reads without polls: "
                "the module 2 (VM, extension) against the peer's 3."]
    return out


# --- main -----------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--vms", type=int, default=20)
    ap.add_argument("--again-hosts", type=int, default=5, help="VMs used for the second forced runs")
    ap.add_argument("--time-scale", type=float, default=0.02)
    ap.add_argument("--out", type=Path, default=RESULTS / "compare_peer.md")
    ap.add_argument("--from-json", type=Path, help="only rewrite the report from a previous run's raw figures")
    args = ap.parse_args(argv)
    args.again_hosts = min(args.again_hosts, args.vms)
    if args.from_json:
        text = report(json.loads(args.from_json.read_text()))
        args.out.write_text(text)
        print(text)
        return 0

    peer_bin = PEER / ".venv" / "bin"
    peer_coll = PEER / "work" / "collections"
    manifest = peer_coll / "ansible_collections" / "azure" / "azcollection" / "MANIFEST.json"
    if not (peer_bin / "ansible-playbook").exists() or not manifest.exists():
        print("the peer is not installed: run bench/peer/setup.sh (or make bench-peer)", file=sys.stderr)
        return 2
    ours_bin = Path(sys.executable).parent
    if not (ours_bin / "ansible-playbook").exists():
        print(f"no ansible-playbook next to {sys.executable}: run with the project venv's python", file=sys.stderr)
        return 2
    wheels = sorted((PEER / "work").glob("ansible-*.whl"))

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    names = vm_names(args.vms)
    again = names[: args.again_hosts]
    command = " ".join([".venv/bin/python" if Path(sys.executable).parent == REPO / ".venv" / "bin" else sys.executable,
                        "bench/compare_peer.py", *(argv if argv is not None else sys.argv[1:])])
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        tmp = Path(tmp)
        inventories = {
            "hosts": (inventory(tmp / "inventory.yml", names), inventory(tmp / "inventory-again.yml", again)),
            "fleet": (fleet_inventory(tmp / "fleet-inventory.yml", names),
                      fleet_inventory(tmp / "fleet-inventory-again.yml", again)),
        }
        ours_coll = ours_collections(tmp / "ours-collections")
        contenders = {
            "module": Contender("module", ours_bin, ours_coll, tmp / "module", args.time_scale),
            "fleet": Contender("fleet", ours_bin, ours_coll, tmp / "fleet", args.time_scale),
            "peer": Contender("peer", peer_bin, peer_coll, tmp / "peer", args.time_scale),
        }
        data = {
            "args": vars(args) | {"out": str(args.out)},
            "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}",
            "command": command,
            "peer_wheel": wheels[-1].name if wheels else "?",
            "versions": {"ours": versions(Path(sys.executable), None, REPO / "galaxy.yml"),
                         "peer": versions(peer_bin / "python", manifest, None)},
            "reps": [],
        }
        with EmulatorProcess(tmp / "emulator", fleet=fleet(args.vms), time_scale=args.time_scale) as emu:
            print(f"emulator {emu.url} (time scale {args.time_scale}); {args.vms} VMs; {args.reps} repetitions",
                  flush=True)
            # warm-up (not counted): first runs pay for cold file caches and bytecode compilation
            for who in contenders.values():
                emu.control.reset(fleet(args.vms))
                warm_inv = (fleet_inventory if who.name == "fleet" else inventory)(tmp / "inventory-warm.yml", names[:1])
                extra = who.workdir / "extra-warm.json"
                extra.write_text(json.dumps(who.extra_vars("rdp", "warm", "x")))
                m = run_measured(who.command("rdp", warm_inv, extra), who.env(emu), who.workdir,
                                 who.workdir / "warmup.log")
                if m["rc"] != 0:
                    print((who.workdir / "warmup.log").read_text()[-3000:], file=sys.stderr)
                    print(f"{who.name}: the warm-up run failed (rc {m['rc']})", file=sys.stderr)
                    return 1
            for rep in range(1, args.reps + 1):
                shift = (rep - 1) % len(CONTENDERS)
                order = CONTENDERS[shift:] + CONTENDERS[:shift]
                row = {}
                for name in order:
                    t0 = time.monotonic()
                    row[name] = run_sequence(emu, contenders[name], names, again, rep=rep, k=args.vms,
                                             inventories=inventories)
                    r = row[name]
                    print(f"rep {rep} {name:6s}: " + ", ".join(
                        f"{kind} {r[kind]['cpu_s'] / r[kind]['vms']:.2f} cpu-s/VM {r[kind]['wall_s']:.1f}s"
                        for kind in KINDS) + f"  ({time.monotonic() - t0:.0f}s)", flush=True)
                data["reps"].append(row)
            # why: where a module process's CPU goes, and Ansible's own per-task floor
            data["why"] = {}
            for who, coll in (("module", ours_coll), ("peer", peer_coll)):
                prof = import_profile(contenders[who].python, coll, IMPORT_STEPS[who])
                prof["floor_cpu_per_vm"] = ansible_floor(emu, contenders[who], inventories["hosts"][0], args.vms,
                                                         args.reps)
                data["why"][who] = prof
            data["why"]["module"]["without_compute_cpu_s"] = import_profile(
                contenders["module"].python, ours_coll, WITHOUT_COMPUTE_STEPS)["import_cpu_s"]["total"]
            data["why"]["module"]["kdf_cpu_s"] = kdf_cpu(contenders["module"].python, ours_coll)
            print("why:", json.dumps(data["why"]), flush=True)
        data["total_s"] = time.monotonic() - started
        data["load"] = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"

    text = report(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str))
    print()
    print(text)
    print(f"written to {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
