"""Bad input: generated module arguments and malformed Azure responses.

- Volume (hypothesis, in-process): arguments go through the module's own argument spec
  (AnsibleModule's validator, as Ansible would), then through the validation the module runs before
  any API call (target_vm + check_request). Every case ends accepted or as a VmAccessError with a
  known reason code; nothing else may escape. Azure responses (any JSON) go through the parsers.
- A sample through real ansible-playbook: each case fails with a reason code, no traceback, and the
  emulator sees no ARM request at all.
- Malformed responses from the emulator (fault rules with custom bodies): a clean failure with a reason.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import (
    NOT_A_FINITE_NUMBER,
    REASONS,
    VmAccessError,
    argument_check,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_extension, parse_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.views import extension_view, vm_view
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import (
    module_argument_spec,
    reset_request,
)

from tests.integration.fleet_helpers import PASSWORD, RG, seed, windows_vm

from .helpers import TRACEBACK, secret_hits

GROUP = "bad input"
COUNTS = {"args": 0, "args_rejected": 0, "responses": 0}

ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=10),   # control characters
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=100, max_size=3000),  # huge, unicode
    st.sampled_from(["", " ", "\x00", "../../etc", "a/b", "?x=1", "#frag", "%2F", "é" * 91, "null", "None",
                     "Wind0ws-Reset!2026", "azureadmin", "administrator", "INC-1", "2.4", "x" * 65]),
)
ANY_VALUE = st.one_of(ANY_TEXT, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
                      st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5),
                                                                                 max_size=2))
VM_IDS = st.one_of(
    ANY_TEXT,
    st.builds(lambda s, g, n: "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s"
              % (s, g, n), ANY_TEXT, ANY_TEXT, ANY_TEXT),
    st.sampled_from(["https://management.azure.com/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/"
                     "virtualMachines/z", "/subscriptions//resourceGroups//providers/Microsoft.Compute/virtualMachines/",
                     "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/networkInterfaces/z"]),
)
KEYS = ["reset", "resource_group", "vm_name", "vm_id", "username", "password", "allow_new_admin", "update_password",
        "run_tag", "force", "extension_name", "type_handler_version", "require_agent_ready", "agent_wait_timeout",
        "wait", "wait_timeout", "subscription_id", "cloud_environment", "auth_source"]


def _validator():
    return ArgumentSpecValidator(
        module_argument_spec(),
        mutually_exclusive=[("vm_id", "resource_group"), ("vm_id", "vm_name")],
        required_one_of=[("vm_id", "vm_name")],
        required_together=[("resource_group", "vm_name")],
        required_if=[("reset", "password", ("password",))],
    )


TYPED = {"allow_new_admin": st.booleans(), "force": st.booleans(), "require_agent_ready": st.booleans(),
         "wait": st.booleans(), "agent_wait_timeout": st.integers(-10, 10 ** 6), "wait_timeout": st.integers(-10, 10 ** 6),
         "update_password": st.sampled_from(["always", "on_change"]),
         "auth_source": st.sampled_from(["auto", "env", "credential_file", "cli", "msi", "workload_identity"])}
PASSWORDS = st.one_of(ANY_TEXT, st.text(alphabet=string.ascii_letters + string.digits + "!#_-@ ", min_size=8,
                                        max_size=130))


@st.composite
def module_args(draw):
    """Mostly well-typed arguments (so our own validation is reached), sometimes any type at all."""
    wild = draw(st.integers(0, 9)) == 0
    args = {"reset": draw(st.sampled_from(["password", "rdp"]) if not wild else st.one_of(st.just("rdp"), ANY_VALUE))}
    target = draw(st.sampled_from(["name", "id", "none", "both"]))
    if target in ("name", "both"):
        args["resource_group"], args["vm_name"] = draw(ANY_TEXT), draw(ANY_TEXT)
    if target in ("id", "both"):
        args["vm_id"] = draw(VM_IDS)
    for key in draw(st.lists(st.sampled_from(KEYS[4:]), unique=True, max_size=8)):
        if wild:
            args[key] = draw(ANY_VALUE)
        elif key == "password":
            args[key] = draw(PASSWORDS)
        else:
            args[key] = draw(TYPED.get(key, ANY_TEXT))
    if args["reset"] == "password" and not wild and draw(st.booleans()):
        args.setdefault("password", draw(PASSWORDS))
    return args


def _through_module_validation(args):
    """What the module does before its first API call: Ansible's spec check, then ours."""
    COUNTS["args"] += 1
    try:
        with argument_check():  # as the module wraps AnsibleModule(...)
            result = _validator().validate(args)
    except VmAccessError as error:
        assert error.reason == "invalid_argument" and error.message == NOT_A_FINITE_NUMBER
        COUNTS["args_rejected"] += 1
        return "ansible_argspec_not_finite"
    if result.error_messages:
        COUNTS["args_rejected"] += 1   # Ansible's own argument checks: a clean 'msg', no API call
        return "ansible_argspec"
    params = result.validated_parameters
    try:
        target_from_options(params["vm_id"], params["resource_group"], params["vm_name"])
        check_request(reset_request(params))
    except VmAccessError as error:
        assert error.reason in REASONS, error.reason
        assert error.message and PASSWORD not in error.message
        if isinstance(params.get("password"), str) and len(params["password"]) >= 4:
            assert params["password"] not in error.message
        COUNTS["args_rejected"] += 1
        return error.reason
    return "accepted"


