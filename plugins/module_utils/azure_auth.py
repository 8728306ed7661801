# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials, cloud endpoints and the Compute client, built on azure-identity only.

The module speaks the option names and environment variables of azure.azcollection (and of
AWX's "Microsoft Azure Resource Manager" credential), plus azure-identity's own names, so
existing ``module_defaults`` and AWX credentials keep working. No azure-cli-core, no
msrestazure.

Four steps, each usable on its own:

- ``resolve_auth(params, environ)`` -> ``AuthSettings``: pure; decides which credential to use
  and where each value comes from (module parameter > environment > credentials file).
- ``resolve_cloud(cloud_environment)`` -> ``CloudEndpoints``: a known cloud name, or the https
  URL of an ARM endpoint whose ``/metadata/endpoints`` document is read (Azure Stack Hub, the
  local emulator).
- ``build_credential(settings, cloud)`` -> an azure-identity credential.
- ``compute_client(credential, subscription_id, cloud)`` -> ``ComputeManagementClient``.

``connect(params)`` does all four; it is the one call modules make.

This file imports with the standard library only; the Azure SDK imports are guarded and
reported through ``HAS_AZURE_SDK`` / ``AZURE_SDK_IMPORT_ERROR``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import json
import os
import shutil
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

try:
    from azure.identity import (
        AzureAuthorityHosts,
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
    AzureAuthorityHosts = None
else:
    HAS_AZURE_SDK = True
    AZURE_SDK_IMPORT_ERROR = None

try:
    import requests
except ImportError:  # requests comes with azure-core; only custom clouds need it here
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None


COLLECTION_NAME = "azure_ops.vm_access"
# Keep in step with galaxy.yml (modules run from an AnsiballZ zip, where galaxy.yml is absent).
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION)
AZURE_SDK_REQUIREMENTS = ("azure-identity", "azure-mgmt-compute")

AUTH_SOURCES = ("auto", "env", "credential_file", "cli", "msi", "workload_identity")
METHODS = ("client_secret", "certificate", "managed_identity", "workload_identity", "cli")
SOURCES = ("parameters", "env", "credential_file", "cli", "msi", "workload_identity")

# Discovery api-version: returns a JSON array of clouds; Azure Stack Hub and older
# api-versions return one object. Both shapes are accepted.
METADATA_API_VERSION = "2022-09-01"

# Retry defaults for ARM calls (azure-core RetryPolicy; Retry-After / retry-after-ms honoured).
DEFAULT_RETRY_TOTAL = 10
DEFAULT_RETRY_BACKOFF_FACTOR = 0.8
DEFAULT_RETRY_BACKOFF_MAX = 60
# No single ARM call (with its retries and Retry-After waits) may take longer than this by default;
# modules pass their wait_timeout instead.
DEFAULT_RETRY_BUDGET_S = 600


AZURE_AUTH_ARGSPEC = dict(
    auth_source=dict(type="str", choices=list(AUTH_SOURCES)),
    profile=dict(type="str"),
    subscription_id=dict(type="str"),
    client_id=dict(type="str"),
    secret=dict(type="str", no_log=True),
    tenant=dict(type="str"),
    certificate_path=dict(type="path", aliases=["x509_certificate_path"]),
    certificate_password=dict(type="str", no_log=True),
    cloud_environment=dict(type="str"),
    disable_instance_discovery=dict(type="bool"),
    # A path to a token file, not a secret itself (the name only looks like one).
    federated_token_file=dict(type="path", no_log=False),
)

# Environment variables, first name found wins (AWX's names before azure-identity's).
ENV_NAMES = {
    "subscription_id": ("AZURE_SUBSCRIPTION_ID",),
    "client_id": ("AZURE_CLIENT_ID",),
    "secret": ("AZURE_SECRET", "AZURE_CLIENT_SECRET"),
    "tenant": ("AZURE_TENANT", "AZURE_TENANT_ID"),
    "certificate_path": ("AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_X509_CERTIFICATE_PATH"),
    "certificate_password": ("AZURE_CLIENT_CERTIFICATE_PASSWORD",),
    "cloud_environment": ("AZURE_CLOUD_ENVIRONMENT",),
    "federated_token_file": ("AZURE_FEDERATED_TOKEN_FILE",),
    "profile": ("AZURE_PROFILE",),
    "disable_instance_discovery": ("AZURE_DISABLE_INSTANCE_DISCOVERY",),
    "auth_source": ("ANSIBLE_AZURE_AUTH_SOURCE",),
}
# Keys read from a section of the credentials file (same names as azure.azcollection).
CREDENTIALS_FILE_KEYS = ("subscription_id", "client_id", "secret", "tenant", "cloud_environment")
DEFAULT_PROFILE = "default"

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")
# Fields that prove who we are; they only pair with the client_id of the place they come from.
_BOUND_TO_CLIENT = ("secret", "certificate_path", "certificate_password")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class AuthSettings:
    """Which credential to build, with every value it needs. ``repr`` hides secrets."""

    method: str
    source: str
    subscription_id: Optional[str] = None
    client_id: Optional[str] = None
    tenant: Optional[str] = None
    secret: Optional[str] = None
    certificate_path: Optional[str] = None
    certificate_password: Optional[str] = None
    federated_token_file: Optional[str] = None
    cloud_environment: str = "AzureCloud"
    disable_instance_discovery: bool = False

    def __repr__(self):
        shown = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in ("secret", "certificate_password") and value is not None:
                value = "<hidden>"
            shown.append("%s=%r" % (name, value))
        return "AuthSettings(%s)" % ", ".join(shown)

    __str__ = __repr__


@dataclass(frozen=True)
class CloudEndpoints:
    """Where ARM and the login authority of one cloud are."""

    name: str
    resource_manager: str  # https URL, no trailing slash
    authority_host: str  # https URL, no trailing slash
    audience: str  # token audience, as the cloud states it (may end in '/')
    is_custom: bool = False

    @property
    def credential_scopes(self) -> List[str]:
        return [self.audience.rstrip("/") + "/.default"]


@dataclass
class AzureConnection:
    """What ``connect`` returns. ``settings`` prints without secrets."""

    client: Any
    subscription_id: str
    cloud: CloudEndpoints
    settings: AuthSettings
    credential: Any = field(repr=False)


# ---------------------------------------------------------------- auth resolution


def _clean(value):
    """None for unset: empty strings from templates or injectors count as unset."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _param(params, name):
    return _clean(params.get(name))


def _env(environ, name):
    for var in ENV_NAMES[name]:
        value = _clean(environ.get(var))
        if value is not None:
            return value
    return None


def _env_layer(environ):
    return dict((name, _env(environ, name)) for name in ENV_NAMES)


def _parse_bool(value, where):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise VmAccessError(
        "invalid_argument",
        "%s must be a boolean (true/false), got something else." % where,
    )


def _home(environ):
    return _clean(environ.get("HOME")) or os.path.expanduser("~")


def default_credentials_file(environ=None):
    """``~/.azure/credentials``, the fixed path azure.azcollection uses."""
    environ = os.environ if environ is None else environ
    return os.path.join(_home(environ), ".azure", "credentials")


def cli_profile_file(environ=None):
    """The Azure CLI's ``azureProfile.json`` (in ``$AZURE_CONFIG_DIR``, default ``~/.azure``)."""
    environ = os.environ if environ is None else environ
    config_dir = _clean(environ.get("AZURE_CONFIG_DIR")) or os.path.join(_home(environ), ".azure")
    return os.path.join(config_dir, "azureProfile.json")


class _CredentialsFile:
    """A section of the INI credentials file, read once and only when needed."""

    def __init__(self, path, profile, profile_named):
        self.path = path
        self.profile = profile
        self.profile_named = profile_named
        self._loaded = None
        self.file_exists = False
        self.section_exists = False

    def layer(self):
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self):
        if not os.path.isfile(self.path):
            return {}
        self.file_exists = True
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(self.path, encoding="utf-8-sig") as handle:
                parser.read_file(handle)
        except (OSError, UnicodeDecodeError) as exc:
            raise VmAccessError(
                "invalid_argument",
                "Cannot read the credentials file %s (%s)." % (self.path, type(exc).__name__),
                credentials_file=self.path,
            )
        except configparser.Error as exc:
            # configparser's own message may quote the offending line, which may hold a secret.
            line = getattr(exc, "lineno", None)
            raise VmAccessError(
                "invalid_argument",
                "Cannot parse the credentials file %s as INI (%s%s)."
                % (self.path, type(exc).__name__, " at line %s" % line if line else ""),
                credentials_file=self.path,
            )
        if not parser.has_section(self.profile):
            return {}
        self.section_exists = True
        return dict((key, _clean(parser.get(self.profile, key, fallback=None)))
                    for key in CREDENTIALS_FILE_KEYS)

    def lenient_layer(self, notes=None):
        """The section, or {} when the file cannot be read (noted in ``notes``)."""
        try:
            return self.layer()
        except VmAccessError as exc:
            if notes is not None:
                notes.append(exc.message)
            return {}

    def where(self):
        return "the [%s] section of %s" % (self.profile, self.path)


