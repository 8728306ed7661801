"""Pure parts of the engine: target resolution, generated passwords, budget pacing, summaries."""

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.headers import WRITES_BUDGET
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import BudgetPacer
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.passwords import generate_password
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_hostvars
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import summarize
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import password_problems


def WritePacer(reserve=5, clock=None, sleep=None):
    return BudgetPacer(WRITES_BUDGET, refill_per_s=10.0, burst=200, reserve=reserve, clock=clock, sleep=sleep)


VM_ID = "/subscriptions/sub1/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-01"


def test_target_from_our_hostvars_and_azure_rm_hostvars():
    ours = target_from_hostvars("h1", {"vm_id": VM_ID})
    azure_rm = target_from_hostvars("web-01_1a2b", {"id": VM_ID, "name": "web-01", "resource_group": "rg-web"})
    static = target_from_hostvars("h3", {"resource_group": "rg-web", "vm_name": "web-01"}, "sub1")
    rm_by_name = target_from_hostvars("h4", {"resource_group": "rg-web", "name": "web-01", "subscription_id": "sub1"})
    for target in (ours, azure_rm, static, rm_by_name):
        assert target.error is None and target.ref.id.lower() == VM_ID.lower()


def test_unresolvable_hosts_carry_a_reason():
    for hostvars in ({}, {"resource_group": "rg"}, {"vm_name": "x"}, {"resource_group": "rg", "vm_name": "x"}):
        target = target_from_hostvars("h", hostvars)
        assert target.ref is None and target.error.reason == "vm_unresolved"
    bad_id = target_from_hostvars("h", {"vm_id": "/subscriptions/x/virtualMachines/"})
    assert bad_id.error is not None


def test_generated_passwords_are_strong_and_distinct():
    passwords = {generate_password() for _i in range(200)}
    assert len(passwords) == 200
    for password in passwords:
        assert len(password) == 24 and password_problems(password) == []


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.slept += seconds


def test_pacer_sends_freely_while_the_budget_lasts():
    clock = FakeClock()
    pacer = WritePacer(reserve=5, clock=clock, sleep=clock.sleep)
    for remaining in range(199, 100, -1):
        pacer.acquire()
        pacer.observe(201, {"x-ms-ratelimit-remaining-subscription-writes": str(remaining)})
    assert clock.slept == 0.0


def test_pacer_waits_for_the_refill_when_the_budget_is_spent():
    clock = FakeClock()
    pacer = WritePacer(reserve=5, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.observe(201, {"x-ms-ratelimit-remaining-subscription-writes": "3"})
    pacer.acquire()  # 3 left <= reserve: must wait ~0.3 s at 10 writes/s
    assert 0.2 <= clock.slept <= 1.0


def test_pacer_pauses_every_writer_for_retry_after():
    clock = FakeClock()
    pacer = WritePacer(clock=clock, sleep=clock.sleep)
    pacer.observe(429, {"retry-after": "7"})
    pacer.acquire()
    assert clock.slept >= 7 and pacer.throttled == 1


def test_summary_counts_outcomes_and_reasons():
    summary = summarize([{"outcome": "changed"}, {"outcome": "skipped", "reason": "vm_not_running"},
                         {"outcome": "failed", "reason": "extension_failed"}, {"outcome": "ok"}])
    assert summary["by_outcome"] == {"changed": 1, "ok": 1, "skipped": 1, "failed": 1}
    assert summary["by_reason"] == {"vm_not_running": 1, "extension_failed": 1}


def simulate(writes, writers, latency_s, burst=200, refill_per_s=10.0):
    """Event simulation of many writers against ARM's write bucket; returns (seconds, 429s)."""
    import heapq

    clock = FakeClock()
    bucket = {"tokens": float(burst), "at": 0.0}
    pending = []  # (arrival time, status, remaining)

    def server(now):
        bucket["tokens"] = min(burst, bucket["tokens"] + (now - bucket["at"]) * refill_per_s)
        bucket["at"] = now
        if bucket["tokens"] < 1:
            return 429, {"retry-after": "1"}
        bucket["tokens"] -= 1
        return 201, {"x-ms-ratelimit-remaining-subscription-writes": str(int(bucket["tokens"]))}

    def deliver(until):
        while pending and pending[0][0] <= until:
            _unused_due, _unused_seq, status, headers = heapq.heappop(pending)
            pacer.observe(status, headers)

    def sleep(seconds):
        target = clock.now + seconds
        deliver(target)
        clock.now = target

    pacer = WritePacer(clock=clock, sleep=sleep)
    sequence = {"n": 0}
    done = throttled = 0
    while done < writes:
        if len(pending) >= writers:
            sleep(pending[0][0] - clock.now)
            continue
        pacer.acquire()
        status, headers = server(clock.now + latency_s / 2)
        sequence["n"] += 1
        heapq.heappush(pending, (clock.now + latency_s, sequence["n"], status, headers))
        if status == 429:
            throttled += 1
        else:
            done += 1
    sleep(latency_s)
    return clock.now, throttled


def test_pacer_keeps_a_fleet_at_the_write_budget_without_429s():
    for writers, latency in ((16, 0.5), (16, 0.05), (4, 0.2)):
        seconds, throttled = simulate(1000, writers, latency)
        ideal = (1000 - 200) / 10.0
        assert throttled <= 10, (writers, latency, throttled)   # <= 1% of the writes
        assert ideal * 0.95 <= seconds <= ideal * 1.25, (writers, latency, seconds)


def test_pacer_learns_a_faster_refill():
    seconds, throttled = simulate(1000, 16, 0.05, refill_per_s=40.0)   # a time-scaled emulator
    ideal = (1000 - 200) / 40.0
    assert throttled <= 10 and seconds <= ideal * 1.5, (seconds, throttled)


def test_pacer_is_not_fooled_by_answers_read_out_of_order():
    """Sixteen writes answered in order (remaining 24 down to 9) but read newest first: the pacer must not
    believe the older, higher counts it reads last (it once thought 25 were left when 10 were)."""
    clock = FakeClock()
    pacer = WritePacer(reserve=5, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.observe(201, {"x-ms-ratelimit-remaining-subscription-writes": "25"})
    for _unused in range(16):
        pacer.acquire()
    for remaining in range(9, 25):  # the answers of the 16 writes, read in reverse order of service
        pacer.observe(201, {"x-ms-ratelimit-remaining-subscription-writes": str(remaining)})
    assert pacer._estimated_remaining(clock.now) <= 9
    for _unused in range(4):
        pacer.acquire()
    assert clock.slept == 0.0  # 9 left: four more fit above the reserve of 5 ...
    pacer.acquire()
    assert clock.slept > 0.0  # ... the fifth waits for the refill


def test_eta_counts_down_once_every_write_is_sent():
    from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.progress import _eta

    counts = {"submitted": 100, "planning": 0}
    # every write sent; typical run 60 s; the youngest run started 50 s ago: about 10 s to go, not 60
    assert _eta(counts, [60.0] * 20, elapsed_s=100.0, running_for=[50.0, 70.0]) == 10
    assert _eta(dict(counts, planning=50), [60.0], elapsed_s=100.0, running_for=[5.0]) == 110  # 50 / (1/s) + 60
    assert _eta(counts, [], elapsed_s=10.0, running_for=[9.0]) is None  # no run has finished: no guess