def test_module_arguments_generated(soak, reliability):
    examples = 5000 if soak else 1000
    seen = {}

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(module_args())
    def check(args):
        outcome = _through_module_validation(args)
        seen[outcome] = seen.get(outcome, 0) + 1

    before = COUNTS["args"]
    check()
    tried = COUNTS["args"] - before
    assert tried >= examples * 0.9
    reliability.record(GROUP, "module arguments (hypothesis: types, unicode, huge, control chars, combinations, "
                              "malformed ids/URLs), in-process validation", cases=tried, outcomes=seen,
                       writes_per_vm="0 (validation runs before any client exists)")


JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(st.sampled_from(
                                                ["properties", "instanceView", "statuses", "code", "osProfile",
                                                 "storageProfile", "osDisk", "osType", "resources", "name", "id",
                                                 "extensions", "vmAgent", "type", "publisher", "forceUpdateTag",
                                                 "settings", "provisioningState", "typeHandlerVersion", "level",
                                                 "message", "adminUsername"]) | st.text(max_size=8), inner, max_size=6)),
                    max_leaves=30)


@pytest.mark.parametrize("doc", [
    {"properties": {"provisioningState": True}},          # found by the generated cases below
    {"properties": {"forceUpdateTag": 7, "provisioningState": "Succeeded"}},
    {"properties": {"autoUpgradeMinorVersion": "yes"}},
    {"name": ["x"], "properties": {}},
])
def test_extension_fields_of_the_wrong_type_are_unexpected_response(doc):
    with pytest.raises(VmAccessError) as caught:
        extension_view(parse_extension(doc))
    assert caught.value.reason == "unexpected_response"


@pytest.mark.parametrize("props", [{"provisioningState": False}, {"vmId": 1}, {"osProfile": {"adminUsername": 0}},
                                   {"storageProfile": {"osDisk": {"osType": {"a": 1}}}}])
def test_vm_fields_of_the_wrong_type_are_unexpected_response(props):
    with pytest.raises(VmAccessError) as caught:
        vm_view(parse_vm({"name": "vm", "properties": props}, VmRef("sub", "rg", "vm")))
    assert caught.value.reason == "unexpected_response"


def test_azure_documents_generated(soak, reliability):
    examples = 3000 if soak else 400
    seen = {}
    ref = VmRef("sub", "rg", "vm")

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(JSON)
    def check(doc):
        COUNTS["responses"] += 1
        try:
            vm = parse_vm(doc, ref)
            vm_view(vm)
            extension_view(vm.extension)
            outcome = "parsed"
        except VmAccessError as error:
            assert error.reason in REASONS
            outcome = error.reason
        try:
            extension_view(parse_extension(doc) if isinstance(doc, dict) else None)
        except VmAccessError as error:
            assert error.reason in REASONS
        seen[outcome] = seen.get(outcome, 0) + 1

    check()
    reliability.record(GROUP, "Azure VM / extension documents (hypothesis: any JSON shape) through the parsers",
                       cases=sum(seen.values()), outcomes=seen, writes_per_vm="-")


