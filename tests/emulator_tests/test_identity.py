"""Entra ID token endpoint, managed identity, cloud metadata: with the real azure-identity."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential

from .conftest import make_compute, make_credential

pytestmark = pytest.mark.timeout(60)


def test_client_secret_credential_gets_a_working_token(azure):
    token = azure.credential.get_token(azure.emulator.info["audience"] + ".default")
    assert token.token.startswith("emu.")
    assert 3000 < token.expires_on - __import__("time").time() <= 3600
    azure.add_vms({"name": "vm1"})
    vm = azure.compute.virtual_machines.get("rg-test", "vm1")
    assert vm.name == "vm1"
    log = azure.control.requests()
    token_calls = [r for r in log if r["kind"] == "identity"]
    assert token_calls and token_calls[0]["principal"] == azure.emulator.env["AZURE_CLIENT_ID"], token_calls
    assert [r for r in log if r["vm"] == "vm1"][0]["principal"] == azure.emulator.env["AZURE_CLIENT_ID"]


def test_wrong_secret_is_refused_like_entra_and_never_echoed(fresh_emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    wrong = "Wr0ng~secret-value-123456"
    credential = make_credential(fresh_emulator, secret=wrong)
    with pytest.raises(ClientAuthenticationError) as info:
        credential.get_token(fresh_emulator.info["audience"] + ".default")
    assert "AADSTS7000215" in str(info.value) and "Invalid client secret provided" in str(info.value)
    # the raw answer: 401 invalid_client, error_codes, and no secret anywhere
    tenant = fresh_emulator.env["AZURE_TENANT"]
    response = requests.post(f"{fresh_emulator.url}/{tenant}/oauth2/v2.0/token", verify=fresh_emulator.ca_file,
                             data={"client_id": fresh_emulator.env["AZURE_CLIENT_ID"], "client_secret": wrong,
                                   "grant_type": "client_credentials", "scope": "x/.default"}, timeout=10)
    body = response.json()
    assert response.status_code == 401 and body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215] and "\r\nTrace ID: " in body["error_description"]
    assert wrong not in response.text
    assert wrong not in str(fresh_emulator.control.requests())
    assert wrong not in (fresh_emulator.state_dir / "emulator.log").read_text()


def test_unknown_client_and_unknown_tenant(fresh_emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    with pytest.raises(ClientAuthenticationError) as info:
        make_credential(fresh_emulator, client_id="11111111-2222-3333-4444-555555555555").get_token("x/.default")
    assert "AADSTS700016" in str(info.value) and "was not found in the directory" in str(info.value)
    response = requests.post(f"{fresh_emulator.url}/00000000-aaaa-bbbb-cccc-000000000000/oauth2/v2.0/token",
                             verify=fresh_emulator.ca_file, timeout=10,
                             data={"client_id": "x", "client_secret": "y", "grant_type": "client_credentials",
                                   "scope": "x/.default"})
    assert response.status_code == 400 and response.json()["error_codes"] == [90002]
    assert "Tenant '00000000-aaaa-bbbb-cccc-000000000000' not found" in response.json()["error_description"]


def test_managed_identity_credential_is_its_own_principal(fresh_emulator, monkeypatch):
    info = fresh_emulator.info
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    monkeypatch.setenv("IDENTITY_ENDPOINT", info["msi"]["identity_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", info["msi"]["identity_header"])
    credential = ManagedIdentityCredential()
    token = credential.get_token(info["audience"])
    assert token.token.startswith("emu.")
    fresh_emulator.control.add_fleet({"resource_groups": [{"name": "rg-msi", "vms": [{"name": "m1"}]}]})
    vm = make_compute(fresh_emulator, credential).virtual_machines.get("rg-msi", "m1")
    assert vm.name == "m1"
    reads = [r for r in fresh_emulator.control.requests() if r["kind"] == "read"]
    assert reads[-1]["principal"] == info["msi"]["client_id"]
    bad = requests.get(info["msi"]["identity_endpoint"], params={"api-version": "2019-08-01", "resource": "x"},
                       headers={"X-IDENTITY-HEADER": "wrong"}, verify=fresh_emulator.ca_file, timeout=10)
    assert bad.status_code == 401


def test_cloud_metadata_in_azure_shape(fresh_emulator):
    url, ca = fresh_emulator.url, fresh_emulator.ca_file
    clouds = requests.get(f"{url}/metadata/endpoints?api-version=2022-09-01", verify=ca, timeout=10).json()
    assert isinstance(clouds, list) and len(clouds) == 1
    cloud = clouds[0]
    assert cloud["resourceManager"] == url + "/"
    assert cloud["authentication"]["loginEndpoint"] == url + "/"
    assert cloud["authentication"]["audiences"][0] == fresh_emulator.info["audience"]
    # every key azure-cli-core's _arm_to_cli_mapper reads unconditionally
    for key in ("name", "sqlManagement", "batch", "gallery", "graphAudience", "vmImageAliasDoc", "media"):
        assert key in cloud
    for key in ("storage", "keyVaultDns", "sqlServerHostname"):
        assert key in cloud["suffixes"]
    single = requests.get(f"{url}/metadata/endpoints?api-version=2019-05-01", verify=ca, timeout=10).json()
    assert isinstance(single, dict) and single["name"] == cloud["name"]
    tenant = fresh_emulator.env["AZURE_TENANT"]
    oidc = requests.get(f"{url}/{tenant}/v2.0/.well-known/openid-configuration", verify=ca, timeout=10).json()
    assert oidc["token_endpoint"] == f"{url}/{tenant}/oauth2/v2.0/token" and oidc["issuer"].startswith(url)
