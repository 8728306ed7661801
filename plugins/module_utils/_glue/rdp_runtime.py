# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RDP modules' one run: the module's VM through the RDP engine, and its result as the task's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine import RdpEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import TARGET_EXCLUSIVE
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.module_runtime import (
    connect,
    new_module,
    run_module,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import rdp_options

# What a task returns of the engine's result for its one VM.
RESULT_KEYS = ("changed", "healthy", "vm", "network", "guest", "vmaccess", "findings_before", "findings_after",
               "repairs", "refused", "needs_human", "fixed", "planned")


def run_rdp(module, pacing, repair):
    params = module.params
    options = rdp_options(params, repair=repair, check_mode=module.check_mode,
                          effective_rules=params["effective_rules"], max_workers=4)  # before any call
    target = target_from_options(params["vm_id"], params["resource_group"], params["vm_name"])
    session = connect(module, pacing)
    ref = target.ref
    target.ref = VmRef(session.subscription_for(ref.subscription_id), ref.resource_group, ref.name)
    outcome = RdpEngine(session.api, options, pacing=pacing).run([target])[0]
    result = dict((key, outcome.get(key)) for key in RESULT_KEYS)
    result["findings"] = outcome["findings_after"] if outcome["findings_after"] is not None else \
        outcome["findings_before"]
    if not repair:
        for key in ("findings_before", "findings_after", "repairs", "refused", "fixed", "planned"):
            result.pop(key)
    if outcome["outcome"] in ("failed", "skipped"):
        result.update(failed=True, reason=outcome["reason"], msg=outcome["msg"], details={})
    else:
        result["msg"] = outcome["msg"]
    return result


def rdp_main(module_class, argument_spec, repair):
    """``main()`` of vm_rdp_check (repair False) and vm_rdp_repair (repair True)."""
    module = new_module(module_class, argument_spec=argument_spec, supports_check_mode=True,
                        mutually_exclusive=TARGET_EXCLUSIVE, required_one_of=[("vm_id", "vm_name")],
                        required_together=[("resource_group", "vm_name")])
    run_module(module, lambda pacing: run_rdp(module, pacing, repair=repair))
