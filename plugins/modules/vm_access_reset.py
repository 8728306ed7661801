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
    rules, so a weak password never leaves the controller. One read of the VM then checks that it runs Windows,
    is running, allows extension operations and has a VM agent that is not down.
  - Reuses the existing VMAccessAgent instance of the VM whatever its name (a VM may hold only one), and its
    handler version when higher than C(2.4).
  - After the long-running operation ends, the result is read from the extension's instance view, which is what
    actually ran in the guest; a failed run fails the task with the operation's error or the extension's message.
  - The same engine as the fleet path (M(azure_ops.vm_access.vm_access_fleet)), with one VM - the same request,
    decisions, reason codes and messages.
  - The password can come from Azure Key Vault (O(password_secret)) or be generated into it (O(generate_password)),
    with the pending/active protocol of the collection's rotation - see O(key_vault_url).
  - Runs on the controller (use C(delegate_to=localhost) when targeting inventory hosts of VMs).
author:
  - azure_ops.vm_access contributors (@azure-ops)
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
  type_handler_version:
    description:
      - Handler version to request, as major.minor (for example V(2.4)). By default C(2.4), or the version already
        on the VM when higher. Azure picks the build (such as 2.4.11); a build cannot be requested.
    type: str
  wait_timeout:
    description:
      - Seconds to wait for the extension run. On expiry the task fails with reason C(operation_timeout);
        the extension may still finish, and a later run picks it up instead of repeating it.
    type: int
    default: 1200
  generate_password:
    description:
      - Generate a new random password (Python's C(secrets), within Azure's rules) and keep it in O(key_vault_url)
        as a new version of the VM's secret, written C(pending) before the reset and made C(active) once it succeeded
        in the guest. The password is never returned; the result's RV(key_vault) names the secret and version.
      - With O(rotation_max_age_days), only when the VM is due.
    type: bool
    default: false
  password_secret:
    description:
      - Without O(generate_password), the Key Vault secret in O(key_vault_url) whose value is the new password
        (version O(password_secret_version), default the latest). The version follows the same protocol - tagged
        C(pending) before the reset, then C(active) or C(failed) (its other tags are kept) - unless it already is
        this VM's C(active) version. A version tagged for another VM is refused (reason C(secret_conflict)).
      - With O(generate_password), the name of the secret to keep the new password in, instead of the VM's default
        C(vmaccess-<VM name>-<hash>).
    type: str
  password_secret_version:
    description:
      - The version of O(password_secret) to use (32 hexadecimal digits). Default the latest version.
    type: str
extends_documentation_fragment:
  - azure_ops.vm_access.key_vault
  - azure_ops.vm_access.reset
  - azure_ops.vm_access.azure_auth
  - azure_ops.vm_access.action_group
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
notes:
  - VMAccess does not support domain controllers.
  - VMAccess grants administrator rights to the account it resets, and enables it when disabled.
  - If the Microsoft Entra login extension is installed, run it again after a reset.
  - A failure after Azure accepted the change reports C(changed=true), because the extension was written.
  - With O(key_vault_url), the optional Python package C(azure-keyvault-secrets) and, on the vault, the role Key
    Vault Secrets Officer (or the secret permissions get, list and set of an access policy).
  - Azure permissions needed - C(Microsoft.Compute/virtualMachines/read),
    C(Microsoft.Compute/virtualMachines/extensions/read), C(Microsoft.Compute/virtualMachines/extensions/write) and
    C(Microsoft.Compute/locations/operations/read) (the built-in role Virtual Machine Contributor has them).
seealso:
  - module: azure_ops.vm_access.vm_access_info
  - module: azure_ops.vm_access.vm_access_fleet
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

- name: A new generated password, kept in Key Vault (rotated only when the last one is 30 days old)
  azure_ops.vm_access.vm_access_reset:
    vm_id: "{{ vm_id }}"
    reset: password
    generate_password: true
    key_vault_url: kv-prod-passwords           # or https://kv-prod-passwords.vault.azure.net
    rotation_max_age_days: 30
  register: reset                              # reset.key_vault: secret name, version, state; never the value

