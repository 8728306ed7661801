"""Authentication as users and AWX configure it, through ansible-playbook against the emulator."""

import pytest

from .fleet_helpers import RG, arm_writes, info_task, reset_task, seed, windows_vm

pytestmark = pytest.mark.emulator

NO_ENV_CREDENTIALS = {"AZURE_CLIENT_ID": None, "AZURE_SECRET": None, "AZURE_TENANT": None}


def test_awx_style_environment_is_enough(fresh_emulator, run_tasks):
    # AWX's Azure RM credential injects exactly these variables.
    seed(fresh_emulator, windows_vm("web-01"))
    env = fresh_emulator.env
    for key in ("AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_CLOUD_ENVIRONMENT"):
        assert env[key]
    r = run_tasks([info_task(resource_group=RG, vm_name="web-01")]).result("i")
    assert r["count"] == 1 and r["vms"][0]["name"] == "web-01"


def test_azure_identity_variable_names_work_too(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-01"))
    env = fresh_emulator.env
    extra = dict(NO_ENV_CREDENTIALS, AZURE_CLIENT_ID=env["AZURE_CLIENT_ID"],
                 AZURE_CLIENT_SECRET=env["AZURE_SECRET"], AZURE_TENANT_ID=env["AZURE_TENANT"])
    r = run_tasks([info_task(resource_group=RG, vm_name="web-01")], env=extra).result("i")
    assert r["count"] == 1


def test_options_through_the_action_group(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-01", rdp="broken"))
    env = fresh_emulator.env
    block = {
        "name": "with module_defaults",
        "module_defaults": {"group/azure_ops.vm_access.azure": {
            "auth_source": "auto", "client_id": env["AZURE_CLIENT_ID"], "secret": env["AZURE_SECRET"],
            "tenant": env["AZURE_TENANT"], "subscription_id": env["AZURE_SUBSCRIPTION_ID"],
            "cloud_environment": env["AZURE_CLOUD_ENVIRONMENT"]}},
        "block": [reset_task(resource_group=RG, vm_name="web-01", reset="rdp", run_tag="T1"),
                  info_task(resource_group=RG)],
    }
    run = run_tasks([block], env=dict(NO_ENV_CREDENTIALS, AZURE_SUBSCRIPTION_ID=None, AZURE_CLOUD_ENVIRONMENT=None),
                    verbosity=4)
    assert run.result()["changed"] is True
    assert run.result("i")["vms"][0]["vmaccess"]["last_run_succeeded"] is True
    assert env["AZURE_SECRET"] not in run.everything


def test_managed_identity(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-01"))
    msi = fresh_emulator.info["msi"]
    extra = dict(NO_ENV_CREDENTIALS, IDENTITY_ENDPOINT=msi["identity_endpoint"],
                 IDENTITY_HEADER=msi["identity_header"])
    r = run_tasks([info_task(resource_group=RG, auth_source="msi")], env=extra).result("i")
    assert r["count"] == 1, r
    principals = {q["principal"] for q in fresh_emulator.control.requests() if q["kind"] == "read"}
    assert principals and principals <= {msi["object_id"], msi["client_id"]}


def test_wrong_secret_is_authentication_failed_and_never_echoed(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-01"))
    wrong = "Wr0ng-Secret-Value~abc"
    run = run_tasks([reset_task(resource_group=RG, vm_name="web-01", reset="rdp")],
                    env={"AZURE_SECRET": wrong}, verbosity=4)
    r = run.result()
    assert r["reason"] == "authentication_failed", r
    assert "AADSTS7000215" in r["msg"]
    assert wrong not in run.everything and fresh_emulator.env["AZURE_SECRET"] not in run.everything
    assert "Traceback" not in run.everything


def test_reader_can_report_but_not_reset(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-01"))
    reader = fresh_emulator.info["reader"]
    extra = {"AZURE_CLIENT_ID": reader["client_id"], "AZURE_SECRET": reader["secret"], "AZURE_TENANT": reader["tenant"]}
    run = run_tasks([info_task(resource_group=RG), reset_task(resource_group=RG, vm_name="web-01", reset="rdp")],
                    env=extra)
    assert run.result("i")["count"] == 1
    r = run.result()
    assert r["reason"] == "authorization_failed", r
    assert "Microsoft.Compute/virtualMachines/extensions/write" in r["msg"]
    assert [w for w in arm_writes(fresh_emulator) if w["status"] < 400] == []


def test_missing_subscription_is_a_clear_error(fresh_emulator, run_tasks):
    run = run_tasks([info_task(resource_group=RG)], env={"AZURE_SUBSCRIPTION_ID": None})
    r = run.result("i")
    assert r["reason"] == "missing_subscription" and "AZURE_SUBSCRIPTION_ID" in r["msg"]


def test_plain_http_cloud_is_refused(fresh_emulator, run_tasks):
    url = fresh_emulator.env["AZURE_CLOUD_ENVIRONMENT"].replace("https://", "http://")
    r = run_tasks([info_task(resource_group=RG)], env={"AZURE_CLOUD_ENVIRONMENT": url}).result("i")
    assert r["reason"] == "invalid_argument" and "https" in r["msg"]
