# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a VM's run ended, decided the same way whichever path followed it.

Outcomes: ``changed`` (a reset ran and the guest reported success, or in check mode would run),
``ok`` (nothing to do), ``skipped`` (VMAccess cannot act on this VM now: not Windows, not
running, agent down, extensions disallowed), ``failed`` (anything else, with its reason).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

SKIP_REASONS = ("not_windows", "vm_not_running", "agent_not_ready", "extensions_disallowed")
# Operation errors that say the reset never reached the guest: the instance view cannot overrule them.
_NOT_RUN_REASONS = ("vm_not_running", "extensions_disallowed", "authorization_failed", "authentication_failed")


@dataclass
class Verdict:
    outcome: str
    reason: Optional[str] = None
    msg: str = ""
    warnings: List[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # what the error knew (status code, Azure's code, ...)


def outcome_of(error):
    return "skipped" if error.reason in SKIP_REASONS else "failed"


def from_error(error):
    return Verdict(outcome_of(error), error.reason, error.message, details=dict(error.details))


def judge(vm_name, state, op_error):
    """The verdict on a finished run from the extension as read afterwards (``state``: model and/or
    instance view) and the operation's own error, if it reported one.

    The instance view says what ran in the guest; an operation error takes precedence for the
    message (its code and message say more than a stale 'Transitioning'), unless the guest
    reported success.
    """
    if op_error is not None and op_error.reason in _NOT_RUN_REASONS:
        return from_error(op_error)
    if state is not None and state.succeeded:
        warnings = []
        if op_error is not None:
            warnings.append("Azure reported an error while tracking the operation (%s), but the extension's "
                            "instance view shows the reset succeeded." % op_error.reason)
        message = state.status.message if state.status and state.status.message else "VMAccess succeeded"
        return Verdict("changed", None, message, warnings)
    if op_error is not None:
        return from_error(op_error)
    message = state.status.message if state is not None and state.status else None
    return from_error(VmAccessError("extension_failed", "VMAccess ran on %s and failed: %s"
                                    % (vm_name, message or "no message")))


def timeout_error(vm_name, wait_timeout):
    return VmAccessError(
        "operation_timeout",
        "The VMAccess extension on %s was still running after wait_timeout (%ds). It may still finish: check it "
        "with azure_ops.vm_access.vm_access_info or the status playbook, or run again later (the same reset is "
        "picked up, not repeated)." % (vm_name, wait_timeout))


def foreign_tag_error(vm_name):
    return VmAccessError(
        "unexpected_response",
        "The extension on %s does not carry this run's reset tag after the operation ended; another change may "
        "have replaced it. Run again." % vm_name)


def outcome_line(outcome, reason, msg):
    """One line per host for the play output: ``failed (vm_not_running): <message>``."""
    return "%s%s: %s" % (outcome, " (%s)" % reason if reason else "", msg)


def summarize(results):
    """Counts by outcome and by reason, for the play summary, reports and set_stats."""
    by_outcome = {"changed": 0, "ok": 0, "skipped": 0, "failed": 0}
    by_reason = {}
    for result in results:
        by_outcome[result["outcome"]] = by_outcome.get(result["outcome"], 0) + 1
        if result.get("reason"):
            by_reason[result["reason"]] = by_reason.get(result["reason"], 0) + 1
    # The counters the role publishes with set_stats (AWX keeps them as the job's artifacts).
    stats = dict(("vm_access_%s" % outcome, count) for outcome, count in by_outcome.items())
    return {"total": len(results), "by_outcome": by_outcome, "by_reason": by_reason, "stats": stats}
