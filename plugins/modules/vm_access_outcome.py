#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_access_outcome
short_description: Show one host's own outcome of a vm_access_fleet batch
version_added: 0.2.0
description:
  - The per-host half of the fleet path, used by the C(azure_ops.vm_access.vm_access) role after
    M(azure_ops.vm_access.vm_access_fleet) ran once for the batch. Each host ends as C(ok), C(changed), C(skipped)
    or C(failed), with the reason code and message of its VM in its own task output, so C(--limit),
    C(max_fail_percentage), retry files and AWX's relaunch on failed hosts work.
  - A host whose reset failed after Azure accepted the change is both failed and changed.
  - This is an action plugin; it runs on the controller, makes no Azure call and costs no module process.
author:
  - azure_ops.vm_access contributors (@azure-ops)
options:
  result_var:
    description: Name of the variable M(azure_ops.vm_access.vm_access_fleet) was registered as.
    type: str
    default: vm_access_fleet_result
attributes:
  check_mode:
    support: full
    description: Reports what the batch reported (in check mode, what would happen).
  diff_mode:
    support: none
    description: No diff.
  idempotent:
    support: full
    description: Changes nothing itself.
seealso:
  - module: azure_ops.vm_access.vm_access_fleet
"""

EXAMPLES = r"""
# After a vm_access_fleet task registered as vm_access_fleet_result (see the vm_access role):
- name: Each host's own outcome
  azure_ops.vm_access.vm_access_outcome:

- name: Or from a result registered under another name
  azure_ops.vm_access.vm_access_outcome:
    result_var: nightly_rdp_reset
"""

RETURN = r"""
msg:
  description: "The host's outcome line, for example C(skipped (vm_not_running): web-01 is deallocated; ...)."
  returned: always
  type: str
reason:
  description: Stable reason code when the host was skipped or failed.
  returned: always
  type: str
vm_id:
  description: ARM id of the host's VM.
  returned: when known
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(result_var=dict(type="str", default="vm_access_fleet_result")),
                           supports_check_mode=True)
    module.fail_json(msg="vm_access_outcome runs on the controller through its action plugin; "
                         "call it as azure_ops.vm_access.vm_access_outcome.", reason="invalid_argument")


if __name__ == "__main__":
    main()
