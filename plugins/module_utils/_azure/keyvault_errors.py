# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key Vault failures as reason codes, with a message that says what to do.

``key_vault_forbidden``: 403, with the data action (Azure RBAC) or the secret permission (access
policies) the principal lacks. ``secret_not_found``: the secret or version does not exist.
``authentication_failed``: Key Vault refused the token. ``key_vault_error``: everything else Key
Vault or the way to it answered (vault not found or not resolvable, a name Key Vault refuses,
throttling or server errors after retries, a deleted secret, a disabled version, a challenge for
another domain). Credential failures are classified as for ARM (``classify``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
except ImportError:  # the import sanity test loads this without the SDK

    class _NeverRaised(Exception):
        """Stands in for an azure-core class so isinstance() checks stay valid without the SDK."""

    HttpResponseError = ServiceRequestError = ServiceResponseError = _NeverRaised

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.classify import classify_azure_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.error_facts import AzureFacts, first_line
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# operation -> (what we were doing, RBAC data action, access-policy secret permission)
OPERATIONS = {
    "set": ("write a new version of", "Microsoft.KeyVault/vaults/secrets/setSecret/action", "set"),
    "update": ("update the tags of", "Microsoft.KeyVault/vaults/secrets/update/action", "set"),
    "list": ("list the versions of", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list"),
    "get": ("read", "Microsoft.KeyVault/vaults/secrets/getSecret/action", "get"),
}
ROLE_ADVICE = ("Assign the role Key Vault Secrets Officer on the vault to the principal (vaults with the Azure RBAC "
               "permission model), or give it the secret permissions get, list and set in an access policy (vaults "
               "with access policies); role assignments can take a few minutes to apply.")


class SecretNotFound(VmAccessError):
    """The secret (or the version) does not exist."""


def key_vault_error(exc, *, operation, vault_url, secret=None):
    """Any exception raised while calling Key Vault, as a VmAccessError (raise it outside the except block)."""
    if isinstance(exc, VmAccessError):
        return exc
    doing, action, permission = OPERATIONS.get(operation, ("call", None, None))
    where = "%s secret %s in Key Vault %s" % (doing, secret, vault_url) if secret else "call Key Vault %s" % vault_url
    details = {"vault_url": vault_url, "secret_name": secret}
    if isinstance(exc, HttpResponseError) and getattr(exc, "status_code", None):
        return _from_http(AzureFacts(exc), where, action, permission, details)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError)):
        text = first_line(str(getattr(exc, "message", None) or exc))
        if any(hint in text.lower() for hint in ("certificate", "ssl", "tls")):
            advice = "TLS verification failed: put the vault's CA in REQUESTS_CA_BUNDLE (certificates are always verified)."
        else:
            advice = ("Check the vault name or URL (a vault that does not exist does not resolve), DNS, the vault's "
                      "firewall or private endpoint, and any proxy (HTTPS_PROXY / NO_PROXY), then run again.")
        return VmAccessError("key_vault_error", "Could not reach Key Vault to %s (%s: %s). %s"
                             % (where, type(exc).__name__, text, advice), **details)
    if isinstance(exc, ValueError) and "challenge" in str(exc).lower():
        # Never act on the SDK's own suggestion: the challenge check always stays on.
        return VmAccessError(
            "key_vault_error",
            "Key Vault %s answered with an authentication challenge for another domain, so the token was not sent. "
            "Check that key_vault_url is the vault's own URL in this cloud (https://<vault>.<Key Vault DNS suffix>, "
            "for example vault.azure.net) and not an alias or a proxy of it." % vault_url, **details)
    return classify_azure_error(exc, operation="%s" % where)


def _from_http(facts, where, action, permission, details):
    status = facts.status
    details.update(status_code=status, azure_error_code=facts.code or None, request_id=facts.request_id)
    said = facts.azure_message or "no message"
    if status == 404 and not facts.has_code("VaultNotFound"):
        return SecretNotFound("secret_not_found", "Key Vault has no such secret (or version) when trying to %s: %s"
                              % (where, said), **details)
    if status == 403 and facts.has_code("SecretDisabled", "SecretExpired", "SecretNotYetValid"):
        return VmAccessError("key_vault_error", "Key Vault refused to %s: the version is disabled, expired or not "
                                                "yet valid (%s). Enable it or pick another version." % (where, said),
                             **details)
    if status == 403:
        needed = (" It needs the data action %s (Azure RBAC) or the secret permission %s (access policy). "
                  % (action, permission)) if action else " "
        return VmAccessError("key_vault_forbidden", "The principal may not %s (HTTP 403 %s).%s%s"
                             % (where, facts.code or "Forbidden", needed, ROLE_ADVICE), **details)
    if status == 401:
        return VmAccessError(
            "authentication_failed",
            "Key Vault refused the token when trying to %s: %s Check that the vault belongs to the credential's tenant "
            "and cloud (cloud_environment)." % (where, said), **details)
    if status == 404:
        return VmAccessError("key_vault_error", "Key Vault %s does not exist (%s). Check key_vault_url or the vault "
                                                "name." % (details["vault_url"], said), **details)
    if status == 409:
        return VmAccessError(
            "key_vault_error",
            "Key Vault refused to %s: %s If the secret was deleted, recover it (az keyvault secret recover) or purge "
            "it, then run again." % (where, said), **details)
    if status == 429:
        return VmAccessError(
            "key_vault_error",
            "Key Vault throttled the requests to %s (HTTP 429) and retries within the time budget did not get "
            "through. Run again later or with fewer concurrent workers (max_workers); Key Vault's limits are per "
            "vault and region." % where, retry_after=facts.retry_after, **details)
    if status >= 500:
        return VmAccessError("key_vault_error", "Key Vault answered HTTP %d when trying to %s, after retries: %s Run "
                                                "again later." % (status, where, said), **details)
    return VmAccessError(
        "key_vault_error",
        "Key Vault rejected the request to %s (HTTP %d %s): %s Check the secret name (1-127 letters, digits and "
        "dashes) and the vault URL." % (where, status, facts.code or "", said), **details)
