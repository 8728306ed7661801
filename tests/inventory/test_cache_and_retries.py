"""The inventory cache (jsonfile, in a temporary directory) and retries of list pages (in-process)."""

from __future__ import annotations

import pytest

from .fleet import ALL_LIST_CALLS, RUNNING, SUB_B, SUB_C, three_subs

pytestmark = pytest.mark.emulator


def test_cache_second_run_makes_no_request(seeded, parse_inventory, tmp_path):
    emulator, sub_a = seeded
    cache_dir = tmp_path / "inventory-cache"
    config = three_subs(sub_a, cache=True, cache_plugin="ansible.builtin.jsonfile",
                        cache_connection=str(cache_dir), cache_timeout=3600)

    def parse(config, **options):  # the same source path every time: the cache key is the path
        return parse_inventory(config, workdir="cached", **options)

    first = parse(config)
    assert first.error is None, first.output
    assert len(first.arm) == ALL_LIST_CALLS
    files = list(cache_dir.iterdir())
    assert len(files) == 1
    cached = files[0].read_text()
    assert emulator.env["AZURE_SECRET"] not in cached and "access_token" not in cached.lower()

    second = parse(config)
    assert second.error is None, second.output
    assert second.requests == []  # no ARM request, no token, no discovery
    assert second.content == first.content

    # Filters are applied after the cache: a new filter needs no new listing.
    narrowed = parse(dict(config, os_type="Linux"))
    assert narrowed.requests == [] and narrowed.hosts == {"lnx-01", "lnx-02", "lab-01"}

    # Another scope (fewer subscriptions) is listed again; --flush-cache lists again.
    other = parse(dict(config, subscriptions=[SUB_C]))
    assert len(other.arm) == 2 and other.hosts == {"lab-01", "lab-02"}
    flushed = parse(config, flush_cache=True)
    assert len(flushed.arm) == ALL_LIST_CALLS and flushed.hosts == RUNNING


def test_throttling_and_dropped_connections_are_retried(seeded, parse_inventory):
    """429 with Retry-After and a dropped connection on list pages: retried by azure-core, same hosts."""
    emulator, sub_a = seeded
    control = emulator.control
    control.add_fault(action="status", status=429, retry_after=1, method="GET",
                      path=r"^/subscriptions/%s/providers/Microsoft\.Compute/virtualMachines$" % SUB_B, count=2)
    control.add_fault(action="drop_before", method="GET",
                      path=r"^/subscriptions/%s/providers/Microsoft\.Compute/virtualMachines$" % SUB_C, count=1)
    run = parse_inventory(three_subs(sub_a))
    assert run.error is None, run.output
    assert run.hosts == RUNNING
    throttled = [r for r in run.arm if r["status"] == 429]
    assert len(throttled) == 2 and all(r["subscription"] == SUB_B for r in throttled)
    assert len([r for r in run.arm if r["status"] == 200]) == ALL_LIST_CALLS  # every page once, after the retries
    assert {f["hits"] for f in control.faults()} == {2, 1}
