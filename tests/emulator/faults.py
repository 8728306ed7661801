"""Faults on demand: rules matched by method + path regex (+ VM name), N times or with a probability.

Actions:
  status       answer with ``status`` (ARM error body; ``retry_after`` adds Retry-After + ms headers)
  delay        wait ``delay_s`` real seconds, then process normally
  drop_before  close the connection before processing (nothing happens server-side)
  drop_after   process the request, then close the connection without answering
  never_finish the operation created by a matched PUT/DELETE stays InProgress forever
Any rule may also carry ``delay_s`` (applied before its action). A ``status`` rule may carry ``body``:
a string is sent as is (malformed JSON, HTML from a proxy...), anything else as JSON.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import asdict, dataclass, field

ACTIONS = ("status", "delay", "drop_before", "drop_after", "never_finish")
DEFAULT_ERRORS = {
    429: ("TooManyRequests", "The request is being throttled."),
    500: ("InternalServerError", "Encountered internal server error. Diagnostic information: the emulator "
                                 "injected this fault."),
    502: ("BadGateway", "The gateway did not receive a response from 'Microsoft.Compute' within the specified "
                        "time period."),
    503: ("ServiceUnavailable", "The server (leased) is currently unable to handle the request due to a temporary "
                                "overloading or maintenance of the server."),
    504: ("GatewayTimeout", "The gateway did not receive a response from 'Microsoft.Compute' within the specified "
                            "time period."),
}


@dataclass
class FaultRule:
    id: str
    action: str = "status"
    method: str = "*"
    path: str = ".*"
    vm: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    body: object = None                    # custom response body: a str (sent as is, e.g. broken JSON) or JSON
    retry_after: float | None = None       # real seconds
    delay_s: float = 0.0                   # real seconds
    count: int | None = None               # None = unlimited
    probability: float = 1.0
    hits: int = 0
    _regex: re.Pattern = field(default=None, repr=False)

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {ACTIONS}")
        if self.action == "status" and not self.status:
            raise ValueError("a 'status' fault needs a 'status' code")
        if not 0.0 <= float(self.probability) <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self._regex = re.compile(self.path, re.IGNORECASE)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def matches(self, method: str, path: str, vm: str | None, rng: random.Random) -> bool:
        if self.exhausted:
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.vm is not None and (vm is None or vm.lower() != self.vm.lower()):
            return False
        if not self._regex.search(path):
            return False
        return self.probability >= 1.0 or rng.random() < self.probability

    def error_body(self) -> dict:
        code, message = DEFAULT_ERRORS.get(self.status, ("InjectedFault", "The emulator injected this fault."))
        return {"error": {"code": self.code or code, "message": self.message or message}}

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("_regex", None)
        data["remaining"] = None if self.count is None else max(0, self.count - self.hits)
        return data


class FaultSet:
    def __init__(self):
        self.rules: dict[str, FaultRule] = {}
        self._ids = itertools.count(1)
        self._rng = random.Random(0)

    def add(self, spec: dict) -> FaultRule:
        allowed = {"action", "method", "path", "vm", "status", "code", "message", "body", "retry_after", "delay_s",
                   "count", "probability"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        spec = dict(spec)
        if "action" not in spec:
            spec["action"] = "status" if spec.get("status") else "delay"
        rule = FaultRule(id=f"f{next(self._ids)}", **spec)
        self.rules[rule.id] = rule
        return rule

    def match(self, method: str, path: str, vm: str | None) -> FaultRule | None:
        for rule in self.rules.values():
            if rule.matches(method, path, vm, self._rng):
                rule.hits += 1
                return rule
        return None

    def remove(self, rule_id: str) -> bool:
        return self.rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        self.rules.clear()

    def to_list(self) -> list[dict]:
        return [r.to_dict() for r in self.rules.values()]
