# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the Azure access layer's connection half: auth resolution (settings), clouds (with a
local HTTPS discovery server), credentials and clients (session)."""

from __future__ import annotations

import dataclasses
import json
import os
import ssl
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ansible_collections.azure_ops.vm_access.plugins.doc_fragments.azure_auth import ModuleDocFragment
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure import session as azure_session
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.clouds import CloudEndpoints, resolve_cloud
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import (
    AzureSession,
    build_credential,
    compute_client,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import (
    AZURE_AUTH_ARGSPEC,
    AuthSettings,
    resolve_auth,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

trustme = pytest.importorskip("trustme")

SECRET = "Sup3r-S3cret~value%1"  # '%' checks the INI file is read without interpolation
ENV_SECRET = "env-S3cret-value"
FILE_SECRET = "file-S3cret-value"
CERT_PASSWORD = "cert-Pa55word-value"
ALL_SECRETS = (SECRET, ENV_SECRET, FILE_SECRET, CERT_PASSWORD)


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def home(tmp_path):
    """An empty HOME, so a real ~/.azure never leaks into a test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def no_az(tmp_path):
    """A PATH without `az`."""
    path = tmp_path / "empty-bin"
    path.mkdir()
    return str(path)


@pytest.fixture
def with_az(tmp_path):
    """A PATH with a fake `az` executable (never run)."""
    path = tmp_path / "bin"
    path.mkdir()
    az = path / "az"
    az.write_text("#!/bin/sh\nexit 1\n")
    az.chmod(az.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def make_env(home, path, **values):
    env = {"HOME": str(home), "PATH": path}
    env.update(values)
    return env


def write_credentials(tmp_path, sections):
    path = tmp_path / "credentials"
    lines = []
    for name, values in sections.items():
        lines.append("[%s]" % name)
        lines.extend("%s=%s" % item for item in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


SP_FILE = {
    "subscription_id": "sub-file",
    "client_id": "client-file",
    "secret": FILE_SECRET,
    "tenant": "tenant-file",
}

AWX_ENV = {
    "AZURE_SUBSCRIPTION_ID": "sub-env",
    "AZURE_CLIENT_ID": "client-env",
    "AZURE_SECRET": ENV_SECRET,
    "AZURE_TENANT": "tenant-env",
}

SP_PARAMS = {
    "subscription_id": "sub-param",
    "client_id": "client-param",
    "secret": SECRET,
    "tenant": "tenant-param",
}


def resolve(params, env, cred_file):
    return resolve_auth(params, env, credentials_file=cred_file)


def assert_no_secret(error):
    text = "%s %r %r" % (error.message, error.details, error)
    for value in ALL_SECRETS:
        assert value not in text


# ------------------------------------------------------------------ argspec and docs


def test_argspec_names_match_azure_azcollection():
    assert set(AZURE_AUTH_ARGSPEC) == {
        "auth_source", "profile", "subscription_id", "client_id", "secret", "tenant",
        "certificate_path", "certificate_password", "cloud_environment",
        "disable_instance_discovery", "federated_token_file",
    }
    assert AZURE_AUTH_ARGSPEC["auth_source"]["choices"] == [
        "auto", "env", "credential_file", "cli", "msi", "workload_identity"]
    assert "default" not in AZURE_AUTH_ARGSPEC["auth_source"]
    assert "default" not in AZURE_AUTH_ARGSPEC["cloud_environment"]
    assert AZURE_AUTH_ARGSPEC["certificate_path"]["aliases"] == ["x509_certificate_path"]
    assert AZURE_AUTH_ARGSPEC["certificate_path"]["type"] == "path"
    assert AZURE_AUTH_ARGSPEC["disable_instance_discovery"]["type"] == "bool"


def test_argspec_no_log_only_on_secrets():
    no_log = {name for name, spec in AZURE_AUTH_ARGSPEC.items() if spec.get("no_log")}
    assert no_log == {"secret", "certificate_password"}
    assert "no_log" not in AZURE_AUTH_ARGSPEC["client_id"]
    assert "no_log" not in AZURE_AUTH_ARGSPEC["tenant"]
    # validate-modules' no-log-needed check matches "token": say explicitly that a path is no secret.
    assert AZURE_AUTH_ARGSPEC["federated_token_file"]["no_log"] is False


def test_doc_fragment_documents_the_argspec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    options = doc["options"]
    assert set(options) == set(AZURE_AUTH_ARGSPEC)
    for name, spec in AZURE_AUTH_ARGSPEC.items():
        option = options[name]
        assert option["description"], name
        assert option["type"] == spec["type"], name
        assert option.get("choices") == spec.get("choices"), name
        assert option.get("aliases") == spec.get("aliases"), name
        assert option.get("default") == spec.get("default"), name
    assert any("azure-identity" in r for r in doc["requirements"])
    assert any("azure-mgmt-compute" in r for r in doc["requirements"])
    text = ModuleDocFragment.DOCUMENTATION
    for needle in ("REQUESTS_CA_BUNDLE", "/metadata/endpoints", "AZURE_SECRET", "AZURE_TENANT_ID",
                   "ANSIBLE_AZURE_AUTH_SOURCE", "never selects a managed identity"):
        assert needle in text


# ------------------------------------------------------------------------ precedence


@pytest.mark.parametrize(
    "in_params, in_env, in_file, expected",
    [
        (True, True, True, "param"),
        (False, True, True, "env"),
        (False, False, True, "file"),
        (True, False, True, "param"),
        (True, True, False, "param"),
    ],
)
def test_subscription_and_cloud_precedence(tmp_path, home, no_az, in_params, in_env, in_file, expected):
    params = dict(SP_PARAMS)
    params.pop("subscription_id")
    env = make_env(home, no_az)
    file_values = {}
    if in_params:
        params.update(subscription_id="sub-param", cloud_environment="AzureChinaCloud")
    if in_env:
        env.update(AZURE_SUBSCRIPTION_ID="sub-env", AZURE_CLOUD_ENVIRONMENT="AzureUSGovernment")
    if in_file:
        file_values.update(subscription_id="sub-file", cloud_environment="https://arm.example.test")
    cred = write_credentials(tmp_path, {"default": file_values})
    settings = resolve(params, env, cred)
    assert settings.subscription_id == "sub-%s" % expected
    assert settings.cloud_environment == {
        "param": "AzureChinaCloud", "env": "AzureUSGovernment", "file": "https://arm.example.test"}[expected]


def test_cloud_defaults_to_azurecloud(tmp_path, home, no_az):
    settings = resolve(SP_PARAMS, make_env(home, no_az), str(tmp_path / "none"))
    assert settings.cloud_environment == "AzureCloud"
    assert settings.disable_instance_discovery is False


def test_params_override_env_field_by_field(tmp_path, home, no_az):
    # client_id from the task, secret and tenant from an environment that names no client id
    env = make_env(home, no_az, AZURE_CLIENT_SECRET=ENV_SECRET, AZURE_TENANT_ID="tenant-env",
                   AZURE_SUBSCRIPTION_ID="sub-env")
    settings = resolve({"client_id": "client-param"}, env, str(tmp_path / "none"))
    assert (settings.source, settings.method) == ("parameters", "client_secret")
    assert (settings.client_id, settings.secret, settings.tenant) == ("client-param", ENV_SECRET, "tenant-env")
    assert settings.subscription_id == "sub-env"


def test_secret_from_env_never_paired_with_another_client_id(tmp_path, home, no_az):
    env = make_env(home, no_az, **AWX_ENV)
    with pytest.raises(VmAccessError) as info:
        resolve({"client_id": "client-param"}, env, str(tmp_path / "none"))
    assert info.value.reason == "missing_credentials"
    assert "belongs to a different client_id" in info.value.message
    assert_no_secret(info.value)


def test_secret_from_env_used_when_client_ids_agree(tmp_path, home, no_az):
    env = make_env(home, no_az, **AWX_ENV)
    settings = resolve({"client_id": "client-env", "subscription_id": "s"}, env, str(tmp_path / "none"))
    assert (settings.source, settings.secret, settings.tenant) == ("parameters", ENV_SECRET, "tenant-env")


def test_param_secret_wins_over_env_secret(tmp_path, home, no_az):
    env = make_env(home, no_az, **AWX_ENV)
    settings = resolve(SP_PARAMS, env, str(tmp_path / "none"))
    assert (settings.secret, settings.tenant, settings.subscription_id) == (SECRET, "tenant-param", "sub-param")


def test_empty_strings_count_as_unset(tmp_path, home, no_az):
    env = make_env(home, no_az, **AWX_ENV)
    params = {"client_id": "", "secret": "", "tenant": " ", "subscription_id": "", "auth_source": ""}
    settings = resolve(params, env, str(tmp_path / "none"))
    assert (settings.source, settings.client_id, settings.subscription_id) == ("env", "client-env", "sub-env")


# ------------------------------------------------------------------- environment names


def test_awx_env_names(tmp_path, home, no_az):
    settings = resolve({}, make_env(home, no_az, **AWX_ENV), str(tmp_path / "none"))
    assert (settings.source, settings.method) == ("env", "client_secret")
    assert (settings.client_id, settings.secret, settings.tenant, settings.subscription_id) == (
        "client-env", ENV_SECRET, "tenant-env", "sub-env")


def test_azure_identity_env_names(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s", AZURE_CLIENT_ID="c",
                   AZURE_CLIENT_SECRET=ENV_SECRET, AZURE_TENANT_ID="t")
    settings = resolve({}, env, str(tmp_path / "none"))
    assert (settings.source, settings.secret, settings.tenant) == ("env", ENV_SECRET, "t")


def test_awx_names_win_over_azure_identity_names(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_CLIENT_SECRET="other", AZURE_TENANT_ID="other-tenant", **AWX_ENV)
    settings = resolve({}, env, str(tmp_path / "none"))
    assert (settings.secret, settings.tenant) == (ENV_SECRET, "tenant-env")


def test_certificate_from_env(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s", AZURE_CLIENT_ID="c", AZURE_TENANT_ID="t",
                   AZURE_CLIENT_CERTIFICATE_PATH="/certs/sp.pem",
                   AZURE_CLIENT_CERTIFICATE_PASSWORD=CERT_PASSWORD)
    settings = resolve({}, env, str(tmp_path / "none"))
    assert (settings.source, settings.method) == ("env", "certificate")
    assert (settings.certificate_path, settings.certificate_password) == ("/certs/sp.pem", CERT_PASSWORD)
    assert settings.secret is None


def test_certificate_from_params_with_alias(tmp_path, home, no_az):
    params = {"client_id": "c", "tenant": "t", "subscription_id": "s",
              "x509_certificate_path": "/certs/sp.pem", "certificate_password": CERT_PASSWORD}
    settings = resolve(params, make_env(home, no_az), str(tmp_path / "none"))
    assert (settings.method, settings.certificate_path) == ("certificate", "/certs/sp.pem")


def test_secret_beats_certificate_in_the_same_place(tmp_path, home, no_az):
    params = dict(SP_PARAMS, certificate_path="/certs/sp.pem")
    settings = resolve(params, make_env(home, no_az), str(tmp_path / "none"))
    assert settings.method == "client_secret"
    assert settings.certificate_path is None


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("yes", True),
                                             ("false", False), ("0", False), ("", False)])
