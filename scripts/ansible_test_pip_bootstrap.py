"""Stand-in for ansible-test's pip bootstrap script (``get_pip_<version>.py``).

ansible-test bootstraps pip in each of its virtual environments by running a script it
downloads from a host this project's machines cannot reach, unless the script is already at
``~/.ansible/test/cache/get_pip_<version>.py``. scripts/sanity.sh copies this file there.

ansible-test runs it as ``python get_pip_X_Y.py <pip options> pip==X.Y [--no-setuptools]
[--no-wheel]`` with a filtered environment (and possibly ``PIP_CONFIG_FILE=/dev/null``), so
the machine's pip settings are not seen. This script installs pip from the standard
library's bundled wheel (``ensurepip``), then runs ``pip install`` with the given packages,
passing the CA bundle the machine's pip configuration names (the one setting needed to reach
the package index through this network); nothing else is taken from that configuration.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys

PIP_CONFIG_FILES = (
    "/etc/pip.conf",
    "/etc/xdg/pip/pip.conf",
    os.path.expanduser("~/.config/pip/pip.conf"),
    os.path.expanduser("~/.pip/pip.conf"),
)

SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
)

# Options of get-pip.py that pip install does not know.
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def find_ca_bundle() -> str | None:
    """The CA bundle pip is configured with on this machine, else the system bundle, else None."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value and os.path.isfile(value):
            return value
    for path in PIP_CONFIG_FILES:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in ("install", "global"):
            value = parser.get(section, "cert", fallback=None)
            if value and os.path.isfile(value.strip()):
                return value.strip()
    for path in SYSTEM_CA_BUNDLES:
        if os.path.isfile(path):
            return path
    return None


def main(argv: list[str]) -> int:
    """Install pip with ensurepip, then the requested packages (normally ``pip==X.Y``)."""
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    args = [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]
    command = [sys.executable, "-m", "pip", "install", "--quiet"]
    cert = find_ca_bundle()
    if cert:
        command += ["--cert", cert]
    return subprocess.run(command + args, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
