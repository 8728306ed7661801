"""Authentication through ansible-playbook: the action group's module_defaults carry the credential, and a wrong
secret never shows at -vvvv. Every credential source and failure (AWX and azure-identity variable names, managed
identity, Reader, missing subscription, http cloud) is tested in-process in tests/engine/test_auth.py."""

import pytest

from .fleet_helpers import RG, arm_writes, info_task, reset_task, seed, windows_vm

pytestmark = [pytest.mark.emulator, pytest.mark.e2e]

NO_ENV_CREDENTIALS = {"AZURE_CLIENT_ID": None, "AZURE_SECRET": None, "AZURE_TENANT": None,
                      "AZURE_SUBSCRIPTION_ID": None, "AZURE_CLOUD_ENVIRONMENT": None}
WRONG_SECRET = "Wr0ng-Secret-Value~abc"


def with_group_defaults(tasks, **auth):
    return {"name": "with module_defaults", "module_defaults": {"group/azure_ops.vm_access.azure": auth},
            "block": tasks}


def test_the_action_group_carries_the_credential_and_a_wrong_secret_is_never_echoed(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-01", rdp="broken"))
    env = fresh_emulator.env
    auth = {"auth_source": "auto", "client_id": env["AZURE_CLIENT_ID"], "secret": env["AZURE_SECRET"],
            "tenant": env["AZURE_TENANT"], "subscription_id": env["AZURE_SUBSCRIPTION_ID"],
            "cloud_environment": env["AZURE_CLOUD_ENVIRONMENT"]}
    wrong_auth = dict(auth)
    wrong_auth["secret"] = WRONG_SECRET
    run = run_tasks([
        with_group_defaults([reset_task(resource_group=RG, vm_name="web-01", reset="rdp", run_tag="T1"),
                             info_task(resource_group=RG)], **auth),
        with_group_defaults([reset_task("wrong", resource_group=RG, vm_name="web-01", reset="rdp", run_tag="T2")],
                            **wrong_auth),
    ], env=NO_ENV_CREDENTIALS, verbosity=4)
    assert run.result()["changed"] is True
    assert run.result("i")["vms"][0]["vmaccess"]["last_run_succeeded"] is True
    wrong = run.result("wrong")
    assert (wrong.get("failed"), wrong.get("reason")) == (True, "authentication_failed"), wrong
    assert "AADSTS7000215" in wrong["msg"]
    assert fresh_emulator.control.vm(sub, RG, "web-01")["run_count"] == 1 and len(arm_writes(fresh_emulator)) == 1
    assert WRONG_SECRET not in run.everything and env["AZURE_SECRET"] not in run.everything
    assert "Traceback" not in run.everything
