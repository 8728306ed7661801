"""401 / 403 on ARM, and the control API's own key."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from .conftest import RG, make_compute, make_credential, put_extension, vmaccess_body

pytestmark = pytest.mark.timeout(60)
VM_PATH = "/subscriptions/{sub}/resourceGroups/rg-test/providers/Microsoft.Compute/virtualMachines/v?api-version=2024-11-01"


def test_missing_and_garbled_tokens(azure):
    azure.add_vms({"name": "v"})
    missing = azure.raw("GET", VM_PATH.format(sub=azure.sub), token=None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "AuthenticationFailed"
    assert missing.headers["WWW-Authenticate"].startswith('Bearer authorization_uri="')
    assert 'error="invalid_token"' in missing.headers["WWW-Authenticate"]
    garbled = azure.raw("GET", VM_PATH.format(sub=azure.sub), token="not-a-token")
    assert garbled.status_code == 401 and garbled.json()["error"]["code"] == "AuthenticationFailed"


def test_expired_token_mid_run(azure):
    azure.add_vms({"name": "v"})
    assert azure.compute.virtual_machines.get(RG, "v").name == "v"
    assert azure.control.expire_tokens() >= 1
    with pytest.raises(ClientAuthenticationError) as info:
        azure.compute.virtual_machines.get(RG, "v")         # the SDK still holds the (now expired) token
    assert info.value.status_code == 401 and info.value.error.code == "ExpiredAuthenticationToken"
    assert "is earlier than current UTC time" in info.value.error.message
    fresh = make_compute(azure.emulator, make_credential(azure.emulator))
    assert fresh.virtual_machines.get(RG, "v").name == "v"   # a new token works again


def test_token_for_another_audience_is_refused(azure):
    azure.add_vms({"name": "v"})
    client = make_compute(azure.emulator, azure.credential)
    client._config.authentication_policy._scopes = ("https://vault.azure.net/.default",)
    with pytest.raises(ClientAuthenticationError) as info:
        client.virtual_machines.get(RG, "v")
    assert info.value.error.code == "InvalidAuthenticationTokenAudience"
    assert "'https://vault.azure.net'" in info.value.error.message
    # the audience with or without a trailing slash, any case, is accepted
    token = azure.credential.get_token("HTTPS://MANAGEMENT.AZURE-EMULATOR.LOCAL/.default").token
    assert azure.raw("GET", VM_PATH.format(sub=azure.sub), token=token).status_code == 200


def test_reader_can_read_but_not_write(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 5})
    reader = azure.emulator.info["reader"]
    client = make_compute(azure.emulator, make_credential(azure.emulator, reader["client_id"], reader["secret"]))
    assert client.virtual_machines.get(RG, "v").name == "v"
    with pytest.raises(HttpResponseError) as info:
        client.virtual_machine_extensions.begin_create_or_update(RG, "v", "enablevmaccess", vmaccess_body(tag="x"))
    assert info.value.status_code == 403 and info.value.error.code == "AuthorizationFailed"
    oid = reader["object_id"]
    assert info.value.error.message == (
        f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
        "'Microsoft.Compute/virtualMachines/extensions/write' over scope "
        f"'/subscriptions/{azure.sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/v/extensions/"
        "enablevmaccess' or the scope is invalid. If access was recently granted, please refresh your credentials.")
    assert azure.vm_state("v")["extensions"] == []


def test_custom_role_by_actions(azure):
    azure.add_vms({"name": "v", "extension_duration_s": 5})
    principal = azure.control.add_principal(secret="Custom~secret-1", actions=[
        "Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/extensions/read",
        "Microsoft.Compute/virtualMachines/extensions/write", "Microsoft.Compute/locations/operations/read"])
    client = make_compute(azure.emulator, make_credential(azure.emulator, principal["client_id"], "Custom~secret-1"))
    put_extension(type("A", (), {"compute": client})(), "v", vmaccess_body(tag="x"))
    assert azure.vm_state("v")["run_count"] == 1
    with pytest.raises(HttpResponseError) as info:
        client.virtual_machine_extensions.begin_delete(RG, "v", "enablevmaccess")
    assert info.value.status_code == 403 and "extensions/delete" in info.value.error.message
    rg = azure.raw("GET", f"/subscriptions/{azure.sub}/resourceGroups/{RG}?api-version=2022-09-01",
                   token=make_credential(azure.emulator, principal["client_id"], "Custom~secret-1")
                   .get_token(azure.emulator.info["audience"] + ".default").token)
    assert rg.status_code == 403 and "resourceGroups/read" in rg.json()["error"]["message"]


def test_control_api_needs_its_key_and_refuses_arm_tokens(azure):
    url = azure.emulator.url + "/_emulator/health"
    assert requests.get(url, verify=azure.emulator.ca_file, timeout=10).status_code == 401
    bearer = {"Authorization": f"Bearer {azure.token()}"}
    assert requests.get(url, headers=bearer, verify=azure.emulator.ca_file, timeout=10).status_code == 401
    assert azure.control.health()["status"] == "ok"
