"""Helpers shared by the Run Command, RDP guest and network tests."""

from __future__ import annotations

import json
import time

from .conftest import POLL_S, RG, Azure, local, vm_path

CHECK_SCRIPT = ["$ErrorActionPreference = 'Stop'", "# azops-rdp-check v1",
                "# reads the registry, services, firewall and certificate; writes one JSON line"]
NETWORK_API = "api-version=2024-05-01"


def run_command(azure: Azure, vm: str, command_id: str, script=None, parameters=None, rg: str = RG):
    """begin_run_command through azure-mgmt-compute, polling at our own interval (no hints are sent)."""
    body: dict = {"commandId": command_id}
    if script is not None:
        body["script"] = script
    if parameters:
        body["parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    poller = azure.compute.virtual_machines.begin_run_command(rg, vm, body, polling_interval=POLL_S)
    return poller.result(timeout=30)


def stdout_of(result) -> str:
    return result.value[0].message


def stderr_of(result) -> str:
    return result.value[1].message


def check(azure: Azure, vm: str, rg: str = RG) -> dict:
    """Run the collection's read-only check and parse its one line."""
    line = stdout_of(run_command(azure, vm, "RunPowerShellScript", script=CHECK_SCRIPT, rg=rg))
    assert line.startswith("AZOPS_RDP_CHECK "), line
    return json.loads(line[len("AZOPS_RDP_CHECK "):])


def rdp(azure: Azure, vm: str, rg: str = RG) -> dict:
    return azure.vm_state(vm, rg)["guest"]["rdp"]


def run_command_path(azure: Azure, vm: str, rg: str = RG) -> str:
    return f"{vm_path(azure, vm, rg)}/runCommand?api-version=2024-11-01"


def post_run_command(azure: Azure, vm: str, body: dict, rg: str = RG, token="default"):
    return azure.raw("POST", run_command_path(azure, vm, rg), token=token, json=body)


def wait_async(azure: Azure, response, limit_s: float = 20.0, header: str = "Azure-AsyncOperation") -> dict:
    """Poll an Azure-AsyncOperation URL verbatim until it leaves InProgress; returns its last body."""
    url = local(azure, response.headers[header])
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        body = azure.raw("GET", url).json()
        if body["status"] != "InProgress":
            return body
        time.sleep(POLL_S)
    raise TimeoutError(url)


def network_path(azure: Azure, tail: str, rg: str = RG) -> str:
    return f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Network/{tail}?{NETWORK_API}"


def resource_path(azure: Azure, resource_id: str, api: str = NETWORK_API) -> str:
    assert resource_id.startswith("/subscriptions/"), resource_id
    return f"{resource_id}?{api}"
