"""Azure exceptions -> reason codes and scrubbed messages (errors.py).

The HttpResponseError objects here are real azure-core exceptions built from fake HTTP
responses (no network); the last group drives the real ComputeManagementClient through a
scripted transport so the SDK itself raises, including its long-running-operation poller.
"""

from __future__ import annotations

import email.utils
import http
import json
import re
import time
import urllib.parse

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict
from azure.identity import CredentialUnavailableError
from hypothesis import given
from hypothesis import strategies as st

from ansible.module_utils.common.parameters import remove_values

from ansible_collections.azure_ops.vm_access.plugins.module_utils import errors
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure import error_facts
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.classify import classify_azure_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import (
    MASK,
    REASONS,
    VmAccessError,
    scrub,
    secret_spellings,
)

SUB = "00000000-0000-0000-0000-000000000001"
VM_ID = "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1" % SUB
VM_URL = "https://management.azure.com" + VM_ID + "?api-version=2026-04-01"
EXT_URL = "https://management.azure.com" + VM_ID + "/extensions/enablevmaccess?api-version=2026-04-01"
REQUEST_ID = "5f1a2b3c-0000-4000-8000-00000000abcd"

# Planted in Azure's messages: none of these may reach a result.
TOKEN = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0"
         ".c2lnbmF0dXJlLXNpZ25hdHVyZQ")
OPAQUE_TOKEN = "opaqueAccessTokenValue0123456789"
SECRET = "Zx9~clientSecretValue.42"
PASSWORD = "N3w-Adm1n-P@ss!"
PLANTED = (" Diagnostic: Authorization: Bearer %s access_token=%s client_secret=%s"
           % (TOKEN, OPAQUE_TOKEN, SECRET))
SECRETS_THAT_MUST_NOT_LEAK = (TOKEN, OPAQUE_TOKEN, SECRET, PASSWORD)


# --------------------------------------------------------------------------------------------
# Fake HTTP responses
# --------------------------------------------------------------------------------------------

class _ClosedInternalResponse:
    def close(self):
        pass


def make_response(status, body=None, headers=None, method="GET", url=VM_URL, request=None):
    """A real azure.core.rest HttpResponse carrying the given status, JSON (or raw) body and headers."""
    if isinstance(body, (bytes, str)):
        content = body.encode() if isinstance(body, str) else body
    else:
        content = json.dumps(body).encode() if body is not None else b""
    all_headers = {"Content-Type": "application/json; charset=utf-8", "x-ms-request-id": REQUEST_ID}
    all_headers.update(headers or {})

    def stream(response, pipeline, decompress=True, **kwargs):
        yield content

    response = HttpResponseImpl(
        request=request if request is not None else HttpRequest(method, url),
        internal_response=_ClosedInternalResponse(),
        status_code=status,
        reason=http.HTTPStatus(status).phrase,
        content_type=all_headers["Content-Type"],
        headers=case_insensitive_dict(all_headers),
        stream_download_generator=stream,
    )
    response.read()
    return response


def arm_error(code, message, **extra):
    error = {"code": code, "message": message}
    error.update(extra)
    return {"error": error}


def http_error(status, body, headers=None, cls=HttpResponseError, url=VM_URL):
    return cls(response=make_response(status, body, headers, url=url))


def lro_failure(code, message):
    """What azure-core's poller raises: HttpResponseError on the 200 poll whose body says Failed."""
    body = {"startTime": "2026-04-23T10:00:00Z", "endTime": "2026-04-23T10:25:00Z", "status": "Failed",
            "name": "op-1", "error": {"code": code, "message": message}}
    return HttpResponseError(response=make_response(200, body, url="https://management.azure.com/op-1"),
                             error=Exception("Operation failed or canceled"))


def classify(exc, operation="update the VMAccess extension", target=VM_ID, secrets=(PASSWORD,)):
    """Classified as the modules do, then masked as their results are (ansible-core's remove_values)."""
    error = classify_azure_error(exc, operation=operation, target=target)
    hidden = secret_spellings(secrets)
    return VmAccessError(error.reason, remove_values(error.message, hidden), **remove_values(error.details, hidden))


def assert_no_secrets(error):
    dumped = json.dumps(error.to_result())
    for secret in SECRETS_THAT_MUST_NOT_LEAK:
        assert secret not in dumped
        assert secret not in str(error)
        assert secret not in repr(error)
    assert "Traceback" not in dumped


# --------------------------------------------------------------------------------------------
# The mapping table
# --------------------------------------------------------------------------------------------

