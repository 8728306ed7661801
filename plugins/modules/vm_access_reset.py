#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_access_reset
short_description: Reset the administrator password or the Remote Desktop configuration of a Windows Azure VM
version_added: 0.1.0
description:
  - Gets people back into a Windows virtual machine on Azure through the VMAccess extension
    (publisher C(Microsoft.Compute), type C(VMAccessAgent)), from outside the guest.
  - O(reset=password) sets a new password on the local administrator account (by default the VM's own
    administrator, read from the VM), and enables the account if it was disabled.
    O(reset=rdp) re-enables Remote Desktop and its firewall rule without touching any account.
  - Idempotent. Azure never returns protected settings and reruns the extension only when its settings or
    C(forceUpdateTag) change, so the module stores a reset fingerprint in C(forceUpdateTag) and compares it
    on the next run. For passwords the fingerprint is a slow salted scrypt hash (salted with the VM id, the user
    name and O(run_tag)), never the password. For RDP it is O(run_tag).
  - Before any API call the module rejects invalid input, including user names and passwords that break Azure's
    rules, so a weak password never leaves the controller. A single VM read then checks that the VM runs Windows,
    is running, allows extension operations and has a ready VM agent (waiting a bounded time for an agent that is
    still starting).
  - Reuses the existing VMAccessAgent instance of the VM whatever its name (a VM may hold only one), and its
    handler version when higher than C(2.4).
  - After the long-running operation ends, the result is read from the extension's instance view, which is what
    actually ran in the guest; a failed run fails the task with the extension's own message.
  - Runs on the controller (use C(delegate_to=localhost) when targeting inventory hosts of VMs).
author:
  - azure_ops.vm_access contributors (@azure-ops)
requirements:
  - python >= 3.9
  - azure-identity >= 1.15.0
  - azure-mgmt-compute >= 30.0.0
options:
  reset:
    description:
      - What to reset. V(password) resets the password of O(username); V(rdp) resets the Remote Desktop
        configuration (enables RDP and its firewall rule).
    type: str
    required: true
    choices: [password, rdp]
  resource_group:
    description:
      - Resource group of the VM. Use with O(vm_name), or give O(vm_id) instead.
    type: str
  vm_name:
    description:
      - Name of the VM. Use with O(resource_group), or give O(vm_id) instead.
    type: str
    aliases: [name]
  vm_id:
    description:
      - Full ARM resource id of the VM, as inventories expose it. Its subscription wins over O(subscription_id).
    type: str
  username:
    description:
      - Account whose password is reset. Defaults to the VM's administrator (C(osProfile.adminUsername)).
      - A different name makes VMAccess create another administrator account (or, on old extension builds,
        rename the administrator); the module refuses that unless O(allow_new_admin=true).
      - Only with O(reset=password).
    type: str
  password:
    description:
      - The new password. 12 to 123 characters with three of lower case, upper case, digit and special
        character; not one of Azure's disallowed passwords; must not contain the user name.
      - Required with O(reset=password). Never logged, returned or shown in a diff.
    type: str
  allow_new_admin:
    description:
      - Allow O(username) to differ from the VM's administrator, which creates another administrator account.
    type: bool
    default: false
  update_password:
    description:
      - V(on_change) resets only when the password (fingerprint) differs from the last successful reset.
      - V(always) resets every time.
    type: str
    default: on_change
    choices: [always, on_change]
  run_tag:
    description:
      - A label for this reset, such as a ticket number or the AWX job id. For O(reset=rdp) it is the
        idempotency key; a new value makes the reset run again. Without it an RDP reset always runs.
      - For O(reset=password) it salts the fingerprint, so a new value reruns the same password.
      - 1 to 64 characters from letters, digits and C(. _ @ + / = -).
    type: str
  force:
    description:
      - Run the reset even when the same reset already succeeded.
    type: bool
    default: false
  extension_name:
    description:
      - Name for a new VMAccessAgent instance. Ignored (with a warning) when the VM already has one.
    type: str
    default: enablevmaccess
  type_handler_version:
    description:
      - Handler version to request. By default C(2.4), or the version already on the VM when higher.
    type: str
  require_agent_ready:
    description:
      - Require the VM agent to report Ready before the reset. When it does not, the module re-reads the VM for
        up to O(agent_wait_timeout) seconds, then fails with reason C(agent_not_ready).
    type: bool
    default: true
  agent_wait_timeout:
    description:
      - Seconds to wait for a VM agent that reports Not Ready (as it does for a few minutes after a start).
    type: int
    default: 300
  wait:
    description:
      - Wait for the extension to finish and verify it. With V(false) the module returns once Azure has accepted
        the change; a later run (or M(azure_ops.vm_access.vm_access_info)) reports the outcome.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the extension run. On expiry the task fails with reason C(operation_timeout);
        the extension may still finish, and a later run picks it up instead of repeating it.
    type: int
    default: 1200
