# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules for Azure's HTTP error answers (ARM and Compute codes, statuses, messages): each rule
recognises one kind of failure and says what to do about it; the first that matches wins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

LEAST_PRIVILEGE_ACTIONS = (
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/extensions/read",
    "Microsoft.Compute/virtualMachines/extensions/write",
    # Polling the extension's long-running operation (Azure-AsyncOperation URL).
    "Microsoft.Compute/locations/operations/read",
)

CREDENTIAL_ADVICE = (
    "Check client_id, secret and tenant (or AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT), "
    "the AWX Azure Resource Manager credential, and cloud_environment."
)

ARM_AUTH_CODES = (
    "AuthenticationFailed", "InvalidAuthenticationToken", "ExpiredAuthenticationToken",
    "InvalidAuthenticationTokenAudience", "InvalidAuthenticationTokenTenant",
    "AuthenticationFailedMissingToken",
)
_NOT_RUNNING_PHRASES = ("not running", "deallocat", "vm is stopped", "stopped state")
_DISALLOWED_PHRASES = ("extension operations are disallowed", "allowextensionoperations")
_DUPLICATE_PHRASE = "multiple vmextensions per handler"
_RUN_COMMAND_BUSY = "run command extension execution is in progress"
_SERVER_SIDE_CODES = ("InternalExecutionError", "InternalServerError", "InternalOperationError")


def from_http(facts, where):
    for rule in _HTTP_RULES:
        error = rule(facts, where)
        if error is not None:
            return error
    return unexpected_response(where, facts)  # pragma: no cover - the last rule always answers


def _error(reason, message, facts):
    return VmAccessError(reason, message, **facts.details())


def _azure_says(facts):
    """'CODE: message' from Azure, for messages that quote Azure."""
    if facts.code and facts.azure_message:
        return "{0}: {1}".format(facts.code, facts.azure_message)
    return facts.azure_message or facts.code or "no details"


# Compute's own codes for what went wrong with the extension: (codes, reason, message). A message
# may use {where} (what we were doing), {code} (Azure's code) and {azure} (Azure's message).
_EXTENSION_CODES = (
    (("VMExtensionProvisioningError",), "extension_failed",
     "The VMAccess extension failed inside the VM while trying to {where}: {azure} Fix the cause Windows reports "
     "and run again (guest logs: C:\\WindowsAzure\\Logs\\Plugins\\Microsoft.Compute.VMAccessAgent)."),
    (("VMAgentStatusCommunicationError",), "agent_not_ready",
     "The VM agent did not report while trying to {where} ({code}). Check that the VM booted, the Windows Azure "
     "Guest Agent service runs and the VM can reach Azure storage outbound, then run again."),
    (("VMExtensionProvisioningTimeout",), "extension_timeout",
     "Azure timed out waiting for the VMAccess extension while trying to {where} ({code}). Check the VM agent and "
     "the guest's health (boot diagnostics), then run again."),
    (("MultipleExtensionsPerHandlerNotAllowed",), "duplicate_handler",
     "The VM already has a VMAccessAgent extension under another name, so Azure refused to {where}: {azure} Reuse "
     "that extension's name, or remove it first."),
    (("PropertyChangeNotAllowed",), "property_change_not_allowed",
     "An extension with this name exists with another publisher or type, so Azure refused to {where}: {azure} Use "
     "a different extension name, or remove the existing one."),
    (("ArtifactVersionNotFound", "ArtifactNotFound"), "extension_version_not_found",
     "Azure has no such VMAccessAgent version in this region while trying to {where}: {azure} Use version 2.4 (the "
     "default) or the version the VM already runs."),
)


def _rule_extension(facts, where):
    for codes, reason, message in _EXTENSION_CODES:
        duplicate = reason == "duplicate_handler" and facts.says(_DUPLICATE_PHRASE)
        if facts.has_code(*codes) or duplicate:
            return _error(reason, message.format(where=where, code=facts.code,
                                                 azure=facts.azure_message or facts.code), facts)
    return None


