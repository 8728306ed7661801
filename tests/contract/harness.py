"""Plain HTTPS calls to the emulator, as a principal, and small helpers of the contract test.

Responses are captured with ``requests`` and a bearer token from azure-identity's
ClientSecretCredential, at the api-version the definitions describe (definitions.MAIN), so
status codes, headers and bodies are seen exactly as sent.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlsplit

import requests
from azure.identity import ClientSecretCredential

from .definitions import MAIN

API_VERSION = MAIN.api_version
RG = "rg-contract"
LOCATION = "westeurope"
HTTP_TIMEOUT_S = 10


class Arm:
    """Plain HTTPS calls to the emulator's ARM endpoint, as a principal."""

    def __init__(self, emulator, client_id: str, secret: str, tenant: str):
        self.emulator = emulator
        self.url = emulator.url
        self.sub = emulator.env["AZURE_SUBSCRIPTION_ID"]
        self.credential = ClientSecretCredential(tenant, client_id, secret, authority=emulator.url,
                                                 disable_instance_discovery=True)

    def token(self) -> str:
        return self.credential.get_token(self.emulator.info["audience"] + ".default").token

    def vm_path(self, vm: str = "", rg: str = RG, sub: str | None = None) -> str:
        path = f"/subscriptions/{sub or self.sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines"
        return f"{path}/{vm}" if vm else path

    def ext_path(self, vm: str, name: str = "", rg: str = RG) -> str:
        path = f"{self.vm_path(vm, rg)}/extensions"
        return f"{path}/{name}" if name else path

    def call(self, method: str, path_or_url: str, *, params: dict | None = None, body=None, data=None,
             token: str | None = "default", api_version: str | None = API_VERSION) -> requests.Response:
        url = path_or_url if path_or_url.startswith("https://") else self.url + path_or_url
        query = dict(params or {})
        if api_version and "api-version=" not in url:
            query["api-version"] = api_version
        headers = {"x-ms-client-request-id": str(uuid.uuid4())}
        if token == "default":
            token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        elif data is not None:
            headers["Content-Type"] = "application/json"
        return requests.request(method, url, params=query, data=data, headers=headers, verify=self.emulator.ca_file,
                                timeout=HTTP_TIMEOUT_S)

    def get(self, path: str, **params) -> requests.Response:
        return self.call("GET", path, params=params)

    def poll_until_done(self, url: str, timeout_s: float = 20.0) -> list[requests.Response]:
        """GET an operation URL until it leaves InProgress; every answer is returned."""
        answers, deadline = [], time.monotonic() + timeout_s
        while True:
            response = self.call("GET", url)
            answers.append(response)
            if response.status_code != 200 or response.json().get("status") != "InProgress":
                return answers
            assert time.monotonic() < deadline, f"operation still InProgress after {timeout_s}s: {url}"
            time.sleep(0.1)


def seed(emulator, *vms: dict, rg: str = RG) -> None:
    sub = emulator.env["AZURE_SUBSCRIPTION_ID"]
    emulator.control.add_fleet({"seed": 7, "subscriptions": [{"id": sub, "resource_groups": [
        {"name": rg, "location": LOCATION, "vms": list(vms)}]}]})


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
