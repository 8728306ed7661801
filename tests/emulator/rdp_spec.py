"""Fleet-file keys and control-API fields for the guest's Remote Desktop state: validation, seeding
and patching share one definition, so both accept exactly the same values.

| key                         | values                              | default                 |
|-----------------------------|-------------------------------------|-------------------------|
| nla                         | true / false (UserAuthentication)   | true                    |
| rdp_cert                    | valid / expired / missing           | valid                   |
| rdp_cert_self_signed        | true / false                        | true                    |
| termservice                 | running / stopped                   | running                 |
| termservice_start_type      | manual / automatic / disabled       | manual                  |
| policy_deny_ts_connections  | null / 0 / 1                        | null (no policy)        |
| builtin_admin_enabled       | true / false                        | true                    |
| domain_joined, domain       | true / false, a DNS name            | false, contoso.local    |
| domain_reachable            | true / false (secure channel works) | true                    |
| listener_defaults           | true / false (false: NON_DEFAULT)   | true                    |
| listener_values             | {RDPSettings value name: int/null}  | RDPSettings' defaults   |
| security_layer              | 0 / 1 / 2                           | 2                       |
| rdp_firewall_rules          | [{name, enabled, local_port}]       | none beyond built-ins   |

``rdp_cert`` and ``termservice`` also take a distribution ``{value: weight}`` in fleet files.
"""

from __future__ import annotations

import random
import time

from .rdp import (CERT_STATES, LISTENER_DEFAULTS, NON_DEFAULT_LISTENER, START_TYPES, TERMSERVICE_STATES,
                  FirewallRule, guest_boot, iso_day, seeded_cert)

RDP_KEYS = {"nla", "rdp_cert", "rdp_cert_self_signed", "termservice", "termservice_start_type",
            "policy_deny_ts_connections", "builtin_admin_enabled", "domain_joined", "domain", "domain_reachable",
            "listener_defaults", "listener_values", "security_layer", "rdp_firewall_rules"}
BOOL_KEYS = ("nla", "rdp_cert_self_signed", "builtin_admin_enabled", "domain_joined", "domain_reachable",
             "listener_defaults")
CHOICE_KEYS = {"rdp_cert": CERT_STATES, "termservice": TERMSERVICE_STATES, "termservice_start_type": START_TYPES}


def _is_distribution(value) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(w, (int, float)) for w in value.values())


def _pick(value, rng: random.Random | None):
    """A scalar, or a sample from a {value: weight} distribution (the fleet rng only moves when sampling)."""
    if _is_distribution(value):
        choices, weights = zip(*value.items())
        return (rng or random).choices(choices, weights=weights)[0]
    return value


def _check_choice(key: str, value) -> None:
    values = list(value) if _is_distribution(value) else [value]
    for v in values:
        if str(v).lower() not in CHOICE_KEYS[key]:
            raise ValueError(f"{key}: {v!r} is not one of {list(CHOICE_KEYS[key])}")


def _check_listener_values(value) -> None:
    if not isinstance(value, dict):
        raise ValueError("listener_values: must be a mapping {name: value}")
    for name, v in value.items():
        if name not in LISTENER_DEFAULTS:
            raise ValueError(f"listener_values: {name!r} is not one of {sorted(LISTENER_DEFAULTS)}")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"listener_values.{name}: must be an integer or null")


def _check_rules(value) -> None:
    if not isinstance(value, list):
        raise ValueError("rdp_firewall_rules: must be a list of {name, enabled, local_port}")
    for i, rule in enumerate(value):
        if not isinstance(rule, dict) or not rule.get("name") or set(rule) - {"name", "enabled", "local_port"}:
            raise ValueError(f"rdp_firewall_rules[{i}]: needs a name; keys are name, enabled, local_port")


