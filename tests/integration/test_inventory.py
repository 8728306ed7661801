"""The azure_vms inventory plugin through ansible-inventory and ansible-playbook, against the emulator.

A fleet over three subscriptions (one principal, Contributor on every subscription of the
emulator) is seeded per test; every run is a real ``ansible-inventory`` subprocess with the
environment AWX would inject, and every ARM request it makes is read back from the emulator's
request log.
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from .conftest import ansible_env

pytestmark = pytest.mark.emulator

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
INVENTORY_TIMEOUT_S = 120
PLAYBOOK_TIMEOUT_S = 240
SUB_B = "22222222-2222-4222-8222-222222222222"
SUB_C = "33333333-3333-4333-8333-333333333333"
PAGE_SIZE = 3
LIST_PATH = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/providers/Microsoft\.Compute/virtualMachines$")


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


# VMs per subscription in the fleet above, for page arithmetic.
VMS_PER_SUB = {"a": 8, "b": 3, "c": 2}
RUNNING = {"web-01.rg-web", "web-02", "web-03", "app-01", "app-02", "lnx-01", "lnx-02",
           "web-01.rg-edge", "ops-01", "lab-01", "lab-02"}


@pytest.fixture
def seeded(fresh_emulator):
    """The three-subscription fleet; returns (emulator, subscription A = the auth subscription)."""
    sub_a = fresh_emulator.env["AZURE_SUBSCRIPTION_ID"]
    fresh_emulator.control.add_fleet(fleet(sub_a))
    fresh_emulator.control.set_config(page_size=PAGE_SIZE)
    return fresh_emulator, sub_a


def unwrap(value):
    """ansible-inventory --list output as plain data.

    ansible-core 2.19 marks strings that do not come from a trusted template source - here
    everything Azure returned - as ``{"__ansible_unsafe": value}``, so they are never templated.
    """
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class InventoryRun:
    def __init__(self, proc, since, emulator):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.requests = emulator.control.requests(since=since)

    @property
    def raw(self):
        return json.loads(self.stdout)

    @property
    def data(self):
        return unwrap(self.raw)

    @property
    def arm(self):
        return [r for r in self.requests if r["kind"] in ("read", "write", "operation")]

    @property
    def hosts(self):
        return set(self.data["_meta"]["hostvars"])

    def hostvars(self, host):
        return self.data["_meta"]["hostvars"][host]

    def group(self, name):
        """Hosts of a group (direct members)."""
        return set(self.data.get(name, {}).get("hosts", []))

    @property
    def groups(self):
        return {name: set(body.get("hosts", [])) for name, body in self.data.items()
                if name not in ("_meta", "all") and body.get("hosts")}


@pytest.fixture
def run_inventory(tmp_path):
    """run_inventory(emulator, config, *args, env=None) -> InventoryRun (ansible-inventory --list by default)."""
    counter = {"n": 0}

    def run(emulator, config, *args, env=None, name="fleet.azure_vms.yml", workdir=None):
        """``workdir`` reuses a directory (and so the same source path: the cache key is the path)."""
        counter["n"] += 1
        workdir = tmp_path / (workdir or ("inv%d" % counter["n"]))
        workdir.mkdir(exist_ok=True)
        source = workdir / name
        source.write_text(yaml.safe_dump(dict({"plugin": "azure_ops.vm_access.azure_vms"}, **config)))
        since = emulator.control.counters()["last_seq"]
        cmd = [str(BIN / "ansible-inventory"), "-i", str(source)] + (list(args) or ["--list"])
        proc = subprocess.run(cmd, cwd=str(workdir), env=ansible_env(emulator.env, workdir, env),
                              capture_output=True, text=True, timeout=INVENTORY_TIMEOUT_S, check=False)
        return InventoryRun(proc, since, emulator)

    return run


def three_subs(sub_a, **config):
    return dict(config, subscriptions=[sub_a, SUB_B, SUB_C])


def pages(n):
    return max(1, math.ceil(n / PAGE_SIZE))


# --------------------------------------------------------------------------- hosts, groups, hostvars


def test_three_subscriptions_hosts_groups_and_requests(seeded, run_inventory):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(sub_a))
    assert run.returncode == 0, run.stderr
    assert run.hosts == RUNNING
    assert run.groups == {
        "windows": {"web-01.rg-web", "web-02", "web-03", "app-01", "app-02", "web-01.rg-edge", "ops-01", "lab-02"},
        "linux": {"lnx-01", "lnx-02", "lab-01"},
        "power_running": RUNNING,
        "location_westeurope": {"web-01.rg-web", "web-02", "web-03", "app-01", "app-02"},
        "location_northeurope": {"lnx-01", "lnx-02"},
        "location_eastus": {"web-01.rg-edge", "ops-01"},
        "location_uksouth": {"lab-01", "lab-02"},
    }
    # Same name in two subscriptions: both qualified with their resource group, and said so.
    assert "web-01 -> web-01.rg-edge" in run.stderr and "web-01 -> web-01.rg-web" in run.stderr

    # List calls only, never a per-VM GET, one token: per subscription a plain pass (the model) and a
    # statusOnly pass (the instance views), each paged; never $expand on a list.
    assert all(LIST_PATH.match(r["path"]) and r["method"] == "GET" for r in run.arm), run.arm
    assert len(run.arm) == 2 * sum(pages(n) for n in VMS_PER_SUB.values()) == 10
    assert {r["subscription"] for r in run.arm} == {sub_a, SUB_B, SUB_C}
    assert len([r for r in run.arm if "statusOnly=true" in r["query"]]) == 5
    assert not any("expand" in unquote(r["query"]).lower() for r in run.arm)
    assert len([r for r in run.requests if r["kind"] == "identity"]) == 1
    assert all(r["status"] == 200 for r in run.requests)


def test_hostvars(seeded, run_inventory):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(sub_a))
    assert run.returncode == 0, run.stderr
    hv = run.hostvars("app-01")
    vm_id = "/subscriptions/%s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01" % sub_a
    vm_uuid = emulator.control.vm(sub_a, "rg-app", "app-01")["vm_id"]
    expected = {
        "vm_id": vm_id, "vm_name": "app-01", "resource_group": "rg-app", "subscription_id": sub_a,
        "location": "westeurope", "os_type": "Windows", "power_state": "running", "provisioning_state": "Succeeded",
        "agent_status": "Ready", "admin_username": "azureadmin", "computer_name": "app-01",
        "vm_size": "Standard_D2s_v5", "vm_uuid": vm_uuid, "vm_tags": {},
        "network_interface_ids": [
            "/subscriptions/%s/resourceGroups/rg-app/providers/Microsoft.Network/networkInterfaces/app-01-nic" % sub_a],
        # What the lists tell of the instance: no settings, requested version or fingerprint (no tag).
        "vmaccess": {"name": "myVMAccess", "type": "VMAccessAgent", "running_version": "2.4.9",
                     "provisioning_state": "Succeeded", "status_code": "ProvisioningState/succeeded",
                     "status_message": hv["vmaccess"]["status_message"], "status_time": "2025-11-02T09:14:07.1234567+00:00",
                     "last_run_succeeded": True},
    }
    assert {k: hv[k] for k in expected} == expected
    assert hv["agent_version"]
    # azure_rm's aliases are opt-in: 'name' and 'tags' are names Ansible reserves.
    assert not {"id", "name", "tags", "powerstate", "os_disk", "os_profile", "virtual_machine_size", "vmid"} & set(hv)
    assert hv["image"]["offer"] == "WindowsServer"
    assert "ansible_host" not in hv and not any("ip_address" in k for k in hv)

    assert run.hostvars("app-02")["agent_status"] == "Not Ready"
    assert run.hostvars("app-02")["vmaccess"] is None
    lnx = run.hostvars("lab-01")
    assert (lnx["os_type"], lnx["subscription_id"], lnx["vm_tags"]) == ("Linux", SUB_C, {"env": "dev"})
    assert "reserved name" not in run.stderr
    assert run.hostvars("web-01.rg-edge")["resource_group"] == "RG-Edge"  # Azure's spelling
    # Strings from Azure are marked unsafe: a tag can never inject a template.
    assert run.raw["_meta"]["hostvars"]["app-01"]["vm_name"] == {"__ansible_unsafe": "app-01"}


def test_default_subscription_and_graph(seeded, run_inventory):
    emulator, _sub_a = seeded
    run = run_inventory(emulator, {"power_states": ["all"]}, "--graph")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "@all:"
    graph, current = {}, None
    for line in lines[1:]:
        group = re.match(r"^  \|--@(\w+):$", line)
        host = re.match(r"^  \|  \|--(\S+)$", line)
        if group:
            current = group.group(1)
            graph[current] = set()
        elif host:
            graph[current].add(host.group(1))
        else:
            pytest.fail("unexpected --graph line %r" % line)
    sub_a_all = {"web-01", "web-02", "web-03", "web-04", "app-01", "app-02", "lnx-01", "lnx-02"}
    assert graph == {
        "ungrouped": set(),
        "windows": sub_a_all - {"lnx-01", "lnx-02"},
        "linux": {"lnx-01", "lnx-02"},
        "power_running": sub_a_all - {"web-04"},
        "power_deallocated": {"web-04"},
        "location_westeurope": sub_a_all - {"lnx-01", "lnx-02"},
        "location_northeurope": {"lnx-01", "lnx-02"},
    }
    assert len(run.arm) == 2 * pages(VMS_PER_SUB["a"])  # only the auth subscription, two passes

    windows = run_inventory(emulator, {}, "--graph", "windows")
    assert windows.stdout.splitlines()[0] == "@windows:"
    assert {line.split("--", 1)[1] for line in windows.stdout.splitlines()[1:]} == {
        "web-01", "web-02", "web-03", "app-01", "app-02"}


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("config, expected", [
    ({"power_states": ["all"]}, RUNNING | {"web-04", "db-01"}),
    ({"power_states": ["deallocated", "stopped"]}, {"web-04", "db-01"}),
    ({"os_type": "Windows"}, RUNNING - {"lnx-01", "lnx-02", "lab-01"}),
    ({"os_type": "Linux"}, {"lnx-01", "lnx-02", "lab-01"}),
    ({"exclude_resource_groups": ["RG-WEB", "rg-l*"]}, {"app-01", "app-02", "web-01", "ops-01"}),
    ({"include_resource_groups": ["rg-*"], "exclude_resource_groups": ["rg-app", "rg-linux", "rg-lab"]},
     {"web-01.rg-web", "web-02", "web-03", "web-01.rg-edge", "ops-01"}),
    ({"include_vm_names": ["WEB-*", "ops-?1"], "exclude_vm_names": ["web-03"]},
     {"web-01.rg-web", "web-02", "web-01.rg-edge", "ops-01"}),
    ({"include_tags": {"env": "prod"}}, {"web-01.rg-web", "web-02", "web-03", "web-01.rg-edge"}),
    ({"include_tags": {"ENV": None}, "power_states": ["all"]},
     {"web-01.rg-web", "web-02", "web-03", "web-04", "app-02", "web-01.rg-edge", "db-01", "lab-01", "lab-02"}),
    ({"include_tags": ["env=dev"], "os_type": "Windows"}, {"app-02", "lab-02"}),
    ({"exclude_tags": ["remediation=skip", "tier"], "include_resource_groups": ["rg-OPS", "rg-edge"]}, {"web-01"}),
])
def test_filters(seeded, run_inventory, config, expected):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(sub_a, **config))
    assert run.returncode == 0, run.stderr
    assert run.hosts == expected


def test_resource_groups_are_listed_one_by_one(seeded, run_inventory):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(sub_a, include_resource_groups=["RG-WEB", "rg-edge"]))
    assert run.returncode == 0, run.stderr
    assert run.hosts == {"web-01.rg-web", "web-02", "web-03", "web-01.rg-edge"}
    # Each group's plain list is tried in every subscription: found once each, 404 elsewhere (skipped).
    plain = [r for r in run.arm if "/resourceGroups/" in r["path"]]
    found = sorted((r["subscription"], r["path"].split("/")[4].lower()) for r in plain if r["status"] == 200)
    assert found == sorted([(sub_a, "rg-web"), (sub_a, "rg-web"), (SUB_B, "rg-edge")])  # rg-web: 4 VMs, 2 pages
    assert len(plain) == 2 * 3 + 1
    # The statusOnly pass has no per-group form: one per subscription where a group was found, filtered here.
    status = [r for r in run.arm if "/resourceGroups/" not in r["path"]]
    assert all("statusOnly=true" in r["query"] for r in status)
    assert len(status) == pages(VMS_PER_SUB["a"]) + pages(VMS_PER_SUB["b"])
    assert not any("expand" in unquote(r["query"]).lower() for r in run.arm)

    missing = run_inventory(emulator, three_subs(sub_a, include_resource_groups=["rg-nowhere"]))
    assert "resource_group_not_found" in missing.stderr and "rg-nowhere" in missing.stderr
    assert "_meta" not in missing.stdout or json.loads(missing.stdout)["_meta"]["hostvars"] == {}


# --------------------------------------------------------------------------- constructed, hostnames


def test_keyed_groups_groups_compose_and_hostnames(seeded, run_inventory):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(
        sub_a, hostnames=["vm_name ~ '_' ~ (subscription_id | truncate(8, True, ''))"], strict=True,
        keyed_groups=[{"key": "vm_tags.env | default('none')", "prefix": "env"},
                      {"key": "resource_group | lower", "prefix": "rg"}],
        groups={"needs_vmaccess": "vmaccess is none", "agent_down": "agent_status != 'Ready'"},
        compose={"ansible_host": "computer_name ~ '.corp.example'", "sub_short": "subscription_id[:8]"}))
    assert run.returncode == 0, run.stderr
    short = sub_a[:8]
    assert "web-01_%s" % short in run.hosts and "web-01_22222222" in run.hosts
    assert "share host names" not in run.stderr
    assert run.group("env_prod") == {"web-01_%s" % short, "web-02_%s" % short, "web-03_%s" % short,
                                     "web-01_22222222"}
    assert run.group("env_dev") == {"lab-01_33333333", "lab-02_33333333"}  # app-02's tag key is 'Env'
    assert run.group("rg_rg_edge") == {"web-01_22222222"}
    assert run.group("agent_down") == {"app-02_%s" % short}
    assert run.group("needs_vmaccess") == run.hosts - {"app-01_%s" % short}
    hv = run.hostvars("ops-01_22222222")
    assert hv["ansible_host"] == "ops-01.corp.example" and hv["sub_short"] == "22222222"
    assert run.group("windows") and run.group("location_uksouth") == {"lab-01_33333333", "lab-02_33333333"}


def test_hostnames_id_no_default_groups_no_aliases(seeded, run_inventory):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(sub_a, hostnames=["id"], default_groups=False,
                                             azure_rm_aliases=False, os_type="Windows"))
    assert run.returncode == 0, run.stderr
    assert all(h.startswith("/subscriptions/") for h in run.hosts) and len(run.hosts) == 8
    assert run.groups == {"ungrouped": run.hosts}
    hv = run.hostvars(next(iter(run.hosts)))
    assert not {"id", "name", "tags", "powerstate", "os_disk", "os_profile", "vmid"} & set(hv)
    assert "reserved name" not in run.stderr


def test_hostname_collision_error(seeded, run_inventory):
    emulator, sub_a = seeded
    run = run_inventory(emulator, three_subs(sub_a, hostname_collisions="error"),
                        env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert run.returncode != 0
    assert "azure_vms [invalid_argument]" in run.stderr and "'web-01'" in run.stderr


# --------------------------------------------------------------------------- cache


def test_cache_second_run_makes_no_request(seeded, run_inventory, tmp_path):
    emulator, sub_a = seeded
    cache_dir = tmp_path / "inventory-cache"
    config = three_subs(sub_a, cache=True, cache_plugin="ansible.builtin.jsonfile",
                        cache_connection=str(cache_dir), cache_timeout=3600)
    run = functools.partial(run_inventory, workdir="cached")
    first = run(emulator, config)
    assert first.returncode == 0, first.stderr
    assert len(first.arm) == 10
    files = list(cache_dir.iterdir())
    assert len(files) == 1
    cached = files[0].read_text()
    assert emulator.env["AZURE_SECRET"] not in cached and "access_token" not in cached.lower()

    second = run(emulator, config)
    assert second.returncode == 0, second.stderr
    assert second.requests == []  # no ARM request, no token, no discovery
    assert second.data == first.data

    # Filters are applied after the cache: a new filter needs no new listing.
    narrowed = run(emulator, dict(config, os_type="Linux"))
    assert narrowed.requests == [] and narrowed.hosts == {"lnx-01", "lnx-02", "lab-01"}

    # Another scope (fewer subscriptions) is listed again; --flush-cache lists again.
    other = run(emulator, dict(config, subscriptions=[SUB_C]))
    assert len(other.arm) == 2 and other.hosts == {"lab-01", "lab-02"}
    flushed = run(emulator, config, "--list", "--flush-cache")
    assert len(flushed.arm) == 10 and flushed.hosts == RUNNING


# --------------------------------------------------------------------------- retries


def test_throttling_and_dropped_connections_are_retried(seeded, run_inventory):
    """429 with Retry-After and a dropped connection on list pages: retried by azure-core, same hosts."""
    emulator, sub_a = seeded
    control = emulator.control
    control.add_fault(action="status", status=429, retry_after=1, method="GET",
                      path=r"^/subscriptions/%s/providers/Microsoft\.Compute/virtualMachines$" % SUB_B, count=2)
    control.add_fault(action="drop_before", method="GET",
                      path=r"^/subscriptions/%s/providers/Microsoft\.Compute/virtualMachines$" % SUB_C, count=1)
    run = run_inventory(emulator, three_subs(sub_a))
    assert run.returncode == 0, run.stderr
    assert run.hosts == RUNNING
    throttled = [r for r in run.arm if r["status"] == 429]
    assert len(throttled) == 2 and all(r["subscription"] == SUB_B for r in throttled)
    assert len([r for r in run.arm if r["status"] == 200]) == 10  # every page once, after the retries
    assert {f["hits"] for f in control.faults()} == {2, 1}


# --------------------------------------------------------------------------- errors


FAIL_ENV = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}


def assert_clean_failure(run, reason, secret=None):
    assert run.returncode != 0
    assert "azure_vms [%s]" % reason in run.stderr, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    if secret:
        assert secret not in run.stderr + run.stdout


def test_wrong_secret(seeded, run_inventory):
    emulator, sub_a = seeded
    bad = "Not-The-Secret~123456"
    run = run_inventory(emulator, three_subs(sub_a), env=dict(FAIL_ENV, AZURE_SECRET=bad))
    assert_clean_failure(run, "authentication_failed", bad)
    assert run.arm == []


def test_secret_in_config_is_never_printed(seeded, run_inventory):
    emulator, sub_a = seeded
    bad = "Config-Secret~987654"
    run = run_inventory(emulator, three_subs(sub_a, client_id=emulator.env["AZURE_CLIENT_ID"], secret=bad,
                                             tenant=emulator.env["AZURE_TENANT"]), "--list", "-vvv", env=FAIL_ENV)
    assert_clean_failure(run, "authentication_failed", bad)


def test_missing_subscription(seeded, run_inventory):
    emulator, _sub_a = seeded
    run = run_inventory(emulator, {}, env=dict(FAIL_ENV, AZURE_SUBSCRIPTION_ID=None))
    assert_clean_failure(run, "missing_subscription", emulator.env["AZURE_SECRET"])
    # With explicit subscriptions the auth subscription is not needed.
    ok = run_inventory(emulator, {"subscriptions": [SUB_C]}, env={"AZURE_SUBSCRIPTION_ID": None})
    assert ok.returncode == 0 and ok.hosts == {"lab-01", "lab-02"}


def test_unknown_subscription_fails_the_whole_inventory(seeded, run_inventory):
    emulator, sub_a = seeded
    unknown = "99999999-9999-4999-8999-999999999999"
    run = run_inventory(emulator, {"subscriptions": [sub_a, unknown]}, env=FAIL_ENV)
    assert_clean_failure(run, "subscription_not_found", emulator.env["AZURE_SECRET"])
    assert unknown in run.stderr
    assert '"_meta"' not in run.stdout  # never a partial host list


def test_principal_without_access_to_one_subscription(seeded, run_inventory):
    emulator, sub_a = seeded
    principal = emulator.control.add_principal(secret="Reader-Secret~2468", roles={sub_a: "Reader"},
                                               name="reader-a")
    env = dict(FAIL_ENV, AZURE_CLIENT_ID=principal["client_id"], AZURE_SECRET="Reader-Secret~2468")
    only_a = run_inventory(emulator, {"subscriptions": [sub_a]}, env=env)
    assert only_a.returncode == 0 and len(only_a.hosts) == 7
    both = run_inventory(emulator, {"subscriptions": [sub_a, SUB_B]}, env=env)
    assert_clean_failure(both, "authorization_failed", "Reader-Secret~2468")


def test_invalid_options(seeded, run_inventory):
    emulator, _sub_a = seeded
    run = run_inventory(emulator, {"power_states": ["runing"]}, env=FAIL_ENV)
    # Checked by ansible-core against the documented choices, before any call.
    assert run.returncode != 0 and "Invalid value ['runing'] for config 'power_states'" in run.stderr
    assert "Traceback" not in run.stderr and run.requests == []
    empty = run_inventory(emulator, {"power_states": []}, env=FAIL_ENV)
    assert_clean_failure(empty, "invalid_argument")
    assert empty.requests == []
    ignored = run_inventory(emulator, {}, name="fleet.azure_rm.yml")  # not our file name
    assert "azure_vms" not in ignored.stderr or "Failed to parse" in ignored.stderr
    assert ignored.requests == []


# --------------------------------------------------------------------------- playbook over the inventory


RESET_PLAY = [{
    "name": "Re-enable Remote Desktop on every Windows VM of the inventory",
    "hosts": "windows",
    "gather_facts": False,
    "tasks": [
        {"name": "Reset RDP", "azure_ops.vm_access.vm_access_reset": {
            "vm_id": "{{ vm_id }}", "reset": "rdp", "run_tag": "{{ run_tag }}", "poll_interval": 0.2},
         "delegate_to": "localhost", "register": "reset"},
        {"name": "Save the result", "ansible.builtin.copy": {
            "content": "{{ reset | to_json }}", "dest": "{{ results_dir }}/{{ inventory_hostname }}.json"},
         "delegate_to": "localhost"},
    ],
}]


def run_playbook(emulator, workdir, inventory, playbook, extra_vars):
    results = workdir / "results"
    results.mkdir(exist_ok=True)
    extra = dict(extra_vars, results_dir=str(results))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "-e", json.dumps(extra)]
    proc = subprocess.run(cmd, cwd=str(workdir), env=ansible_env(emulator.env, workdir), capture_output=True,
                          text=True, timeout=PLAYBOOK_TIMEOUT_S, check=False)
    out = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    for p in results.glob("*.json"):
        p.unlink()
    return proc, out


def test_playbook_resets_rdp_on_the_windows_group(fresh_emulator, tmp_path):
    emulator = fresh_emulator
    sub_a = emulator.env["AZURE_SUBSCRIPTION_ID"]
    emulator.control.add_fleet({"seed": 5, "subscriptions": [
        {"id": sub_a, "resource_groups": [{"name": "rg-web", "location": "westeurope", "vms": [
            {"name": "web-{i:02d}", "count": 2, "rdp": "broken", "extension_duration_s": 30},
            {"name": "web-off", "power_state": "deallocated", "rdp": "broken"},
            {"name": "lnx-01", "os": "linux"}]}]},
        {"id": SUB_B, "resource_groups": [{"name": "rg-edge", "location": "eastus", "vms": [
            {"name": "edge-01", "rdp": "broken", "extension_duration_s": 30}]}]},
    ]})
    inventory = tmp_path / "fleet.azure_vms.yml"
    inventory.write_text(yaml.safe_dump({"plugin": "azure_ops.vm_access.azure_vms",
                                         "subscriptions": [sub_a, SUB_B], "azure_rm_aliases": False}))
    playbook = tmp_path / "reset.yml"
    playbook.write_text(yaml.safe_dump(RESET_PLAY))
    since = emulator.control.counters()["last_seq"]

    proc, results = run_playbook(emulator, tmp_path, inventory, playbook, {"run_tag": "INC-7"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(results) == {"web-01", "web-02", "edge-01"}
    assert all(r["changed"] and r["extension"]["provisioning_state"] == "Succeeded" for r in results.values())
    for sub, rg, name in ((sub_a, "rg-web", "web-01"), (sub_a, "rg-web", "web-02"), (SUB_B, "rg-edge", "edge-01")):
        guest = emulator.control.vm(sub, rg, name)["guest"]
        assert guest["rdp_enabled"] and guest["firewall_rule_enabled"], name
    assert not emulator.control.vm(sub_a, "rg-web", "web-off")["guest"]["rdp_enabled"]  # filtered out
    assert "reserved name" not in proc.stdout + proc.stderr
    assert emulator.env["AZURE_SECRET"] not in proc.stdout + proc.stderr

    # The inventory's own requests: two list passes per subscription; everything else is the module's.
    reads = [r for r in emulator.control.requests(since=since) if r["kind"] == "read"]
    lists = [r for r in reads if LIST_PATH.match(r["path"])]
    assert len(lists) == 2 * 2

    again, results = run_playbook(emulator, tmp_path, inventory, playbook, {"run_tag": "INC-7"})
    assert again.returncode == 0, again.stdout
    assert not any(r["changed"] for r in results.values())  # same ticket: nothing to do


@pytest.mark.skipif(not (REPO / "playbooks" / "reset_rdp.yml").exists(),
                    reason="playbooks/reset_rdp.yml does not exist yet")
def test_reset_rdp_playbook_with_this_inventory_only(fresh_emulator, tmp_path):
    """playbooks/reset_rdp.yml, with this plugin as its only inventory (it targets the windows group)."""
    emulator = fresh_emulator
    sub_a = emulator.env["AZURE_SUBSCRIPTION_ID"]
    emulator.control.add_fleet({"seed": 5, "subscriptions": [
        {"id": sub_a, "resource_groups": [{"name": "rg-web", "location": "westeurope", "vms": [
            {"name": "web-{i:02d}", "count": 3, "rdp": "broken", "extension_duration_s": 30},
            {"name": "web-off", "power_state": "deallocated", "rdp": "broken"},
            {"name": "lnx-01", "os": "linux"}]}]},
        {"id": SUB_B, "resource_groups": [{"name": "rg-edge", "location": "eastus", "vms": [
            {"name": "edge-01", "rdp": "broken", "extension_duration_s": 30},
            {"name": "web-01", "rdp": "broken", "extension_duration_s": 30}]}]},
    ]})
    inventory = tmp_path / "fleet.azure_vms.yml"
    inventory.write_text(yaml.safe_dump({"plugin": "azure_ops.vm_access.azure_vms",
                                         "subscriptions": [sub_a, SUB_B]}))
    reports = tmp_path / "reports"
    since = emulator.control.counters()["last_seq"]
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(REPO / "playbooks" / "reset_rdp.yml"),
           "-e", json.dumps({"vm_access_run_tag": "INC-7", "vm_access_poll_interval": 0.2,
                             "vm_access_report_dir": str(reports)})]
    env = ansible_env(emulator.env, tmp_path, {"PWD": str(tmp_path)})
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=PLAYBOOK_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fixed = ((sub_a, "rg-web", "web-01"), (sub_a, "rg-web", "web-02"), (sub_a, "rg-web", "web-03"),
             (SUB_B, "rg-edge", "edge-01"), (SUB_B, "rg-edge", "web-01"))
    for sub, rg, name in fixed:
        guest = emulator.control.vm(sub, rg, name)["guest"]
        assert guest["rdp_enabled"] and guest["firewall_rule_enabled"], (sub, name)
    assert not emulator.control.vm(sub_a, "rg-web", "web-off")["guest"]["rdp_enabled"]  # not running: not a host
    report = json.loads(next(reports.glob("*.json")).read_text())
    outcome = {vm["host"]: vm["outcome"] for vm in report["vms"]}
    assert outcome == {"web-01.rg-web": "changed", "web-02": "changed", "web-03": "changed",
                       "edge-01": "changed", "web-01.rg-edge": "changed"}
    lists = [r for r in emulator.control.requests(since=since)
             if r["kind"] == "read" and LIST_PATH.match(r["path"]) and "/resourceGroups/" not in r["path"]]
    assert len(lists) >= 2  # the inventory's one list per subscription (the fleet module may list too)
    assert emulator.env["AZURE_SECRET"] not in proc.stdout + proc.stderr
