"""Simulated time: every simulated duration is real seconds x time_scale.

Nothing runs on timers; state is advanced lazily when read, by comparing a stored
monotonic deadline with ``now()``. That keeps 1,000+ VMs free when idle.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    def __init__(self, time_scale: float = 1.0):
        self.time_scale = float(time_scale)
        self._wall_offset = time.time() - time.monotonic()   # fixed, so timestamps are stable

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def scaled(self, simulated_seconds: float) -> float:
        """Real seconds that a simulated duration takes."""
        return max(0.0, float(simulated_seconds)) * self.time_scale

    def deadline(self, simulated_seconds: float) -> float:
        return self.now() + self.scaled(simulated_seconds)

    def wall(self, mono: float | None = None) -> datetime:
        """Wall-clock time for a monotonic instant (for timestamps in bodies)."""
        if mono is None:
            mono = time.monotonic()
        return datetime.fromtimestamp(mono + self._wall_offset, timezone.utc)


def iso(dt: datetime) -> str:
    """Azure's timestamp style: 7 fractional digits and +00:00."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"
