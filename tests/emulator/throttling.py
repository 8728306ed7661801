"""ARM and Compute throttling: lazy token buckets, remaining-count headers and 429 bodies.

ARM: one read and one write bucket per (subscription, principal).
Compute: UpdateVMResource per VM and UpdateVMSubscriptionMaximum per subscription for
extension writes; LowCostGet3Min/30Min per subscription for VM reads (policy names as in
the real ``x-ms-ratelimit-remaining-resource`` header). Refill rates are divided by the
time scale, so a scaled run is throttled alike.
"""

from __future__ import annotations

import json
import math

from .clock import Clock, iso
from .config import Config
from .errors import ArmError


class TokenBucket:
    __slots__ = ("capacity", "rate", "tokens", "stamp")

    def __init__(self, capacity: float, rate_per_s: float, now: float):
        self.capacity = float(capacity)
        self.rate = float(rate_per_s)
        self.tokens = float(capacity)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, now: float) -> float | None:
        """Take one token. Returns None on success, else the real seconds until one is free."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else 3600.0

    def remaining(self, now: float) -> int:
        self._refill(now)
        return int(self.tokens)


def retry_headers(wait_s: float, time_scaled: bool = False) -> dict[str, str]:
    """Retry hints. ``retry-after-ms``/``x-ms-retry-after-ms`` always; whole-second ``Retry-After`` as Azure
    sends it, except for sub-second waits of a time-scaled emulator: azure-core reads Retry-After before the
    millisecond headers, so a rounded-up '1' would slow every scaled poll and retry to 1 s."""
    wait_s = max(wait_s, 0.001)
    ms = str(math.ceil(wait_s * 1000))
    headers = {"retry-after-ms": ms, "x-ms-retry-after-ms": ms}
    if not time_scaled:
        headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
    elif wait_s >= 1.0:
        headers["Retry-After"] = str(round(wait_s))
    return headers


class Throttler:
    def __init__(self, config: Config, clock: Clock):
        self.config = config
        self.clock = clock
        self._buckets: dict[tuple, TokenBucket] = {}
        self.throttled_count = 0

    def reset(self) -> None:
        self._buckets.clear()

    def _bucket(self, key: tuple, capacity: float, per_simulated_s: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(capacity, per_simulated_s / self.clock.time_scale, self.clock.now())
            self._buckets[key] = bucket
        return bucket

    # --- ARM (subscription x principal) --------------------------------------------------
    def arm(self, kind: str, subscription: str, principal_oid: str) -> dict[str, str]:
        """Consume one ARM read/write token; returns the remaining header or raises 429."""
        limits = self.config.limits
        burst, rate = ((limits.arm_reads_burst, limits.arm_reads_per_s) if kind == "read"
                       else (limits.arm_writes_burst, limits.arm_writes_per_s))
        header = f"x-ms-ratelimit-remaining-subscription-{kind}s"
        if not self.config.throttling_enabled:
            return {header: str(burst - 1)}
        bucket = self._bucket(("arm", kind, subscription.lower(), principal_oid), burst, rate)
        now = self.clock.now()
        wait = bucket.take(now)
        if wait is not None:
            self.throttled_count += 1
            seconds = max(1, math.ceil(wait))
            raise ArmError(
                429, "SubscriptionRequestsThrottled",
                f"Number of '{kind}' requests for subscription '{subscription}' actor '{principal_oid}' "
                f"exceeded. Please try again after '{seconds}' seconds after additional tokens are "
                "available. Refer to https://aka.ms/arm-throttling",
                headers={**retry_headers(wait, self.clock.time_scale < 1), header: "0"}, throttled=True)
        return {header: str(bucket.remaining(now))}

    # --- Compute resource provider -------------------------------------------------------
    def _compute(self, policies: list[tuple[str, tuple, int, float]]) -> dict[str, str]:
        """Take one token from every (policy, key, capacity, window_s) bucket, all or nothing."""
        now = self.clock.now()
        if not self.config.throttling_enabled:
            return {"x-ms-ratelimit-remaining-resource":
                    ",".join(f"Microsoft.Compute/{name};{cap - 1}" for name, _key, cap, _window in policies)}
        buckets = [(name, self._bucket(("compute", name) + key, cap, cap / window), cap, window)
                   for name, key, cap, window in policies]
        for name, bucket, cap, window in buckets:
            bucket._refill(now)
            if bucket.tokens < 1.0:
                wait = (1.0 - bucket.tokens) / bucket.rate
                self.throttled_count += 1
                raise self._compute_throttled(name, cap, window, wait)
        parts = []
        for name, bucket, _cap, _window in buckets:
            bucket.tokens -= 1.0
            parts.append(f"Microsoft.Compute/{name};{int(bucket.tokens)}")
        return {"x-ms-ratelimit-remaining-resource": ",".join(parts)}

    def _compute_throttled(self, policy: str, cap: int, window_s: float, wait: float) -> ArmError:
        end = self.clock.wall()
        start = self.clock.wall(self.clock.now() - self.clock.scaled(window_s))
        detail = json.dumps({"operationGroup": policy, "startTime": iso(start), "endTime": iso(end),
                             "allowedRequestCount": cap, "measuredRequestCount": cap + 1},
                            separators=(",", ":"))
        return ArmError(
            429, "OperationNotAllowed",
            "The server rejected the request because too many requests have been received for this "
            "subscription.",
            details=[{"code": "TooManyRequests", "target": policy, "message": detail}],
            headers={**retry_headers(wait, self.clock.time_scale < 1), "x-ms-ratelimit-remaining-resource": f"Microsoft.Compute/{policy};0"},
            throttled=True)

    def vm_update(self, subscription: str, vm_key: tuple) -> dict[str, str]:
        limits = self.config.limits
        sub = subscription.lower()
        return self._compute([
            ("UpdateVMSubscriptionMaximum", (sub,), limits.sub_updates_per_min, 60.0),
            ("UpdateVMResource", vm_key, limits.vm_updates_per_min, 60.0),
        ])

    def vm_get(self, subscription: str) -> dict[str, str]:
        limits = self.config.limits
        sub = subscription.lower()
        return self._compute([
            ("LowCostGet3Min", (sub,), limits.low_cost_get_3min, 180.0),
            ("LowCostGet30Min", (sub,), limits.low_cost_get_30min, 1800.0),
        ])

    def operation_poll(self, subscription: str, poll_count: int) -> dict[str, str]:
        """Operation polls are reported, not limited (ARM's read bucket still applies)."""
        return {"x-ms-ratelimit-remaining-resource":
                f"Microsoft.Compute/GetOperationResource;{max(0, 44 - poll_count)},"
                f"Microsoft.Compute/GetOperationSubscriptionMaximum;14998"}
