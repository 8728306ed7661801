#!/usr/bin/env python
"""RDP fleet diagnosis benchmark (a script, not a timed test): the engine of ``vm_rdp_fleet`` on the emulator.

Builds what the action plugin ``plugins/action/vm_rdp_fleet.py`` builds, in this process: the task's
options through ``fleet_spec()`` (ArgumentSpecValidator) and ``rdp_options()``, one ``Pacing``, one
``AzureSession`` (``retry_budget_s`` = wait_timeout, ``on_response`` = pacing.observe, credentials from
the environment: the emulator's env.sh), each host's ``VmTarget`` from its hostvars (resource_group +
vm_name) with ``target_from_hostvars()``, then ``RdpEngine(session.api, options, pacing=...).run(targets)``.
No Ansible process: what is measured is the engine and its ARM traffic.

The fleet: G resource groups (default 10) of Windows VMs (running, agent ready, 20 % with RDP off), each
group with its own virtual network, subnet and subnet NSG (the fleet format's ``network:`` key); in
every group 10 % of the VMs have an NSG of their own on the NIC (``{vm}-nsg``, half of them denying 3389
from the Internet) and another 10 % share one NIC NSG per group (an office-range allow rule). Run Command
takes the emulator's default 20 simulated seconds. ARM throttling on, Azure's limits (reads 250 burst +
25/s, writes 200 burst + 10/s per subscription and principal, refill divided by the time scale).

Scenarios, each repeated ``--repeat`` times from a freshly seeded fleet (``control.reset``):

1. ``diagnose`` without guest checks on ``--vms`` VMs (default 1,000). ARM requests from the emulator's
   request log, by kind: VM list pages (plain and statusOnly), per-VM VM GETs, extension reads, NIC
   list pages, NIC, subnet and NSG GETs (total and distinct), writes, operation polls, 429s; against the
   expected shape (list pages, one NIC list per group of at least LIST_THRESHOLD VMs and one NIC GET per
   VM of a smaller group, each subnet and NSG once).
2. ``diagnose`` with guest checks (one Run Command ``RunPowerShellScript`` per VM, the read-only check
   script) on each of ``--guest-vms`` (default 200 and 1,000). Wall time, phases (from the engine's
   progress lines; the guest checks split at the last accepted Run Command POST of the emulator's log
   into starting the runs and following them to the end, with the polls sent before that last start),
   Run Command POSTs by status, 429s, the pacer's waits (``Pacing.summary()`` and
   per budget; seconds summed over the worker threads), the write rate achieved (peak per real second;
   sustained after the burst, per simulated second) against the emulator's budget, and the floor the
   write budget sets: scale x max(0, (writes - 200) / 10).

``poll_interval`` is the action's default (10 s) x the time scale; ``max_workers`` the action's default
(16). Medians over the repetitions, with min-max where they differ. Time scale 0.2 by default: the write
budget then refills at 50 per real second, well below what 16 workers POST here (about 200 per second),
so on 1,000 VMs the budget, not the client, sets the pace; the whole run takes about 3 minutes on 2 CPUs.
``--repeat-large-guest`` lowers the repetitions of the guest checks on more than 500 VMs.

    .venv/bin/python bench/rdp_bench.py                                  # defaults (make bench-rdp)
    .venv/bin/python bench/rdp_bench.py --vms 200 --guest-vms 50 --repeat 1     # smoke

Prints a Markdown table and writes it to bench/results/rdp.md (raw figures: bench/results/rdp.json,
git-ignored). Binds 127.0.0.1 only; every wait is bounded (wait_timeout).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.collection_link import inject  # noqa: E402

inject()  # this checkout as ansible_collections.azure_ops.vm_access (what tests/conftest.py does)

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

import ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine as rdp_engine_module  # noqa: E402
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession  # noqa: E402
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing  # noqa: E402
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine import RdpEngine  # noqa: E402
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.reading import LIST_THRESHOLD  # noqa: E402
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_result import rdp_summary  # noqa: E402
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import (  # noqa: E402
    target_from_hostvars,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import (  # noqa: E402
    fleet_spec,
    rdp_options,
)
from tests.emulator import EmulatorProcess  # noqa: E402
from tests.emulator.pytest_plugin import emulator_env_vars  # noqa: E402

RESULTS = REPO / "bench" / "results"
READ_BURST, READ_PER_S = 250, 25.0             # ARM's read budget (per simulated second)
WRITE_BURST, WRITE_PER_S = 200, 10.0           # ARM's write budget (per simulated second)
ACTION_POLL_INTERVAL = 10.0                    # fleet_spec()'s poll_interval default (real s)
RUN_COMMAND_S = 20.0                           # the emulator's default run_command_duration_s
STEADY_TOKENS = 20                             # write budget below this: the burst is spent

# ARM paths, lower case
RE_VM = re.compile(r"/providers/microsoft\.compute/virtualmachines/[^/]+$")
RE_VM_LIST = re.compile(r"/providers/microsoft\.compute/virtualmachines$")
RE_EXT = re.compile(r"/virtualmachines/[^/]+/extensions(/[^/]+)?$")
RE_RUN_COMMAND = re.compile(r"/virtualmachines/[^/]+/runcommand$")
RE_NIC = re.compile(r"/providers/microsoft\.network/networkinterfaces/[^/]+$")
RE_NIC_LIST = re.compile(r"/providers/microsoft\.network/networkinterfaces$")
RE_SUBNET = re.compile(r"/providers/microsoft\.network/virtualnetworks/[^/]+/subnets/[^/]+$")
RE_NSG = re.compile(r"/providers/microsoft\.network/networksecuritygroups/[^/]+$")


# --- the fleet ---------------------------------------------------------------------------------
def build_fleet(n: int, groups: int) -> tuple[dict, list[tuple[str, str]], dict]:
    """(fleet, [(resource group, vm name)], expected distinct network reads)."""
    per = [n // groups + (1 if g < n % groups else 0) for g in range(groups)]
    rgs, hosts, own_nsgs, shared_nsgs = [], [], 0, 0
    for g, k in enumerate(per):
        if not k:
            continue
        rg = f"rg-rdp-{g:02d}"
        own, shared = k // 10, k // 10
        plain = k - own - shared
        specs = [{"name": f"win-{g:02d}-{{i:04d}}", "count": plain}]
        if own:   # each its own NIC NSG ({vm}-nsg); half of those deny RDP from the Internet
            specs.append({"name": f"win-{g:02d}-{{i:04d}}", "start": plain + 1, "count": own,
                          "nsg": {"deny_rdp_from_internet": g % 2 == 0, "allow_rdp_from_internet": g % 2 == 1}})
        if shared:  # one NIC NSG shared by these VMs of the group
            specs.append({"name": f"win-{g:02d}-{{i:04d}}", "start": plain + own + 1, "count": shared,
                          "nsg": {"name": f"{rg}-office-nsg", "rules": [
                              {"name": "AllowRdpFromOffice", "priority": 200, "access": "Allow", "protocol": "Tcp",
                               "source_address_prefix": "203.0.113.0/24", "destination_port_range": "3389"}]}})
            shared_nsgs += 1
        own_nsgs += own
        rgs.append({"name": rg, "location": "westeurope",
                    "network": {"vnet": f"{rg}-vnet", "address_prefix": f"10.{g}.0.0/16", "subnet": "vms",
                                "subnet_prefix": f"10.{g}.0.0/20",
                                "nsg": {"name": f"{rg}-subnet-nsg", "allow_rdp_from_internet": True}},
                    "vms": specs})
        hosts += [(rg, f"win-{g:02d}-{i:04d}") for i in range(1, k + 1)]
    fleet = {"seed": 15, "defaults": {"os": "windows", "power_state": "running", "agent": "ready",
                                      "rdp": {"ok": 0.8, "broken": 0.2}, "admin_username": "azureadmin"},
             "resource_groups": rgs}   # the default subscription (AZURE_SUBSCRIPTION_ID)
    expected = {"vms": n, "nics": n, "subnets": len(rgs), "nsgs": len(rgs) + own_nsgs + shared_nsgs,
                "nic_nsgs_own": own_nsgs, "nic_nsgs_shared": shared_nsgs, "groups": len(rgs),
                "group_sizes": [k for k in per if k]}
    return fleet, hosts, expected


# --- one run -----------------------------------------------------------------------------------
def task_params(guest_checks: bool, poll_interval: float) -> dict:
    """The task's arguments validated as the action does (FleetAction.validate)."""
    args = {"mode": "diagnose", "guest_checks": guest_checks, "poll_interval": poll_interval}
    result = ArgumentSpecValidator(fleet_spec()).validate(args)
    if result.error_messages:
        raise SystemExit("invalid task arguments: %s" % result.error_messages)
    return result.validated_parameters


