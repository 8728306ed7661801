"""The engine and the Azure layer in-process, against the emulator, with the real azure-identity and
azure-mgmt-compute clients: every decision and fault without an Ansible process per case."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.engine import EngineOptions, ResetEngine
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.pacing import Pacing
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget

RG = "rg-eng"
PASSWORD = "Wind0ws-Reset!2026"
OLD_PASSWORD = "Old-Passw0rd!2020"


def windows_vm(name, **fields):
    vm = {"name": name, "os": "windows", "admin_username": "azureadmin", "rdp": "broken",
          "accounts": [{"name": "azureadmin", "admin": True, "password": OLD_PASSWORD}], "extension_duration_s": 20}
    vm.update(fields)
    return vm


class Azure:
    """One emulated subscription and the engine pointed at it, as the plugins build it."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.control = emulator.control
        self.sub = emulator.env["AZURE_SUBSCRIPTION_ID"]
        self.environ = dict(os.environ, **emulator.env)

    def seed(self, *vms, rg=RG):
        self.control.add_fleet({"subscriptions": [{"id": self.sub, "resource_groups": [
            {"name": rg, "location": "westeurope", "vms": [dict(v) for v in vms]}]}]})
        self.control.clear_requests()

    def ref(self, name, rg=RG):
        return VmRef(self.sub, rg, name)

    def engine(self, request=None, progress=None, before_submit=None, **options):
        pacing = Pacing()
        session = AzureSession({}, self.environ, on_response=pacing.observe)
        options.setdefault("poll_interval", 0.1)
        options.setdefault("wait_timeout", 60)
        return ResetEngine(session.api, request, EngineOptions(**options), pacing=pacing, progress=progress,
                           before_submit=before_submit)

    def run(self, names, request=None, rg=RG, **options):
        """{name: result} of one engine run over ``names`` (an RDP reset with run_tag T1 by default)."""
        request = request or ResetRequest(reset="rdp", run_tag="T1")
        targets = [VmTarget(host=name, ref=self.ref(name, rg)) for name in names]
        return dict((r["host"], r) for r in self.engine(request, **options).run(targets))

    def status(self, names, rg=RG, **options):
        targets = [VmTarget(host=name, ref=self.ref(name, rg)) for name in names]
        return dict((r["host"], r) for r in self.engine(None, **options).status(targets))

    def vm(self, name, rg=RG):
        return self.control.vm(self.sub, rg, name)

    def calls(self):
        """ARM requests since the last clear, counted by (method, what)."""
        counts = Counter()
        for q in self.control.requests():
            if q["kind"] not in ("read", "write", "operation"):
                continue
            path = q["path"].lower()
            if q["kind"] == "operation":
                what = "operation"
            elif "/extensions" in path:
                what = "extension" if path.rstrip("/").split("/")[-2] == "extensions" else "extensions"
            elif path.endswith("/virtualmachines"):
                what = "list"
            else:
                what = "vm"
            counts[(q["method"], what)] += 1
        self.control.clear_requests()
        return counts

    def writes(self):
        return sum(1 for q in self.control.requests() if q["kind"] == "write")


@pytest.fixture
def azure(fresh_emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_emulator.ca_file)
    return Azure(fresh_emulator)
