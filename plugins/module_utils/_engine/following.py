# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following submitted runs to their end, in rounds, with as few requests as Azure allows.

Lists never carry the tag (AZURE_VMACCESS_FACTS.md §8), so a run is followed by what is there:
- per VM, one poll of the PUT's own long-running operation (azure-core's ARM polling) and, once it
  has ended, one read of the extension with its instance view, which the verdict is made from;
- or, when one ``statusOnly`` pass of the subscription costs fewer requests than polling every
  VM still running, that pass: a VM whose VMAccess status is newer than before our PUT and says
  succeeded is done without another request; one still 'transitioning' is running; one that
  failed, or shows nothing new (its agent has not picked the run up yet), is polled on its own,
  so its verdict is made from the operation's error exactly as on the per-VM path.
Each round picks the cheaper way per subscription, so a module run (one VM) polls its operation
and a fleet of thousands lists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import (
    ExtensionState,
    merge_vm_documents,
    parse_vm,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import (
    foreign_tag_error,
    from_error,
    judge,
    timeout_error,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.plan import agent_down_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


class Follower:
    def __init__(self, engine, deadline):
        self.engine = engine
        self.deadline = deadline
        self.reader = engine.reader
        self.clock = engine.clock

    def round(self, items):
        if not items:
            return
        if self.clock() >= self.deadline:
            self._time_out(items)
            return
        singles = [item for item in items if item.waiting_for_agent or item.operation is None]
        by_subscription = {}
        for item in items:
            if item.following and item.operation is not None:
                by_subscription.setdefault(item.target.ref.subscription_id.lower(), []).append(item)
        for members in by_subscription.values():
            cost = self.reader.status_pass_cost(members[0].target.ref.subscription_id)
            if cost is not None and cost < len(members):
                singles.extend(self._by_status_pass(members))
            else:
                singles.extend(members)
        list(self.reader.pool.map(self._guarded_poll, singles))

    def _time_out(self, items):
        wait_timeout = self.engine.options.wait_timeout
        for item in items:
            if item.waiting_for_agent:
                error = agent_down_error(item.vm, self.engine.options.agent_wait_timeout)
            else:
                error = timeout_error(item.target.ref.name, wait_timeout)
            item.finish(from_error(error), self.clock())

    # -- one status pass for many VMs -------------------------------------------------------
    def _by_status_pass(self, members):
        """Settle what the pass shows; returns the VMs that need a poll of their own."""
        try:
            statuses = self.reader.status_pass(members[0].target.ref.subscription_id)
        except VmAccessError:
            return members  # poll each instead
        singles = []
        for item in members:
            doc = statuses.get(item.target.ref.key())
            seen = self._seen_in(item, doc)
            status = seen.status if seen is not None else None
            if status is not None and status.newer_than(item.baseline) and status.succeeded:
                item.extension = seen
                item.finish(judge(item.target.ref.name, seen, None), self.clock())
            elif status is not None and status.transitioning:
                continue  # the guest is running it
            else:
                singles.append(item)
        return singles

    def _seen_in(self, item, doc):
        """Our instance as a status pass shows it, completed with what we wrote (lists carry no model)."""
        if doc is None:
            return None
        try:
            view = parse_vm(merge_vm_documents(None, doc), item.target.ref).extension
        except VmAccessError:
            return None
        if view is None or (view.name or "").lower() != item.plan.extension_name.lower():
            return None
        props = item.plan.body["properties"]
        return ExtensionState(
            name=view.name, publisher=props["publisher"], type=props["type"],
            type_handler_version=props["typeHandlerVersion"],
            auto_upgrade_minor_version=props["autoUpgradeMinorVersion"], force_update_tag=props["forceUpdateTag"],
            settings=dict(props["settings"]), provisioning_state=None, running_version=view.running_version,
            status=view.status, substatuses=view.substatuses)

    # -- one VM ---------------------------------------------------------------------------------
    def _guarded_poll(self, item):
        try:
            self._poll(item)
        except VmAccessError as error:
            item.finish(from_error(error), self.clock())

    def _poll(self, item):
        if item.waiting_for_agent:
            self.engine.agent_seen(item, self.reader.read_vm(item.target.ref))
            return
        if item.operation is None:
            self._read_extension(item)
            return
        self.engine.pacing.of(item.target.ref.subscription_id).reads.acquire()
        try:
            item.operation.poll()
        except VmAccessError as error:
            # The operation cannot be followed (its endpoint fails): follow the extension instead.
            item.tracking_error, item.operation = error, None
            return
        if item.operation.done:
            self._conclude(item, item.operation.error())

    def _conclude(self, item, op_error):
        """The operation ended: one read of the extension, and the verdict."""
        name = item.target.ref.name
        state = self.reader.get_extension(item.target.ref, item.plan.extension_name)
        item.extension = state or item.extension
        if op_error is None and (state is None or state.force_update_tag != item.plan.fingerprint.tag()):
            item.finish(from_error(foreign_tag_error(name)), self.clock())
            return
        item.finish(judge(name, state, op_error), self.clock())

    def _read_extension(self, item):
        """Follow by the extension itself: a run we found under way, or one whose operation failed us."""
        name = item.target.ref.name
        try:
            state = self.reader.get_extension(item.target.ref, item.plan.extension_name)
        except VmAccessError as error:
            if error.reason != "resource_not_found":
                raise
            state = None
        if state is None:
            item.finish(from_error(item.tracking_error or foreign_tag_error(name)), self.clock())
            return
        item.extension = state
        if state.in_progress:
            return
        if state.force_update_tag != item.plan.fingerprint.tag():
            item.finish(from_error(foreign_tag_error(name)), self.clock())
            return
        verdict = judge(name, state, item.tracking_error)
        if verdict.outcome == "changed" and not item.written:
            verdict.outcome = "ok"  # a run found under way finished well; this run changed nothing
        item.finish(verdict, self.clock())
