# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every plugin connects: settings -> cloud -> credential -> a Compute API per
subscription, sharing one credential (one token) and the same transport policies.

Imports with the standard library only; the Azure SDK imports are guarded and reported through
``HAS_AZURE_SDK`` / ``AZURE_SDK_IMPORT_ERROR`` (``require_azure_sdk``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import traceback

try:
    from azure.identity import (
        AzureCliCredential,
        CertificateCredential,
        ClientSecretCredential,
        ManagedIdentityCredential,
        WorkloadIdentityCredential,
    )
    from azure.mgmt.compute import ComputeManagementClient
except ImportError:
    HAS_AZURE_SDK = False
    AZURE_SDK_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_AZURE_SDK = True
    AZURE_SDK_IMPORT_ERROR = None

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.classify import classify_azure_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.clouds import resolve_cloud
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.compute import ComputeApi
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import resolve_auth
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# The collection's version in the user agent Azure support sees; tests check it against galaxy.yml
# (modules run from an AnsiballZ zip, where galaxy.yml is not at hand).
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "azure_ops.vm_access/%s" % COLLECTION_VERSION

# azure-core's RetryPolicy knobs for ARM calls (429, 408, 5xx and connection errors; Retry-After
# honoured). No single call with its retries may outlast the budget (the task's wait_timeout).
RETRY_TOTAL = 10
RETRY_BACKOFF_FACTOR = 0.8
RETRY_BACKOFF_MAX = 60
DEFAULT_RETRY_BUDGET_S = 600


def require_azure_sdk():
    if not HAS_AZURE_SDK:
        raise VmAccessError(
            "missing_dependency",
            "The Python packages azure-identity and azure-mgmt-compute are required in the Python that "
            "runs the task (pip install -r requirements.txt of the collection).",
            exception=AZURE_SDK_IMPORT_ERROR,
        )


def build_credential(settings, cloud):
    """The azure-identity credential ``settings`` describe, for ``cloud``'s authority.

    Instance discovery is disabled for custom clouds (MSAL would otherwise look the authority
    up at login.microsoftonline.com) and when ``settings.disable_instance_discovery`` is set.
    """
    require_azure_sdk()
    method = settings.method
    disable = bool(settings.disable_instance_discovery or cloud.is_custom)
    if method == "client_secret":
        return ClientSecretCredential(
            settings.tenant, settings.client_id, settings.secret,
            authority=cloud.authority_host, disable_instance_discovery=disable)
    if method == "certificate":
        try:
            return CertificateCredential(
                settings.tenant, settings.client_id, settings.certificate_path,
                password=settings.certificate_password,
                authority=cloud.authority_host, disable_instance_discovery=disable)
        except (OSError, ValueError, TypeError) as exc:
            raise VmAccessError(
                "invalid_argument",
                "Cannot load the certificate %s (certificate_path): %s: %s. It must be a PEM or PKCS12"
                " file with the certificate and its RSA private key; certificate_password decrypts it."
                % (settings.certificate_path, type(exc).__name__, exc),
                certificate_path=settings.certificate_path,
            ) from None
    if method == "managed_identity":
        return ManagedIdentityCredential(client_id=settings.client_id)
    if method == "workload_identity":
        # Not MSAL-based: no instance discovery to disable.
        return WorkloadIdentityCredential(
            tenant_id=settings.tenant, client_id=settings.client_id,
            token_file_path=settings.federated_token_file, authority=cloud.authority_host)
    if method == "cli":
        return AzureCliCredential(tenant_id=settings.tenant or "")
    raise VmAccessError("invalid_argument", "Unknown authentication method %r." % (method,))


def compute_client(credential, subscription_id, cloud, *, retry_budget_s=DEFAULT_RETRY_BUDGET_S,
                   on_response=None, **client_kwargs):
    """``ComputeManagementClient`` for ``cloud`` with the collection's transport policies.

    ``on_response(method, status, headers)``, when given, sees every response (each retry
    attempt too): the engine paces its requests on ARM's remaining-budget headers there.
    Other keyword arguments go to the client unchanged (``transport``, ``retry_total``, ...).
    """
    require_azure_sdk()
    from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.policies import (
        BoundedRetryPolicy,
        FreshTokenChallengePolicy,
        ResponseObserverPolicy,
    )
    kwargs = dict(base_url=cloud.resource_manager, credential_scopes=cloud.credential_scopes, user_agent=USER_AGENT,
                  retry_total=RETRY_TOTAL, retry_backoff_factor=RETRY_BACKOFF_FACTOR,
                  retry_backoff_max=RETRY_BACKOFF_MAX)
    kwargs.update(client_kwargs)
    kwargs.setdefault("retry_policy", BoundedRetryPolicy(
        budget_s=retry_budget_s, retry_total=kwargs["retry_total"],
        retry_backoff_factor=kwargs["retry_backoff_factor"], retry_backoff_max=kwargs["retry_backoff_max"]))
    kwargs.setdefault("authentication_policy", FreshTokenChallengePolicy(credential, *cloud.credential_scopes))
    if on_response is not None:
        kwargs["per_retry_policies"] = list(kwargs.get("per_retry_policies") or []) + [
            ResponseObserverPolicy(on_response)]
    return ComputeManagementClient(credential, subscription_id, **kwargs)


class AzureSession:
    """Authentication, cloud and credential resolved once; a ComputeApi per subscription on demand.

    ``on_response(subscription_id, method, status, headers)`` observes every ARM response (pacing).
    """

    def __init__(self, params, environ=None, *, credentials_file=None, retry_budget_s=DEFAULT_RETRY_BUDGET_S,
                 on_response=None):
        require_azure_sdk()
        self.settings = resolve_auth(params, environ, credentials_file=credentials_file, require_subscription=False)
        self.cloud = resolve_cloud(self.settings.cloud_environment)
        self.credential = build_credential(self.settings, self.cloud)
        self.retry_budget_s = retry_budget_s
        self.on_response = on_response
        self._apis = {}

    @property
    def default_subscription(self):
        """The subscription from options, environment, credentials file or the CLI's default."""
        return self.settings.subscription_id

    def subscription_for(self, subscription_id=None):
        subscription_id = subscription_id or self.default_subscription
        if not subscription_id:
            raise VmAccessError(
                "missing_subscription",
                "No subscription id: give the VM's full id, or set subscription_id, AZURE_SUBSCRIPTION_ID, "
                "subscription_id in the credentials file, or the Azure CLI's default subscription.")
        return subscription_id

    def api(self, subscription_id=None):
        subscription_id = self.subscription_for(subscription_id)
        key = subscription_id.lower()
        if key not in self._apis:
            observe = functools.partial(self.on_response, subscription_id) if self.on_response else None
            client = compute_client(self.credential, subscription_id, self.cloud,
                                    retry_budget_s=self.retry_budget_s, on_response=observe)
            self._apis[key] = ComputeApi(client, subscription_id, self.cloud.resource_manager)
        return self._apis[key]

    def check_token(self):
        """Get a token once, so bad credentials fail clearly before any listing starts."""
        try:
            self.credential.get_token(*self.cloud.credential_scopes)
        except Exception as exc:  # every credential failure becomes a reason code
            raise classify_azure_error(exc, operation="get an Azure token") from None
