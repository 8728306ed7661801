#!/usr/bin/env python
"""Fleet benchmark (a script, not a timed test): reset RDP on 1,000 Windows VMs on the strict emulator.

Seeds N Windows VMs with RDP broken (a few resource groups; every VM running, agent ready, a
fixed extension run time drawn from [30, 90] simulated seconds), with Azure's throttling limits
(writes 200 burst / 10 per s, reads 250 / 25 per s, divided by the time scale), on the emulator
as strict as Azure (VM lists carry extensions as bare ids, instance views only in the
subscription's statusOnly list, no polling hints on operations). Scenarios (``--scenarios``):

- ``fresh``: no VM holds a VMAccess instance yet;
- ``half``: every second VM already holds one (``EXISTING_VMACCESS``: enablevmaccess 2.4.11, tag
  "old", no settings), whose tag the fleet must read per VM (lists never carry it).

Per scenario, each from a freshly seeded fleet (control.reset):

- ``ansible-playbook playbooks/reset_rdp.yml`` over all N hosts (static YAML inventory, hostvars
  resource_group + vm_name, forks 5), ``vm_access_poll_interval`` = ``--poll-interval``;
- with ``--second-run`` (the default): right after, the same playbook with the same
  ``vm_access_run_tag`` on the fleet as the first run left it: it must write nothing and report
  every VM ``ok``; its floor is the read budget (two list passes + one extension read per VM).

Then the plain per-host blocking approach: ``azure_ops.vm_access.vm_access_reset`` (reset: rdp,
delegate_to: localhost, ``poll_interval`` the same as the playbook's) per host, with 5 and with 50
forks, on a sample of hosts of the ``fresh`` fleet, extrapolated linearly to N (labelled as such).
``--reps`` repeats the scenarios (order rotating) for medians.

Measured per run: wall time of ansible-playbook; T_min = scale x (max(0, (N - 200) / 10) + longest
extension run), with the longest run taken from the seeded per-VM durations read back through the
control API; ARM requests of that run only (the emulator's request log after the run's first
sequence number) by kind - list pages (plain and statusOnly), extension GETs, VM GETs, operation
polls, writes - and 429s; writes per VM; each VM's outcome from the role's JSON report; extension
runs in the guests; controller CPU and memory; every guest's rdp_enabled / firewall_rule_enabled
(control.vm()); the 1-minute load average before and after.

Controller memory is measured two ways: (1) peak of the summed RSS and summed PSS of the
ansible-playbook process tree, sampled from /proc every 0.25 s (PSS counts pages shared by the
forked workers once, so it is the honest total); (2) ru_maxrss from os.wait4() of the
ansible-playbook child: the peak RSS of the single largest process of that tree.

    .venv/bin/python bench/fleet_bench.py --time-scale 1.0 --poll-interval 10 --reps 2      # = the defaults but --reps
    .venv/bin/python bench/fleet_bench.py --vms 100 --per-host-sample 5 --time-scale 0.05   # smoke

Writes bench/results/<--out-name>.md (the table; default fleet) and .json (raw numbers;
git-ignored). Binds 127.0.0.1 only; every wait is bounded. The machine is shared: wall times move
with the load average (recorded per run), request counts do not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.emulator import EmulatorProcess  # noqa: E402

BIN = REPO / ".venv" / "bin"
PYTHON = BIN / "python"
RESULTS = REPO / "bench" / "results"
ARM_KINDS = ("read", "write", "operation")
WRITE_BURST, WRITE_PER_S = 200, 10.0          # ARM's write budget (simulated seconds)
READ_BURST, READ_PER_S = 250, 25.0            # ARM's read budget (simulated seconds)
PAGE = os.sysconf("SC_PAGE_SIZE")

# Targets from issue 4.
TARGET_RATIO = 1.3
TARGET_429_SHARE = 0.01
TARGET_WRITES_PER_VM = 1
TARGET_MEMORY_MIB = 1024


# --- the fleet ---------------------------------------------------------------------------------
# What "half the fleet already holds a VMAccess instance" seeds on every second VM: an instance from an
# earlier run (another tag, no settings), which lists show only as a bare id.
EXISTING_VMACCESS = {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "old", "settings": {}}


def build_fleet(n: int, groups: int, seed: int, existing_every: int = 0) -> tuple[dict, dict]:
    """N Windows VMs with RDP broken in ``groups`` resource groups, each with a fixed run time.

    ``existing_every`` = k > 0: VM number i (0-based, over the whole fleet) with i % k == k - 1 already
    holds a VMAccess instance (``EXISTING_VMACCESS``); k = 2 is every second VM.
    """
    rng = random.Random(seed)
    rgs, durations = [], {}
    for g in range(groups):
        rg = f"rg-fleet-{g:02d}"
        vms = []
        for i in range(g, n, groups):
            name = f"win-{i:04d}"
            duration = round(rng.uniform(30.0, 90.0), 1)
            durations[(rg, name)] = duration
            vm = {"name": name, "os": "windows", "power_state": "running", "agent": "ready", "rdp": "broken",
                  "admin_username": "azureadmin", "extension_duration_s": duration}
            if existing_every and i % existing_every == existing_every - 1:
                vm["extension"] = dict(EXISTING_VMACCESS)
            vms.append(vm)
        rgs.append({"name": rg, "location": "westeurope", "vms": vms})
    return {"seed": seed, "resource_groups": rgs}, durations


def inventory(hosts: list[tuple[str, str]]) -> dict:
    return {"all": {"children": {"windows": {"hosts": {
        name: {"resource_group": rg, "vm_name": name} for rg, name in hosts}}}}}


PER_HOST_PLAY = [{
    "name": "Reset RDP per host (blocking module run per VM)",
    "hosts": "windows",
    "gather_facts": False,
    "tasks": [{
        "name": "Reset RDP on this VM",
        "azure_ops.vm_access.vm_access_reset": {
            "reset": "rdp", "resource_group": "{{ resource_group }}", "vm_name": "{{ vm_name }}",
            "run_tag": "{{ bench_run_tag }}", "poll_interval": "{{ bench_poll_interval | float }}"},
        "delegate_to": "localhost",
    }],
}]


# --- process measurement -----------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    kids = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        kids[ppid].append(int(entry))
    return kids


def _tree(root: int) -> list[int]:
    kids, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def _rss_pss_kib(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


class TreeSampler(threading.Thread):
    """Peak summed RSS / PSS and peak process count of a process tree, sampled from /proc."""

    def __init__(self, root: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_rss_kib = self.peak_pss_kib = self.peak_procs = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pids = _tree(self.root)
            rss = pss = 0
            for pid in pids:
                r, p = _rss_pss_kib(pid)
                rss += r
                pss += p
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_procs = max(self.peak_procs, len(pids))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def run_playbook(cmd: list[str], env: dict, workdir: Path, timeout: float, emu_pid: int) -> dict:
    out = open(workdir / "stdout.txt", "wb")
    started = time.monotonic()
    emu_cpu0 = cpu_seconds(emu_pid)
    load0 = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, cwd=str(workdir), env=env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    timed_out = threading.Event()

    def watchdog():
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGTERM)   # the process group of the ansible-playbook we started
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, watchdog)
    timer.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    out.close()
    return {
        "rc": proc.returncode, "timed_out": timed_out.is_set(), "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,            # the whole ansible-playbook tree (waited-for children)
        "emulator_cpu_s": cpu_seconds(emu_pid) - emu_cpu0,
        "ru_maxrss_mib": usage.ru_maxrss / 1024.0,           # largest single process of the tree
        "tree_peak_rss_mib": sampler.peak_rss_kib / 1024.0,  # summed over the tree (shared pages counted per process)
        "tree_peak_pss_mib": sampler.peak_pss_kib / 1024.0,  # summed over the tree (shared pages split)
        "peak_processes": sampler.peak_procs,
        "loadavg_1min_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],   # other work on the box
    }


def ansible_env(emu: EmulatorProcess, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "ANSIBLE_")) and k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    env.update(emu.env)
    (workdir / "home").mkdir(exist_ok=True)
    env.update({
        "PATH": f"{BIN}:{env.get('PATH', '')}",
        "SSL_CERT_FILE": emu.ca_file,
        "ARM_CLOUD_METADATA_URL": emu.info["metadata_url"],
        "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "ANSIBLE_PYTHON_INTERPRETER": str(PYTHON),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_LOG_PATH": str(workdir / "ansible.log"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "HOME": str(workdir / "home"),
    })
    return env


# --- what the emulator saw ---------------------------------------------------------------------
def _parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def read_kind(r: dict) -> str:
    """What an ARM read was: a list page (plain or statusOnly), a VM GET, an extension GET/list, other."""
    path = (r["path"] or "").lower().rstrip("/")
    query = (r["query"] or "").lower()
    if path.endswith("/providers/microsoft.compute/virtualmachines"):
        return "list_status" if "statusonly=true" in query else "list_plain"
    if "/extensions" in path:
        return "extension_get"
    if re.search(r"/virtualmachines/[^/]+$", path) or path.endswith("/instanceview"):
        return "vm_get"
    return "other_read"


def analyse(emu: EmulatorProcess, hosts: list[tuple[str, str]], run_tag: str, scale: float,
            workdir: Path | None = None, since: int = 0, counters_before: dict | None = None) -> dict:
    """What the emulator saw of one run: the request log after ``since`` (a run's own requests)."""
    sub = emu.env["AZURE_SUBSCRIPTION_ID"]
    reqs = emu.control.requests(since=since)
    if workdir is not None:
        (workdir / "requests.json").write_text(json.dumps(reqs))
    arm = [r for r in reqs if r["kind"] in ARM_KINDS]
    by_kind = Counter(r["kind"] for r in arm)
    reads_by = Counter(read_kind(r) for r in arm if r["kind"] == "read")
    writes_per_vm = Counter((r["vm"] or "").lower() for r in arm if r["kind"] == "write")
    accepted_per_vm = Counter((r["vm"] or "").lower() for r in arm if r["kind"] == "write" and 200 <= r["status"] < 300)
    first_put = {}
    for r in arm:
        if r["kind"] == "write" and r["method"] == "PUT" and r["status"] in (200, 201):
            first_put.setdefault((r["vm"] or "").lower(), r["ts"])
    fixed = failed = 0
    failed_names, seeded, actual, done_at = [], [], [], []
    for rg, name in hosts:
        state = emu.control.vm(sub, rg, name)
        guest = state["guest"]
        if guest.get("rdp_enabled") and guest.get("firewall_rule_enabled"):
            fixed += 1
        else:
            failed += 1
            if len(failed_names) < 10:
                failed_names.append(name)
        seeded.append(float(state["extension_duration_s"]))
        runs = state.get("run_history") or []
        if runs and name.lower() in first_put:
            done_at.append(_parse_iso(runs[-1]["time"]))
            actual.append(done_at[-1] - first_put[name.lower()])
    n = len(hosts)
    counters = emu.control.counters()
    before = counters_before or {}
    reads = by_kind["read"]
    return {
        "vms": n,
        "fixed": fixed, "failed_fixable": failed, "failed_examples": failed_names,
        "arm_requests": len(arm), "reads": reads, "writes": by_kind["write"],
        "operation_polls": by_kind["operation"],
        "reads_by_kind": dict(reads_by),
        "reads_per_vm": reads / n, "writes_per_vm": by_kind["write"] / n,
        "operation_polls_per_vm": by_kind["operation"] / n,
        # the read budget's floor for this many reads: 250 burst, then 25/s (simulated)
        "read_floor_s": scale * max(0.0, (reads + by_kind["operation"] - READ_BURST) / READ_PER_S),
        "max_writes_one_vm": max(writes_per_vm.values() or [0]),             # every write request, 429s too
        "max_accepted_writes_one_vm": max(accepted_per_vm.values() or [0]),  # 2xx only
        "status_429": sum(1 for r in arm if r["status"] == 429),
        "throttled_log": sum(1 for r in arm if r["throttled"]),
        "tokens_issued": (counters.get("tokens_issued") or 0) - (before.get("tokens_issued") or 0),
        "guest_runs": (counters.get("guest_runs") or 0) - (before.get("guest_runs") or 0),
        "longest_seeded_run_s": max(seeded),            # simulated seconds
        "longest_actual_run_real_s": max(actual) if actual else None,   # real seconds, PUT -> done
        "first_put_to_last_put_s": (max(first_put.values()) - min(first_put.values())) if first_put else None,
        "log_truncated": bool(reqs) and since == 0 and reqs[0]["seq"] != 1,
        "last_seq": counters.get("last_seq") or (reqs[-1]["seq"] if reqs else since),
        "timeline_s": timeline(arm, first_put, done_at),
    }


def timeline(arm: list[dict], first_put: dict, done_at: list[float]) -> dict:
    """Key instants, in seconds after the first ARM request of the run (wall clock of the emulator)."""
    if not arm:
        return {}
    t0 = arm[0]["ts"]
    puts = sorted(first_put.values())

    def rel(t):
        return round(t - t0, 2) if t is not None else None

    return {"first_put": rel(puts[0] if puts else None), "last_put": rel(puts[-1] if puts else None),
            "last_run_done": rel(max(done_at) if done_at else None), "last_arm_request": rel(arm[-1]["ts"]),
            "first_429": rel(next((r["ts"] for r in arm if r["status"] == 429), None))}


def t_min(n: int, longest_s: float, scale: float) -> float:
    return scale * (max(0.0, (n - WRITE_BURST) / WRITE_PER_S) + longest_s)


def task_times(log_path: Path, top: int = 8) -> list[tuple[str, float]]:
    """Seconds between consecutive TASK/PLAY banners in the Ansible log: where the wall time went."""
    stamps = []
    pattern = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?\| ((?:TASK|PLAY|PLAY RECAP) \[?.*?)\]? \**$")
    if not log_path.exists():
        return []
    for line in log_path.read_text(errors="replace").splitlines():
        m = pattern.match(line)
        if m:
            ts = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            stamps.append((ts, m.group(2)))
    spans = Counter()
    for (ts, name), (next_ts, _n) in zip(stamps, stamps[1:]):
        spans[name] += next_ts - ts
    return [(name, round(s, 2)) for name, s in spans.most_common(top)]


# --- scenarios ---------------------------------------------------------------------------------
def run_ours(emu, fleet, hosts, scale, forks, workdir, timeout, poll_interval, extra_vars,
             label="ours (reset_rdp.yml, forks {forks})", run_tag=None) -> dict:
    """``reset_rdp.yml`` over every host. With ``run_tag`` given: the same fleet as left by the run
    before (no reset), the same tag: a second run, which must write nothing."""
    second = run_tag is not None
    if not second:
        emu.control.reset(fleet)
        run_tag = f"bench-{int(time.time())}-f{forks}"
    counters_before = emu.control.counters()
    since = counters_before.get("last_seq") or 0
    workdir.mkdir(parents=True)
    (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory(hosts)))
    ev = {"vm_access_run_tag": run_tag, "vm_access_poll_interval": poll_interval,
          "vm_access_report_dir": str(workdir / "reports")}
    ev.update(extra_vars)
    (workdir / "extra.json").write_text(json.dumps(ev))
    cmd = [str(BIN / "ansible-playbook"), str(REPO / "playbooks" / "reset_rdp.yml"), "-i", "inventory.yml",
           "-f", str(forks), "-e", "@extra.json"]
    proc = run_playbook(cmd, ansible_env(emu, workdir), workdir, timeout, emu.pid)
    result = {"approach": label.format(forks=forks), "forks": forks, "measured_vms": len(hosts),
              "second_run": second, "run_tag": run_tag,
              "extrapolated": False, **proc,
              **analyse(emu, hosts, run_tag, scale, workdir, since=since, counters_before=counters_before),
              "slowest_tasks": task_times(workdir / "ansible.log"),
              "recap": play_recap(workdir / "stdout.txt")}
    reports = sorted((workdir / "reports").glob("*.json"))
    if reports:
        report = json.loads(reports[-1].read_text())
        result["report_summary"] = report.get("summary")
        result["outcomes"] = dict(Counter(vm.get("outcome") for vm in report.get("vms") or []))
        result["reasons"] = dict(Counter(vm.get("reason") for vm in report.get("vms") or [] if vm.get("reason")))
    return result


