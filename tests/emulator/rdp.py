"""The guest's Remote Desktop configuration, as Windows keeps it: registry values, the listener
certificate, the TermService service, the RDP firewall rules and the domain membership.

What VMAccess already modelled stays on ``Guest`` (``rdp_enabled`` is fDenyTSConnections = 0 in
the Terminal Server key, ``rdp_port`` is PortNumber, ``firewall_rule_enabled`` is the built-in
"Remote Desktop - User Mode (TCP-In)" rule, ``firewall_service_running`` is mpssvc). Everything
else lives here, on ``guest.rdp``. Functions take the whole guest (duck-typed) because the state
a diagnosis reports spans both.

The listener values and their defaults are the ones Microsoft's RDPSettings run command checks
(Azure/azure-support-scripts ``RunCommand/Windows/RDPSettings/RDPSettings.ps1``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

TS_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"
RDP_TCP_KEY = TS_KEY + "\\Winstations\\RDP-Tcp"
POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services"
RDP_TCP_RULE = "Remote Desktop - User Mode (TCP-In)"
RDP_UDP_RULE = "Remote Desktop - User Mode (UDP-In)"
RDP_SHADOW_RULE = "Remote Desktop - Shadow (TCP-In)"
CUSTOM_PORT_RULE = "Remote Desktop - Custom Port"      # the rule SetRDPPort adds for a non-default port
DEFAULT_DOMAIN = "contoso.local"
CERT_VALID_DAYS = 150            # a seeded certificate's remaining life
CERT_EXPIRED_DAYS = 30           # how long ago a seeded 'expired' certificate ran out
SELF_SIGNED_LIFETIME_DAYS = 180  # what Windows gives a fresh self-signed RDP certificate
TERMSERVICE_STATES = ("running", "stopped")
START_TYPES = ("manual", "automatic", "disabled")
CERT_STATES = ("valid", "expired", "missing")


@dataclass(frozen=True)
class ListenerValue:
    name: str
    key: str          # POLICY_KEY or RDP_TCP_KEY
    expected: int
    policy: str       # the group-policy setting RDPSettings names on a domain-joined VM


_KA = "Connections\\Configure keep-alive connection interval"
_RECONNECT = "Connections\\Automatic reconnection"
_DISCONNECTED = "Session Time Limits\\Set time limit for disconnected sessions"
_IDLE = "Session Time Limits\\Set time limit for active but idle Remote Desktop Services sessions"
# in the order RDPSettings reads them
LISTENER_VALUES = (
    ListenerValue("KeepAliveEnable", POLICY_KEY, 1, _KA),
    ListenerValue("KeepAliveInterval", POLICY_KEY, 1, _KA),
    ListenerValue("KeepAliveTimeout", POLICY_KEY, 1, _KA),
    ListenerValue("fDisableAutoReconnect", POLICY_KEY, 0, _RECONNECT),
    ListenerValue("fInheritReconnectSame", RDP_TCP_KEY, 1, _RECONNECT),
    ListenerValue("fReconnectSame", RDP_TCP_KEY, 1, _RECONNECT),
    ListenerValue("fInheritMaxSessionTime", RDP_TCP_KEY, 1,
                  "Session Time Limits\\Set time limit for active Remote Desktop Session Services sessions"),
    ListenerValue("fInheritMaxDisconnectionTime", RDP_TCP_KEY, 1, _DISCONNECTED),
    ListenerValue("MaxDisconnectionTime", RDP_TCP_KEY, 0, _DISCONNECTED),
    ListenerValue("MaxConnectionTime", RDP_TCP_KEY, 0, "Session Time Limits\\End session when time limits are reached"),
    ListenerValue("fInheritMaxIdleTime", RDP_TCP_KEY, 1, _IDLE),
    ListenerValue("MaxIdleTime", RDP_TCP_KEY, 0, _IDLE),
    ListenerValue("MaxInstanceCount", RDP_TCP_KEY, 4294967295, "Connections\\Limit number of connections"),
    ListenerValue("LanAdapter", RDP_TCP_KEY, 0, "TermSrv Defaults\\Listen on all LAN Adapters"),
    ListenerValue("TSServerDrainMode", RDP_TCP_KEY, 0, "TermSrv Defaults\\Disable drain mode"),
    ListenerValue("fQueryUserConfigFromLocalMachine", RDP_TCP_KEY, 1, "TermServ Defaults\\Load user config locally"),
)
LISTENER_DEFAULTS = {v.name: v.expected for v in LISTENER_VALUES}
# what `listener_defaults: false` seeds: a listener bound to one adapter, draining, capped and idling out
NON_DEFAULT_LISTENER = {"LanAdapter": 2, "TSServerDrainMode": 1, "MaxInstanceCount": 1, "fInheritMaxIdleTime": 0,
                        "MaxIdleTime": 900000}


def iso_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def thumbprint_for(seed: str, generation: int) -> str:
    """A certificate thumbprint (40 upper-case hex digits), stable for a VM and a certificate generation."""
    return hashlib.sha1(f"{seed}:rdp-cert:{generation}".encode()).hexdigest().upper()


@dataclass
class ListenerCert:
    thumbprint: str
    not_after: str | None             # None when the certificate is not in the store
    in_store: bool = True
    self_signed: bool = True
    bound: bool = False               # SSLCertificateSHA1Hash set explicitly (else the auto self-signed one)


@dataclass
class FirewallRule:
    name: str
    enabled: bool
    local_port: str

    def to_dict(self) -> dict:
        return {"name": self.name, "enabled": self.enabled, "local_port": self.local_port}


@dataclass
class RdpGuest:
    policy_deny_ts_connections: int | None = None   # group policy; wins over the Terminal Server key when set
    user_authentication: int = 1                     # NLA as the registry says
    nla_in_effect: bool = True                       # what the running listener enforces (needs a restart)
    security_layer: int = 2
    min_encryption_level: int = 2
    cert: ListenerCert | None = None                 # set at seeding; None = a fresh self-signed one on first use
    cert_seed: str = ""
    cert_generation: int = 0
    termservice_status: str = "Running"
    termservice_start_type: str = "Manual"
    udp_rule_enabled: bool = True
    shadow_rule_enabled: bool = True
    custom_rules: list[FirewallRule] = field(default_factory=list)
    domain_joined: bool = False
    domain: str | None = None
    domain_reachable: bool = True                    # the secure channel to a domain controller works
    listener: dict = field(default_factory=lambda: dict(LISTENER_DEFAULTS))
    remote_ps_enabled: bool = False


# --- state transitions the run commands (and seeding) use --------------------------------------

def new_self_signed_cert(rdp: RdpGuest, now: float | None = None) -> ListenerCert:
    """What Windows makes when the listener has no usable certificate bound."""
    rdp.cert_generation += 1
    now = time.time() if now is None else now
    rdp.cert = ListenerCert(thumbprint_for(rdp.cert_seed, rdp.cert_generation),
                            iso_day(now + SELF_SIGNED_LIFETIME_DAYS * 86400))
    return rdp.cert


def seeded_cert(seed: str, state: str, self_signed: bool, now: float) -> ListenerCert:
    thumbprint = thumbprint_for(seed, 0)
    if state == "missing":     # bound to a thumbprint the store no longer has
        return ListenerCert(thumbprint, None, in_store=False, self_signed=self_signed, bound=True)
    days = CERT_VALID_DAYS if state == "valid" else -CERT_EXPIRED_DAYS
    return ListenerCert(thumbprint, iso_day(now + days * 86400), self_signed=self_signed, bound=not self_signed)


def listener_cert(rdp: RdpGuest) -> ListenerCert:
    return rdp.cert or new_self_signed_cert(rdp)


def restart_termservice(rdp: RdpGuest) -> bool:
    """Restart-Service -Force: stops, then starts unless the service is disabled. A restart also applies
    the listener's registry settings (NLA)."""
    if rdp.termservice_start_type.lower() == "disabled":
        rdp.termservice_status = "Stopped"
        return False
    rdp.termservice_status = "Running"
    rdp.nla_in_effect = rdp.user_authentication == 1
    return True


