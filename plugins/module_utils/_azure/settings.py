# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which credential to use and where each value comes from: module options, then the
environment, then the credentials file (or the Azure CLI's profile), under ``auth_source``.
Pure apart from reading those files and looking for ``az`` on PATH; never puts a secret in an
error message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.credential_sources import (
    DEFAULT_PROFILE,
    CredentialsFile,
    clean,
    cli_profile_file,
    default_credentials_file,
    env_layer,
    find_az,
    parse_bool,
    read_cli_profile,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

AUTH_SOURCES = ("auto", "env", "credential_file", "cli", "msi", "workload_identity")

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
                 credentials_file: Optional[str] = None, require_subscription: bool = True) -> AuthSettings:
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

    The subscription is the default one for calls that do not name their own (a VM id does);
    without ``require_subscription`` it may stay unset.

    :raises VmAccessError: ``missing_credentials``, ``missing_subscription``, ``invalid_argument``.
    """
    params = params or {}
    environ = os.environ if environ is None else environ
    env = env_layer(environ)
    par = dict((name, clean(params.get(name))) for name in AZURE_AUTH_ARGSPEC)
    if par.get("certificate_path") is None:
        par["certificate_path"] = clean(params.get("x509_certificate_path"))

    auth_source = par["auth_source"] or env["auth_source"] or "auto"
    auth_source = str(auth_source).strip().lower()
    if auth_source not in AUTH_SOURCES:
        raise VmAccessError(
            "invalid_argument",
            "auth_source (or ANSIBLE_AZURE_AUTH_SOURCE) must be one of %s." % ", ".join(AUTH_SOURCES),
        )

    profile_named = par["profile"] or env["profile"]
    cred_file = CredentialsFile(
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
        cli_sub, cli_cloud = read_cli_profile(cli_profile_file(environ))

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
        disable = parse_bool(par["disable_instance_discovery"], "disable_instance_discovery")
    elif env["disable_instance_discovery"] is not None:
        disable = parse_bool(env["disable_instance_discovery"], "AZURE_DISABLE_INSTANCE_DISCOVERY")
    else:
        disable = False

    if not subscription_id and require_subscription:
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
        if not find_az(environ):
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
    if find_az(environ):
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
