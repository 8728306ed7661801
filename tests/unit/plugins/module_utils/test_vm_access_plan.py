"""The planning decisions table: what a run sends (or not), from one VM read. Pure, no Azure."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.plan import plan_reset
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest, check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

from .vm_docs import vm_doc, vmaccess

PASSWORD = "Tr0ub4dor&3-horse"


def fast_password_fp(password, vm_id, username, run_tag=None, kind=fp.KIND_PASSWORD):
    # Stand-in with the same inputs as the real KDF, so tables run fast.
    return fp.Fingerprint(kind, 0, "%s|%s|%s|%s|%s" % (kind, len(password), vm_id.lower(), username.lower(), run_tag))


def plan(doc, **request):
    return plan_reset(parse_vm(doc), ResetRequest(**request), password_fingerprint=fast_password_fp)


def pw_tag(doc, username="azureadmin", run_tag=None, attempt=0):
    vm = parse_vm(doc)
    f = fast_password_fp(PASSWORD, vm.id, username, run_tag)
    return fp.Fingerprint(f.kind, attempt, f.digest).tag()


def test_no_extension_creates_default_instance():
    p = plan(vm_doc(), reset="rdp", run_tag="INC1")
    assert p.action == "created" and p.extension_name == "enablevmaccess"
    props = p.body["properties"]
    assert props["typeHandlerVersion"] == "2.4" and props["autoUpgradeMinorVersion"] is True
    assert props["settings"] == {} and props["forceUpdateTag"] == "azops:v1:rdp:0:INC1"
    assert "protectedSettings" not in props  # the password is added only at PUT time


def test_existing_instance_reused_with_its_name_and_higher_version():
    doc = vm_doc(extension=vmaccess(name="myVMAccess", version="2.5"))
    p = plan(doc, reset="rdp", run_tag="INC1", extension_name="enablevmaccess")
    assert p.extension_name == "myVMAccess"
    assert p.body["properties"]["typeHandlerVersion"] == "2.5"
    assert p.warnings and "myVMAccess" in p.warnings[0]


@pytest.mark.parametrize("existing, requested", [("2.4.9", "2.4"), ("2.5.3", "2.5"), ("2.3", "2.4"), ("2.0.2", "2.4")])
def test_the_requested_version_is_always_major_minor(existing, requested):
    # A model version read back as a build (or a build seen elsewhere) is never asked for as such.
    p = plan(vm_doc(extension=vmaccess(version=existing)), reset="rdp", run_tag="INC1")
    assert p.body["properties"]["typeHandlerVersion"] == requested


def test_no_warning_about_the_name_unless_the_user_named_one():
    p = plan(vm_doc(extension=vmaccess(name="myVMAccess")), reset="rdp", run_tag="INC1")
    assert p.extension_name == "myVMAccess" and p.warnings == []


def test_lower_existing_version_is_upgraded_to_default():
    p = plan(vm_doc(extension=vmaccess(version="2.0")), reset="rdp", run_tag="INC1")
    assert p.body["properties"]["typeHandlerVersion"] == "2.4" and p.action == "updated"


def test_rdp_same_run_tag_after_success_is_a_no_op():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:0:INC1"))
    assert plan(doc, reset="rdp", run_tag="INC1").action == "none"


def test_rdp_new_run_tag_reruns():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:0:INC1"))
    p = plan(doc, reset="rdp", run_tag="INC2")
    assert p.action == "rerun" and p.body["properties"]["forceUpdateTag"] == "azops:v1:rdp:0:INC2"


def test_rdp_without_run_tag_always_runs_with_a_new_tag():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:0:INC1"))
    first, second = plan(doc, reset="rdp"), plan(doc, reset="rdp")
    assert first.action == "rerun" and first.fingerprint.kind == fp.KIND_RANDOM
    assert first.body["properties"]["forceUpdateTag"] != second.body["properties"]["forceUpdateTag"]


def test_force_reruns_a_succeeded_reset():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:0:INC1"))
    p = plan(doc, reset="rdp", run_tag="INC1", force=True)
    assert p.action == "rerun" and p.body["properties"]["forceUpdateTag"] != "azops:v1:rdp:0:INC1"


def test_failed_run_is_retried_with_a_different_tag():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:3:INC1", state="Failed", level="Error"))
    p = plan(doc, reset="rdp", run_tag="INC1")
    assert p.action == "rerun" and p.body["properties"]["forceUpdateTag"] == "azops:v1:rdp:4:INC1"


def test_same_reset_in_progress_is_waited_for_not_repeated():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:0:INC1", state="Updating"))
    p = plan(doc, reset="rdp", run_tag="INC1")
    assert p.action == "wait" and not p.needs_put


def test_password_defaults_to_vm_admin_and_is_idempotent():
    doc = vm_doc()
    p = plan(doc, reset="password", password=PASSWORD)
    assert p.action == "created" and p.username == "azureadmin"
    assert p.body["properties"]["settings"] == {"UserName": "azureadmin"}
    done = vm_doc(extension=vmaccess(tag=pw_tag(doc), settings={"UserName": "azureadmin"}))
    assert plan(done, reset="password", password=PASSWORD).action == "none"
    assert plan(done, reset="password", password=PASSWORD + "x").action == "rerun"
    assert plan(done, reset="password", password=PASSWORD, update_password="always").action == "rerun"
    assert plan(done, reset="password", password=PASSWORD, run_tag="NEW").action == "rerun"


def test_password_after_rdp_reset_changes_settings():
    doc = vm_doc(extension=vmaccess(tag="azops:v1:rdp:0:INC1"))
    p = plan(doc, reset="password", password=PASSWORD)
    assert p.action == "updated"


def test_foreign_tag_is_never_taken_as_ours():
    doc = vm_doc(extension=vmaccess(tag="True", settings={"UserName": "azureadmin"}))
    assert plan(doc, reset="password", password=PASSWORD).action == "rerun"


def test_new_admin_needs_allow_new_admin():
    with pytest.raises(VmAccessError) as err:
        plan(vm_doc(), reset="password", username="breakglass", password=PASSWORD)
    assert err.value.reason == "new_admin_not_allowed"
    p = plan(vm_doc(), reset="password", username="breakglass", password=PASSWORD, allow_new_admin=True)
    assert p.body["properties"]["settings"] == {"UserName": "breakglass"}
    # The admin's own name in another case is the same account.
    assert plan(vm_doc(), reset="password", username="AzureAdmin", password=PASSWORD).action == "created"


@pytest.mark.parametrize("kwargs, reason", [
    (dict(os_type="Linux"), "not_windows"),
    (dict(power="deallocated"), "vm_not_running"),
    (dict(power="stopped"), "vm_not_running"),
    (dict(allow_extensions=False), "extensions_disallowed"),
])
def test_preflight_refusals(kwargs, reason):
    with pytest.raises(VmAccessError) as err:
        plan(vm_doc(**kwargs), reset="rdp", run_tag="INC1")
    assert err.value.reason == reason


def test_password_containing_the_default_username_is_refused_after_the_read():
    with pytest.raises(VmAccessError) as err:
        plan(vm_doc(admin="azureadmin"), reset="password", password="xX9!azureadmin!")
    assert err.value.reason == "invalid_password"


@pytest.mark.parametrize("request_kwargs, reason", [
    (dict(reset="password"), "invalid_password"),
    (dict(reset="password", password="short"), "invalid_password"),
    (dict(reset="password", password=PASSWORD, username="admin"), "invalid_username"),
    (dict(reset="password", password=PASSWORD, username="bad/name"), "invalid_username"),
    (dict(reset="rdp", password=PASSWORD), "invalid_argument"),
    (dict(reset="rdp", run_tag="has space"), "invalid_argument"),
    (dict(reset="rdp", type_handler_version="latest"), "invalid_argument"),
    (dict(reset="reboot"), "invalid_argument"),
])
def test_input_rejected_before_any_api_call(request_kwargs, reason):
    with pytest.raises(VmAccessError) as err:
        check_request(ResetRequest(**request_kwargs))
    assert err.value.reason == reason
    assert PASSWORD not in err.value.message


def test_diff_shows_password_as_changed_and_never_the_tag_digest():
    p = plan(vm_doc(), reset="password", password=PASSWORD)
    assert p.after["password"] == "<changed>"
    assert p.after["reset_fingerprint"] == "password"
    assert all(PASSWORD not in str(v) for v in p.after.values())


def test_parse_vm_reads_agent_power_and_extension():
    vm = parse_vm(vm_doc(agent="Not Ready", extension=vmaccess(name="myVMAccess", version="2.4.9")))
    assert vm.is_windows and vm.is_running and not vm.agent_ready
    assert vm.extension.name == "myVMAccess" and vm.extension.running_version == "2.4.9.11"
    assert vm.extension.succeeded


def test_password_set_by_an_older_release_is_recognised_after_upgrade():
    doc = vm_doc()
    vm = parse_vm(doc)
    old = fast_password_fp(PASSWORD, vm.id, "azureadmin", kind=fp.KIND_PASSWORD_V1)
    done = vm_doc(extension=vmaccess(tag=old.tag(), settings={"UserName": "azureadmin"}))
    same = plan(done, reset="password", password=PASSWORD)
    assert same.action == "none" and same.fingerprint == old
    changed = plan(done, reset="password", password=PASSWORD + "x")
    assert changed.action == "rerun" and changed.fingerprint.kind == fp.KIND_PASSWORD
    assert changed.body["properties"]["forceUpdateTag"].startswith("azops:v1:pw2:0:")
