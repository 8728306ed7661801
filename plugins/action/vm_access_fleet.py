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

import os
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import ResetEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.passwords import generate_password
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.progress import progress_line
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import (
    HOSTVAR_KEYS,
    target_from_hostvars,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import outcome_line, summarize
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
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import (
    VmAccessError,
    argument_check,
    secret_spellings,
)
from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.password_vault import PasswordVault

display = Display()
# What each host's result keeps of the engine's (the per-host task and the reports read these).
RESULT_KEYS = ("host", "vm_id", "outcome", "changed", "reason", "msg", "line", "action", "why", "username",
               "os_type", "power_state", "agent_status", "extension", "warnings", "duration_s", "key_vault")


def _validate(args):
    validator = ArgumentSpecValidator(fleet_argument_spec(), required_if=[("mode", "reset", ("reset",))])
    with argument_check():
        result = validator.validate(args)
    if result.error_messages:
        raise VmAccessError("invalid_argument", "; ".join(result.error_messages))
    params = result.validated_parameters
    if params["generate_passwords"] and params["password"]:  # the role always passes both options
        raise VmAccessError("invalid_argument", "password and generate_passwords are mutually exclusive.")
    check_fleet_options(params)
    return params, set(result._no_log_values)


def host_result(host, outcome, reason, msg):
    """A host's result when the engine did not run for it (the batch failed, or the host was left out)."""
    return {"host": host, "vm_id": None, "outcome": outcome, "changed": False, "reason": reason, "msg": msg,
            "line": outcome_line(outcome, reason, msg), "action": None, "why": None, "username": None,
            "os_type": None, "power_state": None, "agent_status": None, "extension": None, "warnings": [],
            "duration_s": 0.0}


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(fleet_argument_spec())

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        started = time.monotonic()
        task_vars = task_vars or {}
        batch = list(task_vars.get("ansible_play_batch") or [])
        hidden = set()  # values never to show: no_log options and generated passwords
        failure = None
        try:
            params, hidden = _validate(dict(self._task.args))
            result.update(self._run(params, task_vars, hidden))
        except VmAccessError as error:
            failure = error
        except Exception as error:  # a reason code, never a traceback
            failure = VmAccessError("unexpected_error", "Unexpected %s: %s" % (type(error).__name__, error))
        if failure is not None:
            # Every host still gets a result, so each fails with the batch's reason.
            results = [host_result(host, "failed", failure.reason, failure.message) for host in batch]
            result.update(failed=True, reason=failure.reason, msg=failure.message,
                          results=dict((r["host"], r) for r in results), summary=summarize(results))
        else:
            for host in batch:  # batch hosts left out of `hosts` still need a result of their own
                if host not in result["results"]:
                    result["results"][host] = host_result(host, "skipped", "not_targeted", "not in this batch's hosts")
        result["working_dir"] = os.getcwd()
        result["duration_s"] = round(time.monotonic() - started, 3)
        return remove_values(result, secret_spellings(hidden))

    def _run(self, params, task_vars, hidden):
        hosts = params["hosts"] or list(task_vars.get("ansible_play_batch") or [])
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
        pacing = Pacing()
        session = AzureSession(params, retry_budget_s=params["wait_timeout"] or None, on_response=pacing.observe)
        targets = [target_from_hostvars(host, self._hostvars(task_vars, host), session.default_subscription)
                   for host in hosts]
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
            for target in targets:
                if target.host in held_back:  # not due, or its secret could not be read: no VM call at all
                    verdict = held_back[target.host]
                    held = host_result(target.host, verdict.outcome, verdict.reason, verdict.msg)
                    held.update(vm_id=target.ref.id, key_vault=store.report(target.host))
                    results.append(held)
        results = [dict((key, r[key]) for key in RESULT_KEYS if key in r) for r in results]
        summary = summarize(results)
        if store is not None:
            summary["key_vault"] = store.summary()
        return {
            "changed": any(r["changed"] for r in results),
            "results": dict((r["host"], r) for r in results),
            "summary": summary,
            "password_vault_file": vault.path if vault is not None and vault.written else None,
            "pacing": pacing.summary(),
        }

    @staticmethod
    def _show_progress(snapshot):
        display.display("vm_access_fleet: %s" % progress_line(snapshot))

    @staticmethod
    def _hostvars(task_vars, host):
        hostvars = task_vars.get("hostvars") or {}
        try:
            source = hostvars[host]
        except KeyError:
            return {}
        found = {}
        for key in HOSTVAR_KEYS:
            try:
                value = source.get(key) if hasattr(source, "get") else source[key]
            except Exception:  # an undefined or untemplatable hostvar is simply absent
                value = None
            if value is not None:
                found[key] = to_text(value)
        return found
