# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-running actions on many VMs at once (Run Command scripts, effective-rule computations): each
started on the write budget and followed on the read budget from then on, so that the operations
already started are polled while later starts still wait for write budget.

One wave holds at most one action per VM: Run Command runs one script at a time per VM, and a VM
whose previous script (perhaps someone else's) still runs is retried until the wave's deadline, then
fails with ``run_command_busy``. A start ARM refused with a 429 (azure-core does not retry a POST) is
made again once the write pacer, which holds every caller for the 429's Retry-After, lets it.

Threads: one feeder thread per subscription hands the starts to the pool, each once fewer than
``max_starting`` starts are unanswered (so that the write pacer learns from answers as it would with
that many workers, and the polls always find a free worker) and its write budget has room; the
caller's thread polls, in rounds, the operations due (each ``poll_interval`` after its start or last
poll), and alone owns the results.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import queue
import threading

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# Polls go out in rounds at most this many times per poll_interval (an operation is polled up to a
# quarter of an interval late, with the others due by then).
ROUNDS_PER_INTERVAL = 4
# Start failures after which nothing runs on the VM, so the start is made again (until the deadline).
_STARTED_AGAIN = ("run_command_busy", "throttled")


class _Followed:
    """A started operation and when it is polled next."""

    def __init__(self, operation, subscription_id, due):
        self.operation = operation
        self.subscription_id = subscription_id
        self.due = due


class Wave:
    """``jobs``: [(key, subscription_id, start)] where ``start()`` returns an ``_azure.compute.Operation``."""

    def __init__(self, pacing, pool, poll_interval, deadline, clock, sleep, on_round=None, max_starting=8):
        self.pacing = pacing
        self.on_round = on_round  # on_round(finished, total) after each poll round, and at the end
        self.pool = pool
        self.max_starting = max(1, max_starting)  # at most half the pool's workers: the others poll
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.clock = clock
        self.sleep = sleep

    def run(self, jobs):
        """{key: the operation's output document, or a VmAccessError}."""
        arrivals = queue.Queue()  # (key, subscription_id, Operation or error, when), from the feeders and workers
        starting = threading.BoundedSemaphore(self.max_starting)  # a slot per start handed over, until it answers
        for subscription_jobs in _by_subscription(jobs):
            feeder = threading.Thread(target=self._feed, args=(subscription_jobs, arrivals, starting),
                                      name="wave-starts")
            feeder.daemon = True
            feeder.start()
        results, following = {}, {}
        reported = None
        while len(results) < len(jobs):
            self._take(arrivals, results, following, wait=False)
            if self.clock() >= self.deadline:
                self._time_out(arrivals, results, following, len(jobs))
                break
            due = [key for key, followed in following.items() if followed.due <= self.clock()]
            if due:
                self._poll_round(due, results, following)
                reported = self._round(results, jobs)
            if len(results) < len(jobs):
                self.sleep(self._pause(following))
        if reported != len(results):
            self._round(results, jobs)
        return results

    # -- starts (feeder threads and workers) ----------------------------------------------------
    def _feed(self, jobs, arrivals, starting):
        """Hand each job of one subscription to the pool once a start slot is free and its write budget has room."""
        for index, (key, subscription_id, start) in enumerate(jobs):
            try:
                starting.acquire()
                if self.clock() < self.deadline:
                    self.pacing.of(subscription_id).writes.acquire()
                if self.clock() >= self.deadline:  # nothing starts that the wave could no longer follow
                    starting.release()
                    arrivals.put((key, subscription_id, VmAccessError(
                        "operation_timeout", "The operation for %s was not started within wait_timeout (ARM's write "
                        "budget was spent); nothing was run." % key), self.clock()))
                    continue
                self.pool.submit(self._start_and_report, (key, subscription_id, start), arrivals, starting)
            except Exception as exc:  # the caller's thread raises it; no job is left unanswered
                for later_key, later_subscription, _start in jobs[index:]:
                    arrivals.put((later_key, later_subscription, exc, self.clock()))
                return

    def _start_and_report(self, job, arrivals, starting):
        key, subscription_id, _start = job
        try:
            outcome = self._start(job)
        except Exception as exc:  # the caller's thread raises it
            outcome = exc
        starting.release()
        arrivals.put((key, subscription_id, outcome, self.clock()))

    def _start(self, job):
        """The job's Operation, or its VmAccessError (the feeder already took the first write budget)."""
        _key, subscription_id, start = job
        while True:
            try:
                return start()
            except VmAccessError as error:
                if error.reason not in _STARTED_AGAIN or self.clock() + self.poll_interval >= self.deadline:
                    return error
                if error.reason == "run_command_busy":
                    self.sleep(self.poll_interval)  # another script still runs on the VM: one at a time
            self.pacing.of(subscription_id).writes.acquire()

    # -- the caller's thread ----------------------------------------------------------------------
    def _take(self, arrivals, results, following, wait):
        """Move the starts that arrived into ``results`` (failed) or ``following`` (first poll one interval on)."""
        while True:
            try:
                key, subscription_id, outcome, started_at = arrivals.get(block=wait)
            except queue.Empty:
                return
            if isinstance(outcome, VmAccessError):
                results[key] = outcome
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                following[key] = _Followed(outcome, subscription_id, started_at + self.poll_interval)
            if wait:
                return

    def _poll_round(self, keys, results, following):
        polled = [following[key] for key in keys]
        outcomes = list(self.pool.map(self._poll, polled))
        now = self.clock()
        for key, followed, outcome in zip(keys, polled, outcomes):
            if outcome is None:
                followed.due = now + self.poll_interval
            else:
                results[key] = outcome
                del following[key]

    def _poll(self, followed):
        """None while it runs; its output or error once it ended."""
        self.pacing.of(followed.subscription_id).reads.acquire()
        try:
            operation = followed.operation
            operation.poll()
            if not operation.done:
                return None
            return operation.error() or operation.output()
        except VmAccessError as error:
            return error

    def _pause(self, following):
        """Until the next operation is due (a round's worth at least), never past the deadline."""
        now = self.clock()
        next_due = min([followed.due for followed in following.values()] or [now])
        return max(0.0, min(max(next_due - now, self.poll_interval / ROUNDS_PER_INTERVAL), self.deadline - now))

    def _time_out(self, arrivals, results, following, total):
        """At the deadline: every start answers (the feeders start nothing more), then what still runs times out."""
        while len(results) + len(following) < total:
            self._take(arrivals, results, following, wait=True)
        for key, followed in following.items():
            results[key] = VmAccessError("operation_timeout", "The operation on %s was still running after "
                                         "wait_timeout; it may still finish." % followed.operation.target)

    def _round(self, results, jobs):
        if self.on_round is not None:
            self.on_round(len(results), len(jobs))
        return len(results)


def _by_subscription(jobs):
    groups = {}
    for job in jobs:
        groups.setdefault((job[1] or "").lower(), []).append(job)
    return list(groups.values())
