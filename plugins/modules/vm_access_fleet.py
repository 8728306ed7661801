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
  - The same engine as M(azure_ops.vm_access.vm_access_reset) - the same request body, agent handling, verdicts,
    reason codes and messages - run over many VMs from one process - one credential and token, one connection pool.
  - Reads many VMs with two list passes per subscription (the plain list, and the C(statusOnly) list for power
    and agent state) instead of one request per VM; reads each VMAccess instance's reset fingerprint only where a
    VM holds one (lists never carry it); paces reads and PUTs on ARM's C(x-ms-ratelimit-remaining-subscription-*)
    headers and Retry-After; follows runs with one C(statusOnly) pass per round, or per-VM operation polls when
    they cost fewer requests. A batch takes about as long as Azure's write budget and the longest extension run.
  - Prints a progress line every few seconds while the batch runs (submitted, running, done, waiting for write
    budget or agents, ETA), in the terminal and in AWX's job output.
  - Returns one result per host under RV(results); the role turns each into that host's own ok, changed, skipped or
    failed, so C(--limit), C(max_fail_percentage), retry files and AWX's relaunch on failed hosts work.
  - This is an action plugin; it runs on the controller. With O(generate_passwords=true) each host gets its own
    random password, written only into the ansible-vault encrypted O(password_vault_file) before any is set - or,
    with O(key_vault_url), into Azure Key Vault as a C(pending) version of the VM's secret before its reset is sent,
    made C(active) once the reset succeeded in the guest. With O(rotation_max_age_days) only the VMs that are due
    are reset; the others report C(ok) without any write or VM read.
author:
  - azure_ops.vm_access contributors (@azure-ops)
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
  generate_passwords:
    description: Give every VM its own random password, saved only into O(password_vault_file) (or O(key_vault_url))
      before it is set.
    type: bool
    default: false
  password_vault_file:
    description:
      - Where generated passwords are written, ansible-vault encrypted (JSON inside), mode 0600. Not with
        O(key_vault_url).
      - Default C(vm_access_passwords.vault) in the directory ansible-playbook runs in; relative paths are relative
        to it too.
    type: path
  vault_password:
    description: Vault password to encrypt O(password_vault_file) with. By default the vault secret loaded by
      C(--vault-id) / C(--vault-password-file) (or an AWX vault credential) is used.
    type: str
  wait_timeout:
    description: Seconds to wait for the whole batch.
    type: int
    default: 1800
  max_workers:
    description: Concurrent PUTs (they are paced on ARM's write budget anyway).
    type: int
    default: 16
extends_documentation_fragment:
  - azure_ops.vm_access.action_group
  - azure_ops.vm_access.key_vault
  - azure_ops.vm_access.reset
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

- name: Rotate the administrator passwords that are 30 days old, keeping them in Key Vault
  azure_ops.vm_access.vm_access_fleet:
    reset: password
    generate_passwords: true
    key_vault_url: kv-prod-passwords
    rotation_max_age_days: 30
  run_once: true
  delegate_to: localhost
  register: fleet
  no_log: true

- name: Each host's own outcome (ok, changed, skipped or failed, with its reason)
  azure_ops.vm_access.vm_access_outcome:
    result_var: fleet
"""

RETURN = r"""
results:
  description:
    - One entry per host, keyed by inventory hostname.
    - With O(key_vault_url) each entry also has C(key_vault) - C(secret_name), C(version), C(state), C(active_version),
      C(previous_active_version), C(rotation), C(note) - never a password.
  returned: success
  type: dict
  sample: {"web-01": {"outcome": "changed", "reason": null, "msg": "Succesfully enabled Remote Desktop",
           "vm_id": "/subscriptions/.../virtualMachines/web-01", "action": "created", "duration_s": 71.3}}
summary:
  description: Counts by outcome and by reason (with O(key_vault_url), also C(key_vault) - VMs by password state).
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
  description: Seconds requests waited for ARM's read and write budgets, and 429s seen.
  returned: success
  type: dict
reason:
  description: Stable failure code when the whole batch failed (for example C(authentication_failed)).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import fleet_argument_spec
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.module_runtime import action_only


def main():
    action_only(AnsibleModule, fleet_argument_spec(), "vm_access_fleet")


if __name__ == "__main__":
    main()
