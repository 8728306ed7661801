# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``azure_ops.vm_access.vm_access_fleet``: the whole batch in one process.

Run once per play batch (``run_once: true``). It reads every batch host's VM from its hostvars,
runs the reset engine over all of them (module_utils/_engine) and returns one result per host
under ``results``, which the role turns into each host's own outcome (``vm_access_outcome``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import ResetEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.passwords import generate_password
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.progress import progress_line
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import summarize
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import (
    engine_options,
    fleet_argument_spec,
    reset_request,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.key_vault import (
    check_fleet_options,
    open_store,
    settle_results,
    uses_key_vault,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.fleet_action import FleetAction
from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.password_vault import PasswordVault

# What each host's result keeps of the engine's (the per-host task and the reports read these).
RESULT_KEYS = ("host", "vm_id", "outcome", "changed", "reason", "msg", "line", "action", "why", "username",
               "os_type", "power_state", "agent_status", "extension", "warnings", "duration_s", "key_vault")


class ActionModule(FleetAction):

    ARGUMENT_SPEC = fleet_argument_spec()
    REQUIRED_IF = [("mode", "reset", ("reset",))]
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    EMPTY_RESULT = {"action": None, "why": None, "username": None, "os_type": None, "power_state": None,
                    "agent_status": None, "extension": None, "warnings": [], "duration_s": 0.0}

    def check(self, params):
        if params["generate_passwords"] and params["password"]:  # the role always passes both options
            raise VmAccessError("invalid_argument", "password and generate_passwords are mutually exclusive.")
        check_fleet_options(params)

    def work(self, params, task_vars, hidden):
        check_mode = bool(self._task.check_mode)
        request = None
        if params["mode"] == "reset":
            request = reset_request(params)
            if params["generate_passwords"]:
                request.password = generate_password()  # a valid stand-in; each VM gets its own below
            check_request(request)
        key_vault = uses_key_vault(params)
        vault = PasswordVault(self._loader, params, check_mode) if params["generate_passwords"] and not key_vault \
            else None
        session, pacing, targets = self.connect(params, task_vars, self.hosts(params, task_vars))
        before_submit, store, held_back = None, None, {}
        if vault is not None:
            for target in targets:
                target.password = generate_password()
                hidden.add(target.password)
            vault.bind(targets)
            before_submit = vault.save
        if key_vault:
            # Which VMs are due (rotation), and their passwords: new ones, or an unfinished reset's own.
            store = open_store(session, params, check_mode, workers=min(8, max(1, params["max_workers"])))
            held_back = store.plan(targets, run_tag=request.run_tag, username=request.username,
                                   max_age_days=params["rotation_max_age_days"])
            hidden.update(t.password for t in targets if t.password)
            before_submit = store.before_submit
        run_targets = [t for t in targets if t.host not in held_back]
        engine = ResetEngine(session.api, request, engine_options(params, check_mode, max_workers=params["max_workers"]),
                             pacing=pacing, before_submit=before_submit,
                             progress=self._show_progress if len(run_targets) > 1 else None)
        results = engine.status(run_targets) if params["mode"] == "status" else engine.run(run_targets)
        if vault is not None:
            vault.finish(results)
        if store is not None:
            results = settle_results(store, results, waited=params["wait"])
            results += [self._held_back(store, target, held_back[target.host]) for target in targets
                        if target.host in held_back]
        results = [dict((key, r[key]) for key in RESULT_KEYS if key in r) for r in results]
        summary = summarize(results)
        if store is not None:
            summary["key_vault"] = store.summary()
        return {
            "results": results,
            "summary": summary,
            "password_vault_file": vault.path if vault is not None and vault.written else None,
            "pacing": pacing.summary(),
        }

    def _held_back(self, store, target, verdict):
        """A VM not due for rotation, or whose secret could not be read: no VM call at all."""
        held = self.host_result(target.host, verdict.outcome, verdict.reason, verdict.msg)
        held.update(vm_id=target.ref.id, key_vault=store.report(target.host))
        return held

    def _show_progress(self, snapshot):
        self.show("vm_access_fleet: %s" % progress_line(snapshot))
