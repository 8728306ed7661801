# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``azure_ops.vm_access.vm_rdp_fleet``: diagnose (or repair) Remote Desktop on the
whole batch in one process, one result per host under ``results`` (``run_once: true``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine import RdpEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_result import rdp_summary
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import fleet_spec, rdp_options
from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.fleet_action import FleetAction

# What each host's result keeps: enough for the per-host task and the report, not the documents.
RESULT_KEYS = ("host", "vm_id", "outcome", "changed", "reason", "msg", "line", "healthy", "findings", "found",
               "fixed", "needs_human", "planned", "refused", "repairs", "network")


def lean(result):
    out = dict((key, result.get(key)) for key in RESULT_KEYS)
    out["refused"] = [f["code"] for f in result.get("refused") or []]
    out["repairs"] = [{"action": r["action"], "outcome": r["outcome"]} for r in result.get("repairs") or []]
    network = result.get("network")
    out["network"] = None if not network else {
        "allowed": network["allowed"], "port": network["port"], "rules_from": network["rules_from"]}
    current = result.get("findings_after") if result.get("findings_after") is not None else result.get("findings_before")
    out["details"] = [{"code": f["code"], "severity": f["severity"], "message": f["message"]} for f in current or []]
    return out


class ActionModule(FleetAction):

    ARGUMENT_SPEC = fleet_spec()
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    EMPTY_RESULT = dict((key, None) for key in RESULT_KEYS + ("details",))

    def host_result(self, host, outcome, reason, msg):
        result = super(ActionModule, self).host_result(host, outcome, reason, msg)
        result.update(findings=[], found=[], fixed=[], needs_human=[], planned=[], refused=[], repairs=[], details=[])
        return result

    @staticmethod
    def summarize(results):
        return rdp_summary(results)

    def work(self, params, task_vars, hidden):
        repair = params["mode"] == "repair"
        options = rdp_options(params, repair=repair, check_mode=bool(self._task.check_mode),
                              max_workers=params["max_workers"])  # before any call
        session, pacing, targets = self.connect(params, task_vars, self.hosts(params, task_vars))
        engine = RdpEngine(session.api, options, pacing=pacing,
                           progress=(lambda line: self.show("vm_rdp_fleet: %s" % line)) if len(targets) > 1 else None)
        results = [lean(r) for r in engine.run(targets)]
        return {"results": results, "summary": rdp_summary(results), "pacing": pacing.summary()}
