# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which VM an inventory host is, from the hostvars of either inventory flavour.

- this collection's inventory plugin or a static inventory: ``vm_id``, or ``resource_group`` +
  ``vm_name`` (and optionally ``subscription_id``);
- azure.azcollection's ``azure_rm`` plugin: ``id``, or ``resource_group`` + ``name``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import string

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.fleet import FleetTarget
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import check_password
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_state import VmRef, parse_vm_id

GENERATED_PASSWORD_LENGTH = 24
# Punctuation that survives shells, YAML and RDP clients without quoting surprises.
_SPECIALS = "!#%*+-.:=?@^_~"


def target_from_hostvars(host, hostvars, default_subscription=None):
    """A FleetTarget for ``host``; unresolvable hosts carry a ``vm_unresolved`` error instead."""
    vm_id = hostvars.get("vm_id") or hostvars.get("id")
    if isinstance(vm_id, str) and "/virtualmachines/" in vm_id.lower():
        try:
            return FleetTarget(host=host, ref=parse_vm_id(vm_id))
        except VmAccessError as error:
            return FleetTarget(host=host, error=error)
    group = hostvars.get("resource_group")
    name = hostvars.get("vm_name") or hostvars.get("name")
    subscription = hostvars.get("subscription_id") or default_subscription
    if isinstance(group, str) and group and isinstance(name, str) and name and subscription:
        return FleetTarget(host=host, ref=VmRef(str(subscription), group, name))
    return FleetTarget(host=host, error=VmAccessError(
        "vm_unresolved",
        "Host %s does not say which Azure VM it is: give it vm_id (or azure_rm's id), or resource_group and "
        "vm_name (or azure_rm's name), and a subscription (subscription_id hostvar or the auth subscription)."
        % host))


def generate_password(length=GENERATED_PASSWORD_LENGTH):
    """A random password meeting Azure's rules: every character class, from the OS's CSPRNG."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, _SPECIALS]
    alphabet = "".join(classes)
    rng = secrets.SystemRandom()
    while True:
        chars = [secrets.choice(c) for c in classes]
        chars += [secrets.choice(alphabet) for _i in range(length - len(chars))]
        rng.shuffle(chars)
        password = "".join(chars)
        try:
            check_password(password)
            return password
        except VmAccessError:
            continue  # vanishingly rare (a disallowed word); draw again
