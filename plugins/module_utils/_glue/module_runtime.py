# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection does around its own work: build the AnsibleModule, connect,
run, and end with ``exit_json`` or with ``fail_json`` carrying a stable ``reason`` — never a
traceback. Secret option values are masked by AnsibleModule itself (``no_log`` options)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect
import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure import session as azure_session
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.masking import mask_secrets
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import (
    VmAccessError,
    argument_check,
    secret_spellings,
)


def new_module(module_class, **kwargs):
    """``module_class(**kwargs)`` (AnsibleModule), failing cleanly where ansible-core raises.

    A value ansible-core's own checks raise on instead of rejecting (see errors.argument_check)
    ends the module as invalid_argument through fail_json, so no_log options stay hidden.
    """
    module_class = _with_argument_reason(module_class)
    failure = None
    try:
        with argument_check():
            return module_class(**kwargs)
    except VmAccessError as error:
        failure = error
    # Outside the except block, or ansible-core 2.19 attaches the traceback at -vvv.
    lenient = dict(kwargs, argument_spec=_ints_unchecked(kwargs["argument_spec"]))
    fail(module_class(**lenient), failure, time.monotonic())
    return None  # not reached: fail_json exits


def _with_argument_reason(module_class):
    """``module_class`` whose failures without a reason are ansible-core's own argument checks (a missing
    or mistyped option): they end with reason invalid_argument like every other failure of ours."""

    class Module(module_class):
        def fail_json(self, msg, **kwargs):
            kwargs.setdefault("reason", "invalid_argument")
            super(Module, self).fail_json(msg, **kwargs)

    return Module


def _ints_unchecked(spec):
    out = {}
    for name, option in spec.items():
        option = dict(option)
        if option.get("type") == "int":
            option["type"] = "raw"
        if option.get("options"):
            option["options"] = _ints_unchecked(option["options"])
        out[name] = option
    return out


def fail(module, error, started, **result):
    """``fail_json`` with the error's reason, message and details."""
    result.update(error.details)
    for key in ("msg", "reason", "duration_s"):
        result.pop(key, None)
    # Looked up at call time: the `import` sanity test replaces AnsibleModule at import time.
    if "exception" in inspect.signature(module.fail_json).parameters:
        # ansible-core 2.19+ attaches the current call stack at -vvv unless told otherwise.
        result["exception"] = ""
    result = mask_secrets(dict(result, msg=error.message), getattr(module, "no_log_values", ()))
    module.fail_json(reason=error.reason, duration_s=round(time.monotonic() - started, 3), **result)


def connect(module, pacing=None):
    """The module's AzureSession; one ARM call's retries end within the task's wait_timeout."""
    budget = module.params.get("wait_timeout") or azure_session.DEFAULT_RETRY_BUDGET_S
    return azure_session.AzureSession(module.params, retry_budget_s=budget,
                                      on_response=pacing.observe if pacing is not None else None)


def run_module(module, work):
    """Run ``work(pacing)`` and exit the module with the result dict it returns.

    ``work`` validates its input before any API call and raises VmAccessError for every failure;
    a result with ``failed`` set ends through ``fail_json`` with its ``reason``.
    """
    started = time.monotonic()
    # ansible-core masks no_log values as written; mask their escaped spellings too.
    module.no_log_values.update(secret_spellings(list(module.no_log_values)))
    if not azure_session.HAS_AZURE_SDK:
        module.fail_json(msg=missing_required_lib("azure-identity and azure-mgmt-compute"),
                         exception=azure_session.AZURE_SDK_IMPORT_ERROR, reason="missing_dependency")
    failure = None
    try:
        result = work(Pacing())
    except VmAccessError as error:
        failure = error
    except Exception as error:  # last resort: a reason code and no traceback
        failure = VmAccessError(
            "unexpected_error",
            "Unexpected %s: %s. Please report this with the task's arguments (never the password)."
            % (type(error).__name__, error))
    if failure is not None:
        # Failing outside the except block keeps Ansible from attaching a traceback at -vvv.
        fail(module, failure, started)
    result = mask_secrets(result, module.no_log_values)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff", None)
    if module._diff and diff is not None:
        result["diff"] = diff
    if result.pop("failed", False):
        error = VmAccessError(result.pop("reason"), result.pop("msg"), **result.pop("details", {}))
        fail(module, error, started, **result)
    module.exit_json(duration_s=round(time.monotonic() - started, 3), **result)


def action_only(module_class, argument_spec, name):
    """The module side of a controller action (its doc stub): reached only when the action plugin was
    bypassed, so it says how to call it."""
    module = module_class(argument_spec=argument_spec, supports_check_mode=True)
    module.fail_json(msg="%s runs on the controller through its action plugin; call it as azure_ops.vm_access.%s."
                         % (name, name), reason="invalid_argument")
