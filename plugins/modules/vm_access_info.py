#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_access_info
short_description: Report where Azure VMs stand for a VMAccess reset
version_added: 0.1.0
description:
  - Read-only. For one VM (by name or id), every VM of a resource group, or every VM of a subscription, reports the
    OS type, power state, VM agent status and version, administrator name, and the VMAccessAgent instance - its name,
    version, provisioning state, last status message, whether its last run succeeded and the kind of reset
    fingerprint it carries. Never anything secret.
  - A resource group or subscription is read with one paged list call with instance views, not one call per VM.
author:
  - azure_ops.vm_access contributors (@azure-ops)
requirements:
  - python >= 3.9
  - azure-identity >= 1.15.0
  - azure-mgmt-compute >= 30.0.0
options:
  resource_group:
    description:
      - Resource group to report on. With O(vm_name), only that VM.
    type: str
  vm_name:
    description:
      - One VM to report on (needs O(resource_group)).
    type: str
    aliases: [name]
  vm_id:
    description:
      - Full ARM id of one VM to report on.
    type: str
  os_type:
    description:
      - Report only VMs of this OS type. By default, all.
    type: str
    choices: [Windows, Linux]
extends_documentation_fragment:
  - azure_ops.vm_access.azure_auth
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: The module returns no diff; it changes nothing.
  idempotent:
    support: full
    description: Read-only; running it again with the same arguments reports no change.
  action_group:
    support: full
    membership: [azure_ops.vm_access.azure]
    description: Use C(group/azure_ops.vm_access.azure) in C(module_defaults) to set defaults for this module.
notes:
  - Without O(resource_group) and O(vm_id) it reports every VM of the subscription.
  - Needs only C(Microsoft.Compute/virtualMachines/read) (the built-in Reader role is enough).
seealso:
  - module: azure_ops.vm_access.vm_access_reset
"""

EXAMPLES = r"""
- name: Where does one VM stand?
  azure_ops.vm_access.vm_access_info:
    resource_group: rg-web
    vm_name: web-001
  register: web001

- name: Every Windows VM of a resource group, in one list call
  azure_ops.vm_access.vm_access_info:
    resource_group: rg-web
    os_type: Windows
  register: rg_web

- name: Names of the VMs whose last VMAccess run failed
  ansible.builtin.debug:
    msg: "{{ rg_web.vms | rejectattr('vmaccess', 'none') | selectattr('vmaccess.last_run_succeeded', 'false')
             | map(attribute='name') | list }}"
"""

RETURN = r"""
vms:
  description: One entry per VM.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: ARM id., type: str, returned: always}
    name: {description: VM name., type: str, returned: always}
    resource_group: {description: Resource group., type: str, returned: always}
    subscription_id: {description: Subscription., type: str, returned: always}
    location: {description: Region., type: str, returned: always}
    os_type: {description: C(Windows) or C(Linux)., type: str, returned: always}
    power_state: {description: 'For example C(running), C(stopped), C(deallocated).', type: str, returned: always}
    agent_status: {description: 'VM agent status, for example C(Ready) or C(Not Ready).', type: str, returned: always}
    agent_version: {description: VM agent version., type: str, returned: always}
    admin_username: {description: Administrator name., type: str, returned: always}
    vmaccess:
      description: The VMAccessAgent instance, or null when the VM has none.
      type: dict
      returned: always
      contains:
        name: {description: Instance name., type: str, returned: always}
        type_handler_version: {description: Handler version., type: str, returned: always}
        provisioning_state: {description: Provisioning state., type: str, returned: always}
        status_message: {description: Last status message., type: str, returned: always}
        last_run_succeeded: {description: Whether the last run succeeded., type: bool, returned: always}
        fingerprint_kind: {description: 'C(password), C(rdp), C(random), C(foreign) or C(none).', type: str, returned: always}
  sample: [{"name": "web-001", "os_type": "Windows", "power_state": "running", "agent_status": "Ready",
            "vmaccess": {"name": "enablevmaccess", "provisioning_state": "Succeeded", "last_run_succeeded": true}}]
count:
  description: Number of VMs reported.
  returned: always
  type: int
  sample: 12
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils.module_runtime import (
    AUTH_ARGSPEC,
    new_module,
    run_module,
    target_vm,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_state import (
    VmRef,
    check_resource_name,
    parse_vm,
)


def argument_spec():
    spec = dict(
        resource_group=dict(type="str"),
        vm_name=dict(type="str", aliases=["name"]),
        vm_id=dict(type="str"),
        os_type=dict(type="str", choices=["Windows", "Linux"]),
    )
    spec.update(AUTH_ARGSPEC)
    return spec


def vm_report(vm):
    report = vm.public()
    report["vmaccess"] = vm.extension.public() if vm.extension else None
    return report


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("vm_id", "resource_group"), ("vm_id", "vm_name")],
        required_by={"vm_name": "resource_group"},
    )
    params = module.params
    target = {"ref": None, "subscription": None}

    def validate():
        if params["vm_id"] or params["vm_name"]:
            target["ref"], target["subscription"] = target_vm(params)
        elif params["resource_group"]:
            check_resource_name(params["resource_group"], "resource_group")

    def work(api, subscription_id):
        if target["ref"] is not None:
            ref = VmRef(subscription_id, target["ref"].resource_group, target["ref"].name)
            vms = [parse_vm(api.get_vm(ref), ref)]
        else:
            vms = [parse_vm(doc) for doc in api.list_vms(params["resource_group"])]
        if params["os_type"]:
            vms = [vm for vm in vms if (vm.os_type or "").lower() == params["os_type"].lower()]
        reports = [vm_report(vm) for vm in vms]
        return {"changed": False, "vms": reports, "count": len(reports)}

    run_module(module, validate=validate, work=work, subscription_id=lambda: target["subscription"])


if __name__ == "__main__":
    main()
