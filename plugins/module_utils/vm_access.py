# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reset itself: read the VM -> pre-flight -> plan -> apply -> verify.

``check_request`` and ``plan_reset`` are pure (no I/O); ``ResetRunner`` does the Azure calls
through ComputeApi. Nothing here knows about Ansible: it takes plain values and returns
plain dicts, and every failure is a VmAccessError with a stable reason code.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils.compute_api import wait_for_poller
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import check_password, check_username
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_state import (
    VMACCESS_PUBLISHER,
    VMACCESS_TYPE,
    parse_extension,
    parse_vm,
    version_tuple,
)

DEFAULT_EXTENSION_NAME = "enablevmaccess"
DEFAULT_HANDLER_VERSION = "2.4"
PASSWORD_PLACEHOLDER = "<changed>"


@dataclass
class ResetRequest:
    """What the user asked for, already type-checked by the caller."""

    reset: str  # "password" | "rdp"
    username: Optional[str] = None
    password: Optional[str] = None
    run_tag: Optional[str] = None
    force: bool = False
    update_password: str = "on_change"  # "on_change" | "always"
    allow_new_admin: bool = False
    extension_name: Optional[str] = None
    type_handler_version: Optional[str] = None
    require_agent_ready: bool = True
    password_min_length: int = 12

    def __repr__(self):
        return "ResetRequest(reset=%r, username=%r, run_tag=%r, force=%r)" % (
            self.reset, self.username, self.run_tag, self.force)


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


def check_request(request):
    """Reject invalid input before any API call: a weak password never leaves the controller."""
    if request.reset not in ("password", "rdp"):
        raise VmAccessError("invalid_argument", "reset must be 'password' or 'rdp'.")
    if request.run_tag is not None and not fp.valid_run_tag(request.run_tag):
        raise VmAccessError(
            "invalid_argument",
            "run_tag must be 1 to 64 characters: letters, digits and . _ @ + / = - (starting with a letter or digit).",
        )
    if request.type_handler_version is not None and not version_tuple(request.type_handler_version):
        raise VmAccessError("invalid_argument", "type_handler_version must look like '2.4'.")
    if request.reset == "rdp":
        if request.password is not None or request.username is not None:
            raise VmAccessError(
                "invalid_argument",
                "reset=rdp resets the Remote Desktop configuration only; remove username and password, "
                "or use reset=password.",
            )
        return
    if request.password is None or request.password == "":
        raise VmAccessError("invalid_password", "reset=password needs a password (the new password of the account).")
    if request.username is not None:
        check_username(request.username)
    check_password(request.password, request.username, min_length=request.password_min_length)


def preflight(vm, request):
    """What VMAccess cannot fix, from the one VM read. The agent check is the runner's (it may wait)."""
    if not vm.is_windows:
        if (vm.os_type or "").lower() == "linux":
            raise VmAccessError(
                "not_windows",
                "%s runs Linux. VMAccess for Windows cannot reset it; use the VMAccessForLinux extension "
                "(az vm user update / az vm user reset-ssh) instead." % vm.ref.name,
                os_type=vm.os_type,
            )
        raise VmAccessError("not_windows", "%s does not report a Windows OS disk (os type %r)." % (vm.ref.name, vm.os_type))
    if not vm.is_running:
        raise VmAccessError(
            "vm_not_running",
            "%s is %s; Azure changes extensions only on a running VM. Start it (az vm start) and run again."
            % (vm.ref.name, vm.power_state or "in an unknown power state"),
            power_state=vm.power_state,
        )
    if vm.allow_extension_operations is False:
        raise VmAccessError(
            "extensions_disallowed",
            "%s has osProfile.allowExtensionOperations set to false, so no extension can run on it. "
            "Allow extension operations on the VM, or reset access another way." % vm.ref.name,
        )


def _desired_username(vm, request):
    if request.username is None:
        if not vm.admin_username:
            raise VmAccessError(
                "invalid_username",
                "%s does not report its administrator name; set username explicitly." % vm.ref.name,
            )
        return vm.admin_username
    if vm.admin_username and request.username.lower() != vm.admin_username.lower() and not request.allow_new_admin:
        raise VmAccessError(
            "new_admin_not_allowed",
            "username %r is not the VM's administrator (%r). VMAccess would create (or on old builds rename to) "
            "another administrator account. Leave username unset to reset %r, or set allow_new_admin: true "
            "if a new administrator is what you want." % (request.username, vm.admin_username, vm.admin_username),
        )
    return request.username


