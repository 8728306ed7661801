"""The VM agent (facts §8.2). "Not ready" is two cases a client must tell apart:

- starting: a VM just created or started; its status blob is "not yet populated" (current time).
  A VMAccess PUT is accepted and runs once the agent reports, ``agent_ready_after_s`` later.
- down ("not_ready" in fleets and the control API): "VM Agent is unresponsive." with the OLD time of
  its last report. A PUT is accepted and fails only after ``agent_timeout_s``.
"""

from __future__ import annotations

from .model import VM

AGENT_STATES = ("ready", "starting", "not_ready")
AGENT_ALIASES = {"down": "not_ready"}


def normalize_agent(value) -> str:
    state = str(value).lower()
    state = AGENT_ALIASES.get(state, state)
    if state not in AGENT_STATES:
        raise ValueError(f"agent {value!r} is not one of {list(AGENT_STATES) + list(AGENT_ALIASES)}")
    return state


def set_agent(store, vm: VM, state: str) -> None:
    """Put the agent in a state as of now (the instants its statuses report are derived from here)."""
    clock, config = store.clock, store.config
    vm.agent = normalize_agent(state)
    now = clock.now()
    if vm.agent == "starting":
        after = vm.agent_ready_after_s if vm.agent_ready_after_s is not None else config.agent_ready_after_s
        vm.agent_ready_at = now + clock.scaled(after)
    if vm.agent == "not_ready":
        mark_silent_since(store, vm, now)


def mark_silent_since(store, vm: VM, now: float) -> None:
    """The agent stopped reporting some real minutes ago (not scaled: staleness is judged on wall time)."""
    down_for = vm.agent_down_since_s if vm.agent_down_since_s is not None else store.config.agent_down_since_s
    vm.agent_last_report = now - float(down_for)


def settle_agent(vm: VM, now: float) -> None:
    if vm.agent == "starting" and vm.agent_ready_at is not None and now >= vm.agent_ready_at:
        vm.agent = "ready"


def agent_reports(vm: VM, now: float) -> bool:
    """True when a running VM's agent is Ready at ``now`` (a starting one becomes Ready on time)."""
    if vm.power_state != "running":
        return False
    if vm.agent == "starting":
        return vm.agent_ready_at is not None and now >= vm.agent_ready_at
    return vm.agent == "ready"


def ready_instant(vm: VM, now: float) -> float:
    """When the agent will pick up work handed over at ``now`` (infinity when it is down)."""
    if vm.agent == "not_ready":
        return float("inf")
    if vm.agent == "starting" and vm.agent_ready_at is not None:
        return max(now, vm.agent_ready_at)
    return now
