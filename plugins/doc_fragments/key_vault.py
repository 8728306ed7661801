# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Generated passwords in Azure Key Vault: the options vm_access_reset and vm_access_fleet share."""

    DOCUMENTATION = r"""
options:
  key_vault_url:
    description:
      - The Azure Key Vault that keeps each VM's password, as its URL (C(https://<vault>.vault.azure.net)) or its
        name (turned into a URL with the cloud's Key Vault DNS suffix - C(vault.azure.net), C(vault.usgovcloudapi.net),
        C(vault.azure.cn), or C(suffixes.keyVaultDns) of a custom cloud's metadata).
      - Reached with the same credential and cloud as Azure Resource Manager. The vault's challenge gives the token's
        resource and tenant, and the check that it matches the vault's domain always stays on.
      - 'Each VM has its own secret, named C(vmaccess-<VM name>-<hash>): the VM name lower-cased, each run of characters
        other than letters and digits turned into one dash, cut to 64 characters, then the first 12 hexadecimal digits
        of the SHA-256 of the lower-cased VM id (so VMs of the same name in other resource groups or subscriptions get
        their own secret).'
      - 'Each password is one version of it, content type C(password), with the tags C(vm_id), C(username), C(run_tag),
        C(set_at) (when the version was written, UTC) and C(state): written as C(pending) before the reset is sent,
        then C(active) once the extension succeeded in the guest, or C(failed) when the password is known not to be
        set. A reset whose outcome is unknown (a timeout, an interrupted run) stays C(pending), and the next run
        finishes it with the same password. So the newest C(active) version is the password that works; earlier
        versions are kept.'
      - Needs the optional Python package C(azure-keyvault-secrets) and, on the vault, the role Key Vault Secrets
        Officer (or the secret permissions get, list and set of an access policy).
    type: str
  rotation_max_age_days:
    description:
      - Rotate only VMs that are due - their newest C(active) version is this many days old or older (less one hour,
        so a daily schedule rotates on that day and not a day later), they have no
        C(active) version, it is for another account than O(username), or a newer C(pending) or C(failed) version
        shows an unfinished or failed reset. A VM that is not due is left alone (no write to Key Vault or Azure,
        not even a read of the VM) and reports C(ok).
      - Unset, every VM gets a new password (a C(pending) version of an unfinished reset is still finished first).
        V(0) rotates every time.
    type: int
"""
