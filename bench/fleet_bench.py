#!/usr/bin/env python
"""Fleet benchmark (a script, not a timed test): reset RDP on 1,000 Windows VMs on the emulator.

Seeds N Windows VMs with RDP broken (a few resource groups; every VM running, agent ready, a
fixed extension run time drawn from [30, 90] simulated seconds), with Azure's throttling limits
(writes 200 burst / 10 per s, reads 250 / 25 per s, divided by the time scale), then runs:

- ours: ``ansible-playbook playbooks/reset_rdp.yml`` over all N hosts (static YAML inventory,
  hostvars resource_group + vm_name), with ``vm_access_poll_interval = 15 s x scale``;
- the plain per-host blocking approach: ``azure_ops.vm_access.vm_access_reset`` (reset: rdp,
  delegate_to: localhost) per host, with 5 and with 50 forks, on a sample of hosts, extrapolated
  linearly to N (labelled as such) unless ``--per-host-sample`` is N.

Each scenario starts from a freshly seeded fleet (control.reset). Measured per scenario: wall
time of ansible-playbook; T_min = scale x (max(0, (N - 200) / 10) + longest extension run), with
the longest run taken from the seeded per-VM durations read back through the control API (and
the longest actual run, PUT to done, from the request log and run history, as a cross-check);
ARM requests per VM by kind and 429s (emulator request log); writes per VM; controller memory;
every guest's rdp_enabled / firewall_rule_enabled (control.vm()).

Controller memory is measured two ways: (1) peak of the summed RSS and summed PSS of the
ansible-playbook process tree, sampled from /proc every 0.25 s (PSS counts pages shared by the
forked workers once, so it is the honest total); (2) ru_maxrss from os.wait4() of the
ansible-playbook child: the peak RSS of the single largest process of that tree.

    .venv/bin/python bench/fleet_bench.py                      # the full run (defaults below)
    .venv/bin/python bench/fleet_bench.py --vms 100 --per-host-sample 20 --time-scale 0.05   # smoke

Writes bench/results/fleet.md (the table) and bench/results/fleet.json (raw numbers; git-ignored).
Binds 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
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
PAGE = os.sysconf("SC_PAGE_SIZE")

# Targets from issue 4.
TARGET_RATIO = 1.3
TARGET_429_SHARE = 0.01
TARGET_WRITES_PER_VM = 1
TARGET_MEMORY_MIB = 1024


# --- the fleet ---------------------------------------------------------------------------------
def build_fleet(n: int, groups: int, seed: int) -> tuple[dict, dict]:
    """N Windows VMs with RDP broken in ``groups`` resource groups, each with a fixed run time."""
    rng = random.Random(seed)
    rgs, durations = [], {}
    for g in range(groups):
        rg = f"rg-fleet-{g:02d}"
        vms = []
        for i in range(g, n, groups):
            name = f"win-{i:04d}"
            duration = round(rng.uniform(30.0, 90.0), 1)
            durations[(rg, name)] = duration
            vms.append({"name": name, "os": "windows", "power_state": "running", "agent": "ready", "rdp": "broken",
                        "admin_username": "azureadmin", "extension_duration_s": duration})
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
            "run_tag": "{{ bench_run_tag }}"},
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


def analyse(emu: EmulatorProcess, hosts: list[tuple[str, str]], run_tag: str, scale: float,
            workdir: Path | None = None) -> dict:
    sub = emu.env["AZURE_SUBSCRIPTION_ID"]
    reqs = emu.control.requests(since=0)
    if workdir is not None:
        (workdir / "requests.json").write_text(json.dumps(reqs))
    arm = [r for r in reqs if r["kind"] in ARM_KINDS]
    by_kind = Counter(r["kind"] for r in arm)
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
    return {
        "vms": n,
        "fixed": fixed, "failed_fixable": failed, "failed_examples": failed_names,
        "arm_requests": len(arm), "reads": by_kind["read"], "writes": by_kind["write"],
        "operation_polls": by_kind["operation"],
        "reads_per_vm": by_kind["read"] / n, "writes_per_vm": by_kind["write"] / n,
        "operation_polls_per_vm": by_kind["operation"] / n,
        "max_writes_one_vm": max(writes_per_vm.values() or [0]),             # every write request, 429s too
        "max_accepted_writes_one_vm": max(accepted_per_vm.values() or [0]),  # 2xx only
        "status_429": sum(1 for r in arm if r["status"] == 429),
        "throttled_log": sum(1 for r in arm if r["throttled"]),
        "tokens_issued": counters.get("tokens_issued"),
        "guest_runs": counters.get("guest_runs"),
        "longest_seeded_run_s": max(seeded),            # simulated seconds
        "longest_actual_run_real_s": max(actual) if actual else None,   # real seconds, PUT -> done
        "first_put_to_last_put_s": (max(first_put.values()) - min(first_put.values())) if first_put else None,
        "log_truncated": bool(reqs) and reqs[0]["seq"] != 1,
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
def run_ours(emu, fleet, hosts, scale, forks, workdir, timeout, poll_interval, extra_vars) -> dict:
    emu.control.reset(fleet)
    workdir.mkdir(parents=True)
    (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory(hosts)))
    run_tag = f"bench-{int(time.time())}-f{forks}"
    ev = {"vm_access_run_tag": run_tag, "vm_access_poll_interval": poll_interval,
          "vm_access_report_dir": str(workdir / "reports")}
    ev.update(extra_vars)
    (workdir / "extra.json").write_text(json.dumps(ev))
    cmd = [str(BIN / "ansible-playbook"), str(REPO / "playbooks" / "reset_rdp.yml"), "-i", "inventory.yml",
           "-f", str(forks), "-e", "@extra.json"]
    proc = run_playbook(cmd, ansible_env(emu, workdir), workdir, timeout, emu.pid)
    result = {"approach": f"ours (reset_rdp.yml, forks {forks})", "forks": forks, "measured_vms": len(hosts),
              "extrapolated": False, **proc, **analyse(emu, hosts, run_tag, scale, workdir),
              "slowest_tasks": task_times(workdir / "ansible.log")}
    reports = sorted((workdir / "reports").glob("*.json"))
    if reports:
        report = json.loads(reports[-1].read_text())
        result["report_summary"] = report.get("summary")
    return result


def run_per_host(emu, fleet, hosts, scale, forks, workdir, timeout) -> dict:
    emu.control.reset(fleet)
    workdir.mkdir(parents=True)
    (workdir / "inventory.yml").write_text(yaml.safe_dump(inventory(hosts)))
    (workdir / "play.yml").write_text(yaml.safe_dump(PER_HOST_PLAY, sort_keys=False))
    run_tag = f"bench-{int(time.time())}-ph{forks}"
    cmd = [str(BIN / "ansible-playbook"), "play.yml", "-i", "inventory.yml", "-f", str(forks),
           "-e", f"bench_run_tag={run_tag}"]
    proc = run_playbook(cmd, ansible_env(emu, workdir), workdir, timeout, emu.pid)
    return {"approach": f"per-host module (forks {forks})", "forks": forks, "measured_vms": len(hosts),
            **proc, **analyse(emu, hosts, run_tag, scale, workdir)}


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
    """Targets for a row; a sample row gets its wall time extrapolated linearly to N."""
    m = row["measured_vms"]
    row["extrapolated"] = m < n
    row["wall_n_s"] = row["wall_s"] * n / m
    row["t_min_s"] = tmin_n
    row["ratio"] = row["wall_n_s"] / tmin_n if tmin_n else None
    row["share_429"] = row["status_429"] / row["arm_requests"] if row["arm_requests"] else 0.0
    row["memory_mib"] = max(row["tree_peak_pss_mib"], row["ru_maxrss_mib"])
    row["targets"] = {
        "wall <= 1.3 x T_min": row["ratio"] is not None and row["ratio"] <= TARGET_RATIO,
        "zero failed fixable VMs": row["failed_fixable"] == 0 and row["rc"] == 0,
        "429s <= 1% of requests": row["share_429"] <= TARGET_429_SHARE,
        "<= 1 write per VM": row["max_writes_one_vm"] <= TARGET_WRITES_PER_VM,
        "controller memory < 1 GB": row["memory_mib"] < TARGET_MEMORY_MIB,
    }
    row["pass"] = all(row["targets"].values())
    return row


def markdown(rows: list[dict], meta: dict) -> str:
    n, scale = meta["vms"], meta["time_scale"]
    lines = [
        f"## Fleet benchmark: RDP reset on {n} Windows VMs (emulator, time scale {scale})",
        "",
        f"{meta['cpus']} CPUs; {meta['groups']} resource groups; extension runs {meta['run_range']} simulated s "
        f"(longest seeded {meta['longest_s']:.1f} s); ARM limits on (writes 200 burst + 10/s, reads 250 + 25/s, "
        f"refill / time scale); `vm_access_poll_interval` = 15 s x {scale} = {meta['poll_interval']:g} s. "
        f"T_min = {scale} x (max(0, ({n} - 200) / 10) + {meta['longest_s']:.1f}) = **{meta['t_min_s']:.1f} s**. "
        f"Per-host rows ran on a sample and are extrapolated linearly to {n} VMs (marked *). "
        "Memory: peak PSS summed over the ansible-playbook process tree (sampled from /proc every 0.25 s); "
        "ru_maxrss: the largest single process (os.wait4).",
        "",
        "| approach | VMs run | wall (s) | wall for N (s) | T_min (s) | ratio | 429s / ARM requests | reads / VM "
        "| writes / VM (max one VM) | op polls / VM | controller CPU (s) | emulator CPU (s) | memory PSS / ru_maxrss "
        "(MiB) | fixed / failed fixable | targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        star = "*" if r["extrapolated"] else ""
        missed = [k for k, ok in r["targets"].items() if not ok]
        verdict = "PASS" if r["pass"] else "FAIL: " + "; ".join(missed)
        lines.append(
            f"| {r['approach']} | {r['measured_vms']} | {r['wall_s']:.1f} | {r['wall_n_s']:.1f}{star} "
            f"| {r['t_min_s']:.1f} | {r['ratio']:.2f}{star} | {r['status_429']} / {r['arm_requests']} "
            f"({100 * r['share_429']:.2f}%) | {r['reads_per_vm']:.3f} | {r['writes_per_vm']:.2f} "
            f"({r['max_writes_one_vm']}) | {r['operation_polls_per_vm']:.2f} | {r['cpu_s']:.1f} "
            f"| {r['emulator_cpu_s']:.1f} | {r['tree_peak_pss_mib']:.0f} / {r['ru_maxrss_mib']:.0f} "
            f"| {r['fixed']} / {r['failed_fixable']} | {verdict} |")
    lines.append("")
    lines.append("Writes per VM counts every write request, 429-rejected ones too (max accepted writes on one VM: "
                 + ", ".join(f"{r['approach']}: {r['max_accepted_writes_one_vm']}" for r in rows) + ").")
    lines.append("")
    lines.append("1-minute load average before / after each run (2 CPUs; other work on the machine inflates wall "
                 "times, not CPU seconds): " + ", ".join(f"{r['approach']}: {r['loadavg_1min_before_after']}"
                                                         for r in rows) + ".")
    lines.append("")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=4, help="resource groups")
    parser.add_argument("--time-scale", type=float, default=0.25,
                        help="the smallest scale at which the fleet action's PUT phase still tracks ARM's budget here")
    parser.add_argument("--poll-interval", type=float, default=None,
                        help="vm_access_poll_interval in real seconds (default 15 x time scale)")
    parser.add_argument("--ours-forks", default="5", help="comma-separated forks for reset_rdp.yml")
    parser.add_argument("--per-host-forks", default="5,50", help="comma-separated; empty to skip")
    parser.add_argument("--per-host-sample", type=int, default=25,
                        help="hosts per per-host run (at least one wave: raised to forks when smaller)")
    parser.add_argument("--engine", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the diagnostic row: the fleet action alone, without the role's per-host tasks")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900.0, help="per ansible-playbook run (real s)")
    parser.add_argument("-e", "--extra-var", action="append", default=[], metavar="KEY=VALUE",
                        help="more extra vars for reset_rdp.yml (e.g. vm_access_max_workers=32)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    scale, n = args.time_scale, args.vms
    poll = args.poll_interval if args.poll_interval is not None else 15.0 * scale
    extra = dict(kv.split("=", 1) for kv in args.extra_var)
    subprocess.run([str(PYTHON), "-m", "tests.collection_link"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    fleet, durations = build_fleet(n, args.groups, args.seed)
    hosts = sorted(durations, key=lambda h: h[1])
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    rows = []
    try:
        with EmulatorProcess(work / "emulator", fleet=fleet, time_scale=scale) as emu:
            if args.engine:
                print(f"== diagnostic: the fleet action alone, {n} VMs ...", flush=True)
                row = run_engine(emu, fleet, hosts, scale, work / "engine", args.timeout, poll, extra)
                rows.append(row)
                print(f"   wall {row['wall_s']:.1f} s (action {row.get('action_duration_s')} s), rc {row['rc']}, "
                      f"fixed {row['fixed']}/{n}", flush=True)
            for forks in [int(f) for f in args.ours_forks.split(",") if f]:
                print(f"== ours, forks {forks}: {n} VMs ...", flush=True)
                row = run_ours(emu, fleet, hosts, scale, forks, work / f"ours-f{forks}", args.timeout, poll, extra)
                rows.append(row)
                print(f"   wall {row['wall_s']:.1f} s, rc {row['rc']}, fixed {row['fixed']}/{n}", flush=True)
            for forks in [int(f) for f in args.per_host_forks.split(",") if f]:
                k = min(n, max(args.per_host_sample, forks))
                sample = spread_sample(hosts, k)
                print(f"== per-host module, forks {forks}: sample of {k} VMs ...", flush=True)
                row = run_per_host(emu, fleet, sample, scale, forks, work / f"per-host-f{forks}", args.timeout)
                rows.append(row)
                print(f"   wall {row['wall_s']:.1f} s, rc {row['rc']}, fixed {row['fixed']}/{k}", flush=True)
            config = emu.control.config()
        longest = max(durations.values())
        tmin_n = t_min(n, longest, scale)
        rows = [finish_row(r, n, scale, tmin_n) for r in rows]
        meta = {"vms": n, "groups": args.groups, "time_scale": scale, "poll_interval": poll, "cpus": os.cpu_count(),
                "run_range": "[30, 90]", "longest_s": longest, "t_min_s": tmin_n, "seed": args.seed,
                "emulator_limits": config.get("limits"), "throttling_enabled": config.get("throttling_enabled"),
                "page_size": config.get("page_size"), "extra_vars": extra,
                "bench_rusage_children_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0}
        table = markdown(rows, meta)
        print()
        print(table)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "fleet.md").write_text(table + "\n")
        (out / "fleet.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str) + "\n")
        print(f"\nwrote {out / 'fleet.md'} and {out / 'fleet.json'}")
        return 0 if all(r["pass"] for r in rows if r["approach"].startswith("ours")) else 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
