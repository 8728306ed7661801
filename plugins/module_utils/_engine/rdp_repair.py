# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which repairs fix the findings present now, and in what order. Pure.

Run Command's built-in scripts run one at a time per VM, so the plan is a sequence: the built-in
administrator first (the account to log in with), then the port (``SetRDPPort`` also turns Remote
Desktop on and opens the firewall for the port), the listener certificate, the listener settings
(``RDPSettings``, a repair: it resets listener values to defaults), NLA last among the scripts, and the
VMAccess RDP reset (Remote Desktop on, the 3389 rule) only where ``SetRDPPort`` does not already cover it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_findings import REPAIR

VMACCESS_RESET = "vmaccess_rdp_reset"
RUN_COMMAND_ORDER = ("EnableAdminAccount", "SetRDPPort", "ResetRDPCert", "RDPSettings", "DisableNLA")
NLA_REFUSED = ("Network Level Authentication was left on: turning it off lowers security, so vm_rdp_repair does it "
               "only with allow_disable_nla: true.")


def plan_repairs(findings, rdp_port=3389, allow_disable_nla=False):
    """(actions, refused): ``actions`` is the ordered list of {action, parameters, findings}; ``refused``
    lists the findings a repair could fix but was not allowed to (with why)."""
    wanted = {}
    refused = []
    for found in findings:
        action = found["fix"].get("action") if found["fix"]["by"] == REPAIR else None
        if action is None:
            continue
        if action == "DisableNLA" and not allow_disable_nla:
            refused.append(dict(found, refused=NLA_REFUSED))
            continue
        wanted.setdefault(action, []).append(found["code"])
    if "SetRDPPort" in wanted and VMACCESS_RESET in wanted:
        wanted["SetRDPPort"] += wanted.pop(VMACCESS_RESET)  # it sets fDenyTSConnections 0 and opens the port too
    actions = []
    for action in RUN_COMMAND_ORDER + (VMACCESS_RESET,):
        if action in wanted:
            parameters = {"RDPPORT": str(rdp_port)} if action == "SetRDPPort" else {}
            actions.append({"action": action, "parameters": parameters, "findings": sorted(wanted[action])})
    return actions, refused


def needs_human(findings):
    return [f for f in findings if f["fix"]["by"] == "human" and f["severity"] != "info"]