def test_disable_instance_discovery_from_env(tmp_path, home, no_az, value, expected):
    env = make_env(home, no_az, AZURE_DISABLE_INSTANCE_DISCOVERY=value)
    settings = resolve(SP_PARAMS, env, str(tmp_path / "none"))
    assert settings.disable_instance_discovery is expected


def test_disable_instance_discovery_param_wins(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_DISABLE_INSTANCE_DISCOVERY="true")
    settings = resolve(dict(SP_PARAMS, disable_instance_discovery=False), env, str(tmp_path / "none"))
    assert settings.disable_instance_discovery is False


def test_disable_instance_discovery_garbage(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_DISABLE_INSTANCE_DISCOVERY="maybe")
    with pytest.raises(VmAccessError) as info:
        resolve(SP_PARAMS, env, str(tmp_path / "none"))
    assert info.value.reason == "invalid_argument"


# ------------------------------------------------------------------ credentials file


def test_default_section_of_credentials_file(tmp_path, home, no_az):
    cred = write_credentials(tmp_path, {"default": SP_FILE})
    settings = resolve({}, make_env(home, no_az), cred)
    assert (settings.source, settings.method) == ("credential_file", "client_secret")
    assert (settings.client_id, settings.secret, settings.tenant, settings.subscription_id) == (
        "client-file", FILE_SECRET, "tenant-file", "sub-file")