NOT_RUNNING = "Cannot modify extensions in the VM when the VM is not running."
DISALLOWED = ("This operation cannot be performed when extension operations are disallowed. To allow, please "
              "ensure VM Agent is installed on the VM and the osProfile.allowExtensionOperations property is true.")
DUPLICATE = ("Multiple VMExtensions per handler not supported for OS type 'Windows'. VMExtension 'enablevmaccess' "
             "with handler 'Microsoft.Compute.VMAccessAgent' already added or specified in input.")
AUTHZ = ("The client 'app-1' with object id 'obj-1' does not have authorization to perform action "
         "'Microsoft.Compute/virtualMachines/extensions/write' over scope '%s/extensions/enablevmaccess' "
         "or the scope is invalid. If access was recently granted, please refresh your credentials." % VM_ID)
IN_GUEST = ("VM has reported a failure when processing extension 'enablevmaccess' (publisher 'Microsoft.Compute' "
            "and type 'VMAccessAgent'). Error message: 'Cannot update Remote Desktop Connection settings for "
            "Administrator account. Error: System.Runtime.InteropServices.COMException (0x800708C5): The password "
            "does not meet the password policy requirements. Check the minimum password length, password "
            "complexity, and password history requirements.\r\n   at Microsoft.WindowsAzure.GuestAgent.Plugins."
            "JsonExtensions.VMAccess.AccountManager.SetPassword(String user, String password)\r\n   at Microsoft."
            "WindowsAzure.GuestAgent.Plugins.JsonExtensions.VMAccess.VMAccessExtension.OnEnable()'.")

