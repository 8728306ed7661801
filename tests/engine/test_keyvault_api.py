"""The Key Vault layer (_azure.keyvault) in-process against the emulator, with the real SecretClient on the
session's credential and cloud: versions and tags, plain data out, and every failure a reason code with a
message that says what to do."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.keyvault import KeyVaultApi, vault_url
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

from .kv_helpers import vault  # fixture  # noqa: F401  # pylint: disable=unused-import

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]
PW = "Kv-Passw0rd!2026-a"


def test_versions_tags_and_values_round_trip(vault):
    api = vault.api()
    assert api.versions("vmaccess-none-000000000000") == []  # a missing secret has no versions
    first = api.create("s1", PW, {"state": "pending", "run_tag": ""})
    second = api.create("s1", PW + "b", {"state": "pending"}, content_type="password")
    assert len(first.version) == 32 and first.version != second.version and first.tags == {"state": "pending",
                                                                                           "run_tag": ""}
    assert isinstance(first.created, float) and first.enabled and second.content_type == "password"
    updated = api.update_tags("s1", first.version, {"state": "active"})
    assert updated.version == first.version and updated.tags == {"state": "active"}
    listed = {v.version: v.tags for v in api.versions("s1")}
    assert listed == {first.version: {"state": "active"}, second.version: {"state": "pending"}}
    found, value = api.read("s1", first.version)
    assert (found.version, value) == (first.version, PW)
    assert api.read("s1")[1] == PW + "b"  # no version: the latest
    assert PW not in repr(found) + repr(api.versions("s1")) + repr(api)


def test_the_vault_url_comes_from_the_clouds_key_vault_suffix(vault):
    cloud = vault.session.cloud
    assert cloud.key_vault_dns == "vault.azure-emulator.local"  # suffixes.keyVaultDns of the metadata
    assert vault_url(vault.name, cloud) == "https://%s.vault.azure-emulator.local" % vault.name
    assert vault_url("https://%s.Vault.Azure-Emulator.Local/" % vault.name, cloud) == vault.url


def test_a_principal_without_data_actions_is_told_which_role_it_needs(vault):
    created = vault.control.add_principal(role="Contributor", name="no-kv", tenant=vault.azure.emulator.env["AZURE_TENANT"])
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(created["tenant"], created["client_id"], created["secret"],
                                        authority=vault.azure.emulator.url, disable_instance_discovery=True)
    api = vault.api(credential)
    with pytest.raises(VmAccessError) as caught:
        api.create("s1", PW, {})
    error = caught.value
    assert error.reason == "key_vault_forbidden" and error.details["status_code"] == 403
    assert "Microsoft.KeyVault/vaults/secrets/setSecret/action" in error.message
    assert "Key Vault Secrets Officer" in error.message and "access policy" in error.message
    with pytest.raises(VmAccessError) as caught:
        api.versions("s1")
    assert caught.value.reason == "key_vault_forbidden" and "readMetadata" in caught.value.message


def test_a_vault_that_does_not_resolve(vault):
    api = KeyVaultApi(vault.session.credential, "https://kv-nowhere-000.vault.azure-emulator.local",
                      retry_budget_s=5, retry_total=0)
    with pytest.raises(VmAccessError) as caught:
        api.versions("s1")
    assert caught.value.reason == "key_vault_error"
    assert "Could not reach Key Vault" in caught.value.message and "does not exist does not resolve" in caught.value.message


def test_server_errors_are_retried_then_reported(vault):
    api = vault.api()
    api.versions("warm-up")  # the challenge is answered once per client
    vault.control.add_fault(method="PUT", path=r"^/secrets/flaky$", status=503, count=2)
    assert api.create("flaky", PW, {}).version  # retried through two 503s
    vault.control.add_fault(method="PUT", path=r"^/secrets/broken$", status=500)
    with pytest.raises(VmAccessError) as caught:
        api.create("broken", PW, {})
    assert caught.value.reason == "key_vault_error" and "HTTP 500" in caught.value.message
    vault.control.add_fault(method="GET", path=r"/secrets/busy/versions", status=429, retry_after=0.05)
    with pytest.raises(VmAccessError) as caught:
        api.versions("busy")
    assert caught.value.reason == "key_vault_error" and "throttled" in caught.value.message
    assert PW not in caught.value.message


def test_names_key_vault_refuses_and_missing_versions(vault):
    api = vault.api()
    with pytest.raises(VmAccessError) as caught:
        api.create("bad_name", PW, {})
    assert caught.value.reason == "key_vault_error" and "1-127 letters, digits and dashes" in caught.value.message
    with pytest.raises(VmAccessError) as caught:
        api.read("absent")
    assert caught.value.reason == "secret_not_found"
    made = api.create("s2", PW, {})
    with pytest.raises(VmAccessError) as caught:
        api.read("s2", "0" * 32)
    assert caught.value.reason == "secret_not_found" and made.version not in caught.value.message
