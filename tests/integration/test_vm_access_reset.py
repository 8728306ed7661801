"""vm_access_reset driven through ansible-playbook against the emulator, checked in the emulated guest."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp

from .fleet_helpers import OLD_PASSWORD, PASSWORD, RG, arm_writes, reset_task, seed, windows_vm

pytestmark = pytest.mark.emulator


def guest(emulator, sub, name):
    return emulator.control.vm(sub, RG, name)


def assert_clean(run, *secrets):
    text = run.everything
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text


def test_rdp_reset_repairs_broken_rdp_and_is_idempotent_per_run_tag(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-01", rdp="broken"))
    before = guest(fresh_emulator, sub, "web-01")["guest"]
    assert before["rdp_enabled"] is False and before["firewall_rule_enabled"] is False

    run = run_tasks([reset_task(resource_group=RG, vm_name="web-01", reset="rdp", run_tag="INC1")])
    r = run.result()
    assert run.returncode == 0, run.stdout
    assert r["changed"] is True and r["action"] == "created"
    assert r["extension"]["provisioning_state"] == "Succeeded" and r["extension"]["fingerprint_kind"] == "rdp"
    state = guest(fresh_emulator, sub, "web-01")
    assert state["guest"]["rdp_enabled"] is True and state["guest"]["firewall_rule_enabled"] is True
    assert state["run_count"] == 1

    # The same run_tag again: nothing to do, and no write reaches Azure.
    mark = fresh_emulator.control.requests()[-1]["seq"]
    again = run_tasks([reset_task(resource_group=RG, vm_name="web-01", reset="rdp", run_tag="INC1")]).result()
    assert again["changed"] is False and again["action"] == "none"
    assert arm_writes(fresh_emulator, since=mark) == []
    assert guest(fresh_emulator, sub, "web-01")["run_count"] == 1

    # A new run_tag, or force, runs the extension again in the guest.
    new_tag = run_tasks([reset_task(resource_group=RG, vm_name="web-01", reset="rdp", run_tag="INC2")]).result()
    assert new_tag["changed"] is True and new_tag["action"] == "rerun"
    forced = run_tasks([reset_task(resource_group=RG, vm_name="web-01", reset="rdp", run_tag="INC2",
                                   force=True)]).result()
    assert forced["changed"] is True
    assert guest(fresh_emulator, sub, "web-01")["run_count"] == 3


def test_password_reset_changes_the_guest_password_once(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-02"))
    control = fresh_emulator.control
    assert control.verify_password(sub, RG, "web-02", "azureadmin", OLD_PASSWORD)

    run = run_tasks([reset_task(resource_group=RG, vm_name="web-02", reset="password", password=PASSWORD)],
                    verbosity=4)
    r = run.result()
    assert run.returncode == 0, run.stdout
    assert r["changed"] is True and r["username"] == "azureadmin"
    assert control.verify_password(sub, RG, "web-02", "azureadmin", PASSWORD)
    assert not control.verify_password(sub, RG, "web-02", "azureadmin", OLD_PASSWORD)
    # The stored tag is a fingerprint, never the password.
    ext = guest(fresh_emulator, sub, "web-02")["extensions"][0]
    assert ext["force_update_tag"].startswith("azops:v1:pw2:") and PASSWORD not in ext["force_update_tag"]
    assert_clean(run, PASSWORD, fresh_emulator.env["AZURE_SECRET"])

    mark = control.requests()[-1]["seq"]
    again = run_tasks([reset_task(resource_group=RG, vm_name="web-02", reset="password", password=PASSWORD)])
    assert again.result()["changed"] is False
    assert arm_writes(fresh_emulator, since=mark) == []

    always = run_tasks([reset_task(resource_group=RG, vm_name="web-02", reset="password", password=PASSWORD,
                                   update_password="always")])
    assert always.result()["changed"] is True
    assert guest(fresh_emulator, sub, "web-02")["run_count"] == 2


def test_password_set_by_release_0_1_0_is_not_reset_again_after_upgrade(fresh_emulator, run_tasks):
    # The extension as 0.1.0 left it: its fingerprint kind (scrypt N=2^15 p=1) for this password.
    sub = fresh_emulator.env["AZURE_SUBSCRIPTION_ID"]
    vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-04" % (sub, RG)
    old_tag = fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", kind=fp.KIND_PASSWORD_V1).tag()
    assert old_tag.startswith("azops:v1:pw:0:")
    seed(fresh_emulator, windows_vm("web-04", accounts=[{"name": "azureadmin", "admin": True, "password": PASSWORD}],
                                    extension={"name": "enablevmaccess", "version": "2.4", "force_update_tag": old_tag,
                                               "settings": {"UserName": "azureadmin"}}))
    same = run_tasks([reset_task(resource_group=RG, vm_name="web-04", reset="password", password=PASSWORD)]).result()
    assert same["changed"] is False and same["action"] == "none"
    assert arm_writes(fresh_emulator) == []  # seed() cleared the request log

    run = run_tasks([reset_task(resource_group=RG, vm_name="web-04", reset="password", password=PASSWORD + "-2")])
    assert run.result()["changed"] is True
    state = guest(fresh_emulator, sub, "web-04")
    assert state["extensions"][0]["force_update_tag"].startswith("azops:v1:pw2:0:")
    assert fresh_emulator.control.verify_password(sub, RG, "web-04", "azureadmin", PASSWORD + "-2")
    assert_clean(run, PASSWORD)


def test_check_mode_predicts_without_writing_and_diff_hides_the_password(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-03"))
    run = run_tasks([reset_task(resource_group=RG, vm_name="web-03", reset="password", password=PASSWORD)],
                    check=True, diff=True, verbosity=3)
    r = run.result()
    assert r["changed"] is True and r["diff"]["after"]["password"] == "<changed>"
    assert arm_writes(fresh_emulator) == []
    assert guest(fresh_emulator, sub, "web-03")["run_count"] == 0
    assert_clean(run, PASSWORD)
    # Even without task-level no_log, the diff Ansible prints shows only the placeholder.
    shown = run_tasks([reset_task(resource_group=RG, vm_name="web-03", reset="password", password=PASSWORD,
                                  no_log=False)], check=True, diff=True, verbosity=4)
    assert "<changed>" in shown.stdout
    assert_clean(shown, PASSWORD)

    run_tasks([reset_task(resource_group=RG, vm_name="web-03", reset="password", password=PASSWORD)])
    mark = fresh_emulator.control.requests()[-1]["seq"]
    predicted = run_tasks([reset_task(resource_group=RG, vm_name="web-03", reset="password", password=PASSWORD)],
                          check=True, diff=True).result()
    assert predicted["changed"] is False
    assert arm_writes(fresh_emulator, since=mark) == []


def test_existing_instance_under_another_name_is_reused(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("app-01", rdp="broken", extension={
        "name": "myVMAccess", "version": "2.4.9", "force_update_tag": "2025-11-02", "settings": {}}))
    run = run_tasks([reset_task(resource_group=RG, vm_name="app-01", reset="rdp", run_tag="INC7")])
    r = run.result()
    assert r["changed"] is True and r["extension"]["name"] == "myVMAccess"
    state = guest(fresh_emulator, sub, "app-01")
    # The instance's own handler version is kept; with auto-upgrade it runs the newest 2.4.x.
    assert r["extension"]["type_handler_version"] == state["extensions"][0]["type_handler_version"]
    assert r["extension"]["running_version"].startswith("2.4.")
    assert [e["name"] for e in state["extensions"]] == ["myVMAccess"]
    assert state["guest"]["rdp_enabled"] is True
    writes = arm_writes(fresh_emulator)
    assert len(writes) == 1 and writes[0]["path"].endswith("/extensions/myVMAccess")


def test_vm_id_and_new_admin_guard(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-04"))
    vm_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/web-04" % (sub, RG)
    refused = run_tasks([reset_task(vm_id=vm_id, reset="password", username="breakglass", password=PASSWORD)])
    assert refused.result()["failed"] and refused.result()["reason"] == "new_admin_not_allowed"
    assert arm_writes(fresh_emulator) == []

    allowed = run_tasks([reset_task(vm_id=vm_id, reset="password", username="breakglass", password=PASSWORD,
                                    allow_new_admin=True)])
    assert allowed.result()["changed"] is True
    accounts = {a["name"]: a for a in guest(fresh_emulator, sub, "web-04")["guest"]["accounts"]}
    assert accounts["breakglass"]["admin"] is True
    assert fresh_emulator.control.verify_password(sub, RG, "web-04", "breakglass", PASSWORD)
    assert fresh_emulator.control.verify_password(sub, RG, "web-04", "azureadmin", OLD_PASSWORD)


def test_wait_false_returns_after_accept_and_a_later_run_reports_the_outcome(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("web-05", rdp="broken", extension_duration_s=150))
    first = run_tasks([reset_task(resource_group=RG, vm_name="web-05", reset="rdp", run_tag="J1", wait=False)])
    r = first.result()
    assert r["changed"] is True and r["extension"]["provisioning_state"] in ("Creating", "Updating")
    mark = fresh_emulator.control.requests()[-1]["seq"]
    second = run_tasks([reset_task(resource_group=RG, vm_name="web-05", reset="rdp", run_tag="J1")]).result()
    assert second["changed"] is False and second["extension"]["provisioning_state"] == "Succeeded"
    assert arm_writes(fresh_emulator, since=mark) == []
    assert guest(fresh_emulator, sub, "web-05")["guest"]["rdp_enabled"] is True


@pytest.mark.parametrize("vm, reason, words", [
    (windows_vm("lnx-01", os="linux"), "not_windows", "Linux"),
    (windows_vm("off-01", power_state="deallocated"), "vm_not_running", "Start it"),
    (windows_vm("noagent-01", agent="not_ready"), "agent_not_ready", "agent"),
    (windows_vm("noext-01", allow_extension_operations=False), "extensions_disallowed", "allowExtensionOperations"),
    (windows_vm("fw-01", failure_mode="firewall_service_stopped"), "extension_failed", "0x800706D9"),
    (windows_vm("dc-01", failure_mode="domain_controller"), "extension_failed", "Domain Controller"),
])
def test_failures_have_reason_codes_and_advice(fresh_emulator, run_tasks, vm, reason, words):
    seed(fresh_emulator, vm)
    run = run_tasks([reset_task(resource_group=RG, vm_name=vm["name"], reset="rdp", agent_wait_timeout=2)])
    r = run.result()
    assert run.returncode != 0 or r.get("failed")
    assert r["reason"] == reason, r
    assert words in r["msg"]
    assert_clean(run)
    if reason in ("not_windows", "vm_not_running", "extensions_disallowed", "agent_not_ready"):
        assert arm_writes(fresh_emulator) == []


def test_vm_not_found(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("web-06"))
    r = run_tasks([reset_task(resource_group=RG, vm_name="nope", reset="rdp")]).result()
    assert r["reason"] == "vm_not_found" and "nope" in r["msg"]
    r = run_tasks([reset_task(resource_group="rg-missing", vm_name="nope", reset="rdp")]).result()
    assert r["reason"] == "resource_group_not_found"


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
def test_invalid_input_is_rejected_before_any_api_call(fresh_emulator, run_tasks, args, reason):
    seed(fresh_emulator, windows_vm("web-07"))
    target = {} if "vm_id" in args else dict(resource_group=RG, vm_name="web-07")
    run = run_tasks([reset_task(**dict(target, **args))], verbosity=4)
    r = run.result()
    assert r["reason"] == reason, r
    assert fresh_emulator.control.requests() == []   # not even a token request
    assert_clean(run, args.get("password", PASSWORD))


def test_in_guest_password_policy_failure_is_surfaced(fresh_emulator, run_tasks):
    sub = seed(fresh_emulator, windows_vm("pol-01", password_policy={"min_length": 24, "complexity": True}))
    run = run_tasks([reset_task(resource_group=RG, vm_name="pol-01", reset="password", password=PASSWORD)])
    r = run.result()
    assert r["reason"] == "extension_failed" and "password policy" in r["msg"]
    assert not fresh_emulator.control.verify_password(sub, RG, "pol-01", "azureadmin", PASSWORD)
    assert_clean(run, PASSWORD)


def test_operation_timeout(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("slow-01"))
    fresh_emulator.control.add_fault(action="never_finish", method="PUT", path=".*/extensions/.*")
    r = run_tasks([reset_task(resource_group=RG, vm_name="slow-01", reset="rdp", wait_timeout=3)]).result()
    assert r["reason"] == "operation_timeout" and "vm_access_info" in r["msg"]


def test_persistent_throttling_ends_with_reason_throttled(fresh_emulator, run_tasks):
    seed(fresh_emulator, windows_vm("busy-01"))
    fresh_emulator.control.add_fault(action="status", status=429, retry_after=0.05, method="GET",
                                     path=".*/virtualMachines/busy-01$")
    run = run_tasks([reset_task(resource_group=RG, vm_name="busy-01", reset="rdp")])
    r = run.result()
    assert r["reason"] == "throttled", r
    assert_clean(run)
    gets = [q for q in fresh_emulator.control.requests() if q["status"] == 429]
    assert len(gets) > 1  # azure-core retried before giving up