@pytest.mark.parametrize("how", ["param", "env"])
def test_profile_selects_section(tmp_path, home, no_az, how):
    other = dict(SP_FILE, client_id="client-other", subscription_id="sub-other", cloud_environment="AzureChinaCloud")
    cred = write_credentials(tmp_path, {"default": SP_FILE, "other": other})
    params = {"profile": "other"} if how == "param" else {}
    env = make_env(home, no_az, **({"AZURE_PROFILE": "other"} if how == "env" else {}))
    settings = resolve(params, env, cred)
    assert (settings.source, settings.client_id, settings.subscription_id, settings.cloud_environment) == (
        "credential_file", "client-other", "sub-other", "AzureChinaCloud")


def test_named_profile_beats_env_in_auto(tmp_path, home, no_az):
    cred = write_credentials(tmp_path, {"other": SP_FILE})
    env = make_env(home, no_az, **AWX_ENV)
    settings = resolve({"profile": "other"}, env, cred)
    assert (settings.source, settings.client_id, settings.secret) == ("credential_file", "client-file", FILE_SECRET)
    # per-field precedence still applies to the subscription
    assert settings.subscription_id == "sub-env"


def test_named_profile_missing_section(tmp_path, home, no_az):
    cred = write_credentials(tmp_path, {"default": SP_FILE})
    with pytest.raises(VmAccessError) as info:
        resolve({"profile": "nope"}, make_env(home, no_az), cred)
    assert info.value.reason == "missing_credentials"
    assert "[nope]" in info.value.message
    assert_no_secret(info.value)


def test_credential_file_source_ignores_env_credentials(tmp_path, home, no_az):
    cred = write_credentials(tmp_path, {"default": SP_FILE})
    env = make_env(home, no_az, **AWX_ENV)
    settings = resolve({"auth_source": "credential_file"}, env, cred)
    assert (settings.source, settings.client_id, settings.secret, settings.tenant) == (
        "credential_file", "client-file", FILE_SECRET, "tenant-file")


def test_credential_file_source_without_file(tmp_path, home, no_az):
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "credential_file"}, make_env(home, no_az), str(tmp_path / "missing"))
    assert info.value.reason == "missing_credentials"
    assert "does not exist" in info.value.message


def test_default_credentials_file_is_under_home(home, no_az):
    azure_dir = home / ".azure"
    azure_dir.mkdir()
    (azure_dir / "credentials").write_text(
        "[default]\n" + "".join("%s=%s\n" % item for item in SP_FILE.items()))
    settings = resolve_auth({}, make_env(home, no_az))
    assert (settings.source, settings.client_id) == ("credential_file", "client-file")


def test_unparseable_credentials_file_hides_content(tmp_path, home, no_az):
    path = tmp_path / "credentials"
    path.write_text("secret = %s\n[default]\n" % FILE_SECRET)  # a key before any section
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "credential_file"}, make_env(home, no_az), str(path))
    assert info.value.reason == "invalid_argument"
    assert str(path) in info.value.message
    assert_no_secret(info.value)