- name: Set the password kept in a Key Vault secret (its latest version)
  azure_ops.vm_access.vm_access_reset:
    resource_group: rg-web
    vm_name: web-001
    reset: password
    key_vault_url: https://kv-prod-passwords.vault.azure.net
    password_secret: web-001-admin

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
key_vault:
  description: The VM's password in Key Vault (with O(key_vault_url)); never the password itself.
  returned: when O(key_vault_url) is set
  type: dict
  contains:
    vault_url: {description: The vault's URL., type: str, returned: always}
    secret_name: {description: The secret., type: str, returned: always}
    version: {description: The version this run used (or the active one when the rotation was not due)., type: str, returned: always}
    state:
      description: Its state after the run - C(active), C(pending) (outcome unknown; the next run finishes it) or C(failed).
      type: str
      returned: always
    active_version: {description: The newest C(active) version after the run - the password that works., type: str, returned: always}
    previous_active_version: {description: 'The newest C(active) version before the run, when it differs.', type: str, returned: always}
    rotation: {description: Why the VM was (or was not) due., type: str, returned: always}
    note: {description: What a C(pending) or C(failed) state means for this run., type: str, returned: always}
  sample: {"secret_name": "vmaccess-web-001-3f9a1c0b7d2e", "version": "0b9c...", "state": "active",
           "active_version": "0b9c...", "previous_active_version": "77e1..."}
duration_s:
  description: Seconds the module spent.
  returned: success
  type: float
  sample: 74.2
reason:
  description: Stable code of the failure, for example C(vm_not_running), C(agent_not_ready), C(extension_failed),
    C(invalid_password), C(authentication_failed), C(authorization_failed), C(throttled), C(operation_timeout),
    C(key_vault_error), C(key_vault_forbidden), C(secret_not_found), C(secret_conflict).
  returned: failure
  type: str
  sample: vm_not_running
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import ResetEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.passwords import generate_password
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import (
    TARGET_EXCLUSIVE,
    engine_options,
    module_argument_spec,
    reset_request,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.key_vault import (
    check_module_options,
    open_store,
    plan_module,
    settle_results,
    uses_key_vault,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.module_runtime import (
    connect,
    new_module,
    run_module,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import secret_spellings

# What the task returns of the engine's result for its one VM.
RESULT_KEYS = ("changed", "action", "why", "username", "vm", "extension", "diff", "warnings", "key_vault")


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=module_argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=TARGET_EXCLUSIVE,
        required_one_of=[("vm_id", "vm_name")],
        required_together=[("resource_group", "vm_name")],
        required_if=[("reset", "password", ("password", "key_vault_url"), True)],
    )
    params = module.params

    def work(pacing):
        check_module_options(params)  # before any API call
        request = reset_request(params)
        key_vault = uses_key_vault(params)
        if key_vault:
            request.password = generate_password()  # a valid stand-in: the VM's own comes from Key Vault
        check_request(request)
        target = target_from_options(params["vm_id"], params["resource_group"], params["vm_name"])
        session = connect(module, pacing)
        ref = target.ref
        target.ref = VmRef(session.subscription_for(ref.subscription_id), ref.resource_group, ref.name)
        store = None
        if key_vault:
            store = open_store(session, params, module.check_mode)
            held = plan_module(store, params, target, request)
            module.no_log_values.update(secret_spellings([target.password]))
            if held is not None:  # rotation not due, or the secret could not be read: no VM call
                result = dict(changed=False, action="none", why=held.msg, msg=held.msg, key_vault=store.report(target.host))
                if held.outcome == "failed":
                    result.update(failed=True, reason=held.reason, msg=held.msg, details=held.details)
                return result
        engine = ResetEngine(session.api, request, engine_options(params, module.check_mode), pacing=pacing,
                             before_submit=store.before_submit if store is not None else None)
        outcome = engine.run([target])[0]
        if store is not None:
            outcome = settle_results(store, [outcome], waited=params["wait"])[0]
        result = dict((key, outcome[key]) for key in RESULT_KEYS if key in outcome)
        if outcome["outcome"] in ("failed", "skipped"):
            result.update(failed=True, reason=outcome["reason"], msg=outcome["msg"], details=outcome["details"])
        elif store is not None:
            result["msg"] = outcome["msg"]
        return result

    run_module(module, work)


if __name__ == "__main__":
    main()
