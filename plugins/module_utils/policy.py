# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows user name and password rules, checked on the controller before any API call.

ARM does not validate what VMAccess receives (user name and password travel in opaque
settings), so a bad value would only fail minutes later inside the guest. These checks mirror
Azure's osProfile rules for Windows VMs, the Azure CLI's checks and Windows' own password
complexity rule, and where those differ they take the stricter reading, so that a password we
accept is one the guest accepts too. A rejected password never leaves the controller.

Decisions where the sources leave a choice:

* ``#`` is allowed in user names. The CLI's error text lists it, but the CLI's own check, ARM's
  osProfile rule and Windows all accept it.
* Complexity counts what Windows' complexity rule counts: lower-case letters, upper-case letters
  (any script with case), the digits 0-9, and ASCII punctuation (which includes ``_``). A space,
  currency symbols and other non-ASCII symbols are allowed but count towards no class, because
  Windows does not count them either.
* Characters a person cannot type at a Windows sign-in are rejected: control characters (NUL,
  tab, newline...), invisible or unassigned code points, characters outside the Basic
  Multilingual Plane (emoji...), and text not in Unicode NFC form (a decomposed "e" + accent
  looks like "e" with accent but is a different password). Leading or trailing spaces are
  rejected as almost always a copy-and-paste accident.
* Problem messages never quote the password, any part of it, its length, or the user name
  (the password may contain the user name, so quoting it would quote the password).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import string
import unicodedata

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

MAX_USERNAME_LENGTH = 20
MAX_PASSWORD_LENGTH = 123
DEFAULT_MIN_PASSWORD_LENGTH = 12  # what the portal and the Azure CLI enforce
LOWEST_MIN_PASSWORD_LENGTH = 8  # ARM's osProfile minimum for Windows
USERNAME_FORBIDDEN_CHARACTERS = '\\/"[]:|<>+=;,?*@'
PASSWORD_SPECIAL_CHARACTERS = frozenset(string.punctuation)  # Windows' list: all ASCII punctuation

# Casefolded. The union of ARM's osProfile list and the Azure CLI's list (the CLI's lacks
# "david" and "john").
DISALLOWED_USERNAMES = frozenset((
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1",
    "1", "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david",
    "guest", "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys",
    "test2", "test3", "user4", "user5",
))

# Casefolded. ARM's osProfile list of passwords refused at VM creation.
DISALLOWED_PASSWORDS = frozenset(value.casefold() for value in (
    "abc@123", "P@$$w0rd", "P@ssw0rd", "P@ssword123", "Pa$$word", "pass@word1", "Password!",
    "Password1", "Password22", "iloveyou!",
))

_CLASS_NAMES = "lower-case letters, upper-case letters, digits 0-9, special characters such as ! # _ -"


# ---------------------------------------------------------------------------------------------
# User names
# ---------------------------------------------------------------------------------------------

def check_username(username):
    """Raise VmAccessError("invalid_username") when Windows or Azure would refuse the name."""
    problems = username_problems(username)
    if problems:
        raise VmAccessError("invalid_username", " ".join(problems), problems=problems)


def username_problems(username):
    """Every rule the user name breaks, as sentences saying what to change."""
    if not isinstance(username, str):
        return ["The user name must be text."]
    if username == "":
        return ["The user name is empty; give the name of a local Windows account."]
    problems = []
    if len(username) > MAX_USERNAME_LENGTH:
        problems.append("The user name is {0} characters long; Windows allows at most {1}.".format(
            len(username), MAX_USERNAME_LENGTH))
    forbidden = _forbidden_username_characters(username)
    if forbidden:
        problems.append(
            "The user name contains {0}; Windows account names cannot contain any of {1}.".format(
                " ".join(forbidden), " ".join(USERNAME_FORBIDDEN_CHARACTERS)))
    if any(_is_control(ch) for ch in username):
        problems.append("The user name contains a control character (tab, newline, NUL...); remove it.")
    elif any(not _is_visible(ch) for ch in username):
        problems.append("The user name contains an invisible or unassigned character; type it again.")
    if any(_outside_bmp(ch) for ch in username):
        problems.append("The user name contains a character such as an emoji that Windows "
                        "account names cannot hold; remove it.")
    if username != username.strip():
        problems.append("The user name starts or ends with white space; remove it.")
    if username.strip(". ") == "":
        problems.append("The user name consists only of periods and spaces; use letters or digits.")
    elif username.endswith("."):
        problems.append("The user name ends with a period; Windows does not allow that.")
    if username.casefold() in DISALLOWED_USERNAMES:
        problems.append("The user name '{0}' is reserved by Azure; use another name.".format(username))
    return problems