# -- through ansible-playbook: a reason code, no traceback, zero ARM requests ------------------------------------

LONG = "x" * 5000
PLAYBOOK_CASES = [
    ("bad vm_id", dict(vm_id="/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/nic/z", reset="rdp"),
     "invalid_argument"),
    ("vm_id is a URL", dict(vm_id="https://management.azure.com/subscriptions/x/resourceGroups/y/providers/"
                                  "Microsoft.Compute/virtualMachines/z", reset="rdp"), "invalid_argument"),
    ("vm_name with slash", dict(resource_group=RG, vm_name="a/b", reset="rdp"), "invalid_argument"),
    ("vm_name with control char", dict(resource_group=RG, vm_name="a\x01b", reset="rdp"), "invalid_argument"),
    ("huge vm_name", dict(resource_group=RG, vm_name=LONG, reset="rdp"), "invalid_argument"),
    ("resource_group with ?", dict(resource_group="rg?x=1", vm_name="v", reset="rdp"), "invalid_argument"),
    ("run_tag unicode", dict(resource_group=RG, vm_name="v", reset="rdp", run_tag="tické✓"), "invalid_argument"),
    ("run_tag too long", dict(resource_group=RG, vm_name="v", reset="rdp", run_tag="T" * 65), "invalid_argument"),
    ("run_tag newline", dict(resource_group=RG, vm_name="v", reset="rdp", run_tag="a\nb"), "invalid_argument"),
    ("rdp with password", dict(resource_group=RG, vm_name="v", reset="rdp", password=PASSWORD), "invalid_argument"),
    # Not the literal "password": Ansible's no_log masks the value wherever it appears, reason codes included.
    ("disallowed password", dict(resource_group=RG, vm_name="v", reset="password", password="P@ssw0rd"),
     "invalid_password"),
    ("short password", dict(resource_group=RG, vm_name="v", reset="password", password="Ab1!"), "invalid_password"),
    ("huge password", dict(resource_group=RG, vm_name="v", reset="password", password="Aa1!" + LONG),
     "invalid_password"),
    ("password without complexity", dict(resource_group=RG, vm_name="v", reset="password", password="a" * 20),
     "invalid_password"),
    ("password contains username", dict(resource_group=RG, vm_name="v", reset="password", username="Ops1",
                                        password="Ops1-Secret!9x"), "invalid_password"),
    ("username with control char", dict(resource_group=RG, vm_name="v", reset="password", username="adm\x07in",
                                        password=PASSWORD), "invalid_username"),
    ("username too long", dict(resource_group=RG, vm_name="v", reset="password", username="u" * 21,
                               password=PASSWORD), "invalid_username"),
    ("username reserved", dict(resource_group=RG, vm_name="v", reset="password", username="administrator",
                               password=PASSWORD), "invalid_username"),
    ("bad handler version", dict(resource_group=RG, vm_name="v", reset="rdp", type_handler_version="latest"),
     "invalid_argument"),
    ("vm_id and vm_name", dict(vm_id="/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z",
                               vm_name="z", reset="rdp"), None),
    ("nothing to target", dict(reset="rdp"), None),
    ("wrong type", dict(resource_group=RG, vm_name="v", reset="rdp", wait_timeout="soon"), None),
]


@pytest.mark.emulator
@pytest.mark.timeout(400)
def test_bad_arguments_through_ansible_playbook(fresh_emulator, run_tasks, reliability):
    emu = fresh_emulator
    emu.control.clear_requests()
    tasks = []
    for i, (_unused_label, args, _unused_reason) in enumerate(PLAYBOOK_CASES):
        task = {"name": "case %d" % i, "azure_ops.vm_access.vm_access_reset": args, "register": "c%d" % i}
        if "password" in args:
            task["no_log"] = True
        tasks.append(task)
    run = run_tasks(tasks, verbosity=3)
    assert TRACEBACK not in run.everything
    assert secret_hits(run.everything, [PASSWORD, emu.env["AZURE_SECRET"]]) == 0
    reasons = {}
    for i, (label, _unused_args, reason) in enumerate(PLAYBOOK_CASES):
        r = run.result("c%d" % i)
        assert r.get("failed") is True, (label, r)
        assert r.get("msg"), label
        if reason is None:   # Ansible's own argument checks (mutually exclusive, required, type)
            assert "reason" not in r or r["reason"] in REASONS, label
            got = r.get("reason", "ansible_argspec")
        else:
            assert r.get("reason") == reason, (label, r.get("reason"), r.get("msg"))
            got = reason
        reasons[got] = reasons.get(got, 0) + 1
    arm = [q for q in emu.control.requests() if q["kind"] in ("read", "write", "operation", "identity")]
    assert arm == [], arm[:3]
    reliability.record(GROUP, "invalid arguments through ansible-playbook (-vvv)", cases=len(PLAYBOOK_CASES),
                       outcomes=reasons, writes_per_vm="0 (no ARM or token request at all)")