def test_unparseable_credentials_file_ignored_when_not_the_source(tmp_path, home, no_az):
    path = tmp_path / "credentials"
    path.write_text("garbage without a section\n")
    settings = resolve({}, make_env(home, no_az, **AWX_ENV), str(path))
    assert (settings.source, settings.cloud_environment) == ("env", "AzureCloud")
    assert resolve(SP_PARAMS, make_env(home, no_az), str(path)).source == "parameters"
    with pytest.raises(VmAccessError) as info:  # nothing else usable: say why the file was skipped
        resolve({}, make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s"), str(path))
    assert info.value.reason == "missing_credentials"
    assert "Cannot parse the credentials file" in info.value.message


# ------------------------------------------------------------------------ auth sources


def test_auth_source_from_env_variable(tmp_path, home, no_az):
    env = make_env(home, no_az, ANSIBLE_AZURE_AUTH_SOURCE="msi", AZURE_SUBSCRIPTION_ID="s", **{
        k: v for k, v in AWX_ENV.items() if k != "AZURE_SUBSCRIPTION_ID"})
    settings = resolve({}, env, str(tmp_path / "none"))
    assert (settings.source, settings.method) == ("msi", "managed_identity")


def test_auth_source_param_beats_env_variable(tmp_path, home, no_az):
    env = make_env(home, no_az, ANSIBLE_AZURE_AUTH_SOURCE="msi", **AWX_ENV)
    settings = resolve({"auth_source": "env"}, env, str(tmp_path / "none"))
    assert settings.source == "env"


def test_invalid_auth_source_from_env(tmp_path, home, no_az):
    env = make_env(home, no_az, ANSIBLE_AZURE_AUTH_SOURCE="magic", **AWX_ENV)
    with pytest.raises(VmAccessError) as info:
        resolve({}, env, str(tmp_path / "none"))
    assert info.value.reason == "invalid_argument"


def test_env_source_requires_env_credentials(tmp_path, home, no_az):
    cred = write_credentials(tmp_path, {"default": SP_FILE})
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "env"}, make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s"), cred)
    assert info.value.reason == "missing_credentials"
    assert_no_secret(info.value)


def test_msi_system_and_user_assigned(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s")
    system = resolve({"auth_source": "msi"}, env, str(tmp_path / "none"))
    assert (system.method, system.client_id, system.secret) == ("managed_identity", None, None)
    user = resolve({"auth_source": "msi", "client_id": "uami"}, env, str(tmp_path / "none"))
    assert user.client_id == "uami"
    from_env = resolve({"auth_source": "msi"}, dict(env, AZURE_CLIENT_ID="uami-env"), str(tmp_path / "none"))
    assert from_env.client_id == "uami-env"


def test_msi_needs_a_subscription(tmp_path, home, no_az):
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "msi"}, make_env(home, no_az), str(tmp_path / "none"))
    assert info.value.reason == "missing_subscription"
    assert "AZURE_SUBSCRIPTION_ID" in info.value.message


def test_workload_identity_from_env(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_CLIENT_ID="c", AZURE_TENANT_ID="t", AZURE_SUBSCRIPTION_ID="s",
                   AZURE_FEDERATED_TOKEN_FILE="/var/run/secrets/azure/tokens/azure-identity-token")
    for params in ({"auth_source": "workload_identity"}, {}):
        settings = resolve(params, env, str(tmp_path / "none"))
        assert (settings.source, settings.method) == ("workload_identity", "workload_identity")
        assert settings.federated_token_file.endswith("azure-identity-token")
        assert (settings.client_id, settings.tenant) == ("c", "t")


def test_workload_identity_from_params(tmp_path, home, no_az):
    params = {"client_id": "c", "tenant": "t", "subscription_id": "s", "federated_token_file": "/tok"}
    settings = resolve(params, make_env(home, no_az), str(tmp_path / "none"))
    assert (settings.source, settings.method, settings.federated_token_file) == (
        "parameters", "workload_identity", "/tok")


def test_workload_identity_missing_pieces(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_CLIENT_ID="c", AZURE_SUBSCRIPTION_ID="s")
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "workload_identity"}, env, str(tmp_path / "none"))
    assert info.value.reason == "missing_credentials"
    assert "tenant" in info.value.message and "federated_token_file" in info.value.message


def write_cli_profile(directory, subscriptions, bom=True):
    directory.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"installationId": "x", "subscriptions": subscriptions})
    (directory / "azureProfile.json").write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))


CLI_SUBS = [
    {"id": "sub-other", "isDefault": False, "environmentName": "AzureCloud"},
    {"id": "sub-cli-default", "isDefault": True, "environmentName": "AzureUSGovernment"},
]


@pytest.mark.parametrize("bom", [True, False])
def test_cli_default_subscription_from_azure_profile(tmp_path, home, with_az, bom):
    write_cli_profile(home / ".azure", CLI_SUBS, bom=bom)
    settings = resolve({"auth_source": "cli"}, make_env(home, with_az), str(tmp_path / "none"))
    assert (settings.source, settings.method) == ("cli", "cli")
    assert settings.subscription_id == "sub-cli-default"
    assert settings.cloud_environment == "AzureUSGovernment"


def test_cli_honours_azure_config_dir_and_explicit_subscription(tmp_path, home, with_az):
    config_dir = tmp_path / "azconfig"
    write_cli_profile(config_dir, CLI_SUBS)
    env = make_env(home, with_az, AZURE_CONFIG_DIR=str(config_dir))
    assert resolve({"auth_source": "cli"}, env, None).subscription_id == "sub-cli-default"
    env["AZURE_SUBSCRIPTION_ID"] = "sub-env"
    assert resolve({"auth_source": "cli"}, env, None).subscription_id == "sub-env"
    assert resolve({"auth_source": "cli", "subscription_id": "p"}, env, None).subscription_id == "p"