HTTP_CASES = [
    # (id, status, body, headers, operation, expected reason, text expected in the message)
    ("401-authentication-failed", 401,
     arm_error("AuthenticationFailed", "Authentication failed." + PLANTED), None,
     "read the virtual machine", "authentication_failed", "AuthenticationFailed"),
    ("401-expired", 401,
     arm_error("ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."),
     None, "read the virtual machine", "authentication_failed", "clock"),
    ("401-audience", 401,
     arm_error("InvalidAuthenticationTokenAudience",
               "The access token has been obtained for wrong audience or resource 'https://management.core.usgov"
               "cloudapi.net/'." + PLANTED),
     None, "read the virtual machine", "authentication_failed", "cloud_environment"),
    ("403-authorization", 403, arm_error("AuthorizationFailed", AUTHZ + PLANTED), None,
     "update the VMAccess extension", "authorization_failed", "Microsoft.Compute/virtualMachines/extensions/write"),
    ("403-linked", 403, arm_error("LinkedAuthorizationFailed", "The client has permission ... but not on linked."),
     None, "update the VMAccess extension", "authorization_failed", "Virtual Machine Contributor"),
    ("403-policy", 403,
     arm_error("RequestDisallowedByPolicy", "Resource 'enablevmaccess' was disallowed by policy 'deny-ext'." + PLANTED),
     None, "update the VMAccess extension", "authorization_failed", "deny-ext"),
    ("404-subscription", 404, arm_error("SubscriptionNotFound", "The subscription '%s' could not be found." % SUB),
     None, "read the virtual machine", "subscription_not_found", "subscription_id"),
    ("404-resource-group", 404, arm_error("ResourceGroupNotFound", "Resource group 'rg1' could not be found."),
     None, "read the virtual machine", "resource_group_not_found", "resource_group"),
    ("404-vm", 404,
     arm_error("ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachines/vm1' under resource group "
                                   "'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
     None, "read the VMAccess extension", "vm_not_found", "vm_name"),
    ("404-extension-named", 404,
     arm_error("ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachines/vm1/extensions/enablevmaccess' "
                                   "under resource group 'rg1' was not found." + PLANTED),
     None, "read the VMAccess extension", "resource_not_found", "extensions/enablevmaccess"),
    ("404-extension-unnamed", 404, arm_error("NotFound", "The entity was not found in this Azure location."),
     None, "read the VMAccess extension", "resource_not_found", "NotFound"),
    ("404-vm-unnamed", 404, arm_error("NotFound", "The entity was not found in this Azure location."),
     None, "read the virtual machine", "vm_not_found", "NotFound"),
    ("404-artifact-version", 404,
     arm_error("ArtifactVersionNotFound", "No version found in the artifact repository that satisfies the requested "
                                          "version '2.0' for VM extension with publisher 'Microsoft.Compute' and "
                                          "type 'VMAccessAgent'."),
     None, "update the VMAccess extension", "extension_version_not_found", "version '2.0'"),
    ("409-not-running", 409,
     arm_error("OperationNotAllowed", NOT_RUNNING, innererror={"internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning"}),
     None, "update the VMAccess extension", "vm_not_running", "az vm start"),
    ("409-not-running-no-inner", 409, arm_error("OperationNotAllowed", NOT_RUNNING), None,
     "update the VMAccess extension", "vm_not_running", "Start the VM"),
    ("409-disallowed", 409, arm_error("OperationNotAllowed", DISALLOWED), None,
     "update the VMAccess extension", "extensions_disallowed", "allowExtensionOperations"),
    ("409-handler-version", 409,
     arm_error("OperationNotAllowed", "Cannot update handlerVersion or autoUpgradeMinorVersion for VM extension "
                                      "'enablevmaccess'. Change is in conflict with other extensions." + PLANTED),
     None, "update the VMAccess extension", "conflict", "Cannot update handlerVersion"),
    ("409-scope-locked", 409,
     arm_error("ScopeLocked", "The scope '%s' cannot perform write operation because following scope(s) are "
                              "locked: 'rg1'." % VM_ID),
     None, "update the VMAccess extension", "conflict", "lock"),
    ("400-duplicate-inner", 400,
     {"error": {"code": "BadRequest", "message": DUPLICATE + PLANTED,
                "innerError": {"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"}}},
     None, "update the VMAccess extension", "duplicate_handler", "already added"),
    ("400-duplicate-details", 400,
     arm_error("BadRequest", "Bad request.", details=[{"code": "MultipleExtensionsPerHandlerNotAllowed",
                                                      "message": "Only one per handler."}]),
     None, "update the VMAccess extension", "duplicate_handler", "Reuse"),
    ("400-duplicate-message-only", 400, arm_error("BadRequest", DUPLICATE), None,
     "update the VMAccess extension", "duplicate_handler", "another name"),
    ("400-duplicate-top-code", 400, arm_error("MultipleExtensionsPerHandlerNotAllowed", "Only one per handler."),
     None, "update the VMAccess extension", "duplicate_handler", "another name"),
    ("400-property-change", 400,
     arm_error("PropertyChangeNotAllowed", "Changing property 'publisher' is not allowed.", target="publisher"),
     None, "update the VMAccess extension", "property_change_not_allowed", "'publisher'"),
    ("400-missing-api-version", 400,
     arm_error("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required."
               + PLANTED),
     None, "read the virtual machine", "bad_request", "MissingApiVersionParameter"),
    ("400-invalid-parameter", 400,
     arm_error("InvalidParameter", "The value of parameter typeHandlerVersion is invalid.", target="typeHandlerVersion"),
     None, "update the VMAccess extension", "bad_request", "typeHandlerVersion"),
    ("429-compute", 429,
     arm_error("OperationNotAllowed",
               "The server rejected the request because too many requests have been received for this subscription.",
               details=[{"code": "TooManyRequests", "target": "UpdateVMResource",
                         "message": "{\"operationGroup\":\"UpdateVMResource\",\"allowedRequestCount\":12}"}]),
     {"Retry-After": "17"}, "update the VMAccess extension", "throttled", "17 s"),
    ("429-arm", 429,
     arm_error("SubscriptionRequestsThrottled", "Number of requests exceeded the limit of '120'. Please try again "
                                                "after '5' seconds."),
     {"Retry-After": "5"}, "read the virtual machine", "throttled", "fewer forks"),
    ("500", 500, arm_error("InternalServerError", "Encountered internal server error." + PLANTED), None,
     "read the virtual machine", "azure_service_error", "HTTP 500"),
    ("503-html", 503, "<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"},
     "read the virtual machine", "azure_service_error", "HTTP 503"),
    ("412-other-4xx", 412, arm_error("PreconditionFailed",
                                     "The condition specified using HTTP conditional header(s) is not met."),
     None, "update the VMAccess extension", "bad_request", "PreconditionFailed"),
    ("200-no-error", 200, "not json at all", {"Content-Type": "text/plain"},
     "wait for the VMAccess extension", "unexpected_response", "could not be understood"),
]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[case[0] for case in HTTP_CASES])
def test_http_errors_map_to_reason_codes(case):
    _case_id, status, body, headers, operation, reason, expected_text = case
    error = classify(http_error(status, body, headers), operation=operation)
    assert error.reason == reason, error.message
    assert expected_text in error.message
    assert error.details["status_code"] == status
    assert error.details["request_id"] == REQUEST_ID
    assert_no_secrets(error)


