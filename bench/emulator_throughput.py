#!/usr/bin/env python
"""Throughput and memory of the Azure emulator (not a test).

Seeds 1,000 VMs, then concurrent HTTPS clients (on 127.0.0.1 only) drive a mix of VM GETs
(plain and with instance view), VM list pages, operation polls and extension PUTs for a
bounded time per run. Prints a Markdown table: requests/s (median of the runs, min/max) and
the emulator's resident memory (VmRSS / VmHWM from /proc/<pid>/status).

    .venv/bin/python bench/emulator_throughput.py [--runs 3] [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.emulator import EmulatorProcess  # noqa: E402

VM_COUNT = 1000
RG_COUNT = 10
API = "api-version=2024-11-01"


def fleet() -> dict:
    per_rg = VM_COUNT // RG_COUNT
    return {"seed": 1, "subscriptions": [{"id": "00000000-0000-4000-8000-00000000be11", "resource_groups": [
        {"name": f"rg-{r:02d}", "location": "westeurope", "vms": [{
            "name": f"vm-{r:02d}-{{i:03d}}", "count": per_rg, "rdp": {"ok": 0.5, "broken": 0.5},
            "extension_duration_s": [30, 90]}]} for r in range(RG_COUNT)]}]}


def memory(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, amount, _unit = line.split()
                values[key[:-1]] = int(amount) // 1024   # MiB
    return values


async def get_token(session: aiohttp.ClientSession, emu: EmulatorProcess) -> str:
    env = emu.env
    async with session.post(f"{emu.url}/{env['AZURE_TENANT']}/oauth2/v2.0/token", data={
            "client_id": env["AZURE_CLIENT_ID"], "client_secret": env["AZURE_SECRET"],
            "grant_type": "client_credentials", "scope": emu.info["audience"] + ".default"}) as response:
        return (await response.json())["access_token"]


async def one_run(emu: EmulatorProcess, seconds: float, concurrency: int, run_no: int) -> tuple[float, Counter]:
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    connector = aiohttp.TCPConnector(ssl=ctx, limit=concurrency)
    statuses: Counter = Counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        token = await get_token(session, emu)
        headers = {"Authorization": f"Bearer {token}"}
        sub = fleet()["subscriptions"][0]["id"]
        vms = [(f"rg-{r:02d}", f"vm-{r:02d}-{i:03d}") for r in range(RG_COUNT) for i in range(1, VM_COUNT // RG_COUNT + 1)]
        put_targets = itertools.cycle(vms)
        op_urls: list[str] = []
        counter = itertools.count()
        deadline = time.monotonic() + seconds

        def base(rg, vm):
            return f"{emu.url}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"

        async def worker(seed: int) -> None:
            while time.monotonic() < deadline:
                n = next(counter)
                pick = n % 20
                rg, vm = vms[(n * 7919 + seed) % len(vms)]
                if pick < 8:
                    method, url, body = "GET", f"{base(rg, vm)}?{API}", None
                elif pick < 12:
                    method, url, body = "GET", f"{base(rg, vm)}?$expand=instanceView&{API}", None
                elif pick < 13:
                    method, url, body = "GET", f"{emu.url}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines?{API}", None
                elif pick < 16 and op_urls:
                    method, url, body = "GET", op_urls[n % len(op_urls)], None
                else:
                    rg, vm = next(put_targets)
                    method, url = "PUT", f"{base(rg, vm)}/extensions/enablevmaccess?{API}"
                    body = {"location": "westeurope", "properties": {
                        "publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
                        "autoUpgradeMinorVersion": True, "settings": {}, "protectedSettings": {},
                        "forceUpdateTag": f"bench-{run_no}-{n}"}}
                async with session.request(method, url, json=body, headers=headers) as response:
                    await response.read()
                    statuses[(method, response.status)] += 1
                    if method == "PUT" and "Azure-AsyncOperation" in response.headers and len(op_urls) < 5000:
                        op_urls.append(response.headers["Azure-AsyncOperation"])

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - started
    return sum(statuses.values()) / elapsed, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (bounded)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--time-scale", type=float, default=0.01)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="emu-bench-") as state:
        with EmulatorProcess(state, fleet=fleet(), time_scale=args.time_scale) as emu:
            emu.control.set_config(throttling_enabled=False)   # measure the emulator, not the budgets
            seeded = memory(emu.pid)
            rates, totals = [], Counter()
            for run_no in range(args.runs):
                rate, statuses = asyncio.run(one_run(emu, args.seconds, args.concurrency, run_no))
                rates.append(rate)
                totals.update(statuses)
                emu.control.clear_requests()
            after = memory(emu.pid)
            vms = len(emu.control.vms())
            runs = emu.control.counters()["guest_runs"]

    print(f"## Azure emulator throughput ({os.cpu_count()} CPUs, {vms} VMs, {args.concurrency} concurrent "
          f"clients, {args.runs} runs x {args.seconds:g} s, time scale {args.time_scale})\n")
    print("| metric | value |")
    print("|---|---|")
    print(f"| requests/s (median) | {statistics.median(rates):.0f} |")
    print(f"| requests/s (min / max) | {min(rates):.0f} / {max(rates):.0f} |")
    print(f"| RSS after seeding 1,000 VMs | {seeded['VmRSS']} MiB |")
    print(f"| RSS after the runs / peak (VmHWM) | {after['VmRSS']} MiB / {after['VmHWM']} MiB |")
    print(f"| extension runs completed in guests | {runs} |")
    mix = ", ".join(f"{m} {s}: {n}" for (m, s), n in sorted(totals.items()))
    print(f"| responses by method/status | {mix} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
