#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_rdp_fleet
short_description: Diagnose or repair Remote Desktop on the VMs of a whole play batch from one controller process
version_added: 0.2.0
description:
  - The fleet path of M(azure_ops.vm_access.vm_rdp_check) and M(azure_ops.vm_access.vm_rdp_repair), used by the
    C(azure_ops.vm_access.vm_access) role's C(diagnose) and C(repair) entry points. Run it once per play batch; it
    finds each host's VM from its hostvars as M(azure_ops.vm_access.vm_access_fleet) does.
  - Reads the VMs with two list passes per subscription, then their network interfaces (with one list of each
    resource group that holds at least 8 of them, else one read each), and each subnet and network security
    group once however many VMs share it. Without O(guest_checks) that is the whole diagnosis - no write, no
    script on any VM.
  - With O(guest_checks) (and always with O(mode=repair)) it runs the collection's read-only PowerShell check on
    every running VM as a wave of Run Command operations, started on ARM's write budget and followed on its read
    budget; repairs run as further waves, one script per VM at a time, and the VMAccess RDP reset goes through the
    same engine as M(azure_ops.vm_access.vm_access_reset). Repaired VMs are checked again.
  - Network security groups are evaluated from their rules (default rules included); Azure's effective rules are
    not requested for a fleet (one long-running operation per network interface). Use
    M(azure_ops.vm_access.vm_rdp_check) on one VM for them.
  - Prints a line per stage (and per round of a long wave) while it runs.
  - Returns one result per host under RV(results); the role's per-host task turns each into that host's own ok,
    changed, skipped or failed. A VM that still cannot be reached after what the collection may repair fails with
    reason C(rdp_needs_human) in O(mode=repair); in O(mode=diagnose) findings are reported, never failed on.
  - This is an action plugin; it runs on the controller.
author:
  - azure_ops.vm_access contributors (@azure-ops)
options:
  mode:
    description: V(diagnose) only reads (and runs the read-only guest check with O(guest_checks)); V(repair) fixes.
    type: str
    default: diagnose
    choices: [diagnose, repair]
  hosts:
    description: Inventory hosts to act on. Defaults to C(ansible_play_batch).
    type: list
    elements: str
  guest_checks:
    description: Run the read-only guest check on every running VM in O(mode=diagnose) (O(mode=repair) always does).
    type: bool
    default: false
  allow_disable_nla:
    description: As in M(azure_ops.vm_access.vm_rdp_repair) - allow turning Network Level Authentication off.
    type: bool
    default: false
  run_tag:
    description: Label of this run (ticket, AWX job id), recorded in the VMAccess resets it makes.
    type: str
  wait_timeout:
    description: Seconds to wait for the whole batch.
    type: int
    default: 1800
  max_workers:
    description: Concurrent requests (they are paced on ARM's budgets anyway).
    type: int
    default: 16
extends_documentation_fragment:
  - azure_ops.vm_access.action_group
  - azure_ops.vm_access.rdp
  - azure_ops.vm_access.azure_auth
attributes:
  check_mode:
    support: full
    description: Diagnoses (guest checks included in O(mode=repair)) and reports the repairs it would run.
  diff_mode:
    support: none
    description: No diff.
  idempotent:
    support: full
    description: A VM with nothing to fix gets no repair.
notes:
  - Use C(run_once=true) and C(delegate_to=localhost); see the C(azure_ops.vm_access.vm_access) role.
seealso:
  - module: azure_ops.vm_access.vm_rdp_check
  - module: azure_ops.vm_access.vm_rdp_repair
"""

EXAMPLES = r"""
- name: Why RDP fails, across the batch
  azure_ops.vm_access.vm_rdp_fleet:
    mode: diagnose
    guest_checks: true
  run_once: true
  delegate_to: localhost
  register: rdp

- name: Each host's own outcome
  azure_ops.vm_access.vm_access_outcome:
    result_var: rdp
"""

RETURN = r"""
results:
  description: One entry per host, keyed by inventory hostname.
  returned: success
  type: dict
  sample: {"web-01": {"outcome": "changed", "reason": null, "healthy": true, "found": ["rdp_port_changed"],
           "findings": [], "fixed": ["rdp_port_changed"], "needs_human": [],
           "repairs": [{"action": "SetRDPPort", "outcome": "done"}],
           "msg": "fixed rdp_port_changed with SetRDPPort; now healthy"}}
summary:
  description: Counts by outcome and reason, VMs healthy and needing a person, and VMs per finding (before repair).
  returned: success
  type: dict
  sample: {"total": 3, "by_outcome": {"changed": 1, "ok": 1, "skipped": 0, "failed": 1},
           "by_reason": {"rdp_needs_human": 1}, "healthy": 2, "needs_human": 1,
           "by_finding": {"nsg_denies_rdp": 1, "rdp_port_changed": 1}}
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

from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import fleet_spec
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.module_runtime import action_only


def main():
    action_only(AnsibleModule, fleet_spec(), "vm_rdp_fleet")


if __name__ == "__main__":
    main()