def play_recap(stdout: Path) -> dict:
    """Sums of the PLAY RECAP counters over every host (ok, changed, failed, skipped, ...)."""
    total = Counter()
    hosts = 0
    if not stdout.exists():
        return {}
    in_recap = False
    for line in stdout.read_text(errors="replace").splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap:
            counts = re.findall(r"(\w+)=(\d+)", line)
            if not counts:
                continue
            hosts += 1
            for key, value in counts:
                total[key] += int(value)
    return {"hosts": hosts, **total}


def run_per_host(emu, fleet, hosts, scale, forks, workdir, timeout, poll_interval) -> dict:
    """The module per host (``vm_access_reset``, delegate_to localhost), with ``poll_interval`` passed."""
    emu.control.reset(fleet)
    workdir.mkdir(parents=True)
    (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory(hosts)))
    (workdir / "play.yml").write_text(yaml.safe_dump(PER_HOST_PLAY, sort_keys=False))
    run_tag = f"bench-{int(time.time())}-ph{forks}"
    cmd = [str(BIN / "ansible-playbook"), "play.yml", "-i", "inventory.yml", "-f", str(forks),
           "-e", f"bench_run_tag={run_tag}", "-e", f"bench_poll_interval={poll_interval}"]
    proc = run_playbook(cmd, ansible_env(emu, workdir), workdir, timeout, emu.pid)
    return {"approach": f"per-host module (forks {forks}, sampled)", "forks": forks, "measured_vms": len(hosts),
            "second_run": False, **proc, **analyse(emu, hosts, run_tag, scale, workdir),
            "recap": play_recap(workdir / "stdout.txt")}


