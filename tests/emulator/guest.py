"""The simulated Windows guest and what the VMAccessAgent handler does inside it.

Passwords are kept only as salted PBKDF2 hashes. A run is prepared when the PUT arrives
(the password is hashed and checked against the guest policy right then, so no plaintext
is kept) and executed when its operation completes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from .rdp import RDP_TCP_RULE, RdpGuest, rdp_state

PBKDF2_ITERATIONS = 20_000   # slow enough to be a real KDF, fast enough for fleets

FAIL_EMPTY_PASSWORD = "The Admin User Account password cannot be null or empty if provided the username."
FAIL_DOMAIN_CONTROLLER = "VMAccess Extension does not support Domain Controller."
FAIL_POLICY = ("Cannot update Remote Desktop Connection settings for Administrator account. Error: "
               "System.Runtime.InteropServices.COMException (0x800708C5): The password does not meet the "
               "password policy requirements. Check the minimum password length, password complexity, and "
               "password history requirements. (Exception from HRESULT: 0x800708C5)")
FAIL_FIREWALL_SERVICE = ("Cannot update Remote Desktop Connection settings for Administrator account. Error: "
                         "System.Runtime.InteropServices.COMException (0x800706D9): There are no more endpoints "
                         "available from the endpoint mapper. (Exception from HRESULT: 0x800706D9)")
RDP_FIREWALL_RULE = RDP_TCP_RULE


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    salt = salt or os.urandom(16)
    return salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)


def meets_policy(password: str, username: str, min_length: int, complexity: bool) -> bool:
    """Windows' local policy: minimum length, and 'complex' = 3 of 4 classes, no account name."""
    if len(password) < min_length:
        return False
    if not complexity:
        return True
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if classes < 3:
        return False
    return not (len(username) >= 3 and username.lower() in password.lower())


@dataclass
class Account:
    name: str
    admin: bool = True
    enabled: bool = True
    salt: bytes | None = None
    password_hash: bytes | None = None      # None = set at provisioning, unknown to anyone
    password_set_at: str | None = None
    password_changes: int = 0
    builtin: bool = False                   # the SID -500 account (Azure names it adminUsername)

    def set_password_hash(self, salt: bytes, digest: bytes, when: str) -> None:
        self.salt, self.password_hash = salt, digest
        self.password_set_at = when
        self.password_changes += 1

    def check(self, password: str) -> bool:
        if self.password_hash is None or self.salt is None:
            return False
        return hmac.compare_digest(hash_password(password, self.salt)[1], self.password_hash)

    def to_dict(self) -> dict:
        return {"name": self.name, "admin": self.admin, "enabled": self.enabled,
                "password_set": self.password_hash is not None, "password_set_at": self.password_set_at,
                "password_changes": self.password_changes, "builtin": self.builtin}


@dataclass
class Guest:
    accounts: dict[str, Account] = field(default_factory=dict)   # keyed by lower-case name
    rdp_enabled: bool = True
    rdp_port: int = 3389
    firewall_rule_enabled: bool = True
    firewall_service_running: bool = True
    domain_controller: bool = False
    min_password_length: int = 8
    password_complexity: bool = True
    vmaccess_user_mode: str = "add"        # add: new admin (current builds); rename: old builds
    failure_message: str | None = None     # forces every run to fail with this in-guest message
    rdp: RdpGuest = field(default_factory=RdpGuest)   # the rest of the Remote Desktop configuration (rdp.py)

    def account(self, name: str) -> Account | None:
        return self.accounts.get(name.lower())

    def add_account(self, account: Account) -> None:
        self.accounts[account.name.lower()] = account

    def to_dict(self) -> dict:
        return {"accounts": [a.to_dict() for a in self.accounts.values()],
                "rdp_enabled": self.rdp_enabled, "rdp_port": self.rdp_port,
                "firewall_rule_enabled": self.firewall_rule_enabled,
                "firewall_service_running": self.firewall_service_running,
                "domain_controller": self.domain_controller,
                "password_policy": {"min_length": self.min_password_length,
                                    "complexity": self.password_complexity},
                "vmaccess_user_mode": self.vmaccess_user_mode, "failure_message": self.failure_message,
                "rdp": rdp_state(self)}


