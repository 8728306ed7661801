#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_rdp_check
short_description: Find out why Remote Desktop to a Windows Azure VM fails
version_added: 0.2.0
description:
  - Read-only diagnosis of one VM, returning findings with stable codes, a one-line explanation each and the fix -
    which M(azure_ops.vm_access.vm_rdp_repair) action applies, or what a person must do (the collection never
    changes network security groups, starts VMs or edits group policy).
  - From outside the guest - the power state, the VM agent (and how long ago it last reported), the last VMAccess
    run, and whether the VM's network security groups (subnet and network interface) let TCP to the RDP port in
    from O(source_address), with the rule that decides. Azure's effective rules are used where the principal may
    ask for them (O(effective_rules)); otherwise the NSG rules are evaluated by priority, Azure's default rules
    included, and RV(network.note) says so.
  - With O(guest_checks=true), the guest's own view through Run Command C(RunPowerShellScript) with a read-only
    script the collection ships - Remote Desktop enabled (the Terminal Server value and the policy value), the
    port, NLA, the listener certificate (present, expired), TermService, the Remote Desktop firewall rules and the
    firewall service, domain membership, the built-in administrator, and listener settings that differ from
    Windows' defaults.
  - Check mode is the same run.
author:
  - azure_ops.vm_access contributors (@azure-ops)
options:
  guest_checks:
    description:
      - Also check inside the guest with the read-only script (Run Command; 20 seconds or more).
    type: bool
    default: false
  effective_rules:
    description:
      - Ask Azure for the network interface's effective security rules (needs
        C(Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action) and a running VM); when that is
        refused the NSG rules are evaluated instead.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the guest check and the effective rules.
    type: int
    default: 600
extends_documentation_fragment:
  - azure_ops.vm_access.action_group
  - azure_ops.vm_access.rdp
  - azure_ops.vm_access.rdp.one_vm
  - azure_ops.vm_access.azure_auth
attributes:
  check_mode:
    support: full
    description: The module changes nothing; check mode is the same run.
  diff_mode:
    support: none
    description: No diff.
  idempotent:
    support: full
    description: Read-only.
seealso:
  - module: azure_ops.vm_access.vm_rdp_repair
  - module: azure_ops.vm_access.vm_access_reset
"""

EXAMPLES = r"""
- name: Why can nobody RDP into web-001?
  azure_ops.vm_access.vm_rdp_check:
    resource_group: rg-web
    vm_name: web-001
    guest_checks: true
  register: rdp

- name: What to do
  ansible.builtin.debug:
    msg: "{{ rdp.findings | map(attribute='message') | list }}"
"""

RETURN = r"""
healthy:
  description: No finding of severity C(error).
  returned: success
  type: bool
findings:
  description: What is wrong, one entry per cause.
  returned: success
  type: list
  elements: dict
  contains:
    code:
      description: Stable code, for example C(nsg_denies_rdp), C(rdp_port_changed).
      type: str
      returned: always
    severity:
      description: C(error), C(warning) or C(info).
      type: str
      returned: always
    message:
      description: What is wrong.
      type: str
      returned: always
    fix:
      description: C(by=azure_ops.vm_access.vm_rdp_repair) and its C(action), or C(by=human) and what to C(todo).
      type: dict
      returned: always
network:
  description: The NSG verdict for TCP to the RDP port from O(source_address).
  returned: when the network could be read
  type: dict
  contains:
    allowed:
      description: Whether the traffic gets in.
      type: bool
      returned: always
    port:
      description: The port evaluated.
      type: int
      returned: always
    decided_by:
      description: Each level (subnet, network interface) with its NSG and deciding rule.
      type: list
      elements: dict
      returned: always
    rules_from:
      description: C(effective) or C(nsg_rules).
      type: str
      returned: always
    note:
      description: Why effective rules were not used, when they were asked for.
      type: str
      returned: always
guest:
  description: The guest check's document (schema version 1), or null without guest checks.
  returned: success
  type: dict
vm:
  description:
    - The VM as read - power state, agent status and message, C(agent_condition) (C(ready), C(starting) or C(down)),
      and C(agent_report_age_s), how long ago the agent last reported.
  returned: success
  type: dict
vmaccess:
  description: The VMAccess instance and its last run, or null.
  returned: success
  type: dict
reason:
  description: Stable failure code when the VM could not be diagnosed (for example C(vm_not_found), C(not_windows)).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import check_spec
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_runtime import rdp_main


def main():
    rdp_main(AnsibleModule, check_spec(), repair=False)


if __name__ == "__main__":
    main()
