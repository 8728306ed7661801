"""Key Vault error answers: ``{"error": {"code", "message", "innererror"?: {"code"}}}``.

Codes and messages come from recorded Key Vault traffic quoted in public issues (cited per
function); where no recording shows the wording, the message is ours (README "Key Vault").
"""

from __future__ import annotations

from .errors import ArmError, json_response
from .kv_model import KV_RESOURCE

SUPPORTED_API_VERSIONS = ("2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01")
LATEST_API_VERSION = "2026-04-01"
NOT_FOUND_HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"


class KvError(ArmError):
    """A Key Vault error; ``inner`` becomes ``innererror.code`` (Key Vault's shape, not ARM's)."""

    def __init__(self, status: int, code: str, message: str, *, inner: str | None = None,
                 headers: dict | None = None):
        super().__init__(status, code, message, headers=headers)
        self.inner = inner

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}

    def response(self):
        return json_response(self.body(), status=self.status, headers=self.headers)


def challenge_header(login_endpoint: str, tenant: str) -> str:
    """Key Vault's challenge (recorded: Bearer authorization="https://login.windows.net/<tenant>",
    resource="https://vault.azure.net")."""
    return f'Bearer authorization="{login_endpoint.rstrip("/")}/{tenant}", resource="{KV_RESOURCE}"'


def unauthorized(message: str, challenge: str) -> KvError:
    return KvError(401, "Unauthorized", message, headers={"WWW-Authenticate": challenge})


def missing_token(challenge: str) -> KvError:
    # azure-sdk-for-python#24557, recorded azure-sdk-for-js sessions
    return unauthorized("AKV10000: Request is missing a Bearer or PoP token.", challenge)


def invalid_token(challenge: str) -> KvError:
    return unauthorized("AKV10020: Invalid token: the token could not be validated.", challenge)   # ours


def expired_token(challenge: str) -> KvError:
    # azure-sdk-for-python#27266, prime-reportstream#2566
    return unauthorized("[TokenExpired] Error validating token: 'S2S12086'.", challenge)


def wrong_audience(found: str, challenge: str) -> KvError:
    # go-autorest#525 ("Expected https://vault.azure.net, found: https://vault.azure.net/.")
    return unauthorized(f"AKV10022: Invalid audience. Expected {KV_RESOURCE}, found: {found}.", challenge)


def wrong_issuer(expected: str, found: str, challenge: str) -> KvError:
    # MicrosoftDocs/azure-docs#75410
    return unauthorized(f"AKV10032: Invalid issuer. Expected one of {expected}, found {found}.", challenge)


def bad_parameter(message: str) -> KvError:
    return KvError(400, "BadParameter", message)


def missing_api_version() -> KvError:
    return bad_parameter("The api-version query parameter is missing.")   # ours


def unknown_api_version(value: str) -> KvError:
    # azure-sdk-for-python#28595, azure-sdk-for-net#14789
    return bad_parameter(f"The specified version ({value}) is not recognized. Consider using the latest supported "
                         f"version ({LATEST_API_VERSION}).")


def invalid_name(name: str) -> KvError:
    # MicrosoftConfigurationBuilders#22, azure-sdk-for-net#15784
    return bad_parameter(f"The request URI contains an invalid name: {name}")


def secret_not_found(name_or_id: str) -> KvError:
    # azure-sdk-for-js#25489
    return KvError(404, "SecretNotFound",
                   f"A secret with (name/id) {name_or_id} was not found in this key vault. If you recently deleted "
                   f"this secret you may be able to recover it using the correct recovery command. {NOT_FOUND_HELP}")


def deleted_secret_not_found(name: str) -> KvError:
    return KvError(404, "SecretNotFound", f"Deleted Secret not found: {name}")   # ours


def secret_disabled() -> KvError:
    # azure-sdk-for-js#24756, ansible-collections/azure#1989
    return KvError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", inner="SecretDisabled")


def secret_expired() -> KvError:
    # the message documented for an expired secret (quoted in Azure/AzureKeyVault#19)
    return KvError(403, "Forbidden", "Operation get is not allowed on a expired secret.", inner="SecretExpired")


def secret_not_yet_valid() -> KvError:
    return KvError(403, "Forbidden", "Operation get is not allowed on a not yet valid secret.",   # ours
                   inner="SecretNotYetValid")


def deleted_but_recoverable(name: str) -> KvError:
    # Microsoft Learn error sample; external-secrets#3519
    return KvError(409, "Conflict",
                   f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; "
                   "in this state, the secret can only be recovered or purged.", inner="ObjectIsDeletedButRecoverable")


def being_deleted(name: str) -> KvError:
    return KvError(409, "Conflict", f"Secret {name} is currently being deleted.",   # message ours
                   inner="ObjectIsBeingDeleted")


def forbidden_by_rbac(caller: str, action: str, resource: str, vault: str, location: str) -> KvError:
    """RBAC denial as recorded in piyushsachdeva/Terraform_AKS#2 and terraform-provider-azurerm#27817."""
    message = ("Caller is not authorized to perform action on resource.\r\n"
               "If role assignments, deny assignments or role definitions were changed recently, please observe "
               "propagation time.\r\n"
               f"Caller: {caller}\r\n"
               f"Action: '{action}'\r\n"
               f"Resource: '{resource.lower()}'\r\n"
               "Assignment: (not found)\r\n"
               "DenyAssignmentId: null\r\n"
               "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
               f"Vault: {vault};location={location}\r\n")
    return KvError(403, "Forbidden", message, inner="ForbiddenByRbac")


def not_found_route(path: str) -> KvError:
    return KvError(404, "NotFound", f"The requested URI '{path}' does not exist.")   # ours


def method_not_allowed(method: str) -> KvError:
    return KvError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
