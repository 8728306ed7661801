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
  - One VM is read with one GET. A resource group or a subscription is read with two paged list passes, not one
    call per VM - its plain list (what each VM is) and the subscription's C(statusOnly) list (how each VM is - Azure
    gives instance views in lists only that way, for the whole subscription) - merged by VM id.
  - Lists carry each VM's extensions without their settings or reset fingerprint, so C(vmaccess.fingerprint_kind)
    and C(vmaccess.type_handler_version) are null there, unless O(read_fingerprints=true) reads them (one request
    per VM that holds a VMAccess instance).
author:
  - azure_ops.vm_access contributors (@azure-ops)
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
  read_fingerprints:
    description:
      - For listings, also read each VMAccess instance itself (one request per VM that holds one), to report its
        requested version, settings and fingerprint kind, which lists do not carry.
    type: bool
    default: false
extends_documentation_fragment:
  - azure_ops.vm_access.azure_auth
  - azure_ops.vm_access.action_group
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
        name:
          description: The instance's name (C(enablevmaccess) when the portal or the CLI created it).
          type: str
          returned: always
        type_handler_version:
          description: The requested major.minor version; null when only a list was read.
          type: str
          returned: always
        running_version:
          description: The build the guest runs, from the instance view (for example C(2.4.11)).
          type: str
          returned: always
        provisioning_state:
          description: C(Succeeded), C(Failed), C(Creating) or C(Updating), from the model or the last status.
          type: str
          returned: always
        status_message:
          description: What the guest last reported.
          type: str
          returned: always
        last_run_succeeded:
          description: Whether the last run succeeded.
          type: bool
          returned: always
        fingerprint_kind:
          description: C(password), C(rdp), C(random), C(foreign) or C(none); null when only a list was read.
          type: str
          returned: always
  sample: [{"name": "web-001", "os_type": "Windows", "power_state": "running", "agent_status": "Ready",
            "vmaccess": {"name": "enablevmaccess", "provisioning_state": "Succeeded", "last_run_succeeded": true}}]
count:
  description: Number of VMs reported.
  returned: always
  type: int
  sample: 12
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_extension, parse_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.listing import (
    merged_documents,
    model_pass,
    status_pass,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef, check_resource_name
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import AZURE_AUTH_ARGSPEC
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.views import extension_view, vm_view
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import TARGET_EXCLUSIVE, TARGET_OPTIONS
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.module_runtime import (
    connect,
    new_module,
    run_module,
)


def argument_spec():
    spec = dict(TARGET_OPTIONS, os_type=dict(type="str", choices=["Windows", "Linux"]),
                read_fingerprints=dict(type="bool", default=False))
    spec.update(AZURE_AUTH_ARGSPEC)
    return spec


def vm_report(vm):
    report = vm_view(vm)
    report["vmaccess"] = extension_view(vm.extension)
    return report


def read_vms(session, params):
    """The VMs asked for: one GET, or the two list passes of a resource group or subscription."""
    if params["vm_id"] or params["vm_name"]:
        ref = target_from_options(params["vm_id"], params["resource_group"], params["vm_name"]).ref
        ref = VmRef(session.subscription_for(ref.subscription_id), ref.resource_group, ref.name)
        api = session.api(ref.subscription_id)
        return [parse_vm(api.get_vm(ref), ref)], api
    api = session.api()
    groups = [params["resource_group"]] if params["resource_group"] else None
    models, failures = model_pass(api, groups)
    if failures:
        raise next(iter(failures.values()))
    statuses, _pages = status_pass(api)
    return [parse_vm(doc) for doc in merged_documents(models, statuses)], api


def main():
    # Read-only: check mode is the same run.
    module = new_module(AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True,
                        mutually_exclusive=TARGET_EXCLUSIVE, required_by={"vm_name": "resource_group"})
    params = module.params

    def work(_pacing):
        if params["vm_id"] or params["vm_name"]:
            target_from_options(params["vm_id"], params["resource_group"], params["vm_name"])  # before any call
        elif params["resource_group"]:
            check_resource_name(params["resource_group"], "resource_group")
        vms, api = read_vms(connect(module), params)
        if params["os_type"]:
            vms = [vm for vm in vms if (vm.os_type or "").lower() == params["os_type"].lower()]
        if params["read_fingerprints"]:
            for vm in vms:
                if vm.extension is not None and not vm.extension.has_model:
                    vm.extension = parse_extension(api.get_extension(vm.ref, vm.extension.name)) or vm.extension
        reports = [vm_report(vm) for vm in vms]
        return {"changed": False, "vms": reports, "count": len(reports)}

    run_module(module, work)


if __name__ == "__main__":
    main()
