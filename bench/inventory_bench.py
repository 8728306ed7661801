#!/usr/bin/env python
"""The azure_vms inventory plugin on a large fleet (not a test).

Seeds 5,000 VMs across 3 subscriptions (10 resource groups each; 80 % Windows, 90 % running) in a
local emulator (HTTPS on 127.0.0.1 only, ARM throttling on), then runs
``ansible-inventory -i bench.azure_vms.yml --list`` (every VM, ``power_states: [all]``) several
times and reports, per run:

- wall time of the ansible-inventory process (median of the runs, with min and max);
- ARM requests it made, from the emulator's request log, against the target
  "pages x 2 + subscriptions" (two list passes per subscription - the plain list and the
  ``statusOnly=true`` list - and no per-VM call), plus token and discovery requests;
- peak memory: ru_maxrss of the ansible-inventory process, read with
  ``resource.getrusage(RUSAGE_CHILDREN)`` in a small wrapper process that runs only it;
- that every VM became a host.

Also a run served from the inventory cache (``cache: true`` with the jsonfile plugin), and, if
the azure.azcollection peer environment exists (bench/peer/.venv, made by bench/peer/setup.sh),
the same fleet through its ``azure_rm`` inventory plugin (one configuration file per subscription,
since azure_rm reads one subscription per file).

    .venv/bin/python bench/inventory_bench.py [--runs 3] [--vms 5000] [--skip-peer] [--peer-runs 1]

Prints a Markdown table and writes it to bench/results/inventory.md (raw figures in
bench/results/inventory.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.emulator import EmulatorProcess  # noqa: E402
from tests.emulator.pytest_plugin import emulator_env_vars  # noqa: E402

RESULTS = REPO / "bench" / "results"
PEER = REPO / "bench" / "peer"
PEER_COLLECTIONS = PEER / "work" / "collections"
SUBSCRIPTIONS = ("00000000-0000-4000-8000-00000000a001", "00000000-0000-4000-8000-00000000a002",
                 "00000000-0000-4000-8000-00000000a003")
SHARES = (0.4, 0.34, 0.26)  # 2,000 / 1,700 / 1,300 of 5,000
RG_PER_SUB = 10
RUN_TIMEOUT_S = 1800

# Runs ``argv`` with stdout to a file and reports its wall time and ru_maxrss (kB on Linux): the
# wrapper's own RUSAGE_CHILDREN covers only that one child (and the child's own children).
WRAPPER = r"""
import json, resource, subprocess, sys, time
out = open(sys.argv[1], "wb")
err = open(sys.argv[2], "wb")
start = time.monotonic()
rc = subprocess.run(sys.argv[3:], stdout=out, stderr=err).returncode
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}))
"""


def fleet(total: int) -> tuple[dict, dict[str, int]]:
    subs, counts = [], {}
    remaining = total
    for s, (sub, share) in enumerate(zip(SUBSCRIPTIONS, SHARES)):
        n = remaining if s == len(SUBSCRIPTIONS) - 1 else round(total * share)
        remaining -= n
        counts[sub] = n
        groups = []
        for r in range(RG_PER_SUB):
            k = n // RG_PER_SUB + (1 if r < n % RG_PER_SUB else 0)
            groups.append({"name": f"rg-{s + 1}-{r:02d}", "location": ("westeurope", "northeurope", "eastus")[r % 3],
                           "vms": [{"name": f"vm{s + 1}{r:02d}-{{i:04d}}", "count": k,
                                    "os": {"windows": 0.8, "linux": 0.2},
                                    "power_state": {"running": 0.9, "deallocated": 0.1},
                                    "tags": {"env": ("prod", "dev")[r % 2], "team": f"t{r}"}}]})
        subs.append({"id": sub, "name": f"bench-{s + 1}", "resource_groups": groups})
    return {"seed": 42, "subscriptions": subs}, counts


def expected_pages(counts: dict[str, int], page_size: int) -> int:
    return sum(max(1, math.ceil(n / page_size)) for n in counts.values())


def base_env(emu: EmulatorProcess, workdir: Path, collections: str, python: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "ANSIBLE_", "ARM_")) and k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    env.update(emulator_env_vars(emu))
    (workdir / "home").mkdir(parents=True, exist_ok=True)
    env.update({
        "HOME": str(workdir / "home"),
        "AZURE_CONFIG_DIR": str(workdir / "azure-config"),
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_PYTHON_INTERPRETER": python,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    })
    return env


def measure(emu: EmulatorProcess, cmd: list[str], env: dict, workdir: Path, label: str) -> dict:
    mark = emu.control.counters()["last_seq"]
    load1 = os.getloadavg()[0]
    out, err = workdir / f"{label}.out.json", workdir / f"{label}.err.txt"
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(out), str(err)] + cmd, env=env, cwd=str(workdir),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    figures = json.loads(proc.stdout)
    requests = emu.control.requests(since=mark)
    figures["arm"] = sum(1 for r in requests if r["kind"] in ("read", "write", "operation"))
    lists = [r for r in requests if r["kind"] == "read" and r["path"].rstrip("/").lower().endswith("/virtualmachines")]
    figures["arm_lists"] = len(lists)
    figures["arm_status_lists"] = sum(1 for r in lists if "statusonly=true" in (r["query"] or "").lower())
    figures["arm_other"] = figures["arm"] - len(lists)   # anything but a list page: per-VM calls among them
    figures["load1_before"] = load1
    figures["tokens"] = sum(1 for r in requests if r["kind"] == "identity")
    figures["discovery"] = sum(1 for r in requests if r["kind"] == "metadata")
    figures["throttled"] = sum(1 for r in requests if r["status"] == 429)
    figures["errors"] = sum(1 for r in requests if r["status"] >= 400 and r["status"] != 429)
    figures["hosts"] = None
    if figures["rc"] == 0:
        try:
            figures["hosts"] = len(json.loads(out.read_text())["_meta"]["hostvars"])
        except (ValueError, KeyError):
            pass
    if figures["rc"] != 0:
        figures["stderr_tail"] = err.read_text(errors="replace")[-1500:]
    return figures


def summarise(name: str, runs: list[dict], note: str = "") -> dict:
    walls = [r["wall_s"] for r in runs]
    cpus = [r["cpu_s"] for r in runs]
    return {
        "cpu_median_s": statistics.median(cpus),
        "cpu_min_s": min(cpus),
        "cpu_max_s": max(cpus),
        "name": name,
        "runs": len(runs),
        "wall_median_s": statistics.median(walls),
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "arm": sorted({r["arm"] for r in runs}),
        "arm_lists": sorted({r["arm_lists"] for r in runs}),
        "arm_status_lists": sorted({r["arm_status_lists"] for r in runs}),
        "arm_other": sorted({r["arm_other"] for r in runs}),
        "load1": [round(r["load1_before"], 1) for r in runs],
        "tokens": sorted({r["tokens"] for r in runs}),
        "discovery": sorted({r["discovery"] for r in runs}),
        "throttled": sum(r["throttled"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "hosts": sorted({r["hosts"] for r in runs}, key=lambda h: -1 if h is None else h),
        "peak_rss_mib": max(r["maxrss_kb"] for r in runs) / 1024.0,
        "rc": sorted({r["rc"] for r in runs}),
        "note": note,
    }


def run_ours(emu, tmp: Path, runs: int, counts: dict[str, int]) -> list[dict]:
    workdir = tmp / "ours"
    workdir.mkdir()
    coll = str(REPO / "collections")
    env = base_env(emu, workdir, coll, sys.executable)
    exe = str(Path(sys.executable).parent / "ansible-inventory")
    # the plugin's defaults but every VM (power_states: [all]); azure_rm_aliases is false by default
    config = {"plugin": "azure_ops.vm_access.azure_vms", "subscriptions": list(SUBSCRIPTIONS),
              "power_states": ["all"]}
    (workdir / "bench.azure_vms.yml").write_text(yaml.safe_dump(config))
    cmd = [exe, "-i", "bench.azure_vms.yml", "--list"]
    measure(emu, cmd, env, workdir, "warmup")  # imports into the page cache, .pyc files
    listed = [measure(emu, cmd, env, workdir, f"run{i}") for i in range(runs)]

    aliases_cfg = dict(config, azure_rm_aliases=True)
    (workdir / "aliases.azure_vms.yml").write_text(yaml.safe_dump(aliases_cfg))
    cmd_aliases = [exe, "-i", "aliases.azure_vms.yml", "--list"]
    aliases = [measure(emu, cmd_aliases, env, workdir, f"aliases{i}") for i in range(runs)]

    cached_cfg = dict(config, cache=True, cache_plugin="ansible.builtin.jsonfile",
                      cache_connection=str(workdir / "cache"), cache_timeout=3600)
    (workdir / "cached.azure_vms.yml").write_text(yaml.safe_dump(cached_cfg))
    cmd_cached = [exe, "-i", "cached.azure_vms.yml", "--list"]
    fill = measure(emu, cmd_cached, env, workdir, "cache-fill")
    cached = [measure(emu, cmd_cached, env, workdir, f"cached{i}") for i in range(runs)]
    return [summarise("ours: azure_ops.vm_access.azure_vms (defaults, azure_rm_aliases: false)", listed),
            summarise("ours, azure_rm_aliases: true", aliases),
            summarise("ours, cache filled (first run, cache: true)", [fill]),
            summarise("ours, from the cache (cache: true)", cached)]


def peer_available() -> tuple[bool, str]:
    python = PEER / ".venv" / "bin" / "python"
    inventory = PEER / ".venv" / "bin" / "ansible-inventory"
    plugin = PEER_COLLECTIONS / "ansible_collections" / "azure" / "azcollection" / "plugins" / "inventory" / "azure_rm.py"
    if not (python.exists() and inventory.exists()):
        return False, "bench/peer/.venv does not exist (run bench/peer/setup.sh)"
    if not plugin.exists():
        return False, "azure.azcollection is not extracted under bench/peer/work/collections"
    probe = subprocess.run([str(python), "-c", "import azure.identity, azure.mgmt.compute, azure.mgmt.network"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return False, "the peer's requirements are not installed: " + probe.stderr.strip().splitlines()[-1]
    return True, ""


def run_peer(emu, tmp: Path, runs: int, expected_hosts: int) -> list[dict]:
    """``runs`` measured runs, no warm-up run (each takes minutes: it makes per-VM calls)."""
    workdir = tmp / "peer"
    (workdir / "inventory").mkdir(parents=True)
    python = str(PEER / ".venv" / "bin" / "python")
    env = base_env(emu, workdir, str(PEER_COLLECTIONS), python)
    env["PATH"] = "%s:%s" % (PEER / ".venv" / "bin", env.get("PATH", ""))
    for i, sub in enumerate(SUBSCRIPTIONS):
        config = {"plugin": "azure.azcollection.azure_rm", "auth_source": "env", "subscription_id": sub,
                  "include_vm_resource_groups": ["*"], "plain_host_names": True,
                  "default_host_filters": [],  # every VM, as ours with power_states: [all]
                  # The emulator has no /batch endpoint (azure_rm's default "unsupported batch API"):
                  # azure_rm then reads each VM's instance view and NIC with its own GET.
                  "batch_fetch": False,
                  "keyed_groups": [{"prefix": "os", "key": "os_disk.operating_system_type"}]}
        (workdir / "inventory" / f"sub{i + 1}.azure_rm.yml").write_text(yaml.safe_dump(config))
    cmd = [str(PEER / ".venv" / "bin" / "ansible-inventory"), "-i", "inventory", "--list"]
    listed = [measure(emu, cmd, env, workdir, f"peer{i}") for i in range(runs)]
    note = ("batch_fetch: false (the emulator has no /batch endpoint), so azure_rm reads each VM's instance"
            " view and NIC with one GET each; the emulator has no Microsoft.Network provider, so each NIC GET"
            " answers 404 and azure_rm logs an error for it (on Azure the NIC GET succeeds, and public IPs add"
            " more calls)")
    if any(r["rc"] != 0 for r in listed):
        note = "failed: " + listed[-1].get("stderr_tail", "")[-600:]
    incomplete = [r["hosts"] for r in listed if r["hosts"] != expected_hosts]
    if incomplete:
        note += ("; INCOMPLETE: %s of %d VMs became hosts although ansible-inventory exited %s"
                 % ("/".join(str(h) for h in incomplete), expected_hosts, "/".join(str(r["rc"]) for r in listed)))
    # Keep the evidence: the last run's stderr (what azure_rm printed), without the emulator's secret.
    text = (workdir / ("peer%d.err.txt" % (runs - 1))).read_text(errors="replace")
    secret = env.get("AZURE_SECRET") or ""
    if secret:
        text = text.replace(secret, "********")
    lines = text.splitlines()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inventory-peer-stderr.txt").write_text(
        "# stderr of the last azure_rm run (%d lines; first 60 and last 60 shown)\n" % len(lines)
        + "\n".join(lines[:60] + ["..."] + lines[-60:]) + "\n")
    return [summarise("peer: azure.azcollection.azure_rm (3 files, one per subscription)", listed, note)]


# The last run on the lenient emulator (one list pass with instance views per subscription; the
# azure_rm aliases on by default), for comparison: bench/results/inventory.md of 2026-11-25 18:27 UTC.
PREVIOUS = """Previous run, on the lenient emulator (2026-11-25 18:27 UTC, load 3.6-4.3; one `statusOnly=true` list pass \
per subscription, which the lenient emulator answered with the full model and the instance view - strict Azure gives \
no model there; the aliases were on by default):

