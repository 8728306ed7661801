# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-running actions on many VMs at once (Run Command scripts, effective-rule computations): each
started on the write budget, then all followed in rounds of operation polls on the read budget.

One wave holds at most one action per VM: Run Command runs one script at a time per VM, and a VM
whose previous script (perhaps someone else's) still runs is retried until the wave's deadline, then
fails with ``run_command_busy``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


class Wave:
    """``jobs``: [(key, subscription_id, start)] where ``start()`` returns an ``_azure.compute.Operation``."""

    def __init__(self, pacing, pool, poll_interval, deadline, clock, sleep, on_round=None):
        self.pacing = pacing
        self.on_round = on_round  # on_round(finished, total) after the starts and each poll round
        self.pool = pool
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.clock = clock
        self.sleep = sleep

    def run(self, jobs):
        """{key: the operation's output document, or a VmAccessError}."""
        results = {}
        started = dict(zip([key for key, _sub, _start in jobs], self.pool.map(self._start, jobs)))
        pending = {}
        for key, outcome in started.items():
            if isinstance(outcome, VmAccessError):
                results[key] = outcome
            else:
                pending[key] = outcome
        self._round(results, jobs)
        while pending:
            if self.clock() >= self.deadline:
                for key, (operation, _sub) in pending.items():
                    results[key] = VmAccessError("operation_timeout", "The operation on %s was still running after "
                                                 "wait_timeout; it may still finish." % operation.target)
                break
            self.sleep(min(self.poll_interval, max(0.0, self.deadline - self.clock())))
            keys = list(pending)
            for key, outcome in zip(keys, self.pool.map(lambda k: self._poll(pending[k][0], pending[k][1]), keys)):
                if outcome is not None:
                    results[key] = outcome
                    del pending[key]
            self._round(results, jobs)
        return results

    def _round(self, results, jobs):
        if self.on_round is not None:
            self.on_round(len(results), len(jobs))

    def _start(self, job):
        key, subscription_id, start = job
        while True:
            self.pacing.of(subscription_id).writes.acquire()
            try:
                return start(), subscription_id
            except VmAccessError as error:
                if error.reason != "run_command_busy" or self.clock() + self.poll_interval >= self.deadline:
                    return error
            self.sleep(self.poll_interval)  # another script still runs on the VM: Run Command takes one at a time

    def _poll(self, operation, subscription_id):
        """None while it runs; its output or error once it ended."""
        self.pacing.of(subscription_id).reads.acquire()
        try:
            operation.poll()
            if not operation.done:
                return None
            return operation.error() or operation.output()
        except VmAccessError as error:
            return error