def run_engine(emu, fleet, hosts, scale, workdir, timeout, poll_interval, extra_vars) -> dict:
    """Diagnostic: the fleet action alone (run_once over every host), without the role's per-host tasks."""
    emu.control.reset(fleet)
    workdir.mkdir(parents=True)
    (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory(hosts)))
    run_tag = f"bench-{int(time.time())}-engine"
    args = {"reset": "rdp", "hosts": "{{ groups['windows'] }}", "run_tag": run_tag,
            "poll_interval": poll_interval}
    for key in ("max_workers", "wait_timeout"):
        if f"vm_access_{key}" in extra_vars:
            args[key] = extra_vars[f"vm_access_{key}"]
    play = [{"name": "The fleet action alone", "hosts": "windows", "gather_facts": False, "tasks": [
        {"name": "fleet", "azure_ops.vm_access.vm_access_fleet": args, "run_once": True,
         "delegate_to": "localhost", "register": "fleet"},
        {"name": "save", "ansible.builtin.copy": {
            "content": "{{ fleet | dict2items | rejectattr('key', 'equalto', 'results') | items2dict | to_json }}",
            "dest": str(workdir / "fleet-result.json")}, "run_once": True, "delegate_to": "localhost"}]}]
    (workdir / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    cmd = [str(BIN / "ansible-playbook"), "play.yml", "-i", "inventory.yml"]
    proc = run_playbook(cmd, ansible_env(emu, workdir), workdir, timeout, emu.pid)
    row = {"approach": "diagnostic: fleet action alone (no per-host tasks)", "forks": 5, "measured_vms": len(hosts),
           "second_run": False,
           **proc, **analyse(emu, hosts, run_tag, scale, workdir), "slowest_tasks": task_times(workdir / "ansible.log")}
    try:
        saved = json.loads((workdir / "fleet-result.json").read_text())
        row["action_duration_s"] = saved.get("duration_s")
        row["pacing"] = saved.get("pacing")
        row["report_summary"] = saved.get("summary")
    except (OSError, ValueError):
        pass
    return row


def spread_sample(hosts: list[tuple[str, str]], k: int) -> list[tuple[str, str]]:
    if k >= len(hosts):
        return list(hosts)
    step = len(hosts) / k
    return [hosts[int(i * step)] for i in range(k)]


# --- report ------------------------------------------------------------------------------------
def finish_row(row: dict, n: int, scale: float, tmin_n: float) -> dict:
    """Targets for a row; a sample row gets its wall time extrapolated linearly to N.

    First runs: wall <= 1.3 x T_min, 0 HTTP 429s, exactly one write per VM, every guest fixed, memory < 1 GB.
    Second runs (same run tag): 0 writes, every VM 'ok', 0 429s, every guest still fixed, no guest run.
    """
    m = row["measured_vms"]
    row["extrapolated"] = m < n
    row["wall_n_s"] = row["wall_s"] * n / m
    row["t_min_s"] = tmin_n
    row["ratio"] = row["wall_n_s"] / tmin_n if tmin_n else None
    row["share_429"] = row["status_429"] / row["arm_requests"] if row["arm_requests"] else 0.0
    row["memory_mib"] = max(row["tree_peak_pss_mib"], row["ru_maxrss_mib"])
    fixed_all = row["failed_fixable"] == 0 and row["rc"] == 0
    if row.get("second_run"):
        outcomes = row.get("outcomes") or {}
        row["targets"] = {
            "0 writes": row["writes"] == 0,
            "every VM ok": outcomes.get("ok", 0) == m and (row.get("recap") or {}).get("changed", 0) == 0,
            "0 HTTP 429s": row["status_429"] == 0,
            "every guest still fixed, no guest run": fixed_all and row["guest_runs"] == 0,
        }
    else:  # a first run, per host or fleet
        row["targets"] = {
            "wall <= 1.3 x T_min": row["ratio"] is not None and row["ratio"] <= TARGET_RATIO,
            "every guest fixed": fixed_all,
            "0 HTTP 429s": row["status_429"] == 0,
            "exactly 1 write per VM": row["writes"] == m and row["max_writes_one_vm"] == TARGET_WRITES_PER_VM,
            "controller memory < 1 GB": row["memory_mib"] < TARGET_MEMORY_MIB,
        }
    row["pass"] = all(row["targets"].values())
    return row


def azure_phase_s(r: dict) -> float | None:
    """Seconds of the fleet action's task (the Azure work: reads, PUTs, follow-up), from the Ansible log."""
    for name, secs in r.get("slowest_tasks") or []:
        if "Reset the Remote Desktop configuration" in name or name == "TASK [fleet":
            return secs
    return None


def _reads_cell(r: dict) -> str:
    k = r.get("reads_by_kind") or {}
    parts = [f"{k.get('list_plain', 0)} list + {k.get('list_status', 0)} statusOnly pages",
             f"{k.get('extension_get', 0)} ext GETs"]
    if k.get("vm_get"):
        parts.append(f"{k['vm_get']} VM GETs")
    if k.get("other_read"):
        parts.append(f"{k['other_read']} other")
    return f"{r['reads_per_vm']:.3f} ({', '.join(parts)})"


def markdown(rows: list[dict], meta: dict) -> str:
    n, scale = meta["vms"], meta["time_scale"]
    lines = [
        f"## Fleet benchmark: RDP reset on {n} Windows VMs (strict emulator, time scale {scale})",
        "",
        f"Measured {meta['measured_at']} with `{meta['command']}`. "
        f"{meta['cpus']} CPUs; {meta['groups']} resource groups; extension runs {meta['run_range']} simulated s "
        f"(longest seeded {meta['longest_s']:.1f} s); ARM limits on (writes 200 burst + 10/s, reads 250 + 25/s, "
        f"refill / time scale); list page size {meta.get('page_size')}; `vm_access_poll_interval` = "
        f"{meta['poll_interval']:g} s (the per-host module gets the same `poll_interval`). "
        f"T_min = {scale} x (max(0, ({n} - 200) / 10) + {meta['longest_s']:.1f}) = **{meta['t_min_s']:.1f} s** "
        "(the write budget plus the longest run). 'Azure phase': the role's fleet task alone (reads, PUTs, "
        "follow-up; from the Ansible log), and its ratio to the floor; the rest of the wall time is Ansible's "
        "own work (the per-host outcome task over N hosts, the reports), which grows with the machine's load. "
        "A second run (same `vm_access_run_tag`, the fleet as the "
        "first run left it) has no write floor; its floor is the read budget: "
        f"{scale} x max(0, (ARM reads + polls - 250) / 25) s, shown as 'read floor'. "
        f"Per-host rows ran on a sample and are extrapolated linearly to {n} VMs (marked *). "
        "Memory: peak PSS summed over the ansible-playbook process tree (sampled from /proc every 0.25 s); "
        "ru_maxrss: the largest single process (os.wait4). Load: the 1-minute load average before / after "
        "the run (2 CPUs; other sessions' test suites share the machine, which inflates wall times, not "
        "request counts).",
        "",
        "| run | VMs run | wall (s) | wall for N (s) | floor (s) | ratio | Azure phase (s, ratio) | 429s / ARM requests "
        "| reads / VM (what) | writes / VM (max one VM) | op polls / VM | outcomes | guest runs "
        "| controller CPU (s) | memory PSS / ru_maxrss (MiB) | fixed / not fixed | load | targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        star = "*" if r["extrapolated"] else ""
        missed = [k for k, ok in r["targets"].items() if not ok]
        verdict = "PASS" if r["pass"] else "FAIL: " + "; ".join(missed)
        if r.get("second_run"):
            floor = f"read floor {r['read_floor_s']:.1f}"
            ratio = f"{r['wall_s'] / r['read_floor_s']:.2f} (to read floor)" if r["read_floor_s"] else "–"
        else:
            floor = f"{r['t_min_s']:.1f}"
            ratio = f"{r['ratio']:.2f}{star}"
        outcomes = r.get("outcomes")
        if outcomes is None and r.get("recap"):
            rc = r["recap"]
            outcomes = {"changed": rc.get("changed", 0), "failed": rc.get("failed", 0)}
        out_cell = ", ".join(f"{k} {v}" for k, v in sorted((outcomes or {}).items())) or "–"
        phase = azure_phase_s(r)
        base = r["read_floor_s"] if r.get("second_run") else r["t_min_s"]
        phase_cell = f"{phase:.1f} ({phase / base:.2f})" if phase is not None and base else (
            f"{phase:.1f}" if phase is not None else "–")
        lines.append(
            f"| {r['approach']} | {r['measured_vms']} | {r['wall_s']:.1f} | {r['wall_n_s']:.1f}{star} "
            f"| {floor} | {ratio} | {phase_cell} | {r['status_429']} / {r['arm_requests']} "
            f"| {_reads_cell(r)} | {r['writes_per_vm']:.2f} ({r['max_writes_one_vm']}) "
            f"| {r['operation_polls_per_vm']:.2f} | {out_cell} | {r['guest_runs']} | {r['cpu_s']:.1f} "
            f"| {r['tree_peak_pss_mib']:.0f} / {r['ru_maxrss_mib']:.0f} "
            f"| {r['fixed']} / {r['failed_fixable']} | {r['loadavg_1min_before_after'][0]} / "
            f"{r['loadavg_1min_before_after'][1]} | {verdict} |")
    lines.append("")
    groups = defaultdict(list)
    for r in rows:
        groups[r["approach"]].append(r)
    if any(len(v) > 1 for v in groups.values()):
        lines.append("Medians over the repetitions (runs interleaved):")
        lines.append("")
        lines.append("| run | reps | wall (s) median [min–max] | ratio (median) | Azure phase (s) median [min–max] "
                     "| reads / VM (median) | 429s (sum) | writes (sum) | load before (each run) |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for name, rs in groups.items():
            walls = sorted(x["wall_s"] for x in rs)
            med = statistics.median(walls)
            if rs[0].get("second_run"):
                floors = statistics.median(x["read_floor_s"] for x in rs)
                ratio = f"{med / floors:.2f} (to read floor)" if floors else "–"
            else:
                ratio = f"{med * n / rs[0]['measured_vms'] / rs[0]['t_min_s']:.2f}"
            phases = sorted(p for p in (azure_phase_s(x) for x in rs) if p is not None)
            phase = (f"{statistics.median(phases):.1f} [{phases[0]:.1f}–{phases[-1]:.1f}]" if phases else "–")
            lines.append(f"| {name} | {len(rs)} | {med:.1f} [{walls[0]:.1f}–{walls[-1]:.1f}] | {ratio} | {phase} "
                         f"| {statistics.median(x['reads_per_vm'] for x in rs):.3f} "
                         f"| {sum(x['status_429'] for x in rs)} | {sum(x['writes'] for x in rs)} "
                         f"| {', '.join(str(x['loadavg_1min_before_after'][0]) for x in rs)} |")
        lines.append("")
    lines.append("Writes per VM counts every write request, 429-rejected ones too; 'guest runs' counts the "
                 "extension runs the emulator's guests made during the run (a second run must make none). "
                 "Outcomes are each VM's `outcome` in the role's JSON report (per-host rows: the PLAY RECAP).")
    lines.append("")
    lines += previous_section(rows)
    for r in rows:
        if r.get("timeline_s"):
            lines.append(f"Timeline of '{r['approach']}' (s after its first ARM request): "
                         + ", ".join(f"{k} {v}" for k, v in r["timeline_s"].items())
                         + (f"; fleet action {r['action_duration_s']} s, pacing {r['pacing']}"
                            if r.get("action_duration_s") is not None else ""))
            lines.append("")
    for r in rows:
        if r.get("slowest_tasks"):
            lines.append(f"Where the wall time of '{r['approach']}' went (Ansible log, seconds per task banner): "
                         + ", ".join(f"{name} {s}" for name, s in r["slowest_tasks"][:6]))
            lines.append("")
    return "\n".join(lines)


# The last runs on the lenient emulator (VM lists with full extension objects, Retry-After hints on
# operations), 1,000 VMs: bench/results/fleet-lenient-realtime.md (time scale 1.0, load 0.5-1.4) and
# fleet-lenient-scale0.5.md (per-host rows at time scale 0.5, load 5.7-13.6).
PREVIOUS = {
    "playbook": {"scale": 1.0, "wall_s": 196.8, "ratio": 1.16, "azure_phase_s": 170.6, "requests": 1106, "429": 0,
                 "reads_per_vm": 0.106, "writes_per_vm": 1.00, "polls_per_vm": 0.00, "cpu_s": 64.3, "pss": 290,
                 "maxrss": 106, "fixed": "1000 / 0", "load": "0.54 / 1.4"},
    "per-host 5": {"scale": 0.5, "vms": 25, "ratio": 76.52, "reads_per_vm": 3.0, "polls_per_vm": 7.40,
                   "maxrss": 66, "pss": 366, "load": "9.76 / 5.73"},
    "per-host 50": {"scale": 0.5, "vms": 50, "ratio": 15.81, "reads_per_vm": 3.0, "polls_per_vm": 7.14,
                    "maxrss": 66, "pss": 3036, "load": "5.73 / 13.6"},
}


def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def previous_section(rows: list[dict]) -> list[str]:
    """Old (lenient emulator) and new (this run) side by side: medians of this run's repetitions."""
    first = [r for r in rows if r.get("scenario") == "fresh" and not r.get("second_run")]
    again = [r for r in rows if r.get("scenario") == "fresh" and r.get("second_run")]
    half = [r for r in rows if r.get("scenario") == "half" and not r.get("second_run")]
    half_again = [r for r in rows if r.get("scenario") == "half" and r.get("second_run")]
    old = PREVIOUS["playbook"]

    def cell(rs, fn, fmt="{:.1f}"):
        vals = sorted(v for v in (fn(r) for r in rs) if v is not None)
        if not vals:
            return "–"
        med = fmt.format(_med(vals))
        return med if len(vals) == 1 or vals[0] == vals[-1] else f"{med} [{fmt.format(vals[0])}–{fmt.format(vals[-1])}]"

    def ratio_to_floor(r):
        return r["wall_s"] / r["read_floor_s"] if r["read_floor_s"] else None

    lines = ["## Old (lenient emulator) and new (strict emulator) side by side", "",
             "Old: `reset_rdp.yml` over 1,000 VMs at time scale 1.0 on the lenient emulator "
             "(bench/results/fleet-lenient-realtime.md; one run, load 0.54 / 1.4). New: this run, medians "
             "[min–max] over its repetitions; a second run did not exist before.", "",
             "| figure | old: reset_rdp.yml | new: no VMAccess yet | new: its second run | new: half hold VMAccess "
             "| new: its second run |", "|---|---|---|---|---|---|"]

    def row(label, old_value, fn, fmt="{:.1f}", fn_again=None):
        fa = fn_again or fn
        lines.append(f"| {label} | {old_value} | {cell(first, fn, fmt)} | {cell(again, fa, fmt)} "
                     f"| {cell(half, fn, fmt)} | {cell(half_again, fa, fmt)} |")

    row("wall s", f"{old['wall_s']}", lambda r: r["wall_s"])
    row("ratio to the floor (T_min 169.9 s; second runs: read floor)", f"{old['ratio']}",
        lambda r: r["ratio"], "{:.2f}", ratio_to_floor)
    row("Azure phase s (the fleet task)", f"{old['azure_phase_s']}", azure_phase_s)
    row("HTTP 429s", f"{old['429']}", lambda r: r["status_429"], "{:.0f}")
    row("ARM requests", f"{old['requests']}", lambda r: r["arm_requests"], "{:.0f}")
    row("reads / VM", f"{old['reads_per_vm']}", lambda r: r["reads_per_vm"], "{:.3f}")
    row("writes / VM", f"{old['writes_per_vm']:.2f}", lambda r: r["writes_per_vm"], "{:.3f}")
    row("op polls / VM", f"{old['polls_per_vm']:.2f}", lambda r: r["operation_polls_per_vm"], "{:.2f}")
    row("controller CPU s", f"{old['cpu_s']}", lambda r: r["cpu_s"])
    row("memory: PSS summed over the tree MiB", f"{old['pss']}",
        lambda r: r["tree_peak_pss_mib"], "{:.0f}")
    lines.append(f"| (ru_maxrss MiB) | {old['maxrss']} | {cell(first, lambda r: r['ru_maxrss_mib'], '{:.0f}')} "
                 f"| {cell(again, lambda r: r['ru_maxrss_mib'], '{:.0f}')} | {cell(half, lambda r: r['ru_maxrss_mib'], '{:.0f}')} "
                 f"| {cell(half_again, lambda r: r['ru_maxrss_mib'], '{:.0f}')} |")
    lines.append(f"| load before each run | {old['load']} | {cell(first, lambda r: r['loadavg_1min_before_after'][0])} "
                 f"| {cell(again, lambda r: r['loadavg_1min_before_after'][0])} "
                 f"| {cell(half, lambda r: r['loadavg_1min_before_after'][0])} "
                 f"| {cell(half_again, lambda r: r['loadavg_1min_before_after'][0])} |")
    per_host = [r for r in rows if r["approach"].startswith("per-host")]
    if per_host:
        lines += ["", "| per-host module | old (scale 0.5, lenient) | new (this run, strict) |", "|---|---|---|"]
        for r in per_host:
            o = PREVIOUS.get(f"per-host {r['forks']}")
            if not o:
                continue
            lines.append(
                f"| forks {r['forks']}: ratio (extrapolated) · reads / VM · op polls / VM · PSS / ru_maxrss MiB "
                f"| {o['ratio']:.2f} ({o['vms']} VMs) · {o['reads_per_vm']:.1f} · {o['polls_per_vm']:.2f} · "
                f"{o['pss']} / {o['maxrss']} | {r['ratio']:.2f} ({r['measured_vms']} VMs) · {r['reads_per_vm']:.1f} · "
                f"{r['operation_polls_per_vm']:.2f} · {r['tree_peak_pss_mib']:.0f} / {r['ru_maxrss_mib']:.0f} |")
    return lines + [""]


SCENARIOS = {
    # name: (label, VMAccess instance on every k-th VM)
    "fresh": ("no VMAccess yet", 0),
    "half": ("half hold VMAccess", 2),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=4, help="resource groups")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="1.0 = Azure's real pace (the default since the strict emulator)")
    parser.add_argument("--poll-interval", type=float, default=None,
                        help="vm_access_poll_interval (and the module's poll_interval) in real seconds "
                             "(default 10 x time scale: the role's and the module's default at real time)")
    parser.add_argument("--scenarios", default="fresh,half",
                        help="comma-separated: fresh (no VMAccess yet), half (every second VM holds one)")
    parser.add_argument("--second-run", action=argparse.BooleanOptionalAction, default=True,
                        help="after each scenario's run, run the playbook again with the same run tag")
    parser.add_argument("--reps", type=int, default=1, help="repetitions of every scenario (interleaved)")
    parser.add_argument("--ours-forks", type=int, default=5, help="forks for reset_rdp.yml")
    parser.add_argument("--per-host-forks", default="5,50", help="comma-separated; empty to skip")
    parser.add_argument("--per-host-sample", type=int, default=10,
                        help="hosts per per-host run (at least one wave: raised to forks when smaller)")
    parser.add_argument("--engine", action=argparse.BooleanOptionalAction, default=False,
                        help="also run the diagnostic row: the fleet action alone, without the role's per-host tasks")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900.0, help="per ansible-playbook run (real s)")
    parser.add_argument("-e", "--extra-var", action="append", default=[], metavar="KEY=VALUE",
                        help="more extra vars for reset_rdp.yml (e.g. vm_access_max_workers=32)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--out-name", default="fleet",
                        help="base name of the .md and .json written into --out")
    parser.add_argument("--from-json", type=Path, help="only rewrite the .md from a previous run's .json")
    parser.add_argument("--append-to", type=Path,
                        help="a previous run's .json (same --vms, --time-scale, --seed): its rows come first, this "
                             "run's repetitions are added after them (more repetitions for the medians)")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        table = markdown(saved["rows"], saved["meta"])
        (Path(args.out) / f"{args.out_name}.md").write_text(table + "\n")
        print(table)
        return 0

    scale, n = args.time_scale, args.vms
    poll = args.poll_interval if args.poll_interval is not None else 10.0 * scale
    extra = dict(kv.split("=", 1) for kv in args.extra_var)
    scenarios = [s for s in args.scenarios.split(",") if s]
    subprocess.run([str(PYTHON), "-m", "tests.collection_link"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    fleets = {}
    for name in scenarios:
        fleets[name] = build_fleet(n, args.groups, args.seed, SCENARIOS[name][1])
    fleet, durations = fleets[scenarios[0]] if scenarios else build_fleet(n, args.groups, args.seed)
    hosts = sorted(durations, key=lambda h: h[1])
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    rows = []
    started_at = datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    try:
        with EmulatorProcess(work / "emulator", fleet=fleet, time_scale=scale) as emu:
            for rep in range(args.reps):
                order = scenarios[rep % len(scenarios):] + scenarios[:rep % len(scenarios)] if scenarios else []
                if args.engine:
                    print(f"== diagnostic: the fleet action alone, {n} VMs ...", flush=True)
                    row = run_engine(emu, fleet, hosts, scale, work / f"engine-{rep}", args.timeout, poll, extra)
                    rows.append(row)
                    print(f"   wall {row['wall_s']:.1f} s (action {row.get('action_duration_s')} s), rc {row['rc']}, "
                          f"fixed {row['fixed']}/{n}", flush=True)
                for name in order:
                    label, _every = SCENARIOS[name]
                    sfleet, _d = fleets[name]
                    print(f"== {label}: reset_rdp.yml, forks {args.ours_forks}, {n} VMs (rep {rep + 1}) ...",
                          flush=True)
                    row = run_ours(emu, sfleet, hosts, scale, args.ours_forks, work / f"{name}-{rep}-1", args.timeout,
                                   poll, extra, label=f"{label}: reset_rdp.yml, forks {{forks}}")
                    row["scenario"], row["rep"] = name, rep
                    rows.append(row)
                    print(f"   wall {row['wall_s']:.1f} s, rc {row['rc']}, fixed {row['fixed']}/{n}, "
                          f"writes {row['writes']}, reads {row['reads']}, 429s {row['status_429']}, "
                          f"outcomes {row.get('outcomes')}", flush=True)
                    if args.second_run:
                        print(f"== {label}: the same playbook again, same run tag ...", flush=True)
                        again = run_ours(emu, sfleet, hosts, scale, args.ours_forks, work / f"{name}-{rep}-2",
                                         args.timeout, poll, extra,
                                         label=f"{label}: second run, same run tag", run_tag=row["run_tag"])
                        again["scenario"], again["rep"] = name, rep
                        rows.append(again)
                        print(f"   wall {again['wall_s']:.1f} s, rc {again['rc']}, writes {again['writes']}, "
                              f"reads {again['reads']} {again['reads_by_kind']}, 429s {again['status_429']}, "
                              f"outcomes {again.get('outcomes')}", flush=True)
            for forks in [int(f) for f in args.per_host_forks.split(",") if f]:
                k = min(n, max(args.per_host_sample, forks))
                sample = spread_sample(hosts, k)
                print(f"== per-host module, forks {forks}: sample of {k} VMs ...", flush=True)
                base_fleet = fleets.get("fresh", (fleet, None))[0]
                row = run_per_host(emu, base_fleet, sample, scale, forks, work / f"per-host-f{forks}", args.timeout,
                                   poll)
                rows.append(row)
                print(f"   wall {row['wall_s']:.1f} s, rc {row['rc']}, fixed {row['fixed']}/{k}", flush=True)
            config = emu.control.config()
        longest = max(durations.values())
        tmin_n = t_min(n, longest, scale)
        commands = [shlex.join(["bench/fleet_bench.py", *sys.argv[1:]])]
        started = [started_at]
        if args.append_to:
            before = json.loads(args.append_to.read_text())
            offset = 1 + max((r.get("rep", 0) for r in before["rows"]), default=-1)
            for r in rows:
                r["rep"] = r.get("rep", 0) + offset
            rows = before["rows"] + rows
            commands = [before["meta"]["command"]] + commands
            started = [before["meta"]["measured_at"]] + started
        rows = [finish_row(r, n, scale, tmin_n) for r in rows]
        meta = {"vms": n, "groups": args.groups, "time_scale": scale, "poll_interval": poll, "cpus": os.cpu_count(),
                "run_range": "[30, 90]", "longest_s": longest, "t_min_s": tmin_n, "seed": args.seed,
                "measured_at": " and ".join(started), "command": "`, then `".join(commands),
                "emulator_limits": config.get("limits"), "throttling_enabled": config.get("throttling_enabled"),
                "lenient": config.get("lenient"),
                "page_size": config.get("page_size"), "extra_vars": extra,
                "bench_rusage_children_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0}
        table = markdown(rows, meta)
        print()
        print(table)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{args.out_name}.md").write_text(table + "\n")
        (out / f"{args.out_name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str) + "\n")
        print(f"\nwrote {out / (args.out_name + '.md')} and {out / (args.out_name + '.json')}")
        return 0 if all(r["pass"] for r in rows if not r["approach"].startswith("per-host")) else 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