@pytest.mark.parametrize("case", HTTP_CASES, ids=[case[0] for case in HTTP_CASES])
def test_same_mapping_when_the_sdk_raises_its_subclasses(case):
    # azure-mgmt-compute's map_error raises these subclasses for 401/404/409.
    _case_id, status, body, headers, operation, reason, _expected_text = case
    cls = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}.get(
        status, HttpResponseError)
    error = classify(http_error(status, body, headers, cls=cls), operation=operation)
    assert error.reason == reason
    assert_no_secrets(error)


LRO_CASES = [
    ("VMExtensionProvisioningError", IN_GUEST + PLANTED, "extension_failed", "password policy requirements"),
    ("VMAgentStatusCommunicationError",
     "VM 'vm1' has not reported status for VM agent or extensions. Please verify the VM has a running VM agent, "
     "and can establish outbound connections to Azure storage.", "agent_not_ready", "Guest Agent"),
    ("VMExtensionProvisioningTimeout",
     "Provisioning of VM extension enablevmaccess has timed out. Extension provisioning has taken too long to "
     "complete. The extension did not report a message.", "extension_timeout", "VMExtensionProvisioningTimeout"),
    ("OperationNotAllowed", NOT_RUNNING, "vm_not_running", "az vm start"),
    ("OperationPreempted", "Operation execution has been preempted by a more recent operation." + PLANTED,
     "operation_failed", "preempted"),
    ("InternalExecutionError", "An internal execution error occurred.", "azure_service_error", "Run again later"),
]


@pytest.mark.parametrize("code, message, reason, expected_text", LRO_CASES, ids=[case[0] for case in LRO_CASES])
def test_long_running_operation_failures(code, message, reason, expected_text):
    error = classify(lro_failure(code, message), operation="wait for the VMAccess extension")
    assert error.reason == reason
    assert expected_text in error.message
    assert error.details["azure_error_code"] == code
    assert error.details["status_code"] == 200
    assert_no_secrets(error)


def test_in_guest_failure_quotes_windows_but_not_the_stack_trace():
    error = classify(lro_failure("VMExtensionProvisioningError", IN_GUEST))
    assert "0x800708C5" in error.message
    assert "AccountManager.SetPassword" not in error.message
    assert "\n" not in error.message
    assert error.message.startswith("The VMAccess extension failed inside the VM")


def test_long_azure_messages_are_bounded():
    error = classify(lro_failure("VMExtensionProvisioningError", "x " * 5000))
    assert len(error.message) < error_facts.MAX_AZURE_MESSAGE + 500


def test_password_echoed_by_azure_is_removed_in_every_spelling():
    echoed = "Settings were {\"Password\": \"%s\"} / %s / %s" % (
        PASSWORD, PASSWORD, urllib.parse.quote(PASSWORD, safe=""))
    error = classify(lro_failure("VMExtensionProvisioningError", echoed), secrets=(PASSWORD,))
    assert PASSWORD not in error.message
    assert urllib.parse.quote(PASSWORD, safe="") not in error.message
    assert MASK in error.message


# --------------------------------------------------------------------------------------------
# Request ids, Retry-After and what never leaks from headers
# --------------------------------------------------------------------------------------------

def test_request_ids_are_details_and_other_headers_are_not():
    headers = {"x-ms-correlation-request-id": "corr-1", "Set-Cookie": "session=abc123secret",
               "WWW-Authenticate": "Bearer authorization_uri=x"}
    error = classify(http_error(500, arm_error("InternalServerError", "boom"), headers))
    result = error.to_result()
    assert result["request_id"] == REQUEST_ID
    assert result["correlation_id"] == "corr-1"
    assert "abc123secret" not in json.dumps(result)
    assert "authorization_uri" not in json.dumps(result)


def test_request_body_is_never_quoted():
    request = HttpRequest("PUT", EXT_URL, json={"properties": {"protectedSettings": {"Password": PASSWORD}}})
    response = make_response(400, arm_error("InvalidParameter", "Bad value."), request=request)
    error = classify(HttpResponseError(response=response), secrets=())
    assert PASSWORD not in json.dumps(error.to_result())


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "17"}, 17),
    ({"retry-after": "2.4"}, 2),
    ({"retry-after-ms": "1500"}, 2),
    ({"x-ms-retry-after-ms": "250"}, 0),
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_retry_after_forms(headers, expected):
    error = classify(http_error(429, arm_error("TooManyRequests", "slow down"), headers))
    assert error.reason == "throttled"
    assert error.details.get("retry_after") == expected


