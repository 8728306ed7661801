# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoints of an Azure cloud: a known cloud by name, or any https Resource Manager whose
``/metadata/endpoints`` document names its login endpoint and token audience (Azure Stack Hub,
the local emulator). TLS is always verified; a private CA comes from ``REQUESTS_CA_BUNDLE``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback
from dataclasses import dataclass
from typing import List, Optional
from urllib.parse import urlsplit, urlunsplit

try:
    from azure.identity import AzureAuthorityHosts
except ImportError:  # reported by session.require_azure_sdk
    AzureAuthorityHosts = None

try:
    import requests
except ImportError:  # requests comes with azure-core; only custom clouds need it here
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.credential_sources import clean
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# Discovery api-version: returns a JSON array of clouds; Azure Stack Hub and older
# api-versions return one object. Both shapes are accepted.
METADATA_API_VERSION = "2022-09-01"
_DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
USER_AGENT = "azure_ops.vm_access"


@dataclass(frozen=True)
class CloudEndpoints:
    """Where ARM, the login authority and Key Vault of one cloud are."""

    name: str
    resource_manager: str  # https URL, no trailing slash
    authority_host: str  # https URL, no trailing slash
    audience: str  # token audience, as the cloud states it (may end in '/')
    is_custom: bool = False
    # Key Vault's DNS suffix (vault URLs are https://<vault>.<suffix>); None when the cloud names none.
    key_vault_dns: Optional[str] = None

    @property
    def credential_scopes(self) -> List[str]:
        return [self.audience.rstrip("/") + "/.default"]


def _host(name):
    """AzureAuthorityHosts value as an https URL (literal fallback without the SDK)."""
    if AzureAuthorityHosts is not None:
        return "https://" + getattr(AzureAuthorityHosts, name)
    return "https://" + {
        "AZURE_PUBLIC_CLOUD": "login.microsoftonline.com",
        "AZURE_GOVERNMENT": "login.microsoftonline.us",
        "AZURE_CHINA": "login.chinacloudapi.cn",
    }[name]


def _known_clouds():
    return {
        "AzureCloud": CloudEndpoints(
            name="AzureCloud",
            resource_manager="https://management.azure.com",
            authority_host=_host("AZURE_PUBLIC_CLOUD"),
            audience="https://management.core.windows.net/",
            key_vault_dns="vault.azure.net",
        ),
        "AzureUSGovernment": CloudEndpoints(
            name="AzureUSGovernment",
            resource_manager="https://management.usgovcloudapi.net",
            authority_host=_host("AZURE_GOVERNMENT"),
            audience="https://management.core.usgovcloudapi.net/",
            key_vault_dns="vault.usgovcloudapi.net",
        ),
        "AzureChinaCloud": CloudEndpoints(
            name="AzureChinaCloud",
            resource_manager="https://management.chinacloudapi.cn",
            authority_host=_host("AZURE_CHINA"),
            audience="https://management.core.chinacloudapi.cn/",
            key_vault_dns="vault.azure.cn",
        ),
    }


# Lower-cased aliases people use (Azure CLI, azure-mgmt/msrestazure, PowerShell, Terraform).
CLOUD_ALIASES = {
    "azurecloud": "AzureCloud",
    "azurepubliccloud": "AzureCloud",
    "public": "AzureCloud",
    "azureusgovernment": "AzureUSGovernment",
    "azureusgovernmentcloud": "AzureUSGovernment",
    "usgovernment": "AzureUSGovernment",
    "azurechinacloud": "AzureChinaCloud",
    "china": "AzureChinaCloud",
}


def _normalise_url(url):
    """Lower-case scheme and host, drop a default port and trailing slashes, query, fragment."""
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    if netloc.endswith(":443"):
        netloc = netloc[:-4]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def resolve_cloud(cloud_environment: Optional[str], *, timeout: float = 30) -> CloudEndpoints:
    """Endpoints of a known cloud (by name or alias, case-insensitive) or of a custom ARM URL.

    A custom cloud is the https URL of its Resource Manager (a full ``.../metadata/endpoints``
    URL is accepted too); its ``/metadata/endpoints`` document gives the login endpoint and token
    audience. TLS is always verified (a private CA comes from ``REQUESTS_CA_BUNDLE``). Nothing is
    cached on disk.

    :raises VmAccessError: ``invalid_argument`` (unknown name, http URL), ``cloud_discovery_failed``,
        ``missing_dependency`` (no ``requests`` for a custom cloud).
    """
    value = clean(cloud_environment) or "AzureCloud"
    canonical = CLOUD_ALIASES.get(value.lower())
    if canonical:
        return _known_clouds()[canonical]

    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "http":
        raise VmAccessError(
            "invalid_argument",
            "cloud_environment %s uses http: only https ARM endpoints are accepted, and TLS is always"
            " verified (trust a private CA with REQUESTS_CA_BUNDLE)." % value,
            cloud_environment=value,
        )
    if scheme != "https" or not parts.netloc:
        raise VmAccessError(
            "invalid_argument",
            "cloud_environment must be one of AzureCloud (AzurePublicCloud), AzureUSGovernment"
            " (AzureUSGovernmentCloud), AzureChinaCloud, or the https URL of an Azure Resource Manager"
            " endpoint (e.g. https://management.local.azurestack.external).",
            cloud_environment=value,
        )
    path = parts.path.rstrip("/")
    if path.lower().endswith("/metadata/endpoints"):
        path = path[: -len("/metadata/endpoints")]
    base = _normalise_url(urlunsplit((parts.scheme, parts.netloc, path, "", "")))
    return _discover(base, timeout)


