"""Bad input: generated module arguments and malformed Azure responses.

- Volume (hypothesis, in-process): arguments go through the module's own argument spec
  (AnsibleModule's validator, as Ansible would), then through the validation the module runs before
  any API call (target_vm + check_request). Every case ends accepted or as a VmAccessError with a
  known reason code; nothing else may escape. Azure responses (any JSON) go through the parsers.
- A list of bad arguments through the module's own main() in-process, and one of each kind through real
  ansible-playbook (e2e): each case fails with a reason code (or Ansible's own argument message), no
  traceback, no secret, and the emulator sees no request at all.
- Malformed responses from the emulator (fault rules with custom bodies), through the engine: a clean
  failure with a reason, and nothing ran in the guest.
"""

from __future__ import annotations

import json
import string
from collections import Counter

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
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest, check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import target_from_options
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.views import extension_view, vm_view
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import (
    module_argument_spec,
    reset_request,
)

from ansible_collections.azure_ops.vm_access.plugins.modules import vm_access_reset
from tests.engine import fixtures
from tests.integration.fleet_helpers import PASSWORD, RG, windows_vm

from .helpers import TRACEBACK, secret_hits

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
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


# -- the module's own main(): every bad argument case in-process; a representative set through ansible-playbook -----

LONG = "x" * 5000
BAD_ARGUMENTS = [
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
    # ansible-core <= 2.19 raises (not rejects) on this in its own int check
    ("infinite wait_timeout", dict(resource_group=RG, vm_name="v", reset="rdp", wait_timeout="inf"),
     "invalid_argument"),
    # Ansible's own argument checks (mutually exclusive, required, type): a clean msg, no reason code
    ("vm_id and vm_name", dict(vm_id="/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z",
                               vm_name="z", reset="rdp"), None),
    ("nothing to target", dict(reset="rdp"), None),
    ("wrong type", dict(resource_group=RG, vm_name="v", reset="rdp", wait_timeout="soon"), None),
]
# Through ansible-playbook: one case of each kind, what only a real run shows (no_log at -vvv, ansible-core's
# own int check raising inside the module process, Ansible's argument checks).
SMOKE = ("vm_name with control char", "disallowed password", "username with control char", "infinite wait_timeout",
         "vm_id and vm_name")


def _check_rejection(label, result, reason):
    assert result.get("failed") is True, (label, result)
    assert result.get("msg"), label
    if reason is None:   # Ansible's own argument checks: its message, and our reason code all the same
        assert result.get("reason") == "invalid_argument", (label, result)
        return "ansible_argspec"
    assert result.get("reason") == reason, (label, result.get("reason"), result.get("msg"))
    return reason


@pytest.mark.emulator
def test_bad_arguments_through_the_module_in_process(azure_run, reliability):
    """The module's own main() (argument spec, request checks, fail_json with no_log masking), without a process."""
    reasons = Counter()
    for label, args, reason in BAD_ARGUMENTS:
        result = azure_run.module(vm_access_reset.main, **args)
        reasons[_check_rejection(label, result, reason)] += 1
        assert secret_hits(json.dumps(result), [PASSWORD, azure_run.emulator.env["AZURE_SECRET"]]) == 0, label
    assert azure_run.control.requests() == []  # no metadata, token or ARM request at all
    reliability.record(GROUP, "invalid arguments through the module's main(), in-process", cases=len(BAD_ARGUMENTS),
                       outcomes=dict(reasons), writes_per_vm="0 (no ARM or token request at all)")


@pytest.mark.emulator
@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_bad_arguments_through_ansible_playbook(fresh_emulator, run_tasks, reliability):
    emu = fresh_emulator
    emu.control.clear_requests()
    cases = [case for case in BAD_ARGUMENTS if case[0] in SMOKE]
    assert len(cases) == len(SMOKE)
    tasks = []
    for i, (_label, args, _reason) in enumerate(cases):
        task = {"name": "case %d" % i, "azure_ops.vm_access.vm_access_reset": args, "register": "c%d" % i}
        if "password" in args:
            task["no_log"] = True
        tasks.append(task)
    run = run_tasks(tasks, verbosity=3)
    assert TRACEBACK not in run.everything
    assert secret_hits(run.everything, [PASSWORD, "P@ssw0rd", emu.env["AZURE_SECRET"]]) == 0
    reasons = Counter(_check_rejection(label, run.result("c%d" % i), reason)
                      for i, (label, _args, reason) in enumerate(cases))
    assert emu.control.requests() == []  # no metadata, token or ARM request at all
    reliability.record(GROUP, "invalid arguments through ansible-playbook (-vvv)", cases=len(cases),
                       outcomes=dict(reasons), writes_per_vm="0 (no ARM or token request at all)")


# -- malformed Azure responses, through the engine (one VM per run, as the module does) ---------------------------

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
@pytest.mark.timeout(120)
def test_malformed_azure_responses(azure_run, reliability):
    names = ["m-%02d" % i for i in range(len(RESPONSE_CASES))]
    azure_run.seed(*[windows_vm(name, rdp="broken") for name in names])
    outcomes = Counter()
    for name, (label, rule) in zip(names, RESPONSE_CASES):
        azure_run.control.add_fault(action="status", vm=name, **dict(rule, path=rule["path"].format(vm=name)))
        result = azure_run.one(name, ResetRequest(reset="rdp", run_tag="T1"), wait_timeout=30)
        # Never "changed" or "ok" (the module fails its task on both of these outcomes).
        assert result["outcome"] in ("failed", "skipped"), (label, result["outcome"], result["msg"])
        assert result["reason"] in REASONS and result["reason"] != "unexpected_error", (label, result["msg"])
        assert result["msg"], label
        # Changed only where a PUT was answered 2xx; without such an answer, nothing ran in the guest.
        accepted = any(200 <= status < 300 for status in azure_run.puts(name))
        assert accepted or not result["changed"], label
        assert azure_run.vm(name)["run_count"] <= (1 if accepted else 0), label
        outcomes[result["reason"]] += 1
    reliability.record(GROUP, "malformed / unexpected Azure responses (custom fault bodies), through the module",
                       cases=len(RESPONSE_CASES), outcomes=dict(outcomes),
                       writes_per_vm="<= 1 PUT; changed only where Azure accepted it, never outcome changed",
                       notes="in-process: the engine with one target per run, as the module runs it")


# A VM GET answered 200 with an empty document ({}: no storageProfile, no instance view) was once judged
# "not_windows", so a fleet skipped the VM as if it ran Linux and could end green. An answer without the OS type
# is malformed (Azure's VM GET always carries storageProfile.osDisk.osType), and the engine refuses to guess.
@pytest.mark.emulator
def test_a_vm_document_without_an_os_type_is_an_unexpected_response(azure_run):
    azure_run.seed(windows_vm("m-empty", rdp="broken"))
    azure_run.control.add_fault(action="status", vm="m-empty", method="GET", path=r"/virtualMachines/m-empty$",
                                status=200, body={})
    result = azure_run.one("m-empty", ResetRequest(reset="rdp", run_tag="T1"))
    assert (result["outcome"], result["reason"]) == ("failed", "unexpected_response"), result["msg"]