def _rule_vm_state(facts, where):
    if facts.says(*_DISALLOWED_PHRASES):
        return _error(
            "extensions_disallowed",
            "Extension operations are disabled on this VM, so Azure refused to {0} ({1}). Install the "
            "VM agent and set osProfile.allowExtensionOperations to true, then run again.".format(
                where, facts.code or "OperationNotAllowed"),
            facts)
    if facts.has_code("CannotModifyExtensionsWhenVMNotRunning") or (
            facts.has_code("OperationNotAllowed", "Conflict") and facts.says(*_NOT_RUNNING_PHRASES)):
        return _error(
            "vm_not_running",
            "The VM is not running, so Azure refused to {0} ({1}). Start the VM (az vm start -g <rg> "
            "-n <vm>) and run again.".format(where, facts.code or "OperationNotAllowed"),
            facts)
    return None


def _rule_authentication(facts, where):
    if not (facts.status == 401 or facts.has_code(*ARM_AUTH_CODES)):
        return None
    if facts.has_code("InvalidAuthenticationTokenAudience"):
        advice = ("The token was issued for another cloud: set cloud_environment (or "
                  "AZURE_CLOUD_ENVIRONMENT) to the cloud the subscription lives in.")
    elif facts.has_code("ExpiredAuthenticationToken"):
        advice = "The token expired: check the controller's clock and run again."
    elif facts.has_code("InvalidAuthenticationTokenTenant"):
        advice = "The subscription belongs to another tenant: set tenant to the subscription's tenant."
    else:
        advice = CREDENTIAL_ADVICE
    return _error(
        "authentication_failed",
        "Azure Resource Manager rejected the token while trying to {0} ({1}). {2}".format(
            where, facts.code or "HTTP 401", advice),
        facts)


_ACTION_PATTERN = re.compile(r"action '([^']+)'")
_SCOPE_PATTERN = re.compile(r"scope '([^']+)'")


def _rule_authorization(facts, where):
    if not (facts.status == 403 or facts.has_code("AuthorizationFailed", "LinkedAuthorizationFailed",
                                                  "RequestDisallowedByPolicy")):
        return None
    if facts.has_code("RequestDisallowedByPolicy"):
        return _error(
            "authorization_failed",
            "An Azure Policy assignment denied the request to {0}: {1} Ask the policy owner for an "
            "exemption for this VM.".format(where, facts.azure_message),
            facts)
    action = _ACTION_PATTERN.search(facts.azure_message)
    scope = _SCOPE_PATTERN.search(facts.azure_message)
    denied = ""
    if action:
        denied = " (missing {0}{1})".format(
            action.group(1), " on {0}".format(scope.group(1)) if scope else "")
    return _error(
        "authorization_failed",
        "The principal may not {0}{1} ({2}). Grant it {3} on the VM or its resource group, or the "
        "built-in role Virtual Machine Contributor; role assignments can take a few minutes to "
        "apply.".format(where, denied, facts.code or "HTTP 403", ", ".join(LEAST_PRIVILEGE_ACTIONS)),
        facts)


_VM_PATH = re.compile(r"microsoft\.compute/virtualmachines/[^/'\"\s]+(?P<child>/[^'\"\s]*)?", re.I)


def _rule_not_found(facts, where):
    if facts.has_code("SubscriptionNotFound", "InvalidSubscriptionId"):
        return _error(
            "subscription_not_found",
            "The subscription was not found while trying to {0} ({1}). Check subscription_id and that "
            "the principal has access to it.".format(where, facts.code),
            facts)
    if facts.has_code("ResourceGroupNotFound"):
        return _error(
            "resource_group_not_found",
            "The resource group was not found while trying to {0} ({1}). Check resource_group (and "
            "subscription_id).".format(where, facts.code),
            facts)
    if not (facts.status == 404 or facts.has_code("ResourceNotFound", "NotFound")):
        return None
    if _names_a_vm(facts, where):
        return _error(
            "vm_not_found",
            "The VM was not found while trying to {0} ({1}). Check vm_name / vm_id, resource_group "
            "and subscription_id.".format(where, facts.code or "HTTP 404"),
            facts)
    return _error(
        "resource_not_found",
        "Azure found no such resource while trying to {0}: {1}".format(where, _azure_says(facts)),
        facts)