def run_engine(hosts: list[tuple[str, str]], guest_checks: bool, poll_interval: float) -> dict:
    """The body of vm_rdp_fleet's ActionModule.work (mode diagnose), in-process."""
    params = task_params(guest_checks, poll_interval)
    options = rdp_options(params, repair=False, check_mode=False, max_workers=params["max_workers"])
    options.progress_interval = 0.0   # every stage line, for the phase times (display only)
    started, started_epoch = time.monotonic(), time.time()
    lines = []
    pacing = Pacing()
    session = AzureSession(params, retry_budget_s=params.get("wait_timeout") or None, on_response=pacing.observe)
    targets = [target_from_hostvars(f"{rg}/{vm}", {"resource_group": rg, "vm_name": vm},
                                    session.default_subscription) for rg, vm in hosts]
    engine = RdpEngine(session.api, options, pacing=pacing,
                       progress=lambda line: lines.append((time.monotonic() - started, line)))
    results = engine.run(targets)
    wall = time.monotonic() - started
    subs = list(pacing._subscriptions.values())
    return {"wall_s": wall, "started_epoch": started_epoch, "summary": rdp_summary(results), "pacing": pacing.summary(),
            "reads_waited_s": sum(s.reads.waited_s for s in subs),
            "writes_waited_s": sum(s.writes.waited_s for s in subs),
            "reads_throttled": sum(s.reads.throttled for s in subs),
            "writes_throttled": sum(s.writes.throttled for s in subs),
            "network_reads_engine": engine._network_reads(),
            "phases": phases(lines, wall), "progress": [(round(t, 2), line) for t, line in lines],
            "outcomes": Counter(r["outcome"] for r in results),
            "guest_checked": sum(1 for r in results if r.get("guest") is not None),
            "guest_check_failed": sum(1 for r in results if "guest_check_failed" in (r.get("findings") or [])),
            "nsg_blocked": sum(1 for r in results if (r.get("network") or {}).get("allowed") is False)}


