"""Peak memory of the fleet password reset: playbooks/reset_password.yml over 20 emulated VMs (role default
max_workers 16), three runs; os.wait4 on ansible-playbook gives the largest process of the tree (not a test).

    .venv/bin/python bench/fleet_password_memory.py [--vms 20] [--runs 3]

Each run starts from a freshly seeded fleet and checks every new password in the emulated guests.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulator import EmulatorProcess  # noqa: E402
from tests.emulator.pytest_plugin import emulator_env_vars  # noqa: E402

PASSWORD = "Wind0ws-Reset!2026x"


def windows_vm(name):
    return {"name": name, "os": "windows", "admin_username": "azureadmin",
            "accounts": [{"name": "azureadmin", "admin": True, "password": "Old-Passw0rd!2020"}]}


def one_run(emu, vms, run_tag):
    emu.control.reset()
    sub = emu.env["AZURE_SUBSCRIPTION_ID"]
    emu.control.add_fleet({"subscriptions": [{"id": sub, "resource_groups": [
        {"name": "rg", "location": "westeurope", "vms": vms}]}]})
    work = Path(tempfile.mkdtemp())
    hosts = dict((vm["name"], {"resource_group": "rg", "vm_name": vm["name"]}) for vm in vms)
    (work / "inventory.json").write_text(json.dumps({"windows": {"hosts": hosts}}))
    (work / "extra.json").write_text(json.dumps({"vm_access_password": PASSWORD, "vm_access_poll_interval": 0.3,
                                                 "vm_access_report_dir": str(work / "reports"),
                                                 "vm_access_run_tag": run_tag}))
    env = emulator_env_vars(emu)
    env.update(ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
               PATH=os.path.dirname(sys.executable) + ":" + env["PATH"])
    started = time.monotonic()
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                             str(ROOT / "playbooks" / "reset_password.yml"), "-i", "inventory.json", "-e", "@extra.json"],
                            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    set_everywhere = all(emu.control.verify_password(sub, "rg", vm["name"], "azureadmin", PASSWORD) for vm in vms)
    return {"rss_mib": usage.ru_maxrss // 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
            "wall_s": time.monotonic() - started, "ok": set_everywhere and status == 0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    vms = [windows_vm("web-%02d" % i) for i in range(args.vms)]
    with EmulatorProcess(tempfile.mkdtemp(), time_scale=0.02) as emu:
        runs = [one_run(emu, vms, "MEM-%d" % i) for i in range(args.runs)]
    print("| run | peak RSS MiB | CPU s | wall s | every password set |")
    print("|---|---|---|---|---|")
    for i, run in enumerate(runs, 1):
        print("| %d | %d | %.1f | %.1f | %s |" % (i, run["rss_mib"], run["cpu_s"], run["wall_s"], run["ok"]))
    medians = [median(run[key] for run in runs) for key in ("rss_mib", "cpu_s", "wall_s")]
    print("| median | %d | %.1f | %.1f | |" % tuple(medians))
    return 0 if all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