# -- malformed Azure responses, through the module -------------------------------------------------------------

VM_GET = r"/virtualMachines/{vm}$"
RESPONSE_CASES = [
    ("VM GET: malformed JSON", dict(method="GET", path=VM_GET, status=200, body="{not json")),
    ("VM GET: HTML from a proxy", dict(method="GET", path=VM_GET, status=200, body="<html><body>Gateway</body></html>")),
    ("VM GET: empty object", dict(method="GET", path=VM_GET, status=200, body={})),
    ("VM GET: properties is a string", dict(method="GET", path=VM_GET, status=200, body={"properties": "x", "name": 5})),
    ("VM GET: a JSON list", dict(method="GET", path=VM_GET, status=200, body=[1, 2])),
    ("VM GET: 418 unexpected code", dict(method="GET", path=VM_GET, status=418, body={"error": {"code": "Teapot"}})),
    ("VM GET: 404 non-ARM body", dict(method="GET", path=VM_GET, status=404, body="nothing here")),
    ("VM GET: 400 without error body", dict(method="GET", path=VM_GET, status=400, body="")),
    ("PUT: 201 malformed JSON", dict(method="PUT", path="/extensions/", status=201, body="{\"properties\": ")),
    ("PUT: 409 unknown code", dict(method="PUT", path="/extensions/", status=409, body={"error": {"code": "Weird"}})),
    ("PUT: 200 empty body", dict(method="PUT", path="/extensions/", status=200, body={})),
    ("extension GET: malformed JSON", dict(method="GET", path="/extensions/", status=200, body="]")),
]


@pytest.mark.emulator
@pytest.mark.timeout(400)
def test_malformed_azure_responses(fresh_emulator, run_tasks, reliability):
    emu = fresh_emulator
    vms = [windows_vm("m-%02d" % i, rdp="broken") for i in range(len(RESPONSE_CASES))]
    sub = seed(emu, *vms)
    for i, (_unused_label, rule) in enumerate(RESPONSE_CASES):
        rule = dict(rule, path=rule["path"].format(vm="m-%02d" % i))
        emu.control.add_fault(action="status", vm="m-%02d" % i, **rule)
    tasks = [{"name": label, "register": "m%d" % i,
              "azure_ops.vm_access.vm_access_reset": dict(resource_group=RG, vm_name="m-%02d" % i, reset="rdp",
                                                          run_tag="T1", wait_timeout=30)}
             for i, (label, _unused_rule) in enumerate(RESPONSE_CASES)]
    run = run_tasks(tasks)
    assert TRACEBACK not in run.everything
    outcomes = {}
    for i, (label, _unused_rule) in enumerate(RESPONSE_CASES):
        r = run.result("m%d" % i)
        assert r.get("failed") is True, (label, r.get("changed"), r.get("extension"))
        assert r.get("reason") in REASONS, (label, r.get("reason"), r.get("msg"))
        assert r.get("reason") != "unexpected_error", (label, r.get("msg"))
        assert r.get("msg"), label
        outcomes[r["reason"]] = outcomes.get(r["reason"], 0) + 1
        # Never "succeeded" on a VM where nothing ran.
        assert emu.control.vm(sub, RG, "m-%02d" % i)["guest"]["rdp_enabled"] is False or r.get("failed")
    reliability.record(GROUP, "malformed / unexpected Azure responses (custom fault bodies), through the module",
                       cases=len(RESPONSE_CASES), outcomes=outcomes, writes_per_vm="<= 1 PUT, never reported changed")