def phases(lines: list[tuple[float, str]], wall: float) -> dict:
    """Seconds spent reading the VMs, their networks, and in the guest checks (from the stage lines)."""
    read = next((t for t, line in lines if line.startswith("read ")), None)
    net = next((t for t, line in lines if line.startswith("network read")), None)
    out = {"vms_s": read}
    if read is not None and net is not None:
        out["network_s"] = net - read
    guest = [t for t, line in lines if line.startswith("guest checks")]
    if net is not None and guest:
        out["guest_s"] = guest[-1] - net
    return out


def start_and_follow(row: dict, requests: list[dict]) -> dict:
    """The guest phase split at the last accepted Run Command POST (the emulator's log time, on this machine's
    clock): starting every run, then following the rest to the end; and the polls sent while runs were still
    being started."""
    net = row["phases"].get("network_s")
    posts = [q["ts"] for q in requests if classify(q) == "Run Command POST" and q["status"] == 202]
    if net is None or not posts or "guest_s" not in row["phases"]:
        return {}
    guest_from = row["phases"]["vms_s"] + net
    last_start = max(posts) - row["started_epoch"]
    polls = [q["ts"] for q in requests if q["kind"] == "operation"]
    return {"guest_starts_s": last_start - guest_from,
            "guest_follow_s": guest_from + row["phases"]["guest_s"] - last_start,
            "polls_before_last_start": sum(1 for t in polls if t < max(posts)),
            "first_poll_after_first_start_s": (min(polls) - min(posts)) if polls else None}