def validate_rdp_spec(spec: dict) -> None:
    """Raises ValueError('<key>: <why>') for the first bad RDP key of a VM spec or patch."""
    for key in BOOL_KEYS:
        if key in spec and not isinstance(spec[key], bool):
            raise ValueError(f"{key}: must be true or false")
    for key in CHOICE_KEYS:
        if key in spec:
            _check_choice(key, spec[key])
    if spec.get("policy_deny_ts_connections") not in (None, 0, 1) or isinstance(
            spec.get("policy_deny_ts_connections"), bool):
        raise ValueError("policy_deny_ts_connections: must be null, 0 or 1")
    if spec.get("security_layer", 2) not in (0, 1, 2) or isinstance(spec.get("security_layer"), bool):
        raise ValueError("security_layer: must be 0, 1 or 2")
    if "domain" in spec and spec["domain"] is not None and not isinstance(spec["domain"], str):
        raise ValueError("domain: must be a DNS name")
    if "listener_values" in spec:
        _check_listener_values(spec["listener_values"])
    if "rdp_firewall_rules" in spec:
        _check_rules(spec["rdp_firewall_rules"])


def seed_rdp(guest, spec: dict, rng: random.Random, cert_seed: str) -> None:
    """A new VM's RDP state: defaults (a healthy listener), then the spec's keys."""
    rdp = guest.rdp
    rdp.cert_seed = cert_seed
    rdp.udp_rule_enabled = rdp.shadow_rule_enabled = bool(guest.firewall_rule_enabled)
    apply_rdp_changes(guest, {"rdp_cert": "valid", **spec}, rng)


def apply_rdp_changes(guest, changes: dict, rng: random.Random | None = None) -> None:
    """Apply the RDP keys present in ``changes`` (a fleet spec or a control-API patch)."""
    validate_rdp_spec(changes)
    rdp = guest.rdp
    if "nla" in changes:
        rdp.user_authentication = 1 if changes["nla"] else 0
        rdp.nla_in_effect = bool(changes["nla"])      # seeded or patched state is the running state
    if "rdp_cert" in changes or "rdp_cert_self_signed" in changes:
        state = str(_pick(changes.get("rdp_cert", _cert_state(rdp)), rng)).lower()
        rdp.cert = seeded_cert(rdp.cert_seed, state, bool(changes.get("rdp_cert_self_signed", True)), time.time())
    if "termservice" in changes:
        rdp.termservice_status = str(_pick(changes["termservice"], rng)).capitalize()
    if "termservice_start_type" in changes:
        rdp.termservice_start_type = str(changes["termservice_start_type"]).capitalize()
    for key, attr in (("policy_deny_ts_connections", "policy_deny_ts_connections"),
                      ("security_layer", "security_layer"), ("domain_joined", "domain_joined"),
                      ("domain", "domain"), ("domain_reachable", "domain_reachable")):
        if key in changes:
            setattr(rdp, attr, changes[key])
    _apply_listener(rdp, changes)
    if "rdp_firewall_rules" in changes:
        rdp.custom_rules = [FirewallRule(str(r["name"]), bool(r.get("enabled", True)), str(r.get("local_port", "Any")))
                            for r in changes["rdp_firewall_rules"]]
    if "builtin_admin_enabled" in changes:
        admin = next((a for a in guest.accounts.values() if a.builtin), None)
        if admin is not None:
            admin.enabled = bool(changes["builtin_admin_enabled"])


def _cert_state(rdp) -> str:
    if rdp.cert is not None and not rdp.cert.in_store:
        return "missing"
    if rdp.cert is not None and rdp.cert.not_after and rdp.cert.not_after < iso_day(time.time()):
        return "expired"
    return "valid"


def _apply_listener(rdp, changes: dict) -> None:
    if "listener_defaults" in changes:
        rdp.listener = dict(LISTENER_DEFAULTS)
        if not changes["listener_defaults"]:
            rdp.listener.update(NON_DEFAULT_LISTENER)
    rdp.listener.update(changes.get("listener_values") or {})


def on_vm_started(guest) -> None:
    """The control API started the VM: the guest boots."""
    guest_boot(guest.rdp)
