# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two list passes that together describe many VMs (AZURE_VMACCESS_FACTS.md §8.1).

A plain list carries each VM's model (profiles, tags, extensions as bare ids); a ``statusOnly``
list of the subscription carries each VM's instance view and nothing else. Neither alone says
both what a VM is and how it is, so readers merge them by id (case-insensitively).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import merge_vm_documents
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


def _by_id(docs):
    return dict((doc["id"].lower(), doc) for doc in docs if isinstance(doc, dict) and isinstance(doc.get("id"), str))


def model_pass(api, resource_groups=None, before_page=None):
    """{vm id: model document} of the given resource groups (each listed on its own), or of the whole
    subscription (None); and {resource group (lower): VmAccessError} for groups that could not be listed."""
    models, failures = {}, {}
    for group in resource_groups or [None]:
        try:
            models.update(_by_id(api.list_vms(group, before_page=before_page).docs))
        except VmAccessError as error:
            if group is None:
                raise
            failures[group.lower()] = error
    return models, failures


def status_pass(api, before_page=None):
    """({vm id: statusOnly document} of the subscription, the number of pages it took)."""
    listing = api.list_vms(status_only=True, before_page=before_page)
    return _by_id(listing.docs), listing.pages


def merged_documents(models, statuses):
    """Model and status documents joined by id: every VM of ``models``, with its instance view where known."""
    return [merge_vm_documents(doc, statuses.get(key)) for key, doc in models.items()]
