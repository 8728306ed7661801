# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which VM a run acts on: from a module's options, or from an inventory host's variables.

Inventory hosts name their VM in either flavour:
- this collection's inventory plugin or a static inventory: ``vm_id``, or ``resource_group`` +
  ``vm_name`` (and optionally ``subscription_id``);
- azure.azcollection's ``azure_rm`` plugin: ``id``, or ``resource_group`` + ``name``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass
from typing import Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import (
    VmRef,
    check_resource_name,
    parse_vm_id,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

HOSTVAR_KEYS = ("vm_id", "id", "resource_group", "vm_name", "name", "subscription_id")


@dataclass
class VmTarget:
    """One VM to act on; ``error`` instead of ``ref`` when the host does not say which VM it is."""

    host: str
    ref: Optional[VmRef] = None
    error: Optional[VmAccessError] = None
    password: Optional[str] = None  # this VM's own password (generated), else the request's
    run_tag: Optional[str] = None  # this VM's own run tag (finishing an earlier run's reset), else the request's

    def __repr__(self):
        return "VmTarget(host=%r, ref=%r)" % (self.host, self.ref)


def target_from_options(vm_id=None, resource_group=None, vm_name=None, subscription_id=None):
    """A module's target: a full VM id, or resource group + name in ``subscription_id``."""
    if vm_id:
        ref = parse_vm_id(vm_id)
        return VmTarget(host=ref.name, ref=ref)
    check_resource_name(resource_group, "resource_group")
    check_resource_name(vm_name, "vm_name")
    return VmTarget(host=vm_name, ref=VmRef(subscription_id, resource_group, vm_name))


def target_from_hostvars(host, hostvars, default_subscription=None):
    """A VmTarget for ``host``; unresolvable hosts carry a ``vm_unresolved`` error instead."""
    vm_id = hostvars.get("vm_id") or hostvars.get("id")
    if isinstance(vm_id, str) and "/virtualmachines/" in vm_id.lower():
        try:
            return VmTarget(host=host, ref=parse_vm_id(vm_id))
        except VmAccessError as error:
            return VmTarget(host=host, error=error)
    group = hostvars.get("resource_group")
    name = hostvars.get("vm_name") or hostvars.get("name")
    subscription = hostvars.get("subscription_id") or default_subscription
    if isinstance(group, str) and group and isinstance(name, str) and name and subscription:
        return VmTarget(host=host, ref=VmRef(str(subscription), group, name))
    return VmTarget(host=host, error=VmAccessError(
        "vm_unresolved",
        "Host %s does not say which Azure VM it is: give it vm_id (or azure_rm's id), or resource_group and "
        "vm_name (or azure_rm's name), and a subscription (subscription_id hostvar or the auth subscription)."
        % host))
