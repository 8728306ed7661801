# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where credential values come from besides module options: the environment (AWX's and
azure-identity's variable names), the INI credentials file of azure.azcollection
(``~/.azure/credentials``) and the Azure CLI's own profile. Read only; nothing is cached."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import json
import os
import shutil

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# Environment variables, first name found wins (AWX's names before azure-identity's).
ENV_NAMES = {
    "subscription_id": ("AZURE_SUBSCRIPTION_ID",),
    "client_id": ("AZURE_CLIENT_ID",),
    "secret": ("AZURE_SECRET", "AZURE_CLIENT_SECRET"),
    "tenant": ("AZURE_TENANT", "AZURE_TENANT_ID"),
    "certificate_path": ("AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_X509_CERTIFICATE_PATH"),
    "certificate_password": ("AZURE_CLIENT_CERTIFICATE_PASSWORD",),
    "cloud_environment": ("AZURE_CLOUD_ENVIRONMENT",),
    "federated_token_file": ("AZURE_FEDERATED_TOKEN_FILE",),
    "profile": ("AZURE_PROFILE",),
    "disable_instance_discovery": ("AZURE_DISABLE_INSTANCE_DISCOVERY",),
    "auth_source": ("ANSIBLE_AZURE_AUTH_SOURCE",),
}
# Keys read from a section of the credentials file (same names as azure.azcollection).
CREDENTIALS_FILE_KEYS = ("subscription_id", "client_id", "secret", "tenant", "cloud_environment")
DEFAULT_PROFILE = "default"

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")


def clean(value):
    """None for unset: empty strings from templates or injectors count as unset."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def env_value(environ, name):
    for var in ENV_NAMES[name]:
        value = clean(environ.get(var))
        if value is not None:
            return value
    return None


def env_layer(environ):
    return dict((name, env_value(environ, name)) for name in ENV_NAMES)


def parse_bool(value, where):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise VmAccessError(
        "invalid_argument",
        "%s must be a boolean (true/false), got something else." % where,
    )


def home(environ):
    return clean(environ.get("HOME")) or os.path.expanduser("~")


def default_credentials_file(environ=None):
    """``~/.azure/credentials``, the fixed path azure.azcollection uses."""
    environ = os.environ if environ is None else environ
    return os.path.join(home(environ), ".azure", "credentials")


def cli_profile_file(environ=None):
    """The Azure CLI's ``azureProfile.json`` (in ``$AZURE_CONFIG_DIR``, default ``~/.azure``)."""
    environ = os.environ if environ is None else environ
    config_dir = clean(environ.get("AZURE_CONFIG_DIR")) or os.path.join(home(environ), ".azure")
    return os.path.join(config_dir, "azureProfile.json")


class CredentialsFile:
    """A section of the INI credentials file, read once and only when needed."""

    def __init__(self, path, profile, profile_named):
        self.path = path
        self.profile = profile
        self.profile_named = profile_named
        self._loaded = None
        self.file_exists = False
        self.section_exists = False

    def layer(self):
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self):
        if not os.path.isfile(self.path):
            return {}
        self.file_exists = True
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(self.path, encoding="utf-8-sig") as handle:
                parser.read_file(handle)
        except (OSError, UnicodeDecodeError) as exc:
            raise VmAccessError(
                "invalid_argument",
                "Cannot read the credentials file %s (%s)." % (self.path, type(exc).__name__),
                credentials_file=self.path,
            )
        except configparser.Error as exc:
            # configparser's own message may quote the offending line, which may hold a secret.
            line = getattr(exc, "lineno", None)
            raise VmAccessError(
                "invalid_argument",
                "Cannot parse the credentials file %s as INI (%s%s)."
                % (self.path, type(exc).__name__, " at line %s" % line if line else ""),
                credentials_file=self.path,
            )
        if not parser.has_section(self.profile):
            return {}
        self.section_exists = True
        return dict((key, clean(parser.get(self.profile, key, fallback=None)))
                    for key in CREDENTIALS_FILE_KEYS)

    def lenient_layer(self, notes=None):
        """The section, or {} when the file cannot be read (noted in ``notes``)."""
        try:
            return self.layer()
        except VmAccessError as exc:
            if notes is not None:
                notes.append(exc.message)
            return {}

    def where(self):
        return "the [%s] section of %s" % (self.profile, self.path)


def read_cli_profile(path):
    """(default subscription id, its cloud name) from azureProfile.json, or (None, None)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:  # the CLI writes a UTF-8 BOM
            data = json.load(handle)
    except (OSError, ValueError):
        return None, None
    subscriptions = data.get("subscriptions") if isinstance(data, dict) else None
    for sub in subscriptions or []:
        if isinstance(sub, dict) and sub.get("isDefault"):
            return clean(sub.get("id")), clean(sub.get("environmentName"))
    return None, None


def find_az(environ):
    return shutil.which("az", path=environ.get("PATH", os.defpath))