def test_retry_after_http_date():
    moment = email.utils.formatdate(time.time() + 120, usegmt=True)
    error = classify(http_error(429, arm_error("TooManyRequests", "slow down"), {"Retry-After": moment}))
    assert 100 <= error.details["retry_after"] <= 121


# --------------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------------

AADSTS_INVALID_SECRET = (
    "Authentication failed: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
    "request is the client secret value, not the client secret ID, for a secret added to app 'app-1'. "
    "Trace ID: 1 Correlation ID: 2 Timestamp: 2026-04-23 10:00:00Z client_secret=" + SECRET)


@pytest.mark.parametrize("message, code, advice", [
    (AADSTS_INVALID_SECRET, "AADSTS7000215", "not its id"),
    ("Authentication failed: AADSTS700016: Application with identifier 'app-1' was not found in the directory "
     "'contoso'. Trace ID: 1", "AADSTS700016", "client_id"),
    ("Microsoft Entra ID error '(invalid_client) AADSTS7000222: The provided client secret keys for app 'app-1' "
     "are expired.'", "AADSTS7000222", "expired"),
    ("Authentication failed: AADSTS90002: Tenant 'nope' not found.", "AADSTS90002", "tenant"),
    ("Authentication failed: AADSTS123456: Something new.", "AADSTS123456", "AZURE_CLIENT_ID"),
])
def test_identity_failures_are_authentication_failed_with_the_aadsts_code(message, code, advice):
    error = classify(ClientAuthenticationError(message=message), operation="get token", target="")
    assert error.reason == "authentication_failed"
    assert error.details["azure_error_code"] == code
    assert code in error.message
    assert advice in error.message
    assert "Trace ID" not in error.message
    assert_no_secrets(error)


def test_identity_failure_with_token_endpoint_response():
    body = {"error": "invalid_client", "error_description": AADSTS_INVALID_SECRET}
    response = make_response(401, body, url="https://login.microsoftonline.com/tenant/oauth2/v2.0/token")
    exc = ClientAuthenticationError(message=AADSTS_INVALID_SECRET, response=response)
    error = classify(exc, operation="get token")
    assert error.reason == "authentication_failed"
    assert error.details["azure_error_code"] == "AADSTS7000215"
    assert_no_secrets(error)


def test_credential_unavailable_is_missing_credentials():
    exc = CredentialUnavailableError(
        message="EnvironmentCredential authentication unavailable. Environment variables are not fully configured.")
    error = classify(exc, operation="get token")
    assert error.reason == "missing_credentials"
    assert "Environment variables are not fully configured" in error.message
    assert "auth_source" in error.message


def test_default_credential_chain_without_any_source_is_missing_credentials():
    message = ("DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted "
               "credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication unavailable.")
    error = classify(ClientAuthenticationError(message=message), operation="get token")
    assert error.reason == "missing_credentials"
    assert "\n" not in error.message


def test_default_credential_chain_with_a_rejected_secret_is_authentication_failed():
    message = ("DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
               "\tEnvironmentCredential: " + AADSTS_INVALID_SECRET)
    error = classify(ClientAuthenticationError(message=message), operation="get token")
    assert error.reason == "authentication_failed"
    assert error.details["azure_error_code"] == "AADSTS7000215"
    assert_no_secrets(error)


# --------------------------------------------------------------------------------------------
# Connection, parsing and everything else
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [
    ServiceRequestError("<urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: "
                        "[Errno 111] Connection refused"),
    ServiceResponseError("Connection aborted."),
    ServiceResponseTimeoutError("Read timed out."),
    requests.exceptions.ConnectionError("Max retries exceeded"),
    requests.exceptions.ReadTimeout("Read timed out"),
    ConnectionResetError(104, "Connection reset by peer"),
], ids=lambda exc: type(exc).__name__)
def test_connection_errors(exc):
    error = classify(exc, operation="read the virtual machine")
    assert error.reason == "connection_error"
    assert type(exc).__name__ in error.message
    assert "HTTPS_PROXY" in error.message


def test_connection_error_quotes_the_os_error_text():
    error = classify(ConnectionRefusedError(111, "Connection refused"))
    assert "[Errno 111] Connection refused" in error.message


def test_tls_failure_points_at_the_ca_bundle():
    exc = ServiceRequestError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local "
                              "issuer certificate (_ssl.c:1006)")
    error = classify(exc)
    assert error.reason == "connection_error"
    assert "REQUESTS_CA_BUNDLE" in error.message


