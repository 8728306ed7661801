# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Passwords in Azure Key Vault for the entry points (``vm_access_fleet``, ``vm_access_reset``): their options
checked before any call, the store on the run's session, and what each host's result shows of it.

The protocol itself is ``_engine.password_store``; the Key Vault calls are ``_azure.keyvault``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.keyvault import (
    KeyVaultApi,
    check_secret_name,
    check_secret_version,
    check_vault_reference,
    secret_client_class,
    vault_url,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import USER_AGENT
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.password_rotation import ACTIVE
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.password_store import PasswordStore
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import outcome_line
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


def _invalid(message):
    return VmAccessError("invalid_argument", message)


def uses_key_vault(params):
    return bool(params.get("key_vault_url"))


def _check_max_age(params, needs):
    max_age = params.get("rotation_max_age_days")
    if max_age is None:
        return
    if not needs:
        raise _invalid("rotation_max_age_days applies to passwords generated into Key Vault: set key_vault_url and "
                       "generate_password%s: true." % ("s" if "generate_passwords" in params else ""))
    if max_age < 0:
        raise _invalid("rotation_max_age_days must be 0 or more (0 rotates every time).")


def check_fleet_options(params):
    """The fleet's Key Vault options, before any call."""
    url = params.get("key_vault_url")
    _check_max_age(params, bool(url))
    if not url:
        return
    check_vault_reference(url)
    if params.get("mode") != "reset" or params.get("reset") != "password" or not params.get("generate_passwords"):
        raise _invalid("key_vault_url keeps generated passwords: use it with reset=password and "
                       "generate_passwords=true.")
    if params.get("password_vault_file") or params.get("vault_password"):
        raise _invalid("key_vault_url and password_vault_file / vault_password are mutually exclusive: generated "
                       "passwords go into Key Vault or into an ansible-vault file, not both.")


def check_module_options(params):
    """The single-VM module's Key Vault options, before any call."""
    url, secret, version = params.get("key_vault_url"), params.get("password_secret"), params.get("password_secret_version")
    generate = params.get("generate_password")
    if params.get("reset") == "rdp" and (url or generate or secret or version or
                                         params.get("rotation_max_age_days") is not None):
        raise _invalid("reset=rdp resets the Remote Desktop configuration only; remove the Key Vault and password "
                       "options, or use reset=password.")
    if params.get("password") and (generate or secret):
        raise _invalid("password, password_secret and generate_password are mutually exclusive: give the password, "
                       "or take it from Key Vault, or generate one.")
    if (generate or secret or version) and not url:
        raise _invalid("generate_password and password_secret need key_vault_url (the vault's URL or name).")
    if url and not (generate or secret):
        raise _invalid("key_vault_url needs generate_password: true (a new password, stored in the vault) or "
                       "password_secret (the secret that holds the password).")
    if version and (generate or not secret):
        raise _invalid("password_secret_version picks the version of password_secret to use; it does not apply to "
                       "generate_password.")
    _check_max_age(params, bool(url and generate))
    if url:
        check_vault_reference(url)
    if secret:
        check_secret_name(secret)
    if version:
        check_secret_version(version)


def open_store(session, params, check_mode, workers=8):
    """A PasswordStore on the vault of ``key_vault_url``, with the session's credential and cloud."""
    secret_client_class()  # the optional package: missing_dependency once, before anything else
    url = vault_url(params["key_vault_url"], session.cloud)
    api = KeyVaultApi(session.credential, url, retry_budget_s=session.retry_budget_s, user_agent=USER_AGENT)
    return PasswordStore(api, check_mode=check_mode, workers=workers, vault_url=url)


def plan_module(store, params, target, request):
    """The module's one VM: its verdict when it is not to be reset (rotation not due), else None."""
    if params.get("generate_password"):
        verdicts = store.plan([target], run_tag=request.run_tag, username=request.username,
                              max_age_days=params.get("rotation_max_age_days"),
                              names={target.host: params["password_secret"]} if params.get("password_secret") else None)
        return verdicts.get(target.host)
    store.use_existing(target, params["password_secret"], params.get("password_secret_version"), request.run_tag)
    return None


def settle_results(store, results, waited):
    """Record each version's outcome (``store.finish``) and show it in each result: ``key_vault`` (secret name,
    version, state, the previous active version) and a sentence in ``msg``. A host whose outcome could not be
    recorded fails with the store's reason (the VM may have its new password while the vault still says pending)."""
    failures = store.finish(results, waited=waited)
    for result in results:
        report = store.report(result["host"])
        if report is None:
            continue
        result["key_vault"] = report
        error = failures.get(result["host"])
        if error is not None:
            result.update(outcome="failed", reason=error.reason, msg="%s %s" % (result["msg"], error.message))
        if report["version"]:
            result["msg"] = "%s (Key Vault secret %s: version %s is %s%s)" % (
                result["msg"], report["secret_name"], report["version"], report["state"],
                "; " + report["note"] if report["note"] and report["state"] != ACTIVE else "")
        result["line"] = outcome_line(result["outcome"], result["reason"], result["msg"])
    return results
