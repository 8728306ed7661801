"""Key Vault secrets with the real azure-keyvault-secrets SecretClient: set/get with versions and tags,
tag updates, version and secret lists (paged), disabled versions, soft delete, name rules, faults, the
control API and fleet file, and no secret value in any log. Auth and RBAC: test_key_vault_auth.py."""

from __future__ import annotations

import re

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tests.emulator.fleet import FleetError, load_fleet

# kv is a fixture
from .kv_support import OFFICER, kv  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.timeout(60)
VERSION_RE = re.compile(r"^[0-9a-f]{32}$")


def test_set_get_versions_and_tag_updates(kv):
    client = kv.client()
    first = client.set_secret("vm-web-01", "Pa55-first", tags={"state": "pending"}, content_type="password")
    second = client.set_secret("vm-web-01", "Pa55-second", tags={"state": "pending"})
    assert VERSION_RE.match(first.properties.version) and first.properties.version != second.properties.version
    assert first.id == f"{kv.url}/secrets/vm-web-01/{first.properties.version}"
    assert first.value == "Pa55-first" and first.properties.content_type == "password"
    assert first.properties.enabled is True and first.properties.recovery_level == "Recoverable+Purgeable"
    assert first.properties.recoverable_days == 90
    # pending -> active on one version, failed on the other: tags are per version and replaced whole
    active = client.update_secret_properties("vm-web-01", first.properties.version, tags={"state": "active"})
    client.update_secret_properties("vm-web-01", second.properties.version, tags={"state": "failed", "try": "2"})
    assert active.tags == {"state": "active"} and active.content_type == "password"
    assert client.get_secret("vm-web-01").value == "Pa55-second"            # no version: the latest
    assert client.get_secret("vm-web-01", first.properties.version).value == "Pa55-first"
    versions = {p.version: p.tags for p in client.list_properties_of_secret_versions("vm-web-01")}
    assert versions == {first.properties.version: {"state": "active"},
                        second.properties.version: {"state": "failed", "try": "2"}}


def test_raw_shapes_never_carry_values_outside_get_and_set(kv):
    client = kv.client()
    made = [client.set_secret("s1", f"value-{i}", tags={"n": str(i)}) for i in range(3)]
    token = kv.token()
    got = kv.raw("GET", "/secrets/s1/?api-version=7.6", token).json()
    assert set(got) == {"value", "id", "attributes", "tags"}            # no contentType key when none was set
    attrs = got["attributes"]
    assert set(attrs) == {"enabled", "created", "updated", "recoveryLevel", "recoverableDays"}
    assert isinstance(attrs["created"], int) and attrs["created"] == attrs["updated"]
    listed = kv.raw("GET", "/secrets/s1/versions?api-version=7.6", token).json()
    assert listed["nextLink"] is None and all("value" not in item for item in listed["value"])
    # versions come back in the order of their ids, not of their creation (as recorded Key Vault traffic)
    assert [i["id"].rsplit("/", 1)[1] for i in listed["value"]] == sorted(m.properties.version for m in made)
    secrets = kv.raw("GET", "/secrets?api-version=7.6", token).json()
    assert secrets["value"][0]["id"] == f"{kv.url}/secrets/s1" and "value" not in secrets["value"][0]
    patched = kv.raw("PATCH", f"/secrets/s1/{made[0].properties.version}?api-version=7.6", token,
                     json={"attributes": {"enabled": False}}).json()
    assert "value" not in patched and patched["attributes"]["enabled"] is False
    headers = kv.raw("GET", "/secrets?api-version=7.6", token, headers={"x-ms-client-request-id": "abc"}).headers
    assert headers["x-ms-keyvault-region"] == "westeurope" and headers["x-ms-client-request-id"] == "abc"


def test_lists_are_paged_with_key_vault_next_links(kv):
    for i in range(30):
        kv.control.set_key_vault_secret(kv.vault, f"vm-{i:03d}", f"v{i}")
    client = kv.client()
    assert sorted(p.name for p in client.list_properties_of_secrets()) == [f"vm-{i:03d}" for i in range(30)]
    page = kv.raw("GET", "/secrets?api-version=7.6", kv.token()).json()
    assert len(page["value"]) == 25                                      # Key Vault's default page
    assert page["nextLink"].startswith(f"{kv.url}:443/secrets?api-version=7.6&%24skiptoken=")
    kv.control.clear_requests()
    assert len(list(client.list_properties_of_secrets(max_page_size=10))) == 30
    assert [r["status"] for r in kv.log() if r["path"] == "/secrets"] == [200, 200, 200]
    too_big = kv.raw("GET", "/secrets?api-version=7.6&maxresults=26", kv.token())
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "BadParameter"


