"""In-process helpers shared by the engine, auth, info and reliability tests. A test module registers the fixture
by name: ``azure_run = fixtures.azure_run``.

``azure_run`` is ``tests/engine/conftest.py``'s ``Azure`` with what those tests also need, built the way the
plugins build it:

- the session's retry budget is the run's ``wait_timeout``, as the module's ``connect`` does;
- ``params`` / ``environ`` go to ``AzureSession(params, environ)`` (auth variants), with an environment that
  holds only the emulator's variables (no AZURE_* or IDENTITY_* of the developer's shell);
- ``after_put`` runs once, right after Azure accepted the first extension PUT (token expiry while waiting);
- ``before_put`` runs once before the first PUT (the engine's ``before_submit`` seam: a VM deallocated
  between the read and the PUT);
- ``session_error(...)`` is the reason a session cannot even be built (missing subscription, http cloud...);
- ``module(main, **args)`` runs a module's own ``main()`` in this process (argument spec, fail_json, no_log).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import EngineOptions, ResetEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import check_request
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

from .conftest import OLD_PASSWORD, PASSWORD, RG, Azure, windows_vm

__all__ = ["OLD_PASSWORD", "PASSWORD", "RG", "AzureRun", "azure_run", "clean_environ", "module_result", "once",
           "windows_vm"]

# Variables that choose or feed a credential: never inherited from the shell running the tests.
_CREDENTIAL_PREFIXES = ("AZURE_", "ARM_", "IDENTITY_", "MSI_", "ANSIBLE_AZURE_")


def clean_environ(emulator):
    """The process environment without credential variables, plus the emulator's (AWX-style AZURE_* names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CREDENTIAL_PREFIXES)}
    env.update(emulator.env)
    return env


def once(action):
    """``action`` wrapped to run on the first call only (hooks that fire per response or per batch)."""
    lock, fired = threading.Lock(), threading.Event()

    def call(*_args):
        with lock:
            if fired.is_set():
                return
            fired.set()
        action()

    call.fired = fired
    return call


def _first(action, then):
    """A ``before_submit`` that runs ``action()`` and then ``then(items)`` (if any)."""
    def before_submit(items):
        action()
        if then is not None:
            then(items)
    return before_submit


def module_result(main, args):
    """Run a module's ``main()`` in this process on ``args`` (as Ansible hands them over) and return the JSON it
    printed: the module's own argument spec, validation, no_log masking and fail_json, without a process.
    Anything it reaches for in Azure comes from ``os.environ``."""
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": dict(args)}).encode()
    patches = [mock.patch.object(basic, "_ANSIBLE_ARGS", payload)]
    if hasattr(basic, "_ANSIBLE_PROFILE"):  # ansible-core 2.19+
        patches.append(mock.patch.object(basic, "_ANSIBLE_PROFILE", "legacy"))
    out = io.StringIO()
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        stack.enter_context(contextlib.redirect_stdout(out))
        with pytest.raises(SystemExit):
            main()
    return json.loads(out.getvalue())


class AzureRun(Azure):
    """``Azure`` whose sessions are built like the module's, with auth and timing hooks."""

    def __init__(self, emulator, monkeypatch):
        super().__init__(emulator)
        self.environ = clean_environ(emulator)
        self.monkeypatch = monkeypatch
        self.last_session = None  # the session of the last engine built (its credential, its ComputeApis)

    def module(self, main, **args):
        """A module's ``main()`` run in this process (see ``module_result``) with the emulator's environment."""
        for key, value in self.emulator.env.items():
            self.monkeypatch.setenv(key, value)
        return module_result(main, args)

    def session(self, params=None, environ=None, retry_budget_s=None, on_response=None):
        return AzureSession(params or {}, self.environ if environ is None else environ,
                            retry_budget_s=retry_budget_s, on_response=on_response)

    def session_error(self, params=None, environ=None):
        """The VmAccessError building the session raises (the module fails with it before any ARM call)."""
        with pytest.raises(VmAccessError) as caught:
            self.session(params, environ).api()
        return caught.value

    def engine(self, request=None, progress=None, before_submit=None, *, params=None, environ=None,
               after_put=None, before_put=None, **options):
        if request is not None:
            check_request(request)  # as the module and the fleet action do, before any API call
        options.setdefault("poll_interval", 0.1)
        options.setdefault("wait_timeout", 60)
        pacing = Pacing()

        def observe(subscription_id, method, status, headers):
            pacing.observe(subscription_id, method, status, headers)
            if after_put is not None and method == "PUT" and 200 <= status < 300:
                after_put()

        session = self.session(params, environ, retry_budget_s=options["wait_timeout"], on_response=observe)
        self.last_session = session
        if before_put is not None:
            before_submit = _first(before_put, before_submit)
        return ResetEngine(session.api, request, EngineOptions(**options), pacing=pacing, progress=progress,
                           before_submit=before_submit)

    def one(self, name, request=None, rg=RG, **options):
        """The result of an engine run over the one VM ``name`` (the module's path: one GET, one PUT)."""
        return self.run([name], request, rg=rg, **options)[name]

    def run_targets(self, targets, request, **options):
        return {r["host"]: r for r in self.engine(request, **options).run(targets)}

    def arm_calls(self):
        """Token and ARM requests since the last clear (cloud metadata reads left out)."""
        return [q for q in self.control.requests() if q["kind"] in ("identity", "read", "write", "operation")]

    def deallocate(self, *names, rg=RG):
        for name in names:
            self.control.patch_vm(self.sub, rg, name, power_state="deallocated")

    def puts(self, vm=None):
        """Extension PUTs in the request log since the last clear: [status] (0 = dropped unanswered)."""
        return [q["status"] for q in self.control.requests()
                if q["method"] == "PUT" and "/extensions/" in q["path"]
                and (vm is None or (q["vm"] or "").lower() == vm.lower())]


@pytest.fixture
def azure_run(fresh_emulator, monkeypatch):
    """An ``AzureRun`` on an empty emulator; the process trusts the emulator's CA (REQUESTS_CA_BUNDLE), and no
    credential variable of the shell leaks into azure-identity."""
    for key in list(os.environ):
        if key.startswith(_CREDENTIAL_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    return AzureRun(fresh_emulator, monkeypatch)