# --- the request log -------------------------------------------------------------------------
READ_KINDS = ((RE_VM, "VM GET (per VM)"), (RE_EXT, "extension read (per VM)"), (RE_NIC, "NIC GET"),
              (RE_NIC_LIST, "NIC list page"), (RE_SUBNET, "subnet GET"), (RE_NSG, "NSG GET"),
              (re.compile(r"/runcommands"), "Run Command document"))


def classify(q: dict) -> str:
    path, method, query = q["path"].lower(), q["method"], (q.get("query") or "").lower()
    if q["kind"] == "identity":
        return "token"
    if q["kind"] == "metadata":
        return "discovery"
    if q["kind"] == "operation":
        return "operation poll"
    if q["kind"] == "write":
        if RE_RUN_COMMAND.search(path):
            return "Run Command POST"
        return f"write {method} (other)"
    if q["kind"] != "read":
        return f"other ({q['kind']})"
    if RE_VM_LIST.search(path):
        return "VM list page (statusOnly)" if "statusonly=true" in query else "VM list page (plain)"
    return next((label for pattern, label in READ_KINDS if pattern.search(path)), "read (other)")


def analyse_requests(requests: list[dict], n: int, scale: float) -> dict:
    kinds = Counter(classify(q) for q in requests)
    arm = [q for q in requests if q["kind"] in ("read", "write", "operation")]
    distinct = {k: len({q["path"].lower() for q in requests if classify(q) == k})
                for k in ("NIC GET", "subnet GET", "NSG GET", "VM GET (per VM)")}
    statuses = Counter((classify(q), q["status"]) for q in requests)
    out = {"by_kind": dict(kinds), "distinct": distinct,
           "status_by_kind": {f"{k} {s}": v for (k, s), v in sorted(statuses.items())},
           "arm_requests": len(arm), "arm_per_vm": len(arm) / n,
           "reads": sum(1 for q in arm if q["kind"] == "read"),
           "writes": sum(1 for q in arm if q["kind"] == "write"),
           "polls": sum(1 for q in arm if q["kind"] == "operation"),
           "status_429": sum(1 for q in requests if q["status"] == 429),
           "status_429_by_kind": dict(Counter(q["kind"] for q in requests if q["status"] == 429)),
           "errors": sum(1 for q in arm if q["status"] >= 400 and q["status"] != 429)}
    out["max_nic_gets_one_vm"] = max(Counter(q["path"].lower() for q in requests
                                             if classify(q) == "NIC GET").values(), default=0)
    writes = sorted(q["ts"] for q in arm if q["kind"] == "write" and q["status"] < 400)
    out["write_rate"] = write_rate(writes, scale)
    return out


def write_rate(stamps: list[float], scale: float) -> dict:
    """Accepted writes over time (emulator's clock): peak in any real second, and the sustained rate after
    the budget's burst, in writes per simulated second (the budget refills 10 per simulated second)."""
    if not stamps:
        return {"accepted": 0}
    t0 = stamps[0]
    span = stamps[-1] - t0
    peak, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] < t - 1.0:
            j += 1
        peak = max(peak, i - j + 1)
    out = {"accepted": len(stamps), "span_s": span, "peak_per_real_s": peak,
           "budget_per_real_s": WRITE_PER_S / scale}
    # Replay the emulator's bucket on the accepted writes: how low the budget got, and from when it was spent
    # (below 20 tokens: the burst is used up and the refill sets the pace).
    tokens, last, low, steady = float(WRITE_BURST), t0, float(WRITE_BURST), None
    for i, t in enumerate(stamps):
        tokens = min(WRITE_BURST, tokens + (t - last) * WRITE_PER_S / scale)
        last = t
        tokens -= 1
        low = min(low, tokens)
        if steady is None and tokens < STEADY_TOKENS:
            steady = i
    out["lowest_remaining_replayed"] = low
    if steady is not None and len(stamps) - steady > 20:
        tail = stamps[steady:]
        out["steady_from_write"] = steady + 1
        out["sustained_per_sim_s"] = (len(tail) - 1) / (tail[-1] - tail[0]) * scale
        out["sustained_share_of_budget"] = out["sustained_per_sim_s"] / WRITE_PER_S
    return out


