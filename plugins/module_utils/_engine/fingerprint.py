# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reset fingerprint stored in the extension's ``forceUpdateTag``.

Azure never returns protected settings and reruns a handler only when its settings or
``forceUpdateTag`` change. So the tag carries a fingerprint of the reset we asked for:
the next run recomputes it and, when it matches and the last run succeeded, does nothing.

Tag format: ``azops:v1:<kind>:<attempt>:<digest>``
- kind ``pw2``: digest is scrypt(password) salted with the VM id, user name and run tag —
  slow on purpose, so the tag cannot be used to test password guesses cheaply.
- kind ``pw``: the same with the scrypt parameters of release 0.1.0; still recognised, so a VM
  whose password was set by 0.1.0 is not reset again just because the collection was upgraded.
- kind ``rdp``: digest is the user's run tag (a ticket or job id), kept readable.
- kind ``run``: digest is random: the reset runs every time.
``attempt`` grows when the same reset is retried after a failed run, because Azure skips a
run whose tag equals the current one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

TAG_PREFIX = "azops"
TAG_VERSION = "v1"
KIND_PASSWORD = "pw2"      # what password resets write
KIND_PASSWORD_V1 = "pw"    # written by 0.1.0
KIND_RDP = "rdp"
KIND_RANDOM = "run"
KIND_NAMES = {KIND_PASSWORD: "password", KIND_PASSWORD_V1: "password", KIND_RDP: "rdp", KIND_RANDOM: "random"}

# scrypt (N, r, p) per password kind. Both cost an attacker the same N*p = 2**15 block mixes
# per guess (~0.1 s on one core; OWASP's table treats N*p as the strength); pw2 does it as two
# lanes of N=2**14, so it needs 16 MiB instead of 32 MiB: one module process or fleet worker
# per password reset stays well under half the memory of a generic Azure module run.
PASSWORD_KDFS = {KIND_PASSWORD: (2 ** 14, 8, 2), KIND_PASSWORD_V1: (2 ** 15, 8, 1)}
SCRYPT_N, SCRYPT_R, SCRYPT_P = PASSWORD_KDFS[KIND_PASSWORD]
SCRYPT_DKLEN = 24
SCRYPT_MAXMEM = 64 * 1024 * 1024
# Each scrypt allocates tens of MiB, and the C allocator keeps such a buffer in the arena of the thread
# that used it: a fleet planning on 8-16 threads would keep 8-16 of them. So every scrypt runs on the
# same two threads; two still fingerprint ~12 passwords/s, above ARM's ~10 writes/s.
_SCRYPT_THREADS = 2
_scrypt_pool = None
_scrypt_pool_lock = threading.Lock()


def _scrypt_executor():
    global _scrypt_pool
    with _scrypt_pool_lock:
        if _scrypt_pool is None:
            _scrypt_pool = ThreadPoolExecutor(max_workers=_SCRYPT_THREADS, thread_name_prefix="azops-scrypt")
        return _scrypt_pool


RUN_TAG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+/=-]{0,63}$")
_TAG_PATTERN = re.compile(r"^azops:v1:(pw2|pw|rdp|run):(\d{1,6}):(.+)$")


class Fingerprint:
    """A parsed tag: what kind of reset wrote it, which attempt, and its digest."""

    __slots__ = ("kind", "attempt", "digest")

    def __init__(self, kind, attempt, digest):
        self.kind = kind
        self.attempt = attempt
        self.digest = digest

    def same_reset(self, other):
        """True when both describe the same requested reset (attempts may differ)."""
        return other is not None and self.kind == other.kind and self.digest == other.digest

    def next_attempt(self):
        return Fingerprint(self.kind, self.attempt + 1, self.digest)

    def tag(self):
        return "%s:%s:%s:%d:%s" % (TAG_PREFIX, TAG_VERSION, self.kind, self.attempt, self.digest)

    @property
    def kind_name(self):
        return KIND_NAMES[self.kind]

    def __eq__(self, other):
        return isinstance(other, Fingerprint) and (self.kind, self.attempt, self.digest) == (
            other.kind, other.attempt, other.digest)

    def __repr__(self):
        # The digest is not secret, but it has no use in logs either.
        return "Fingerprint(kind=%r, attempt=%d)" % (self.kind, self.attempt)


def parse_tag(tag):
    """Return the Fingerprint in a forceUpdateTag, or None for a tag we did not write."""
    if not isinstance(tag, str):
        return None
    match = _TAG_PATTERN.match(tag)
    if not match:
        return None
    return Fingerprint(match.group(1), int(match.group(2)), match.group(3))


def describe_tag(tag):
    """A safe label for a forceUpdateTag: its kind, never its digest."""
    if not tag:
        return "none"
    fingerprint = parse_tag(tag)
    if fingerprint is None:
        return "foreign"
    return fingerprint.kind_name


def _password_salt(vm_id, username, run_tag):
    material = "\x1f".join(["azops-vmaccess-v1", (vm_id or "").lower(), (username or "").lower(), run_tag or ""])
    return hashlib.sha256(material.encode("utf-8")).digest()


def password_fingerprint(password, vm_id, username, run_tag=None, kind=KIND_PASSWORD):
    """Slow, salted, non-reversible fingerprint of a password reset (``kind`` picks the KDF)."""
    n, r, p = PASSWORD_KDFS[kind]
    digest = _scrypt_executor().submit(
        hashlib.scrypt,
        password.encode("utf-8"),
        salt=_password_salt(vm_id, username, run_tag),
        n=n,
        r=r,
        p=p,
        dklen=SCRYPT_DKLEN,
        maxmem=SCRYPT_MAXMEM,
    ).result()
    return Fingerprint(kind, 0, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("="))


def rdp_fingerprint(run_tag):
    return Fingerprint(KIND_RDP, 0, run_tag)


def random_fingerprint():
    return Fingerprint(KIND_RANDOM, 0, uuid.uuid4().hex)


def valid_run_tag(run_tag):
    return bool(RUN_TAG_PATTERN.match(run_tag or ""))
