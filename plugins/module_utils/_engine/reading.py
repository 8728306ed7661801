# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the VMs of a run the cheapest way Azure's real answers allow, within the read budget.

- Few VMs in a subscription: one GET each (``$expand=instanceView``), which carries everything,
  the VMAccess instance's tag included.
- Many: two list passes per subscription, merged by id (AZURE_VMACCESS_FACTS.md §8.1): a plain
  list (the model; extensions as bare ids) of the resource groups concerned, or of the whole
  subscription when they are many, and one ``statusOnly=true`` pass (power, agent and each
  extension's last status; no model, no tag). A VM missing from the status pass, or without a
  power state, is read on its own: an unknown power state is never taken for a stopped VM.
- The tag, which lists never carry, is read per VM only where it is needed: for a VM that holds
  a VMAccess instance (or an extension the lists cannot name) and is about to be planned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import (
    find_vmaccess_model,
    merge_vm_documents,
    parse_extension,
    parse_vm,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.listing import model_pass, status_pass
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# From this many VMs in a subscription, list passes replace per-VM GETs.
LIST_THRESHOLD = 8
# From this many resource groups, the plain pass lists the whole subscription instead.
MAX_GROUP_LISTINGS = 3


class Reader:
    """``api_for(subscription_id)`` gives a ComputeApi; ``pacing`` holds each subscription's budgets."""

    def __init__(self, api_for, pacing, pool, list_threshold=LIST_THRESHOLD):
        self.api_for = api_for
        self.pacing = pacing
        self.pool = pool
        self.list_threshold = list_threshold
        self._status_pages = {}
        self._lock = threading.Lock()
        self.requests = 0

    # -- single reads (paced) ---------------------------------------------------------------
    def _paced(self, subscription_id):
        self.pacing.of(subscription_id).reads.acquire()
        with self._lock:
            self.requests += 1

    def read_vm(self, ref):
        self._paced(ref.subscription_id)
        return parse_vm(self.api_for(ref.subscription_id).get_vm(ref), ref)

    def read_extension(self, vm):
        """The VMAccess instance with its model (tag, settings, version) and instance view, or None."""
        existing = vm.extension
        if existing is not None and existing.has_model:
            return existing
        api = self.api_for(vm.ref.subscription_id)
        if existing is not None:
            self._paced(vm.ref.subscription_id)
            try:
                return parse_extension(api.get_extension(vm.ref, existing.name))
            except VmAccessError as error:
                if error.reason == "resource_not_found":
                    return None  # removed since the list was read
                raise
        if vm.unidentified_extensions:
            self._paced(vm.ref.subscription_id)
            return parse_extension(find_vmaccess_model(api.list_extensions(vm.ref)))
        return None

    def get_extension(self, ref, name):
        self._paced(ref.subscription_id)
        return parse_extension(self.api_for(ref.subscription_id).get_extension(ref, name))

    # -- many VMs -------------------------------------------------------------------------
    def read_vms(self, refs):
        """{ref.key(): VmState or VmAccessError} for every ref."""
        found = {}
        by_subscription = {}
        for ref in refs:
            by_subscription.setdefault(ref.subscription_id.lower(), []).append(ref)
        singles = []
        for members in by_subscription.values():
            if len(members) < self.list_threshold:
                singles.extend(members)
            else:
                singles.extend(self._read_by_lists(members, found))
        for ref, outcome in zip(singles, self.pool.map(self._read_or_error, singles)):
            found[ref.key()] = outcome
        return found

    def _read_or_error(self, ref):
        try:
            return self.read_vm(ref)
        except VmAccessError as error:
            return error

    def _read_by_lists(self, members, found):
        """Fill ``found`` from the two list passes; returns the refs that need a GET of their own."""
        subscription_id = members[0].subscription_id
        models, failures = self._model_pass(subscription_id, members)
        try:
            statuses = self.status_pass(subscription_id)
        except VmAccessError:
            statuses = {}  # read each VM on its own instead
        singles = []
        for ref in members:
            key = ref.key()
            if key not in models:
                found[key] = failures.get(ref.resource_group.lower()) or VmAccessError(
                    "vm_not_found", "No VM %s in resource group %s of subscription %s; check the inventory."
                    % (ref.name, ref.resource_group, ref.subscription_id))
                continue
            status = statuses.get(key)
            if status is None:
                singles.append(ref)
                continue
            try:
                vm = parse_vm(merge_vm_documents(models[key], status), ref)
            except VmAccessError as error:
                found[key] = error
                continue
            if vm.power_state is None:
                singles.append(ref)  # never guess a power state
            else:
                found[key] = vm
        return singles

    def _model_pass(self, subscription_id, members):
        groups = sorted(set(ref.resource_group.lower() for ref in members))
        scope = groups if len(groups) <= MAX_GROUP_LISTINGS else None
        try:
            return model_pass(self.api_for(subscription_id), scope, before_page=lambda: self._paced(subscription_id))
        except VmAccessError as error:
            return {}, dict((group, error) for group in groups)

    def status_pass(self, subscription_id):
        """{vm id (lower): statusOnly document} for the subscription; remembers its page count."""
        statuses, pages = status_pass(self.api_for(subscription_id), before_page=lambda: self._paced(subscription_id))
        with self._lock:
            self._status_pages[subscription_id.lower()] = pages
        return statuses

    def status_pass_cost(self, subscription_id):
        """Requests one status pass of the subscription takes, or None if it was never listed."""
        return self._status_pages.get(subscription_id.lower())
