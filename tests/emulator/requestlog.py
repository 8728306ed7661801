"""Bounded request log (ring buffer) and cumulative counters.

Entries are tuples to keep 200k of them small; they become dicts only when read.
Query strings are stored with secret-looking parameters redacted.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from urllib.parse import parse_qsl, urlencode

FIELDS = ("seq", "ts", "method", "path", "query", "status", "principal", "kind", "subscription", "vm", "throttled",
          "vault")
SECRET_PARAMS = ("secret", "password", "token", "assertion", "key", "sig")


LONG_VALUE = 64          # signed operation URLs carry ~2.6 KB values: keep a stub, not 200k copies


def redact_query(query: str) -> str:
    """The query as logged: secret-looking parameters redacted, very long values shortened."""
    if not query:
        return ""
    lowered = query.lower()
    if len(query) <= 256 and not any(s in lowered for s in SECRET_PARAMS):
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, _logged_value(k, v)) for k, v in pairs])


def _logged_value(key: str, value: str) -> str:
    if any(s in key.lower() for s in SECRET_PARAMS):
        return "REDACTED"
    if len(value) > LONG_VALUE:
        return f"{value[:16]}...({len(value)} chars)"
    return value


class RequestLog:
    def __init__(self, maxlen: int = 200_000):
        self._entries: deque[tuple] = deque(maxlen=maxlen)
        self._seq = 0
        self.counters: Counter = Counter()

    def record(self, method: str, path: str, query: str, status: int, principal: str | None, kind: str,
               subscription: str | None, vm: str | None, throttled: bool, vault: str | None = None) -> None:
        self._seq += 1
        self._entries.append((self._seq, time.time(), method, path, redact_query(query), status, principal, kind,
                              subscription, vm, throttled, vault))
        c = self.counters
        c["total"] += 1
        c[f"kind:{kind}"] += 1
        c[f"status:{status}"] += 1
        if status == 429:
            c["429"] += 1
        if throttled:
            c["throttled"] += 1

    def since(self, seq: int = 0, limit: int | None = None) -> list[dict]:
        out = []
        for entry in reversed(self._entries):
            if entry[0] <= seq:
                break
            out.append(dict(zip(FIELDS, entry)))
        out.reverse()
        return out[:limit] if limit else out

    def clear(self) -> None:
        self._entries.clear()

    @property
    def last_seq(self) -> int:
        return self._seq

    def summary(self, extra: Counter) -> dict:
        c = self.counters
        return {
            "total": c["total"],
            "by_kind": {k[5:]: v for k, v in c.items() if k.startswith("kind:")},
            "by_status": {k[7:]: v for k, v in c.items() if k.startswith("status:")},
            "429": c["429"], "throttled": c["throttled"],
            "guest_runs": extra["guest_runs"], "operations": extra["operations"],
            "extension_puts": extra["extension_puts"], "extension_deletes": extra["extension_deletes"],
            "tokens_issued": extra["tokens_issued"], "fault_hits": extra["fault_hits"],
            "last_seq": self._seq,
        }

    def reset_counters(self) -> None:
        self.counters.clear()
