# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-VM passwords kept in a secret store (Azure Key Vault), with the pending -> active protocol.

1. ``plan``: for each VM, read its secret's versions and decide (``password_rotation.decide``):
   not due (nothing more happens to the VM: no ARM call), resume a pending version (its own
   password and run tag, so a reset that did reach the guest is recognised by its fingerprint and
   not sent again), or rotate (a new password from ``passwords.generate_password``).
   ``use_existing`` instead takes one given version (the single-VM module's ``password_secret``).
2. ``before_submit`` (the engine calls it before the PUTs, batched): write each new password as a
   ``pending`` version (or mark a given version ``pending``). A VM whose version cannot be written
   gets no PUT and fails with the store's reason; the others go on.
3. ``finish``: each version in play becomes ``active`` or ``failed`` from its VM's result, or stays
   ``pending`` when the outcome is unknown (``password_rotation.settle``). Previous versions are
   never changed.

``api`` is anything with ``versions(name)``, ``read(name, version)``, ``create(name, value, tags,
content_type)`` and ``update_tags(name, version, tags)`` (``_azure.keyvault.KeyVaultApi``). Values
stay in memory: never in results, reports, repr or errors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import password_rotation as rot
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.passwords import generate_password
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import Verdict, from_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import check_password


class VmPassword:
    """One VM's secret during a run (the password itself is kept apart from everything reported)."""

    def __init__(self, host, vm_id, secret):
        self.host = host
        self.vm_id = vm_id
        self.secret = secret
        self.decision = None
        self.version = None      # the version in play (SecretVersion), once there is one
        self.state = None        # its state as last written (or read)
        self.resumed = False     # a pending version of an earlier run, finished now
        self.existing = False    # a version named by the user (use_existing)
        self.username = None
        self.run_tag = None
        self.note = None
        self.password = None

    def __repr__(self):
        return "VmPassword(%r, %r, state=%r)" % (self.host, self.secret, self.state)

    def report(self, vault_url=None):
        """What results and reports show: names, versions and states, never a value."""
        decision = self.decision
        previous = decision.active.version if decision is not None and decision.active is not None else None
        version = self.version.version if self.version is not None else None
        return {
            "vault_url": vault_url, "secret_name": self.secret, "version": version, "state": self.state,
            "active_version": version if self.state == rot.ACTIVE else previous,
            "previous_active_version": previous if previous != version else None,
            "rotation": decision.why if decision is not None else None, "note": self.note,
        }


class PasswordStore:
    def __init__(self, api, *, check_mode=False, clock=time.time, workers=8, generate=generate_password,
                 vault_url=None):
        self.api = api
        self.check_mode = check_mode
        self.clock = clock
        self.workers = max(1, workers)
        self.generate = generate
        self.vault_url = vault_url
        self.entries = {}

    def _map(self, func, items):
        items = list(items)
        if len(items) <= 1:
            return [func(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(func, items))

    @staticmethod
    def _guard(func, *args):
        try:
            func(*args)
            return None
        except VmAccessError as error:
            return error
        except Exception as error:  # a reason code, never a lost thread
            return VmAccessError("unexpected_error", "Unexpected %s in the password store: %s"
                                 % (type(error).__name__, error))

    # -- 1. planning ---------------------------------------------------------------------------
    def plan(self, targets, *, run_tag=None, username=None, max_age_days=None, names=None):
        """Decide for every target that names its VM; set ``password`` (and, resuming, ``run_tag``) on the due ones.
        Returns ``{host: Verdict}`` for targets that must not be reset: not due (ok), or their secret could not be
        read (failed). ``names`` maps host -> secret name (default ``password_rotation.secret_name``)."""
        live = [t for t in targets if t.error is None and t.ref is not None]
        for target in live:
            name = (names or {}).get(target.host) or rot.secret_name(target.ref.id)
            entry = self.entries[target.host] = VmPassword(target.host, target.ref.id, name)
            entry.run_tag = run_tag
        errors = self._map(lambda t: self._guard(self._plan_one, t, username, max_age_days), live)
        verdicts = {}
        for target, error in zip(live, errors):
            entry = self.entries[target.host]
            if error is not None:
                verdicts[target.host] = from_error(error)
                target.password = None
            elif not entry.decision.due:
                verdicts[target.host] = Verdict("ok", None, entry.decision.why)
        return verdicts

    def _plan_one(self, target, username, max_age_days):
        entry = self.entries[target.host]
        decision = rot.decide(self.api.versions(entry.secret), self.clock(), max_age_days, username)
        entry.decision = decision
        if decision.action == "keep":
            entry.version, entry.state = decision.active, rot.ACTIVE
            return
        if decision.action == "resume":
            _unused, value = self.api.read(entry.secret, decision.pending.version)
            problem = _password_problem(value, username)
            if problem is None:
                entry.version, entry.state, entry.resumed = decision.pending, rot.PENDING, True
                tagged = (decision.pending.tags or {}).get("run_tag")
                if tagged is not None:  # the fingerprint of the earlier run is salted with it
                    entry.run_tag = target.run_tag = tagged
                entry.password = target.password = value
                return
            decision.action, decision.pending = "rotate", None
            decision.why = "the pending version cannot be used (%s): a new password" % problem
        entry.password = target.password = self.generate()

    def use_existing(self, target, name, version=None, run_tag=None):
        """The password of one given version (default: the latest) for ``target``; it follows the same protocol
        unless it is already this VM's active version. Raises ``secret_conflict`` for another VM's secret."""
        entry = self.entries[target.host] = VmPassword(target.host, target.ref.id, name)
        found, value = self.api.read(name, version)
        if not isinstance(value, str) or not value:
            raise VmAccessError("invalid_password", "Version %s of secret %s holds no password." % (found.version, name))
        check_password(value)  # before any ARM call: a weak password never leaves the controller
        tagged = (found.tags or {}).get("vm_id")
        if tagged and tagged.lower() != (target.ref.id or "").lower():
            raise VmAccessError(
                "secret_conflict",
                "Version %s of secret %s is tagged for another VM (vm_id %s). A password secret of this protocol "
                "belongs to one VM; give this VM its own secret, or pass a shared password with the password "
                "option." % (found.version, name, tagged), secret_name=name)
        entry.existing = True
        entry.version, entry.state = found, rot.state_of(found)
        entry.run_tag = run_tag
        entry.password = target.password = value
        return entry

    # -- 2. before the PUTs ----------------------------------------------------------------------
    def before_submit(self, items):
        """Write the pending versions of a batch of planned PUTs: ``{host: VmAccessError}`` for those that failed."""
        failures = {}
        todo = []
        for host, _vm_id, username in items:
            entry = self.entries.get(host)
            if entry is None:
                failures[host] = VmAccessError("unexpected_error", "No password was planned for %s." % host)
                continue
            entry.username = username
            tagged = (entry.version.tags or {}).get("username") if entry.version is not None else None
            if entry.resumed and tagged and username and tagged.lower() != username.lower():
                failures[host] = VmAccessError(
                    "secret_conflict",
                    "Version %s of secret %s is pending for account %s, and this run resets %s: set username: %s to "
                    "finish it." % (entry.version.version, entry.secret, tagged, username, tagged),
                    secret_name=entry.secret)
            elif not entry.resumed and not (entry.existing and entry.state == rot.ACTIVE):
                todo.append(entry)
        for entry, error in zip(todo, self._map(lambda e: self._guard(self._write_pending, e), todo)):
            if error is not None:
                entry.note = "no PUT: the pending version could not be written (%s)" % error.reason
                failures[entry.host] = error
        return failures

    def _tags(self, entry, state):
        tags = dict(entry.version.tags or {}) if entry.version is not None else {}
        tags.update(vm_id=entry.vm_id, username=entry.username or tags.get("username") or "",
                    run_tag=entry.run_tag or "", state=state)
        if not tags.get("set_at"):
            tags["set_at"] = rot.stamp(self.clock())
        return tags

    def _write_pending(self, entry):
        if entry.existing:
            entry.version = self.api.update_tags(entry.secret, entry.version.version, self._tags(entry, rot.PENDING))
        else:
            entry.version = self.api.create(entry.secret, entry.password, self._tags(entry, rot.PENDING),
                                            content_type=rot.CONTENT_TYPE)
        entry.state = rot.PENDING

    # -- 3. after the run ------------------------------------------------------------------------
    def finish(self, results, waited=True):
        """Settle every version in play from its VM's result; ``{host: VmAccessError}`` where that write failed."""
        todo = []
        for result in results:
            entry = self.entries.get(result["host"])
            if entry is None or entry.version is None or (entry.decision is not None and not entry.decision.due):
                continue
            if entry.existing and entry.state == rot.ACTIVE:
                continue  # already this VM's active version: nothing to record
            entry.username = result.get("username") or entry.username
            state, entry.note = rot.settle(result, waited, entry.resumed)
            if entry.existing and entry.state not in (rot.PENDING,) and state == rot.PENDING:
                continue  # never marked pending by this run: leave the user's version as it was
            if state != entry.state and not self.check_mode:
                todo.append((entry, state))
        failures = {}
        for (entry, state), error in zip(todo, self._map(lambda pair: self._guard(self._settle, *pair), todo)):
            if error is not None:
                entry.note = ("the reset's outcome could not be recorded (%s): version %s stays %s; run again to "
                              "record it (the VM is not reset again)"
                              % (error.reason, entry.version.version, entry.state))
                failures[entry.host] = error
        return failures

    def _settle(self, entry, state):
        entry.version = self.api.update_tags(entry.secret, entry.version.version, self._tags(entry, state))
        entry.state = state

    def report(self, host):
        entry = self.entries.get(host)
        return entry.report(self.vault_url) if entry is not None else None

    def summary(self):
        counts = {}
        for entry in self.entries.values():
            key = entry.state or "none"
            counts[key] = counts.get(key, 0) + 1
        return counts


def _password_problem(value, username):
    if not isinstance(value, str) or not value:
        return "no value"
    try:
        check_password(value, username)
    except VmAccessError as error:
        return error.reason
    return None