def test_cli_without_default_subscription(tmp_path, home, with_az):
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "cli"}, make_env(home, with_az), str(tmp_path / "none"))
    assert info.value.reason == "missing_subscription"
    assert "az account set" in info.value.message


def test_cli_not_installed(tmp_path, home, no_az):
    with pytest.raises(VmAccessError) as info:
        resolve({"auth_source": "cli", "subscription_id": "s"}, make_env(home, no_az), str(tmp_path / "none"))
    assert info.value.reason == "missing_credentials"
    assert "`az`" in info.value.message


# ------------------------------------------------------------------------- auto order


def test_auto_order(tmp_path, home, with_az):
    """params > (named profile) > env secret/cert > file section > env workload identity > cli."""
    cred = write_credentials(tmp_path, {"default": SP_FILE})
    workload = {"AZURE_FEDERATED_TOKEN_FILE": "/tok"}
    write_cli_profile(home / ".azure", CLI_SUBS)
    full_env = make_env(home, with_az, **dict(AWX_ENV, **workload))

    assert resolve(SP_PARAMS, full_env, cred).source == "parameters"
    assert resolve({}, full_env, cred).source == "env"

    env_no_secret = dict(full_env)
    del env_no_secret["AZURE_SECRET"]
    assert resolve({}, env_no_secret, cred).source == "credential_file"

    no_file = str(tmp_path / "none")
    assert resolve({}, env_no_secret, no_file).source == "workload_identity"

    only_az = make_env(home, with_az)
    settings = resolve({}, only_az, no_file)
    assert (settings.source, settings.subscription_id) == ("cli", "sub-cli-default")


def test_auto_never_selects_msi(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s", IDENTITY_ENDPOINT="http://169.254.169.254/x",
                   IDENTITY_HEADER="h", MSI_ENDPOINT="http://169.254.169.254/y", AZURE_CLIENT_ID="uami")
    with pytest.raises(VmAccessError) as info:
        resolve({}, env, str(tmp_path / "none"))
    assert info.value.reason == "missing_credentials"
    assert "msi" in info.value.message
    assert "AZURE_CLIENT_ID is set but" in info.value.message


def test_auto_with_nothing(tmp_path, home, no_az):
    with pytest.raises(VmAccessError) as info:
        resolve({}, make_env(home, no_az, AZURE_SUBSCRIPTION_ID="s"), str(tmp_path / "none"))
    error = info.value
    assert error.reason == "missing_credentials"
    for needle in ("client_id", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_CLIENT_SECRET", "AZURE_TENANT",
                   "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "az login", "credentials", "msi"):
        assert needle in error.message


# -------------------------------------------------------------- messages, repr, secrets


@pytest.mark.parametrize(
    "params, env_extra",
    [
        ({"client_id": "c", "secret": SECRET}, {"AZURE_SUBSCRIPTION_ID": "s"}),  # no tenant
        ({"certificate_password": CERT_PASSWORD, "secret": SECRET}, {"AZURE_SUBSCRIPTION_ID": "s"}),
        ({}, {"AZURE_CLIENT_ID": "c", "AZURE_SECRET": ENV_SECRET, "AZURE_SUBSCRIPTION_ID": "s"}),
        ({"client_id": "x"}, {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": ENV_SECRET}),
        ({"client_id": "x", "subscription_id": "s"}, {"ANSIBLE_AZURE_AUTH_SOURCE": "credential_file"}),
    ],
)
def test_missing_credentials_never_shows_values(tmp_path, home, no_az, params, env_extra):
    cred = write_credentials(tmp_path, {"default": {"client_id": "zzz", "secret": FILE_SECRET}})
    with pytest.raises(VmAccessError) as info:
        resolve(params, make_env(home, no_az, **env_extra), cred)
    assert info.value.reason in ("missing_credentials", "missing_subscription")
    assert_no_secret(info.value)


def test_missing_credentials_file_source_without_section(tmp_path, home, no_az):
    cred = write_credentials(tmp_path, {"other": SP_FILE})
    with pytest.raises(VmAccessError) as info:
        resolve(dict(SP_PARAMS, auth_source="credential_file"), make_env(home, no_az), cred)
    assert info.value.reason == "missing_credentials"
    assert_no_secret(info.value)


def test_missing_subscription_message(tmp_path, home, no_az):
    params = dict(SP_PARAMS, certificate_password=CERT_PASSWORD)
    del params["subscription_id"]
    with pytest.raises(VmAccessError) as info:
        resolve(params, make_env(home, no_az), str(tmp_path / "none"))
    error = info.value
    assert error.reason == "missing_subscription"
    assert error.message.startswith("No subscription id: set subscription_id, AZURE_SUBSCRIPTION_ID")
    assert_no_secret(error)


# A marker prefix keeps a generated secret from being a word of the fixed message text
# ("certific", "00000000" of a GUID), which would make the check meaningless rather than failing.
_secret_text = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="%"),
                       min_size=8, max_size=40).map(lambda text: "\u00a7" + text)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=_secret_text, password=_secret_text)
