"""Helpers for the emulator's own tests: real azure-identity / azure-mgmt-compute clients."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient

RG = "rg-test"
LOCATION = "westeurope"
# Operations carry no retry hints (as on Azure), so azure-core would wait its default 30 s between
# polls: every LRO in these tests passes its own interval.
POLL_S = 0.05


@dataclass
class Azure:
    emulator: object
    sub: str
    credential: ClientSecretCredential
    compute: ComputeManagementClient

    @property
    def control(self):
        return self.emulator.control

    def add_vms(self, *vms: dict, rg: str = RG) -> None:
        self.control.add_fleet({"seed": 1, "subscriptions": [{"id": self.sub, "resource_groups": [
            {"name": rg, "location": LOCATION, "vms": list(vms)}]}]})

    def vm_state(self, name: str, rg: str = RG) -> dict:
        return self.control.vm(self.sub, rg, name)

    def token(self) -> str:
        return self.credential.get_token(self.emulator.info["audience"] + ".default").token

    def raw(self, method: str, path: str, token: str | None = "default", **kwargs) -> requests.Response:
        """A raw HTTPS call for what the SDK hides (status codes, headers, bodies)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if token == "default":
            token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.emulator.url + path, headers=headers, verify=self.emulator.ca_file,
                                timeout=10, **kwargs)


def make_credential(emulator, client_id=None, secret=None, tenant=None) -> ClientSecretCredential:
    env = emulator.env
    return ClientSecretCredential(tenant or env["AZURE_TENANT"], client_id or env["AZURE_CLIENT_ID"],
                                  secret or env["AZURE_SECRET"], authority=emulator.url,
                                  disable_instance_discovery=True)


def make_compute(emulator, credential, **kwargs) -> ComputeManagementClient:
    return ComputeManagementClient(credential, emulator.env["AZURE_SUBSCRIPTION_ID"], base_url=emulator.url,
                                   credential_scopes=[emulator.info["audience"] + ".default"], **kwargs)


@pytest.fixture
def azure(fresh_emulator, monkeypatch) -> Azure:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    credential = make_credential(fresh_emulator)
    return Azure(fresh_emulator, fresh_emulator.env["AZURE_SUBSCRIPTION_ID"], credential,
                 make_compute(fresh_emulator, credential))


def vmaccess_body(settings=None, protected=None, tag=None, version="2.4", publisher="Microsoft.Compute",
                  ext_type="VMAccessAgent", auto_upgrade=True) -> dict:
    props = {"publisher": publisher, "type": ext_type, "typeHandlerVersion": version,
             "autoUpgradeMinorVersion": auto_upgrade, "settings": settings or {}, "protectedSettings": protected or {}}
    if tag is not None:
        props["forceUpdateTag"] = tag
    return {"location": LOCATION, "properties": props}


def put_extension(azure: Azure, vm: str, body: dict, name: str = "enablevmaccess", rg: str = RG):
    """PUT + wait through azure-core's LRO poller (bounded), polling at our own interval."""
    poller = azure.compute.virtual_machine_extensions.begin_create_or_update(
        rg, vm, name, body, polling_interval=POLL_S)
    return poller.result(timeout=20)


def delete_extension(azure: Azure, vm: str, name: str = "enablevmaccess", rg: str = RG):
    poller = azure.compute.virtual_machine_extensions.begin_delete(rg, vm, name, polling_interval=POLL_S)
    return poller.result(timeout=20)


def vm_path(azure: Azure, vm: str | None = None, rg: str = RG) -> str:
    base = f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines"
    return f"{base}/{vm}" if vm else base


def ext_path(azure: Azure, vm: str, name: str = "enablevmaccess", rg: str = RG,
             api_version: str = "2024-11-01") -> str:
    return f"{vm_path(azure, vm, rg)}/extensions/{name}?api-version={api_version}"


def sub_list_path(azure: Azure, query: str = "") -> str:
    return (f"/subscriptions/{azure.sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-11-01"
            + (f"&{query}" if query else ""))


def local(azure: Azure, url: str) -> str:
    """An absolute emulator URL as the path + query ``Azure.raw`` takes, unchanged otherwise."""
    assert url.startswith(azure.emulator.url), url
    return url[len(azure.emulator.url):]


def wait_operation(azure: Azure, response, limit_s: float = 15.0) -> dict:
    """Poll an Azure-AsyncOperation URL verbatim (raw) until it leaves InProgress; returns the final body."""
    deadline = time.monotonic() + limit_s
    url = local(azure, response.headers["Azure-AsyncOperation"])
    while time.monotonic() < deadline:
        body = azure.raw("GET", url).json()
        if body["status"] != "InProgress":
            return body
        time.sleep(POLL_S)
    raise TimeoutError(url)


def parse_time(value: str) -> float:
    """Epoch seconds of an Azure timestamp (7 fractional digits, +00:00)."""
    stamp, _sep, fraction = value.replace("+00:00", "").partition(".")
    whole = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return whole + (float("0." + fraction) if fraction else 0.0)


RETRY_HINTS = {"retry-after", "retry-after-ms", "x-ms-retry-after-ms"}


def retry_hints(response) -> set[str]:
    return RETRY_HINTS & {h.lower() for h in response.headers}
