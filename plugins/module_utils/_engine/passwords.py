# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generated administrator passwords: random from the OS's CSPRNG, and within Azure's rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import string

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import check_password

GENERATED_PASSWORD_LENGTH = 24
# Punctuation that survives shells, YAML and RDP clients without quoting surprises.
_SPECIALS = "!#%*+-.:=?@^_~"


def generate_password(length=GENERATED_PASSWORD_LENGTH):
    """A random password with every character class, checked against Azure's rules."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, _SPECIALS]
    alphabet = "".join(classes)
    rng = secrets.SystemRandom()
    while True:
        chars = [secrets.choice(c) for c in classes]
        chars += [secrets.choice(alphabet) for _i in range(length - len(chars))]
        rng.shuffle(chars)
        password = "".join(chars)
        try:
            check_password(password)
            return password
        except VmAccessError:
            continue  # vanishingly rare (a disallowed word); draw again
