# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deciding what to do to one VM, from what was read: pure functions, no I/O.

``preflight`` rejects what VMAccess cannot fix; ``agent_condition`` tells a starting agent (Azure
queues the run) from a down one (the run would fail after ~25 minutes); ``plan_reset`` picks the
instance, version and reset fingerprint, and whether anything needs to be written at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import List, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import (
    VMACCESS_PUBLISHER,
    VMACCESS_TYPE,
    major_minor,
    parse_time,
    version_tuple,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import check_password

DEFAULT_EXTENSION_NAME = "enablevmaccess"
DEFAULT_HANDLER_VERSION = "2.4"
PASSWORD_PLACEHOLDER = "<changed>"

AGENT_READY = "ready"
AGENT_STARTING = "starting"
AGENT_DOWN = "down"
# An agent whose last report is older than this is down, whatever it last said.
STALE_AGENT_S = 15 * 60
_STARTING_MESSAGE = "not yet populated"


@dataclass
class Plan:
    """What a run will do to one VM. ``body`` never holds the password: it is added at PUT time."""

    action: str  # created | updated | rerun | none | wait
    why: str
    extension_name: str
    body: dict = field(default_factory=dict)
    fingerprint: Optional[fp.Fingerprint] = None
    username: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    @property
    def needs_put(self):
        return self.action in ("created", "updated", "rerun")


def not_windows_error(vm):
    """Why VMAccess for Windows cannot act on this VM's OS, or None when it runs Windows. A document that
    does not say which OS the VM runs is Azure's answer gone wrong, not a Linux VM."""
    name = vm.ref.name
    if vm.is_windows:
        return None
    if not vm.os_type:
        return VmAccessError("unexpected_response", "Azure's answer for %s does not say which OS it runs (no "
                             "storageProfile.osDisk.osType). Run again; if it persists, check the VM in the portal."
                             % name)
    if vm.os_type.lower() == "linux":
        return VmAccessError(
            "not_windows",
            "%s runs Linux. VMAccess for Windows cannot reset it; use the VMAccessForLinux extension "
            "(az vm user update / az vm user reset-ssh) instead." % name, os_type=vm.os_type)
    return VmAccessError("not_windows", "%s does not report a Windows OS disk (os type %r)." % (name, vm.os_type))


def preflight(vm):
    """What VMAccess cannot fix, from one read of the VM (the agent is ``agent_condition``'s)."""
    name = vm.ref.name
    error = not_windows_error(vm)
    if error is not None:
        raise error
    if not vm.is_running:
        raise VmAccessError(
            "vm_not_running",
            "%s is %s; Azure changes extensions only on a running VM. Start it (az vm start) and run again."
            % (name, vm.power_state or "in an unknown power state"), power_state=vm.power_state)
    if vm.allow_extension_operations is False:
        raise VmAccessError(
            "extensions_disallowed",
            "%s has osProfile.allowExtensionOperations set to false, so no extension can run on it. "
            "Allow extension operations on the VM, or reset access another way." % name)


def agent_condition(vm, now=None):
    """``ready``, ``starting`` (status blob not yet populated, recently: Azure queues the run) or
    ``down`` (unresponsive, silent, or a stale report: the run would only fail after ~25 minutes)."""
    if vm.agent_ready:
        return AGENT_READY
    reported = parse_time(vm.agent_time)
    now = now or datetime.now(timezone.utc)
    stale = reported is not None and (now - reported).total_seconds() > STALE_AGENT_S
    if _STARTING_MESSAGE in (vm.agent_message or "").lower() and not stale:
        return AGENT_STARTING
    return AGENT_DOWN


def agent_down_error(vm, waited_s=0):
    waited = " after waiting %ds" % waited_s if waited_s else ""
    return VmAccessError(
        "agent_not_ready",
        "The VM agent on %s is not reporting (%s: %s)%s, so VMAccess cannot run; Azure would only give up after "
        "about 25 minutes. Check that the VM booted and the Windows Azure Guest Agent service runs and can reach "
        "Azure outbound (boot diagnostics, restart the agent or the VM), then run again. require_agent_ready: false "
        "sends the reset anyway." % (vm.ref.name, vm.agent_status or "no status", vm.agent_message or "no message",
                                     waited),
        agent_status=vm.agent_status)


def _desired_username(vm, request):
    if request.username is None:
        if not vm.admin_username:
            raise VmAccessError("invalid_username",
                                "%s does not report its administrator name; set username explicitly." % vm.ref.name)
        return vm.admin_username
    if vm.admin_username and request.username.lower() != vm.admin_username.lower() and not request.allow_new_admin:
        raise VmAccessError(
            "new_admin_not_allowed",
            "username %r is not the VM's administrator (%r). VMAccess would create (or on old builds rename to) "
            "another administrator account. Leave username unset to reset %r, or set allow_new_admin: true "
            "if a new administrator is what you want." % (request.username, vm.admin_username, vm.admin_username))
    return request.username


def _desired_version(request, existing):
    """The user's version, else a higher major.minor already on the VM (2.0 may no longer be
    published), else 2.4. Always major.minor: a running build such as 2.4.9 is not requestable."""
    if request.type_handler_version:
        return request.type_handler_version
    current = major_minor(existing.type_handler_version) if existing is not None else None
    if current and version_tuple(current) > version_tuple(DEFAULT_HANDLER_VERSION):
        return current
    return DEFAULT_HANDLER_VERSION


def _wanted_fingerprint(request, vm, username, current, kdf):
    """The tag this reset writes, and why. A password tag written by an older release (another
    KDF) is checked with its own KDF first, so an upgrade alone never resets an unchanged password."""
    if request.force:
        return fp.random_fingerprint(), "force"
    if request.reset == "password" and request.update_password == "always":
        return fp.random_fingerprint(), "update_password=always"
    if request.reset == "password":
        if current is not None and current.kind in fp.PASSWORD_KDFS and current.kind != fp.KIND_PASSWORD:
            legacy = kdf(request.password, vm.id, username, request.run_tag, kind=current.kind)
            if legacy.same_reset(current):
                return legacy, "password fingerprint"
        return kdf(request.password, vm.id, username, request.run_tag), "password fingerprint"
    if request.run_tag:
        return fp.rdp_fingerprint(request.run_tag), "run_tag"
    return fp.random_fingerprint(), "no run_tag: an RDP reset without run_tag always runs"


def plan_reset(vm, request, password_fingerprint=fp.password_fingerprint):
    """Decide what to send to ``vm`` (read with its extension's model). Pure, given the password KDF."""
    preflight(vm)
    existing = vm.extension
    if request.reset == "password":
        username = _desired_username(vm, request)
        check_password(request.password, username, min_length=request.password_min_length)
        settings = {"UserName": username}
    else:
        username, settings = None, {}
    warnings = []
    name = existing.name if existing else (request.extension_name or DEFAULT_EXTENSION_NAME)
    if existing and request.extension_name and request.extension_name.lower() != existing.name.lower():
        warnings.append("The VM already has a VMAccessAgent instance named %r; Azure allows one per VM, so it was "
                        "reused instead of %r." % (existing.name, request.extension_name))
    version = _desired_version(request, existing)
    auto_upgrade = True if existing is None or existing.auto_upgrade_minor_version is None \
        else existing.auto_upgrade_minor_version

    current = fp.parse_tag(existing.force_update_tag) if existing else None
    wanted, why = _wanted_fingerprint(request, vm, username, current, password_fingerprint)
    same_settings = existing is not None and _same_settings(existing.settings, settings)
    same_reset = same_settings and wanted.same_reset(current)
    if existing is None:
        action = "created"
    elif same_reset and existing.in_progress:
        action, why = "wait", "the same reset is already running"
    elif same_reset and existing.succeeded:
        action, why = "none", "the same reset already succeeded (%s)" % why
    elif same_reset:
        # Same reset, but the last run failed: Azure skips a PUT whose tag is unchanged.
        wanted = current.next_attempt()
        action, why = "rerun", "the last run of this reset failed; retrying as attempt %d" % wanted.attempt
    elif not same_settings or version_tuple(version) != version_tuple(major_minor(existing.type_handler_version)):
        action = "updated"
    else:
        action = "rerun"

    body = {"location": vm.location, "properties": {
        "publisher": VMACCESS_PUBLISHER, "type": VMACCESS_TYPE, "typeHandlerVersion": version,
        "autoUpgradeMinorVersion": auto_upgrade, "forceUpdateTag": wanted.tag(), "settings": settings}}
    before = diff_view(existing.name, existing.type_handler_version, existing.settings,
                       existing.force_update_tag) if existing else {}
    if action in ("none", "wait"):
        after = dict(before)
    else:
        after = diff_view(name, version, settings, wanted.tag(),
                          PASSWORD_PLACEHOLDER if request.reset == "password" else None)
    return Plan(action=action, why=why, extension_name=name, body=body, fingerprint=wanted, username=username,
                warnings=warnings, before=before, after=after)


def _same_settings(current, desired):
    current = current or {}
    if set(k.lower() for k in current) != set(k.lower() for k in desired):
        return False
    lowered = dict((k.lower(), v) for k, v in current.items())
    for key, value in desired.items():
        other = lowered.get(key.lower())
        if isinstance(value, str) and isinstance(other, str):
            if value.lower() != other.lower():
                return False
        elif value != other:
            return False
    return True


def diff_view(name, version, settings, tag, password=None):
    """The extension as --diff shows it: the fingerprint's kind and attempt, never its digest."""
    view = {"extension_name": name, "type_handler_version": version, "settings": dict(settings or {}),
            "reset_fingerprint": fp.describe_tag(tag)}
    parsed = fp.parse_tag(tag)
    if parsed:
        view["reset_attempt"] = parsed.attempt
    if password is not None:
        view["password"] = password
    return view
