"""Run Command responses against the Compute definitions of the contract test (tests/contract): the
documents, the RunCommandResult, and VM / extension documents that now carry RunCommandWindows."""

from __future__ import annotations

import pytest

from .conftest import RG, local, vm_path
from .rdp_helpers import post_run_command, wait_async

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def validator():
    try:
        from tests.contract import deviations
        from tests.contract.definitions import load
        from tests.contract.validator import Validator
        return Validator(deviations.apply(load()))
    # The definitions come from PyPI (see tests/contract): without them the contract cannot be checked.
    except Exception as exc:  # pylint: disable=broad-except
        pytest.skip(f"the Compute definitions are not available: {exc}")


def _assert_valid(validator, type_name: str, body) -> None:
    problems = validator.errors(type_name, body)
    assert not problems, f"{type_name}: " + "\n".join(problems)


def test_documents_results_and_vm_reads_match_the_definitions(azure, validator):
    azure.add_vms({"name": "win1", "run_command_duration_s": 2})
    base = f"/subscriptions/{azure.sub}/providers/Microsoft.Compute/locations/westeurope/runCommands"
    _assert_valid(validator, "RunCommandListResult", azure.raw("GET", f"{base}?api-version=2024-11-01").json())
    _assert_valid(validator, "RunCommandDocument",
                  azure.raw("GET", f"{base}/SetRDPPort?api-version=2024-11-01").json())
    response = post_run_command(azure, "win1", {"commandId": "RDPSettings"})
    wait_async(azure, response)
    _assert_valid(validator, "RunCommandResult", azure.raw("GET", local(azure, response.headers["Location"])).json())
    for expand in ("", "&$expand=instanceView"):
        vm = azure.raw("GET", f"{vm_path(azure, 'win1')}?api-version=2024-11-01{expand}").json()
        assert any(r["name"] == "RunCommandWindows" for r in vm["resources"])
        _assert_valid(validator, "VirtualMachine", vm)
    ext = azure.raw("GET", f"{vm_path(azure, 'win1', RG)}/extensions/RunCommandWindows"
                           "?$expand=instanceView&api-version=2024-11-01").json()
    _assert_valid(validator, "VirtualMachineExtension", ext)