def _forbidden_username_characters(username):
    return sorted(set(ch for ch in username if ch in USERNAME_FORBIDDEN_CHARACTERS))


# ---------------------------------------------------------------------------------------------
# Passwords
# ---------------------------------------------------------------------------------------------

def check_password(password, username=None, min_length=DEFAULT_MIN_PASSWORD_LENGTH):
    """Raise VmAccessError("invalid_password") unless the password meets every rule.

    ``username`` enables Windows' rule that a password must not contain the account name.
    ``min_length`` may be lowered to 8 (ARM's osProfile minimum) but no further.
    """
    problems = password_problems(password, username=username, min_length=min_length)
    if problems:
        raise VmAccessError(
            "invalid_password",
            "The password was not sent to Azure: {0}".format(" ".join(problems)),
            problems=problems,
        )


def password_problems(password, username=None, min_length=DEFAULT_MIN_PASSWORD_LENGTH):
    """Every rule the password breaks, as sentences that never contain the password or part of it."""
    _check_min_length(min_length)
    if not isinstance(password, str):
        return ["The password must be text."]
    if password == "":
        return ["The password is empty; give the new password."]
    problems = []
    if len(password) < min_length:
        problems.append("The password is too short; use {0} to {1} characters.".format(
            min_length, MAX_PASSWORD_LENGTH))
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.append("The password is too long; use {0} to {1} characters.".format(
            min_length, MAX_PASSWORD_LENGTH))
    if _complexity_classes(password) < 3:
        problems.append("The password needs characters from at least 3 of these 4 classes: {0}.".format(
            _CLASS_NAMES))
    problems.extend(_typeability_problems(password))
    if password.casefold() in DISALLOWED_PASSWORDS:
        problems.append("The password is on Azure's list of forbidden common passwords; choose another.")
    if _contains_username(password, username):
        problems.append("The password contains the user name, which Windows refuses; choose one without it.")
    return problems


def _check_min_length(min_length):
    valid = isinstance(min_length, int) and not isinstance(min_length, bool)
    if not valid or not LOWEST_MIN_PASSWORD_LENGTH <= min_length <= MAX_PASSWORD_LENGTH:
        raise VmAccessError(
            "invalid_argument",
            "The minimum password length must be a whole number from {0} to {1}.".format(
                LOWEST_MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH),
        )


def _complexity_classes(password):
    has_lower = any(ch.islower() for ch in password)
    has_upper = any(ch.isupper() for ch in password)
    has_digit = any("0" <= ch <= "9" for ch in password)
    has_special = any(ch in PASSWORD_SPECIAL_CHARACTERS for ch in password)
    return sum((has_lower, has_upper, has_digit, has_special))


def _typeability_problems(password):
    """Characters a person could not type at a Windows sign-in, or that look like others."""
    problems = []
    if any(_is_control(ch) for ch in password):
        problems.append("The password contains a control character (tab, newline, NUL...); remove it.")
    elif any(not _is_visible(ch) for ch in password):
        problems.append("The password contains an invisible or unassigned character "
                        "(such as a zero-width or non-breaking space); remove it.")
    if any(_outside_bmp(ch) for ch in password):
        problems.append("The password contains a character such as an emoji that cannot be typed "
                        "at a Windows sign-in; remove it.")
    elif unicodedata.normalize("NFC", password) != password:
        problems.append("The password contains decomposed accented characters (not Unicode NFC); "
                        "type it again rather than pasting it.")
    if password != password.strip():
        problems.append("The password starts or ends with white space; remove it.")
    return problems


def _contains_username(password, username):
    # Windows skips this rule for account names shorter than 3 characters.
    if not isinstance(username, str) or len(username) < 3:
        return False
    return username.casefold() in password.casefold()


# ---------------------------------------------------------------------------------------------
# Characters
# ---------------------------------------------------------------------------------------------

def _is_control(ch):
    return unicodedata.category(ch) == "Cc"


def _is_visible(ch):
    # str.isprintable() is False for format, private-use, unassigned and surrogate code points
    # and for every separator except the plain space.
    return ch.isprintable()


def _outside_bmp(ch):
    return ord(ch) > 0xFFFF
