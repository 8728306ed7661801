# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Key Vault secrets, through the optional extra ``azure-keyvault-secrets``.

Plain data out (``SecretVersion``; values only from ``read``), every failure a VmAccessError
(``keyvault_errors``). The package is imported when the first client is built, never at import
time, so nothing that does not use Key Vault pays for it or needs it installed. The client is the
SDK's own ``SecretClient`` on the session's credential: its challenge-based authentication takes
the token's resource and tenant from the vault's challenge, and its check that the challenge's
resource matches the vault's domain always stays on.

Imports with the standard library only (the ``import`` sanity test loads it without the SDK).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.keyvault_errors import (
    SecretNotFound,
    key_vault_error,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

KEY_VAULT_REQUIREMENT = "azure-keyvault-secrets>=4.7,<5"
# Key Vault's rules: vault names 3-24 of letters, digits and dashes, a letter first, no "--", not ending in
# a dash; secret names 1-127 of letters, digits and dashes; versions 32 hex digits.
_VAULT_NAME = re.compile(r"^(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_SECRET_VERSION = re.compile(r"^[0-9A-Fa-f]{32}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+(:\d{1,5})?$")
# A call's retries (429, 5xx, connection errors; Retry-After honoured) end within the run's budget.
RETRY_TOTAL = 4
RETRY_BACKOFF_FACTOR = 0.5
RETRY_BACKOFF_MAX = 30


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret, as Key Vault lists it: never its value."""

    name: str
    version: str
    created: Optional[float] = None  # epoch seconds (Key Vault keeps whole seconds)
    enabled: bool = True
    content_type: Optional[str] = None
    tags: dict = field(default_factory=dict)


# -- input checks (before any call) -------------------------------------------------------------
def check_vault_reference(value, option="key_vault_url"):
    """A vault URL (``https://<vault>.vault.azure.net``) or a vault name; returns it stripped."""
    text = value.strip() if isinstance(value, str) else ""
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() != "https":
            raise VmAccessError("invalid_argument", "%s must be an https URL (https://<vault>.vault.azure.net) or a "
                                                    "vault name; Key Vault is only reached over TLS." % option)
        if not _HOST.match(parts.netloc or "") or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise VmAccessError("invalid_argument", "%s must be a vault URL such as https://kv-prod.vault.azure.net "
                                                    "(no path, query or user info) or a vault name." % option)
        return text
    if not _VAULT_NAME.match(text):
        raise VmAccessError(
            "invalid_argument",
            "%s must be a vault URL (https://<vault>.vault.azure.net) or a vault name: 3-24 letters, digits and "
            "dashes, starting with a letter, not ending with a dash, without '--'." % option)
    return text


def vault_url(value, cloud):
    """The vault's URL: as given, or ``https://<name>.<the cloud's Key Vault DNS suffix>`` for a name."""
    text = check_vault_reference(value)
    if "://" in text:
        parts = urlsplit(text)
        return "https://%s" % parts.netloc.lower()
    if not cloud.key_vault_dns:
        raise VmAccessError(
            "invalid_argument",
            "The cloud %s names no Key Vault DNS suffix (suffixes.keyVaultDns of its metadata), so the vault name "
            "%s cannot be turned into a URL; give key_vault_url as the vault's full https URL." % (cloud.name, text))
    return "https://%s.%s" % (text.lower(), cloud.key_vault_dns)


def check_secret_name(name, option="password_secret"):
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        raise VmAccessError("invalid_argument", "%s must be a Key Vault secret name: 1-127 letters, digits and "
                                                "dashes." % option)
    return name


def check_secret_version(version, option="password_secret_version"):
    if not isinstance(version, str) or not _SECRET_VERSION.match(version):
        raise VmAccessError("invalid_argument", "%s must be a Key Vault secret version: 32 hexadecimal digits "
                                                "(the last part of the secret's id)." % option)
    return version.lower()


def secret_client_class():
    """``azure.keyvault.secrets.SecretClient``, imported now (the optional extra)."""
    try:
        from azure.keyvault.secrets import SecretClient
    except ImportError:
        raise VmAccessError(
            "missing_dependency",
            "Key Vault support needs the optional Python package azure-keyvault-secrets, which is not installed in "
            "the Python that runs the task: pip install '%s' (or build the execution environment from the "
            "collection's meta/execution-environment.yml, which includes it)." % KEY_VAULT_REQUIREMENT,
            exception=traceback.format_exc()) from None
    return SecretClient


def _version_of(properties, name):
    created = getattr(properties, "created_on", None)
    return SecretVersion(
        name=getattr(properties, "name", None) or name,
        version=getattr(properties, "version", None) or "",
        created=created.timestamp() if created is not None else None,
        enabled=getattr(properties, "enabled", None) is not False,
        content_type=getattr(properties, "content_type", None),
        tags=dict(getattr(properties, "tags", None) or {}))


class KeyVaultApi:
    """The Key Vault calls of one vault: set a version with tags, update a version's tags, list a secret's
    versions, read a value. One SecretClient (built on first use) serves every thread of a run."""

    def __init__(self, credential, url, *, retry_budget_s=None, user_agent=None, **client_kwargs):
        self.credential = credential
        self.url = url
        self.retry_budget_s = retry_budget_s
        self.user_agent = user_agent
        self.client_kwargs = client_kwargs
        self._client = None

    def __repr__(self):
        return "KeyVaultApi(%r)" % self.url

    @property
    def client(self):
        if self._client is None:
            secret_client = secret_client_class()
            from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.policies import BoundedRetryPolicy
            kwargs = dict(retry_total=RETRY_TOTAL, retry_backoff_factor=RETRY_BACKOFF_FACTOR,
                          retry_backoff_max=RETRY_BACKOFF_MAX)
            if self.user_agent:
                kwargs["user_agent"] = self.user_agent
            kwargs.update(self.client_kwargs)
            kwargs.setdefault("retry_policy", BoundedRetryPolicy(
                budget_s=self.retry_budget_s, retry_total=kwargs["retry_total"],
                retry_backoff_factor=kwargs["retry_backoff_factor"], retry_backoff_max=kwargs["retry_backoff_max"]))
            self._client = secret_client(self.url, self.credential, **kwargs)
        return self._client

    def _fail(self, exc, operation, name):
        return key_vault_error(exc, operation=operation, vault_url=self.url, secret=name)

    def versions(self, name):
        """Every version of ``name`` (in no particular order: Key Vault lists by id); [] if it does not exist."""
        try:
            return [_version_of(p, name) for p in self.client.list_properties_of_secret_versions(name)]
        except Exception as exc:  # every failure becomes a reason code
            error = self._fail(exc, "list", name)
        if isinstance(error, SecretNotFound):
            return []
        raise error

    def read(self, name, version=None):
        """``(SecretVersion, value)`` of ``version`` (default: the latest). Keep the value out of every result."""
        try:
            secret = self.client.get_secret(name, version)
            return _version_of(secret.properties, name), secret.value
        except Exception as exc:  # every failure becomes a reason code
            error = self._fail(exc, "get", name)
        raise error

    def create(self, name, value, tags, content_type="password"):
        """A new version of ``name`` holding ``value``; returns it (without the value)."""
        try:
            secret = self.client.set_secret(name, value, tags=dict(tags), content_type=content_type)
            return _version_of(secret.properties, name)
        except Exception as exc:  # every failure becomes a reason code
            error = self._fail(exc, "set", name)
        raise error

    def update_tags(self, name, version, tags):
        """Replace the tags of one version (Key Vault replaces them all); returns the version."""
        try:
            return _version_of(self.client.update_secret_properties(name, version, tags=dict(tags)), name)
        except Exception as exc:  # every failure becomes a reason code
            error = self._fail(exc, "update", name)
        raise error
