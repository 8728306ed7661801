"""Authentication as users and AWX configure it, in-process: ``AzureSession(params, environ)`` resolves the
credential exactly as every plugin does, and the engine / vm_access_info's reader use it against the emulator.
What only Ansible shows (the action group's module_defaults, no_log at -vvvv) is in
tests/integration/test_auth.py."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ops.vm_access.plugins.modules.vm_access_info import read_vms

from . import fixtures
from .fixtures import RG, windows_vm

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]

NO_ENV_CREDENTIALS = {"AZURE_CLIENT_ID": None, "AZURE_SECRET": None, "AZURE_TENANT": None}
INFO_ONE = {"vm_id": None, "resource_group": RG, "vm_name": "web-01"}
INFO_GROUP = {"vm_id": None, "resource_group": RG, "vm_name": None}


def principals_of_arm_calls(azure):
    return {q["principal"] for q in azure.control.requests() if q["kind"] in ("read", "write", "operation")}


def test_the_awx_credential_variables_are_enough(azure_run):
    # AWX's Azure Resource Manager credential injects exactly these variables.
    azure_run.seed(windows_vm("web-01"))
    awx = ("AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_CLOUD_ENVIRONMENT")
    environ = {key: value for key, value in azure_run.environ.items() if not key.startswith("AZURE_") or key in awx}
    session = azure_run.session(environ=environ)
    assert (session.settings.method, session.settings.source) == ("client_secret", "env")
    vms, _api = read_vms(session, INFO_ONE)
    assert [vm.ref.name for vm in vms] == ["web-01"]
    assert azure_run.one("web-01", environ=environ)["outcome"] == "changed"


def test_the_azure_identity_variable_names_work_too(azure_run):
    azure_run.seed(windows_vm("web-01"))
    env = azure_run.emulator.env
    environ = azure_run.environ.copy()
    for key in NO_ENV_CREDENTIALS:
        environ.pop(key)
    environ.update(AZURE_CLIENT_ID=env["AZURE_CLIENT_ID"], AZURE_CLIENT_SECRET=env["AZURE_SECRET"],
                   AZURE_TENANT_ID=env["AZURE_TENANT"])
    vms, _api = read_vms(azure_run.session(environ=environ), INFO_ONE)
    assert [vm.ref.name for vm in vms] == ["web-01"]


def test_options_alone_are_enough(azure_run):
    # What module_defaults of the action group hand every module: options, no AZURE_* variable at all.
    azure_run.seed(windows_vm("web-01"))
    env = azure_run.emulator.env
    params = {"auth_source": "auto", "client_id": env["AZURE_CLIENT_ID"], "secret": env["AZURE_SECRET"],
              "tenant": env["AZURE_TENANT"], "subscription_id": env["AZURE_SUBSCRIPTION_ID"],
              "cloud_environment": env["AZURE_CLOUD_ENVIRONMENT"]}
    environ = {key: value for key, value in azure_run.environ.items() if not key.startswith("AZURE_")}
    assert azure_run.session(params, environ).settings.source == "parameters"
    result = azure_run.one("web-01", params=params, environ=environ)
    assert result["outcome"] == "changed" and azure_run.vm("web-01")["guest"]["rdp_enabled"]


def test_a_managed_identity_from_identity_endpoint_and_header(azure_run, monkeypatch):
    azure_run.seed(windows_vm("web-01"))
    msi = azure_run.emulator.info["msi"]
    # azure-identity reads these from the process environment itself.
    monkeypatch.setenv("IDENTITY_ENDPOINT", msi["identity_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", msi["identity_header"])
    environ = dict(azure_run.environ, IDENTITY_ENDPOINT=msi["identity_endpoint"],
                   IDENTITY_HEADER=msi["identity_header"])
    for key in NO_ENV_CREDENTIALS:
        environ.pop(key)
    session = azure_run.session({"auth_source": "msi"}, environ)
    assert session.settings.method == "managed_identity"
    vms, _api = read_vms(session, INFO_GROUP)
    assert [vm.ref.name for vm in vms] == ["web-01"]
    principals = principals_of_arm_calls(azure_run)
    assert principals and principals <= {msi["object_id"], msi["client_id"]}


def test_a_wrong_secret_is_authentication_failed_and_never_echoed(azure_run):
    azure_run.seed(windows_vm("web-01"))
    wrong = "Wr0ng-Secret-Value~abc"
    result = azure_run.one("web-01", environ=dict(azure_run.environ, AZURE_SECRET=wrong))
    assert (result["outcome"], result["reason"]) == ("failed", "authentication_failed"), result["msg"]
    assert "AADSTS7000215" in result["msg"] and "secret" in result["msg"]
    assert wrong not in repr(result) and azure_run.emulator.env["AZURE_SECRET"] not in repr(result)
    assert azure_run.writes() == 0


def test_a_reader_can_report_but_not_reset(azure_run):
    azure_run.seed(windows_vm("web-01"))
    reader = azure_run.emulator.info["reader"]
    environ = dict(azure_run.environ, AZURE_CLIENT_ID=reader["client_id"], AZURE_SECRET=reader["secret"],
                   AZURE_TENANT=reader["tenant"])
    vms, _api = read_vms(azure_run.session(environ=environ), INFO_GROUP)
    assert [vm.ref.name for vm in vms] == ["web-01"]
    result = azure_run.one("web-01", environ=environ)
    assert (result["outcome"], result["reason"]) == ("failed", "authorization_failed"), result["msg"]
    assert "Microsoft.Compute/virtualMachines/extensions/write" in result["msg"]
    assert [q for q in azure_run.control.requests() if q["kind"] == "write" and q["status"] < 400] == []
    assert azure_run.vm("web-01")["run_count"] == 0


def test_a_missing_subscription_is_a_clear_error(azure_run):
    error = azure_run.session_error(environ=dict(azure_run.environ, AZURE_SUBSCRIPTION_ID=""))
    assert error.reason == "missing_subscription" and "AZURE_SUBSCRIPTION_ID" in error.message
    assert azure_run.arm_calls() == []  # not even a token (the cloud's metadata was read)


def test_a_plain_http_cloud_is_refused_before_any_request(azure_run):
    url = azure_run.emulator.env["AZURE_CLOUD_ENVIRONMENT"].replace("https://", "http://")
    error = azure_run.session_error(environ=dict(azure_run.environ, AZURE_CLOUD_ENVIRONMENT=url))
    assert error.reason == "invalid_argument" and "https" in error.message and "REQUESTS_CA_BUNDLE" in error.message
    assert azure_run.control.requests() == []  # not even the cloud's metadata
