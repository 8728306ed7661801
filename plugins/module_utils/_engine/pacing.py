# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pace ARM requests on what ARM says is left, instead of hammering into 429s.

ARM reports the remaining budget of each subscription on every response
(``x-ms-ratelimit-remaining-subscription-writes`` / ``-reads``) and refills it continuously
(writes: 200 burst, 10 per second; reads: 250 burst, 25 per second). A ``BudgetPacer`` learns the
refill rate from how the remaining count moves, and makes a caller wait only when the budget is
nearly spent. Retry-After on a 429 stays azure-core's job (its RetryPolicy honours it); the
pacer also holds every other caller for that long, so one 429 does not become many.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.headers import (
    READS_BUDGET,
    WRITES_BUDGET,
    remaining_budget,
    retry_after_s,
)

_WRITE_METHODS = ("PUT", "PATCH", "POST", "DELETE")


class BudgetPacer:
    """One ARM budget (a subscription's reads or writes), shared by every thread of a run."""

    # The refill rate is measured over at least this many seconds of reports, so that responses
    # arriving out of order (many callers at once) do not look like refills.
    RATE_WINDOW_S = 1.0

    def __init__(self, header, refill_per_s, burst, reserve=5, clock=time.monotonic, sleep=time.sleep):
        self.header = header
        self.burst = burst
        self.reserve = reserve
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._remaining = None        # last value ARM reported
        self._reported_at = None
        self._in_flight = 0           # requests sent whose response has not come back yet
        self._completed = 0           # responses received with a budget header
        self._history = []            # (time, remaining, completed) of recent reports
        self._refill_per_s = float(refill_per_s)
        self._paused_until = 0.0
        self.waiting = 0              # callers waiting for budget right now
        self.waited_s = 0.0
        self.throttled = 0

    def acquire(self):
        """Block until one more request fits in the budget, then count it as in flight."""
        waiting = False
        try:
            while True:
                with self._lock:
                    now = self.clock()
                    wait = self._paused_until - now
                    if wait <= 0:
                        available = self._estimated_remaining(now)
                        if available is None or available > self.reserve:
                            self._in_flight += 1
                            return
                        wait = (self.reserve + 1 - available) / self._refill_per_s
                    if not waiting:
                        waiting = True
                        self.waiting += 1
                wait = min(max(wait, 0.01), 30.0)
                self.waited_s += wait
                self.sleep(wait)
        finally:
            if waiting:
                with self._lock:
                    self.waiting -= 1

    def _estimated_remaining(self, now):
        if self._remaining is None:
            return None
        refilled = (now - self._reported_at) * self._refill_per_s
        return self._remaining - self._in_flight + refilled

    def observe(self, status, headers):
        """Called on every response this budget covers (each retry attempt too)."""
        now = self.clock()
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if status == 429:
                # A refused request used no budget: hold everyone, learn nothing from it.
                self.throttled += 1
                self._paused_until = max(self._paused_until, now + (retry_after_s(headers) or 1.0))
                return
            remaining = remaining_budget(headers, self.header)
            if remaining is None:
                return
            self._completed += 1
            self._learn_refill_rate(now, remaining)
            if self._remaining is not None:
                # Answers are read out of order when many callers share the budget: an older answer read
                # late reports more than is left. Never above the last report plus what refilled since.
                remaining = min(remaining, self._remaining + (now - self._reported_at) * self._refill_per_s)
            self._remaining = remaining
            self._reported_at = now

    def _learn_refill_rate(self, now, remaining):
        """Refill = what the budget grew by, plus what the requests answered meanwhile used."""
        self._history.append((now, remaining, self._completed))
        while len(self._history) > 2 and now - self._history[1][0] >= self.RATE_WINDOW_S:
            self._history.pop(0)
        then, remaining_then, completed_then = self._history[0]
        elapsed = now - then
        if elapsed < self.RATE_WINDOW_S:
            return
        refill = (remaining - remaining_then) + (self._completed - completed_then)
        if refill > 0 and remaining < self.burst - 10:
            # A full bucket hides its refill; only a draining one tells the rate.
            self._refill_per_s = max(1.0, 0.5 * self._refill_per_s + 0.5 * refill / elapsed)


class SubscriptionPacers:
    """The read and write budgets of one subscription (ARM counts them per subscription and principal)."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self.reads = BudgetPacer(READS_BUDGET, refill_per_s=25.0, burst=250, clock=clock, sleep=sleep)
        self.writes = BudgetPacer(WRITES_BUDGET, refill_per_s=10.0, burst=200, clock=clock, sleep=sleep)

    def observe(self, method, status, headers):
        (self.writes if method in _WRITE_METHODS else self.reads).observe(status, headers)


class Pacing:
    """Every subscription's budgets for one run; ``observe`` is the session's response hook."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._subscriptions = {}

    def of(self, subscription_id):
        key = (subscription_id or "").lower()
        with self._lock:
            if key not in self._subscriptions:
                self._subscriptions[key] = SubscriptionPacers(self.clock, self.sleep)
            return self._subscriptions[key]

    def observe(self, subscription_id, method, status, headers):
        self.of(subscription_id).observe(method, status, headers)

    def summary(self):
        pacers = [p for subs in self._subscriptions.values() for p in (subs.reads, subs.writes)]
        writes = [subs.writes for subs in self._subscriptions.values()]
        return {"waited_s": round(sum(p.waited_s for p in pacers), 3),
                "throttled": sum(p.throttled for p in pacers),
                "waiting_writes": sum(p.waiting for p in writes)}

    def waiting_for_writes(self):
        return sum(subs.writes.waiting for subs in list(self._subscriptions.values()))
