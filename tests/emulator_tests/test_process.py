"""The process: binds 127.0.0.1 only, writes env files, stops cleanly; fleet files and reset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.emulator import EmulatorProcess, load_fleet
from tests.emulator.fleet import FleetError

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


def _listening_addresses(pid: int) -> list[str]:
    """Local addresses of LISTEN sockets owned by pid, from /proc (hex ip:port)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as fh:
            for line in fh.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:
                    found.append(f"{table}:{cols[1]}")
    return found


def test_binds_only_loopback(emulator):
    addresses = _listening_addresses(emulator.pid)
    ports = (emulator.info["port"], int(emulator.info["https_proxy"].rsplit(":", 1)[1]))   # HTTPS + Key Vault proxy
    assert sorted(addresses) == sorted(f"tcp:0100007F:{port:04X}" for port in ports)


def test_cli_env_files_and_clean_shutdown(tmp_path):
    state = tmp_path / "state"
    fleet = {"seed": 3, "resource_groups": [{"name": "rg", "vms": [{"name": "v{i}", "count": 3}]}]}
    process = EmulatorProcess(state, fleet=fleet, time_scale=0.05, extra_args=["--page-size", "2", "--lenient"])
    process.start(timeout=30)
    try:
        lines = (state / "env.sh").read_text().splitlines()
        names = [line.split("=", 1)[0].replace("export ", "") for line in lines]
        assert names == ["AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT",
                         "AZURE_CLOUD_ENVIRONMENT", "REQUESTS_CA_BUNDLE", "AZURE_EMULATOR_URL",
                         "AZURE_EMULATOR_CONTROL_KEY", "AZURE_EMULATOR_KEY_VAULT_URL", "AZURE_EMULATOR_HTTPS_PROXY",
                         "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"]
        assert process.env["HTTPS_PROXY"] == process.info["https_proxy"]
        assert process.info["https_proxy"].startswith("http://127.0.0.1:")
        assert process.env["AZURE_EMULATOR_KEY_VAULT_URL"] == ""            # this fleet has no vault
        assert process.env["AZURE_CLOUD_ENVIRONMENT"] == process.url
        assert process.info["pid"] == process.pid and process.info["port"] > 0
        for key in ("audience", "ca_file", "reader", "msi", "subscriptions"):
            assert key in process.info
        assert process.info["reader"]["secret"] not in (state / "env.sh").read_text()
        assert oct((state / "env.sh").stat().st_mode)[-3:] == "600"
        assert process.control.config()["page_size"] == 2
        assert process.control.config()["time_scale"] == 0.05
        assert process.control.config()["lenient"] is True and process.info["lenient"] is True
        assert len(process.control.vms()) == 3
    finally:
        assert process.stop() == 0


def test_sigint_also_stops_cleanly(tmp_path):
    process = EmulatorProcess(tmp_path / "s").start(timeout=30)
    process.process.send_signal(signal.SIGINT)
    assert process.process.wait(timeout=10) == 0
    process.stop()


def test_bad_fleet_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("resource_groups:\n  - name: rg\n    vms:\n      - name: v\n        power_state: sleeping\n")
    with pytest.raises(FleetError, match=r"vms\[0\]\.power_state: 'sleeping' is not one of"):
        load_fleet(bad)
    with pytest.raises(FleetError, match="count > 1"):
        load_fleet({"resource_groups": [{"name": "rg", "vms": [{"name": "v", "count": 2}]}]})
    with pytest.raises(FleetError, match="unknown keys"):
        load_fleet({"resource_groups": [{"name": "rg", "vms": [{"name": "v", "colour": "red"}]}]})
    result = subprocess.run([sys.executable, "-m", "tests.emulator", "serve", "--fleet", str(bad),
                             "--state-dir", str(tmp_path / "x")], cwd=REPO, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 2 and "power_state" in result.stderr


def test_demo_fleet_is_valid_and_varied():
    fleet = load_fleet(None)
    vms = [vm for sub in fleet["subscriptions"] for rg in sub["resource_groups"] for vm in rg["vms"]]
    assert any(vm.get("extension", {}).get("name") == "myVMAccess" for vm in vms)
    assert any(vm.get("agent") == "not_ready" for vm in vms)
    assert any(vm.get("power_state") == "deallocated" for vm in vms)


def test_distributions_are_reproducible(fresh_emulator):
    fleet = {"seed": 42, "resource_groups": [{"name": "rg-dist", "vms": [{
        "name": "d-{i:03d}", "count": 200, "power_state": {"running": 0.9, "deallocated": 0.1},
        "os": {"windows": 0.8, "linux": 0.2}, "rdp": {"ok": 0.5, "broken": 0.5}}]}]}
    fresh_emulator.control.reset(fleet)
    first = Counter((v["power_state"], v["os_type"]) for v in fresh_emulator.control.vms())
    fresh_emulator.control.reset(fleet)
    second = Counter((v["power_state"], v["os_type"]) for v in fresh_emulator.control.vms())
    assert first == second
    assert 150 <= sum(n for (p, _os), n in first.items() if p == "running") <= 195
    assert 20 <= sum(n for (_power, o), n in first.items() if o == "Linux") <= 60


def test_reset_clears_state_but_keeps_principals(fresh_emulator):
    control = fresh_emulator.control
    control.add_fleet({"resource_groups": [{"name": "rg", "vms": [{"name": "v"}]}]})
    control.add_fault(status=500, path="nothing-matches")
    assert control.reset()["vms_total"] == 0
    assert control.faults() == [] and control.vms() == []
    assert control.requests() == [] and control.counters()["total"] == 0
    assert any(p["client_id"] == fresh_emulator.env["AZURE_CLIENT_ID"] for p in control.principals())
    assert control.reset(initial=True)["vms_total"] == 15   # back to the start fleet (demo)
