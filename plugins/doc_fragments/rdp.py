# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by the Remote Desktop diagnosis and repair entry points."""

    DOCUMENTATION = r"""
options:
  source_address:
    description:
      - Where Remote Desktop clients connect from, for the network security group check - the service tag
        V(Internet) (the default), V(VirtualNetwork), or an address or prefix such as V(203.0.113.0/24).
    type: str
    default: Internet
  rdp_port:
    description:
      - The TCP port Remote Desktop should listen on. A guest listening elsewhere is the finding C(rdp_port_changed);
        the NSG check uses the port the guest reports (this one without guest checks).
    type: int
    default: 3389
  poll_interval:
    description:
      - Seconds between polls of Azure's long-running operations (Run Command scripts, effective rules).
    type: float
    default: 10.0
notes:
  - "Finding codes (each with a one-line message and its fix): C(vm_not_running), C(agent_down),
    C(extensions_disallowed), C(nsg_denies_rdp), C(vmaccess_last_failed), C(network_unreadable) - seen from outside;
    C(rdp_disabled), C(rdp_disabled_by_policy), C(rdp_port_changed), C(rdp_firewall_rule_disabled),
    C(firewall_service_stopped), C(cert_invalid), C(termservice_stopped), C(builtin_admin_disabled),
    C(listener_non_default), C(nla_domain_unreachable), C(nla_required) (information), C(guest_check_failed) - from
    the guest check."
  - The guest check is a read-only PowerShell script the collection ships, run with Run Command
    C(RunPowerShellScript) as SYSTEM; it takes 20 seconds or more and, on first use, installs Azure's
    C(RunCommandWindows) extension on the VM. The built-in C(RDPSettings) command is never used to diagnose -
    on a VM that is not domain-joined it resets listener settings, so it is only a repair.
  - Run Command needs C(Microsoft.Compute/virtualMachines/runCommand/action); the network reads need
    C(Microsoft.Network/networkInterfaces/read), C(Microsoft.Network/virtualNetworks/subnets/read) and
    C(Microsoft.Network/networkSecurityGroups/read) (see docs/rbac.md).
"""

    # The one VM of vm_rdp_check and vm_rdp_repair.
    ONE_VM = r"""
options:
  resource_group:
    description: Resource group of the VM. Use with O(vm_name), or give O(vm_id) instead.
    type: str
  vm_name:
    description: Name of the VM. Use with O(resource_group), or give O(vm_id) instead.
    type: str
    aliases: [name]
  vm_id:
    description: Full ARM resource id of the VM.
    type: str
"""
