"""Print the emulated guests of the demo fleet: what a reset really changed inside each VM.

Usage: python scripts/demo_guests.py STATE_DIR [--verify-password RG VM USER PASSWORD_ENV_VAR]
       python scripts/demo_guests.py STATE_DIR --add-fleet FLEET_FILE
       python scripts/demo_guests.py STATE_DIR --rdp RESOURCE_GROUP   (the guests' Remote Desktop state)
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator import ControlClient  # noqa: E402


def main(argv):
    info = json.loads((Path(argv[1]) / "env.json").read_text())
    control = ControlClient(info["url"], info["AZURE_EMULATOR_CONTROL_KEY"], info["ca_file"])
    if len(argv) > 2 and argv[2] == "--verify-password":
        rg, vm, user, env_var = argv[3:7]
        sub = info["AZURE_SUBSCRIPTION_ID"]
        ok = control.verify_password(sub, rg, vm, user, os.environ[env_var])
        print("guest %s/%s: the new password of %s %s" % (rg, vm, user, "works" if ok else "DOES NOT WORK"))
        return 0 if ok else 1
    if len(argv) > 2 and argv[2] == "--add-fleet":
        control.add_fleet(argv[3])
        return 0
    if len(argv) > 2 and argv[2] == "--rdp":
        return rdp_table(control, argv[3])
    print("%-10s %-10s %-8s %-12s %-6s %-9s %-6s %s" % ("group", "vm", "os", "power", "rdp", "firewall", "runs", "accounts"))
    for vm in sorted(control.vms(), key=lambda v: (v["resource_group"], v["name"])):
        state = control.vm(vm["subscription"], vm["resource_group"], vm["name"])
        guest = state["guest"]
        accounts = ",".join("%s%s" % (a["name"], "*" if a["admin"] else "") for a in guest["accounts"])
        print("%-10s %-10s %-8s %-12s %-6s %-9s %-6s %s" % (
            vm["resource_group"], vm["name"], state["os_type"], state["power_state"],
            "on" if guest["rdp_enabled"] else "OFF", "on" if guest["firewall_rule_enabled"] else "OFF",
            state["run_count"], accounts))
    return 0


def rdp_table(control, group):
    print("%-11s %-5s %-7s %-9s %-6s %-11s %s" % ("vm", "rdp", "port", "cert", "nla", "builtin", "NSGs"))
    for vm in sorted(control.vms(), key=lambda v: v["name"]):
        if vm["resource_group"] != group:
            continue
        state = control.vm(vm["subscription"], vm["resource_group"], vm["name"])
        rdp = state["guest"]["rdp"]
        cert = "missing" if not rdp["cert"]["found"] else "expired" if rdp["cert"]["expired"] else "valid"
        admin = rdp["builtin_admin"] or {}
        inbound = (state.get("network") or {}).get("rdp_from_internet") or {}
        print("%-11s %-5s %-7s %-9s %-6s %-11s %s" % (
            vm["name"], "on" if rdp["effective_enabled"] else "OFF", rdp["port"], cert, "on" if rdp["nla"] else "off",
            "enabled" if admin.get("enabled") else "DISABLED", "RDP port from Internet %s" % ("allowed" if inbound.get("allowed") else "DENIED")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
