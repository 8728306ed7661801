# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pace ARM writes on what ARM says is left, instead of hammering into 429s.

ARM reports the remaining budget on every response (``x-ms-ratelimit-remaining-subscription-
writes`` / ``-reads``) and refills it continuously (writes: 200 burst, 10 per second). The pacer
reads those headers through an azure-core pipeline policy, learns the refill rate from how the
remaining count moves, and makes a writer wait only when the budget is nearly spent.
Retry-After on a 429 stays azure-core's job (its RetryPolicy honours it); the pacer also
stops every other writer for that long, so one 429 does not become many.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

try:
    from azure.core.pipeline.policies import SansIOHTTPPolicy
except ImportError:  # the import sanity test loads module_utils without the SDK
    SansIOHTTPPolicy = object

WRITES_HEADER = "x-ms-ratelimit-remaining-subscription-writes"
READS_HEADER = "x-ms-ratelimit-remaining-subscription-reads"
DEFAULT_WRITE_REFILL_PER_S = 10.0
BUCKET_FULL_HINT = 190  # ARM's write bucket holds 200


def _retry_after_s(headers):
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


class WritePacer:
    """Shared by every writer thread of one process (one subscription budget per principal)."""

    # The refill rate is measured over at least this many seconds of reports, so that responses
    # arriving out of order (many writers at once) do not look like refills.
    RATE_WINDOW_S = 1.0

    def __init__(self, reserve=5, clock=time.monotonic, sleep=time.sleep):
        self.reserve = reserve
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._remaining = None        # last value ARM reported
        self._reported_at = None
        self._in_flight = 0           # writes sent whose response has not come back yet
        self._completed = 0           # write responses received (with a budget header)
        self._history = []            # (time, remaining, completed) of recent reports
        self._refill_per_s = DEFAULT_WRITE_REFILL_PER_S
        self._paused_until = 0.0
        self.waited_s = 0.0
        self.throttled = 0

    def acquire(self):
        """Block until one more write fits in the budget, then count it as in flight."""
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
            wait = min(max(wait, 0.01), 30.0)
            self.waited_s += wait
            self.sleep(wait)

    def _estimated_remaining(self, now):
        if self._remaining is None:
            return None
        refilled = (now - self._reported_at) * self._refill_per_s
        return self._remaining - self._in_flight + refilled

    def observe_write(self, status, headers):
        """Called on every response to a write (each retry attempt too)."""
        now = self.clock()
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if status == 429:
                # A refused write used no budget: pause everyone, learn nothing from it.
                self.throttled += 1
                pause = _retry_after_s(headers) or 1.0
                self._paused_until = max(self._paused_until, now + pause)
                return
            value = headers.get(WRITES_HEADER)
            if value is None:
                return
            try:
                remaining = int(value)
            except ValueError:
                return
            self._completed += 1
            self._learn_refill_rate(now, remaining)
            self._remaining = remaining
            self._reported_at = now

    def _learn_refill_rate(self, now, remaining):
        """Refill = what the budget grew by, plus what the writes answered meanwhile used."""
        self._history.append((now, remaining, self._completed))
        while len(self._history) > 2 and now - self._history[1][0] >= self.RATE_WINDOW_S:
            self._history.pop(0)
        then, remaining_then, completed_then = self._history[0]
        elapsed = now - then
        if elapsed < self.RATE_WINDOW_S:
            return
        refill = (remaining - remaining_then) + (self._completed - completed_then)
        if refill > 0 and remaining < BUCKET_FULL_HINT:
            # A full bucket hides its refill; only a draining one tells the rate.
            self._refill_per_s = max(1.0, 0.5 * self._refill_per_s + 0.5 * refill / elapsed)


class PacingPolicy(SansIOHTTPPolicy):
    """azure-core policy feeding every write response's budget headers to a WritePacer."""

    def __init__(self, pacer):
        super(PacingPolicy, self).__init__()
        self.pacer = pacer

    def on_response(self, request, response):
        method = request.http_request.method.upper()
        if method in ("PUT", "PATCH", "POST", "DELETE"):
            self.pacer.observe_write(response.http_response.status_code, response.http_response.headers)
