"""rdp_options: the values no VM could use are rejected (invalid_argument) before any Azure call."""

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.rdp_argspecs import (
    check_spec,
    fleet_spec,
    rdp_options,
    repair_spec,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


def params(**overrides):
    """What AnsibleModule hands over for vm_rdp_repair with its defaults."""
    values = dict((name, spec.get("default")) for name, spec in repair_spec().items())
    values.update(overrides)
    return values


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_a_port_outside_tcp_is_rejected(port):
    with pytest.raises(VmAccessError) as caught:
        rdp_options(params(rdp_port=port), repair=True, check_mode=False)
    assert caught.value.reason == "invalid_argument" and "rdp_port" in caught.value.message


@pytest.mark.parametrize("port", [1, 3389, 3390, 65535])
def test_a_tcp_port_passes(port):
    assert rdp_options(params(rdp_port=port), repair=True, check_mode=False).rdp_port == port


@pytest.mark.parametrize("source", ["", "   ", "internet-ish", "AzureLoadBalancer", "10.0.0.0/33", "10.0.0.300",
                                    "203.0.113.0/24/1", "2001:db8::/129", None])
def test_a_bad_source_address_is_rejected(source):
    with pytest.raises(VmAccessError) as caught:
        rdp_options(params(source_address=source), repair=False, check_mode=False)
    assert caught.value.reason == "invalid_argument" and "source_address" in caught.value.message


@pytest.mark.parametrize("source, kept", [
    ("Internet", "Internet"), ("internet", "internet"), ("VirtualNetwork", "VirtualNetwork"), ("*", "*"),
    ("203.0.113.7", "203.0.113.7"), ("203.0.113.0/24", "203.0.113.0/24"), ("203.0.113.7/24", "203.0.113.7/24"),
    ("2001:db8::/32", "2001:db8::/32"), ("  203.0.113.0/24 ", "203.0.113.0/24"),
])
def test_a_good_source_address_passes_stripped(source, kept):
    assert rdp_options(params(source_address=source), repair=False, check_mode=False).source_address == kept


def test_the_port_is_checked_before_the_source():
    with pytest.raises(VmAccessError, match="rdp_port"):
        rdp_options(params(rdp_port=0, source_address="nonsense"), repair=False, check_mode=False)


def test_a_repair_always_checks_the_guest():
    # Repairs are chosen from the guest's view, so guest_checks is implied.
    options = rdp_options(params(guest_checks=False), repair=True, check_mode=True)
    assert (options.repair, options.guest_checks, options.check_mode) == (True, True, True)
    diagnose = rdp_options(dict(params(), guest_checks=False), repair=False, check_mode=False)
    assert diagnose.guest_checks is False


def test_the_options_carry_the_parameters():
    options = rdp_options(params(allow_disable_nla=True, run_tag="INC0042", wait_timeout=900, poll_interval=2.5),
                          repair=True, check_mode=False, effective_rules=True, max_workers=4)
    assert (options.allow_disable_nla, options.run_tag, options.wait_timeout, options.poll_interval,
            options.effective_rules, options.max_workers) == (True, "INC0042", 900, 2.5, True, 4)


def test_the_defaults_of_the_three_specs():
    for spec, wait in ((check_spec(), 600), (repair_spec(), 1800), (fleet_spec(), 1800)):
        assert spec["source_address"]["default"] == "Internet" and spec["rdp_port"]["default"] == 3389
        assert spec["wait_timeout"]["default"] == wait
    assert check_spec()["guest_checks"]["default"] is False and repair_spec()["allow_disable_nla"]["default"] is False