def test_no_error_or_repr_ever_shows_a_secret(tmp_path, secret, password):
    env = {"PATH": "", "HOME": str(tmp_path), "AZURE_CLIENT_SECRET": secret,
           "AZURE_CLIENT_CERTIFICATE_PASSWORD": password}
    cases = [
        ({"client_id": "c", "secret": secret, "tenant": "t"}, {"PATH": "", "HOME": str(tmp_path)}),
        ({"client_id": "c", "certificate_password": password, "certificate_path": "/p"}, env),
        ({}, env),
        ({"auth_source": "env"}, env),
    ]
    for params, environ in cases:
        with pytest.raises(VmAccessError) as info:
            resolve(params, environ, str(tmp_path / "none"))
        text = "%s %r %r" % (info.value.message, info.value.details, info.value)
        assert secret not in text and password not in text
    shown = repr(AuthSettings(method="certificate", source="env", secret=secret, certificate_password=password))
    assert secret not in shown and password not in shown


def test_settings_repr_hides_secrets():
    settings = AuthSettings(method="client_secret", source="parameters", subscription_id="s", client_id="c",
                            tenant="t", secret=SECRET, certificate_password=CERT_PASSWORD)
    for text in (repr(settings), str(settings), "%s" % (settings,), "{!r}".format([settings])):
        assert SECRET not in text and CERT_PASSWORD not in text
        assert "client_id='c'" in text and "secret='<hidden>'" in text
    assert "secret=None" in repr(AuthSettings(method="cli", source="cli"))


# ------------------------------------------------------------------------ known clouds


@pytest.mark.parametrize(
    "name, canonical, rm, authority, audience",
    [
        ("AzureCloud", "AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
         "https://management.core.windows.net/"),
        ("azurepubliccloud", "AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
         "https://management.core.windows.net/"),
        (None, "AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
         "https://management.core.windows.net/"),
        ("AzureUSGovernment", "AzureUSGovernment", "https://management.usgovcloudapi.net",
         "https://login.microsoftonline.us", "https://management.core.usgovcloudapi.net/"),
        ("AZUREUSGOVERNMENTCLOUD", "AzureUSGovernment", "https://management.usgovcloudapi.net",
         "https://login.microsoftonline.us", "https://management.core.usgovcloudapi.net/"),
        ("AzureChinaCloud", "AzureChinaCloud", "https://management.chinacloudapi.cn",
         "https://login.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/"),
    ],
)
def test_known_clouds(name, canonical, rm, authority, audience):
    cloud = resolve_cloud(name)
    # key_vault_dns: tests/unit/plugins/module_utils/test_key_vault_units.py
    assert dataclasses.replace(cloud, key_vault_dns=None) == CloudEndpoints(
        name=canonical, resource_manager=rm, authority_host=authority, audience=audience, is_custom=False)


def test_known_authorities_match_azure_identity():
    from azure.identity import AzureAuthorityHosts

    assert resolve_cloud("AzureCloud").authority_host == "https://" + AzureAuthorityHosts.AZURE_PUBLIC_CLOUD
    assert resolve_cloud("AzureUSGovernment").authority_host == "https://" + AzureAuthorityHosts.AZURE_GOVERNMENT
    assert resolve_cloud("AzureChinaCloud").authority_host == "https://" + AzureAuthorityHosts.AZURE_CHINA


@pytest.mark.parametrize("value", ["http://127.0.0.1:8080", "HTTP://management.local.azurestack.external/"])
def test_http_cloud_refused(value):
    with pytest.raises(VmAccessError) as info:
        resolve_cloud(value)
    assert info.value.reason == "invalid_argument"
    assert "https" in info.value.message and "REQUESTS_CA_BUNDLE" in info.value.message


@pytest.mark.parametrize("value", ["AzureGermanCloud", "management.azure.com", "ftp://x"])
def test_unknown_cloud(value):
    with pytest.raises(VmAccessError) as info:
        resolve_cloud(value)
    assert info.value.reason == "invalid_argument"
    assert "AzureCloud" in info.value.message


