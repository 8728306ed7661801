"""Runtime configuration, readable and patchable through the control API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class Limits:
    arm_reads_burst: int = 250
    arm_reads_per_s: float = 25.0
    arm_writes_burst: int = 200
    arm_writes_per_s: float = 10.0
    vm_updates_per_min: int = 12          # Microsoft.Compute/UpdateVMResource
    sub_updates_per_min: int = 1500       # Microsoft.Compute/UpdateVMSubscriptionMaximum
    low_cost_get_3min: int = 4000         # Microsoft.Compute/LowCostGet3Min
    low_cost_get_30min: int = 32000       # Microsoft.Compute/LowCostGet30Min


@dataclass
class Config:
    time_scale: float = 1.0
    token_lifetime_s: int = 3600          # real seconds, not scaled (clients see expires_in)
    throttling_enabled: bool = True
    page_size: int = 100
    limits: Limits = field(default_factory=Limits)
    # simulated durations (scaled by time_scale)
    default_extension_duration_s: float = 60.0
    noop_duration_s: float = 3.0           # a PUT that changes nothing still makes an operation
    delete_duration_s: float = 15.0
    agent_ready_after_s: float = 120.0
    agent_timeout_s: float = 1500.0        # ~25 min, as observed for VMAgentStatusCommunicationError
    # real seconds (not scaled) between a down agent's last report and the moment it went down: a client's
    # staleness check in wall-clock minutes must see it as old whatever the time scale
    agent_down_since_s: float = 1800.0
    # opt-in to the emulator's old, more generous answers (full extension objects in lists, retry hints on
    # operations, unsigned operation URLs...); off by default, see README "Lenient mode"
    lenient: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def update(self, changes: dict) -> None:
        """Apply a (partial) dict; unknown keys are an error so typos do not pass silently."""
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown config key {key!r}; known: {sorted(known)}")
            if key == "limits":
                limit_keys = {f.name for f in fields(Limits)}
                for lkey, lvalue in (value or {}).items():
                    if lkey not in limit_keys:
                        raise ValueError(f"unknown limit {lkey!r}; known: {sorted(limit_keys)}")
                    setattr(self.limits, lkey, type(getattr(self.limits, lkey))(lvalue))
            else:
                setattr(self, key, _coerce(getattr(self, key), value, key))
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")


def _coerce(current, value, key: str):
    """Keep a key's type; booleans only from real booleans (bool('false') would be True)."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    return type(current)(value) if current is not None else value
