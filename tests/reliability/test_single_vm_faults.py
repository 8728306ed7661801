"""Fault matrix for one VM at a time, in-process: the engine with one target (vm_access_reset's path: one GET,
one PUT, its operation polled) against the emulator's fault injection.

For every case: the outcome and reason are right, the guest agrees with them (reported success <=> the reset ran
in the guest), the extension PUTs sent and landed and the guest runs are counted (never a duplicate run), and
the run ends within its bound. The module's own wiring of these results into task results is the e2e smoke set.
"""

from __future__ import annotations

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import SKIP_REASONS

from tests.engine import fixtures
from tests.engine.fixtures import once, windows_vm

from .helpers import secret_hits

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]
GROUP = "single-VM faults"
PUT = dict(method="PUT", path="/extensions/")
LAST_FAILED = {"name": "enablevmaccess", "version": "2.4.11", "force_update_tag": "azops:v1:rdp:0:INC-1",
               "settings": {}, "state": "Failed", "message": "Enable failed: injected."}


class Case:
    def __init__(self, note, faults=(), reason=None, runs=1, wait_timeout=30, extension=None, hook=None):
        self.note, self.faults, self.reason, self.runs = note, list(faults), reason, runs
        self.wait_timeout, self.extension, self.hook = wait_timeout, extension, hook

    @property
    def fails(self):
        return self.reason is not None


CASES = {
    "429-short": Case("PUT answered 429 twice (Retry-After 0.3 s), then accepted",
                      [dict(PUT, action="status", status=429, retry_after=0.3, count=2)]),
    "429-long": Case("Retry-After 30 s > wait_timeout 15 s: fails fast as throttled instead of sleeping",
                     [dict(PUT, action="status", status=429, retry_after=30)], "throttled", 0, wait_timeout=15),
    "5xx-burst": Case("VM GET 500 x2 and PUT 503 x2, retried",
                      [dict(action="status", method="GET", path="/virtualMachines/s-5xx-burst$", status=500,
                            retry_after=0.2, count=2),
                       dict(PUT, action="status", status=503, retry_after=0.2, count=2)]),
    "drop-before": Case("connection dropped before the PUT was processed; retried",
                        [dict(PUT, action="drop_before", count=1)]),
    "drop-after": Case("PUT processed, answer lost; the identical retry joins the running operation",
                       [dict(PUT, action="drop_after", count=1)]),
    "never-finish": Case("operation stays InProgress; wait_timeout 3 s",
                         [dict(PUT, action="never_finish", count=1)], "operation_timeout", 0, wait_timeout=3),
    "dealloc": Case("VM deallocated after the pre-flight read, before the PUT (409 from Azure)",
                    reason="vm_not_running", runs=0, hook="deallocate_before_put"),
    "last-failed": Case("VMAccess last run Failed with the same run_tag: rerun as attempt 1", extension=LAST_FAILED),
    "token-expiry": Case("every token expired server-side right after the PUT; fresh token fetched",
                         hook="expire_tokens_after_put"),
}


def hooks(azure, case, name):
    if case.hook == "deallocate_before_put":
        return {"before_put": once(lambda: azure.deallocate(name))}
    if case.hook == "expire_tokens_after_put":
        return {"after_put": once(azure.control.expire_tokens)}
    return {}