def _desired_version(existing):
    """Reuse a higher version already on the VM (2.0 may no longer be published), else 2.4."""
    if existing and version_tuple(existing.type_handler_version) > version_tuple(DEFAULT_HANDLER_VERSION):
        return existing.type_handler_version
    return DEFAULT_HANDLER_VERSION


def _password_wanted(kdf, request, vm_id, username, current):
    """This password reset's fingerprint. A tag written by an older release (another KDF) is
    checked with its own KDF first, so an upgrade alone never resets an unchanged password."""
    if current is not None and current.kind in fp.PASSWORD_KDFS and current.kind != fp.KIND_PASSWORD:
        legacy = kdf(request.password, vm_id, username, request.run_tag, kind=current.kind)
        if legacy.same_reset(current):
            return legacy
    return kdf(request.password, vm_id, username, request.run_tag)


def plan_reset(vm, request, password_fingerprint=fp.password_fingerprint, random_fingerprint=fp.random_fingerprint):
    """Decide what to send. Pure, given the two fingerprint functions."""
    preflight(vm, request)
    existing = vm.extension
    warnings = []
    if request.reset == "password":
        username = _desired_username(vm, request)
        check_password(request.password, username, min_length=request.password_min_length)
        settings = {"UserName": username}
    else:
        username = None
        settings = {}

    name = existing.name if existing else (request.extension_name or DEFAULT_EXTENSION_NAME)
    if existing and request.extension_name and request.extension_name.lower() != existing.name.lower():
        warnings.append(
            "The VM already has a VMAccessAgent instance named %r; Azure allows one per VM, so it was reused "
            "instead of %r." % (existing.name, request.extension_name))
    version = request.type_handler_version or _desired_version(existing)
    auto_upgrade = True if existing is None or existing.auto_upgrade_minor_version is None else existing.auto_upgrade_minor_version

    current = fp.parse_tag(existing.force_update_tag) if existing else None
    if request.force or (request.reset == "password" and request.update_password == "always"):
        wanted = random_fingerprint()
        why = "force" if request.force else "update_password=always"
    elif request.reset == "password":
        wanted = _password_wanted(password_fingerprint, request, vm.id, username, current)
        why = "password fingerprint"
    elif request.run_tag:
        wanted = fp.rdp_fingerprint(request.run_tag)
        why = "run_tag"
    else:
        wanted = random_fingerprint()
        why = "no run_tag: an RDP reset without run_tag always runs"

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
    elif not same_settings or version_tuple(version) != version_tuple(existing.type_handler_version):
        action = "updated"
    else:
        action = "rerun"

    body = {
        "location": vm.location,
        "properties": {
            "publisher": VMACCESS_PUBLISHER,
            "type": VMACCESS_TYPE,
            "typeHandlerVersion": version,
            "autoUpgradeMinorVersion": auto_upgrade,
            "forceUpdateTag": wanted.tag(),
            "settings": settings,
        },
    }
    before = _diff_view(existing.name, existing.type_handler_version, existing.settings,
                        existing.force_update_tag, None) if existing else {}
    after = _diff_view(name, version, settings, wanted.tag(),
                       PASSWORD_PLACEHOLDER if request.reset == "password" else None) if action != "none" else before
    if action in ("none", "wait"):
        after = dict(before)
    return Plan(action=action, why=why, extension_name=name, body=body, fingerprint=wanted,
                username=username, warnings=warnings, before=before, after=after)


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


def _diff_view(name, version, settings, tag, password):
    view = {
        "extension_name": name,
        "type_handler_version": version,
        "settings": dict(settings or {}),
        "reset_fingerprint": fp.describe_tag(tag),
    }
    if tag and fp.parse_tag(tag):
        view["reset_attempt"] = fp.parse_tag(tag).attempt
    if password is not None:
        view["password"] = password
    return view


