"""The three-subscription fleet the inventory tests list, and the arithmetic of its pages.

One principal (Contributor on every subscription of the emulator) sees all three; subscription A
is the one the authentication names (``AZURE_SUBSCRIPTION_ID``). Shared by the in-process tests
(tests/inventory/) and the end-to-end smoke set (tests/integration/test_inventory.py).
"""

from __future__ import annotations

import math
import re

SUB_B = "22222222-2222-4222-8222-222222222222"
SUB_C = "33333333-3333-4333-8333-333333333333"
PAGE_SIZE = 3
LIST_PATH = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/providers/Microsoft\.Compute/virtualMachines$")

# VMs per subscription in the fleet below, for page arithmetic.
VMS_PER_SUB = {"a": 8, "b": 3, "c": 2}
# Host names of the running VMs of all three subscriptions (web-01 is in A and B: qualified).
RUNNING = {"web-01.rg-web", "web-02", "web-03", "app-01", "app-02", "lnx-01", "lnx-02",
           "web-01.rg-edge", "ops-01", "lab-01", "lab-02"}
# Plain and statusOnly list pages for the three subscriptions at PAGE_SIZE.
ALL_LIST_CALLS = 10


def fleet(sub_a):
    return {"seed": 11, "subscriptions": [
        {"id": sub_a, "resource_groups": [
            {"name": "rg-web", "location": "westeurope", "vms": [
                {"name": "web-{i:02d}", "count": 3, "tags": {"env": "prod", "tier": "web"}},
                {"name": "web-04", "power_state": "deallocated", "tags": {"env": "prod"}}]},
            {"name": "rg-app", "location": "westeurope", "vms": [
                {"name": "app-01", "extension": {"name": "myVMAccess", "version": "2.4.9",
                                                 "force_update_tag": "2025-11-02"}},
                {"name": "app-02", "agent": "not_ready", "tags": {"Env": "dev"}}]},
            {"name": "rg-linux", "location": "northeurope", "vms": [
                {"name": "lnx-{i:02d}", "count": 2, "os": "linux", "admin_username": "azureuser"}]}]},
        {"id": SUB_B, "resource_groups": [
            {"name": "RG-Edge", "location": "eastus", "vms": [
                {"name": "web-01", "tags": {"env": "prod"}},
                {"name": "db-01", "power_state": "stopped", "tags": {"env": "dev"}}]},
            {"name": "rg-ops", "location": "eastus", "vms": [
                {"name": "ops-01", "tags": {"remediation": "skip"}}]}]},
        {"id": SUB_C, "resource_groups": [
            {"name": "rg-lab", "location": "uksouth", "vms": [
                {"name": "lab-01", "os": "linux", "tags": {"env": "dev"}},
                {"name": "lab-02", "tags": {"env": "dev"}}]}]},
    ]}


def seed(emulator):
    """Seed the fleet into a fresh emulator, listed ``PAGE_SIZE`` VMs a page; returns subscription A."""
    sub_a = emulator.env["AZURE_SUBSCRIPTION_ID"]
    emulator.control.add_fleet(fleet(sub_a))
    emulator.control.set_config(page_size=PAGE_SIZE)
    return sub_a


def three_subs(sub_a, **config):
    return dict(config, subscriptions=[sub_a, SUB_B, SUB_C])


def pages(n):
    return max(1, math.ceil(n / PAGE_SIZE))


def arm_calls(requests):
    """The ARM requests of a request-log excerpt (not token, metadata or control calls)."""
    return [r for r in requests if r["kind"] in ("read", "write", "operation")]


def identity_calls(requests):
    return [r for r in requests if r["kind"] == "identity"]
