"""A private CA (trustme) and a server certificate for 127.0.0.1, localhost and every vault host
(``*.vault.azure-emulator.local``, as Azure's ``*.vault.azure.net``)."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from .kv_model import KV_DNS_SUFFIX


def make_server_context(state_dir: Path) -> tuple[ssl.SSLContext, Path]:
    """Returns the server's SSL context and the path of the CA bundle clients should trust."""
    ca = trustme.CA(organization_name="Azure emulator test CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", f"*.{KV_DNS_SUFFIX}")
    ca_file = state_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, ca_file
