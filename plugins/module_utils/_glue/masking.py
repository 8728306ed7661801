# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret values out of what leaves for Ansible, longest first.

ansible-core's ``remove_values`` replaces the secrets it is given in no fixed order before 2.19: with
one secret inside another (a password that is the start of a client secret), masking the short one
first leaves the rest of the long one readable. So the outermost secrets go first, then those they
contained."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.parameters import remove_values


def mask_secrets(value, secrets):
    """``value`` (any JSON-like structure) with every string of ``secrets`` replaced whole."""
    remaining = set(secret for secret in secrets or () if secret)
    while remaining:
        joined = "\0".join(remaining)
        # A secret found more than once in the joined list lies inside another: it waits a round.
        outermost = set(secret for secret in remaining if joined.count(secret) == 1)
        value = remove_values(value, outermost)
        remaining -= outermost
    return value
