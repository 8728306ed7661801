"""pytest plugin for tests/reliability: the ``--soak`` switch and the results table.

Each reliability test calls ``reliability.record(...)`` for the fault or bad-input class it
covered: cases tried, outcomes seen, writes per VM, secrets found and hangs. Every pytest process
(each xdist worker, or the only one) writes its rows to ``tests/output/reliability/rows/``; at the
end of the session the controlling process merges them into ``tests/output/reliability/last_run.json``
(rows of classes not run this time are kept, marked with their own run time) and renders
``reliability.md`` beside it. ``make reliability-report`` renders ``docs/reliability.md`` from it.

Loaded from tests/conftest.py (``pytest_plugins``) so ``--soak`` is known whatever path pytest
is given. ``RELIABILITY_SOAK=1`` is the same as ``--soak``.
"""

from __future__ import annotations

import datetime
import json
import os

import pytest

from .report import LAST_RUN, OUTPUT, write_report

ROWS = OUTPUT / "rows"

SOAK_ENV = "RELIABILITY_SOAK"


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", default=False,
                     help="reliability suite: run the large soak variant (also RELIABILITY_SOAK=1)")


def soak_enabled(config) -> bool:
    return bool(config.getoption("--soak", default=False)) or os.environ.get(SOAK_ENV, "") not in ("", "0")


class Recorder:
    def __init__(self, variant: str):
        self.variant = variant
        self.rows: dict[str, dict] = {}
        self.failed_tests: list[str] = []

    def record(self, group: str, cls: str, *, cases: int, outcomes: dict | str, writes_per_vm: str = "-",
               secrets_found: int = 0, hangs: int = 0, notes: str = "", test: str = ""):
        """One row of the table (a later record of the same class adds to it)."""
        if isinstance(outcomes, dict):
            outcomes = ", ".join("%s=%s" % (k, v) for k, v in sorted(outcomes.items()))
        row = self.rows.get(cls)
        if row is not None:
            row["cases"] += cases
            row["outcomes"] = "; ".join(x for x in (row["outcomes"], outcomes) if x)
            row["secrets_found"] += secrets_found
            row["hangs"] += hangs
            row["notes"] = "; ".join(x for x in (row["notes"], notes) if x)
            return
        self.rows[cls] = dict(group=group, cls=cls, cases=cases, outcomes=outcomes, writes_per_vm=writes_per_vm,
                              secrets_found=secrets_found, hangs=hangs, notes=notes, test=test,
                              variant=self.variant, status="passed")


_RECORDER_KEY = pytest.StashKey[Recorder]()


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    config.stash[_RECORDER_KEY] = Recorder("soak" if soak_enabled(config) else "quick")
    if not _is_worker(config) and ROWS.exists():
        for stale in ROWS.glob("*.json"):  # rows of an earlier session
            stale.unlink()


@pytest.fixture(scope="session")
def soak(pytestconfig) -> bool:
    return soak_enabled(pytestconfig)


@pytest.fixture
def reliability(request):
    """The session's Recorder, with the current test's id filled in."""
    recorder = request.config.stash[_RECORDER_KEY]

    class _Bound:
        def record(self, group, cls, **kwargs):
            kwargs.setdefault("test", request.node.nodeid)
            recorder.record(group, cls, **kwargs)

    return _Bound()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "tests/reliability/" in item.nodeid.replace("\\", "/"):
        recorder = item.config.stash[_RECORDER_KEY]
        recorder.failed_tests.append(item.nodeid)
        for row in recorder.rows.values():
            if row["test"] == item.nodeid:
                row["status"] = "FAILED"


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    recorder = config.stash.get(_RECORDER_KEY, None)
    if recorder is not None and (recorder.rows or recorder.failed_tests):
        ROWS.mkdir(parents=True, exist_ok=True)
        name = config.workerinput["workerid"] if _is_worker(config) else "main"
        (ROWS / ("%s-%d.json" % (name, os.getpid()))).write_text(json.dumps(
            {"variant": recorder.variant, "failed_tests": recorder.failed_tests, "rows": recorder.rows}))
    if not _is_worker(config):  # the controller (or the only process) merges every process's rows
        _merge_rows()


def _merge_rows():
    parts = [json.loads(path.read_text()) for path in sorted(ROWS.glob("*.json"))] if ROWS.exists() else []
    if not parts:
        return
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    previous = {}
    if LAST_RUN.exists():
        try:
            previous = json.loads(LAST_RUN.read_text())
        except ValueError:
            previous = {}
    rows = {r["cls"]: r for r in previous.get("rows", [])}
    failed = []
    for part in parts:
        failed.extend(part["failed_tests"])
        for cls, row in part["rows"].items():
            rows[cls] = dict(row, run_at=now)
    data = {"updated_at": now, "variant": parts[0]["variant"], "failed_tests": failed, "rows": list(rows.values())}
    LAST_RUN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    write_report(data)