def measure(emu, fleet: dict, hosts, guest_checks: bool, scale: float, poll: float) -> dict:
    emu.control.reset(fleet)
    mark = emu.control.counters()["last_seq"]
    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
    row = run_engine(hosts, guest_checks, poll)
    row["bench_cpu_s"] = time.process_time() - cpu0
    row["loadavg_before_after"] = (round(load0, 1), round(os.getloadavg()[0], 1))
    requests = emu.control.requests(since=mark)
    row.update(analyse_requests(requests, len(hosts), scale))
    row["phases"].update(start_and_follow(row, requests))
    counters = emu.control.counters()
    row["emulator_run_command_runs"] = counters.get("run_command_runs")
    return row


# --- figures -----------------------------------------------------------------------------------
def med(rows: list[dict], get) -> str:
    values = [get(r) for r in rows]
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    m = statistics.median(values)
    lo, hi = min(values), max(values)

    def f(v):
        if all(isinstance(x, int) for x in values) and float(v).is_integer():
            return f"{v:.0f}"
        return f"{v:.3f}" if abs(v) < 2 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"
    return f(m) if lo == hi else f"{f(m)} [{f(lo)}–{f(hi)}]"


def kind(r, k):
    return r["by_kind"].get(k, 0)


def pages_of(r: dict) -> int:
    return kind(r, "VM list page (plain)") + kind(r, "VM list page (statusOnly)")