extends_documentation_fragment:
  - azure_ops.vm_access.azure_auth
attributes:
  check_mode:
    support: full
    description: Reads the VM and reports what would change; makes no write.
  diff_mode:
    support: full
    description: Shows the extension's name, version, public settings and fingerprint kind; a password shows as C(<changed>).
  idempotent:
    support: partial
    description: Whether running the module again with the same arguments reports no change.
    details:
      - Password resets compare a fingerprint of the requested password with the last successful reset; a password
        changed inside the guest since then is not detected.
      - RDP resets are idempotent per O(run_tag); without O(run_tag) they always run.
  action_group:
    support: full
    membership: [azure_ops.vm_access.azure]
    description: Use C(group/azure_ops.vm_access.azure) in C(module_defaults) to set defaults for this module.
notes:
  - VMAccess does not support domain controllers.
  - VMAccess grants administrator rights to the account it resets, and enables it when disabled.
  - If the Microsoft Entra login extension is installed, run it again after a reset.
  - Azure permissions needed - C(Microsoft.Compute/virtualMachines/read),
    C(Microsoft.Compute/virtualMachines/extensions/read), C(Microsoft.Compute/virtualMachines/extensions/write) and
    C(Microsoft.Compute/locations/operations/read) (the built-in role Virtual Machine Contributor has them).
seealso:
  - module: azure_ops.vm_access.vm_access_info
"""

EXAMPLES = r"""
- name: Re-enable Remote Desktop, once per ticket
  azure_ops.vm_access.vm_access_reset:
    resource_group: rg-web
    vm_name: web-001
    reset: rdp
    run_tag: INC0012345

- name: Reset the built-in administrator's password (from vault)
  azure_ops.vm_access.vm_access_reset:
    vm_id: "{{ vm_id }}"
    reset: password
    password: "{{ vault_admin_password }}"
  no_log: true

- name: Create a break-glass administrator (explicitly allowed)
  azure_ops.vm_access.vm_access_reset:
    resource_group: rg-web
    vm_name: web-001
    reset: password
    username: breakglass
    password: "{{ vault_breakglass_password }}"
    allow_new_admin: true
  no_log: true

- name: Start resets on many VMs without waiting, then check them later
  azure_ops.vm_access.vm_access_reset:
    resource_group: "{{ resource_group }}"
    vm_name: "{{ inventory_hostname }}"
    reset: rdp
    run_tag: "{{ awx_job_id | default('manual') }}"
    wait: false
  delegate_to: localhost

- name: Share authentication through the action group
  module_defaults:
    group/azure_ops.vm_access.azure:
      auth_source: env
      cloud_environment: AzureCloud
  block:
    - name: Reset RDP
      azure_ops.vm_access.vm_access_reset:
        resource_group: rg-web
        vm_name: web-002
        reset: rdp
"""

RETURN = r"""
action:
  description: What the run did - V(created) a new VMAccess instance, V(updated) its settings or version,
    V(rerun) it with a new fingerprint, V(none), or V(wait) for the same reset already running.
  returned: always
  type: str
  sample: rerun
why:
  description: Why the action was chosen.
  returned: success
  type: str
  sample: run_tag
username:
  description: The account whose password was reset (password resets only).
  returned: success
  type: str
  sample: azureadmin
