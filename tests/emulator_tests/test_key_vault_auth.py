"""Key Vault authentication and authorization as the real SecretClient meets them: the challenge
(first request unauthenticated, 401 + WWW-Authenticate, token for the named resource, retry) with
resource verification on, token audience / expiry / issuer, RBAC 403s, the proxy, cloud metadata."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.keyvault.secrets import SecretClient

from .conftest import make_credential
# kv is a fixture
from .kv_support import OFFICER, USER, kv  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.timeout(60)
RESOURCE = "https://vault.azure-emulator.local"


def test_challenge_flow_first_request_401_then_token_then_retry(kv):
    kv.control.clear_requests()
    secret = kv.client().set_secret("vm-web-01", "v1")
    assert secret.value == "v1"
    log = [r for r in kv.control.requests() if r["kind"] in ("keyvault", "identity")]
    assert [(r["kind"], r["method"], r["status"]) for r in log[:3]] == [
        ("keyvault", "PUT", 401), ("identity", "POST", 200), ("keyvault", "PUT", 200)]
    assert log[0]["principal"] is None and log[2]["principal"] == kv.emulator.env["AZURE_CLIENT_ID"]
    # the challenge itself, exactly
    challenge = kv.raw("PUT", "/secrets/x?api-version=2026-04-01", headers={"Content-Length": "0"})
    tenant = kv.emulator.env["AZURE_TENANT"]
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{kv.emulator.url}/{tenant}", resource="{RESOURCE}"')
    assert challenge.json() == {"error": {"code": "Unauthorized",
                                          "message": "AKV10000: Request is missing a Bearer or PoP token."}}


def test_challenge_resource_passes_the_sdk_domain_check_as_is():
    # the SDK's own check, with the emulator's vault URL and challenge scope (no verify_challenge_resource=False)
    from azure.keyvault.secrets._shared.challenge_auth_policy import _validate_challenge_resource
    _validate_challenge_resource(RESOURCE + "/.default", "https://kv-any.vault.azure-emulator.local/secrets/x")
    with pytest.raises(ValueError):
        _validate_challenge_resource(RESOURCE + "/.default", "https://127.0.0.1:8443/secrets/x")


def test_tokens_for_another_audience_are_401_with_a_challenge(kv):
    arm_token = kv.token(resource=kv.emulator.info["audience"].rstrip("/"))
    response = kv.raw("GET", "/secrets?api-version=7.6", arm_token)
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert response.json()["error"]["message"] == (
        f"AKV10022: Invalid audience. Expected {RESOURCE}, found: {kv.emulator.info['audience']}.")
    slash = kv.raw("GET", "/secrets?api-version=7.6", kv.token(resource=RESOURCE + "/"))   # v1-style trailing slash
    assert slash.status_code == 401 and "found: https://vault.azure-emulator.local/." in slash.text
    assert kv.raw("GET", "/secrets?api-version=7.6", kv.token()).status_code == 200
    assert kv.raw("GET", "/secrets?api-version=7.6", "emu.not-a-token").status_code == 401
    # and the other way round: a Key Vault token does not open ARM
    arm = requests.get(f"{kv.emulator.url}/subscriptions/{kv.emulator.env['AZURE_SUBSCRIPTION_ID']}"
                       f"?api-version=2022-12-01", headers={"Authorization": f"Bearer {kv.token()}"},
                       verify=kv.emulator.ca_file, timeout=10)
    assert arm.status_code == 401 and arm.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_expired_tokens_are_401(kv):
    client = kv.client()
    client.set_secret("s", "v")
    token = kv.token()
    kv.control.expire_tokens()
    response = kv.raw("GET", "/secrets/s?api-version=7.6", token)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer authorization=")
    assert response.json()["error"]["message"] == "[TokenExpired] Error validating token: 'S2S12086'."
    with pytest.raises(ClientAuthenticationError):     # the SDK's cached token is dead on the server
        client.get_secret("s")


def test_a_token_from_another_tenant_is_an_invalid_issuer(kv):
    stranger = kv.control.add_principal(tenant="0a0a0a0a-1111-2222-3333-444444444444", name="stranger")
    token = kv.token(credential=make_credential(kv.emulator, client_id=stranger["client_id"],
                                                secret=stranger["secret"], tenant=stranger["tenant"]))
    response = kv.raw("GET", "/secrets?api-version=7.6", token)
    assert response.status_code == 401 and "AKV10032: Invalid issuer." in response.json()["error"]["message"]


def test_missing_or_unknown_api_version_is_400(kv):
    token = kv.token()
    missing = kv.raw("GET", "/secrets", token)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "BadParameter"
    unknown = kv.raw("GET", "/secrets?api-version=9.9", token).json()["error"]
    assert unknown["message"] == ("The specified version (9.9) is not recognized. Consider using the latest "
                                  "supported version (2026-04-01).")
    for version in ("7.4", "7.6", "2025-07-01"):
        assert kv.raw("GET", "/secrets?api-version=" + version, token).status_code == 200


def _forbidden(info, action: str) -> None:
    error = info.value.error
    assert info.value.status_code == 403 and error.code == "Forbidden"
    assert error.innererror == {"code": "ForbiddenByRbac"}
    assert "Caller is not authorized to perform action on resource." in error.message
    assert f"Action: '{action}'" in error.message


def test_an_arm_contributor_without_a_key_vault_role_gets_403(kv):
    principal, credential = kv.principal(role=None)                       # Contributor on ARM, nothing on the vault
    client = kv.client(credential=credential)
    with pytest.raises(HttpResponseError) as info:
        client.set_secret("vm-web-01", "v")
    _forbidden(info, "Microsoft.KeyVault/vaults/secrets/setSecret/action")
    assert f"Caller: appid={principal['client_id']};oid={principal['object_id']};" in info.value.error.message
    resource = f"/resourcegroups/rg-keyvault/providers/microsoft.keyvault/vaults/{kv.vault}/secrets/vm-web-01'"
    assert resource in info.value.error.message
    with pytest.raises(HttpResponseError) as info:
        list(client.list_properties_of_secrets())
    _forbidden(info, "Microsoft.KeyVault/vaults/secrets/readMetadata/action")


def test_reader_user_and_officer_roles(kv):
    kv.client().set_secret("s", "v")
    reader = kv.client(credential=make_credential(kv.emulator, client_id=kv.emulator.info["reader"]["client_id"],
                                                  secret=kv.emulator.info["reader"]["secret"]))
    assert [p.name for p in reader.list_properties_of_secrets()] == ["s"]    # Key Vault Reader: metadata only
    with pytest.raises(HttpResponseError) as info:
        reader.get_secret("s")
    _forbidden(info, "Microsoft.KeyVault/vaults/secrets/getSecret/action")
    user_credential = kv.principal(role=USER)[1]
    user = kv.client(credential=user_credential)
    assert user.get_secret("s").value == "v"                              # Secrets User: read values, not write
    with pytest.raises(HttpResponseError) as info:
        user.update_secret_properties("s", tags={"state": "active"})
    _forbidden(info, "Microsoft.KeyVault/vaults/secrets/update/action")
    custom_credential = kv.principal(data_actions=["Microsoft.KeyVault/vaults/secrets/setSecret/action"])[1]
    writer = kv.client(credential=custom_credential)
    writer.set_secret("s", "v2")                                          # a custom data action, alone
    with pytest.raises(HttpResponseError):
        writer.get_secret("s")


def test_metadata_gives_the_vault_suffix_and_resource_a_client_builds_from(kv):
    clouds = requests.get(kv.emulator.info["metadata_url"], verify=kv.emulator.ca_file, timeout=10).json()
    suffix = clouds[0]["suffixes"]["keyVaultDns"]
    assert suffix == kv.emulator.info["key_vault_dns_suffix"] == "vault.azure-emulator.local"
    assert clouds[0]["suffixes"]["mhsmDns"] == "managedhsm.azure-emulator.local"
    url, resource = f"https://{kv.vault}.{suffix}", f"https://{suffix}"   # as azure-cli derives them
    assert url == kv.url and resource == RESOURCE
    assert SecretClient(url, make_credential(kv.emulator)).set_secret("from-metadata", "v").value == "v"


def test_proxy_reaches_only_existing_vaults_and_the_emulator(kv):
    missing = SecretClient(f"https://kv-does-not-exist.{kv.emulator.info['key_vault_dns_suffix']}",
                           make_credential(kv.emulator), retry_total=0)
    with pytest.raises(ServiceRequestError):                               # as a name that does not resolve
        missing.get_secret("s")
    proxies = {"https": kv.proxy}
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", proxies=proxies, timeout=10)  # refused (403): nothing leaves 127.0.0.1
    plain = requests.get(kv.proxy + "/", timeout=10, proxies={"http": None, "https": None})
    assert plain.status_code == 405
    via = requests.get(kv.emulator.url + "/metadata/endpoints?api-version=2022-09-01", proxies=proxies,
                       verify=kv.emulator.ca_file, timeout=10)
    assert via.status_code == 200                                        # a client without NO_PROXY still works


def test_managed_identity_with_a_role_reads_secrets(kv, monkeypatch):
    from azure.identity import ManagedIdentityCredential
    msi = kv.emulator.info["msi"]
    kv.control.add_key_vault_role(kv.vault, msi["client_id"], role=OFFICER)
    monkeypatch.setenv("IDENTITY_ENDPOINT", msi["identity_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", msi["identity_header"])
    client = kv.client(credential=ManagedIdentityCredential())
    assert client.set_secret("by-msi", "v").value == "v"
    assert kv.log()[-1]["principal"] == msi["client_id"]
