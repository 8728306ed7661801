"""The pending -> active protocol in-process: the password store (_engine.password_store) on the Key Vault
layer and the reset engine, against the emulator, checked in the vault and in the emulated guests.

Invariant checked after every run (``consistent``): the newest active version of each VM's secret holds the
password the guest accepts, earlier versions are kept, and no VM got a PUT whose pending version was not
written."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget

from .conftest import OLD_PASSWORD, RG, windows_vm
from .kv_helpers import vault  # fixture  # noqa: F401  # pylint: disable=unused-import

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(180)]
STAND_IN = "Stand-in-Passw0rd!x"   # the request's own password; every VM gets its own from the store


def run(azure, vault, names, max_age_days=None, store=None, finish=True, **options):
    """One rotation as the fleet action does it: plan, engine with before_submit, finish."""
    store = store or vault.store()
    targets = [VmTarget(host=n, ref=azure.ref(n)) for n in names]
    held = store.plan(targets, run_tag="R1", max_age_days=max_age_days)
    run_targets = [t for t in targets if t.host not in held]
    engine = azure.engine(ResetRequest(reset="password", password=STAND_IN, run_tag="R1"),
                          before_submit=store.before_submit, **options)
    results = engine.run(run_targets)
    if finish:
        failures = store.finish(results, waited=options.get("wait", True))
        assert not failures
    out = dict((r["host"], r) for r in results)
    out.update((host, {"host": host, "outcome": v.outcome, "reason": v.reason, "msg": v.msg}) for host, v in held.items())
    return out, store


def consistent(azure, vault, name, guest_password_is_newest_active=True):
    secret = vault.secret_of(name)
    active = vault.newest_active(secret)
    works = azure.control.verify_password(azure.sub, RG, name, "azureadmin", active["value"])
    assert works is guest_password_is_newest_active, (name, vault.states(secret))
    return secret


def arm_puts(azure, name):
    return [r for r in azure.control.requests() if r["method"] == "PUT" and "/extensions/" in r["path"]
            and (r["vm"] or "") == name]


def test_rotation_writes_pending_before_the_put_then_active_and_keeps_the_old_version(azure, vault):
    azure.seed(windows_vm("r-1"), windows_vm("r-2"))
    vault.seed_active("r-1", OLD_PASSWORD, days_old=40)
    results, store = run(azure, vault, ["r-1", "r-2"], max_age_days=30)
    assert {r["outcome"] for r in results.values()} == {"changed"}
    for name in ("r-1", "r-2"):
        secret = consistent(azure, vault, name)
        versions = vault.versions(secret)
        new = versions[-1]
        assert new["content_type"] == "password" and new["tags"]["state"] == "active"
        assert set(new["tags"]) == {"vm_id", "username", "run_tag", "state", "set_at"}
        assert new["tags"]["username"] == "azureadmin" and new["tags"]["run_tag"] == "R1"
        assert new["tags"]["vm_id"].lower() == azure.ref(name).id.lower()
        assert store.report(name)["version"] == new["version"] and store.report(name)["state"] == "active"
    assert vault.states(vault.secret_of("r-1")) == ["active", "active"]  # the old version is kept, untouched
    assert store.report("r-1")["previous_active_version"] == vault.versions(vault.secret_of("r-1"))[0]["version"]
    # Pending was written before the PUT: the version's PUT precedes the extension PUT in the log.
    log = azure.control.requests()
    kv_put = min(r["seq"] for r in log if r["kind"] == "keyvault" and r["method"] == "PUT" and r["status"] == 200)
    arm_put = min(r["seq"] for r in log if r["method"] == "PUT" and "/extensions/" in r["path"])
    assert kv_put < arm_put


def test_a_second_rotation_inside_max_age_makes_no_write_and_no_vm_call(azure, vault):
    azure.seed(windows_vm("n-1"), windows_vm("n-2"))
    run(azure, vault, ["n-1", "n-2"], max_age_days=30)
    azure.control.clear_requests()
    results, store = run(azure, vault, ["n-1", "n-2"], max_age_days=30)
    assert {(r["outcome"], r["reason"]) for r in results.values()} == {("ok", None)}
    assert "not due" in results["n-1"]["msg"]
    log = azure.control.requests()
    assert [r for r in log if r["kind"] in ("read", "write", "operation")] == []   # not even a VM read
    assert [r for r in log if r["kind"] == "keyvault" and r["method"] != "GET"] == []
    assert store.report("n-1")["state"] == "active" and store.report("n-1")["version"]
    # Max age 0 makes every VM due again.
    again, _store = run(azure, vault, ["n-1"], max_age_days=0)
    assert again["n-1"]["outcome"] == "changed" and vault.states(vault.secret_of("n-1")) == ["active", "active"]


def test_a_vm_whose_pending_version_cannot_be_written_gets_no_put(azure, vault):
    azure.seed(windows_vm("w-ok"), windows_vm("w-kv"))
    vault.seed_active("w-kv", OLD_PASSWORD, days_old=40)
    secret = vault.secret_of("w-kv")
    azure.control.add_fault(method="PUT", path=r"^/secrets/%s$" % secret, status=403, code="Forbidden",
                            message="Caller is not authorized to perform action on resource.")
    results, store = run(azure, vault, ["w-ok", "w-kv"], max_age_days=30)
    assert (results["w-kv"]["outcome"], results["w-kv"]["reason"]) == ("failed", "key_vault_forbidden")
    assert arm_puts(azure, "w-kv") == [] and results["w-kv"]["changed"] is False
    assert vault.states(secret) == ["active"]
    assert azure.control.verify_password(azure.sub, RG, "w-kv", "azureadmin", OLD_PASSWORD)
    assert results["w-ok"]["outcome"] == "changed"
    consistent(azure, vault, "w-ok")
    assert "no PUT" in store.report("w-kv")["note"]


def test_an_extension_failure_leaves_the_version_failed_and_the_old_one_working(azure, vault):
    azure.seed(windows_vm("x-1", failure_mode="message:The password does not meet the password policy requirements."))
    vault.seed_active("x-1", OLD_PASSWORD, days_old=40)
    results, store = run(azure, vault, ["x-1"], max_age_days=30)
    assert (results["x-1"]["outcome"], results["x-1"]["reason"]) == ("failed", "extension_failed")
    secret = consistent(azure, vault, "x-1")
    assert vault.states(secret) == ["active", "failed"]
    assert store.report("x-1")["state"] == "failed" and store.report("x-1")["active_version"] == vault.versions(secret)[0]["version"]
    # Still due (the last reset failed): the next run generates another password, and it works once the guest does.
    azure.control.patch_vm(azure.sub, RG, "x-1", failure_mode="none")
    again, _store = run(azure, vault, ["x-1"], max_age_days=30)
    assert again["x-1"]["outcome"] == "changed" and vault.states(secret) == ["active", "failed", "active"]
    consistent(azure, vault, "x-1")


def test_an_interrupted_run_is_finished_with_the_same_password_and_no_second_put(azure, vault):
    """The run dies after the PUTs landed and before any version was made active (SIGTERM in a fleet run):
    the vault says pending while the guests have the new passwords. The next run resumes each pending version
    with its own password and run tag: the fingerprint matches, so no PUT; the version becomes active."""
    azure.seed(windows_vm("i-1"), windows_vm("i-2"))
    vault.seed_active("i-1", OLD_PASSWORD, days_old=40)
    vault.seed_active("i-2", OLD_PASSWORD, days_old=40)
    azure.control.add_fault(vm="i-2", action="drop_before", method="PUT", path="/extensions/")  # i-2's PUT never lands
    results, _store = run(azure, vault, ["i-1", "i-2"], max_age_days=30, finish=False, wait_timeout=20)
    assert results["i-1"]["outcome"] == "changed" and results["i-2"]["reason"] == "connection_error"
    azure.control.clear_faults()
    assert vault.states(vault.secret_of("i-1"))[-1] == "pending" and vault.states(vault.secret_of("i-2"))[-1] == "pending"
    pending_i1 = vault.versions(vault.secret_of("i-1"))[-1]
    assert azure.control.verify_password(azure.sub, RG, "i-1", "azureadmin", pending_i1["value"])  # the newest works only as pending
    azure.control.clear_requests()
    results, store = run(azure, vault, ["i-1", "i-2"], max_age_days=30)
    assert (results["i-1"]["outcome"], results["i-1"]["action"]) == ("ok", "none")   # the same reset already succeeded
    assert results["i-2"]["outcome"] == "changed"
    assert arm_puts(azure, "i-1") == [] and len(arm_puts(azure, "i-2")) == 1
    for name in ("i-1", "i-2"):
        secret = consistent(azure, vault, name)
        assert vault.states(secret) == ["active", "active"]  # no extra version: the pending one was finished
    assert store.report("i-1")["version"] == pending_i1["version"]


def test_an_unknown_outcome_stays_pending_and_the_next_run_follows_it(azure, vault):
    azure.seed(windows_vm("t-1", extension_duration_s=100))   # 2 s at the tests' time scale
    vault.seed_active("t-1", OLD_PASSWORD, days_old=40)
    results, store = run(azure, vault, ["t-1"], max_age_days=30, wait_timeout=0.3)
    assert results["t-1"]["reason"] == "operation_timeout"
    secret = vault.secret_of("t-1")
    assert vault.states(secret) == ["active", "pending"] and "unknown" in store.report("t-1")["note"]
    results, _store = run(azure, vault, ["t-1"], max_age_days=30, wait_timeout=60)
    assert results["t-1"]["outcome"] == "ok" and results["t-1"]["action"] in ("none", "wait")
    assert vault.states(secret) == ["active", "active"] and azure.vm("t-1")["run_count"] == 1
    consistent(azure, vault, "t-1")


def test_check_mode_reads_and_plans_but_writes_nothing(azure, vault):
    azure.seed(windows_vm("c-1"))
    vault.seed_active("c-1", OLD_PASSWORD, days_old=40)
    store = vault.store(check_mode=True)
    results, _store = run(azure, vault, ["c-1"], max_age_days=30, store=store, check_mode=True)
    assert results["c-1"]["outcome"] == "changed"
    assert vault.writes() == [] and azure.writes() == 0
    assert vault.states(vault.secret_of("c-1")) == ["active"]


def test_a_given_version_follows_the_protocol_and_another_vms_secret_is_refused(azure, vault):
    azure.seed(windows_vm("g-1"), windows_vm("g-2"))
    made = vault.control.set_key_vault_secret(vault.name, "g-1-admin", "Given-Passw0rd!2026", tags={"owner": "ops"})
    store = vault.store()
    target = VmTarget(host="g-1", ref=azure.ref("g-1"))
    store.use_existing(target, "g-1-admin", run_tag="R9")
    engine = azure.engine(ResetRequest(reset="password", password=STAND_IN, run_tag="R9"), before_submit=store.before_submit)
    result = engine.run([target])[0]
    assert result["outcome"] == "changed" and not store.finish([result])
    (version,) = vault.versions("g-1-admin")
    assert version["version"] == made["version"] and version["tags"]["state"] == "active"
    assert version["tags"]["owner"] == "ops" and version["tags"]["run_tag"] == "R9"   # the user's tags are kept
    assert azure.control.verify_password(azure.sub, RG, "g-1", "azureadmin", "Given-Passw0rd!2026")
    # The same version again: already this VM's active version, the same reset: no write anywhere.
    azure.control.clear_requests()
    store = vault.store()
    target = VmTarget(host="g-1", ref=azure.ref("g-1"))
    store.use_existing(target, "g-1-admin", run_tag="R9")
    again = azure.engine(ResetRequest(reset="password", password=STAND_IN, run_tag="R9"),
                         before_submit=store.before_submit).run([target])[0]
    assert (again["outcome"], again["action"]) == ("ok", "none") and not store.finish([again])
    assert vault.writes() == [] and azure.writes() == 0
    # Another VM may not take it: it is tagged for g-1.
    other = VmTarget(host="g-2", ref=azure.ref("g-2"))
    with pytest.raises(Exception) as caught:
        vault.store().use_existing(other, "g-1-admin")
    assert caught.value.reason == "secret_conflict"
