# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a user asked for, checked before any API call: a weak password never leaves the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass, replace
from typing import Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.policy import check_password, check_username

_MAJOR_MINOR = re.compile(r"^\d{1,3}\.\d{1,3}$")


@dataclass
class ResetRequest:
    """One reset, the same for every VM of a run (a generated password is set per VM with ``for_vm``)."""

    reset: str  # "password" | "rdp"
    username: Optional[str] = None
    password: Optional[str] = None
    run_tag: Optional[str] = None
    force: bool = False
    update_password: str = "on_change"  # "on_change" | "always"
    allow_new_admin: bool = False
    extension_name: Optional[str] = None  # only for a new instance; an existing one keeps its name
    type_handler_version: Optional[str] = None
    require_agent_ready: bool = True
    password_min_length: int = 12

    def __repr__(self):
        return "ResetRequest(reset=%r, username=%r, run_tag=%r, force=%r)" % (
            self.reset, self.username, self.run_tag, self.force)

    def for_target(self, target):
        """This request for one target: its own password and run tag, when it has them."""
        changes = dict((key, getattr(target, key)) for key in ("password", "run_tag")
                       if getattr(target, key, None) is not None)
        return replace(self, **changes) if changes else self


def check_request(request):
    """Reject invalid input before any API call."""
    if request.reset not in ("password", "rdp"):
        raise VmAccessError("invalid_argument", "reset must be 'password' or 'rdp'.")
    if request.run_tag is not None and not fp.valid_run_tag(request.run_tag):
        raise VmAccessError(
            "invalid_argument",
            "run_tag must be 1 to 64 characters: letters, digits and . _ @ + / = - (starting with a letter or digit).",
        )
    if request.type_handler_version is not None and not _MAJOR_MINOR.match(request.type_handler_version):
        raise VmAccessError("invalid_argument", "type_handler_version must be a major.minor version such as '2.4' "
                                                "(Azure picks the build; a build such as 2.4.9 cannot be requested).")
    if request.reset == "rdp":
        if request.password is not None or request.username is not None:
            raise VmAccessError(
                "invalid_argument",
                "reset=rdp resets the Remote Desktop configuration only; remove username and password, "
                "or use reset=password.",
            )
        return
    if request.password is None or request.password == "":
        raise VmAccessError("invalid_password", "reset=password needs a password (the new password of the account).")
    if request.username is not None:
        check_username(request.username)
    check_password(request.password, request.username, min_length=request.password_min_length)