def test_connection_error_message_is_scrubbed():
    exc = ServiceRequestError("Failed for https://x/?sig=abcdefSAS123&x=1 with Authorization: Bearer " + TOKEN)
    error = classify(exc)
    assert "abcdefSAS123" not in error.message
    assert_no_secrets(error)


@pytest.mark.parametrize("exc", [
    DecodeError(message="JSON is invalid: Expecting value", response=make_response(200, "{not json")),
    json.JSONDecodeError("Expecting value", "{" + SECRET, 1),
    DeserializationError("Unable to deserialize to object: type"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
], ids=lambda exc: type(exc).__name__)
def test_unparseable_responses(exc):
    error = classify(exc, operation="read the virtual machine")
    assert error.reason == "unexpected_response"
    assert_no_secrets(error)


def test_anything_else_names_only_the_exception_type():
    exc = KeyError("client_secret " + SECRET)
    error = classify(exc)
    assert error.reason == "unexpected_error"
    assert "KeyError" in error.message
    assert error.details["exception_type"] == "KeyError"
    assert "client_secret" not in error.message
    assert_no_secrets(error)


def test_our_own_timeout_is_operation_timeout():
    error = classify(TimeoutError(), operation="wait for the VMAccess extension")
    assert error.reason == "operation_timeout"
    assert "wait_timeout" in error.message


def test_missing_module_is_missing_dependency():
    error = classify(ModuleNotFoundError("No module named 'azure.mgmt.compute'", name="azure.mgmt.compute"),
                     operation="connect to Azure", target="")
    assert error.reason == "missing_dependency"
    assert "azure.mgmt.compute" in error.message


def test_a_vm_access_error_passes_through_unchanged():
    original = VmAccessError("vm_not_running", "The VM is stopped.")
    assert classify_azure_error(original, operation="read the virtual machine") is original


def test_operation_and_target_appear_in_the_message():
    error = classify(http_error(500, arm_error("InternalServerError", "boom")),
                     operation="read the virtual machine", target=VM_ID)
    assert "read the virtual machine " + VM_ID in error.message


def test_classify_requires_keyword_arguments():
    with pytest.raises(TypeError):
        classify_azure_error(KeyError("x"), "read VM")  # pylint: disable=too-many-function-args,missing-kwoa


# --------------------------------------------------------------------------------------------
# VmAccessError and REASONS
# --------------------------------------------------------------------------------------------

def test_to_result_shape():
    error = VmAccessError("throttled", "Slow down.", status_code=429, retry_after=5, request_id=None)
    assert error.to_result() == {"reason": "throttled", "msg": "Slow down.", "status_code": 429, "retry_after": 5}
    assert str(error) == "Slow down."
    assert error.reason == "throttled" and error.message == "Slow down."


def test_details_cannot_override_reason_or_message():
    error = VmAccessError("conflict", "Real message.", msg="other")
    result = error.to_result()
    assert result["reason"] == "conflict" and result["msg"] == "Real message."


def test_messages_and_details_are_scrubbed_on_construction():
    error = VmAccessError("bad_request", "Sent Authorization: Bearer " + TOKEN,
                          note="access_token=" + OPAQUE_TOKEN, other="client_secret=" + SECRET)
    assert_no_secrets(error)


def test_reasons_are_snake_case_one_liners():
    for reason, description in REASONS.items():
        assert re.match(r"^[a-z]+(_[a-z]+)*$", reason)
        assert description and "\n" not in description and description.endswith(".")


def test_brief_reason_codes_are_all_documented():
    required = {
        "invalid_argument", "invalid_username", "invalid_password", "new_admin_not_allowed",
        "missing_dependency", "missing_credentials", "missing_subscription", "cloud_discovery_failed",
        "authentication_failed", "authorization_failed", "subscription_not_found",
        "resource_group_not_found", "vm_not_found", "not_windows", "vm_not_running", "agent_not_ready",
        "extensions_disallowed", "duplicate_handler", "property_change_not_allowed",
        "extension_version_not_found", "extension_failed", "extension_timeout", "operation_timeout",
        "conflict", "bad_request", "throttled", "azure_service_error", "connection_error",
        "unexpected_response", "unexpected_error",
    }
    assert required <= set(REASONS)


def test_every_reason_classify_produces_is_documented():
    produced = {case[5] for case in HTTP_CASES} | {case[2] for case in LRO_CASES}
    assert produced <= set(REASONS)


# --------------------------------------------------------------------------------------------
# scrub()
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, gone", [
    ("Authorization: Bearer " + TOKEN, TOKEN),
    ("{'Authorization': 'Bearer %s'}" % OPAQUE_TOKEN, OPAQUE_TOKEN),
    ('{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA=="),
    ("header bearer " + OPAQUE_TOKEN, OPAQUE_TOKEN),
    ('{"access_token": "%s", "expires_in": 3599}' % OPAQUE_TOKEN, OPAQUE_TOKEN),
    ("grant_type=client_credentials&client_secret=%s&scope=x" % SECRET, SECRET),
    ("client_secret: %s" % SECRET, SECRET),
    ('{"Password": "a\\"quoted\\" secret"}', "quoted"),
    ("refresh_token='%s'" % OPAQUE_TOKEN, OPAQUE_TOKEN),
    ("AZURE_SECRET=%s" % SECRET, SECRET),
    ("https://acct.blob.core.windows.net/c?sv=2020&sig=%s&se=x" % OPAQUE_TOKEN, OPAQUE_TOKEN),
    ("a JWT %s inside text" % TOKEN, TOKEN),
])
def test_scrub_removes_token_and_secret_patterns(text, gone):
    cleaned = scrub(text)
    assert gone not in cleaned
    assert MASK in cleaned


