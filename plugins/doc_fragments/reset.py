# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The reset options shared by vm_access_reset (one VM) and vm_access_fleet (a play batch)."""

    DOCUMENTATION = r"""
options:
  username:
    description:
      - Account whose password is reset. Defaults to each VM's administrator (C(osProfile.adminUsername)).
      - A different name makes VMAccess create another administrator account (or, on old extension builds,
        rename the administrator); refused unless O(allow_new_admin=true).
      - Only with O(reset=password).
    type: str
  password:
    description:
      - The new password, required with O(reset=password) unless it comes from Azure Key Vault (O(key_vault_url)); the
        fleet can also generate one per VM.
        12 to 123 characters with three of lower case, upper case, digit and special character; not one of Azure's
        disallowed passwords; must not contain the user name.
      - Never logged, returned or shown in a diff.
    type: str
  allow_new_admin:
    description:
      - Allow O(username) to differ from the VM's administrator, which creates another administrator account.
    type: bool
    default: false
  update_password:
    description:
      - V(on_change) resets only when the password (its fingerprint) differs from the last successful reset.
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
      - Name for a new VMAccessAgent instance (C(enablevmaccess) when unset, the name the portal and the Azure CLI
        use). A VM that already holds one keeps its name, with a warning when this option names another.
    type: str
  require_agent_ready:
    description:
      - Check the VM agent before the reset. An agent that is still starting (its status blob is not yet
        populated, as for a few minutes after a start) gets the reset at once; Azure runs it when the agent
        reports. An agent that is down (unresponsive, or silent for 15 minutes) fails with reason
        C(agent_not_ready) at once, or after O(agent_wait_timeout), instead of Azure's ~25 minutes.
      - V(false) sends the reset whatever the agent says.
    type: bool
    default: true
  agent_wait_timeout:
    description:
      - Seconds to keep re-reading a VM whose agent is down before failing with C(agent_not_ready). V(0) fails at once.
    type: int
    default: 0
  wait:
    description:
      - Wait for the extension run and report its outcome from the extension's instance view. With V(false) the
        task returns once Azure has accepted the change; a later run (or M(azure_ops.vm_access.vm_access_info))
        reports the outcome.
    type: bool
    default: true
  poll_interval:
    description:
      - Seconds between progress reads while waiting (Azure sends no polling hint for extension operations).
    type: float
    default: 10.0
"""
