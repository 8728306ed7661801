"""Windows user name and password rules (policy.py)."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import (
    DISALLOWED_PASSWORDS,
    DISALLOWED_USERNAMES,
    MAX_PASSWORD_LENGTH,
    check_password,
    check_username,
    password_problems,
    username_problems,
)

STRONG = "Correct-Horse-9"


# --------------------------------------------------------------------------------------------
# User names
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "azureuser", "ops.admin", "John Smith", "user#1", "x" * 20, "Ünal", "ops_admin-2", "j",
    "Administrator2", "%temp%",
])
def test_valid_usernames_pass(name):
    check_username(name)
    assert username_problems(name) == []


@pytest.mark.parametrize("name, fragment", [
    ("", "empty"),
    ("x" * 21, "at most 20"),
    ("ops.", "ends with a period"),
    ("...", "only of periods and spaces"),
    ("...", "only of periods and spaces"),
    (" azureuser", "white space"),
    ("azureuser ", "white space"),
    ("azure\tuser", "control character"),
    ("azure\x00user", "control character"),
    ("azure\u200buser", "invisible"),
    ("azure\u00a0user", "invisible"),
    ("azure\U0001F600", "emoji"),
    ("admin", "reserved"),
    ("Administrator", "reserved"),
])
def test_invalid_usernames_are_rejected_with_a_reason(name, fragment):
    with pytest.raises(VmAccessError) as caught:
        check_username(name)
    assert caught.value.reason == "invalid_username"
    assert fragment in caught.value.message
    assert caught.value.details["problems"]


@pytest.mark.parametrize("character", list('\\/"[]:|<>+=;,?*@'))
def test_every_forbidden_username_character_is_rejected(character):
    problems = username_problems("ops" + character + "x")
    assert len(problems) == 1
    assert character in problems[0]


def test_hash_is_allowed_in_usernames():
    # Documented decision: ARM, the CLI's own check and Windows accept '#'.
    assert username_problems("ops#1") == []


def test_non_text_username_is_rejected():
    assert username_problems(None) == ["The user name must be text."]
    with pytest.raises(VmAccessError) as caught:
        check_username(42)
    assert caught.value.reason == "invalid_username"


def test_disallowed_usernames_are_the_union_of_the_arm_and_cli_lists():
    cli_list = {
        "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1",
        "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "guest", "owner",
        "root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4",
        "user5",
    }
    assert cli_list | {"david", "john"} == set(DISALLOWED_USERNAMES)


@pytest.mark.parametrize("name", sorted(DISALLOWED_USERNAMES))
def test_every_disallowed_username_is_rejected(name):
    for variant in (name, name.upper(), name.title()):
        assert any("reserved" in problem for problem in username_problems(variant))


@given(
    name=st.sampled_from(sorted(DISALLOWED_USERNAMES)),
    flips=st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_disallowed_usernames_are_rejected_in_any_case(name, flips):
    variant = "".join(ch.upper() if flip else ch for ch, flip in zip(name, flips))
    with pytest.raises(VmAccessError) as caught:
        check_username(variant)
    assert caught.value.reason == "invalid_username"


# --------------------------------------------------------------------------------------------
# Passwords: single rules
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", [
    STRONG,
    "abcdefghijK1",  # exactly 12, three classes
    "Aa1" + "x" * (MAX_PASSWORD_LENGTH - 3),  # exactly 123
    "Zürich-Oper-7",  # non-ASCII letters are fine
    "Mot de passe 7",  # inner spaces are fine (upper, lower, digit)
    "lower_and_UPPER",  # '_' counts as special
    "ÉCOLE-été-xyz",  # upper and lower in another script with case
])
def test_strong_passwords_pass(password):
    check_password(password)
    assert password_problems(password) == []


@pytest.mark.parametrize("password, fragment", [
    ("Short-1a", "too short"),
    ("Aa1-" + "x" * MAX_PASSWORD_LENGTH, "too long"),
    ("alllowercase1", "3 of these 4 classes"),
    ("ALLUPPER-ONLY", "3 of these 4 classes"),
    ("Abcdefgh ijk", "3 of these 4 classes"),  # a space is no special character
    ("Abcdefgh€ijk", "3 of these 4 classes"),  # nor is a currency symbol (Windows' rule)
    ("Abcdefgh中ijk", "3 of these 4 classes"),  # nor a letter without case
    ("Abc\tdefgh123!", "control character"),
    ("Abc\x00defgh123!", "control character"),
    ("Abc\ndefgh123!", "control character"),
    ("Abc\u200bdefgh123!", "invisible"),
    ("Abc\u00a0defgh123!", "invisible"),
    ("Abc\ue000defgh123!", "invisible"),  # private use
    ("Abc\U0001F600defgh123!", "emoji"),
    (unicodedata.normalize("NFD", "Abcdéfgh123!"), "NFC"),
    (" Abcdefgh123!", "white space"),
    ("Abcdefgh123! ", "white space"),
])
def test_weak_or_untypeable_passwords_are_rejected(password, fragment):
    problems = password_problems(password)
    assert any(fragment in problem for problem in problems), problems
    with pytest.raises(VmAccessError) as caught:
        check_password(password)
    assert caught.value.reason == "invalid_password"
    assert caught.value.details["problems"] == problems


def test_empty_and_non_text_passwords_are_rejected():
    assert password_problems("") == ["The password is empty; give the new password."]
    assert password_problems(None) == ["The password must be text."]
    assert password_problems(b"Correct-Horse-9") == ["The password must be text."]


@pytest.mark.parametrize("password", sorted(DISALLOWED_PASSWORDS))
def test_disallowed_passwords_are_rejected_in_any_case_even_at_min_length_8(password):
    for variant in (password, password.upper(), password.swapcase(), password.title()):
        problems = password_problems(variant, min_length=8)
        assert any("forbidden common passwords" in problem for problem in problems), variant


def test_disallowed_password_list_matches_arm():
    expected = {"abc@123", "P@$$w0rd", "P@ssw0rd", "P@ssword123", "Pa$$word", "pass@word1", "Password!",
                "Password1", "Password22", "iloveyou!"}
    assert {value.casefold() for value in expected} == set(DISALLOWED_PASSWORDS)


def test_min_length_can_be_lowered_to_eight_but_not_below():
    assert password_problems("Abcdef1!", min_length=8) == []
    assert any("too short" in problem for problem in password_problems("Abcdef1!"))
    for bad in (7, 124, "12", 12.0, True, None):
        with pytest.raises(VmAccessError) as caught:
            password_problems(STRONG, min_length=bad)
        assert caught.value.reason == "invalid_argument"


def test_min_length_is_named_in_the_message():
    assert "use 14 to 123 characters" in " ".join(password_problems("Abcdef-12345", min_length=14))


@pytest.mark.parametrize("username", ["azureuser", "AZUREUSER", "AzureUser"])
def test_password_must_not_contain_the_username_case_insensitively(username):
    problems = password_problems("My-azureUser-2024", username=username)
    assert problems == ["The password contains the user name, which Windows refuses; choose one without it."]


def test_username_rule_skips_short_names_and_missing_names():
    assert password_problems("My-ab-Password-9", username="ab") == []
    assert password_problems("My-ab-Password-9", username=None) == []
    assert password_problems("My-ab-Password-9", username=7) == []


def test_username_is_not_quoted_in_password_problems():
    # The password contains the user name, so quoting the name would quote the password.
    password = "Xq-opsadmin-77"
    message = " ".join(password_problems(password, username="opsadmin"))
    assert "opsadmin" not in message
    with pytest.raises(VmAccessError) as caught:
        check_password(password, username="opsadmin")
    assert "opsadmin" not in caught.value.message
    assert "opsadmin" not in str(caught.value.to_result())


def test_all_problems_are_reported_together():
    problems = password_problems(" abc\t")
    assert len(problems) >= 4  # too short, classes, control character, white space


# --------------------------------------------------------------------------------------------
# Passwords: properties
# --------------------------------------------------------------------------------------------

USERNAME = "opsadmin"

# Passwords that, between them, break every rule; their problems are the whole vocabulary of
# messages. Any message for another password must come from this vocabulary, so it cannot
# carry anything of that password.
REFERENCE_PASSWORDS = [
    "", "short", "a" * 200, "Aa1-" + "x" * 200, "abcdefghijklm", "Abc\tdefgh123!", "Abc\u200bdefgh123!",
    "Abc\U0001F600defgh123!", "Abc\U000E0001defgh123!", unicodedata.normalize("NFD", "Abcdéfgh123!"),
    " Abcdefgh123!", "P@ssw0rd", "P@ssword123", "x-opsadmin-Y1", "\t", "\u200b", "\U0001F600",
    "\x00\U0001F600 ", "\U000E0001 ",
]


def _vocabulary(min_length):
    messages = set()
    for password in REFERENCE_PASSWORDS:
        messages.update(password_problems(password, username=USERNAME, min_length=min_length))
    return messages


VOCABULARY = {length: _vocabulary(length) for length in (8, 12)}


def _four_grams(text):
    return {text[i:i + 4] for i in range(len(text) - 3)}


@settings(max_examples=400)
@given(password=st.text(max_size=160), min_length=st.sampled_from([8, 12]))
def test_problems_never_contain_the_password_or_a_fragment_of_it(password, min_length):
    problems = password_problems(password, username=USERNAME, min_length=min_length)
    vocabulary = VOCABULARY[min_length]
    assert set(problems) <= vocabulary
    known_text = "\n".join(vocabulary)
    joined = "\n".join(problems)
    if len(password) >= 4:
        assert password not in joined or password in known_text
    for gram in _four_grams(password):
        assert gram not in joined or gram in known_text


@given(canary=st.text(alphabet=string.ascii_letters + string.digits, min_size=6, max_size=12))
def test_a_canary_inside_a_rejected_password_never_reaches_the_error(canary):
    fixed_text = "\n".join(VOCABULARY[12]) + "\nreason msg problems invalid_password The password was not sent to Azure:"
    assume(canary.casefold() not in fixed_text.casefold())
    for password in (canary, "\t" + canary, canary + " ", "x-" + USERNAME + canary):
        try:
            check_password(password, username=USERNAME)
        except VmAccessError as error:
            assert canary not in str(error.to_result())
            assert canary not in error.message


def _strong_passwords():
    lower = st.sampled_from(string.ascii_lowercase)
    upper = st.sampled_from(string.ascii_uppercase)
    digit = st.sampled_from(string.digits)
    special = st.sampled_from(string.punctuation)
    any_class = st.sampled_from(string.ascii_letters + string.digits + string.punctuation)

    @st.composite
    def build(draw):
        length = draw(st.integers(min_value=12, max_value=MAX_PASSWORD_LENGTH))
        required = [draw(lower), draw(upper), draw(digit), draw(special)]
        rest = draw(st.lists(any_class, min_size=length - 4, max_size=length - 4))
        characters = draw(st.permutations(required + rest))
        return "".join(characters)

    return build()


@given(password=_strong_passwords())
def test_strong_generated_passwords_pass(password):
    assume(password.casefold() not in DISALLOWED_PASSWORDS)
    assume(USERNAME not in password.casefold())
    assert password_problems(password, username=USERNAME) == []
    check_password(password, username=USERNAME)


@given(password=st.text(max_size=200), username=st.one_of(st.none(), st.text(max_size=30)))
def test_password_problems_never_raise_for_any_text(password, username):
    problems = password_problems(password, username=username)
    assert isinstance(problems, list)
    assert all(isinstance(problem, str) and problem for problem in problems)


@given(username=st.text(max_size=40))
def test_username_problems_never_raise_and_agree_with_check(username):
    problems = username_problems(username)
    if problems:
        with pytest.raises(VmAccessError):
            check_username(username)
    else:
        check_username(username)
        assert 1 <= len(username) <= 20