@pytest.mark.parametrize("case_id", list(CASES))
def test_single_vm_fault(azure_run, reliability, case_id):
    case, name = CASES[case_id], "s-" + case_id
    azure_run.seed(windows_vm(name, **({"extension": case.extension} if case.extension else {})))
    for rule in case.faults:
        azure_run.control.add_fault(vm=name, **rule)
    hook = hooks(azure_run, case, name)

    result = azure_run.one(name, ResetRequest(reset="rdp", run_tag="INC-1"), wait_timeout=case.wait_timeout,
                           **hook)

    state = azure_run.vm(name)
    # The engine skips a VM VMAccess cannot act on (the fleet's outcome); the module fails its task with the reason.
    expected = ("changed", None)
    if case.fails:
        expected = ("skipped" if case.reason in SKIP_REASONS else "failed", case.reason)
    assert (result["outcome"], result["reason"]) == expected, result["msg"]
    assert state["run_count"] == case.runs  # never a duplicate guest run
    assert state["guest"]["rdp_enabled"] is (not case.fails)  # the truth: reported success <=> it ran
    if not case.fails:
        assert result["extension"]["provisioning_state"] == "Succeeded" and result["changed"] is True
    for fired in hook.values():
        assert fired.fired.is_set()
    assert secret_hits(repr(result), [azure_run.emulator.env["AZURE_SECRET"]]) == 0  # no secret, no bearer token
    puts = azure_run.puts(name)
    landed = [status for status in puts if 200 <= status < 300]
    SPECIFIC[case_id](azure_run, result, puts, landed)
    reliability.record(GROUP, "single VM: %s — %s" % (case_id, case.note), cases=1,
                       outcomes="failed/%s" % case.reason if case.fails else "changed",  # as the module's task ends
                       writes_per_vm="%d PUT sent, %d landed, %d guest run" % (len(puts), len(landed), case.runs))


def _retried(statuses):
    def check(_azure, _result, puts, landed):
        assert puts == statuses and len(landed) == 1
    return check


def _drop_after(_azure, _result, puts, landed):
    assert len(puts) == 2 and len(landed) == 2  # the PUT landed, its retry joined the same run


def _long_429(_azure, result, puts, landed):
    assert (puts, landed) == ([429], [])  # Retry-After 30 s > the budget: not waited for
    assert "Azure asks to retry after 30 s." in result["msg"], result["msg"]


def _never_finish(_azure, result, puts, landed):
    assert len(landed) == 1 and result["changed"] is True and "wait_timeout (3s)" in result["msg"]


def _dealloc(_azure, result, puts, landed):
    assert landed == [] and puts and set(puts) == {409}
    assert result["changed"] is False and "Start the VM" in result["msg"]


def _last_failed(azure, result, _puts, landed):
    assert len(landed) == 1 and result["action"] == "rerun"
    # A new attempt tag, or Azure would skip the run.
    assert azure.vm("s-last-failed")["extensions"][0]["force_update_tag"] == "azops:v1:rdp:1:INC-1"


def _token_expiry(azure, _result, _puts, landed):
    requests = azure.control.requests()
    refused = [q for q in requests if q["status"] == 401]
    assert len(landed) == 1 and refused  # ARM refused the expired token (an operation poll)...
    tokens_after = [q for q in requests if q["kind"] == "identity" and q["seq"] > refused[0]["seq"]]
    assert tokens_after  # ...and a fresh one was fetched


SPECIFIC = {
    "429-short": _retried([429, 429, 201]),
    "429-long": _long_429,
    "5xx-burst": _retried([503, 503, 201]),
    "drop-before": _retried([0, 201]),
    "drop-after": _drop_after,
    "never-finish": _never_finish,
    "dealloc": _dealloc,
    "last-failed": _last_failed,
    "token-expiry": _token_expiry,
}


def test_operation_endpoint_failing_while_the_extension_succeeds(azure_run, reliability):
    """Every poll of the async operation fails (500), yet the extension ran: success from the instance view, with
    a warning, not the transport error."""
    azure_run.seed(windows_vm("s-op-500"))
    azure_run.control.add_fault(action="status", method="GET", path="/operations/", status=500, retry_after=0.1)
    result = azure_run.one("s-op-500", ResetRequest(reset="rdp", run_tag="INC-1"), wait_timeout=30)
    state = azure_run.vm("s-op-500")
    assert (result["outcome"], result["changed"]) == ("changed", True), result["msg"]
    assert result["extension"]["provisioning_state"] == "Succeeded"
    assert state["run_count"] == 1 and state["guest"]["rdp_enabled"] is True
    assert any("instance view shows the reset succeeded" in w for w in result["warnings"])
    landed = [status for status in azure_run.puts("s-op-500") if 200 <= status < 300]
    reliability.record(GROUP, "single VM: operation endpoint 500s, extension succeeded", cases=1,
                       outcomes="changed + warning (from the instance view)",
                       writes_per_vm="%d PUT, %d guest run" % (len(landed), state["run_count"]))
