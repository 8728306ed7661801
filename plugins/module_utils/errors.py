# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failures as a stable reason code plus a message that says what happened and what to do.

``VmAccessError`` is the one exception every layer raises; ``REASONS`` lists its codes. Secret
*values* (passwords, client secrets) are masked by ansible-core (``no_log`` options,
``module.no_log_values``, ``remove_values``) where results leave for Ansible; ``scrub`` masks
what no option names: tokens and secret-looking key/value pairs Azure or a library may echo.

Imports with the standard library only (the ``import`` sanity test loads it without the SDK).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

REASONS = {
    "invalid_argument": "An option value is missing, malformed or conflicts with another option.",
    "invalid_username": "The user name breaks Azure's rules for Windows account names.",
    "invalid_password": "The password breaks Azure's or Windows' password rules; it was not sent.",
    "new_admin_not_allowed": "The user name differs from the VM's admin account and allow_new_admin is false.",
    "missing_dependency": "A required Python package (azure-identity, azure-mgmt-compute...) is not installed.",
    "missing_credentials": "No Azure credentials were found or the chosen credential source is unavailable.",
    "missing_subscription": "No subscription id was given by option, VM id or environment.",
    "cloud_discovery_failed": "The cloud's metadata endpoints could not be read or were not understood.",
    "authentication_failed": "Azure AD / ARM rejected the credentials or the token.",
    "authorization_failed": "The principal lacks a permission (or a policy denies the request).",
    "subscription_not_found": "The subscription does not exist or the principal cannot see it.",
    "resource_group_not_found": "The resource group does not exist in the subscription.",
    "vm_not_found": "The virtual machine does not exist in the resource group.",
    "resource_not_found": "Another Azure resource (extension, operation) was not found.",
    "not_windows": "The VM does not run Windows; VMAccessAgent only serves Windows VMs.",
    "vm_not_running": "The VM is stopped or deallocated; extensions can only run on a running VM.",
    "agent_not_ready": "The VM agent is not reporting, so no extension can run.",
    "extensions_disallowed": "Extension operations are disabled on the VM (osProfile.allowExtensionOperations).",
    "duplicate_handler": "Another VMAccessAgent instance already exists on the VM under a different name.",
    "property_change_not_allowed": "The existing extension instance has a different publisher or type.",
    "extension_version_not_found": "The requested VMAccessAgent typeHandlerVersion is not published.",
    "extension_failed": "The extension ran inside the VM and reported a failure.",
    "extension_timeout": "Azure gave up waiting for the extension to report (VMExtensionProvisioningTimeout).",
    "operation_timeout": "Our own wait_timeout ran out before Azure finished the operation.",
    "operation_failed": "A long-running Azure operation ended Failed or Canceled for another reason.",
    "conflict": "Azure refused the change because of the resource's current state (HTTP 409).",
    "bad_request": "Azure rejected the request as invalid (HTTP 400 or another 4xx).",
    "throttled": "Azure throttled the request (HTTP 429) and retries did not get through.",
    "azure_service_error": "Azure returned a server error (HTTP 5xx) after retries.",
    "connection_error": "The Azure endpoint could not be reached (DNS, TCP, TLS or a dropped connection).",
    "unexpected_response": "Azure's response could not be parsed.",
    "unexpected_error": "An unexpected error; the message names the exception type.",
    "vm_unresolved": "An inventory host's variables do not identify an Azure VM (fleet runs).",
    "not_targeted": "A host of the play batch that the fleet run was told to leave out (its hosts option).",
    "vault_unavailable": "Generated passwords need a vault secret to encrypt them, and none was given.",
    "run_command_busy": "Another Run Command script was still running on the VM (Run Command runs one at a time).",
    "rdp_needs_human": "Remote Desktop still fails after the repairs the collection may make; a person must act.",
    "key_vault_error": "Azure Key Vault failed or could not be reached (vault not found, refused, throttled, 5xx).",
    "key_vault_forbidden": "The principal lacks a Key Vault data permission on the vault (HTTP 403).",
    "secret_not_found": "The Key Vault secret (or the version) holding the password does not exist.",
    "secret_conflict": "A Key Vault secret's versions or tags do not fit the request (another VM's secret, ...).",
}

MASK = "********"


class VmAccessError(Exception):
    """A failure with a stable reason code and a message that says what happened and what to do."""

    def __init__(self, reason, message, **details):
        self.reason = reason
        self.message = scrub(str(message))
        self.details = dict((key, scrub(value) if isinstance(value, str) else value)
                            for key, value in details.items() if value is not None)
        super(VmAccessError, self).__init__(self.message)

    def to_result(self):
        """The fields of a failure result: reason, msg and the details."""
        result = dict(self.details)
        result.update(reason=self.reason, msg=self.message)
        return result

    def __repr__(self):
        return "VmAccessError({0!r}, {1!r})".format(self.reason, self.message)


NOT_A_FINITE_NUMBER = (
    "An integer option was given a value that is not a finite number (such as 'inf' or 'Infinity'). "
    "Give a whole number, for example wait_timeout: 900.")


@contextmanager
def argument_check():
    """Around ansible-core's argument validation (AnsibleModule, ArgumentSpecValidator).

    ansible-core up to 2.19 lets an OverflowError out of its int conversion for 'inf' and
    'Infinity' (fixed upstream in ansible/ansible#87253); this turns it into invalid_argument.
    """
    try:
        yield
    except OverflowError:
        raise VmAccessError("invalid_argument", NOT_A_FINITE_NUMBER) from None


_SECRET_KEYS = (
    "access_token", "refresh_token", "id_token", "client_secret", "client_assertion",
    "azure_secret", "azure_client_secret", "password", "secret", "accountkey", "sig",
    "x-identity-header", "identity_header",
)
_KEY_VALUE_PATTERN = re.compile(
    r"""(?ix)
    (?<![\w-])(["']?(?:%s)["']?\s*[:=]\s*)       # a secret-looking key and its separator
    (?: "(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*' | [^\s"'&,;}\]]+ )   # quoted or bare value
    """ % "|".join(re.escape(key) for key in _SECRET_KEYS)
)
# The header's value: an optional scheme word and one credential, never the rest of the line.
_AUTHORIZATION_PATTERN = re.compile(
    r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)(?:[a-z-]+\s+)?[^\s"',;}\]]+""")
_BEARER_PATTERN = re.compile(r"(?i)(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*")
_JWT_PATTERN = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def scrub(text):
    """``text`` without bearer tokens, ``Authorization:`` values, JWTs and ``access_token`` /
    ``client_secret`` / ``password`` style key-value pairs."""
    if text is None:
        return ""
    text = str(text)
    text = _AUTHORIZATION_PATTERN.sub(lambda match: match.group(1) + MASK, text)
    text = _BEARER_PATTERN.sub(lambda match: match.group(1) + " " + MASK, text)
    text = _JWT_PATTERN.sub(MASK, text)
    return _KEY_VALUE_PATTERN.sub(lambda match: match.group(1) + MASK, text)


def secret_spellings(values):
    """Every spelling under which a secret value may appear in a message (as written, JSON-escaped,
    URL-encoded), for ansible-core's masking (``no_log_values`` / ``remove_values``)."""
    spellings = set()
    for value in values or ():
        if not value or not isinstance(value, str):
            continue
        spellings.update((value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                          quote(value, safe=""), quote_plus(value, safe="")))
    return set(spelling for spelling in spellings if spelling)
