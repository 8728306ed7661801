# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VM through a run: what was read and planned, where it stands, and its result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import outcome_line
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.views import extension_view, vm_view

READING, PLANNING, AGENT_WAIT, FOLLOWING, DONE = "reading", "planning", "agent_wait", "following", "done"


class Tracked:
    """A target's progress. Its stage moves reading -> planning (-> agent_wait) -> following -> done."""

    def __init__(self, target, request):
        self.target = target
        self.request = request
        self.stage = READING
        self.vm = None
        self.plan = None
        self.extension = None      # the VMAccess instance as last seen
        self.baseline = None       # its instance-view status before our PUT
        self.operation = None      # the PUT's long-running operation, while it is followed
        self.tracking_error = None  # why following the operation failed (then the extension is read)
        self.agent_deadline = None
        self.starting_agent = False
        self.written = False       # Azure accepted our PUT
        self.saved = False         # before_submit ran for it
        self.save_error = None
        self.submitted_at = None
        self.finished_at = None
        self.verdict = None
        self._lock = threading.Lock()

    # -- stages ---------------------------------------------------------------------------------
    @property
    def done(self):
        return self.stage == DONE

    @property
    def following(self):
        return self.stage == FOLLOWING

    @property
    def waiting_for_agent(self):
        return self.stage == AGENT_WAIT

    def see(self, vm):
        self.vm = vm
        self.extension = vm.extension
        if self.stage == READING:
            self.stage = PLANNING

    def wait_for_agent(self, deadline):
        self.agent_deadline = deadline
        self.stage = AGENT_WAIT

    def agent_ready(self):
        self.stage = PLANNING

    def follow(self, operation, now):
        self.operation = operation
        self.submitted_at = now if operation is not None else self.submitted_at
        with self._lock:
            if self.stage != DONE:
                self.stage = FOLLOWING

    def finish(self, verdict, now):
        with self._lock:
            if self.stage == DONE:
                return
            self.verdict = verdict
            self.finished_at = now
            self.stage = DONE

    # -- reporting ------------------------------------------------------------------------------
    def describe(self):
        """Where the VM stands, in one line (status runs)."""
        vm = self.vm
        text = "%s, %s, agent %s" % (vm.os_type or "unknown OS", vm.power_state or "unknown power state",
                                     vm.agent_status or "not reporting")
        ext = vm.extension
        if ext is not None:
            state = extension_view(ext)
            text += "; VMAccess %s: %s" % (ext.name, state["provisioning_state"] or "no status yet")
        return text

    def result(self, started):
        verdict = self.verdict
        plan = self.plan
        extension = extension_view(self.extension)
        changed = verdict.outcome == "changed" or self.written
        return {
            "host": self.target.host,
            "vm_id": self.target.ref.id if self.target.ref else None,
            "outcome": verdict.outcome,
            "changed": changed,
            "reason": verdict.reason,
            "msg": verdict.msg,
            "line": outcome_line(verdict.outcome, verdict.reason, verdict.msg),
            "action": plan.action if plan else None,
            "why": plan.why if plan else None,
            "username": plan.username if plan else None,
            "vm": vm_view(self.vm) if self.vm is not None else None,
            "os_type": self.vm.os_type if self.vm is not None else None,
            "power_state": self.vm.power_state if self.vm is not None else None,
            "agent_status": self.vm.agent_status if self.vm is not None else None,
            "extension": extension,
            "diff": {"before": plan.before, "after": plan.after} if plan else None,
            "warnings": (list(plan.warnings) if plan else []) + list(verdict.warnings),
            "details": dict(verdict.details),
            "duration_s": round((self.finished_at or started) - (self.submitted_at or started), 3)
            if self.submitted_at else 0.0,
        }
