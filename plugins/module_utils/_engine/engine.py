# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reset engine: read -> plan -> PUT -> follow -> judge, for one VM or a thousand.

The single-VM module is this engine with one target; the fleet action runs it over a play batch.
Both get the same request body, agent handling, verdicts, reason codes and messages; they differ
only in how many VMs there are (which decides how they are read and followed) and in how results
reach Ansible. One process does the whole run: one credential and token, one connection pool,
reads and writes paced on ARM's remaining-budget headers (``pacing``), tag reads and PUTs
pipelined, and progress followed in rounds (``following``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_extension
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.following import Follower
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.plan import (
    AGENT_DOWN,
    AGENT_STARTING,
    agent_condition,
    agent_down_error,
    plan_reset,
    preflight,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.progress import Progress
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.reading import LIST_THRESHOLD, Reader
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.tracked import Tracked
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import Verdict, from_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

_VERBS = {"created": "create", "updated": "update", "rerun": "rerun"}


@dataclass
class EngineOptions:
    check_mode: bool = False
    wait: bool = True
    wait_timeout: float = 1200.0
    agent_wait_timeout: float = 0.0
    poll_interval: float = 10.0
    max_workers: int = 16
    list_threshold: int = LIST_THRESHOLD
    progress_interval: float = 5.0


class ResetEngine:
    """Runs one request against many targets.

    ``api_for(subscription_id)`` gives a ComputeApi (see ``_azure.session.AzureSession.api``), and
    ``pacing`` must be the ``Pacing`` that session reports its responses to. ``before_submit(items)``
    runs before PUTs with (host, vm_id, username) tuples: the caller stores generated passwords
    there, so no password is set that was not stored first. It may return ``{host: VmAccessError}``:
    those VMs get no PUT and fail with that error, the others go on; an exception stops every PUT
    of the batch.
    ``progress(snapshot)`` is called every ``progress_interval`` seconds while the run goes on.
    """

    def __init__(self, api_for, request, options, pacing=None, before_submit=None, progress=None,
                 clock=time.monotonic, sleep=time.sleep):
        self.api_for = api_for
        self.request = request
        self.options = options
        self.pacing = pacing or Pacing(clock, sleep)
        self.before_submit = before_submit
        self.clock = clock
        self.sleep = sleep
        self.progress = Progress(progress, options.progress_interval, clock, self.pacing)
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()  # one before_submit at a time, without holding up the others
        self._busy = 0  # planning and PUT tasks not finished yet
        self._unsaved = []
        self.reader = None

    # -- entry points --------------------------------------------------------------------------
    def run(self, targets):
        """Reset every target; returns one result dict per target, in order."""
        return self._with_pools(targets, self._run)

    def status(self, targets):
        """Read every target and report where it stands; no plan, no write."""
        return self._with_pools(targets, self._status)

    def _with_pools(self, targets, body):
        started = self.clock()
        items = [Tracked(target, self.request.for_target(target) if self.request else None) for target in targets]
        workers = max(1, self.options.max_workers)
        with ThreadPoolExecutor(max_workers=min(8, workers)) as readers, \
                ThreadPoolExecutor(max_workers=workers) as writers:
            self.reader = Reader(self.api_for, self.pacing, readers, self.options.list_threshold)
            self._writers = writers
            self._read(items)
            body(items, readers)
        return [item.result(started) for item in items]

    def _read(self, items):
        for item in items:
            if item.target.error is not None:
                item.finish(from_error(item.target.error), self.clock())
        live = [item for item in items if not item.done]
        found = self.reader.read_vms([item.target.ref for item in live])
        for item in live:
            outcome = found.get(item.target.ref.key())
            if isinstance(outcome, VmAccessError):
                item.finish(from_error(outcome), self.clock())
            else:
                item.see(outcome)

    def _status(self, items, _readers):
        for item in items:
            if not item.done:
                item.finish(Verdict("ok", None, item.describe()), self.clock())

    def _run(self, items, readers):
        deadline = self.clock() + self.options.wait_timeout
        follower = Follower(self, deadline)
        for item in items:
            if not item.done:
                self._admit(item, readers, deadline)
        while True:
            follower.round([item for item in items if item.following or item.waiting_for_agent])
            if self._settled(items):
                break
            self.progress.tick(items)
            self.sleep(self._pause(items))
        self.progress.tick(items, final=True)

    def _pause(self, items):
        if any(item.following or item.waiting_for_agent for item in items):
            return max(0.05, self.options.poll_interval)
        return 0.05  # only planning and PUTs are under way: look again soon

    def _settled(self, items):
        with self._lock:
            busy = self._busy
        return busy == 0 and not any(item.following or item.waiting_for_agent for item in items)

    # -- deciding ------------------------------------------------------------------------------
    def _admit(self, item, readers, deadline):
        """Pre-flight and agent check on what was read; then plan (after a tag read) in the background."""
        try:
            preflight(item.vm)
            if self.request.require_agent_ready and agent_condition(item.vm) == AGENT_DOWN:
                if self.options.check_mode or not self.options.wait or self.options.agent_wait_timeout <= 0:
                    raise agent_down_error(item.vm)
                item.wait_for_agent(self.clock() + self.options.agent_wait_timeout)
                return
        except VmAccessError as error:
            item.finish(from_error(error), self.clock())
            return
        self._start(readers.submit, self._plan_and_submit, item)

    def agent_seen(self, item, vm):
        """A follow round re-read a VM whose agent was down (see ``following``)."""
        item.see(vm)
        condition = agent_condition(vm)
        if condition != AGENT_DOWN:
            item.agent_ready()
            self._start(self.reader.pool.submit, self._plan_and_submit, item)
        elif self.clock() >= item.agent_deadline:
            item.finish(from_error(agent_down_error(vm, self.options.agent_wait_timeout)), self.clock())

    def _start(self, submit, task, item):
        with self._lock:
            self._busy += 1
        submit(self._guarded, task, item)

    def _guarded(self, task, item):
        try:
            task(item)
        except VmAccessError as error:
            item.finish(from_error(error), self.clock())
        except Exception as error:  # a reason code, never a lost thread
            item.finish(from_error(VmAccessError("unexpected_error", "Unexpected %s: %s"
                                                 % (type(error).__name__, error))), self.clock())
        finally:
            with self._lock:
                self._busy -= 1

    def _plan_and_submit(self, item):
        item.vm.extension = item.extension = self.reader.read_extension(item.vm)
        item.baseline = item.extension.status if item.extension is not None else None
        item.plan = plan_reset(item.vm, item.request)
        item.starting_agent = agent_condition(item.vm) == AGENT_STARTING
        plan = item.plan
        if plan.needs_put:
            if self.options.check_mode:
                item.finish(Verdict("changed", None, "would %s the VMAccess extension (%s)"
                                    % (_VERBS[plan.action], plan.why)), self.clock())
                return
            with self._lock:
                self._unsaved.append(item)
            self._start(self._writers.submit, self._put, item)
        elif plan.action == "wait" and self.options.wait and not self.options.check_mode:
            item.follow(None, self.clock())  # the same reset is already running: follow it
        else:
            item.finish(Verdict("ok", None, plan.why), self.clock())

    # -- writing ------------------------------------------------------------------------------
    def _ensure_saved(self, item):
        """Run ``before_submit`` for every planned PUT not yet covered, at most once per item."""
        if self.before_submit is None:
            return
        with self._save_lock:
            if not item.saved:
                with self._lock:
                    batch, self._unsaved = self._unsaved, []
                try:
                    failures = self.before_submit([(i.target.host, i.target.ref.id, i.plan.username) for i in batch])
                except VmAccessError as error:
                    failures = dict((planned.target.host, error) for planned in batch)
                except Exception as error:  # no PUT for a batch whose passwords may not be stored
                    error = VmAccessError("unexpected_error", "Unexpected %s while storing the passwords: %s"
                                          % (type(error).__name__, error))
                    failures = dict((planned.target.host, error) for planned in batch)
                for planned in batch:
                    planned.save_error = (failures or {}).get(planned.target.host)
                    planned.saved = True
        if item.save_error is not None:
            raise item.save_error

    def _put(self, item):
        self._ensure_saved(item)
        ref, plan = item.target.ref, item.plan
        body = {"location": plan.body["location"], "properties": dict(plan.body["properties"])}
        body["properties"]["protectedSettings"] = (
            {"Password": item.request.password} if item.request.reset == "password" else {})
        self.pacing.of(ref.subscription_id).writes.acquire()
        accepted, operation = self.api_for(ref.subscription_id).put_extension(ref, plan.extension_name, body)
        item.extension = parse_extension(accepted) if isinstance(accepted, dict) and accepted else item.extension
        item.written = True
        if isinstance(operation, VmAccessError):  # accepted, but nothing to poll: follow the extension itself
            item.tracking_error, operation = operation, None
        if not self.options.wait:
            item.finish(Verdict("changed", None, "submitted (%s); not waiting for the run" % plan.why), self.clock())
            return
        item.follow(operation, self.clock())
