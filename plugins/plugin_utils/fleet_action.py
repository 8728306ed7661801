# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every fleet action does around its engine: validate the options, find each batch host's VM,
connect once, give every host of the batch a result (also when the whole batch fails), hide every secret
value from what it returns (``mask_secrets``: ansible-core's ``remove_values``, longest first), and end
when ansible-playbook has gone (``ParentWatch``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import (
    HOSTVAR_KEYS,
    target_from_hostvars,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import outcome_line, summarize
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.masking import mask_secrets
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import (
    VmAccessError,
    argument_check,
    secret_spellings,
)
from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.parent_watch import ParentWatch

display = Display()


class FleetAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC`` (and ``REQUIRED_IF``) and implement ``work(params, task_vars, hidden)``
    returning ``{"results": [per-host dicts], ...}``; ``EMPTY_RESULT`` holds the per-host keys a host the engine
    did not reach still gets."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = {}
    REQUIRED_IF = []
    EMPTY_RESULT = {}

    def run(self, tmp=None, task_vars=None):
        result = super(FleetAction, self).run(tmp, task_vars)
        started = time.monotonic()
        task_vars = task_vars or {}
        batch = list(task_vars.get("ansible_play_batch") or [])
        hidden = set()  # values never to show: no_log options and generated passwords
        failure = None
        try:
            params, hidden = self.validate(dict(self._task.args))
            with ParentWatch():  # no writes to Azure once ansible-playbook has gone (2.16-2.18 leave us running)
                result.update(self.work(params, task_vars, hidden))
        except VmAccessError as error:
            failure = error
        except Exception as error:  # a reason code, never a traceback
            failure = VmAccessError("unexpected_error", "Unexpected %s: %s" % (type(error).__name__, error))
        if failure is not None:
            # Every host still gets a result, so each fails with the batch's reason.
            results = [self.host_result(host, "failed", failure.reason, failure.message) for host in batch]
            result.update(failed=True, reason=failure.reason, msg=failure.message, results=results)
        else:
            done = set(r["host"] for r in result["results"])
            result["results"] += [self.host_result(host, "skipped", "not_targeted", "not in this batch's hosts")
                                  for host in batch if host not in done]  # left out of `hosts`
        result.setdefault("summary", self.summarize(result["results"]))
        result["changed"] = any(r["changed"] for r in result["results"])
        result["results"] = dict((r["host"], r) for r in result["results"])
        result["working_dir"] = os.getcwd()
        result["duration_s"] = round(time.monotonic() - started, 3)
        return mask_secrets(result, secret_spellings(hidden))

    @staticmethod
    def summarize(results):
        return summarize(results)

    def validate(self, args):
        validator = ArgumentSpecValidator(self.ARGUMENT_SPEC, required_if=self.REQUIRED_IF)
        with argument_check():
            result = validator.validate(args)
        if result.error_messages:
            raise VmAccessError("invalid_argument", "; ".join(result.error_messages))
        self.check(result.validated_parameters)
        return result.validated_parameters, set(result._no_log_values)

    def check(self, params):
        """Checks across options beyond the argument spec (raise VmAccessError invalid_argument)."""

    def host_result(self, host, outcome, reason, msg):
        return dict(self.EMPTY_RESULT, host=host, vm_id=None, outcome=outcome, changed=False, reason=reason, msg=msg,
                    line=outcome_line(outcome, reason, msg))

    def connect(self, params, task_vars, hosts):
        """(session, pacing, targets): one credential for the batch, each host's VM from its hostvars."""
        pacing = Pacing()
        session = AzureSession(params, retry_budget_s=params.get("wait_timeout") or None, on_response=pacing.observe)
        targets = [target_from_hostvars(host, self.hostvars(task_vars, host), session.default_subscription)
                   for host in hosts]
        return session, pacing, targets

    @staticmethod
    def hosts(params, task_vars):
        return params["hosts"] or list(task_vars.get("ansible_play_batch") or [])

    @staticmethod
    def show(line):
        display.display(line)

    @staticmethod
    def hostvars(task_vars, host):
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