vm:
  description: The VM as the pre-flight saw it.
  returned: when the VM could be read
  type: dict
  contains:
    id: {description: ARM id of the VM., type: str, returned: always}
    name: {description: VM name., type: str, returned: always}
    resource_group: {description: Resource group., type: str, returned: always}
    subscription_id: {description: Subscription., type: str, returned: always}
    location: {description: Azure region., type: str, returned: always}
    os_type: {description: C(Windows) or C(Linux)., type: str, returned: always}
    power_state: {description: Power state such as C(running) or C(deallocated)., type: str, returned: always}
    agent_status: {description: VM agent status such as C(Ready) or C(Not Ready)., type: str, returned: always}
    agent_version: {description: VM agent version., type: str, returned: always}
    admin_username: {description: The VM's administrator name., type: str, returned: always}
  sample: {"name": "web-001", "os_type": "Windows", "power_state": "running", "agent_status": "Ready"}
extension:
  description: The VMAccessAgent instance after the run (before it, in check mode). Never holds protected settings.
  returned: when the VM has or gets a VMAccess instance
  type: dict
  contains:
    name: {description: Instance name., type: str, returned: always}
    type_handler_version: {description: Requested handler version., type: str, returned: always}
    running_version: {description: Version reported by the instance view., type: str, returned: always}
    provisioning_state: {description: 'C(Succeeded), C(Failed), C(Creating), C(Updating).', type: str, returned: always}
    status_code: {description: Instance view status code., type: str, returned: always}
    status_level: {description: 'C(Info), C(Warning) or C(Error).', type: str, returned: always}
    status_message: {description: The extension's own message., type: str, returned: always}
    substatuses: {description: Instance view substatuses., type: list, elements: dict, returned: always}
    fingerprint_kind: {description: 'C(password), C(rdp), C(random), C(foreign) or C(none).', type: str, returned: always}
    last_run_succeeded: {description: Whether the last run succeeded., type: bool, returned: always}
  sample: {"name": "enablevmaccess", "provisioning_state": "Succeeded", "fingerprint_kind": "rdp"}
duration_s:
  description: Seconds the module spent.
  returned: success
  type: float
  sample: 74.2
reason:
  description: Stable code of the failure, for example C(vm_not_running), C(agent_not_ready), C(extension_failed),
    C(invalid_password), C(authentication_failed), C(authorization_failed), C(throttled), C(operation_timeout).
  returned: failure
  type: str
  sample: vm_not_running
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils.reset_args import reset_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils.module_runtime import (
    AUTH_ARGSPEC,
    new_module,
    run_module,
    target_vm,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_access import ResetRequest, check_request, reset_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_state import VmRef


def argument_spec():
    spec = dict(
        reset=dict(type="str", required=True, choices=["password", "rdp"]),
        resource_group=dict(type="str"),
        vm_name=dict(type="str", aliases=["name"]),
        vm_id=dict(type="str"),
        type_handler_version=dict(type="str"),
    )
    spec.update(reset_options(wait_timeout=1200))
    spec.update(AUTH_ARGSPEC)
    return spec


def request_from(params):
    return ResetRequest(
        reset=params["reset"],
        username=params["username"],
        password=params["password"],
        run_tag=params["run_tag"],
        force=params["force"],
        update_password=params["update_password"],
        allow_new_admin=params["allow_new_admin"],
        extension_name=params["extension_name"],
        type_handler_version=params["type_handler_version"],
        require_agent_ready=params["require_agent_ready"],
    )


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("vm_id", "resource_group"), ("vm_id", "vm_name")],
        required_one_of=[("vm_id", "vm_name")],
        required_together=[("resource_group", "vm_name")],
        required_if=[("reset", "password", ("password",))],
    )

    request = request_from(module.params)
    target = {}

    def validate():
        target["ref"], target["subscription"] = target_vm(module.params)
        check_request(request)

    def work(api, subscription_id):
        ref = target["ref"]
        ref = VmRef(subscription_id, ref.resource_group, ref.name)
        options = dict(
            wait=module.params["wait"],
            wait_timeout=module.params["wait_timeout"],
            agent_wait_timeout=module.params["agent_wait_timeout"],
        )
        return reset_vm(api, ref, request, check_mode=module.check_mode, runner_options=options)

    run_module(module, validate=validate, work=work, secrets=[module.params["password"]],
               subscription_id=lambda: target.get("subscription"))


if __name__ == "__main__":
    main()