def test_scrub_keeps_ordinary_azure_messages():
    for text in (IN_GUEST, NOT_RUNNING, DISALLOWED, DUPLICATE, AUTHZ,
                 "Authentication failed. The 'Authorization' header is missing.",
                 "The password was not sent to Azure: The password is too short; use 12 to 123 characters."):
        assert scrub(text) == text


def test_secret_spellings_let_ansible_mask_every_encoding():
    secret = 'p"a s/s\\w'
    spellings = (secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe=""),
                 urllib.parse.quote_plus(secret, safe=""))
    cleaned = remove_values("raw %s json %s url %s form %s" % spellings, secret_spellings([secret]))
    for spelling in spellings:
        assert spelling not in cleaned
    assert cleaned.count(MASK) == 4


def test_masking_removes_the_longer_of_overlapping_secrets_whole():
    """ansible-core before 2.19 masks in no fixed order: the collection's own masking goes longest first."""
    from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.masking import mask_secrets

    for secrets in (["abc", "abc-longer-secret"], ["abc-longer-secret", "abc"], ["b", "abc", "xabcx-longer"]):
        masked = mask_secrets({"msg": ["value %s" % " ".join(secrets)]}, secret_spellings(secrets))
        assert "longer" not in str(masked) and "abc" not in str(masked), (secrets, masked)


def test_scrub_tolerates_odd_input():
    assert scrub(None) == ""
    assert secret_spellings(["", None, 5]) == set()
    assert scrub(12) == "12"


@given(
    prefix=st.text(max_size=40),
    suffix=st.text(max_size=40),
    secret=st.text(min_size=4, max_size=40).filter(lambda value: "*" not in value),
)
def test_masking_never_leaves_a_given_secret(prefix, suffix, secret):
    assert secret not in remove_values(prefix + secret + suffix, secret_spellings([secret]))


@given(token=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/",
                     min_size=8, max_size=80),
       before=st.text(max_size=20), after=st.sampled_from(["", " ", "\n", "'", '"', ", x"]))
def test_scrub_never_leaves_a_bearer_token(token, before, after):
    cleaned = scrub(before + "Bearer " + token + after)
    assert "Bearer " + token not in cleaned


# --------------------------------------------------------------------------------------------
# The real SDK, driven by a scripted transport
# --------------------------------------------------------------------------------------------

