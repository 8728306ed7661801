"""Wave (``_engine/operations.py``) with fake operations, a fake clock and a fake write budget: operations
already started are polled while later starts still wait for budget; one start per job, the busy retry,
the deadline, and the round callback. Pure logic: a real thread pool, no Azure, no emulator."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.operations import Wave
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

SUB = "sub-1"
REAL_LIMIT_S = 10.0  # a wave that would hang fails the test instead


class FakeClock:
    """Shared by every thread; ``sleep`` moves time on at once (and yields, so that other threads run)."""

    def __init__(self):
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            return self.now

    def sleep(self, seconds):
        with self._lock:
            self.now += seconds
        time.sleep(0.001)


class Budget:
    """A write budget of ``tokens`` starts; more only once ``refill`` is set (by a poll, in these tests)."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.refill = threading.Event()

    def acquire(self):
        if self.tokens > 0:
            self.tokens -= 1
            return
        assert self.refill.wait(REAL_LIMIT_S), "no poll came while the starts waited for write budget"


class Pacing:
    def __init__(self, write_tokens=1000):
        self.writes = Budget(write_tokens)
        self.reads = Budget(10 ** 6)

    def of(self, subscription_id):
        return self


class FakeOperation:
    """Ends after ``polls`` polls: Succeeded with {"key": key}, or Failed with ``error``."""

    def __init__(self, key, log, polls=2, error=None, on_poll=None):
        self.key, self.log, self.polls, self._error, self.on_poll = key, log, polls, error, on_poll
        self.target = "/vms/%s" % key
        self.done = False

    def poll(self):
        self.log.append(("poll", self.key))
        if self.on_poll is not None:
            self.on_poll()
        self.polls -= 1
        self.done = self.polls <= 0

    def error(self):
        return self._error

    def output(self):
        return {"key": self.key}


def run_wave(jobs, pacing=None, poll_interval=10.0, deadline=10 ** 6, clock=None, rounds=None, max_starting=2):
    clock = clock or FakeClock()
    on_round = (lambda finished, total: rounds.append((finished, total))) if rounds is not None else None
    with ThreadPoolExecutor(max_workers=4) as pool:
        wave = Wave(pacing or Pacing(), pool, poll_interval, deadline, clock, clock.sleep, on_round, max_starting)
        return wave.run(jobs)


def starter(key, log, **operation):
    def start():
        log.append(("start", key))
        return FakeOperation(key, log, **operation)
    return start


def test_operations_started_are_polled_while_later_starts_wait_for_write_budget():
    log, pacing = [], Pacing(write_tokens=2)
    refill = pacing.writes.refill.set
    jobs = [(key, SUB, starter(key, log, on_poll=refill)) for key in ("a", "b", "c", "d")]
    results = run_wave(jobs, pacing=pacing)
    assert results == dict((key, {"key": key}) for key in "abcd")
    first_poll = log.index(next(entry for entry in log if entry[0] == "poll"))
    assert log.index(("start", "c")) > first_poll and log.index(("start", "d")) > first_poll
    assert [entry for entry in log if entry[0] == "start"] == [("start", key) for key in "abcd"]  # each once


def test_no_more_starts_are_unanswered_at_once_than_max_starting():
    log, lock, running, most = [], threading.Lock(), [0], [0]

    def slow_start(key):
        def start():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)  # the POST's round trip
            with lock:
                running[0] -= 1
            return FakeOperation(key, log, polls=1)
        return start
    results = run_wave([(str(i), SUB, slow_start(str(i))) for i in range(8)], max_starting=2)
    assert len(results) == 8 and most[0] == 2


def test_each_operation_is_first_polled_one_interval_after_its_start():
    log, polled_at = [], []
    clock = FakeClock()

    def start():
        log.append(("start", clock()))
        return FakeOperation("a", log, polls=1, on_poll=lambda: polled_at.append(clock()))
    run_wave([("a", SUB, start)], poll_interval=10.0, clock=clock)
    assert 10.0 <= polled_at[0] - log[0][1] <= 12.5  # due after one interval, up to a quarter late


def test_a_failed_start_and_a_failed_operation_are_errors_and_rounds_are_reported():
    log, rounds = [], []
    refused = VmAccessError("authorization_failed", "no")

    def refuse():
        raise refused
    jobs = [("ok", SUB, starter("ok", log)), ("refused", SUB, refuse),
            ("failed", SUB, starter("failed", log, error=VmAccessError("run_command_failed", "boom")))]
    results = run_wave(jobs, rounds=rounds)
    assert results["ok"] == {"key": "ok"} and results["refused"] is refused
    assert results["failed"].reason == "run_command_failed"
    assert rounds[-1] == (3, 3) and all(total == 3 for _finished, total in rounds)
    assert [finished for finished, _total in rounds] == sorted(finished for finished, _total in rounds)


def test_a_busy_vm_is_started_again_until_its_other_script_ends():
    log, attempts = [], []

    def busy_then_free():
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise VmAccessError("run_command_busy", "another script runs")
        return FakeOperation("vm", log, polls=1)
    assert run_wave([("vm", SUB, busy_then_free)]) == {"vm": {"key": "vm"}}
    assert len(attempts) == 3


def test_a_start_refused_with_a_429_is_made_again_on_the_write_budget():
    log, attempts, pacing = [], [], Pacing(write_tokens=2)
    pacing.writes.refill.set()

    def throttled_once():
        attempts.append(pacing.writes.tokens)
        if len(attempts) == 1:
            raise VmAccessError("throttled", "HTTP 429")
        return FakeOperation("vm", log, polls=1)
    assert run_wave([("vm", SUB, throttled_once)], pacing=pacing) == {"vm": {"key": "vm"}}
    assert attempts == [1, 0]  # the second attempt took write budget of its own


def test_a_vm_busy_until_the_deadline_fails_with_run_command_busy():
    def always_busy():
        raise VmAccessError("run_command_busy", "another script runs")
    result = run_wave([("vm", SUB, always_busy)], poll_interval=10.0, deadline=35.0)["vm"]
    assert result.reason == "run_command_busy"


def test_what_still_runs_at_the_deadline_times_out_and_nothing_starts_after_it():
    log, pacing, clock = [], Pacing(write_tokens=1), FakeClock()

    def late_refill():  # the budget comes back only once the deadline has passed
        clock.sleep(100.0)
        pacing.writes.refill.set()
    jobs = [("slow", SUB, starter("slow", log, polls=10 ** 6, on_poll=late_refill)),
            ("late", SUB, starter("late", log))]
    results = run_wave(jobs, pacing=pacing, poll_interval=10.0, deadline=50.0, clock=clock)
    assert results["slow"].reason == "operation_timeout" and "still running" in results["slow"].message
    assert results["late"].reason == "operation_timeout" and "not started" in results["late"].message
    assert ("start", "late") not in log


def test_an_unexpected_exception_of_a_start_reaches_the_caller():
    def broken():
        raise ValueError("a bug")
    with pytest.raises(ValueError, match="a bug"):
        run_wave([("vm", SUB, broken)])
