"""Key Vault without a vault: cloud suffixes, vault URLs and names, option checks before any call, the
optional package, and the error messages (azure-core exceptions built by hand)."""

from __future__ import annotations

import sys

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.core.rest import HttpRequest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure import keyvault
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.clouds import (
    CloudEndpoints,
    _cloud_from_metadata,
    resolve_cloud,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.keyvault_errors import key_vault_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue import key_vault as glue
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import (
    fleet_argument_spec,
    module_argument_spec,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import REASONS, VmAccessError

URL = "https://kv-prod.vault.azure.net"


@pytest.mark.parametrize("cloud, suffix", [("AzureCloud", "vault.azure.net"),
                                           ("AzureUSGovernment", "vault.usgovcloudapi.net"),
                                           ("AzureChinaCloud", "vault.azure.cn")])
def test_known_clouds_know_their_key_vault_suffix(cloud, suffix):
    resolved = resolve_cloud(cloud)
    assert resolved.key_vault_dns == suffix
    assert keyvault.vault_url("kv-Prod", resolved) == "https://kv-prod.%s" % suffix


def test_custom_clouds_take_it_from_their_metadata():
    entry = {"name": "Stack", "resourceManager": "https://management.local.azurestack.external",
             "authentication": {"loginEndpoint": "https://login.local/", "audiences": ["https://management.local/"]},
             "suffixes": {"keyVaultDns": ".vault.local.azurestack.external"}}
    cloud = _cloud_from_metadata(entry, "https://management.local.azurestack.external", "u")
    assert cloud.key_vault_dns == "vault.local.azurestack.external"
    entry["suffixes"] = {"keyVaultDns": "not a host!"}
    bare = _cloud_from_metadata(entry, "https://management.local.azurestack.external", "u")
    assert bare.key_vault_dns is None
    with pytest.raises(VmAccessError) as caught:
        keyvault.vault_url("kv-prod", bare)
    assert caught.value.reason == "invalid_argument" and "full https URL" in caught.value.message
    assert keyvault.vault_url("https://kv-prod.vault.local.azurestack.external/", bare) == \
        "https://kv-prod.vault.local.azurestack.external"


@pytest.mark.parametrize("value", ["http://kv-prod.vault.azure.net", "https://kv-prod.vault.azure.net/secrets/x",
                                   "https://user@kv-prod.vault.azure.net", "https://kv-prod.vault.azure.net?x=1",
                                   "kv", "1kv-prod", "kv--prod", "kv-prod-", "k" * 25, "kv_prod", "", None, 7])
def test_bad_vault_references_are_refused_before_any_call(value):
    with pytest.raises(VmAccessError) as caught:
        keyvault.check_vault_reference(value)
    assert caught.value.reason == "invalid_argument"


@pytest.mark.parametrize("value", [URL, URL + "/", "https://kv-prod.vault.azure.net:443", "kv-prod", "Kv3"])
def test_good_vault_references(value):
    assert keyvault.check_vault_reference(value)


def test_secret_names_and_versions():
    assert keyvault.check_secret_name("a" * 127) and keyvault.check_secret_name("1-x")
    assert keyvault.check_secret_version("A" * 32) == "a" * 32
    for bad in ("", "a" * 128, "a_b", "a/b", None):
        with pytest.raises(VmAccessError):
            keyvault.check_secret_name(bad)
    for bad in ("latest", "a" * 31, "g" * 32):
        with pytest.raises(VmAccessError):
            keyvault.check_secret_version(bad)


def test_without_the_optional_package_missing_dependency_says_how_to_get_it(monkeypatch):
    for name in list(sys.modules):
        if name.startswith("azure.keyvault"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "azure.keyvault.secrets", None)
    with pytest.raises(VmAccessError) as caught:
        keyvault.secret_client_class()
    assert caught.value.reason == "missing_dependency"
    assert "azure-keyvault-secrets>=4.7,<5" in caught.value.message and "execution environment" in caught.value.message


def test_nothing_imports_the_optional_package_until_a_client_is_built():
    import subprocess
    code = ("import sys\nfrom tests.collection_link import inject\ninject()\n"
            "from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue import key_vault\n"
            "from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure import keyvault\n"
            "print(any(m.startswith('azure.keyvault') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


# -- option checks -------------------------------------------------------------------------------
def module_params(**given):
    params = dict((k, None) for k in module_argument_spec())
    params.update(generate_password=False, reset="password")
    params.update(given)
    return params


@pytest.mark.parametrize("given, fragment", [
    (dict(generate_password=True), "need key_vault_url"),
    (dict(password_secret="s"), "need key_vault_url"),
    (dict(key_vault_url=URL), "needs generate_password"),
    (dict(key_vault_url=URL, generate_password=True, password="Xx-12345678!a"), "mutually exclusive"),
    (dict(key_vault_url=URL, password_secret="s", password="Xx-12345678!a"), "mutually exclusive"),
    (dict(key_vault_url=URL, generate_password=True, password_secret_version="a" * 32), "does not apply"),
    (dict(key_vault_url=URL, password_secret="s", rotation_max_age_days=3), "rotation_max_age_days applies"),
    (dict(key_vault_url=URL, generate_password=True, rotation_max_age_days=-1), "0 or more"),
    (dict(key_vault_url=URL, password_secret="bad_name"), "1-127 letters"),
    (dict(key_vault_url=URL, password_secret="s", password_secret_version="v1"), "32 hexadecimal"),
    (dict(key_vault_url="http://kv.vault.azure.net", generate_password=True), "https"),
    (dict(reset="rdp", key_vault_url=URL, generate_password=True), "reset=rdp"),
])
def test_module_options_are_checked_before_any_call(given, fragment):
    with pytest.raises(VmAccessError) as caught:
        glue.check_module_options(module_params(**given))
    assert caught.value.reason == "invalid_argument" and fragment in caught.value.message


def test_module_options_that_go_together():
    glue.check_module_options(module_params(key_vault_url="kv-prod", generate_password=True, rotation_max_age_days=0))
    glue.check_module_options(module_params(key_vault_url=URL, password_secret="web-01", password_secret_version="a" * 32))
    glue.check_module_options(module_params(key_vault_url=URL, generate_password=True, password_secret="web-01"))
    glue.check_module_options(module_params(password="Xx-12345678!a"))


def fleet_params(**given):
    params = dict((k, None) for k in fleet_argument_spec())
    params.update(mode="reset", reset="password", generate_passwords=True)
    params.update(given)
    return params


@pytest.mark.parametrize("given, fragment", [
    (dict(key_vault_url=URL, generate_passwords=False), "generate_passwords=true"),
    (dict(key_vault_url=URL, reset="rdp"), "reset=password"),
    (dict(key_vault_url=URL, mode="status"), "reset=password"),
    (dict(key_vault_url=URL, password_vault_file="/tmp/x"), "mutually exclusive"),
    (dict(key_vault_url=URL, vault_password="x"), "mutually exclusive"),
    (dict(rotation_max_age_days=30), "set key_vault_url"),
    (dict(key_vault_url="kv_bad"), "vault name"),
])
def test_fleet_options_are_checked_before_any_call(given, fragment):
    with pytest.raises(VmAccessError) as caught:
        glue.check_fleet_options(fleet_params(**given))
    assert caught.value.reason == "invalid_argument" and fragment in caught.value.message


# -- error messages --------------------------------------------------------------------------------
class _Response:
    def __init__(self, status, body, headers=None):
        self.status_code = status
        self.headers = headers or {"x-ms-request-id": "req-1"}
        self.reason = "x"
        self.request = HttpRequest("PUT", URL + "/secrets/s1")
        self._body = body

    def text(self, encoding=None):
        return self._body


def http_error(status, code, message, inner=None):
    import json
    body = {"error": {"code": code, "message": message}}
    if inner:
        body["error"]["innererror"] = {"code": inner}
    return HttpResponseError(response=_Response(status, json.dumps(body)))


@pytest.mark.parametrize("exc, operation, reason, fragments", [
    (http_error(403, "Forbidden", "Caller is not authorized", "ForbiddenByRbac"), "set", "key_vault_forbidden",
     ["setSecret/action", "Key Vault Secrets Officer", "permission set"]),
    (http_error(403, "Forbidden", "The user does not have secrets list permission"), "list", "key_vault_forbidden",
     ["readMetadata/action", "permission list"]),
    (http_error(403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"), "get",
     "key_vault_error", ["disabled"]),
    (http_error(404, "SecretNotFound", "A secret with (name/id) s1 was not found"), "get", "secret_not_found", ["s1"]),
    (http_error(404, "VaultNotFound", "no vault"), "get", "key_vault_error", ["does not exist"]),
    (http_error(401, "Unauthorized", "AKV10022: Invalid audience."), "set", "authentication_failed", ["tenant"]),
    (http_error(409, "Conflict", "Secret s1 is currently in a deleted but recoverable state",
                "ObjectIsDeletedButRecoverable"), "set", "key_vault_error", ["recover"]),
    (http_error(429, "Throttled", "Too many requests"), "set", "key_vault_error", ["throttled", "max_workers"]),
    (http_error(503, "ServiceUnavailable", "busy"), "set", "key_vault_error", ["HTTP 503"]),
    (http_error(400, "BadParameter", "The request URI contains an invalid name: a_b"), "set", "key_vault_error",
     ["1-127 letters"]),
    (ServiceRequestError("Unable to connect to proxy"), "list", "key_vault_error", ["does not resolve", "HTTPS_PROXY"]),
    (ValueError("The challenge resource 'vault.azure.net' does not match the requested domain. Pass "
                "`verify_challenge_resource=False` to your client's constructor"), "get", "key_vault_error",
     ["another domain"]),
])
def test_key_vault_errors_say_what_to_do(exc, operation, reason, fragments):
    error = key_vault_error(exc, operation=operation, vault_url=URL, secret="s1")
    assert error.reason == reason and reason in REASONS
    for fragment in fragments:
        assert fragment in error.message, error.message
    assert "verify_challenge_resource" not in error.message  # never the advice to turn the check off
    assert error.details["vault_url"] == URL


def test_cloud_endpoints_default_has_no_key_vault():
    assert CloudEndpoints(name="x", resource_manager="https://a", authority_host="https://b",
                          audience="https://c/").key_vault_dns is None


def test_the_execution_environment_gets_the_requirements_and_the_optional_extra():
    from pathlib import Path

    import yaml
    root = Path(__file__).resolve().parents[4]
    ee = yaml.safe_load((root / "meta" / "execution-environment.yml").read_text())
    listed = (root / ee["dependencies"]["python"]).read_text().split("\n")
    required = (root / "requirements.txt").read_text().split("\n")

    def lines(text):
        return [line.strip() for line in text if line.strip() and not line.strip().startswith("#")]

    assert lines(listed) == lines(required) + [keyvault.KEY_VAULT_REQUIREMENT.replace("'", "")]
    assert keyvault.KEY_VAULT_REQUIREMENT in "\n".join(required)  # named in requirements.txt's comments