# ---------------------------------------------------------------- discovery over HTTPS


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        server = self.server
        server.requests.append(self.path)
        status, body = server.reply(self.path, server.base_url)
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def https_server(ca, tmp_path, monkeypatch):
    """A local HTTPS server on 127.0.0.1 whose CA is trusted through REQUESTS_CA_BUNDLE."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.requests = []
    server.base_url = "https://127.0.0.1:%d" % server.server_address[1]
    server.reply = lambda path, base: (404, {"error": "not set"})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def cloud_document(base, name="Emulator", audience=None):
    return {
        "name": name,
        "resourceManager": base + "/",
        "authentication": {
            "loginEndpoint": base + "/",
            "audiences": [audience or "https://management.core.windows.net/",
                          "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "portal": "https://portal.example.test",
    }


def test_discovery_array_shape(https_server):
    def reply(path, base):
        return 200, [cloud_document("https://elsewhere.example.test", name="Other"), cloud_document(base)]

    https_server.reply = reply
    cloud = resolve_cloud(https_server.base_url + "/")
    assert cloud == CloudEndpoints(
        name="Emulator", resource_manager=https_server.base_url, authority_host=https_server.base_url,
        audience="https://management.core.windows.net/", is_custom=True)
    assert cloud.credential_scopes == ["https://management.core.windows.net/.default"]
    (path,) = https_server.requests
    parts = urlsplit(path)
    assert parts.path == "/metadata/endpoints"
    assert parse_qs(parts.query) == {"api-version": ["2022-09-01"]}


def test_discovery_array_with_single_cloud(https_server):
    https_server.reply = lambda path, base: (200, [cloud_document(base, name="Only")])
    assert resolve_cloud(https_server.base_url).name == "Only"


def test_discovery_single_object_shape_azure_stack(https_server):
    def reply(path, base):
        # Azure Stack Hub / older api-versions: one object, no resourceManager, an ADFS-style audience
        return 200, {
            "galleryEndpoint": base + ":30016/",
            "graphEndpoint": "https://graph.local.azurestack.external/",
            "portalEndpoint": "https://portal.local.azurestack.external/",
            "authentication": {
                "loginEndpoint": base + "/",
                "audiences": ["https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155"],
            },
        }

    https_server.reply = reply
    cloud = resolve_cloud(https_server.base_url + "/metadata/endpoints?api-version=2015-01-01")
    assert cloud.resource_manager == https_server.base_url
    assert cloud.name == https_server.base_url
    assert cloud.audience.startswith("https://management.adfs.azurestack.local/")
    assert cloud.credential_scopes == [
        "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155/.default"]
    assert parse_qs(urlsplit(https_server.requests[0]).query) == {"api-version": ["2022-09-01"]}


@pytest.mark.parametrize(
    "reply, needle",
    [
        (lambda path, base: (404, {"error": {"code": "NotFound"}}), "HTTP 404"),
        (lambda path, base: (500, b"oops"), "HTTP 500"),
        (lambda path, base: (200, b"<html>not json</html>"), "not JSON"),
        (lambda path, base: (200, {"authentication": {"audiences": ["a"]}}), "loginEndpoint"),
        (lambda path, base: (200, {"authentication": {"loginEndpoint": base}}), "audiences"),
        (lambda path, base: (200, [cloud_document("https://a.test"), cloud_document("https://b.test")]),
         "2 clouds listed"),
        (lambda path, base: (200, dict(cloud_document(base), authentication={
            "loginEndpoint": "http://login.test/", "audiences": ["a"]})), "loginEndpoint is not an https"),
        (lambda path, base: (200, "a string"), "unexpected document shape"),
    ],
)
def test_discovery_bad_answers(https_server, reply, needle):
    https_server.reply = reply
    with pytest.raises(VmAccessError) as info:
        resolve_cloud(https_server.base_url)
    assert info.value.reason == "cloud_discovery_failed"
    assert needle in info.value.message
    assert https_server.base_url in info.value.message


def test_discovery_untrusted_certificate(https_server, monkeypatch, tmp_path):
    other = trustme.CA()
    bundle = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    https_server.reply = lambda path, base: (200, cloud_document(base))
    with pytest.raises(VmAccessError) as info:
        resolve_cloud(https_server.base_url)
    assert info.value.reason == "cloud_discovery_failed"
    assert "REQUESTS_CA_BUNDLE" in info.value.message
    assert https_server.requests == []  # the TLS handshake failed before any request


def test_discovery_connection_refused(https_server):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(VmAccessError) as info:
        resolve_cloud("https://127.0.0.1:%d" % port, timeout=5)
    assert info.value.reason == "cloud_discovery_failed"
    assert "127.0.0.1:%d" % port in info.value.message


# ---------------------------------------------------------------- credentials, client


def settings_for(method, **values):
    return AuthSettings(method=method, source="parameters", subscription_id="s", **values)


def test_build_client_secret_credential_for_custom_cloud():
    from azure.identity import ClientSecretCredential

    cloud = CloudEndpoints("Emu", "https://127.0.0.1:1", "https://127.0.0.1:1", "aud/", is_custom=True)
    credential = build_credential(settings_for("client_secret", client_id="c", tenant="t", secret=SECRET), cloud)
    assert isinstance(credential, ClientSecretCredential)
    assert credential._authority == "https://127.0.0.1:1"
    assert credential._instance_discovery is False  # forced off for a custom cloud


def test_build_client_secret_credential_public_cloud_keeps_discovery():
    credential = build_credential(settings_for("client_secret", client_id="c", tenant="t", secret=SECRET),
                                  resolve_cloud("AzureCloud"))
    assert credential._authority == "https://login.microsoftonline.com"
    assert credential._instance_discovery is True
    credential = build_credential(settings_for("client_secret", client_id="c", tenant="t", secret=SECRET,
                                               disable_instance_discovery=True), resolve_cloud("AzureCloud"))
    assert credential._instance_discovery is False


def test_build_certificate_credential(tmp_path):
    from azure.identity import CertificateCredential

    pem = tmp_path / "sp.pem"
    # azure-identity signs its assertion with RS256: the key must be RSA
    cert = trustme.CA().issue_cert("sp.example.test", key_type=trustme.KeyType.RSA)
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    credential = build_credential(settings_for("certificate", client_id="c", tenant="t",
                                               certificate_path=str(pem)), resolve_cloud("AzureChinaCloud"))
    assert isinstance(credential, CertificateCredential)
    assert credential._authority == "https://login.chinacloudapi.cn"


@pytest.mark.parametrize("content", [None, b"not a certificate"])
def test_bad_certificate_is_invalid_argument(tmp_path, content):
    pem = tmp_path / "sp.pem"
    if content is not None:
        pem.write_bytes(content)
    settings = settings_for("certificate", client_id="c", tenant="t", certificate_path=str(pem),
                            certificate_password=CERT_PASSWORD)
    with pytest.raises(VmAccessError) as info:
        build_credential(settings, resolve_cloud("AzureCloud"))
    assert info.value.reason == "invalid_argument"
    assert str(pem) in info.value.message
    assert_no_secret(info.value)


def test_build_managed_identity_and_cli_credentials():
    from azure.identity import AzureCliCredential, ManagedIdentityCredential

    cloud = resolve_cloud("AzureCloud")
    assert isinstance(build_credential(settings_for("managed_identity", client_id="u"), cloud),
                      ManagedIdentityCredential)
    assert isinstance(build_credential(settings_for("cli"), cloud), AzureCliCredential)


def test_build_workload_identity_credential(tmp_path):
    from azure.identity import WorkloadIdentityCredential

    token = tmp_path / "token"
    token.write_text("header.payload.sig")
    cloud = CloudEndpoints("Emu", "https://127.0.0.1:1", "https://127.0.0.1:1", "aud/", is_custom=True)
    credential = build_credential(settings_for("workload_identity", client_id="c", tenant="t",
                                               federated_token_file=str(token)), cloud)
    assert isinstance(credential, WorkloadIdentityCredential)
    assert credential._client._authority == "https://127.0.0.1:1"


def base_url(client):
    """The ARM endpoint a ComputeManagementClient talks to (its configuration holds it from SDK 31 on)."""
    return getattr(client._config, "base_url", None) or client._client._base_url


def test_compute_client_configuration():
    from azure.mgmt.compute import ComputeManagementClient

    cloud = CloudEndpoints("Emu", "https://127.0.0.1:8443", "https://127.0.0.1:8443",
                           "https://management.core.windows.net/", is_custom=True)
    client = compute_client(object(), "sub", cloud, retry_total=3, retry_backoff_factor=0.1, retry_backoff_max=5)
    assert isinstance(client, ComputeManagementClient)
    config = client._config
    assert base_url(client) == "https://127.0.0.1:8443"
    assert config.credential_scopes == ["https://management.core.windows.net/.default"]
    assert (config.retry_policy.total_retries, config.retry_policy.backoff_factor,
            config.retry_policy.backoff_max) == (3, 0.1, 5)
    assert config.user_agent_policy.user_agent.startswith("azure_ops.vm_access/")
    assert config.subscription_id == "sub"


def test_session_on_a_discovered_cloud(https_server, tmp_path, home, no_az):
    https_server.reply = lambda path, base: (200, [cloud_document(base)])
    env = make_env(home, no_az, AZURE_CLOUD_ENVIRONMENT=https_server.base_url, **AWX_ENV)
    session = AzureSession({}, env, credentials_file=str(tmp_path / "none"))
    assert session.default_subscription == "sub-env"
    assert session.cloud.is_custom and session.cloud.resource_manager == https_server.base_url
    api = session.api()
    assert api.subscription_id == "sub-env" and base_url(api.client) == https_server.base_url
    assert session.api("other-sub").client._config.subscription_id == "other-sub"
    assert session.api("SUB-ENV") is api  # one client per subscription, whatever the case
    assert session.credential._instance_discovery is False
    assert ENV_SECRET not in repr(session.settings)


def test_session_without_a_subscription_fails_only_when_one_is_needed(tmp_path, home, no_az):
    env = make_env(home, no_az, AZURE_CLIENT_ID="c", AZURE_SECRET=ENV_SECRET, AZURE_TENANT="t")
    session = AzureSession({}, env, credentials_file=str(tmp_path / "none"))
    assert session.default_subscription is None
    assert session.api("explicit-sub").subscription_id == "explicit-sub"
    with pytest.raises(VmAccessError) as failure:
        session.api()
    assert failure.value.reason == "missing_subscription"


# ----------------------------------------------------------------- no SDK installed

_NO_SDK = r"""
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("azure", "requests"):
            raise ImportError("blocked " + name)
        return None

sys.meta_path.insert(0, Block())
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure import clouds, session, settings
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
assert session.HAS_AZURE_SDK is False and "blocked azure" in session.AZURE_SDK_IMPORT_ERROR
s = settings.resolve_auth({"client_id": "c", "secret": "x", "tenant": "t", "subscription_id": "s"}, {"PATH": ""},
                          "/nope")
c = clouds.resolve_cloud("AzureUSGovernment")
assert c.authority_host == "https://login.microsoftonline.us"
for call in (lambda: session.build_credential(s, c), lambda: clouds.resolve_cloud("https://127.0.0.1:1")):
    try:
        call()
    except VmAccessError as e:
        assert e.reason == "missing_dependency", e.reason
    else:
        raise AssertionError("no error")
print("OK")
"""


def test_imports_and_resolves_without_the_sdk():
    # .../ansible_collections/azure_ops/vm_access/plugins/module_utils/_azure/session.py -> collections root
    root = os.path.abspath(azure_session.__file__)
    for _level in range(7):
        root = os.path.dirname(root)
    env = dict(os.environ, PYTHONPATH=root)
    result = subprocess.run([sys.executable, "-c", _NO_SDK], env=env, capture_output=True, text=True, check=False,
                            cwd=root, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"