def _read_cli_profile(path):
    """(default subscription id, its cloud name) from azureProfile.json, or (None, None)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:  # the CLI writes a UTF-8 BOM
            data = json.load(handle)
    except (OSError, ValueError):
        return None, None
    subscriptions = data.get("subscriptions") if isinstance(data, dict) else None
    for sub in subscriptions or []:
        if isinstance(sub, dict) and sub.get("isDefault"):
            return _clean(sub.get("id")), _clean(sub.get("environmentName"))
    return None, None


def _find_az(environ):
    return shutil.which("az", path=environ.get("PATH", os.defpath))


_WHERE = {
    "parameters": "module parameters",
    "env": "the environment",
}


def _valid_combinations(cred_file):
    # No "secret:" or "password=" in here: errors.scrub() would mask what follows.
    return (
        "Valid combinations (module parameters first, then environment variables, then the"
        " credentials file):\n"
        "  - service principal with a secret -> client_id + secret + tenant; or AZURE_CLIENT_ID +"
        " AZURE_SECRET (or AZURE_CLIENT_SECRET) + AZURE_TENANT (or AZURE_TENANT_ID); or client_id,"
        " secret and tenant in %s;\n"
        "  - service principal with a certificate -> client_id + certificate_path (+ certificate_password)"
        " + tenant; or AZURE_CLIENT_ID + AZURE_CLIENT_CERTIFICATE_PATH (+ AZURE_CLIENT_CERTIFICATE_PASSWORD)"
        " + AZURE_TENANT_ID;\n"
        "  - workload identity -> client_id + tenant + federated_token_file; or AZURE_CLIENT_ID +"
        " AZURE_TENANT_ID + AZURE_FEDERATED_TOKEN_FILE (auth_source workload_identity, or auto);\n"
        "  - Azure CLI -> run `az login`, with `az` on PATH (auth_source cli, or auto);\n"
        "  - managed identity -> auth_source msi or ANSIBLE_AZURE_AUTH_SOURCE=msi; never chosen"
        " automatically; client_id selects a user-assigned identity."
        % cred_file.where()
    )


def _missing_credentials(problem, cred_file, auth_source, notes=()):
    lines = ["No usable Azure credentials (auth_source=%s): %s" % (auth_source, problem)]
    for note in notes:
        lines.append("Also: %s" % note)
    lines.append(_valid_combinations(cred_file))
    return VmAccessError("missing_credentials", "\n".join(lines), auth_source=auth_source)


def _identity(layers):
    """Pick client id, credential material and tenant from ``layers`` (highest first).

    ``layers`` is a list of (label, dict). A secret or certificate is only taken from a layer
    that names no client_id or the same client_id as the one chosen, so a secret is never paired
    with another application's id. Returns (values, material_label, skipped) where ``skipped``
    lists the labels whose secret/certificate belonged to another client id.
    """
    client_id = None
    client_from = None
    for label, layer in layers:
        if layer.get("client_id"):
            client_id, client_from = layer["client_id"], label
            break
    values = {"client_id": client_id, "client_from": client_from}
    material_from = None
    skipped = []
    for label, layer in layers:
        own = layer.get("client_id")
        has_material = any(layer.get(k) for k in ("secret", "certificate_path"))
        if own and client_id and own != client_id:
            if has_material:
                skipped.append(label)
            continue
        if has_material:
            values["secret"] = layer.get("secret")
            values["certificate_path"] = None if layer.get("secret") else layer.get("certificate_path")
            values["certificate_password"] = layer.get("certificate_password")
            material_from = label
            break
    for name in ("tenant", "federated_token_file"):
        values[name] = next((layer[name] for _label, layer in layers if layer.get(name)), None)
    return values, material_from, skipped


def _method_for(values, allow_token=True):
    if values.get("secret"):
        return "client_secret"
    if values.get("certificate_path"):
        return "certificate"
    if allow_token and values.get("federated_token_file"):
        return "workload_identity"
    return None


def _describe(label):
    return _WHERE.get(label, label)


def _build_identity(source, layers, cred_file, auth_source, allow_token=True, notes=()):
    """Settings fields for a service principal / workload identity from ``layers``, or raise."""
    values, _material_from, skipped = _identity(layers)
    method = _method_for(values, allow_token)
    if not values["client_id"]:
        raise _missing_credentials("no client_id was found.", cred_file, auth_source, notes)
    if method is None:
        problem = "client_id is set (from %s) but no secret, certificate_path%s is." % (
            _describe(values["client_from"]), " or federated_token_file" if allow_token else "")
        notes = list(notes) + [
            "the secret/certificate in %s belongs to a different client_id and was not used."
            % _describe(label) for label in skipped]
        raise _missing_credentials(problem, cred_file, auth_source, notes)
    if not values["tenant"]:
        raise _missing_credentials(
            "client_id and a %s are set but no tenant (tenant, AZURE_TENANT or AZURE_TENANT_ID)."
            % {"client_secret": "secret", "certificate": "certificate",
               "workload_identity": "federated token file"}[method],
            cred_file, auth_source, notes)
    fields = dict(method=method, source=source, client_id=values["client_id"],
                  tenant=values["tenant"])
    if method == "client_secret":
        fields["secret"] = values["secret"]
    elif method == "certificate":
        fields["certificate_path"] = values["certificate_path"]
        fields["certificate_password"] = values["certificate_password"]
    else:
        fields["federated_token_file"] = values["federated_token_file"]
    return fields


def _has_material(layer):
    return any(layer.get(name) for name in ("secret", "certificate_path"))


def _claims(layer, names=("secret", "certificate_path")):
    return bool(layer.get("client_id")) and any(layer.get(n) for n in names)


def resolve_auth(params: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None,
                 credentials_file: Optional[str] = None) -> AuthSettings:
    """Decide how to authenticate, from module parameters, the environment and the credentials file.

    Pure apart from reading the credentials file, ``azureProfile.json`` and looking for ``az`` on
    ``environ['PATH']``. Never logs or returns a secret in an error.

    Each value is taken from the module parameter, else the environment, else the credentials
    file section (``profile`` / ``AZURE_PROFILE`` / ``default``). ``auth_source`` (parameter, else
    ``ANSIBLE_AZURE_AUTH_SOURCE``, else ``auto``) decides which places may supply the credential:

    - ``auto``: module parameters if ``client_id`` is one; a credentials-file profile if one is
      named explicitly; the environment if it has ``AZURE_CLIENT_ID`` with a secret or
      certificate; the credentials-file section; workload identity from the environment
      (``AZURE_CLIENT_ID`` + ``AZURE_FEDERATED_TOKEN_FILE``); the Azure CLI if ``az`` is on PATH.
      Managed identity is never chosen automatically (as in azure.azcollection): probing the
      IMDS endpoint off Azure costs a timeout.
    - ``env``: parameters over environment; ``credential_file``: parameters over the file;
      ``workload_identity`` / ``msi``: parameters over environment; ``cli``: the CLI login,
      subscription from parameter, environment or the CLI's default subscription.

    :raises VmAccessError: ``missing_credentials``, ``missing_subscription``, ``invalid_argument``.
    """
    params = params or {}
    environ = os.environ if environ is None else environ
    env = _env_layer(environ)
    par = dict((name, _param(params, name)) for name in AZURE_AUTH_ARGSPEC)
    if par.get("certificate_path") is None:
        par["certificate_path"] = _param(params, "x509_certificate_path")

    auth_source = par["auth_source"] or env["auth_source"] or "auto"
    auth_source = str(auth_source).strip().lower()
    if auth_source not in AUTH_SOURCES:
        raise VmAccessError(
            "invalid_argument",
            "auth_source (or ANSIBLE_AZURE_AUTH_SOURCE) must be one of %s." % ", ".join(AUTH_SOURCES),
        )

    profile_named = par["profile"] or env["profile"]
    cred_file = _CredentialsFile(
        credentials_file or default_credentials_file(environ),
        profile_named or DEFAULT_PROFILE,
        bool(profile_named),
    )

    fields = _choose_credential(auth_source, par, env, cred_file, environ)
    source = fields["source"]

    # General settings: parameter > environment > credentials file (the CLI's own profile
    # instead of the credentials file for the CLI).
    cli_sub = cli_cloud = None
    if source == "cli":
        cli_sub, cli_cloud = _read_cli_profile(cli_profile_file(environ))

    def general(name, cli_value=None):
        value = par.get(name) or env.get(name)
        if value:
            return value
        if source == "cli":
            return cli_value
        # Only a fallback here: a broken file that does not hold the credential is ignored.
        return cred_file.lenient_layer().get(name)

    subscription_id = general("subscription_id", cli_sub)
    cloud_environment = general("cloud_environment", cli_cloud) or "AzureCloud"
    if par["disable_instance_discovery"] is not None:
        disable = _parse_bool(par["disable_instance_discovery"], "disable_instance_discovery")
    elif env["disable_instance_discovery"] is not None:
        disable = _parse_bool(env["disable_instance_discovery"], "AZURE_DISABLE_INSTANCE_DISCOVERY")
    else:
        disable = False

    if not subscription_id:
        hint = ("the CLI's default subscription (`az account set --subscription ...`)"
                if source == "cli" else "subscription_id in %s" % cred_file.where())
        raise VmAccessError(
            "missing_subscription",
            "No subscription id: set subscription_id, AZURE_SUBSCRIPTION_ID, or %s." % hint,
            auth_source=auth_source,
        )

    return AuthSettings(
        subscription_id=subscription_id,
        cloud_environment=cloud_environment,
        disable_instance_discovery=disable,
        **fields
    )


def _choose_credential(auth_source, par, env, cred_file, environ):
    """The credential part of AuthSettings (method, source, identity fields)."""
    if auth_source == "msi":
        return dict(method="managed_identity", source="msi",
                    client_id=par["client_id"] or env["client_id"])

    if auth_source == "cli":
        if not _find_az(environ):
            raise _missing_credentials("the Azure CLI (`az`) is not on PATH.", cred_file, auth_source)
        return dict(method="cli", source="cli", tenant=par["tenant"])

    if auth_source == "workload_identity":
        values = dict((name, par[name] or env[name])
                      for name in ("client_id", "tenant", "federated_token_file"))
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise _missing_credentials(
                "workload identity needs client_id, tenant and federated_token_file; missing: %s."
                % ", ".join(missing), cred_file, auth_source)
        return dict(method="workload_identity", source="workload_identity", **values)

    if auth_source == "env":
        return _build_identity("env", [("parameters", par), ("env", env)], cred_file, auth_source)

    if auth_source == "credential_file":
        _require_section(cred_file, auth_source)
        return _build_identity("credential_file", [("parameters", par), (cred_file.where(), cred_file.layer())],
                               cred_file, auth_source, allow_token=False)

    # auto
    notes = []
    if par["client_id"]:
        return _build_identity(
            "parameters",
            [("parameters", par), ("env", env), (cred_file.where(), cred_file.lenient_layer())],
            cred_file, auth_source)
    if cred_file.profile_named:
        _require_section(cred_file, auth_source)
        return _build_identity("credential_file", [("parameters", par), (cred_file.where(), cred_file.layer())],
                               cred_file, auth_source, allow_token=False)
    if env["client_id"] and (_has_material(par) or _has_material(env) or par["federated_token_file"]):
        return _build_identity("env", [("parameters", par), ("env", env)], cred_file, auth_source)
    if env["client_id"] and not env["federated_token_file"]:
        notes.append("AZURE_CLIENT_ID is set but no secret, certificate or federated token file.")
    file_layer = cred_file.lenient_layer(notes)
    if _claims(file_layer, names=("secret",)):
        return _build_identity("credential_file", [("parameters", par), (cred_file.where(), file_layer)],
                               cred_file, auth_source, allow_token=False)
    if file_layer.get("client_id"):
        notes.append("%s has client_id but no secret." % cred_file.where())
    if env["client_id"] and (par["federated_token_file"] or env["federated_token_file"]):
        fields = _build_identity("workload_identity", [("parameters", par), ("env", env)],
                                 cred_file, auth_source, notes=notes)
        return fields
    if _find_az(environ):
        return dict(method="cli", source="cli", tenant=par["tenant"])
    notes.append("the Azure CLI (`az`) is not on PATH.")
    raise _missing_credentials("nothing usable was found.", cred_file, auth_source, notes)


def _require_section(cred_file, auth_source):
    cred_file.layer()
    if not cred_file.file_exists:
        raise _missing_credentials("the credentials file %s does not exist." % cred_file.path,
                                   cred_file, auth_source)
    if not cred_file.section_exists:
        raise _missing_credentials(
            "the credentials file %s has no [%s] section (profile / AZURE_PROFILE)."
            % (cred_file.path, cred_file.profile), cred_file, auth_source)


# ------------------------------------------------------------------------ clouds


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
        ),
        "AzureUSGovernment": CloudEndpoints(
            name="AzureUSGovernment",
            resource_manager="https://management.usgovcloudapi.net",
            authority_host=_host("AZURE_GOVERNMENT"),
            audience="https://management.core.usgovcloudapi.net/",
        ),
        "AzureChinaCloud": CloudEndpoints(
            name="AzureChinaCloud",
            resource_manager="https://management.chinacloudapi.cn",
            authority_host=_host("AZURE_CHINA"),
            audience="https://management.core.chinacloudapi.cn/",
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
    value = _clean(cloud_environment) or "AzureCloud"
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
    if not HAS_REQUESTS:
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
    )


# ------------------------------------------------------------ credential, client


def require_azure_sdk():
    if not HAS_AZURE_SDK:
        raise VmAccessError(
            "missing_dependency",
            "The Python packages %s are required (pip install %s)."
            % (" and ".join(AZURE_SDK_REQUIREMENTS), " ".join(AZURE_SDK_REQUIREMENTS)),
            exception=AZURE_SDK_IMPORT_ERROR,
        )


def build_credential(settings: AuthSettings, cloud: CloudEndpoints) -> Any:
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
            )
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


def compute_client(credential: Any, subscription_id: str, cloud: CloudEndpoints, *,
                   retry_total: int = DEFAULT_RETRY_TOTAL,
                   retry_backoff_factor: float = DEFAULT_RETRY_BACKOFF_FACTOR,
                   retry_backoff_max: float = DEFAULT_RETRY_BACKOFF_MAX,
                   user_agent: Optional[str] = USER_AGENT,
                   retry_budget_s: Optional[float] = DEFAULT_RETRY_BUDGET_S,
                   **client_kwargs: Any) -> Any:
    """``ComputeManagementClient`` for ``cloud``, with azure-core's RetryPolicy knobs.

    azure-core retries 408/429/500/502/503/504 and connection errors, honouring Retry-After and
    retry-after-ms; ``retry_budget_s`` bounds the retries of one call (a Retry-After past it is
    not waited for: the call fails as throttled). A token ARM rejects (401) is fetched afresh
    once. ``user_agent`` is prepended to the SDK's own user agent. Other keyword arguments go to
    the client unchanged (``polling_interval``, ``transport``, ...).
    """
    require_azure_sdk()
    from ansible_collections.azure_ops.vm_access.plugins.module_utils.transport_policies import (
        BoundedRetryPolicy,
        FreshTokenChallengePolicy,
    )
    kwargs = dict(
        base_url=cloud.resource_manager,
        credential_scopes=cloud.credential_scopes,
        retry_total=retry_total,
        retry_backoff_factor=retry_backoff_factor,
        retry_backoff_max=retry_backoff_max,
    )
    if user_agent:
        kwargs["user_agent"] = user_agent
    kwargs.update(client_kwargs)
    kwargs.setdefault("retry_policy", BoundedRetryPolicy(
        budget_s=retry_budget_s, retry_total=kwargs["retry_total"],
        retry_backoff_factor=kwargs["retry_backoff_factor"], retry_backoff_max=kwargs["retry_backoff_max"]))
    kwargs.setdefault("authentication_policy", FreshTokenChallengePolicy(credential, *cloud.credential_scopes))
    return ComputeManagementClient(credential, subscription_id, **kwargs)


def connect(params: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None, *,
            credentials_file: Optional[str] = None, **client_kwargs: Any) -> AzureConnection:
    """Resolve auth and cloud, build the credential and the Compute client: one call for modules.

    ``client_kwargs`` go to ``compute_client`` (retry knobs, user agent, polling interval).
    """
    require_azure_sdk()
    settings = resolve_auth(params, environ, credentials_file=credentials_file)
    cloud = resolve_cloud(settings.cloud_environment)
    credential = build_credential(settings, cloud)
    client = compute_client(credential, settings.subscription_id, cloud, **client_kwargs)
    return AzureConnection(client=client, subscription_id=settings.subscription_id, cloud=cloud,
                           settings=settings, credential=credential)


def auth_summary(settings: AuthSettings, cloud: CloudEndpoints) -> Dict[str, Any]:
    """What authenticated against what, safe to return to users: never a secret."""
    return dict(
        source=settings.source,
        method=settings.method,
        subscription_id=settings.subscription_id,
        client_id=settings.client_id,
        tenant=settings.tenant,
        cloud_environment=cloud.name,
        resource_manager=cloud.resource_manager,
        authority_host=cloud.authority_host,
        custom_cloud=cloud.is_custom,
    )
