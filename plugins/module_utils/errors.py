# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failures as a stable reason code plus a message that says what happened and what to do.

Everything that can reach a user (module results, warnings, logs) goes through ``scrub()``
so that secrets and tokens never leave this layer. Azure exceptions are turned into a
``VmAccessError`` by ``classify_azure_error()``.

This file must import with only the standard library present: the ansible-test ``import``
sanity test loads module_utils without the Azure SDK installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import email.utils
import json
import re
import time
from contextlib import contextmanager

try:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        DecodeError,
        DeserializationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )
    HAS_AZURE_CORE = True
except ImportError:  # the SDK is optional at import time; see the module docstring
    HAS_AZURE_CORE = False

    class _NeverRaised(Exception):
        """Stands in for an azure-core class so isinstance() checks stay valid without the SDK."""

    ClientAuthenticationError = DecodeError = DeserializationError = _NeverRaised
    HttpResponseError = ServiceRequestError = ServiceResponseError = _NeverRaised


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
}

MASK = "********"
MAX_AZURE_MESSAGE = 600  # Azure's in-guest messages can carry whole .NET stack traces

LEAST_PRIVILEGE_ACTIONS = (
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/extensions/read",
    "Microsoft.Compute/virtualMachines/extensions/write",
    # Polling the extension's long-running operation (Azure-AsyncOperation URL).
    "Microsoft.Compute/locations/operations/read",
)


class VmAccessError(Exception):
    """A failure with a stable reason code and a message that says what happened and what to do."""

    def __init__(self, reason, message, **details):
        # Scrubbing here too means no caller can forget it; secret values are scrubbed by callers.
        self.reason = reason
        self.message = scrub(str(message))
        self.details = _safe_details(details)
        super(VmAccessError, self).__init__(self.message)

    def to_result(self):
        """Return the fields for a module's failure result: reason, msg and the safe details."""
        result = {"reason": self.reason, "msg": self.message}
        for key, value in self.details.items():
            result.setdefault(key, value)
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


def _safe_details(details):
    safe = {}
    for key, value in details.items():
        if value is None:
            continue
        safe[key] = _scrub_value(value)
    return safe


def _scrub_value(value):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        return [_scrub_value(item) for item in value]
    if isinstance(value, dict):
        return dict((key, _scrub_value(item)) for key, item in value.items())
    return value


# ---------------------------------------------------------------------------------------------
# scrub()
# ---------------------------------------------------------------------------------------------

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


def scrub(text, secrets=()):
    """Return ``text`` without the given secret values and without token or secret patterns.

    Removes each secret as written and as it would appear JSON- or URL-encoded, any bearer
    token, ``Authorization:`` value, JWT, and ``access_token`` / ``client_secret`` /
    ``password`` style key-value pairs. Used on every message that goes to a user.
    """
    if text is None:
        return ""
    text = str(text)
    for variant in _secret_variants(secrets):
        text = text.replace(variant, MASK)
    text = _AUTHORIZATION_PATTERN.sub(lambda match: match.group(1) + MASK, text)
    text = _BEARER_PATTERN.sub(lambda match: match.group(1) + " " + MASK, text)
    text = _JWT_PATTERN.sub(MASK, text)
    text = _KEY_VALUE_PATTERN.sub(lambda match: match.group(1) + MASK, text)
    return text


def _secret_variants(secrets):
    """Every spelling under which a secret may appear in a message, longest first."""
    try:
        from urllib.parse import quote, quote_plus
    except ImportError:  # pragma: no cover - Python 2 is not supported, but keep imports safe
        return []
    variants = set()
    for secret in secrets or ():
        if not secret or not isinstance(secret, str):
            continue
        variants.add(secret)
        variants.add(json.dumps(secret)[1:-1])
        variants.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        variants.add(quote(secret, safe=""))
        variants.add(quote_plus(secret, safe=""))
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in variants if v), key=len, reverse=True)


# ---------------------------------------------------------------------------------------------
# Facts pulled from an Azure exception
# ---------------------------------------------------------------------------------------------

_CODE_KEYS = ("code", "internalerrorcode", "errorcode")
_MAX_BODY_CHARS = 1000000


