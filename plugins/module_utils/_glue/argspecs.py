# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the reset entry points (the single-VM module and the fleet action share the
reset options) and the ResetRequest / EngineOptions they become."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import AZURE_AUTH_ARGSPEC
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import EngineOptions
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest


def reset_options(wait_timeout):
    """Options every reset entry point shares."""
    return dict(
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        allow_new_admin=dict(type="bool", default=False),
        update_password=dict(type="str", default="on_change", choices=["always", "on_change"], no_log=False),
        run_tag=dict(type="str"),
        force=dict(type="bool", default=False),
        extension_name=dict(type="str"),
        require_agent_ready=dict(type="bool", default=True),
        agent_wait_timeout=dict(type="int", default=0),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=wait_timeout),
        poll_interval=dict(type="float", default=10.0),
    )


# One VM named by its full id, or by resource group + name (modules).
TARGET_OPTIONS = dict(
    resource_group=dict(type="str"),
    vm_name=dict(type="str", aliases=["name"]),
    vm_id=dict(type="str"),
)
TARGET_EXCLUSIVE = [("vm_id", "resource_group"), ("vm_id", "vm_name")]
# Generated passwords in Azure Key Vault (both entry points; see _glue.key_vault).
KEY_VAULT_OPTIONS = dict(
    key_vault_url=dict(type="str", no_log=False),
    rotation_max_age_days=dict(type="int"),
)
# The single-VM module: a password taken from a Key Vault secret, or generated into one.
MODULE_KEY_VAULT_OPTIONS = dict(
    generate_password=dict(type="bool", default=False, no_log=False),
    password_secret=dict(type="str", no_log=False),
    password_secret_version=dict(type="str", no_log=False),
)


def module_argument_spec():
    spec = dict(TARGET_OPTIONS, reset=dict(type="str", required=True, choices=["password", "rdp"]),
                type_handler_version=dict(type="str"))
    spec.update(reset_options(wait_timeout=1200))
    spec.update(KEY_VAULT_OPTIONS)
    spec.update(MODULE_KEY_VAULT_OPTIONS)
    spec.update(AZURE_AUTH_ARGSPEC)
    return spec


def fleet_argument_spec():
    spec = dict(
        mode=dict(type="str", default="reset", choices=["reset", "status"]),
        reset=dict(type="str", choices=["password", "rdp"]),
        hosts=dict(type="list", elements="str"),
        generate_passwords=dict(type="bool", default=False),
        password_vault_file=dict(type="path"),
        vault_password=dict(type="str", no_log=True),
        max_workers=dict(type="int", default=16),
    )
    spec.update(reset_options(wait_timeout=1800))
    spec.update(KEY_VAULT_OPTIONS)
    spec.update(AZURE_AUTH_ARGSPEC)
    return spec


def reset_request(params):
    return ResetRequest(
        reset=params["reset"], username=params["username"], password=params["password"], run_tag=params["run_tag"],
        force=params["force"], update_password=params["update_password"], allow_new_admin=params["allow_new_admin"],
        extension_name=params["extension_name"], type_handler_version=params.get("type_handler_version"),
        require_agent_ready=params["require_agent_ready"])


def engine_options(params, check_mode, **extra):
    return EngineOptions(check_mode=check_mode, wait=params["wait"], wait_timeout=params["wait_timeout"],
                         agent_wait_timeout=params["agent_wait_timeout"], poll_interval=params["poll_interval"],
                         **extra)