@dataclass
class PreparedRun:
    """What a PUT asked the handler to do, with the password already reduced to a hash."""
    username: str | None
    password_given: bool
    salt: bytes | None = None
    password_hash: bytes | None = None
    password_ok_for_policy: bool = True

    @property
    def kind(self) -> str:
        return "password" if self.username else "rdp"


@dataclass
class RunOutcome:
    ok: bool
    message: str


def _setting(mapping: dict | None, key: str):
    """VMAccess settings keys matched case-insensitively (tools send UserName, docs username)."""
    for k, v in (mapping or {}).items():
        if k.lower() == key:
            return v
    return None


def prepare_run(guest: Guest, settings: dict | None, protected: dict | None) -> PreparedRun:
    username = _setting(settings, "username") or _setting(protected, "username")
    password = _setting(protected, "password")
    username = str(username) if username else None
    run = PreparedRun(username=username, password_given=bool(password))
    if username and password:
        run.salt, run.password_hash = hash_password(str(password))
        run.password_ok_for_policy = meets_policy(str(password), username, guest.min_password_length,
                                                  guest.password_complexity)
    return run


def execute_vmaccess(guest: Guest, run: PreparedRun, builtin_admin: str, when: str) -> RunOutcome:
    """Apply a VMAccessAgent run to the guest; returns the status the handler reports."""
    if guest.failure_message:
        return RunOutcome(False, guest.failure_message)
    if guest.domain_controller:
        return RunOutcome(False, FAIL_DOMAIN_CONTROLLER)
    account_note = ""
    if run.username:
        if not run.password_given:
            return RunOutcome(False, FAIL_EMPTY_PASSWORD)
        if not run.password_ok_for_policy:
            return RunOutcome(False, FAIL_POLICY)
        account = guest.account(run.username)
        if account is not None and not account.admin:
            return RunOutcome(False, f"User account {account.name} already exists but cannot be updated "
                                     "because it is not in the Administrators group.")
        if account is None and guest.vmaccess_user_mode == "rename" and guest.account(builtin_admin):
            # old extension builds renamed the built-in administrator instead of adding one
            account = guest.accounts.pop(builtin_admin.lower())
            account.name = run.username
            guest.add_account(account)
            account_note = f"Renamed Admin account {builtin_admin} to {run.username}"
        elif account is None:
            account = Account(name=run.username, admin=True)
            guest.add_account(account)
            account_note = f"Succesfully added Admin account {run.username}"
        else:
            account_note = "Succesfully updated Admin account"
        account.set_password_hash(run.salt, run.password_hash, when)
        account.enabled = True
    # every run, with or without a user, (re)enables Remote Desktop and its firewall rule
    if not guest.firewall_service_running:
        return RunOutcome(False, FAIL_FIREWALL_SERVICE)
    guest.rdp_enabled = True
    guest.firewall_rule_enabled = True
    if account_note:
        return RunOutcome(True, f"{account_note} and enabled Remote Desktop Connection.")
    return RunOutcome(True, "Successfully enabled Remote Desktop Connection and the firewall rule "
                            f"'{RDP_FIREWALL_RULE}' for port {guest.rdp_port}.")


def execute_linux_vmaccess(guest: Guest, run: PreparedRun, when: str) -> RunOutcome:
    """VMAccessForLinux, minimal: create/update a sudo user when username+password are given."""
    if guest.failure_message:
        return RunOutcome(False, f"Enable failed: {guest.failure_message}")
    if run.username and run.password_given:
        account = guest.account(run.username) or Account(name=run.username, admin=True)
        guest.add_account(account)
        account.set_password_hash(run.salt, run.password_hash, when)
        account.enabled = True
    return RunOutcome(True, "Enable succeeded.")
