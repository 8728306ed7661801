# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``azure_ops.vm_access.vm_access_outcome``: one host's own outcome, from the
batch result of ``vm_access_fleet``, as that host's ok / changed / skipped / failed with its reason."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("result_var",))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        name = self._task.args.get("result_var") or "vm_access_fleet_result"
        host = task_vars.get("inventory_hostname")
        batch = task_vars.get(name)
        outcome = ((batch or {}).get("results") or {}).get(host) if isinstance(batch, dict) else None
        if not isinstance(outcome, dict):
            result.update(failed=True, reason="invalid_argument",
                          msg="No vm_access_fleet result for %s in %s; run vm_access_fleet (registered as %s) "
                              "for this batch first." % (host, name, name))
            return result
        kind = outcome.get("outcome")
        result.update(msg=outcome.get("line") or outcome.get("msg"), reason=outcome.get("reason"),
                      changed=bool(outcome.get("changed")), vm_id=outcome.get("vm_id"))
        if kind == "failed":
            result["failed"] = True
        elif kind == "skipped":
            result["skipped"] = True
            result["_ansible_verbose_always"] = True  # show why, not only "skipping"
        return result