def _names_a_vm(facts, where):
    """Is a 404 about the VM itself (not an extension or operation under it)?

    Azure's message names the missing resource when it can ("The Resource
    'Microsoft.Compute/virtualMachines/vm1' under resource group ..."); otherwise what we
    were doing decides: reading an extension that is not there is not a missing VM.
    """
    match = _VM_PATH.search(facts.text)
    if match:
        return not match.group("child")
    operation = where.operation.lower()
    if "extension" in operation or "operation" in operation:
        return False
    match = _VM_PATH.search(where.target)
    if match:
        return not match.group("child")
    return bool(re.search(r"\b(vm|vms|virtual machines?)\b", operation))


def _rule_throttled(facts, where):
    if not (facts.status == 429 or facts.has_code("TooManyRequests", "ResourceRequestsThrottled",
                                                  "SubscriptionRequestsThrottled")):
        return None
    wait = " Azure asks to retry after {0} s.".format(facts.retry_after) if facts.retry_after is not None else ""
    return _error(
        "throttled",
        "Azure throttled the request to {0} ({1}) and retries did not get through.{2} Wait, then "
        "run again with fewer forks or a lower throttle / batch size.".format(
            where, facts.code or "HTTP 429", wait),
        facts)


def _rule_by_status(facts, where):
    status = facts.status
    if status == 409 and facts.says(_RUN_COMMAND_BUSY):
        return _error(
            "run_command_busy",
            "Another Run Command script is still running on the VM, so Azure refused to {0}. Wait for it to "
            "finish (Run Command runs one script at a time per VM), then run again.".format(where),
            facts)
    if status == 409:
        advice = ("Remove the lock or ask its owner." if facts.has_code("ScopeLocked")
                  else "Wait for the VM's other operations to finish, then run again.")
        return _error(
            "conflict",
            "Azure refused to {0} because of the resource's state: {1} {2}".format(
                where, _azure_says(facts), advice),
            facts)
    if status is not None and status >= 500:
        return _error(
            "azure_service_error",
            "Azure returned a server error (HTTP {0}) while trying to {1}: {2} Run again later; if it "
            "persists, open a support case with the request id.".format(status, where, _azure_says(facts)),
            facts)
    if status is not None and 400 <= status < 500:
        return _error(
            "bad_request",
            "Azure rejected the request to {0}: {1}".format(where, _azure_says(facts)),
            facts)
    if facts.has_code(*_SERVER_SIDE_CODES):
        return _error(
            "azure_service_error",
            "An Azure operation failed on the server side while trying to {0}: {1} Run again later.".format(
                where, _azure_says(facts)),
            facts)
    if facts.code:
        # A long-running operation that ended Failed/Canceled with a code not mapped above.
        return _error(
            "operation_failed",
            "The Azure operation to {0} did not succeed: {1}".format(where, _azure_says(facts)),
            facts)
    return unexpected_response(where, facts)


_HTTP_RULES = (
    _rule_extension,
    _rule_vm_state,
    _rule_authentication,
    _rule_authorization,
    _rule_not_found,
    _rule_throttled,
    _rule_by_status,
)


def unexpected_response(where, facts):
    details = facts.details() if facts is not None else {}
    return VmAccessError(
        "unexpected_response",
        "Azure's response could not be understood while trying to {0}. Run again; if it persists, "
        "check any proxy between the controller and Azure.".format(where),
        **details)
