# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs: the options of every reset, and the fleet action's (its action plugin and doc stub share it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils.azure_auth import AZURE_AUTH_ARGSPEC


def reset_options(wait_timeout):
    """Options every reset entry point shares (the single-VM module and the fleet action)."""
    return dict(
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        allow_new_admin=dict(type="bool", default=False),
        update_password=dict(type="str", default="on_change", choices=["always", "on_change"], no_log=False),
        run_tag=dict(type="str"),
        force=dict(type="bool", default=False),
        extension_name=dict(type="str", default="enablevmaccess"),
        require_agent_ready=dict(type="bool", default=True),
        agent_wait_timeout=dict(type="int", default=300),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=wait_timeout),
    )


def fleet_argument_spec():
    spec = dict(
        mode=dict(type="str", default="reset", choices=["reset", "status"]),
        reset=dict(type="str", choices=["password", "rdp"]),
        hosts=dict(type="list", elements="str"),
        generate_passwords=dict(type="bool", default=False),
        password_vault_file=dict(type="path"),
        vault_password=dict(type="str", no_log=True),
        poll_interval=dict(type="float", default=10.0),
        max_workers=dict(type="int", default=16),
    )
    spec.update(reset_options(wait_timeout=1800))
    spec.update(AZURE_AUTH_ARGSPEC)
    return spec