class ScriptedTransport(HttpTransport):
    """Answers each request with the next scripted (status, body, headers); no network."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        status, body, headers = self.script.pop(0)
        return make_response(status, body, headers, request=request)

    def open(self):
        pass

    def close(self):
        pass

    def __exit__(self, *args):
        pass


class FakeCredential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken(OPAQUE_TOKEN, int(time.time()) + 3600)


def compute_client(script):
    compute = pytest.importorskip("azure.mgmt.compute")
    transport = ScriptedTransport(script)
    client = compute.ComputeManagementClient(
        FakeCredential(), SUB, base_url="https://management.azure.com", transport=transport,
        retry_total=0, polling_interval=0)
    return client, transport


def extension_body():
    return {"location": "westeurope", "properties": {
        "publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
        "autoUpgradeMinorVersion": True, "settings": {"UserName": "azureuser"},
        "protectedSettings": {"Password": PASSWORD}}}


def run_sdk(call):
    try:
        call()
    except Exception as exc:  # pylint: disable=broad-except
        return exc
    raise AssertionError("the SDK did not raise")


def test_sdk_vm_not_found():
    client, _transport = compute_client([(404, arm_error(
        "ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachines/vm1' under resource group 'rg1' "
                            "was not found."), None)])
    exc = run_sdk(lambda: client.virtual_machines.get("rg1", "vm1", expand="instanceView"))
    assert isinstance(exc, ResourceNotFoundError)
    error = classify(exc, operation="read the virtual machine")
    assert error.reason == "vm_not_found"
    assert error.details["request_id"] == REQUEST_ID


def test_sdk_arm_401_is_authentication_failed():
    client, _transport = compute_client([(401, arm_error("InvalidAuthenticationTokenAudience", "wrong audience"), None)])
    exc = run_sdk(lambda: client.virtual_machines.get("rg1", "vm1"))
    error = classify(exc, operation="read the virtual machine")
    assert error.reason == "authentication_failed"
    assert "cloud_environment" in error.message


def test_sdk_put_into_a_stopped_vm_is_vm_not_running():
    client, _transport = compute_client([(409, arm_error(
        "OperationNotAllowed", NOT_RUNNING, innererror={"internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning"}),
        None)])
    exc = run_sdk(lambda: client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm1", "enablevmaccess", extension_body()))
    error = classify(exc)
    assert error.reason == "vm_not_running"
    assert_no_secrets(error)


def test_sdk_duplicate_handler():
    client, _transport = compute_client([(400, {"error": {
        "code": "BadRequest", "message": DUPLICATE,
        "innerError": {"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"}}}, None)])
    exc = run_sdk(lambda: client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm1", "otheraccess", extension_body()))
    error = classify(exc)
    assert error.reason == "duplicate_handler"
    assert_no_secrets(error)


def test_sdk_throttled_after_retries():
    client, _transport = compute_client([(429, arm_error("TooManyRequests", "slow down"), {"Retry-After": "30"})])
    exc = run_sdk(lambda: client.virtual_machines.get("rg1", "vm1"))
    error = classify(exc, operation="read the virtual machine")
    assert error.reason == "throttled"
    assert error.details["retry_after"] == 30


def test_sdk_long_running_operation_failure_shape():
    operation_url = ("https://management.azure.com/subscriptions/%s/providers/Microsoft.Compute/locations/"
                     "westeurope/operations/op-1?api-version=2026-04-01" % SUB)
    created = {"name": "enablevmaccess", "properties": {"provisioningState": "Creating",
                                                        "settings": {"UserName": "azureuser"}}}
    script = [
        (201, created, {"Azure-AsyncOperation": operation_url, "Retry-After": "0"}),
        (200, {"startTime": "2026-04-23T10:00:00Z", "status": "InProgress", "name": "op-1"}, {"Retry-After": "0"}),
        (200, {"startTime": "2026-04-23T10:00:00Z", "endTime": "2026-04-23T10:02:30Z", "status": "Failed",
               "name": "op-1", "error": {"code": "VMExtensionProvisioningError", "message": IN_GUEST + PLANTED}},
         {"Retry-After": "0"}),
    ]
    client, transport = compute_client(script)
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm1", "enablevmaccess",
                                                                      extension_body())
    exc = run_sdk(poller.result)
    assert isinstance(exc, HttpResponseError) and exc.status_code == 200
    error = classify(exc, operation="wait for the VMAccess extension")
    assert error.reason == "extension_failed"
    assert "password policy requirements" in error.message
    assert error.details["azure_error_code"] == "VMExtensionProvisioningError"
    assert_no_secrets(error)
    assert len(transport.requests) == 3


@pytest.mark.parametrize("value", ["inf", "-Infinity", float("inf")])
def test_ansible_core_overflow_on_int_options_becomes_invalid_argument(value):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    from ansible_collections.azure_ops.vm_access.plugins.action.vm_access_fleet import ActionModule

    validator = ArgumentSpecValidator({"wait_timeout": {"type": "int"}})
    try:
        with errors.argument_check():
            result = validator.validate({"wait_timeout": value})
    except VmAccessError as error:  # ansible-core versions that raise OverflowError (2.17-2.19)
        assert error.reason == "invalid_argument" and "finite number" in error.message
    else:  # versions whose own check rejects the value cleanly (2.16)
        assert result.error_messages and "wait_timeout" in result.error_messages[0]
    with pytest.raises(VmAccessError) as caught:  # the fleet action's own validation, either way
        ActionModule.__new__(ActionModule).validate({"mode": "reset", "reset": "rdp", "wait_timeout": value})
    assert caught.value.reason == "invalid_argument"
