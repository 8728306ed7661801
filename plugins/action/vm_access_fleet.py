# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``azure_ops.vm_access.vm_access_fleet``: the whole batch in one process.

Run once per play batch (``run_once: true``). It reads every batch host's VM from its hostvars,
does the Azure work for all of them in this one process (see module_utils/fleet.py) and returns
one result per host under ``results``, which the role turns into each host's own outcome.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.azure_ops.vm_access.plugins.module_utils import azure_auth
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError, argument_check, scrub
from ansible_collections.azure_ops.vm_access.plugins.module_utils.fleet import (
    FleetOptions,
    FleetRunner,
    batch_failure,
    outcome_line,
    summarize,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.reset_args import fleet_argument_spec
from ansible_collections.azure_ops.vm_access.plugins.module_utils.fleet_targets import (
    generate_password,
    target_from_hostvars,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.compute_api import ComputeApi
from ansible_collections.azure_ops.vm_access.plugins.module_utils.pacing import PacingPolicy, WritePacer
from ansible_collections.azure_ops.vm_access.plugins.module_utils.vm_access import ResetRequest, check_request

DEFAULT_VAULT_FILE = "vm_access_passwords.vault"
_HOSTVAR_KEYS = ("vm_id", "id", "resource_group", "vm_name", "name", "subscription_id")


def _validate(args):
    validator = ArgumentSpecValidator(
        fleet_argument_spec(),
        required_if=[("mode", "reset", ("reset",))],
    )
    with argument_check():
        result = validator.validate(args)
    if result.error_messages:
        raise VmAccessError("invalid_argument", "; ".join(result.error_messages))
    params = result.validated_parameters
    if params["generate_passwords"] and params["password"]:
        raise VmAccessError("invalid_argument", "password and generate_passwords are mutually exclusive.")
    return params


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(fleet_argument_spec())

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        started = time.monotonic()
        secrets = []
        task_vars = task_vars or {}
        batch = list(task_vars.get("ansible_play_batch") or [])
        failure = None
        try:
            params = _validate(dict(self._task.args))
            secrets.extend(s for s in (params["password"], params["secret"], params["vault_password"]) if s)
            result.update(self._run(params, task_vars, secrets))
        except VmAccessError as error:
            failure = error
        except Exception as error:  # a reason code, never a traceback
            failure = VmAccessError("unexpected_error", "Unexpected %s: %s" % (type(error).__name__, error))
        if failure is not None:
            msg = scrub(failure.message, secrets)
            # Every host still gets a result, so each fails with the batch's reason.
            result.update(failed=True, reason=failure.reason, msg=msg,
                          results=batch_failure(batch, failure.reason, msg),
                          summary=summarize([{"outcome": "failed", "reason": failure.reason}] * len(batch)))
        else:
            # Batch hosts left out of `hosts` still need a result of their own.
            left_out = [h for h in batch if h not in result["results"]]
            result["results"].update(batch_failure(left_out, None, "not in this batch's hosts"))
            for host in left_out:
                result["results"][host].update(outcome="skipped", reason="not_targeted",
                                               line=outcome_line("skipped", "not_targeted", "not in this batch's hosts"))
        result["working_dir"] = os.getcwd()
        result["duration_s"] = round(time.monotonic() - started, 3)
        return result

    # -- the batch -----------------------------------------------------------------------
    def _run(self, params, task_vars, secrets):
        hosts = params["hosts"] or list(task_vars.get("ansible_play_batch") or [])
        check_mode = bool(self._task.check_mode)
        request = None
        if params["mode"] == "reset":
            request = ResetRequest(
                reset=params["reset"], username=params["username"], password=params["password"],
                run_tag=params["run_tag"], force=params["force"], update_password=params["update_password"],
                allow_new_admin=params["allow_new_admin"], extension_name=params["extension_name"],
                require_agent_ready=params["require_agent_ready"])
            if params["generate_passwords"]:
                request.password = generate_password()  # validated stand-in; each host gets its own below
            check_request(request)
        vault = _PasswordVault(self, params, check_mode) if params["generate_passwords"] else None

        default_sub = params["subscription_id"] or os.environ.get("AZURE_SUBSCRIPTION_ID")
        targets = [target_from_hostvars(h, self._hostvars(task_vars, h), default_sub) for h in hosts]
        if vault is not None:
            for target in targets:
                target.password = generate_password()
                secrets.append(target.password)
            vault.bind(targets)
        subscriptions = sorted(set(t.ref.subscription_id for t in targets if t.ref is not None))
        apis, pacers = self._connect(params, subscriptions)

        options = FleetOptions(check_mode=check_mode, wait=params["wait"], wait_timeout=params["wait_timeout"],
                               agent_wait_timeout=params["agent_wait_timeout"], poll_interval=params["poll_interval"],
                               max_workers=params["max_workers"])
        if params["mode"] == "status":
            results = FleetRunner(apis, None, options).status(targets)
        else:
            runner = FleetRunner(apis, request, options, pacers=pacers,
                                 before_submit=vault.save if vault is not None else None)
            results = runner.run(targets)
            if vault is not None:
                vault.finish(results)
        summary = summarize(results)
        return {
            "changed": summary["by_outcome"].get("changed", 0) > 0,
            "results": dict((r["host"], r) for r in results),
            "summary": summary,
            "password_vault_file": vault.path if vault is not None and vault.written else None,
            "pacing": {"waited_s": round(sum(p.waited_s for p in pacers.values()), 3),
                       "throttled": sum(p.throttled for p in pacers.values())},
        }

    def _hostvars(self, task_vars, host):
        hostvars = task_vars.get("hostvars") or {}
        try:
            source = hostvars[host]
        except KeyError:
            return {}
        found = {}
        for key in _HOSTVAR_KEYS:
            try:
                value = source.get(key) if hasattr(source, "get") else source[key]
            except Exception:  # an undefined or untemplatable hostvar is simply absent
                value = None
            if value is not None:
                found[key] = to_text(value)
        return found

    def _connect(self, params, subscriptions):
        if not azure_auth.HAS_AZURE_SDK:
            raise VmAccessError("missing_dependency", "azure-identity and azure-mgmt-compute must be installed in "
                                "the Python that runs ansible-playbook (the controller).")
        auth_params = dict((k, params.get(k)) for k in azure_auth.AZURE_AUTH_ARGSPEC)
        if not auth_params.get("subscription_id") and subscriptions:
            auth_params["subscription_id"] = subscriptions[0]
        settings = azure_auth.resolve_auth(auth_params)
        cloud = azure_auth.resolve_cloud(settings.cloud_environment)
        credential = azure_auth.build_credential(settings, cloud)  # one credential, one token, for the batch
        apis, pacers = {}, {}
        for sub in subscriptions or [settings.subscription_id]:
            pacers[sub] = WritePacer()
            client = azure_auth.compute_client(credential, sub, cloud, per_retry_policies=[PacingPolicy(pacers[sub])],
                                               retry_budget_s=params["wait_timeout"] or None)
            apis[sub] = ComputeApi(client, subscription_id=sub)
        return apis, pacers


class _PasswordVault:
    """Per-host generated passwords, saved ansible-vault encrypted BEFORE any of them is set."""

    def __init__(self, action, params, check_mode):
        from ansible import constants as C
        from ansible.parsing.vault import VaultLib, VaultSecret, match_encrypt_secret

        # Relative to the directory ansible-playbook runs in (this process's), never the playbook's.
        self.path = os.path.abspath(params["password_vault_file"] or DEFAULT_VAULT_FILE)
        self.check_mode = check_mode
        self.written = False
        self.records = {}
        if params["vault_password"]:
            vault_secrets = [("default", VaultSecret(to_bytes(params["vault_password"])))]
        else:
            vault_secrets = list(getattr(getattr(action._loader, "_vault", None), "secrets", None) or [])
        if not vault_secrets:
            raise VmAccessError(
                "vault_unavailable",
                "generate_passwords writes the new passwords only into an ansible-vault encrypted file, and no vault "
                "secret is loaded. Run with --vault-id / --vault-password-file (or an AWX vault credential), or set "
                "vault_password.")
        try:
            self.vault_id, self.secret = match_encrypt_secret(vault_secrets, encrypt_vault_id=C.DEFAULT_VAULT_ENCRYPT_IDENTITY)
        except AnsibleError as error:
            raise VmAccessError("vault_unavailable", "No usable vault secret to encrypt with: %s" % to_text(error))
        self.vault = VaultLib(vault_secrets)
        self.passwords = {}

    def bind(self, targets):
        self.passwords = dict((t.host, t.password) for t in targets)

    def save(self, planned):
        for host, vm_id, username in planned:
            self.records[host] = {"vm_id": vm_id, "username": username, "status": "submitted"}
        self._write()

    def finish(self, results):
        for result in results:
            record = self.records.get(result["host"])
            if record is not None:
                record["status"] = result["outcome"]
        if self.records:
            self._write()

    def _write(self):
        if self.check_mode:
            return
        import json
        document = {}
        for host, record in sorted(self.records.items()):
            document[host] = dict(record, password=self.passwords[host])
        plaintext = json.dumps(document, indent=2, sort_keys=True)
        ciphertext = self.vault.encrypt(plaintext, self.secret, vault_id=self.vault_id)
        directory = os.path.dirname(os.path.abspath(self.path)) or "."
        handle, temp = tempfile.mkstemp(prefix=".vm_access_passwords.", dir=directory)
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, ciphertext)
        finally:
            os.close(handle)
        os.replace(temp, self.path)
        self.written = True
