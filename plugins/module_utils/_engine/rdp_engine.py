# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diagnose (and repair) Remote Desktop on one VM or many: read -> network -> guest check -> findings
(-> repairs -> check again).

The VMs are read as the reset engine reads them (list passes for many, one GET for few); each VM's
network interfaces, subnets and NSGs are read once per id (VMs share subnets and NSGs), the network
interfaces of a resource group that holds many of them with one list instead; guest checks
and repairs run as waves of Run Command scripts (one per VM at a time), paced on ARM's write budget
and followed on its read budget; the VMAccess RDP reset goes through the shared reset engine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.network import NetworkApi
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import EngineOptions, ResetEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.operations import Wave
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.plan import (
    AGENT_DOWN,
    agent_condition,
    not_windows_error,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_findings import finding
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_guest import (
    check_script,
    parse_check_output,
    run_command_streams,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_network import (
    list_nics,
    nic_groups_to_list,
    read_network,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_repair import VMACCESS_RESET, plan_repairs
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_result import (
    RdpItem,
    StageProgress,
    final_line,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.reading import LIST_THRESHOLD, Reader
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


@dataclass
class RdpOptions:
    repair: bool = False
    guest_checks: bool = False
    check_mode: bool = False
    rdp_port: int = 3389
    source_address: str = "Internet"
    allow_disable_nla: bool = False
    effective_rules: bool = False
    run_tag: Optional[str] = None
    wait_timeout: float = 1800.0
    poll_interval: float = 10.0
    max_workers: int = 16
    list_threshold: int = LIST_THRESHOLD
    progress_interval: float = 15.0


class RdpEngine:
    """``api_for(subscription_id)`` gives a ComputeApi; ``pacing`` sees the session's responses."""

    def __init__(self, api_for, options, pacing=None, progress=None, clock=time.monotonic, sleep=time.sleep):
        self.api_for = api_for
        self.options = options
        self.progress = StageProgress(progress, options.progress_interval, clock)
        self.pacing = pacing or Pacing(clock, sleep)
        self.clock = clock
        self.sleep = sleep
        self._networks = {}

    def run(self, targets):
        started = self.clock()
        deadline = started + self.options.wait_timeout
        items = [RdpItem(target) for target in targets]
        with ThreadPoolExecutor(max_workers=max(1, self.options.max_workers)) as pool:
            self.pool = pool
            self._read(items, pool)
            live = [item for item in items if item.vm is not None and not item.done]
            self.progress.say("read %d VMs: %d to diagnose, %d skipped or failed" % (
                len(items), len(live), len(items) - len(live)))
            self._list_nics(live)
            list(pool.map(lambda item: self._network(item, deadline), live))
            if live:
                self.progress.say("network read for %d VMs (%d requests)" % (len(live), self._network_reads()))
            self._guest_checks([i for i in live if self._checkable(i)], deadline, "before")
            for item in live:
                item.diagnose(self.options.rdp_port, self.options.source_address)
            if self.options.repair:
                self._repair([i for i in live if not i.done], deadline)
        results = [item.result(self.options) for item in items]
        self.progress.say(final_line(results, self.clock() - started), force=True)
        return results

    # -- reading ----------------------------------------------------------------------------------
    def _read(self, items, pool):
        for item in items:
            if item.target.error is not None:
                item.fail(item.target.error)
        reader = Reader(self.api_for, self.pacing, pool, self.options.list_threshold)
        found = reader.read_vms([item.target.ref for item in items if not item.done])
        for item in items:
            if item.done:
                continue
            outcome = found.get(item.target.ref.key())
            if isinstance(outcome, VmAccessError):
                item.fail(outcome)
            elif outcome.is_windows:
                item.vm = outcome
            elif outcome.os_type:
                item.skip(VmAccessError("not_windows", "%s does not run Windows; Remote Desktop diagnosis is for "
                                        "Windows VMs." % outcome.ref.name))
            else:
                item.fail(not_windows_error(outcome))  # the document does not say: Azure's answer, not Linux

    def _network_api(self, subscription_id):
        key = subscription_id.lower()
        if key not in self._networks:
            self._networks[key] = NetworkApi(self.api_for(subscription_id),
                                             before_read=self.pacing.of(subscription_id).reads.acquire)
        return self._networks[key]

    def _list_nics(self, items):
        """One NIC list per resource group holding many of the NICs to read (the rest: a GET each)."""
        by_api = {}
        for item in items:
            by_api.setdefault(self._network_api(item.vm.ref.subscription_id), []).extend(item.vm.network_interfaces)
        lists = []
        for api, nic_ids in by_api.items():
            groups = nic_groups_to_list(nic_ids, self.options.list_threshold)
            lists.extend((api, group, ids) for group, ids in sorted(groups.items()))
        list(self.pool.map(lambda job: list_nics(*job), lists))

    def _network(self, item, deadline):
        item.network = read_network(self._network_api(item.vm.ref.subscription_id), item.vm, self.options,
                                    self._wave_runner(), deadline)

    def _network_reads(self):
        return sum(api.requests for api in self._networks.values())

    def _wave_runner(self, label=None):
        def on_round(finished, total):
            self.progress.say("%s: %d/%d finished" % (label, finished, total), force=finished == total)

        return lambda jobs, deadline: Wave(self.pacing, self.pool, self.options.poll_interval, deadline, self.clock,
                                           self.sleep, on_round if label else None,
                                           max_starting=self.options.max_workers // 2).run(jobs)

    # -- the guest ------------------------------------------------------------------------------
    def _checkable(self, item):
        vm = item.vm
        if not (self.options.guest_checks or self.options.repair):
            return False
        return vm.is_running and vm.allow_extension_operations is not False and agent_condition(vm) != AGENT_DOWN

    def _guest_checks(self, items, deadline, when):
        script = check_script()
        jobs = [(item.key, item.vm.ref.subscription_id, self._starter(item, "RunPowerShellScript", script=script))
                for item in items]
        label = "guest checks" if when == "before" else "checks after repair"
        outcomes = self._wave_runner(label)(jobs, deadline) if jobs else {}
        for item in items:
            outcome = outcomes.get(item.key)
            try:
                if isinstance(outcome, VmAccessError):
                    raise outcome
                stdout, stderr = run_command_streams(outcome)
                item.set_guest(when, parse_check_output(stdout, stderr, item.vm.ref.name))
            except VmAccessError as error:
                item.set_guest(when, None, finding("guest_check_failed", "warning", "The read-only guest check on %s "
                                                   "did not complete: %s" % (item.vm.ref.name, error.message),
                                                   human="See the message; run the check again.", reason=error.reason))

    def _starter(self, item, command_id, script=None, parameters=None):
        api = self.api_for(item.vm.ref.subscription_id)
        return lambda: api.run_command(item.vm.ref, command_id, script=script, parameters=parameters)

    # -- repairs --------------------------------------------------------------------------------
    def _repair(self, items, deadline):
        for item in items:
            item.actions, item.refused = plan_repairs(item.findings, self.options.rdp_port, self.options.allow_disable_nla)
        if self.options.check_mode:
            return
        step = 0
        while True:  # the n-th Run Command of every VM, as one wave: one script at a time per VM
            wave = [(item, item.actions[step]) for item in items if len(item.actions) > step
                    and item.actions[step]["action"] != VMACCESS_RESET and not item.repair_failed]
            if not wave:
                break
            jobs = [(item.key, item.vm.ref.subscription_id, self._starter(item, action["action"],
                                                                          parameters=action["parameters"]))
                    for item, action in wave]
            outcomes = self._wave_runner("repair step %d (%s)" % (step + 1, ", ".join(sorted(set(
                action["action"] for _item, action in wave)))))(jobs, deadline)
            for item, action in wave:
                item.record(action, outcomes.get(item.key))
            step += 1
        self._vmaccess_resets([i for i in items if i.wants_vmaccess_reset()], deadline)
        self._guest_checks([i for i in items if i.repaired and self._checkable(i)], deadline, "after")
        for item in items:
            if item.repaired:
                item.diagnose(self.options.rdp_port, self.options.source_address, after=True)

    def _vmaccess_resets(self, items, deadline):
        """The RDP reset through the shared reset engine (forced: RDP is broken now, whatever ran before)."""
        if not items:
            return
        request = ResetRequest(reset="rdp", run_tag=self.options.run_tag, force=True)
        options = EngineOptions(wait_timeout=max(1.0, deadline - self.clock()), poll_interval=self.options.poll_interval,
                                max_workers=self.options.max_workers, list_threshold=self.options.list_threshold)
        engine = ResetEngine(self.api_for, request, options, pacing=self.pacing, clock=self.clock, sleep=self.sleep)
        results = engine.run([VmTarget(host=item.key, ref=item.vm.ref) for item in items])
        by_key = dict((r["host"], r) for r in results)
        for item in items:
            item.record_vmaccess(by_key[item.key])
