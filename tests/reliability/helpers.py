"""Shared helpers of the reliability suite: request-log counting, watchers, secret scans."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest

TOKEN_PATTERN = re.compile(r"emu\.[A-Za-z0-9_-]{30,}")   # the emulator's opaque bearer tokens
TRACEBACK = "Traceback (most recent call last)"


def ext_puts(emulator, since=0, vm=None, name=None):
    """Extension PUTs in the log since ``since``: [(vm, status)]. status 0 = dropped before processing."""
    out = []
    for r in emulator.control.requests(since=since):
        if r["method"] != "PUT" or "/extensions/" not in r["path"]:
            continue
        if vm is not None and (r["vm"] or "").lower() != vm.lower():
            continue
        if name is not None and not r["path"].lower().endswith("/extensions/" + name.lower()):
            continue
        out.append((r["vm"], r["status"]))
    return out


def landed(puts):
    """PUTs the emulator processed (2xx): each one reached the extension model."""
    return [p for p in puts if 200 <= p[1] < 300]


def last_seq(emulator) -> int:
    reqs = emulator.control.requests()
    return reqs[-1]["seq"] if reqs else 0


def writes_by_vm(emulator, since=0) -> Counter:
    return Counter(vm for vm, status in landed(ext_puts(emulator, since)))


def secret_hits(text: str, secrets) -> int:
    """Occurrences of each secret value plus anything that looks like an emulator-issued token."""
    hits = sum(text.count(s) for s in secrets if s)
    return hits + len(TOKEN_PATTERN.findall(text))


class Watcher(threading.Thread):
    """Polls the emulator's request log and runs ``action()`` once the first request matching
    ``(method, vm, path regex)`` shows up (it is logged when answered)."""

    def __init__(self, emulator, action, method=None, vm=None, path=".*", since=0, timeout=120.0, kind=None):
        super().__init__(daemon=True)
        self.emulator, self.action = emulator, action
        self.method, self.vm, self.path, self.kind = method, vm, re.compile(path, re.I), kind
        self.since, self.timeout = since, timeout
        self.fired = threading.Event()
        self.stop_event = threading.Event()
        self.error = None

    def run(self):
        deadline = time.monotonic() + self.timeout
        since = self.since
        try:
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                for r in self.emulator.control.requests(since=since):
                    since = max(since, r["seq"])
                    if self.method and r["method"] != self.method:
                        continue
                    if self.vm and (r["vm"] or "").lower() != self.vm.lower():
                        continue
                    if self.kind and r["kind"] != self.kind:
                        continue
                    if self.path.search(r["path"]):
                        self.action()
                        self.fired.set()
                        return
                time.sleep(0.05)
        except Exception as exc:  # surfaced by the test through .error
            self.error = exc

    def stop(self):
        self.stop_event.set()
        self.join(timeout=10)


def start_playbook(cmd, **kwargs) -> subprocess.Popen:
    """ansible-playbook in its own process group (so a test can always end all of it), output on one pipe."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            **kwargs)


def interrupt(proc: subprocess.Popen, sig, grace_s=120) -> str:
    """Send ``sig`` to ansible-playbook alone (not its process group: its workers must end on their own, on every
    ansible-core release) and return its output once every process holding the output pipe has ended. Fails
    (after killing the whole group) if that takes longer than ``grace_s``."""
    proc.send_signal(sig)
    try:
        out, _unused = proc.communicate(timeout=grace_s)
        return out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        pytest.fail("ansible-playbook and its workers did not end within %d s of %s" % (grace_s, sig.name))
