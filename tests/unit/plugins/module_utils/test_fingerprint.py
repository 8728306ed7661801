"""The reset fingerprint: stable for the same reset, different otherwise, slow and non-reversible."""

import time

from hypothesis import given, settings, strategies as st

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp

VM_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"


def test_same_password_same_fingerprint():
    a = fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin", "T1")
    b = fp.password_fingerprint("Correct-Horse-9", VM_ID.upper(), "AzureAdmin", "T1")
    assert a == b and a.same_reset(b)


def test_any_salt_input_changes_fingerprint():
    base = fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin", "T1")
    assert not base.same_reset(fp.password_fingerprint("Correct-Horse-8", VM_ID, "azureadmin", "T1"))
    assert not base.same_reset(fp.password_fingerprint("Correct-Horse-9", VM_ID + "x", "azureadmin", "T1"))
    assert not base.same_reset(fp.password_fingerprint("Correct-Horse-9", VM_ID, "other", "T1"))
    assert not base.same_reset(fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin", "T2"))


def test_tag_round_trip_and_attempts():
    first = fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin")
    parsed = fp.parse_tag(first.tag())
    assert parsed == first
    retry = parsed.next_attempt()
    assert retry.tag() != first.tag() and retry.same_reset(first) and retry.attempt == 1


def test_tag_never_contains_the_password():
    password = "Correct-Horse-9"
    tag = fp.password_fingerprint(password, VM_ID, "azureadmin").tag()
    assert password not in tag and password.lower() not in tag.lower()
    assert len(tag) < 64


def test_kdf_cost_parameters_are_slow_on_purpose():
    # Documented cost: scrypt N*p = 2**15 block mixes of r=8 per guess, for every password kind.
    for n, r, p in fp.PASSWORD_KDFS.values():
        assert n * p >= 2 ** 15 and r >= 8
    assert (fp.SCRYPT_N, fp.SCRYPT_R, fp.SCRYPT_P) == fp.PASSWORD_KDFS[fp.KIND_PASSWORD]
    assert 128 * fp.SCRYPT_N * fp.SCRYPT_R == 16 * 2 ** 20  # 16 MiB per evaluation
    started = time.perf_counter()
    fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin")
    assert time.perf_counter() - started > 0.005  # far slower than a plain hash; no upper bound asserted


def test_foreign_and_missing_tags():
    assert fp.parse_tag("True") is None
    assert fp.parse_tag(None) is None
    assert fp.describe_tag("True") == "foreign"
    assert fp.describe_tag(None) == "none"
    assert fp.describe_tag(fp.rdp_fingerprint("INC1").tag()) == "rdp"
    assert fp.describe_tag(fp.random_fingerprint().tag()) == "random"


def test_random_fingerprints_differ():
    assert fp.random_fingerprint().tag() != fp.random_fingerprint().tag()


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=64))
def test_run_tag_validation_never_crashes(tag):
    assert fp.valid_run_tag(tag) in (True, False)
    if fp.valid_run_tag(tag):
        assert fp.parse_tag(fp.rdp_fingerprint(tag).tag()).digest == tag


def test_tags_written_by_release_0_1_0_are_still_understood():
    # A tag exactly as 0.1.0 wrote it (scrypt N=2**15 r=8 p=1) for this password, VM, user, run tag.
    tag_0_1_0 = "azops:v1:pw:0:MG5pCAxibIokQWs1dlO_dsTx2xG4nRQr"
    parsed = fp.parse_tag(tag_0_1_0)
    assert parsed.kind == fp.KIND_PASSWORD_V1 and fp.describe_tag(tag_0_1_0) == "password"
    legacy = fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin", "T1", kind=fp.KIND_PASSWORD_V1)
    assert legacy.tag() == tag_0_1_0
    current = fp.password_fingerprint("Correct-Horse-9", VM_ID, "azureadmin", "T1")
    assert current.kind == fp.KIND_PASSWORD and current.tag().startswith("azops:v1:pw2:0:")
    assert not current.same_reset(parsed)  # another KDF: only the legacy kind can confirm the old tag