class ResetRunner:
    """Runs one reset against Azure. ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(self, api, wait=True, wait_timeout=1200, agent_wait_timeout=300,
                 sleep=time.sleep, clock=time.monotonic):
        self.api = api
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.agent_wait_timeout = agent_wait_timeout
        self.sleep = sleep
        self.clock = clock
        self.warnings = []

    def read_vm(self, ref):
        return parse_vm(self.api.get_vm(ref), ref)

    def ensure_agent_ready(self, vm, request):
        """A just-started VM reports Not Ready for a few minutes; wait a bounded time for it."""
        if not request.require_agent_ready or vm.agent_ready:
            return vm
        deadline = self.clock() + self.agent_wait_timeout
        interval = min(30.0, max(2.0, self.agent_wait_timeout / 10.0))
        while self.clock() < deadline:
            self.sleep(min(interval, max(0.0, deadline - self.clock())))
            vm = self.read_vm(vm.ref)
            preflight(vm, request)
            if vm.agent_ready:
                return vm
        raise VmAccessError(
            "agent_not_ready",
            "The VM agent on %s reports %r (%s) after waiting %ds; VMAccess needs a running agent. Check that the "
            "VM is healthy and can reach Azure storage, restart the agent or the VM, then run again "
            "(require_agent_ready: false skips this check)."
            % (vm.ref.name, vm.agent_status or "no status", vm.agent_message or "no message", self.agent_wait_timeout),
            agent_status=vm.agent_status,
        )

    def apply(self, vm, plan, password):
        """PUT the planned body and, when waiting, follow it to the truth in the instance view."""
        body = {"location": plan.body["location"], "properties": dict(plan.body["properties"])}
        body["properties"]["protectedSettings"] = {"Password": password} if password is not None else {}
        started = self.clock()
        accepted = self.api.begin_put_extension(vm.ref, plan.extension_name, body, wait=self.wait)
        if not self.wait:
            return parse_extension(accepted)
        finished, error = wait_for_poller(accepted, self.wait_timeout, vm.id)
        remaining = self.wait_timeout - (self.clock() - started)
        return self.verify(vm, plan, finished, error, remaining)

    def wait_existing(self, vm, plan):
        """The same reset is already running (an earlier wait=false call): follow it."""
        return self.verify(vm, plan, False, None, self.wait_timeout)

    def verify(self, vm, plan, finished, lro_error, remaining):
        """Read the extension's instance view: it, not the operation status, says what ran."""
        if lro_error is not None and lro_error.reason in ("vm_not_running", "extensions_disallowed",
                                                          "authorization_failed", "authentication_failed"):
            raise lro_error
        deadline = self.clock() + max(0.0, remaining)
        while True:
            state = parse_extension(self.api.get_extension(vm.ref, plan.extension_name))
            ours = state is not None and state.force_update_tag == plan.fingerprint.tag()
            if ours and not state.in_progress:
                break
            if finished and not ours:
                if lro_error is not None:
                    raise lro_error
                raise VmAccessError(
                    "unexpected_response",
                    "The extension on %s does not carry this run's reset tag after the operation ended; another "
                    "change may have replaced it. Run again." % vm.ref.name,
                )
            if self.clock() >= deadline:
                raise VmAccessError(
                    "operation_timeout",
                    "The VMAccess extension on %s was still running after wait_timeout. It may still finish: "
                    "check it with azure_ops.vm_access.vm_access_info or run again later (the same reset "
                    "is picked up, not repeated)." % vm.ref.name,
                    provisioning_state=state.provisioning_state if state else None,
                )
            self.sleep(min(5.0, max(0.5, deadline - self.clock())))
        if lro_error is not None and state.succeeded:
            self.warnings.append(
                "Azure reported an error while tracking the operation (%s), but the extension's instance view "
                "shows the reset succeeded." % lro_error.reason)
        if state.failed:
            raise VmAccessError(
                lro_error.reason if lro_error is not None and lro_error.reason in ("agent_not_ready", "extension_timeout")
                else "extension_failed",
                "VMAccess ran on %s and failed: %s" % (
                    vm.ref.name, state.status_message or (lro_error.message if lro_error else "no message")),
                extension=state.public(),
            )
        return state


def reset_vm(api, ref, request, check_mode=False, runner_options=None):
    """One VM, end to end. Returns the module result (without ``diff``'s placement)."""
    started = time.monotonic()
    runner = ResetRunner(api, **(runner_options or {}))
    vm = runner.read_vm(ref)
    preflight(vm, request)
    if not check_mode:
        vm = runner.ensure_agent_ready(vm, request)
    elif request.require_agent_ready and not vm.agent_ready:
        runner.warnings.append("The VM agent reports %r; a real run would wait up to agent_wait_timeout for it."
                               % (vm.agent_status or "no status"))
    plan = plan_reset(vm, request)
    extension = vm.extension
    if not check_mode:
        if plan.needs_put:
            extension = runner.apply(vm, plan, request.password if request.reset == "password" else None)
        elif plan.action == "wait" and runner.wait:
            extension = runner.wait_existing(vm, plan)
    return {
        "changed": plan.needs_put,
        "action": plan.action,
        "why": plan.why,
        "username": plan.username,
        "vm": vm.public(),
        "extension": extension.public() if extension else None,
        "warnings": plan.warnings + runner.warnings,
        "diff": {"before": plan.before, "after": plan.after},
        "duration_s": round(time.monotonic() - started, 3),
    }
