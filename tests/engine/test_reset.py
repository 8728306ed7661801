"""The single-VM reset (vm_access_reset's path: one target per engine run) in-process against the emulator:
RDP and password decisions and their effect in the guest, 0.1.0 tags, reuse of an instance, the new-admin
guard, wait=false, and every failure reason with its advice. The Ansible side (argument specs, no_log,
check/diff as Ansible prints them) is the e2e smoke set in tests/integration/test_vm_access_reset.py."""

from __future__ import annotations

import json

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import SKIP_REASONS
from ansible_collections.azure_ops.vm_access.plugins.modules import vm_access_reset

from . import fixtures
from .fixtures import OLD_PASSWORD, PASSWORD, RG, windows_vm

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]


def rdp(run_tag, **fields):
    return ResetRequest(reset="rdp", run_tag=run_tag, **fields)


def password_reset(password=PASSWORD, **fields):
    return ResetRequest(reset="password", password=password, **fields)


def vm_id(azure, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (azure.sub, RG, name)


def test_rdp_reset_repairs_the_guest_and_is_idempotent_per_run_tag(azure_run):
    azure_run.seed(windows_vm("web-01"))
    before = azure_run.vm("web-01")["guest"]
    assert (before["rdp_enabled"], before["firewall_rule_enabled"]) == (False, False)

    first = azure_run.one("web-01", rdp("INC1"))
    assert (first["outcome"], first["changed"], first["action"]) == ("changed", True, "created")
    assert first["extension"]["provisioning_state"] == "Succeeded" and first["extension"]["fingerprint_kind"] == "rdp"
    state = azure_run.vm("web-01")
    assert state["guest"]["rdp_enabled"] and state["guest"]["firewall_rule_enabled"] and state["run_count"] == 1

    azure_run.control.clear_requests()
    again = azure_run.one("web-01", rdp("INC1"))
    assert (again["outcome"], again["changed"], again["action"]) == ("ok", False, "none")
    assert azure_run.writes() == 0 and azure_run.vm("web-01")["run_count"] == 1

    # A new run_tag, or force, runs the extension in the guest again.
    new_tag = azure_run.one("web-01", rdp("INC2"))
    assert (new_tag["outcome"], new_tag["action"]) == ("changed", "rerun")
    forced = azure_run.one("web-01", rdp("INC2", force=True))
    assert forced["outcome"] == "changed"
    assert azure_run.vm("web-01")["run_count"] == 3


def test_password_reset_changes_the_guest_password_once(azure_run):
    azure_run.seed(windows_vm("web-02"))
    control, sub = azure_run.control, azure_run.sub
    assert control.verify_password(sub, RG, "web-02", "azureadmin", OLD_PASSWORD)

    result = azure_run.one("web-02", password_reset())
    assert (result["outcome"], result["username"]) == ("changed", "azureadmin")
    assert control.verify_password(sub, RG, "web-02", "azureadmin", PASSWORD)
    assert not control.verify_password(sub, RG, "web-02", "azureadmin", OLD_PASSWORD)
    # The stored tag is a fingerprint, never the password; the result never holds it either.
    tag = azure_run.vm("web-02")["extensions"][0]["force_update_tag"]
    assert tag.startswith("azops:v1:pw2:0:") and PASSWORD not in tag
    assert PASSWORD not in repr(result)

    azure_run.control.clear_requests()
    again = azure_run.one("web-02", password_reset())
    assert (again["outcome"], again["changed"]) == ("ok", False) and azure_run.writes() == 0

    always = azure_run.one("web-02", password_reset(update_password="always"))
    assert always["outcome"] == "changed" and azure_run.vm("web-02")["run_count"] == 2


def test_a_password_set_by_release_0_1_0_is_not_reset_again_after_upgrade(azure_run):
    # The extension as 0.1.0 left it: its fingerprint kind (scrypt N=2^15 p=1) for this password.
    old_tag = fp.password_fingerprint(PASSWORD, vm_id(azure_run, "web-04"), "azureadmin",
                                      kind=fp.KIND_PASSWORD_V1).tag()
    assert old_tag.startswith("azops:v1:pw:0:")
    azure_run.seed(windows_vm("web-04", accounts=[{"name": "azureadmin", "admin": True, "password": PASSWORD}],
                              extension={"name": "enablevmaccess", "version": "2.4", "force_update_tag": old_tag,
                                         "settings": {"UserName": "azureadmin"}}))
    same = azure_run.one("web-04", password_reset())
    assert (same["outcome"], same["action"]) == ("ok", "none") and azure_run.writes() == 0

    other = azure_run.one("web-04", password_reset(PASSWORD + "-2"))
    assert other["outcome"] == "changed"
    assert azure_run.vm("web-04")["extensions"][0]["force_update_tag"].startswith("azops:v1:pw2:0:")
    assert azure_run.control.verify_password(azure_run.sub, RG, "web-04", "azureadmin", PASSWORD + "-2")


def test_check_mode_predicts_without_writing_and_the_diff_hides_the_password(azure_run):
    azure_run.seed(windows_vm("web-03"))
    predicted = azure_run.one("web-03", password_reset(), check_mode=True)
    assert (predicted["outcome"], predicted["changed"]) == ("changed", True)
    assert predicted["diff"]["after"]["password"] == "<changed>" and PASSWORD not in repr(predicted)
    assert azure_run.writes() == 0 and azure_run.vm("web-03")["run_count"] == 0

    assert azure_run.one("web-03", password_reset())["outcome"] == "changed"
    azure_run.control.clear_requests()
    unchanged = azure_run.one("web-03", password_reset(), check_mode=True)
    assert (unchanged["outcome"], unchanged["changed"]) == ("ok", False) and azure_run.writes() == 0


def test_an_existing_instance_under_another_name_is_reused(azure_run):
    azure_run.seed(windows_vm("app-01", extension={"name": "myVMAccess", "version": "2.4.9",
                                                   "force_update_tag": "2025-11-02", "settings": {}}))
    result = azure_run.one("app-01", rdp("INC7"))
    assert result["outcome"] == "changed" and result["extension"]["name"] == "myVMAccess"
    state = azure_run.vm("app-01")
    # The instance's own handler version is kept; with auto-upgrade it runs the newest 2.4.x.
    assert result["extension"]["type_handler_version"] == state["extensions"][0]["type_handler_version"]
    assert result["extension"]["running_version"].startswith("2.4.")
    assert [e["name"] for e in state["extensions"]] == ["myVMAccess"] and state["guest"]["rdp_enabled"]
    assert [q["path"].rsplit("/", 1)[1] for q in azure_run.control.requests() if q["kind"] == "write"] == ["myVMAccess"]


def test_a_vm_named_by_id_gets_a_new_admin_only_when_allowed(azure_run):
    azure_run.seed(windows_vm("web-04"))
    target = target_from_options(vm_id=vm_id(azure_run, "web-04"))
    refused = azure_run.run_targets([target], password_reset(username="breakglass"))["web-04"]
    assert (refused["outcome"], refused["reason"]) == ("failed", "new_admin_not_allowed")
    assert "allow_new_admin" in refused["msg"] and azure_run.writes() == 0

    allowed = azure_run.run_targets([target], password_reset(username="breakglass", allow_new_admin=True))["web-04"]
    assert allowed["outcome"] == "changed"
    accounts = {a["name"]: a for a in azure_run.vm("web-04")["guest"]["accounts"]}
    assert accounts["breakglass"]["admin"] is True
    assert azure_run.control.verify_password(azure_run.sub, RG, "web-04", "breakglass", PASSWORD)
    assert azure_run.control.verify_password(azure_run.sub, RG, "web-04", "azureadmin", OLD_PASSWORD)


def test_wait_false_returns_after_accept_and_a_later_run_reports_the_outcome(azure_run):
    azure_run.seed(windows_vm("web-05", extension_duration_s=150))
    submitted = azure_run.one("web-05", rdp("J1"), wait=False)
    assert submitted["outcome"] == "changed"
    assert submitted["extension"]["provisioning_state"] in ("Creating", "Updating")
    azure_run.control.clear_requests()
    later = azure_run.one("web-05", rdp("J1"), wait_timeout=30)
    assert (later["outcome"], later["changed"]) == ("ok", False)
    assert later["extension"]["provisioning_state"] == "Succeeded"
    assert azure_run.writes() == 0
    assert azure_run.vm("web-05")["guest"]["rdp_enabled"] and azure_run.vm("web-05")["run_count"] == 1


@pytest.mark.parametrize("vm, reason, advice", [
    (windows_vm("lnx-01", os="linux"), "not_windows", "Linux"),
    (windows_vm("off-01", power_state="deallocated"), "vm_not_running", "Start it"),
    (windows_vm("noagent-01", agent="not_ready"), "agent_not_ready", "require_agent_ready: false"),
    (windows_vm("noext-01", allow_extension_operations=False), "extensions_disallowed", "allowExtensionOperations"),
    (windows_vm("fw-01", failure_mode="firewall_service_stopped"), "extension_failed", "0x800706D9"),
    (windows_vm("dc-01", failure_mode="domain_controller"), "extension_failed", "Domain Controller"),
], ids=lambda value: value["name"] if isinstance(value, dict) else None)
def test_failures_have_reason_codes_and_advice(azure_run, vm, reason, advice):
    azure_run.seed(vm)
    result = azure_run.one(vm["name"], rdp("T1"), agent_wait_timeout=2)
    # The module fails the task with the reason either way; the fleet skips the VMs VMAccess cannot act on.
    assert result["outcome"] == ("skipped" if reason in SKIP_REASONS else "failed")
    assert result["reason"] == reason, result["msg"]
    assert advice in result["msg"]
    runs = azure_run.vm(vm["name"])["run_count"]
    if reason in SKIP_REASONS:
        assert azure_run.writes() == 0 and runs == 0 and result["changed"] is False
    else:  # the PUT was accepted and the run failed in the guest
        assert azure_run.writes() == 1 and runs == 1 and result["changed"] is True


def test_a_missing_vm_or_resource_group_is_named(azure_run):
    azure_run.seed(windows_vm("web-06"))
    missing_vm = azure_run.one("nope", rdp("T1"))
    assert (missing_vm["outcome"], missing_vm["reason"]) == ("failed", "vm_not_found") and "nope" in missing_vm["msg"]
    missing_group = azure_run.one("nope", rdp("T1"), rg="rg-missing")
    assert missing_group["reason"] == "resource_group_not_found" and "rg-missing" in missing_group["msg"]
    assert azure_run.writes() == 0


def test_the_guest_password_policy_failure_is_surfaced(azure_run):
    azure_run.seed(windows_vm("pol-01", password_policy={"min_length": 24, "complexity": True}))
    result = azure_run.one("pol-01", password_reset())
    assert (result["outcome"], result["reason"]) == ("failed", "extension_failed")
    assert "password policy" in result["msg"] and PASSWORD not in repr(result)
    assert not azure_run.control.verify_password(azure_run.sub, RG, "pol-01", "azureadmin", PASSWORD)


def test_an_operation_that_never_finishes_times_out_with_advice(azure_run):
    azure_run.seed(windows_vm("slow-01"))
    azure_run.control.add_fault(action="never_finish", method="PUT", path="/extensions/")
    result = azure_run.one("slow-01", rdp("T1"), wait_timeout=3)
    assert (result["outcome"], result["reason"], result["changed"]) == ("failed", "operation_timeout", True)
    assert "vm_access_info" in result["msg"] and "wait_timeout (3s)" in result["msg"]


def test_persistent_throttling_ends_with_reason_throttled(azure_run):
    azure_run.seed(windows_vm("busy-01"))
    azure_run.control.add_fault(action="status", status=429, retry_after=0.05, method="GET",
                                path="/virtualMachines/busy-01$")
    result = azure_run.one("busy-01", rdp("T1"))
    assert (result["outcome"], result["reason"]) == ("failed", "throttled"), result["msg"]
    throttled = [q for q in azure_run.control.requests() if q["status"] == 429]
    assert len(throttled) > 1  # azure-core retried before giving up
    assert azure_run.writes() == 0


@pytest.mark.parametrize("args, reason", [
    (dict(reset="password", password="short1!A"), "invalid_password"),
    (dict(reset="password", password="alllowercaseletters"), "invalid_password"),
    (dict(reset="password", password="P@ssw0rd"), "invalid_password"),
    (dict(reset="password", password=PASSWORD, username="admin", allow_new_admin=True), "invalid_username"),
    (dict(reset="password", password=PASSWORD, username="a/b", allow_new_admin=True), "invalid_username"),
    (dict(reset="rdp", run_tag="has spaces"), "invalid_argument"),
    (dict(reset="rdp", vm_id="/subscriptions/x/not-a-vm"), "invalid_argument"),
    # ansible-core <= 2.19 raises (not rejects) on these in its own int check
    (dict(reset="rdp", wait_timeout="inf"), "invalid_argument"),
    (dict(reset="password", password=PASSWORD, agent_wait_timeout="-Infinity"), "invalid_argument"),
])
def test_the_module_rejects_invalid_input_before_any_api_call(azure_run, args, reason):
    """The module's own main(), in this process: argument spec, then the request checks, then fail_json."""
    azure_run.seed(windows_vm("web-07"))
    target = {} if "vm_id" in args else dict(resource_group=RG, vm_name="web-07")
    result = azure_run.module(vm_access_reset.main, **dict(target, **args))
    assert (result.get("failed"), result.get("reason")) == (True, reason), result
    assert azure_run.control.requests() == []  # not even the cloud's metadata or a token
    if "password" in args:
        assert args["password"] not in json.dumps(result)
