#!/usr/bin/env python
"""Side by side with azure.azcollection: the same VMAccess resets on the same emulated fleet (not a test).

One emulator (127.0.0.1 only, throttling on, time-scaled) holds K Windows VMs with Remote Desktop
broken. For every repetition, each of three contenders starts from the same freshly seeded fleet and
runs ``ansible-playbook`` over the same K inventory hosts (forks 5):

  module  this collection's single-VM module per host: azure_ops.vm_access.vm_access_reset with
          ``delegate_to: localhost`` (one module process per VM)
  fleet   this collection's fleet playbooks, as a user runs them for many VMs:
          playbooks/reset_rdp.yml / playbooks/reset_password.yml (role vm_access, action plugin
          vm_access_fleet: the Azure work of all hosts in one controller process); static inventory,
          group ``windows``, hostvars resource_group + vm_name; extra vars vm_access_run_tag (fresh per
          repetition), vm_access_poll_interval = 15 s x time scale, vm_access_report_dir (temp dir)
  peer    azure.azcollection's azure_rm_virtualmachineextension per host (``delegate_to: localhost``)

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
    def __init__(self, name: str, bin_dir: Path, collections_path: Path, workdir: Path):
        self.name = name
        self.bin_dir = bin_dir
        self.python = bin_dir / "python"
        self.collections_path = collections_path
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.plays = {}
        for kind in KINDS:
            play = workdir / f"{kind}.yml"
            write_play(play, ours_task(kind) if name == "ours" else peer_task(kind))
            self.plays[kind] = play

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


# --- measuring ------------------------------------------------------------------------------------

def run_measured(cmd: list[str], env: dict, cwd: Path, log_path: Path) -> dict:
    """Run cmd; its whole process tree's CPU and largest RSS come from os.wait4 on the one child.

    wait4's rusage is the child plus every descendant it (transitively) waited for, exactly the
    RUSAGE_CHILDREN delta around the run; its ru_maxrss is the largest single process of that tree.
    (A RUSAGE_CHILDREN ru_maxrss would be the maximum over every child this script ever waited for,
    mixing contenders, hence wait4.)"""
    before = os.times()
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
            "maxrss_mib": ru.ru_maxrss / 1024.0}


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
                 inv_all: Path, inv_again: Path) -> dict:
    ctl = emu.control
    ctl.reset(fleet(k))
    env = who.env(emu)
    password = f"Bench-{rep:02d}-Pw!{who.name}A7"
    extra = who.workdir / "extra.json"
    extra.write_text(json.dumps({"run_tag": f"bench-rep{rep}", "new_password": password}))
    runs = {}

    def one(kind: str, inv: Path, hosts: list[str], check: bool = False) -> dict:
        runs_before = {n: guest(emu, n)["run_count"] for n in hosts}
        seq = ctl.counters()["last_seq"]
        cmd = [str(who.bin_dir / "ansible-playbook"), str(who.plays[kind]), "-i", str(inv), "-e", f"@{extra}"]
        if check:
            cmd.append("--check")
        log_path = who.workdir / f"rep{rep}-{kind}.log"
        m = run_measured(cmd, env, who.workdir, log_path)
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
    runs["noop"] = one("noop", inv_all, names, check=(who.name == "ours"))
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


def figures_table(reps: list[dict], kind: str, targets: dict) -> list[str]:
    lines = ["| figure | ours | peer | ours/peer | target |", "| --- | --- | --- | --- | --- |"]
    for key, label, per_vm, digits in PER_VM_FIGURES:
        ours, peer = series(reps, "ours", kind, key, per_vm), series(reps, "peer", kind, key, per_vm)
        r = ratio(med(ours), med(peer))
        target = targets.get(key, "")
        if callable(target):
            target = target(med(ours), med(peer), r)
        lines.append(f"| {label} | {cell(ours, digits)} | {cell(peer, digits)} | "
                     f"{'n/a' if r != r else f'{r:.2f}×'} | {target} |")  # pylint: disable=comparison-with-itself
    return lines


def verdict(ok: bool, text: str) -> str:
    return f"{'✅' if ok else '❌'} {text}"


def reset_targets():
    return {
        "cpu_s": lambda o, p, r: verdict(r <= 0.25, "≤ 0.25×"),
        "maxrss_mib": lambda o, p, r: verdict(r <= 0.5, "≤ 0.5×"),
        "writes": lambda o, p, r: verdict(abs(o - 1) < 1e-9, "ours = 1"),
        "reads": lambda o, p, r: verdict(o <= p, "≤ peer"),
        "arm_gets": lambda o, p, r: verdict(o <= p, "≤ peer"),
    }


def correctness_table(reps: list[dict]) -> list[str]:
    lines = ["| run | what is checked (emulator guest state) | ours | peer |", "| --- | --- | --- | --- |"]

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
        ("rdp-again", "RDP re-broken in the guest, same task forced: RDP enabled again", "rdp_ok", frac),
        ("rdp-again", "… the extension actually re-ran (run_count rose)", "vms_rerun", frac),
        ("password", "new password verified in the guest", "password_ok", frac),
        ("password", "extension ran in the guest (run_count rose)", "vms_rerun", frac),
        ("password-again", "password changed in the guest, same task forced: password restored", "password_ok",
         frac),
        ("password-again", "… the extension actually re-ran (run_count rose)", "vms_rerun", frac),
    ]
    for kind, what, key, fn in rows:
        lines.append(f"| {kind} | {what} | {fn('ours', kind, key)} | {fn('peer', kind, key)} |")
    for kind in KINDS:
        lines.append(f"| {kind} | Ansible reported `changed` (hosts, for comparison) | {changed('ours', kind)} | "
                     f"{changed('peer', kind)} |")
    for kind in KINDS:
        fails = [sum(rep[w][kind]["failed"] for rep in reps) for w in CONTENDERS]
        if any(fails):
            lines.append(f"| {kind} | tasks failed (hosts) | {fails[0]} | {fails[1]} |")
    return lines


def report(data: dict) -> str:
    reps = data["reps"]
    a = data["args"]
    vo, vp = data["versions"]["ours"], data["versions"]["peer"]
    lines = [
        "# This collection vs azure.azcollection: VMAccess resets on the emulator",
        "",
        f"Measured {data['when']} on {data['machine']} with `{data['command']}` "
        f"({len(reps)} repetitions, K = {a['vms']} VMs, forks 5, emulator time scale {a['time_scale']}, "
        f"throttling on; total {data['total_s'] / 60:.1f} min).",
        "",
        f"- **ours**: azure_ops.vm_access {vo.get('collection')} `vm_access_reset`; ansible-core {vo.get('ansible-core')}, "
        f"azure-identity {vo.get('azure-identity')}, azure-mgmt-compute {vo.get('azure-mgmt-compute')} "
        f"(project venv: {vo['distributions']} distributions, Python {vo['python']}).",
        f"- **peer**: azure.azcollection {vp.get('collection')} `azure_rm_virtualmachineextension` (from the "
        f"`{data['peer_wheel']}` wheel); ansible-core {vp.get('ansible-core')}, azure-cli-core {vp.get('azure-cli-core')}, "
        f"azure-identity {vp.get('azure-identity')}, azure-mgmt-compute {vp.get('azure-mgmt-compute')} "
        f"(its requirements.txt: {vp['distributions']} distributions, Python {vp['python']}).",
        "",
        "Cells: median over the repetitions [min–max]. Per-VM figures are the playbook's total divided by the "
        "number of VMs it ran on. CPU and peak RSS are of the whole `ansible-playbook` process tree (os.wait4 on "
        "it: user+sys of every process, and the largest single process's ru_maxrss). ARM requests come from the "
        "emulator's request log for that run. Ratios are ours/peer of the medians, measured in the same run.",
        "",
        f"## RDP reset ({a['vms']} VMs)",
        "",
        *figures_table(reps, "rdp", reset_targets()),
        "",
        f"## Password reset ({a['vms']} VMs)",
        "",
        *figures_table(reps, "password", reset_targets()),
        "",
        f"## Module start-up: a no-op run ({a['vms']} VMs)",
        "",
        "ours: the RDP task again with `--check` on the already-reset VMs (reads the VM and its extension, "
        "writes nothing). peer: `azure_rm_virtualmachineextension` has no check mode (under `--check` Ansible "
        "skips it), so the same extension task with identical settings and without `force_update_tag` "
        "(reads the resource group and the extension, writes nothing).",
        "",
        *figures_table(reps, "noop", {}),
        "",
        f"## Second forced run ({a['again_hosts']} VMs; correctness check, costs per VM)",
        "",
        "RDP re-broken (or the password changed) inside the guest, then the same task again, forced: ours with "
        "`force: true`, peer unchanged (`force_update_tag: true`, which it sends as the constant string `\"True\"`).",
        "",
        *figures_table(reps, "rdp-again", {}),
        "",
        "## Correctness (totals over all repetitions, from the emulator's guest state)",
        "",
        *correctness_table(reps),
        "",
    ]
    lines += summary_lines(reps)
    return "\n".join(lines) + "\n"


def summary_lines(reps: list[dict]) -> list[str]:
    out = ["## Targets", ""]
    for kind in ("rdp", "password"):
        cpu = ratio(med(series(reps, "ours", kind, "cpu_s", True)), med(series(reps, "peer", kind, "cpu_s", True)))
        rss = ratio(med(series(reps, "ours", kind, "maxrss_mib", False)),
                    med(series(reps, "peer", kind, "maxrss_mib", False)))
        writes = med(series(reps, "ours", kind, "writes", True))
        reads_o, reads_p = med(series(reps, "ours", kind, "reads", True)), med(series(reps, "peer", kind, "reads", True))
        gets_o = med(series(reps, "ours", kind, "arm_gets", True))
        gets_p = med(series(reps, "peer", kind, "arm_gets", True))
        out.append(f"- {kind}: CPU per reset {verdict(cpu <= 0.25, f'{cpu:.2f}× peer (≤ 0.25×)')}; "
                   f"peak RSS {verdict(rss <= 0.5, f'{rss:.2f}× peer (≤ 0.5×)')}; "
                   f"ARM writes per reset {verdict(abs(writes - 1) < 1e-9, f'{fmt(writes)} (= 1)')}; "
                   f"reads per reset {verdict(reads_o <= reads_p, f'{fmt(reads_o)} vs {fmt(reads_p)}')} "
                   f"(with polls {fmt(gets_o)} vs {fmt(gets_p)}).")
    return out


# --- main -----------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--vms", type=int, default=20)
    ap.add_argument("--again-hosts", type=int, default=5, help="VMs used for the second forced runs")
    ap.add_argument("--time-scale", type=float, default=0.02)
    ap.add_argument("--out", type=Path, default=RESULTS / "compare_peer.md")
    args = ap.parse_args(argv)
    args.again_hosts = min(args.again_hosts, args.vms)

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
    names = vm_names(args.vms)
    again = names[: args.again_hosts]
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        tmp = Path(tmp)
        inv_all = inventory(tmp / "inventory.yml", names)
        inv_again = inventory(tmp / "inventory-again.yml", again)
        contenders = {
            "ours": Contender("ours", ours_bin, ours_collections(tmp / "ours-collections"), tmp / "ours"),
            "peer": Contender("peer", peer_bin, peer_coll, tmp / "peer"),
        }
        data = {
            "args": vars(args) | {"out": str(args.out)},
            "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}",
            "command": "make bench-peer",
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
                warm_inv = inventory(tmp / "inventory-warm.yml", names[:1])
                (who.workdir / "extra.json").write_text(json.dumps({"run_tag": "warm", "new_password": "x"}))
                m = run_measured([str(who.bin_dir / "ansible-playbook"), str(who.plays["rdp"]), "-i", str(warm_inv),
                                  "-e", f"@{who.workdir / 'extra.json'}"], who.env(emu), who.workdir,
                                 who.workdir / "warmup.log")
                if m["rc"] != 0:
                    print((who.workdir / "warmup.log").read_text()[-3000:], file=sys.stderr)
                    print(f"{who.name}: the warm-up run failed (rc {m['rc']})", file=sys.stderr)
                    return 1
            for rep in range(1, args.reps + 1):
                order = CONTENDERS if rep % 2 else tuple(reversed(CONTENDERS))
                row = {}
                for name in order:
                    t0 = time.monotonic()
                    row[name] = run_sequence(emu, contenders[name], names, again, rep=rep, k=args.vms,
                                             inv_all=inv_all, inv_again=inv_again)
                    r = row[name]
                    print(f"rep {rep} {name:4s}: " + ", ".join(
                        f"{kind} {r[kind]['cpu_s'] / r[kind]['vms']:.2f} cpu-s/VM {r[kind]['wall_s']:.1f}s"
                        for kind in KINDS) + f"  ({time.monotonic() - t0:.0f}s)", flush=True)
                data["reps"].append(row)
        data["total_s"] = time.monotonic() - started

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