| inventory | runs | wall median (min-max) s | CPU median (min-max) s | ARM requests (list pages) | target ≤ pages + subs \
| tokens | discovery | 429s | hosts | peak RSS MiB |
|---|---|---|---|---|---|---|---|---|---|---|
| ours: azure_ops.vm_access.azure_vms (aliases on) | 3 | 14.41 (12.78-16.55) | 8.86 (8.47-9.88) | 50 (50) | yes (53) \
| 1 | 2 | 0 | 5000 | 297 |
| ours, azure_rm_aliases: false | 3 | 7.00 (6.40-9.95) | 6.25 (5.97-6.69) | 50 (50) | yes (53) | 1 | 2 | 0 | 5000 | 234 |
| ours, cache filled (first run, cache: true) | 1 | 25.89 (25.89-25.89) | 10.27 (10.27-10.27) | 50 (50) | yes (53) | 1 \
| 2 | 0 | 5000 | 306 |
| ours, from the cache (cache: true) | 3 | 18.44 (11.17-23.08) | 7.96 (7.39-8.14) | 0 (0) | yes (53) | 0 | 0 | 0 | 5000 \
| 295 |
| peer: azure.azcollection.azure_rm (3 files, one per subscription) | 1 | 13.34 (13.34-13.34) | 8.29 (8.29-8.29) \
| 2415 (15) | no (53) | 3 | 4 | 341 | 1200 | 250 |"""


def fmt(values: list) -> str:
    return "/".join(str(v) for v in values)


def table(rows: list[dict], target: int) -> str:
    lines = ["| inventory | runs | wall median (min-max) s | CPU median (min-max) s | ARM requests "
             "(list pages: plain + statusOnly; other) | target ≤ pages × 2 + subs | tokens | discovery | 429s | hosts "
             "| peak RSS MiB | load (1 min, per run) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok = all(a <= target for a in r["arm"])
        plain = "/".join(str(a - b) for a, b in zip(r["arm_lists"], r["arm_status_lists"]))
        lines.append("| %s | %d | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %s (%s + %s; %s) | %s | %s | %s | %d | %s | %.0f "
                     "| %s |" % (
                         r["name"], r["runs"], r["wall_median_s"], r["wall_min_s"], r["wall_max_s"], r["cpu_median_s"],
                         r["cpu_min_s"], r["cpu_max_s"], fmt(r["arm"]), plain, fmt(r["arm_status_lists"]),
                         fmt(r["arm_other"]), ("yes (%d)" % target) if ok else ("no (%d)" % target),
                         fmt(r["tokens"]), fmt(r["discovery"]), r["throttled"], fmt(r["hosts"]), r["peak_rss_mib"],
                         ", ".join("%.1f" % x for x in r["load1"])))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--peer-runs", type=int, default=1, help="runs of azure_rm (minutes each; default 1)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    data, counts = fleet(args.vms)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="inventory-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # Time scale 1: ARM throttling (token buckets refilled per simulated second) runs in real time.
        with EmulatorProcess(tmp / "emulator", time_scale=1.0) as emu:
            emu.control.reset()
            seeded = emu.control.add_fleet(data)
            page_size = emu.control.config()["page_size"]
            pages = expected_pages(counts, page_size)
            target = 2 * pages + len(SUBSCRIPTIONS)   # two list passes per subscription
            print("seeded %d VMs in %d subscriptions; page size %d -> %d list pages"
                  % (seeded["vms_added"], len(SUBSCRIPTIONS), page_size, pages), file=sys.stderr)
            rows = run_ours(emu, tmp, args.runs, counts)
            peer_note = ""
            if args.skip_peer:
                peer_note = "skipped (--skip-peer)"
            else:
                available, why = peer_available()
                if available:
                    rows += run_peer(emu, tmp, args.peer_runs, args.vms)
                else:
                    peer_note = "skipped: " + why

    load_after = os.getloadavg()
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# Inventory benchmark: %d VMs across %d subscriptions" % (args.vms, len(SUBSCRIPTIONS)),
        "",
        "`%s` on %s, Python %s, %d CPUs, %s. Emulator on 127.0.0.1 (ARM throttling on in real time:"
        " 250 reads burst, 25/s per subscription and principal; page size %d)."
        % (" ".join(["bench/inventory_bench.py"] + sys.argv[1:]), platform.node() or "host",
           platform.python_version(), os.cpu_count() or 0, stamp, page_size),
        "`ansible-inventory --list` with every VM as a host (`power_states: [all]`); wall time and peak RSS are"
        " those of the ansible-inventory process (peak RSS = ru_maxrss via getrusage(RUSAGE_CHILDREN) in a"
        " wrapper that runs only it); CPU is its user + system time. ARM requests are counted in the emulator's"
        " request log. The emulator runs on the same machine (its CPU is not counted); 1-minute load average"
        " %.1f before, %.1f after: wall times on a busy machine are mostly waiting, CPU times are the steadier"
        " figure." % (load_before[0], load_after[0]),
        "",
        table(rows, target),
        "",
        "Fleet per subscription: %s VMs; %d list pages of %d VMs per pass, two passes per subscription (the"
        " plain list and the `statusOnly=true` list), so the target is %d pages x 2 + %d subscriptions = %d ARM"
        " requests, and no per-VM call ('other' = 0)." % (
            ", ".join(str(counts[s]) for s in SUBSCRIPTIONS), pages, page_size, pages, len(SUBSCRIPTIONS), target),
        "",
        PREVIOUS,
    ]
    if peer_note:
        md += ["", "Peer (azure.azcollection `azure_rm`): %s." % peer_note]
    for r in rows:
        if r["note"]:
            md += ["", "%s: %s" % (r["name"], r["note"])]
    text = "\n".join(md) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inventory.md").write_text(text)
    (RESULTS / "inventory.json").write_text(json.dumps({"rows": rows, "counts": counts, "pages": pages,
                                                        "target": target, "peer": peer_note}, indent=2) + "\n")
    return 0 if all(r["rc"] == [0] for r in rows if r["name"].startswith("ours")) else 1


if __name__ == "__main__":
    sys.exit(main())