def test_disabled_latest_version_is_refused_like_key_vault(kv):
    client = kv.client()
    old = client.set_secret("pw", "old-one")
    client.set_secret("pw", "new-one", enabled=False)
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("pw")                                          # the latest, disabled: no fallback
    assert info.value.status_code == 403 and info.value.error.code == "Forbidden"
    assert "Operation get is not allowed on a disabled secret." in info.value.message
    raw = kv.raw("GET", "/secrets/pw?api-version=7.6", kv.token()).json()
    assert raw["error"]["innererror"] == {"code": "SecretDisabled"}
    assert client.get_secret("pw", old.properties.version).value == "old-one"
    assert [p.enabled for p in client.list_properties_of_secrets()] == [False]   # the list shows the latest


def test_missing_secret_and_version_are_404_secret_not_found(kv):
    client = kv.client()
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_secret("nope")
    assert info.value.error.code == "SecretNotFound"
    assert "A secret with (name/id) nope was not found in this key vault." in info.value.message
    client.set_secret("yes", "v")
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("yes", "0" * 32)
    with pytest.raises(ResourceNotFoundError):
        list(client.list_properties_of_secret_versions("nope"))
    with pytest.raises(ResourceNotFoundError):
        client.update_secret_properties("nope", tags={"a": "b"})


@pytest.mark.parametrize("name", ["bad_name", "a.b", "x" * 128, "sp ace"])
def test_secret_names_follow_key_vault_rules(kv, name):
    with pytest.raises(HttpResponseError) as info:
        kv.client().set_secret(name, "v")
    assert info.value.status_code == 400 and info.value.error.code == "BadParameter"
    assert f"The request URI contains an invalid name: {name}" in info.value.message


def test_longest_name_and_dashes_are_fine_and_names_ignore_case(kv):
    client = kv.client()
    client.set_secret("A" * 127, "v")
    client.set_secret("-9-lead-dash", "v")
    client.set_secret("Mixed-Case", "one")
    assert client.get_secret("mixed-case").value == "one"


def test_soft_delete_recover_and_purge(kv):
    client = kv.client()
    client.set_secret("gone", "v1", tags={"state": "active"})
    poller = client.begin_delete_secret("gone", _polling_interval=0.05)
    poller.wait(timeout=10)                    # result() does not wait: deletion is asynchronous, as on Azure
    deleted = poller.result()
    assert deleted.recovery_id == f"{kv.url}/deletedsecrets/gone" and deleted.properties.tags == {"state": "active"}
    assert (deleted.scheduled_purge_date - deleted.deleted_date).days == 90
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("gone")
    with pytest.raises(ResourceExistsError) as info:                     # the name cannot be reused
        client.set_secret("gone", "v2")
    assert info.value.status_code == 409 and "deleted but recoverable state" in info.value.message
    assert [d.name for d in client.list_deleted_secrets()] == ["gone"]
    client.begin_recover_deleted_secret("gone", _polling_interval=0.05).wait(timeout=10)
    assert client.get_secret("gone").value == "v1"
    client.begin_delete_secret("gone", _polling_interval=0.05).wait(timeout=10)
    client.purge_deleted_secret("gone")
    assert client.set_secret("gone", "fresh").value == "fresh"
    assert len(list(client.list_properties_of_secret_versions("gone"))) == 1


def test_a_deletion_takes_time_and_the_name_is_busy_meanwhile(kv):
    kv.control.set_config(time_scale=1.0)                                # the 2 s deletion, unscaled
    kv.control.set_key_vault_secret(kv.vault, "slow", "v")
    client = kv.client()
    poller = client.begin_delete_secret("slow")
    assert poller.status() == "polling"                                  # a client that does not wait...
    with pytest.raises(ResourceExistsError) as info:                     # ...cannot purge or reuse the name yet
        client.purge_deleted_secret("slow")
    assert info.value.error.innererror == {"code": "ObjectIsBeingDeleted"}
    token = kv.token()
    assert kv.raw("GET", "/deletedsecrets/slow?api-version=7.6", token).status_code == 404
    busy = kv.raw("PUT", "/secrets/slow?api-version=7.6", token, json={"value": "x"}).json()["error"]
    assert busy["code"] == "Conflict" and busy["innererror"] == {"code": "ObjectIsBeingDeleted"}


