"""The azure_vms inventory plugin in real Ansible processes, against the emulator: the smoke set.

What only an Ansible process shows: ``ansible-inventory --list`` output (its JSON shape, with the
``__ansible_unsafe`` markers), and a playbook that uses the inventory's hosts and host variables.
Everything else about the plugin (filters, groups, host variables, cache, retries, errors) is
tested in-process in tests/inventory/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.inventory.fleet import ALL_LIST_CALLS, LIST_PATH, RUNNING, SUB_B, arm_calls, identity_calls, seed, three_subs

from .conftest import ansible_env

pytestmark = [pytest.mark.emulator, pytest.mark.e2e]

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
INVENTORY_TIMEOUT_S = 120
PLAYBOOK_TIMEOUT_S = 240


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


# --------------------------------------------------------------------------- ansible-inventory


def test_ansible_inventory_list_over_three_subscriptions(fresh_emulator, tmp_path):
    emulator = fresh_emulator
    sub_a = seed(emulator)
    source = tmp_path / "fleet.azure_vms.yml"
    source.write_text(yaml.safe_dump(dict({"plugin": "azure_ops.vm_access.azure_vms"}, **three_subs(sub_a))))
    since = emulator.control.counters()["last_seq"]
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], cwd=str(tmp_path),
                          env=ansible_env(emulator.env, tmp_path, {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}),
                          capture_output=True, text=True, timeout=INVENTORY_TIMEOUT_S, check=False)
    requests = emulator.control.requests(since=since)
    assert proc.returncode == 0, proc.stderr
    raw = json.loads(proc.stdout)
    data = unwrap(raw)
    assert set(data["_meta"]["hostvars"]) == RUNNING
    assert set(data["all"]["children"]) == {"ungrouped", "windows", "linux", "power_running", "location_westeurope",
                                            "location_northeurope", "location_eastus", "location_uksouth"}
    assert set(data["linux"]["hosts"]) == {"lnx-01", "lnx-02", "lab-01"}
    # Strings from Azure are marked unsafe (every ansible-core release shows them so): a tag can never inject
    # a template (test_a_tag_is_data_never_a_template).
    assert raw["_meta"]["hostvars"]["app-01"]["vm_name"] == {"__ansible_unsafe": "app-01"}
    assert raw["_meta"]["hostvars"]["lab-01"]["vm_tags"] == {"env": {"__ansible_unsafe": "dev"}}
    # One token, list calls only, every page once.
    assert len(identity_calls(requests)) == 1
    arm = arm_calls(requests)
    assert len(arm) == ALL_LIST_CALLS and all(LIST_PATH.match(r["path"]) for r in arm)
    assert "web-01 -> web-01.rg-edge" in proc.stderr
    assert "reserved name" not in proc.stderr and "Traceback" not in proc.stderr
    assert emulator.env["AZURE_SECRET"] not in proc.stdout + proc.stderr


def test_a_tag_is_data_never_a_template(fresh_emulator, tmp_path):
    """Anyone who may tag a VM can write Jinja into a tag: it reaches the inventory's compose and keyed_groups
    and a play's tasks as text, and no lookup ever runs on the controller."""
    emulator = fresh_emulator
    sub_a = emulator.env["AZURE_SUBSCRIPTION_ID"]
    marker = tmp_path / "injected"
    payload = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker
    emulator.control.add_fleet({"seed": 5, "subscriptions": [{"id": sub_a, "resource_groups": [
        {"name": "rg-web", "location": "westeurope", "vms": [{"name": "web-01", "tags": {"owner": payload}}]}]}]})
    inventory = tmp_path / "fleet.azure_vms.yml"
    inventory.write_text(yaml.safe_dump({"plugin": "azure_ops.vm_access.azure_vms", "subscriptions": [sub_a],
                                         "compose": {"owner": "vm_tags.owner"},
                                         "keyed_groups": [{"key": "vm_tags.owner", "prefix": "owner"}]}))
    playbook = tmp_path / "show.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"ansible.builtin.debug": {"msg": "composed={{ owner }} tag={{ vm_tags.owner }}"}}]}]))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)], cwd=str(tmp_path),
                          env=ansible_env(emulator.env, tmp_path), capture_output=True, text=True,
                          timeout=PLAYBOOK_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "composed=%s tag=%s" % (payload, payload) in proc.stdout
    assert not marker.exists()


# --------------------------------------------------------------------------- playbook over the inventory


RESET_PLAY = [{
    "name": "Re-enable Remote Desktop on every Windows VM of the inventory",
    "hosts": "windows",
    "gather_facts": False,
    "tasks": [
        {"name": "Reset RDP", "azure_ops.vm_access.vm_access_reset": {
            "vm_id": "{{ vm_id }}", "reset": "rdp", "run_tag": "{{ run_tag }}", "poll_interval": 0.2},
         "delegate_to": "localhost", "register": "reset"},
        # One copy for the whole play (one module run instead of one per host).
        {"name": "Save the results of every host", "ansible.builtin.copy": {
            "content": "{{ {'hosts': ansible_play_hosts_all,"
                       " 'results': ansible_play_hosts_all | map('extract', hostvars, 'reset') | list} | to_json }}",
            "dest": "{{ results_dir }}/results.json"},
         "run_once": True, "delegate_to": "localhost"},
    ],
}]


def run_playbook(emulator, workdir, inventory, playbook, extra_vars):
    results = workdir / "results"
    results.mkdir(exist_ok=True)
    extra = dict(extra_vars, results_dir=str(results))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "-e", json.dumps(extra)]
    proc = subprocess.run(cmd, cwd=str(workdir), env=ansible_env(emulator.env, workdir), capture_output=True,
                          text=True, timeout=PLAYBOOK_TIMEOUT_S, check=False)
    saved = results / "results.json"
    out = {}  # host -> its registered result
    if saved.exists():
        play = json.loads(saved.read_text())
        out = dict(zip(play["hosts"], play["results"]))
        saved.unlink()
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
    assert set(results) == {"web-01", "web-02", "edge-01"}
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
