#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_access_fleet
short_description: Reset (or report on) the VMs of a whole play batch from one controller process
version_added: 0.1.0
description:
  - The fleet path of the collection, used by the C(azure_ops.vm_access.vm_access) role. Run it once per play batch
    (O(hosts) defaults to C(ansible_play_batch)); it reads each host's VM from its hostvars - C(vm_id), or
    C(resource_group) + C(vm_name) (this collection's inventory, static inventories), or C(id), or C(resource_group) +
    C(name) (azure.azcollection's C(azure_rm) inventory) - and does the Azure work for all of them in one process.
  - One credential and token, one connection pool; pre-flight and progress from VM list calls with instance views
    (many VMs per request) instead of one request per VM; PUTs paced on ARM's C(x-ms-ratelimit-remaining-subscription-writes)
    header and Retry-After, so a fleet run takes about as long as Azure's write budget and the longest extension run.
  - Returns one result per host under RV(results); the role turns each into that host's own ok, changed, skipped or
    failed, so C(--limit), C(max_fail_percentage), retry files and AWX's relaunch on failed hosts work.
  - The same decisions as M(azure_ops.vm_access.vm_access_reset) - pre-flight, reuse of the VMAccess instance, the
    reset fingerprint - for every VM.
  - This is an action plugin; it runs on the controller. With O(generate_passwords=true) each host gets its own
    random password, written only into the ansible-vault encrypted O(password_vault_file) before any is set.
author:
  - azure_ops.vm_access contributors (@azure-ops)
requirements:
  - python >= 3.9
  - azure-identity >= 1.15.0
  - azure-mgmt-compute >= 30.0.0
options:
  mode:
    description: V(reset) resets; V(status) only reports.
    type: str
    default: reset
    choices: [reset, status]
  reset:
    description: What to reset (required with O(mode=reset)).
    type: str
    choices: [password, rdp]
  hosts:
    description: Inventory hosts to act on. Defaults to C(ansible_play_batch).
    type: list
    elements: str
  username:
    description: Account whose password is reset; defaults to each VM's administrator.
    type: str
  password:
    description: One new password for every VM. Never logged or returned.
    type: str
  generate_passwords:
    description: Give every VM its own random password, saved only into O(password_vault_file).
    type: bool
    default: false
  password_vault_file:
    description:
      - Where generated passwords are written, ansible-vault encrypted (JSON inside), mode 0600.
      - Default C(vm_access_passwords.vault) in the directory ansible-playbook runs in; relative paths are relative
        to it too.
    type: path
  vault_password:
    description: Vault password to encrypt O(password_vault_file) with. By default the vault secret loaded by
      C(--vault-id) / C(--vault-password-file) (or an AWX vault credential) is used.
    type: str
  allow_new_admin:
    description: Allow O(username) to differ from a VM's administrator (creates another administrator).
    type: bool
    default: false
  update_password:
    description: V(on_change) skips VMs whose last successful reset had the same password; V(always) resets all.
    type: str
    default: on_change
    choices: [always, on_change]
  run_tag:
    description: Label of this run (ticket, AWX job id); the idempotency key of RDP resets.
    type: str
  force:
    description: Reset even where the same reset already succeeded.
    type: bool
    default: false
  extension_name:
    description: Name for new VMAccess instances; existing instances keep theirs.
    type: str
    default: enablevmaccess
  require_agent_ready:
    description: Skip VMs whose agent is not Ready after O(agent_wait_timeout).
    type: bool
    default: true
  agent_wait_timeout:
    description: Seconds to keep re-checking VMs whose agent reports Not Ready.
    type: int
    default: 300
  wait:
    description: Wait for every extension run and report its outcome.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the whole batch.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between progress reads (one list call per crowded resource group).
    type: float
    default: 10.0
  max_workers:
    description: Concurrent PUTs (they are paced on ARM's write budget anyway).
    type: int
    default: 16
extends_documentation_fragment:
  - azure_ops.vm_access.azure_auth
attributes:
  check_mode:
    support: full
    description: Reads and plans; no write, no password file.
  diff_mode:
    support: none
    description: The module returns no diff.
  idempotent:
    support: partial
    description: Whether running the module again with the same arguments reports no change.
    details: As M(azure_ops.vm_access.vm_access_reset); generated passwords always change.
  action_group:
    support: full
    membership: [azure_ops.vm_access.azure]
    description: Use C(group/azure_ops.vm_access.azure) in C(module_defaults) to set defaults for this module.
notes:
  - Use C(run_once=true) and C(delegate_to=localhost); see the C(azure_ops.vm_access.vm_access) role.
seealso:
  - module: azure_ops.vm_access.vm_access_reset
"""

EXAMPLES = r"""
- name: Reset RDP on every VM of the batch, in one process
  azure_ops.vm_access.vm_access_fleet:
    reset: rdp
    run_tag: "{{ awx_job_id | default('manual') }}"
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Each host's own outcome
  ansible.builtin.debug:
    msg: "{{ fleet.results[inventory_hostname].msg }}"
  changed_when: fleet.results[inventory_hostname].outcome == 'changed'
  failed_when: fleet.results[inventory_hostname].outcome == 'failed'
  when: fleet.results[inventory_hostname].outcome != 'skipped'
"""

RETURN = r"""
results:
  description: One entry per host, keyed by inventory hostname.
  returned: success
  type: dict
  sample: {"web-01": {"outcome": "changed", "reason": null, "msg": "Succesfully enabled Remote Desktop",
           "vm_id": "/subscriptions/.../virtualMachines/web-01", "action": "created", "duration_s": 71.3}}
summary:
  description: Counts by outcome and by reason.
  returned: success
  type: dict
  sample: {"total": 3, "by_outcome": {"changed": 1, "ok": 1, "skipped": 1, "failed": 0},
           "by_reason": {"vm_not_running": 1}}
password_vault_file:
  description: Path of the encrypted password file, when passwords were generated and written.
  returned: success
  type: str
working_dir:
  description: The directory ansible-playbook runs in (where relative report and password paths go).
  returned: success
  type: str
pacing:
  description: Seconds writers waited for ARM's write budget, and 429s seen.
  returned: success
  type: dict
reason:
  description: Stable failure code when the whole batch failed (for example C(authentication_failed)).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils.reset_args import fleet_argument_spec


def main():
    module = AnsibleModule(argument_spec=fleet_argument_spec(), supports_check_mode=True)
    module.fail_json(msg="vm_access_fleet runs on the controller through its action plugin; "
                         "call it as azure_ops.vm_access.vm_access_fleet.", reason="invalid_argument")


if __name__ == "__main__":
    main()
