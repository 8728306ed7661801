# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection does around its own work.

Check the SDK is importable, validate input before any API call, connect, run, and turn every
failure into ``fail_json`` with a stable ``reason`` and a message scrubbed of secrets — never a
traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect
import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.azure_ops.vm_access.plugins.module_utils.azure_auth import (
    AZURE_AUTH_ARGSPEC,
    AZURE_SDK_IMPORT_ERROR,
    HAS_AZURE_SDK,
    connect,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.compute_api import ComputeApi
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError, argument_check, scrub
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_state import (
    VmRef,
    check_resource_name,
    parse_vm_id,
)

AUTH_ARGSPEC = AZURE_AUTH_ARGSPEC
# Poll the extension's operation every 10 s unless Azure's Retry-After says otherwise
# (azure-core's default of 30 s adds ~15 s to every reset).
POLLING_INTERVAL_S = 10


def new_module(module_class, **kwargs):
    """``module_class(**kwargs)`` (AnsibleModule), failing cleanly where ansible-core raises.

    A value ansible-core's own checks raise on instead of rejecting (see errors.argument_check)
    ends the module as invalid_argument through fail_json, so no_log options stay hidden.
    """
    failure = None
    try:
        with argument_check():
            return module_class(**kwargs)
    except VmAccessError as error:
        failure = error
    # Outside the except block, or ansible-core 2.19 attaches the traceback at -vvv.
    lenient = dict(kwargs, argument_spec=_ints_unchecked(kwargs["argument_spec"]))
    _fail(module_class(**lenient), failure, [], time.monotonic())
    return None  # not reached: fail_json exits


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


def target_vm(params):
    """The VM a module was pointed at, and the subscription it lives in (None: from auth)."""
    if params.get("vm_id"):
        ref = parse_vm_id(params["vm_id"])
        return ref, ref.subscription_id
    check_resource_name(params.get("resource_group"), "resource_group")
    check_resource_name(params.get("vm_name"), "vm_name")
    return VmRef(None, params["resource_group"], params["vm_name"]), None


def _fail(module, error, secrets, started):
    result = dict(error.details)
    result.pop("msg", None)
    # Looked up at call time: the `import` sanity test replaces AnsibleModule at import time.
    if "exception" in inspect.signature(module.fail_json).parameters:
        # ansible-core 2.19+ attaches the current call stack at -vvv unless told otherwise.
        result["exception"] = ""
    module.fail_json(
        msg=scrub(error.message, secrets),
        reason=error.reason,
        duration_s=round(time.monotonic() - started, 3),
        **_scrub_values(result, secrets)
    )


def _scrub_values(value, secrets):
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return dict((k, _scrub_values(v, secrets)) for k, v in value.items())
    if isinstance(value, list):
        return [_scrub_values(v, secrets) for v in value]
    return value


def run_module(module, validate, work, secrets=(), subscription_id=None):
    """Run ``work(api, subscription_id)`` and exit the module with its result.

    ``validate()`` runs first and must raise VmAccessError for bad input: no API call is made
    before it passes. ``subscription_id`` overrides the one from authentication (a VM id's).
    """
    started = time.monotonic()
    secrets = [s for s in secrets if s]
    if not HAS_AZURE_SDK:
        module.fail_json(
            msg=missing_required_lib("azure-identity and azure-mgmt-compute"),
            exception=AZURE_SDK_IMPORT_ERROR,
            reason="missing_dependency",
        )
    failure = None
    try:
        validate()
        params = dict(module.params)
        if callable(subscription_id):
            subscription_id = subscription_id()
        if subscription_id:
            params["subscription_id"] = subscription_id
        # One ARM call's retries end within the task's wait_timeout (a long Retry-After fails as throttled).
        connection = connect(params, **({"retry_budget_s": params["wait_timeout"]} if params.get("wait_timeout") else {}))
        secrets.extend(s for s in (params.get("secret"), params.get("certificate_password")) if s)
        api = ComputeApi(connection.client, polling_interval=POLLING_INTERVAL_S,
                         subscription_id=connection.subscription_id)
        result = work(api, connection.subscription_id)
    except VmAccessError as error:
        failure = error
    except Exception as error:  # last resort: a reason code and no traceback
        failure = VmAccessError(
            "unexpected_error",
            "Unexpected %s: %s. Please report this with the task's arguments (never the password)."
            % (type(error).__name__, error),
        )
    if failure is not None:
        # Failing outside the except block keeps Ansible from attaching a traceback at -vvv.
        _fail(module, failure, secrets, started)

    for warning in result.pop("warnings", []):
        module.warn(scrub(warning, secrets))
    diff = result.pop("diff", None)
    if module._diff and diff is not None:
        result["diff"] = diff
    module.exit_json(**_scrub_values(result, secrets))
