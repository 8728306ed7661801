"""How the azure_vms inventory fails (in-process): a reason code, no traceback, no secret, no partial hosts.

Nothing parsed makes InventoryManager raise (``ANSIBLE_INVENTORY_UNPARSED_FAILED=true``, as
ansible-inventory then exits non-zero); the plugin's own exception, which InventoryManager shows
as a warning, is checked for its type and text.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleOptionsError, AnsibleParserError

from .fleet import SUB_B, SUB_C, three_subs

pytestmark = pytest.mark.emulator

NOTHING_PARSED = "No inventory was parsed, please check your configuration and options."
UNKNOWN_SUBSCRIPTION = "99999999-9999-4999-8999-999999999999"


def assert_clean_failure(run, reason, secret=None):
    """Nothing parsed; the plugin raised its own AnsibleParserError, with the reason code first and
    nothing chained (so no traceback of another exception); the secret appears nowhere."""
    assert run.inventory is None and str(run.error) == NOTHING_PARSED, run.output
    error = run.plugin_error
    assert error.__class__ is AnsibleParserError, repr(error)  # exactly the plugin's own error, no subclass
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert str(error).startswith("azure_vms [%s]: " % reason), str(error)
    assert "azure_vms [%s]" % reason in run.output
    assert "Traceback" not in run.output
    if secret:
        assert secret not in run.output and secret not in str(error)


def test_wrong_secret(seeded, parse_inventory):
    emulator, sub_a = seeded
    bad = "Not-The-Secret~123456"
    run = parse_inventory(three_subs(sub_a), env={"AZURE_SECRET": bad})
    assert_clean_failure(run, "authentication_failed", bad)
    assert run.arm == []


def test_secret_in_config_is_never_printed(seeded, parse_inventory):
    emulator, sub_a = seeded
    bad = "Config-Secret~987654"
    run = parse_inventory(three_subs(sub_a, client_id=emulator.env["AZURE_CLIENT_ID"], secret=bad,
                                     tenant=emulator.env["AZURE_TENANT"]), verbosity=3)
    assert_clean_failure(run, "authentication_failed", bad)
    assert "declined parsing" in run.output  # what InventoryManager shows at -vvv: the run was verbose


def test_missing_subscription(seeded, parse_inventory):
    emulator, _sub_a = seeded
    run = parse_inventory({}, env={"AZURE_SUBSCRIPTION_ID": None})
    assert_clean_failure(run, "missing_subscription", emulator.env["AZURE_SECRET"])
    # With explicit subscriptions the auth subscription is not needed.
    ok = parse_inventory({"subscriptions": [SUB_C]}, env={"AZURE_SUBSCRIPTION_ID": None})
    assert ok.error is None and ok.hosts == {"lab-01", "lab-02"}


def test_unknown_subscription_fails_the_whole_inventory(seeded, parse_inventory):
    emulator, sub_a = seeded
    config = {"subscriptions": [sub_a, UNKNOWN_SUBSCRIPTION]}
    run = parse_inventory(config)
    assert_clean_failure(run, "subscription_not_found", emulator.env["AZURE_SECRET"])
    assert UNKNOWN_SUBSCRIPTION in str(run.plugin_error)
    # Never a partial host list: with unparsed sources allowed, the inventory has no host at all.
    kept = parse_inventory(config, unparsed_is_failed=False)
    assert kept.error is None and kept.hosts == set()
    assert "azure_vms [subscription_not_found]" in kept.output


def test_principal_without_access_to_one_subscription(seeded, parse_inventory):
    emulator, sub_a = seeded
    principal = emulator.control.add_principal(secret="Reader-Secret~2468", roles={sub_a: "Reader"},
                                               name="reader-a")
    env = {"AZURE_CLIENT_ID": principal["client_id"], "AZURE_SECRET": "Reader-Secret~2468"}
    only_a = parse_inventory({"subscriptions": [sub_a]}, env=env)
    assert only_a.error is None and len(only_a.hosts) == 7
    both = parse_inventory({"subscriptions": [sub_a, SUB_B]}, env=env)
    assert_clean_failure(both, "authorization_failed", "Reader-Secret~2468")


def test_option_outside_the_documented_choices(seeded, parse_inventory):
    run = parse_inventory({"power_states": ["runing"]})
    # Checked by ansible-core against the documented choices, before any call.
    assert run.inventory is None and str(run.error) == NOTHING_PARSED
    assert isinstance(run.plugin_error, AnsibleOptionsError)
    assert str(run.plugin_error).startswith("Invalid value ['runing'] for config 'power_states'")
    assert "Traceback" not in run.output and run.requests == []


def test_empty_power_states(seeded, parse_inventory):
    run = parse_inventory({"power_states": []})
    assert_clean_failure(run, "invalid_argument")
    assert run.requests == []


def test_file_name_of_another_plugin_is_not_parsed(seeded, parse_inventory):
    run = parse_inventory({}, name="fleet.azure_rm.yml")
    assert run.inventory is None and str(run.error) == NOTHING_PARSED
    assert "could not be verified by inventory plugin 'azure_ops.vm_access.azure_vms'" in str(run.plugin_error)
    assert run.requests == []