def guest_boot(rdp: RdpGuest) -> None:
    """A (re)start of the VM: services start per start type, pending registry changes apply."""
    if rdp.termservice_start_type.lower() != "disabled":
        rdp.termservice_status = "Running"
    rdp.nla_in_effect = rdp.user_authentication == 1


def enable_rdp_rule_group(guest) -> int:
    """`netsh advfirewall firewall set rule group="remote desktop" new enable=yes`; returns the rule count."""
    guest.firewall_rule_enabled = True
    guest.rdp.udp_rule_enabled = True
    guest.rdp.shadow_rule_enabled = True
    return 3


def add_custom_port_rule(rdp: RdpGuest, port: int) -> None:
    for rule in rdp.custom_rules:          # one rule per name and port (netsh would add a duplicate)
        if rule.name == CUSTOM_PORT_RULE and rule.local_port == str(port):
            rule.enabled = True
            return
    rdp.custom_rules.append(FirewallRule(CUSTOM_PORT_RULE, True, str(port)))


def builtin_admin(guest):
    """The account with SID -500 (Azure names it adminUsername; VMAccess's old builds renamed it)."""
    return next((a for a in guest.accounts.values() if getattr(a, "builtin", False)), None)


def domain_joined(guest) -> bool:
    return guest.rdp.domain_joined or guest.domain_controller