def expected_nic_reads(expected: dict, page_size: int) -> tuple[int, int]:
    """(NIC list pages, NIC GETs): a list per group holding at least LIST_THRESHOLD of the VMs, a GET elsewhere."""
    listed = [k for k in expected["group_sizes"] if k >= LIST_THRESHOLD]
    return sum(-(-k // page_size) for k in listed), expected["nics"] - sum(listed)


def no_guest_table(rows: list[dict], expected: dict, scale: float, page_size: int) -> str:
    n = expected["vms"]
    exp_pages = -(-n // page_size)
    nic_pages, nic_gets = expected_nic_reads(expected, page_size)
    exp_reads = 2 * exp_pages + nic_pages + nic_gets + expected["subnets"] + expected["nsgs"]
    floor = scale * max(0.0, (exp_reads - READ_BURST) / READ_PER_S)
    lines = [
        "| figure | median [min–max] | expected | |",
        "|---|---|---|---|",
        f"| ARM requests (all) | {med(rows, lambda r: r['arm_requests'])} | {exp_reads} | "
        f"{'✅' if all(r['arm_requests'] == exp_reads for r in rows) else '❌'} |",
        f"| **ARM requests per VM** | **{med(rows, lambda r: r['arm_per_vm'])}** | {exp_reads / n:.3f} | |",
        f"| VM list pages: plain + statusOnly | {med(rows, lambda r: kind(r, 'VM list page (plain)'))} + "
        f"{med(rows, lambda r: kind(r, 'VM list page (statusOnly)'))} | {exp_pages} + {exp_pages} "
        f"(⌈{n} / {page_size}⌉ each) | {ok(rows, lambda r: pages_of(r) == 2 * exp_pages)} |",
        f"| NIC list pages | {med(rows, lambda r: kind(r, 'NIC list page'))} | {nic_pages} (one list per group of "
        f"≥ {LIST_THRESHOLD} VMs, ⌈VMs / {page_size}⌉ pages) | {ok(rows, lambda r: kind(r, 'NIC list page') == nic_pages)} |",
        f"| NIC GETs (distinct; most for one NIC) | {med(rows, lambda r: kind(r, 'NIC GET'))} "
        f"({med(rows, lambda r: r['distinct']['NIC GET'])}; {med(rows, lambda r: r['max_nic_gets_one_vm'])}) "
        f"| {nic_gets} (1 per VM of a smaller group) | {ok(rows, lambda r: kind(r, 'NIC GET') == nic_gets)} |",
        f"| subnet GETs (distinct) | {med(rows, lambda r: kind(r, 'subnet GET'))} "
        f"({med(rows, lambda r: r['distinct']['subnet GET'])}) | {expected['subnets']} (1 per subnet) "
        f"| {ok(rows, lambda r: kind(r, 'subnet GET') == expected['subnets'])} |",
        f"| NSG GETs (distinct) | {med(rows, lambda r: kind(r, 'NSG GET'))} ({med(rows, lambda r: r['distinct']['NSG GET'])})"
        f" | {expected['nsgs']} ({expected['groups']} subnet + {expected['nic_nsgs_own']} own NIC + "
        f"{expected['nic_nsgs_shared']} shared NIC) | {ok(rows, lambda r: kind(r, 'NSG GET') == expected['nsgs'])} |",
        f"| VM GETs (per VM) | {med(rows, lambda r: kind(r, 'VM GET (per VM)'))} | 0 (list passes from 8 VMs) "
        f"| {ok(rows, lambda r: kind(r, 'VM GET (per VM)') == 0)} |",
        f"| extension reads (per VM) | {med(rows, lambda r: kind(r, 'extension read (per VM)'))} | 0 "
        f"| {ok(rows, lambda r: kind(r, 'extension read (per VM)') == 0)} |",
        f"| other reads | {med(rows, lambda r: kind(r, 'read (other)') + kind(r, 'Run Command document'))} | 0 "
        f"| {ok(rows, lambda r: kind(r, 'read (other)') + kind(r, 'Run Command document') == 0)} |",
        f"| writes | {med(rows, lambda r: r['writes'])} | 0 | {ok(rows, lambda r: r['writes'] == 0)} |",
        f"| operation polls | {med(rows, lambda r: r['polls'])} | 0 | {ok(rows, lambda r: r['polls'] == 0)} |",
        f"| 429s | {med(rows, lambda r: r['status_429'])} | 0 | {ok(rows, lambda r: r['status_429'] == 0)} |",
        f"| token / discovery requests | {med(rows, lambda r: kind(r, 'token'))} / "
        f"{med(rows, lambda r: kind(r, 'discovery'))} | | |",
        f"| wall s (read-budget floor) | {med(rows, lambda r: r['wall_s'])} ({floor:.1f}) | | |",
        f"| wall s: VM lists / network reads | {med(rows, lambda r: r['phases'].get('vms_s'))} / "
        f"{med(rows, lambda r: r['phases'].get('network_s'))} | | |",
        f"| pacer waits, read budget (thread-s) | {med(rows, lambda r: r['reads_waited_s'])} | | |",
        f"| controller CPU s (bench process) | {med(rows, lambda r: r['bench_cpu_s'])} | | |",
        f"| VMs diagnosed ok / NSG blocks RDP | {med(rows, lambda r: r['outcomes'].get('ok', 0))} / "
        f"{med(rows, lambda r: r['nsg_blocked'])} | {n} / – | |",
    ]
    return "\n".join(lines)


def ok(rows, test) -> str:
    return "✅" if all(test(r) for r in rows) else "❌"


def guest_table(results: dict[int, list[dict]], scale: float) -> str:
    sizes = sorted(results)
    lines = ["| figure | " + " | ".join(f"{n} VMs ({len(results[n])} runs)" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]

    def row(label, *getters):
        """One line; several getters give 'a / b' per column."""
        cells = [" / ".join(med(results[n], get) for get in getters) for n in sizes]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def fixed(label, value):
        lines.append(f"| {label} | " + " | ".join(value(n) for n in sizes) + " |")

    def status(code):
        return lambda r: r["status_by_kind"].get(f"Run Command POST {code}", 0)
    row("**wall s**", lambda r: r["wall_s"])
    fixed("write-budget floor s: scale × max(0, (writes − 200) / 10)",
          lambda n: f"{scale * max(0.0, (n - WRITE_BURST) / WRITE_PER_S):.1f}")
    phase_getters = [lambda r, k=k: r["phases"].get(k) for k in ("vms_s", "network_s", "guest_s")]
    row("wall s: VM lists / network reads / guest checks", *phase_getters)
    row("guest checks: starting every Run Command / following them after the last start",
        lambda r: r["phases"].get("guest_starts_s"), lambda r: r["phases"].get("guest_follow_s"))
    row("operation polls sent before the last start / first poll s after the first start",
        lambda r: r["phases"].get("polls_before_last_start"),
        lambda r: r["phases"].get("first_poll_after_first_start_s"))
    row("Run Command POSTs (all answers)", lambda r: kind(r, "Run Command POST"))
    row("… 202 accepted / 409 busy / 429", status(202), status(409), status(429))
    row("other writes", lambda r: r["writes"] - kind(r, "Run Command POST"))
    row("429s, all requests", lambda r: r["status_429"])
    row("pacer: waited for the write budget (thread-s)", lambda r: r["writes_waited_s"])
    row("pacer: waited for the read budget (thread-s)", lambda r: r["reads_waited_s"])
    row("`Pacing.summary()`: waited_s / throttled", lambda r: r["pacing"]["waited_s"], lambda r: r["pacing"]["throttled"])
    row("accepted writes: peak in any real second", lambda r: r["write_rate"].get("peak_per_real_s"))
    fixed("emulator's write budget: burst + refill per real second",
          lambda n: f"{WRITE_BURST} + {WRITE_PER_S / scale:.0f}")
    row("sustained write rate once the burst is spent (per simulated s; refill 10)",
        lambda r: r["write_rate"].get("sustained_per_sim_s"))
    row("lowest write budget left (bucket replayed on the log)", lambda r: r["write_rate"].get("lowest_remaining_replayed"))
    row("operation polls", lambda r: r["polls"])
    row("reads (lists, network)", lambda r: r["reads"])
    row("ARM requests per VM", lambda r: r["arm_per_vm"])
    row("guest checked / check failed", lambda r: r["guest_checked"], lambda r: r["guest_check_failed"])
    row("controller CPU s (bench process)", lambda r: r["bench_cpu_s"])
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000, help="VMs of the diagnosis without guest checks")
    parser.add_argument("--guest-vms", default="200,1000", help="comma-separated fleet sizes with guest checks")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement")
    parser.add_argument("--repeat-large-guest", type=int, default=None,
                        help="repetitions of guest checks on more than 500 VMs (default: --repeat)")
    parser.add_argument("--groups", type=int, default=10, help="resource groups (each its own vnet, subnet, NSG)")
    parser.add_argument("--time-scale", type=float, default=0.2,
                        help="emulator time scale: refills / scale, Run Command 20 s x scale")
    parser.add_argument("--poll-interval", type=float, default=None,
                        help="poll_interval in real seconds (default: the action's 10 s x time scale)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    scale = args.time_scale
    poll = args.poll_interval if args.poll_interval is not None else ACTION_POLL_INTERVAL * scale
    guest_sizes = [int(x) for x in args.guest_vms.split(",") if x.strip()]
    engine_file = Path(rdp_engine_module.__file__).resolve()
    if REPO.resolve() not in engine_file.parents:
        raise SystemExit(f"the engine was imported from {engine_file}, not from this checkout {REPO}")

    started = time.monotonic()
    load_start = os.getloadavg()[0]
    no_guest, guest = [], {}
    with tempfile.TemporaryDirectory(prefix="rdp-bench-") as tmp:
        with EmulatorProcess(Path(tmp) / "emulator", time_scale=scale) as emu:
            os.environ.update(emulator_env_vars(emu))  # the credentials and CA the action finds in its environment
            os.environ["REQUESTS_CA_BUNDLE"] = emu.ca_file
            config = emu.control.config()
            fleet, hosts, expected = build_fleet(args.vms, args.groups)
            for i in range(args.repeat):
                print(f"== diagnose, no guest checks, {args.vms} VMs, run {i + 1}/{args.repeat} ...", flush=True)
                row = measure(emu, fleet, hosts, False, scale, poll)
                no_guest.append(row)
                print(f"   wall {row['wall_s']:.2f} s, outcomes {dict(row['outcomes'])}, {row['arm_requests']} ARM requests "
                      f"({row['arm_per_vm']:.3f}/VM): {dict(sorted(row['by_kind'].items()))}", flush=True)
            for n in guest_sizes:
                fleet_n, hosts_n, _exp = build_fleet(n, args.groups)
                reps = args.repeat if n <= 500 or args.repeat_large_guest is None else args.repeat_large_guest
                guest[n] = []
                for i in range(reps):
                    print(f"== diagnose with guest checks, {n} VMs, run {i + 1}/{reps} ...", flush=True)
                    row = measure(emu, fleet_n, hosts_n, True, scale, poll)
                    guest[n].append(row)
                    print(f"   wall {row['wall_s']:.1f} s, outcomes {dict(row['outcomes'])}, guest checked "
                          f"{row['guest_checked']}, Run Command POSTs {kind(row, 'Run Command POST')}, "
                          f"429s {row['status_429']}, waited writes {row['writes_waited_s']:.1f} / reads "
                          f"{row['reads_waited_s']:.1f} thread-s, rate {row['write_rate']}", flush=True)
    total = time.monotonic() - started
    page_size = config.get("page_size")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["bench/rdp_bench.py"] + sys.argv[1:])
    md = [
        f"## RDP fleet diagnosis on the emulator ({stamp})",
        "",
        f"`.venv/bin/python {command}`: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"time scale {scale} (ARM refills ÷ {scale}; Run Command {RUN_COMMAND_S:g} simulated s = "
        f"{RUN_COMMAND_S * scale:g} s), poll_interval {poll:g} s, max_workers 16, throttling "
        f"{'on' if config.get('throttling_enabled') else 'OFF'}, page size {page_size}; {args.groups} resource "
        f"groups, each its own vnet/subnet/subnet NSG, 10 % of the VMs with an own NIC NSG and 10 % sharing one "
        f"per group. The engine runs in this process as vm_rdp_fleet builds it; the emulator in a subprocess "
        f"on the same machine. 1-minute load {load_start:.1f} at the start; {total:.0f} s in all. "
        f"Median [min–max] over the runs.",
        "",
        f"### Without guest checks: {args.vms} VMs, {len(no_guest)} runs",
        "",
        no_guest_table(no_guest, expected, scale, page_size),
        "",
        "### With guest checks (one RunPowerShellScript per VM)",
        "",
        guest_table(guest, scale) if guest else "(not run)",
        "",
        "Pacer waits are `BudgetPacer.waited_s`: the seconds callers slept before a request, summed over the "
        "threads that waited (up to the 16 workers; a wave's starts wait in one feeder thread per subscription), "
        "not wall time. Write rates are of accepted writes by the emulator's log "
        "time stamps; the emulator's write bucket is replayed on them (200 tokens, 10 per simulated second), and "
        f"the sustained rate is counted from the write that takes it below {STEADY_TOKENS} tokens (the burst spent) "
        "to the last.",
    ]
    text = "\n".join(md) + "\n"
    print()
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rdp.md").write_text(text)
    (out / "rdp.json").write_text(json.dumps({"meta": {"command": command, "time_scale": scale, "poll_interval": poll,
                                                       "groups": args.groups, "expected": expected,
                                                       "emulator_config": config, "total_s": total},
                                              "no_guest": no_guest, "guest": guest}, indent=2, default=str) + "\n")
    print(f"wrote {out / 'rdp.md'} and {out / 'rdp.json'}")
    bad = [r for r in no_guest if r["writes"] or kind(r, "VM GET (per VM)") or r["status_429"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
