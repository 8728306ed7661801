# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generated per-VM passwords, kept only in an ansible-vault encrypted file (controller side)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, VaultSecret, match_encrypt_secret

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

DEFAULT_VAULT_FILE = "vm_access_passwords.vault"


class PasswordVault:
    """Per-host generated passwords, saved ansible-vault encrypted BEFORE any of them is set."""

    def __init__(self, loader, params, check_mode):
        # Relative to the directory ansible-playbook runs in (this process's), never the playbook's.
        self.path = os.path.abspath(params["password_vault_file"] or DEFAULT_VAULT_FILE)
        self.check_mode = check_mode
        self.written = False
        self.records = {}
        if params["vault_password"]:
            vault_secrets = [("default", VaultSecret(to_bytes(params["vault_password"])))]
        else:
            vault_secrets = list(getattr(getattr(loader, "_vault", None), "secrets", None) or [])
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
