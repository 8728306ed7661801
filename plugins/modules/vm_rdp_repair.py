#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_rdp_repair
short_description: Fix what breaks Remote Desktop on a Windows Azure VM, where it can be fixed from outside
version_added: 0.2.0
description:
  - Diagnoses the VM as M(azure_ops.vm_access.vm_rdp_check) with guest checks, applies only the repairs for the
    findings present now, checks again and reports before and after. Idempotent - a VM with nothing to fix gets
    no repair at all (only the read-only check).
  - Repairs, in this order, each only for its finding - C(EnableAdminAccount) (the built-in administrator is
    disabled), C(SetRDPPort) (Remote Desktop listens elsewhere than O(rdp_port); it also turns Remote Desktop on and
    opens the firewall for the port), C(ResetRDPCert) (the listener certificate is missing or expired),
    C(RDPSettings) (listener settings differ from Windows' defaults, on a VM that is not domain-joined),
    C(DisableNLA) (only with O(allow_disable_nla=true), since it lowers security), and the VMAccess RDP reset (Remote
    Desktop off, or its firewall rule disabled), through the same engine as M(azure_ops.vm_access.vm_access_reset).
    The built-ins are Run Command scripts that run as SYSTEM, one at a time per VM.
  - What a person must do (an NSG that denies RDP, a stopped or disabled TermService, a group policy that denies
    RDP, a stopped VM or agent) is reported in RV(needs_human), never changed; the task then fails with reason
    C(rdp_needs_human).
  - Check mode diagnoses and reports what would be repaired (RV(planned)).
author:
  - azure_ops.vm_access contributors (@azure-ops)
options:
  allow_disable_nla:
    description:
      - Allow turning Network Level Authentication off (Run Command C(DisableNLA)) when clients cannot get through
        NLA or CredSSP. It lowers security; the change applies after a restart of the VM.
    type: bool
    default: false
  run_tag:
    description: Label of this repair (ticket, AWX job id), recorded in the VMAccess reset it may make.
    type: str
  effective_rules:
    description: Use Azure's effective security rules for the NSG check where the principal may.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the checks and repairs.
    type: int
    default: 1800
extends_documentation_fragment:
  - azure_ops.vm_access.action_group
  - azure_ops.vm_access.rdp
  - azure_ops.vm_access.rdp.one_vm
  - azure_ops.vm_access.azure_auth
attributes:
  check_mode:
    support: full
    description: Diagnoses (the guest check runs) and reports the repairs it would make; makes none.
  diff_mode:
    support: none
    description: Before and after are in RV(findings_before) and RV(findings_after).
  idempotent:
    support: full
    description: Repairs only what is broken now; a second run on a repaired VM changes nothing.
seealso:
  - module: azure_ops.vm_access.vm_rdp_check
"""

EXAMPLES = r"""
- name: Repair Remote Desktop on web-001 (NLA stays on)
  azure_ops.vm_access.vm_rdp_repair:
    resource_group: rg-web
    vm_name: web-001
    run_tag: INC0012345
  register: repair

- name: What a person still has to do
  ansible.builtin.debug:
    var: repair.needs_human
  when: repair is failed
"""

RETURN = r"""
healthy:
  description: No finding of severity C(error) after the repairs.
  returned: success
  type: bool
findings:
  description: The findings now - after the repairs, or before when none was made (as in M(azure_ops.vm_access.vm_rdp_check)).
  returned: success
  type: list
  elements: dict
vm:
  description: The VM as read, with C(agent_condition) and C(agent_report_age_s) (see M(azure_ops.vm_access.vm_rdp_check)).
  returned: success
  type: dict
network:
  description: The NSG verdict for TCP to the RDP port from O(source_address) (see M(azure_ops.vm_access.vm_rdp_check)).
  returned: when the network could be read
  type: dict
guest:
  description: The last guest check's document.
  returned: success
  type: dict
vmaccess:
  description: The VMAccess instance and its last run as read before the repairs, or null.
  returned: success
  type: dict
findings_before:
  description: The findings before any repair (see M(azure_ops.vm_access.vm_rdp_check)).
  returned: success
  type: list
  elements: dict
findings_after:
  description: The findings after the repairs (null when none was made).
  returned: success
  type: list
  elements: dict
repairs:
  description: Each repair made, with its findings, outcome and the end of its output.
  returned: success
  type: list
  elements: dict
planned:
  description: The repairs the findings called for, in order.
  returned: success
  type: list
  elements: str
refused:
  description: Findings a repair could fix but was not allowed to (C(nla_domain_unreachable) without O(allow_disable_nla)).
  returned: success
  type: list
  elements: dict
fixed:
  description: Codes of the findings the repairs made go away.
  returned: success
  type: list
  elements: str
needs_human:
  description: What a person must still do, per finding (C(code), C(todo)).
  returned: always
  type: list
  elements: dict
reason:
  description: Stable failure code, for example C(rdp_needs_human), C(run_command_busy), C(vm_not_found).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import repair_spec
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_runtime import rdp_main


def main():
    rdp_main(AnsibleModule, repair_spec(), repair=True)


if __name__ == "__main__":
    main()
