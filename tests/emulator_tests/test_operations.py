"""Long-running operations: on-time completion, no retry hints, signed URLs, failure bodies
(brief points 6-9)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from .conftest import (ext_path, local, parse_time, put_extension, retry_hints, sub_list_path, vm_path,
                       vmaccess_body, wait_operation)

pytestmark = pytest.mark.timeout(60)
API = "api-version=2024-11-01"
RUN_S = 25          # simulated; x 0.02 = 0.5 s real


def _scaled(azure, simulated_s: float) -> float:
    return simulated_s * azure.emulator.time_scale


def _first_read(azure, reader: str) -> None:
    """Observe the VM in one of the ways that completes a finished operation."""
    ext = ext_path(azure, "win1")
    path = {
        "status_only_list": sub_list_path(azure, "statusOnly=true"),
        "resource_group_list": f"{vm_path(azure)}?{API}",
        "vm_get": f"{vm_path(azure, 'win1')}?$expand=instanceView&{API}",
        "extension_get": ext + "&$expand=instanceView",
    }.get(reader)
    if path:
        assert azure.raw("GET", path).status_code == 200
    elif reader == "control_api":
        azure.vm_state("win1")
    else:
        raise AssertionError(reader)


@pytest.mark.parametrize("reader", ["status_only_list", "resource_group_list", "vm_get", "extension_get",
                                    "control_api", "operation_poll"])
def test_operations_finish_on_time_whoever_reads_first(azure, reader):
    azure.add_vms({"name": "win1", "rdp": "broken", "extension_duration_s": RUN_S})
    before = time.time()
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="t"))
    after = time.time()
    time.sleep(_scaled(azure, RUN_S) + 0.4)          # well past the end, and nobody polled
    read_at = time.time()
    if reader == "operation_poll":
        operation = wait_operation(azure, raw)
    else:
        _first_read(azure, reader)
        operation = wait_operation(azure, raw)
    status = azure.raw("GET", ext_path(azure, "win1") + "&$expand=instanceView").json()
    reported = status["properties"]["instanceView"]["statuses"][0]
    end = parse_time(operation["endTime"])
    assert operation["status"] == "Succeeded"
    assert before + _scaled(azure, RUN_S) - 0.05 <= end <= after + _scaled(azure, RUN_S) + 0.05
    assert reported["code"] == "ProvisioningState/succeeded" and reported["time"] == operation["endTime"]
    assert end < read_at - 0.2                        # the scheduled end, not the time of the read
    state = azure.vm_state("win1")
    assert state["guest"]["rdp_enabled"] is True and state["run_history"][-1]["time"] == operation["endTime"]


def test_a_password_set_time_is_the_scheduled_end(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": RUN_S})
    raw = azure.raw("PUT", ext_path(azure, "win1"),
                    json=vmaccess_body({"UserName": "azureadmin"}, {"Password": "N3w-Passw0rd!x"}, tag="p"))
    time.sleep(_scaled(azure, RUN_S) + 0.4)
    items = azure.raw("GET", sub_list_path(azure, "statusOnly=true")).json()["value"]
    listed = items[0]["properties"]["instanceView"]["extensions"][0]["statuses"][0]
    account = {a["name"]: a for a in azure.vm_state("win1")["guest"]["accounts"]}["azureadmin"]
    assert listed["time"] == account["password_set_at"] == wait_operation(azure, raw)["endTime"]


def test_operations_carry_no_retry_hints(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 600})
    created = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a"))
    poll = azure.raw("GET", local(azure, created.headers["Azure-AsyncOperation"]))
    assert created.status_code == 201 and poll.json()["status"] == "InProgress"
    assert "Microsoft.Compute/GetOperationResource;" in poll.headers["x-ms-ratelimit-remaining-resource"]
    azure.add_vms({"name": "win2", "extension_duration_s": 5,
                   "extension": {"name": "enablevmaccess", "version": "2.4.11"}})
    updated = azure.raw("PUT", ext_path(azure, "win2"), json=vmaccess_body(tag="b"))
    wait_operation(azure, updated)
    azure.control.set_config(delete_duration_s=600)
    deleted = azure.raw("DELETE", ext_path(azure, "win2"))
    location_poll = azure.raw("GET", local(azure, deleted.headers["Location"]))
    assert updated.status_code == 200 and deleted.status_code == 202 and location_poll.status_code == 202
    for response in (created, poll, updated, deleted, location_poll):
        assert not retry_hints(response), response.headers
    # only a 429 carries Retry-After
    azure.control.set_config(limits={"arm_reads_burst": 1, "arm_reads_per_s": 0.0001})
    token = azure.token()
    throttled = [azure.raw("GET", f"{vm_path(azure, 'win1')}?{API}", token=token) for _attempt in range(3)][-1]
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers


def _split(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


def _rebuilt(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(pairs)}"


@pytest.mark.parametrize("put_api_version", ["2024-07-01", "2026-04-01"])
def test_operation_urls_are_signed_and_name_compute_api_version(azure, put_api_version):
    azure.add_vms({"name": "win1", "extension_duration_s": 600})
    raw = azure.raw("PUT", ext_path(azure, "win1", api_version=put_api_version), json=vmaccess_body(tag="a"))
    url = raw.headers["Azure-AsyncOperation"]
    path, pairs = _split(url)
    params = dict(pairs)
    assert [k for k, _v in pairs] == ["p", "api-version", "t", "c", "s", "h"]
    assert params["api-version"] == "2024-11-01" and len(params["t"]) == 18
    assert 2500 < len(urlsplit(url).query) < 4000
    assert azure.raw("GET", local(azure, url)).status_code == 200


def test_a_poll_must_follow_the_operation_url_verbatim(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 600})
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a"))
    path, pairs = _split(local(azure, raw.headers["Azure-AsyncOperation"]))
    tampered = {
        "bare": [("api-version", "2024-11-01")],
        "own_api_version": [(k, "2026-04-01" if k == "api-version" else v) for k, v in pairs],
        "no_signature": [(k, v) for k, v in pairs if k != "s"],
        "altered_hash": [(k, v[:-2] + ("AA" if not v.endswith("AA") else "BB") if k == "h" else v) for k, v in pairs],
        "short_certificate": [(k, v[:100] if k == "c" else v) for k, v in pairs],
        "doubled": pairs + [("s", dict(pairs)["s"])],
    }
    for name, query in tampered.items():
        answer = azure.raw("GET", _rebuilt(path, query))
        assert answer.status_code == 400, name
        assert answer.json()["error"]["code"] == "InvalidOperationUri", name
    unknown = azure.raw("GET", _rebuilt(path.replace(path.rsplit("/", 1)[1], "0" * 8), pairs))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotFound"
    assert azure.raw("GET", _rebuilt(path, pairs)).status_code == 200     # re-encoded but unchanged: fine


def test_delete_location_is_signed_too_and_the_sdk_follows_it(azure):
    azure.add_vms({"name": "win1", "extension": {"name": "enablevmaccess", "version": "2.4.11"}})
    azure.control.set_config(delete_duration_s=5)
    deleted = azure.raw("DELETE", ext_path(azure, "win1"))
    path, pairs = _split(local(azure, deleted.headers["Location"]))
    assert ("monitor", "true") in pairs and dict(pairs)["api-version"] == "2024-11-01"
    unsigned = azure.raw("GET", _rebuilt(path, [("monitor", "true"), ("api-version", "2024-11-01")]))
    assert unsigned.status_code == 400
    assert wait_operation(azure, deleted)["status"] == "Succeeded"
    assert azure.raw("GET", local(azure, deleted.headers["Location"])).status_code == 200
    put_extension(azure, "win1", vmaccess_body(tag="again"))      # SDK pollers use the URLs verbatim


def test_a_failed_operation_poll_is_http_200_with_an_error(azure):
    azure.add_vms({"name": "win1", "extension_duration_s": 5, "failure_mode": "domain_controller"})
    raw = azure.raw("PUT", ext_path(azure, "win1"), json=vmaccess_body(tag="a"))
    final = wait_operation(azure, raw)
    answer = azure.raw("GET", local(azure, raw.headers["Azure-AsyncOperation"]))
    assert answer.status_code == 200 and answer.json() == final
    assert set(final) == {"startTime", "endTime", "status", "name", "error"}
    assert final["status"] == "Failed" and set(final["error"]) == {"code", "message"}
    assert final["error"]["code"] == "VMExtensionProvisioningError"
    assert parse_time(final["startTime"]) <= parse_time(final["endTime"])
