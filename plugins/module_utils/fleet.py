# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reset many VMs from one process, at the speed Azure allows.

A module run per VM costs a Python start, the SDK import and a token each; waiting per VM ties
up a fork for every extension run. Here one process does the whole batch: one credential, one
connection pool, pre-flight from list calls (instance views for many VMs per request), PUTs
paced on ARM's remaining-writes header, and progress read again from list calls instead of one
poll per VM. Every VM still ends with its own outcome and reason.

Outcomes: ``changed`` (a reset ran and the instance view says it succeeded, or in check mode
would run), ``ok`` (nothing to do), ``skipped`` (VMAccess cannot fix this VM: not Windows, not
running, agent not ready, extensions disallowed), ``failed`` (anything else, with its reason).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_access import (
    ResetRequest,
    plan_reset,
    preflight,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_state import (
    VmRef,
    parse_extension,
    parse_vm,
)

SKIP_REASONS = ("not_windows", "vm_not_running", "agent_not_ready", "extensions_disallowed")
# Below this many targets in a resource group, per-VM GETs are cheaper than listing the group.
LIST_THRESHOLD = 4


@dataclass
class FleetTarget:
    host: str
    ref: Optional[VmRef] = None
    error: Optional[VmAccessError] = None
    password: Optional[str] = None

    def __repr__(self):
        return "FleetTarget(host=%r, ref=%r)" % (self.host, self.ref)


@dataclass
class VmOutcome:
    host: str
    vm_id: Optional[str] = None
    outcome: str = "failed"
    reason: Optional[str] = None
    msg: str = ""
    action: Optional[str] = None
    extension: Optional[dict] = None
    power_state: Optional[str] = None
    os_type: Optional[str] = None
    agent_status: Optional[str] = None
    submitted_at: Optional[float] = None
    finished_at: Optional[float] = None

    def public(self, started):
        return {
            "host": self.host,
            "vm_id": self.vm_id,
            "outcome": self.outcome,
            "changed": self.outcome == "changed",
            "reason": self.reason,
            "msg": self.msg,
            "action": self.action,
            "os_type": self.os_type,
            "power_state": self.power_state,
            "agent_status": self.agent_status,
            "extension": self.extension,
            "duration_s": round((self.finished_at or started) - (self.submitted_at or started), 3)
            if self.submitted_at else 0.0,
            "line": outcome_line(self.outcome, self.reason, self.msg),
        }


def outcome_line(outcome, reason, msg):
    """One line per host for the play output: ``failed (vm_not_running): <message>``."""
    return "%s%s: %s" % (outcome, " (%s)" % reason if reason else "", msg)


def batch_failure(hosts, reason, msg):
    """Every host's result when the batch itself could not run (bad arguments, auth, ...)."""
    return dict((host, {"host": host, "vm_id": None, "outcome": "failed", "changed": False, "reason": reason,
                        "msg": msg, "action": None, "os_type": None, "power_state": None, "agent_status": None,
                        "extension": None, "duration_s": 0.0,
                        "line": outcome_line("failed", reason, msg)}) for host in hosts)


@dataclass
class _Tracked:
    target: FleetTarget
    outcome: VmOutcome
    vm: object = None
    plan: object = None
    agent_deadline: Optional[float] = None


@dataclass
class FleetOptions:
    check_mode: bool = False
    wait: bool = True
    wait_timeout: float = 1800.0
    agent_wait_timeout: float = 300.0
    poll_interval: float = 10.0
    max_workers: int = 16


@dataclass
class FleetStats:
    reads: int = 0
    writes: int = 0
    list_calls: int = 0
    polls: int = 0
    extra: Dict[str, float] = field(default_factory=dict)


class FleetRunner:
    """Runs one request against many targets. ``apis`` maps subscription id -> ComputeApi."""

    def __init__(self, apis, request, options, pacers=None, before_submit=None, clock=time.monotonic,
                 sleep=time.sleep):
        """``before_submit(items)`` runs before each wave of PUTs with (host, vm_id, username) tuples:
        the caller saves generated passwords there, so no password is set that was not saved first."""
        self.apis = apis
        self.before_submit = before_submit
        self.request = request
        self.options = options
        self.pacers = pacers or {}  # subscription id -> WritePacer: ARM's budget is per subscription
        self.clock = clock
        self.sleep = sleep
        self.stats = FleetStats()
        self._lock = threading.Lock()
        self._poll_hint = None

    # -- entry point ---------------------------------------------------------------------
    def run(self, targets):
        started = self.clock()
        tracked = [_Tracked(t, VmOutcome(host=t.host, vm_id=t.ref.id if t.ref else None)) for t in targets]
        for item in tracked:
            if item.target.error is not None:
                self._finish(item, "failed", item.target.error.reason, item.target.error.message)
        live = [item for item in tracked if item.target.ref is not None]
        self._read_all(live)
        to_submit = []
        for item in live:
            if item.vm is not None and item.outcome.finished_at is None:
                self._consider(item, to_submit)
        self._submit(to_submit)
        if self.options.wait and not self.options.check_mode:
            self._follow(tracked)
        return [item.outcome.public(started) for item in tracked]

    def status(self, targets):
        """Report only: read every target (list calls for crowded groups), no plan, no write."""
        started = self.clock()
        tracked = [_Tracked(t, VmOutcome(host=t.host, vm_id=t.ref.id if t.ref else None)) for t in targets]
        for item in tracked:
            if item.target.error is not None:
                self._finish(item, "failed", item.target.error.reason, item.target.error.message)
        self._read_all([item for item in tracked if item.target.ref is not None])
        for item in tracked:
            vm = item.vm
            if vm is None:
                continue
            out = item.outcome
            out.os_type, out.power_state, out.agent_status = vm.os_type, vm.power_state, vm.agent_status
            out.extension = vm.extension.public() if vm.extension else None
            self._finish(item, "ok", None, "%s, %s, agent %s" % (
                vm.os_type or "unknown OS", vm.power_state or "unknown power state", vm.agent_status or "not reporting"))
        return [item.outcome.public(started) for item in tracked]

    # -- reading -------------------------------------------------------------------------
    def _read_all(self, items):
        """Fill item.vm for every target: list calls for crowded resource groups, GETs otherwise."""
        by_group = {}
        for item in items:
            ref = item.target.ref
            by_group.setdefault((ref.subscription_id.lower(), ref.resource_group.lower()), []).append(item)
        for (sub, group), members in by_group.items():
            api = self.apis[members[0].target.ref.subscription_id]
            if len(members) >= LIST_THRESHOLD:
                self._read_by_list(api, members)
            else:
                for item in members:
                    self._read_one(api, item)

    def _read_by_list(self, api, members):
        wanted = dict((item.target.ref.name.lower(), item) for item in members)
        group = members[0].target.ref.resource_group
        try:
            self.stats.list_calls += 1
            for doc in api.list_vms(group):
                item = wanted.get((doc.get("name") or "").lower())
                if item is not None:
                    item.vm = parse_vm(doc, item.target.ref)
        except VmAccessError as error:
            for item in members:
                if item.vm is None:
                    self._finish(item, "failed", error.reason, error.message)
            return
        for item in members:
            if item.vm is None and item.outcome.finished_at is None:
                self._finish(item, "failed", "vm_not_found",
                             "No VM %s in resource group %s of subscription %s; check the inventory."
                             % (item.target.ref.name, group, item.target.ref.subscription_id))

    def _read_one(self, api, item):
        try:
            self.stats.reads += 1
            item.vm = parse_vm(api.get_vm(item.target.ref), item.target.ref)
        except VmAccessError as error:
            self._finish(item, "failed", error.reason, error.message)

    # -- deciding ------------------------------------------------------------------------
    def _request_for(self, item):
        if item.target.password is None:
            return self.request
        request = ResetRequest(**dict(self.request.__dict__))
        request.password = item.target.password
        return request

    def _consider(self, item, to_submit):
        vm = item.vm
        out = item.outcome
        out.os_type, out.power_state, out.agent_status = vm.os_type, vm.power_state, vm.agent_status
        if vm.extension is not None:
            out.extension = vm.extension.public()
        request = self._request_for(item)
        try:
            preflight(vm, request)
            if request.require_agent_ready and not vm.agent_ready:
                if item.agent_deadline is None:
                    item.agent_deadline = self.clock() + self.options.agent_wait_timeout
                if self.options.check_mode or not self.options.wait or self.clock() >= item.agent_deadline:
                    raise VmAccessError(
                        "agent_not_ready",
                        "The VM agent on %s reports %r (%s); VMAccess needs a running agent. Check the VM's health "
                        "and outbound access to Azure storage, then run again."
                        % (vm.ref.name, vm.agent_status or "no status", vm.agent_message or "no message"))
                return  # re-read on the next progress poll
            item.plan = plan_reset(vm, request)
        except VmAccessError as error:
            outcome = "skipped" if error.reason in SKIP_REASONS else "failed"
            self._finish(item, outcome, error.reason, error.message)
            return
        out.action = item.plan.action
        if item.plan.needs_put:
            if self.options.check_mode:
                self._finish(item, "changed", None, "would %s the VMAccess extension (%s)" % (
                    {"created": "create", "updated": "update", "rerun": "rerun"}[item.plan.action], item.plan.why))
            else:
                to_submit.append(item)
        elif item.plan.action == "wait" and self.options.wait and not self.options.check_mode:
            out.submitted_at = self.clock()  # follow the run already under way
        else:
            self._finish(item, "ok", None, item.plan.why)

    # -- writing -------------------------------------------------------------------------
    def _submit(self, items):
        if not items:
            return
        if self.before_submit is not None:
            self.before_submit([(i.target.host, i.target.ref.id, i.plan.username) for i in items])
        workers = max(1, min(self.options.max_workers, len(items)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(self._put, items))

    def _put(self, item):
        ref = item.target.ref
        request = self._request_for(item)
        body = {"location": item.plan.body["location"], "properties": dict(item.plan.body["properties"])}
        body["properties"]["protectedSettings"] = (
            {"Password": request.password} if request.reset == "password" else {})
        pacer = self.pacers.get(ref.subscription_id)
        if pacer is not None:
            pacer.acquire()
        item.outcome.submitted_at = self.clock()
        try:
            with self._lock:
                self.stats.writes += 1
            accepted = self.apis[ref.subscription_id].begin_put_extension(
                ref, item.plan.extension_name, body, wait=False)
        except VmAccessError as error:
            outcome = "skipped" if error.reason in SKIP_REASONS else "failed"
            self._finish(item, outcome, error.reason, error.message)
            return
        state = parse_extension(accepted) if isinstance(accepted, dict) else None
        if state is not None:
            item.outcome.extension = state.public()
        if not self.options.wait:
            self._finish(item, "changed", None, "submitted (%s); not waiting" % item.plan.why)

    # -- following -----------------------------------------------------------------------
    def _follow(self, tracked):
        deadline = self.clock() + self.options.wait_timeout
        while True:
            pending = [item for item in tracked if item.outcome.finished_at is None]
            if not pending:
                return
            if self.clock() >= deadline:
                for item in pending:
                    self._finish(item, "failed", "operation_timeout",
                                 "Still running after wait_timeout (%ds). It may finish later: run the status playbook "
                                 "or this one again (the same reset is picked up, not repeated)."
                                 % self.options.wait_timeout)
                return
            self.sleep(min(self._poll_interval(), max(0.0, deadline - self.clock())))
            self.stats.polls += 1
            waiting_for_agent = [item for item in pending if item.plan is None]
            running = [item for item in pending if item.plan is not None]
            for item in waiting_for_agent:
                item.vm = None
            self._read_all(waiting_for_agent + running)
            to_submit = []
            for item in waiting_for_agent:
                if item.vm is not None and item.outcome.finished_at is None:
                    self._consider(item, to_submit)
            for item in running:
                if item.outcome.finished_at is None and item.vm is not None:
                    self._check_progress(item)
            self._submit(to_submit)

    def _poll_interval(self):
        return self.options.poll_interval

    def _check_progress(self, item):
        state = item.vm.extension
        if state is None or state.name.lower() != item.plan.extension_name.lower():
            return
        if state.force_update_tag is None and state.provisioning_state is None:
            # The list carried no extension model: ask the extension itself.
            try:
                self.stats.reads += 1
                state = parse_extension(self.apis[item.target.ref.subscription_id].get_extension(
                    item.target.ref, item.plan.extension_name))
            except VmAccessError as error:
                self._finish(item, "failed", error.reason, error.message)
                return
        if state.force_update_tag != item.plan.fingerprint.tag() or state.in_progress:
            return
        item.outcome.extension = state.public()
        if state.succeeded:
            self._finish(item, "changed" if item.plan.needs_put else "ok", None,
                         state.status_message or "VMAccess succeeded")
        else:
            self._finish(item, "failed", "extension_failed",
                         "VMAccess ran on %s and failed: %s" % (item.target.ref.name, state.status_message or "no message"))

    def _finish(self, item, outcome, reason, msg):
        item.outcome.outcome = outcome
        item.outcome.reason = reason
        item.outcome.msg = msg
        item.outcome.finished_at = self.clock()


def summarize(results):
    """Counts by outcome and by reason, for the play summary and set_stats."""
    by_outcome = {"changed": 0, "ok": 0, "skipped": 0, "failed": 0}
    by_reason = {}
    for result in results:
        by_outcome[result["outcome"]] = by_outcome.get(result["outcome"], 0) + 1
        if result.get("reason"):
            by_reason[result["reason"]] = by_reason.get(result["reason"], 0) + 1
    return {"total": len(results), "by_outcome": by_outcome, "by_reason": by_reason}