class _AzureFacts:
    """What we can safely learn from an azure-core exception: status, codes, message, ids."""

    def __init__(self, exc):
        self.status = _status_code(exc)
        error = getattr(exc, "error", None)
        self.code = getattr(error, "code", None) or ""
        # Scrubbed before it is quoted, so nothing Azure echoed can run into our own text.
        self.azure_message = _sentence(scrub(_clean_message(
            getattr(error, "message", None) or _exception_message(exc))))
        self.codes = set()
        self.texts = []
        _collect_from_odata(error, self.codes, self.texts)
        _collect_from_body(_response_text(exc), self.codes, self.texts)
        self.texts.append(_exception_message(exc))
        self.text = "\n".join(t for t in self.texts if t).lower()
        headers = _headers(exc)
        self.request_id = _header(headers, "x-ms-request-id")
        self.correlation_id = _header(headers, "x-ms-correlation-request-id")
        self.retry_after = _retry_after_seconds(headers)
        if not self.code and self.codes:
            self.code = sorted(self.codes)[0]

    def has_code(self, *codes):
        return any(code.lower() in self.codes for code in codes)

    def says(self, *phrases):
        return any(phrase in self.text for phrase in phrases)

    def details(self):
        return {
            "status_code": self.status,
            "azure_error_code": self.code or None,
            "request_id": self.request_id,
            "correlation_id": self.correlation_id,
            "retry_after": self.retry_after,
        }


def _status_code(exc):
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _exception_message(exc):
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        return message
    return str(exc.args[0]) if getattr(exc, "args", None) else ""


def _collect_from_odata(error, codes, texts, depth=0):
    if error is None or depth > 10:
        return
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        codes.add(code.lower())
    message = getattr(error, "message", None)
    if isinstance(message, str):
        texts.append(message)
    for detail in getattr(error, "details", None) or ():
        _collect_from_odata(detail, codes, texts, depth + 1)
    _collect_from_json(getattr(error, "innererror", None), codes, texts)


def _collect_from_body(body, codes, texts):
    if not body or len(body) > _MAX_BODY_CHARS:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return
    _collect_from_json(document, codes, texts)