def _discovery_failed(url, base, what, check):
    return VmAccessError(
        "cloud_discovery_failed",
        "Cloud discovery from %s failed: %s. %s" % (url, what, check),
        url=url, cloud_environment=base,
    )


def _discover(base, timeout):
    if requests is None:
        raise VmAccessError(
            "missing_dependency",
            "The Python package requests (installed with azure-core) is needed to discover a"
            " custom cloud.",
            exception=REQUESTS_IMPORT_ERROR,
        )
    url = "%s/metadata/endpoints?api-version=%s" % (base, METADATA_API_VERSION)
    try:
        response = requests.get(url, timeout=timeout, verify=True,
                                headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    except requests.exceptions.SSLError as exc:
        raise _discovery_failed(
            url, base, "TLS verification failed (%s)" % type(exc).__name__,
            "TLS is always verified: if the endpoint uses a private CA, point REQUESTS_CA_BUNDLE"
            " at a PEM file containing it.")
    except requests.exceptions.Timeout:
        raise _discovery_failed(url, base, "no answer within %s s" % timeout,
                                "Check the URL, the network path and any proxy (HTTPS_PROXY/NO_PROXY).")
    except requests.exceptions.RequestException as exc:
        raise _discovery_failed(url, base, "cannot connect (%s)" % type(exc).__name__,
                                "Check the URL, that the endpoint is up, and any proxy (HTTPS_PROXY/NO_PROXY).")
    if response.status_code != 200:
        raise _discovery_failed(url, base, "HTTP %s" % response.status_code,
                                "Check that cloud_environment is the Resource Manager URL of the cloud.")
    try:
        document = response.json()
    except ValueError:
        raise _discovery_failed(url, base, "the answer is not JSON",
                                "Check that cloud_environment is the Resource Manager URL of the cloud.")
    return _cloud_from_metadata(document, base, url)


def _cloud_from_metadata(document, base, url):
    """CloudEndpoints from a /metadata/endpoints document (a list of clouds or one object)."""
    check = "Check that cloud_environment is the Resource Manager URL of the cloud."
    if isinstance(document, list):
        clouds = [c for c in document if isinstance(c, dict)]
        matching = [c for c in clouds
                    if isinstance(c.get("resourceManager"), str)
                    and _normalise_url(c["resourceManager"]) == base]
        if len(matching) == 1:
            entry = matching[0]
        elif len(clouds) == 1 and not matching:
            entry = clouds[0]
        else:
            raise _discovery_failed(
                url, base, "%d clouds listed, %d with resourceManager %s"
                % (len(clouds), len(matching), base), check)
    elif isinstance(document, dict):
        entry = document
    else:
        raise _discovery_failed(url, base, "unexpected document shape", check)

    auth = entry.get("authentication")
    login = auth.get("loginEndpoint") if isinstance(auth, dict) else None
    audiences = auth.get("audiences") if isinstance(auth, dict) else None
    if not isinstance(login, str) or not login.strip():
        raise _discovery_failed(url, base, "no authentication.loginEndpoint", check)
    if not isinstance(audiences, list) or not audiences or not isinstance(audiences[0], str):
        raise _discovery_failed(url, base, "no authentication.audiences", check)
    resource_manager = entry.get("resourceManager")
    resource_manager = (_normalise_url(resource_manager)
                        if isinstance(resource_manager, str) and resource_manager.strip() else base)
    login = _normalise_url(login.strip())
    for what, value in (("resourceManager", resource_manager), ("loginEndpoint", login)):
        if not value.startswith("https://"):
            raise _discovery_failed(url, base, "%s is not an https URL" % what,
                                    "Only https endpoints are used.")
    name = entry.get("name") if isinstance(entry.get("name"), str) and entry.get("name") else base
    return CloudEndpoints(
        name=name,
        resource_manager=resource_manager,
        authority_host=login,
        audience=audiences[0].strip(),
        is_custom=True,
        key_vault_dns=_key_vault_dns(entry.get("suffixes")),
    )


def _key_vault_dns(suffixes):
    """``suffixes.keyVaultDns`` of a metadata document (``vault.azure.net``; some clouds write ``.vault.azure.net``)."""
    value = suffixes.get("keyVaultDns") if isinstance(suffixes, dict) else None
    if not isinstance(value, str):
        return None
    value = value.strip().strip(".").lower()
    return value if _DNS_NAME.match(value) else None
