# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Naming a VM in ARM: its full id, or subscription + resource group + name, checked before any call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass
from typing import Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

_VM_ID_PATTERN = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)
_NAME_PATTERN = re.compile(r"^[^/\\?#\x00-\x1f]{1,90}$")


@dataclass(frozen=True)
class VmRef:
    """Where a VM lives: enough to address it in ARM."""

    subscription_id: Optional[str]
    resource_group: str
    name: str

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
            self.subscription_id, self.resource_group, self.name)

    def key(self):
        """Case-insensitive identity (ARM names are case-insensitive)."""
        return self.id.lower()


def parse_vm_id(vm_id):
    """Split a full ARM VM id; invalid ids are rejected before any API call."""
    match = _VM_ID_PATTERN.match((vm_id or "").strip())
    if not match:
        raise VmAccessError(
            "invalid_argument",
            "vm_id is not a virtual machine resource id. Expected "
            "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachines/<name>.",
        )
    return VmRef(match.group("sub"), match.group("rg"), match.group("name"))


def check_resource_name(value, option):
    if not _NAME_PATTERN.match(value or ""):
        raise VmAccessError(
            "invalid_argument",
            "%s must be 1 to 90 characters without '/', '\\', '?', '#' or control characters." % option,
        )