def _collect_from_json(node, codes, texts, depth=0):
    """Walk a JSON document for error codes (also ARM's innerError/internalErrorCode) and messages."""
    if depth > 20:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            lowered = str(key).lower()
            if lowered in _CODE_KEYS and isinstance(value, str) and value:
                codes.add(value.lower())
            elif lowered == "message" and isinstance(value, str):
                texts.append(value)
            else:
                _collect_from_json(value, codes, texts, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _collect_from_json(item, codes, texts, depth + 1)


def _response_text(exc):
    response = getattr(exc, "response", None)
    if response is None:
        return ""
    try:
        text = response.text()
    except Exception:  # pylint: disable=broad-except  # a consumed or closed stream is not an error here
        return ""
    return text if isinstance(text, str) else ""


def _headers(exc):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if headers is not None else {}


def _header(headers, name):
    try:
        value = headers.get(name)
        if value is None:
            # Not every mapping is case-insensitive (test doubles, plain dicts).
            for key in headers:
                if str(key).lower() == name:
                    value = headers[key]
                    break
    except Exception:  # pylint: disable=broad-except
        return None
    return str(value) if value is not None else None


def _retry_after_seconds(headers, now=None):
    """Retry-After in whole seconds (from seconds, an HTTP date, or the *-ms variants)."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = _header(headers, name)
        if value and _is_number(value):
            return max(0, int(round(float(value) / 1000.0)))
    value = _header(headers, "retry-after")
    if not value:
        return None
    if _is_number(value):
        return max(0, int(round(float(value))))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0, int(round(moment.timestamp() - (now if now is not None else time.time()))))


def _is_number(value):
    try:
        float(value)
    except ValueError:
        return False
    return True


def _sentence(text):
    """Text that ends like a sentence, so the advice after it reads as a new one."""
    text = (text or "").rstrip()
    if text and not text.rstrip("'\")").endswith((".", "!", "?")):
        text += "."
    return text


_STACK_FRAME = re.compile(r"\s+at [A-Za-z_][\w.`<>]*\(")


def _clean_message(text, limit=MAX_AZURE_MESSAGE):
    """One line of Azure's message: no .NET stack frames, collapsed whitespace, bounded length."""
    if not text:
        return ""
    text = str(text)
    frame = _STACK_FRAME.search(text)
    if frame:
        text = text[:frame.start()]
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


# ---------------------------------------------------------------------------------------------
# classify_azure_error()
# ---------------------------------------------------------------------------------------------

def classify_azure_error(exc, *, operation, target="", secrets=()):
    """Turn any exception raised while talking to Azure into a VmAccessError.

    ``operation`` says what we were doing ("read VM", "update extension", "wait for
    extension", "get token"), ``target`` names the VM or resource for the message, and
    ``secrets`` are values to remove from anything Azure echoed back. Raise the result with
    ``from None`` so Azure's exception (and its response) stays out of tracebacks.
    """
    if isinstance(exc, VmAccessError):
        return exc
    error = _classify(exc, _Context(operation, target))
    return _rescrubbed(error, secrets)


class _Context:
    """What we were doing when it failed; ``str()`` is the phrase used in messages."""

    def __init__(self, operation, target):
        self.operation = operation or "call Azure"
        self.target = target or ""

    def __str__(self):
        return "{0} {1}".format(self.operation, self.target) if self.target else self.operation

    def __format__(self, spec):
        return format(str(self), spec)


def _rescrubbed(error, secrets):
    if not secrets:
        return error
    return VmAccessError(error.reason, scrub(error.message, secrets), **_scrub_with(error.details, secrets))


def _scrub_with(value, secrets):
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [_scrub_with(item, secrets) for item in value]
    if isinstance(value, dict):
        return dict((key, _scrub_with(item, secrets)) for key, item in value.items())
    return value


def _classify(exc, where):
    if _is_named(exc, "CredentialUnavailableError"):
        return _missing_credentials(exc, where)
    if isinstance(exc, ClientAuthenticationError) or _is_named(exc, "ClientAuthenticationError"):
        facts = _AzureFacts(exc)
        if facts.has_code(*_ARM_AUTH_CODES):
            return _from_http(facts, where)
        return _credential_failure(exc, facts, where)
    if isinstance(exc, DecodeError):
        return _unexpected_response(where, _AzureFacts(exc))
    if isinstance(exc, HttpResponseError):
        return _from_http(_AzureFacts(exc), where)
    if _is_connection_error(exc):
        return _connection_error(exc, where)
    if isinstance(exc, (DeserializationError, UnicodeDecodeError)) or isinstance(exc, json.JSONDecodeError):
        return _unexpected_response(where, None)
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
_CREDENTIAL_ADVICE = (
    "Check client_id, secret and tenant (or AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT), "
    "the AWX Azure Resource Manager credential, and cloud_environment."
)
_CHAIN_FAILED = "failed to retrieve a token from the included credentials"


def _missing_credentials(exc, where):
    return VmAccessError(
        "missing_credentials",
        "No usable Azure credentials to {0}: {1} Set client_id, secret and tenant (or the AZURE_* "
        "environment variables), attach an Azure Resource Manager credential in AWX, or choose "
        "another auth_source (cli, msi, workload_identity).".format(
            where, _first_line(_exception_message(exc)) or "the credential source is unavailable."),
    )


def _credential_failure(exc, facts, where):
    message = _exception_message(exc)
    aadsts = _AADSTS_PATTERN.search(message)
    if aadsts is None and _CHAIN_FAILED in message:
        return _missing_credentials(exc, where)
    code = "AADSTS" + aadsts.group(1) if aadsts else None
    advice = _AADSTS_ADVICE.get(aadsts.group(1), _CREDENTIAL_ADVICE) if aadsts else _CREDENTIAL_ADVICE
    return VmAccessError(
        "authentication_failed",
        "Microsoft Entra ID (Azure AD) refused the credentials while trying to {0}: {1} {2}".format(
            where, scrub(_first_sentence(message)), advice),
        azure_error_code=code,
        status_code=facts.status,
        request_id=facts.request_id,
        correlation_id=facts.correlation_id,
    )


def _first_line(text):
    return _clean_message((text or "").strip().splitlines()[0] if (text or "").strip() else "", 300)


def _first_sentence(text):
    """Azure AD messages run on with trace ids and timestamps; the first sentence says it all."""
    line = _first_line(text)
    line = re.sub(r"^Authentication failed:\s*", "", line)
    match = re.search(r"^(.*?AADSTS\d+:.*?[.!?])(\s|$)", line) or re.search(r"^(.*?[.!?])(\s|$)", line)
    sentence = match.group(1) if match else line
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


# --- HTTP responses ---------------------------------------------------------------------------

_ARM_AUTH_CODES = (
    "AuthenticationFailed", "InvalidAuthenticationToken", "ExpiredAuthenticationToken",
    "InvalidAuthenticationTokenAudience", "InvalidAuthenticationTokenTenant",
    "AuthenticationFailedMissingToken",
)
_NOT_RUNNING_PHRASES = ("not running", "deallocat", "vm is stopped", "stopped state")
_DISALLOWED_PHRASES = ("extension operations are disallowed", "allowextensionoperations")
_DUPLICATE_PHRASE = "multiple vmextensions per handler"
_SERVER_SIDE_CODES = ("InternalExecutionError", "InternalServerError", "InternalOperationError")


def _from_http(facts, where):
    for rule in _HTTP_RULES:
        error = rule(facts, where)
        if error is not None:
            return error
    return _unexpected_response(where, facts)  # pragma: no cover - the last rule always answers


def _error(reason, message, facts):
    return VmAccessError(reason, message, **facts.details())


def _azure_says(facts):
    """'CODE: message' from Azure, for messages that quote Azure."""
    if facts.code and facts.azure_message:
        return "{0}: {1}".format(facts.code, facts.azure_message)
    return facts.azure_message or facts.code or "no details"


def _rule_extension_run(facts, where):
    if facts.has_code("VMExtensionProvisioningError"):
        return _error(
            "extension_failed",
            "The VMAccess extension failed inside the VM while trying to {0}: {1} Fix the cause "
            "Windows reports and run again (guest logs: "
            "C:\\WindowsAzure\\Logs\\Plugins\\Microsoft.Compute.VMAccessAgent).".format(
                where, facts.azure_message or facts.code),
            facts)
    if facts.has_code("VMAgentStatusCommunicationError"):
        return _error(
            "agent_not_ready",
            "The VM agent did not report while trying to {0} ({1}). Check that the VM booted, "
            "the Windows Azure Guest Agent service runs and the VM can reach Azure storage "
            "outbound, then run again.".format(where, facts.code),
            facts)
    if facts.has_code("VMExtensionProvisioningTimeout"):
        return _error(
            "extension_timeout",
            "Azure timed out waiting for the VMAccess extension while trying to {0} ({1}). Check the "
            "VM agent and the guest's health (boot diagnostics), then run again.".format(
                where, facts.code),
            facts)
    return None


def _rule_extension_instance(facts, where):
    if facts.has_code("MultipleExtensionsPerHandlerNotAllowed") or facts.says(_DUPLICATE_PHRASE):
        return _error(
            "duplicate_handler",
            "The VM already has a VMAccessAgent extension under another name, so Azure refused to "
            "{0}: {1} Reuse that extension's name, or remove it first.".format(where, facts.azure_message),
            facts)
    if facts.has_code("PropertyChangeNotAllowed"):
        return _error(
            "property_change_not_allowed",
            "An extension with this name exists with another publisher or type, so Azure refused to "
            "{0}: {1} Use a different extension name, or remove the existing one.".format(
                where, facts.azure_message),
            facts)
    if facts.has_code("ArtifactVersionNotFound", "ArtifactNotFound"):
        return _error(
            "extension_version_not_found",
            "Azure has no such VMAccessAgent version in this region while trying to {0}: {1} Use "
            "version 2.4 (the default) or the version the VM already runs.".format(
                where, facts.azure_message),
            facts)
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
    if not (facts.status == 401 or facts.has_code(*_ARM_AUTH_CODES)):
        return None
    if facts.has_code("InvalidAuthenticationTokenAudience"):
        advice = ("The token was issued for another cloud: set cloud_environment (or "
                  "AZURE_CLOUD_ENVIRONMENT) to the cloud the subscription lives in.")
    elif facts.has_code("ExpiredAuthenticationToken"):
        advice = "The token expired: check the controller's clock and run again."
    elif facts.has_code("InvalidAuthenticationTokenTenant"):
        advice = "The subscription belongs to another tenant: set tenant to the subscription's tenant."
    else:
        advice = _CREDENTIAL_ADVICE
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
    return _unexpected_response(where, facts)


_HTTP_RULES = (
    _rule_extension_run,
    _rule_extension_instance,
    _rule_vm_state,
    _rule_authentication,
    _rule_authorization,
    _rule_not_found,
    _rule_throttled,
    _rule_by_status,
)


# --- everything else ------------------------------------------------------------------------

def _unexpected_response(where, facts):
    details = facts.details() if facts is not None else {}
    return VmAccessError(
        "unexpected_response",
        "Azure's response could not be understood while trying to {0}. Run again; if it persists, "
        "check any proxy between the controller and Azure.".format(where),
        **details)


_TLS_HINTS = ("certificate_verify_failed", "certificate verify failed", "ssl", "tls")


def _connection_error(exc, where):
    # OSError's args[0] is the errno; str() gives "[Errno 111] Connection refused".
    own_message = getattr(exc, "message", None)
    text = _first_line(own_message if isinstance(own_message, str) else str(exc))
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