def domain_name(guest) -> str | None:
    if not domain_joined(guest):
        return None
    return guest.rdp.domain or DEFAULT_DOMAIN


def rdp_effectively_enabled(guest) -> bool:
    policy = guest.rdp.policy_deny_ts_connections
    return policy == 0 if policy is not None else bool(guest.rdp_enabled)


def listener_non_default(rdp: RdpGuest) -> list[str]:
    return [v.name for v in LISTENER_VALUES if rdp.listener.get(v.name) != v.expected]


def firewall_rules(guest) -> list[FirewallRule]:
    rdp = guest.rdp
    return [FirewallRule(RDP_TCP_RULE, bool(guest.firewall_rule_enabled), "3389"),
            FirewallRule(RDP_UDP_RULE, rdp.udp_rule_enabled, "3389"),
            FirewallRule(RDP_SHADOW_RULE, rdp.shadow_rule_enabled, "Any"), *rdp.custom_rules]


# --- reports ---------------------------------------------------------------------------------

def cert_report(rdp: RdpGuest, now: float | None = None) -> dict:
    cert = listener_cert(rdp)
    if not cert.in_store:
        return {"thumbprint": cert.thumbprint, "found": False, "not_after": None, "expired": None,
                "self_signed": None}
    now = time.time() if now is None else now
    return {"thumbprint": cert.thumbprint, "found": True, "not_after": cert.not_after,
            "expired": cert.not_after is not None and cert.not_after < iso_day(now), "self_signed": cert.self_signed}


def check_document(guest) -> dict:
    """What the collection's read-only check script (`# azops-rdp-check v1`) reports, schema version 1."""
    rdp, admin = guest.rdp, builtin_admin(guest)
    return {
        "version": 1,
        "rdp": {"deny_ts_connections": 0 if guest.rdp_enabled else 1,
                "policy_deny_ts_connections": rdp.policy_deny_ts_connections, "port": guest.rdp_port,
                "nla_required": rdp.user_authentication == 1, "security_layer": rdp.security_layer,
                "listener_non_default": listener_non_default(rdp)},
        "cert": cert_report(rdp),
        "termservice": {"status": rdp.termservice_status, "start_type": rdp.termservice_start_type},
        "firewall": {"service_running": bool(guest.firewall_service_running),
                     "rdp_rules": [r.to_dict() for r in firewall_rules(guest)]},
        "domain": {"joined": domain_joined(guest), "domain": domain_name(guest),
                   "secure_channel": rdp.domain_reachable if domain_joined(guest) else None},
        "admin": {"name": admin.name if admin else None, "enabled": bool(admin.enabled) if admin else None},
    }


def rdp_state(guest) -> dict:
    """The control API's view: everything the check reports plus what only the emulator knows."""
    rdp, admin = guest.rdp, builtin_admin(guest)
    cert = listener_cert(rdp)
    return {
        "deny_ts_connections": 0 if guest.rdp_enabled else 1,
        "policy_deny_ts_connections": rdp.policy_deny_ts_connections,
        "effective_enabled": rdp_effectively_enabled(guest), "port": guest.rdp_port,
        "nla": rdp.user_authentication == 1, "nla_in_effect": rdp.nla_in_effect,
        "security_layer": rdp.security_layer, "min_encryption_level": rdp.min_encryption_level,
        "cert": {**cert_report(rdp), "bound": cert.bound, "generation": rdp.cert_generation},
        "termservice": {"status": rdp.termservice_status, "start_type": rdp.termservice_start_type},
        "firewall_service_running": bool(guest.firewall_service_running),
        "firewall_rules": [r.to_dict() for r in firewall_rules(guest)],
        "domain_joined": domain_joined(guest), "domain": domain_name(guest),
        "domain_reachable": rdp.domain_reachable,
        "builtin_admin": {"name": admin.name, "enabled": admin.enabled} if admin else None,
        "listener_values": dict(rdp.listener), "listener_non_default": listener_non_default(rdp),
        "remote_ps_enabled": rdp.remote_ps_enabled,
    }
