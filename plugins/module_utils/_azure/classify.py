# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Any exception raised while talking to Azure, as a VmAccessError: credential failures, HTTP
answers (see http_rules), connection and TLS failures, missing packages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        DecodeError,
        DeserializationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )
except ImportError:  # the import sanity test loads this without the SDK

    class _NeverRaised(Exception):
        """Stands in for an azure-core class so isinstance() checks stay valid without the SDK."""

    ClientAuthenticationError = DecodeError = DeserializationError = _NeverRaised
    HttpResponseError = ServiceRequestError = ServiceResponseError = _NeverRaised

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.error_facts import (
    AzureFacts,
    exception_message,
    first_line,
    first_sentence,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.http_rules import (
    ARM_AUTH_CODES,
    CREDENTIAL_ADVICE,
    from_http,
    unexpected_response,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError, scrub


def classify_azure_error(exc, *, operation, target=""):
    """Turn any exception raised while talking to Azure into a VmAccessError.

    ``operation`` says what we were doing ("read the virtual machine", "update the VMAccess
    extension", ...) and ``target`` names the VM or resource for the message. Raise the result
    with ``from None`` so Azure's exception (and its response) stays out of tracebacks.
    """
    if isinstance(exc, VmAccessError):
        return exc
    return _classify(exc, _Context(operation, target))


class _Context:
    """What we were doing when it failed; ``str()`` is the phrase used in messages."""

    def __init__(self, operation, target):
        self.operation = operation or "call Azure"
        self.target = target or ""

    def __str__(self):
        return "{0} {1}".format(self.operation, self.target) if self.target else self.operation

    def __format__(self, spec):
        return format(str(self), spec)


def _classify(exc, where):
    if _is_named(exc, "CredentialUnavailableError"):
        return _missing_credentials(exc, where)
    if isinstance(exc, ClientAuthenticationError) or _is_named(exc, "ClientAuthenticationError"):
        facts = AzureFacts(exc)
        if facts.has_code(*ARM_AUTH_CODES):
            return from_http(facts, where)
        unreachable = _connection_cause(exc) if facts.status is None else None
        if unreachable is not None:  # the token endpoint was never reached (TLS, DNS, proxy): not a refusal
            return _connection_error(unreachable, where)
        return _credential_failure(exc, facts, where)
    if isinstance(exc, DecodeError):
        return unexpected_response(where, AzureFacts(exc))
    if isinstance(exc, HttpResponseError):
        return from_http(AzureFacts(exc), where)
    if _is_connection_error(exc):
        return _connection_error(exc, where)
    if isinstance(exc, (DeserializationError, UnicodeDecodeError)) or isinstance(exc, json.JSONDecodeError):
        return unexpected_response(where, None)
    if isinstance(exc, ImportError):
        return _missing_dependency(exc, where)
    if isinstance(exc, TimeoutError):
        return VmAccessError(
            "operation_timeout",
            "Timed out while waiting to {0}. Raise wait_timeout, or run with wait: false and check "
            "the outcome later with vm_access_info.".format(where),
        )
    return VmAccessError(
        "unexpected_error",
        "Unexpected {0} while trying to {1}. Run again with -vvv; if it persists, report it "
        "with the module version.".format(type(exc).__name__, where),
        exception_type=type(exc).__name__,
    )


def _is_named(exc, class_name):
    """isinstance() by class name, for classes whose package may be absent (azure-identity, requests)."""
    return any(cls.__name__ == class_name for cls in type(exc).__mro__)


def _is_connection_error(exc):
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError)):
        return True
    for cls in type(exc).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module.startswith(("requests", "urllib3")) and cls.__name__ in (
            "ConnectionError", "Timeout", "ProtocolError", "SSLError", "NewConnectionError",
        ):
            return True
    return False


def _connection_cause(exc):
    """The connection error an azure-identity error wraps, if any (it re-raises transport failures
    at the token endpoint as ClientAuthenticationError)."""
    seen = set()
    current = exc.__cause__ or exc.__context__
    while current is not None and id(current) not in seen:
        if _is_connection_error(current):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    message = exception_message(exc).lower()
    if any(hint in message for hint in ("certificate_verify_failed", "certificate verify failed", "sslerror")):
        return exc
    return None


# --- credentials ----------------------------------------------------------------------------

_AADSTS_PATTERN = re.compile(r"\bAADSTS(\d{5,8})\b")
_AADSTS_ADVICE = {
    "7000215": "The client secret is wrong: use the secret's value (not its id) in secret / AZURE_SECRET.",
    "7000222": "The client secret has expired: create a new secret for the app and update the credential.",
    "700016": "No application with this client_id exists in the tenant: check client_id and tenant.",
    "90002": "The tenant was not found: check tenant (directory id) and cloud_environment.",
    "900023": "The tenant id is malformed: check tenant.",
    "700024": "The federated token has expired or is not yet valid: check AZURE_FEDERATED_TOKEN_FILE is fresh.",
    "70021": "No federated identity credential matches this token: check the app's federated credential subject.",
    "700027": "The client certificate or assertion signature is invalid: check certificate_path.",
    "53003": "A Conditional Access policy blocked the sign-in: ask your Entra ID administrator.",
}
_CHAIN_FAILED = "failed to retrieve a token from the included credentials"


def _missing_credentials(exc, where):
    return VmAccessError(
        "missing_credentials",
        "No usable Azure credentials to {0}: {1} Set client_id, secret and tenant (or the AZURE_* "
        "environment variables), attach an Azure Resource Manager credential in AWX, or choose "
        "another auth_source (cli, msi, workload_identity).".format(
            where, first_line(exception_message(exc)) or "the credential source is unavailable."),
    )


def _credential_failure(exc, facts, where):
    message = exception_message(exc)
    aadsts = _AADSTS_PATTERN.search(message)
    if aadsts is None and _CHAIN_FAILED in message:
        return _missing_credentials(exc, where)
    code = "AADSTS" + aadsts.group(1) if aadsts else None
    advice = _AADSTS_ADVICE.get(aadsts.group(1), CREDENTIAL_ADVICE) if aadsts else CREDENTIAL_ADVICE
    return VmAccessError(
        "authentication_failed",
        "Microsoft Entra ID (Azure AD) refused the credentials while trying to {0}: {1} {2}".format(
            where, scrub(first_sentence(message)), advice),
        azure_error_code=code,
        status_code=facts.status,
        request_id=facts.request_id,
        correlation_id=facts.correlation_id,
    )


# --- everything else ------------------------------------------------------------------------

_TLS_HINTS = ("certificate_verify_failed", "certificate verify failed", "ssl", "tls")


def _connection_error(exc, where):
    # OSError's args[0] is the errno; str() gives "[Errno 111] Connection refused".
    own_message = getattr(exc, "message", None)
    text = first_line(own_message if isinstance(own_message, str) else str(exc))
    if any(hint in text.lower() for hint in _TLS_HINTS):
        advice = ("TLS verification failed: put the endpoint's CA in REQUESTS_CA_BUNDLE "
                  "(certificates are always verified).")
    else:
        advice = "Check DNS, the proxy (HTTPS_PROXY), firewalls and cloud_environment, then run again."
    return VmAccessError(
        "connection_error",
        "Could not reach Azure to {0} ({1}: {2}). {3}".format(where, type(exc).__name__, text, advice),
    )


def _missing_dependency(exc, where):
    name = getattr(exc, "name", None) or "a required package"
    return VmAccessError(
        "missing_dependency",
        "Python package {0} is missing, needed to {1}. Install the collection's requirements.txt "
        "into the interpreter Ansible uses (or use the execution environment).".format(name, where),
    )
