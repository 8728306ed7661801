# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a VM's password secret says, and what to do about it: pure functions, no I/O.

One secret per VM (``secret_name``), one version per password. Each version we write has the
content type ``password`` and the tags ``vm_id``, ``username``, ``run_tag``, ``state`` and
``set_at`` (when the version was written, UTC, microseconds). ``state`` moves ``pending`` (written
before the PUT) -> ``active`` (the extension succeeded in the guest) or ``failed`` (the password
is known not to be set); a reset whose outcome is unknown leaves ``pending``. So the newest
``active`` version is the password that works, and a ``pending`` version newer than it is an
unfinished reset that the next run finishes with the same password.

Order: Key Vault lists versions by id and keeps ``created`` in whole seconds, so versions are
ordered by ``created``, then ``set_at``, then id.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

PENDING, ACTIVE, FAILED = "pending", "active", "failed"
CONTENT_TYPE = "password"
SECRET_PREFIX = "vmaccess"
_DAY_S = 86400.0
# A version counts as max_age days old one hour early, so a daily schedule rotates on day max_age, not a day later
# (set_at is written a little after the job starts; the job 30 days later starts at about the same time).
SCHEDULE_SLACK_S = 3600.0
_NAME_CHARS = 64  # of the VM name; with the prefix and the hash, names stay far below Key Vault's 127
_HASH_CHARS = 12
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

# Failures that say the PUT was refused or never made, so the guest cannot have this run's password.
NOT_SENT_REASONS = frozenset((
    "vm_not_running", "not_windows", "extensions_disallowed", "agent_not_ready", "conflict", "bad_request",
    "authorization_failed", "authentication_failed", "duplicate_handler", "property_change_not_allowed",
    "extension_version_not_found", "new_admin_not_allowed", "invalid_password", "invalid_username", "vm_not_found",
    "resource_group_not_found", "subscription_not_found", "missing_credentials", "missing_subscription"))


def secret_name(vm_id):
    """``vmaccess-<VM name>-<hash>``: the VM's name lower-cased, every run of characters other than letters and
    digits turned into one dash, cut to 64 characters; and the first 12 hex digits of the SHA-256 of the
    lower-cased VM id, so VMs of the same name in other resource groups or subscriptions get their own secret.
    Stable per VM, within Key Vault's rules (1-127 letters, digits and dashes)."""
    vm_id = vm_id or ""
    vm_name = vm_id.rstrip("/").rsplit("/", 1)[-1]
    readable = re.sub(r"[^0-9a-z]+", "-", vm_name.lower()).strip("-")[:_NAME_CHARS].strip("-") or "vm"
    digest = hashlib.sha256(vm_id.lower().encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return "%s-%s-%s" % (SECRET_PREFIX, readable, digest)


def stamp(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(_STAMP)


def parse_stamp(text):
    """Epoch seconds of a ``set_at`` tag, or None."""
    if not isinstance(text, str):
        return None
    for pattern in (_STAMP, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    return None


def state_of(version):
    state = (version.tags or {}).get("state")
    return state.lower() if isinstance(state, str) else None


def written_at(version):
    """When a version was written: its ``set_at`` tag, else Key Vault's ``created``."""
    found = parse_stamp((version.tags or {}).get("set_at"))
    return found if found is not None else version.created


def ordered(versions):
    """Oldest first: by ``created`` (whole seconds), then ``set_at``, then id. Disabled versions are left out."""
    usable = [v for v in versions if v.enabled]
    return sorted(usable, key=lambda v: (v.created or 0.0, parse_stamp((v.tags or {}).get("set_at")) or 0.0,
                                         v.version or ""))


@dataclass
class Decision:
    """What to do with one VM: ``rotate`` (a new password), ``resume`` (finish the pending version with its own
    password) or ``keep`` (not due: nothing is written)."""

    action: str
    why: str
    active: Optional[object] = None    # the newest active version before the run
    pending: Optional[object] = None   # the version to resume
    age_days: Optional[float] = None   # of the newest active version

    @property
    def due(self):
        return self.action != "keep"


def _same_user(a, b):
    return not a or not b or a.lower() == b.lower()


def decide(versions, now, max_age_days=None, username=None):
    """The rotation rule. Due when the newest versions after the newest ``active`` one are ``pending`` (resume it)
    or ``failed`` (rotate), when there is no ``active`` version, when it is for another account than ``username``,
    or when it is ``max_age_days`` old or older (less one hour, ``SCHEDULE_SLACK_S``); ``max_age_days=None`` rotates
    every time (a plain reset)."""
    usable = ordered(versions)
    active_at = max([i for i, v in enumerate(usable) if state_of(v) == ACTIVE] or [-1])
    active = usable[active_at] if active_at >= 0 else None
    age = None
    if active is not None and written_at(active) is not None:
        age = max(0.0, (now - written_at(active)) / _DAY_S)
    newer = [v for v in usable[active_at + 1:] if state_of(v) in (PENDING, FAILED)]
    if newer and state_of(newer[-1]) == PENDING:
        last = newer[-1]
        theirs = (last.tags or {}).get("username")
        if _same_user(theirs, username):
            return Decision("resume", "version %s is pending (an unfinished reset): finishing it with its own password"
                            % last.version, active, last, age)
        return Decision("rotate", "version %s is pending for account %s, not %s" % (last.version, theirs, username),
                        active, None, age)
    if newer:
        return Decision("rotate", "the last reset failed (version %s)" % newer[-1].version, active, None, age)
    if active is None:
        return Decision("rotate", "no active password version yet", None, None, None)
    if not _same_user((active.tags or {}).get("username"), username):
        return Decision("rotate", "the active version %s is for account %s, not %s"
                        % (active.version, active.tags.get("username"), username), active, None, age)
    if max_age_days is None:
        return Decision("rotate", "a new password on every run (no max age)", active, None, age)
    if age is None or age * _DAY_S >= max_age_days * _DAY_S - SCHEDULE_SLACK_S:
        return Decision("rotate", "the active version %s is %s days old (max age %s)"
                        % (active.version, _days(age), max_age_days), active, None, age)
    return Decision("keep", "not due: the active password version %s is %s days old (max age %s days)"
                    % (active.version, _days(age), max_age_days), active, None, age)


def _days(age):
    return "?" if age is None else "%.1f" % age


def settle(result, waited, resumed):
    """The state a version in play ends in, from its VM's result, and a note: ``(state, note)``.

    ``active`` when the guest has the password (the reset succeeded, or the same reset had already succeeded);
    ``failed`` when it cannot have it (the extension failed in the guest, or the PUT was refused or never made);
    otherwise ``pending`` (the outcome is unknown: a timeout, a lost connection, wait=false), which the next run
    resumes. A resumed version is only failed by the guest: an earlier run may have set it."""
    outcome, reason, written = result.get("outcome"), result.get("reason"), bool(result.get("changed"))
    if outcome in ("changed", "ok"):
        if waited:
            return ACTIVE, None
        return PENDING, "submitted without waiting: the next run finds the outcome and updates the version"
    if reason == "extension_failed" and written:
        return FAILED, "the extension failed in the guest: this password was not set"
    if not written and not resumed and reason in NOT_SENT_REASONS:
        return FAILED, "this password was never sent to the VM (%s)" % reason
    return PENDING, ("the outcome is unknown (%s): the password may or may not be set; the next run finishes it "
                     "with the same password" % (reason or outcome))