def test_faults_on_key_vault_paths(kv):
    client = kv.client(retry_total=0)
    client.set_secret("warm-up", "v")                                    # challenge done: the next PUT is authed
    kv.control.add_fault(method="PUT", path=r"^/secrets/vm-web-02$", status=500)
    kv.control.add_fault(method="GET", path=r"^/secrets/vm-web-03/", status=403, code="Forbidden",
                         message="Injected: denied.")
    with pytest.raises(HttpResponseError) as info:
        client.set_secret("vm-web-02", "v")
    assert info.value.status_code == 500
    client.set_secret("vm-web-03", "v")                                  # other names and methods unaffected
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("vm-web-03")
    assert info.value.status_code == 403 and info.value.error.code == "Forbidden"
    statuses = [(r["method"], r["path"], r["status"]) for r in kv.log()]
    assert ("PUT", "/secrets/vm-web-02", 500) in statuses and ("GET", "/secrets/vm-web-03/", 403) in statuses


def test_no_secret_value_in_the_request_log_or_emulator_output(kv):
    value = "Sup3r-Secret-Value-7f3a9c"
    client = kv.client()
    client.set_secret("vm-app-01", value, tags={"state": "pending"})
    assert client.get_secret("vm-app-01").value == value
    log = kv.control.requests()
    assert log and value not in str(log)
    assert value not in str(kv.control.key_vaults())
    assert value not in (kv.emulator.state_dir / "emulator.log").read_text()
    seen = kv.control.key_vault_secret(kv.vault, "vm-app-01")              # values only through the control API
    assert [v["value"] for v in seen["versions"]] == [value] and seen["versions"][0]["tags"] == {"state": "pending"}


def test_fleet_file_and_control_api_seed_vaults_and_secrets(kv):
    kv.control.add_fleet({"key_vaults": [{"name": "kv-seeded-one", "soft_delete_retention_days": 7,
                                          "role_assignments": [{"principal": "default", "role": OFFICER}],
                                          "secrets": [{"name": "s", "value": "one", "tags": {"state": "active"}},
                                                      {"name": "s", "value": "two", "content_type": "password"}]}]})
    client = kv.client(url="https://kv-seeded-one.vault.azure-emulator.local")
    secret = client.get_secret("s")
    assert secret.value == "two" and secret.properties.content_type == "password"
    assert secret.properties.recovery_level == "CustomizedRecoverable+Purgeable"
    assert [v["value"] for v in kv.control.key_vault_secret("kv-seeded-one", "s")["versions"]] == ["one", "two"]
    seeded = kv.control.set_key_vault_secret("kv-seeded-one", "added", "three", tags={"k": "v"})
    assert client.get_secret("added", seeded["version"]).properties.tags == {"k": "v"}
    names = [v["name"] for v in kv.control.key_vaults()["vaults"]]
    assert names == [kv.vault, "kv-seeded-one"]
    kv.control.reset()
    assert kv.control.key_vaults()["vaults"] == []


@pytest.mark.parametrize("vault, where", [
    ({"name": "1starts-with-digit"}, "key_vaults[0].name"),
    ({"name": "double--dash"}, "key_vaults[0].name"),
    ({"name": "ok-name", "role_assignments": [{"principal": "default", "role": "Owner"}]},
     "key_vaults[0].role_assignments[0].role"),
    ({"name": "ok-name", "secrets": [{"name": "bad_name", "value": "v"}]}, "key_vaults[0].secrets[0].name"),
    ({"name": "ok-name", "soft_delete_retention_days": 3}, "key_vaults[0].soft_delete_retention_days"),
])
def test_fleet_validation_names_the_bad_field(vault, where):
    with pytest.raises(FleetError, match=re.escape(where)):
        load_fleet({"key_vaults": [vault]})


def test_expired_and_not_yet_valid_versions_are_refused(kv):
    from datetime import datetime, timedelta, timezone
    now = datetime.now(timezone.utc)
    client = kv.client()
    old = client.set_secret("timed", "v", expires_on=now - timedelta(minutes=1))
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("timed")
    assert info.value.status_code == 403 and info.value.error.innererror == {"code": "SecretExpired"}
    client.set_secret("timed", "later", not_before=now + timedelta(hours=1))
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("timed")
    assert info.value.error.innererror == {"code": "SecretNotYetValid"}
    client.update_secret_properties("timed", old.properties.version, expires_on=now + timedelta(hours=1))
    assert client.get_secret("timed", old.properties.version).value == "v"
