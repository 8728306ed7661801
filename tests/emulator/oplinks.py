"""Signed async-operation URLs, shaped like Compute's (facts §8.3, azure-cli cassette S20):

    .../locations/{loc}/operations/{id}?p=<uuid>&api-version=2024-11-01&t=<.NET ticks>
        &c=<base64url certificate, ~2.6 KB>&s=<base64url signature>&h=<base64url hash>

The api-version is Compute's own, not the one the PUT used. A poll must send the URL back
verbatim: every signed parameter is checked, so a client that rebuilds the URL, drops the
long parameters or swaps the api-version is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from .errors import ArmError

OPERATION_API_VERSION = "2024-11-01"
SIGNED_PARAMS = ("p", "api-version", "t", "c", "s", "h")
_TICKS_AT_EPOCH = 621_355_968_000_000_000       # .NET ticks (100 ns since year 1) at 1970-01-01
_CERT_DER_HEADER = b"\x30\x82\x07\x94"          # a SEQUENCE of 1,940 bytes: the size of ARM's cert


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def dotnet_ticks(epoch_seconds: float) -> int:
    return _TICKS_AT_EPOCH + int(epoch_seconds * 10_000_000)


def invalid_operation_uri() -> ArmError:
    return ArmError(400, "InvalidOperationUri",
                    "The async operation URI is not valid: its signed query parameters (p, api-version, t, c, s, "
                    "h) are missing or were altered. Poll the Azure-AsyncOperation or Location URL exactly as it "
                    "was returned.")


class OperationLinks:
    """Issues and checks the signed query of operation URLs (one key and 'certificate' per process)."""

    def __init__(self):
        self._key = secrets.token_bytes(32)
        self.partition = str(uuid.uuid4())
        self.certificate = _b64(_CERT_DER_HEADER + secrets.token_bytes(1940))

    def _signature(self, op_id: str, ticks: int, monitor: bool) -> tuple[str, str]:
        content = f"{op_id}\n{self.partition}\n{OPERATION_API_VERSION}\n{ticks}\n{monitor}".encode()
        signature = _b64(hashlib.shake_256(self._key + content).digest(256))
        digest = _b64(hmac.new(self._key, content + signature.encode(), hashlib.sha256).digest())
        return signature, digest

    def query(self, op_id: str, ticks: int, monitor: bool = False) -> str:
        signature, digest = self._signature(op_id, ticks, monitor)
        monitor_part = "monitor=true&" if monitor else ""
        return (f"p={self.partition}&{monitor_part}api-version={OPERATION_API_VERSION}&t={ticks}"
                f"&c={self.certificate}&s={signature}&h={digest}")

    def verify(self, op_id: str, ticks: int, query, monitor: bool) -> bool:
        """``query`` is the request's multidict; each signed parameter must appear once, unchanged."""
        signature, digest = self._signature(op_id, ticks, monitor)
        expected = {"p": self.partition, "api-version": OPERATION_API_VERSION, "t": str(ticks),
                    "c": self.certificate, "s": signature, "h": digest}
        for name in SIGNED_PARAMS:
            values = query.getall(name, [])
            if len(values) != 1 or not hmac.compare_digest(values[0].encode(), expected[name].encode()):
                return False
        return True
