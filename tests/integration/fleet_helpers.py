"""Small fleets for module tests, seeded into the session emulator after a reset."""

RG = "rg-it"
PASSWORD = "Wind0ws-Reset!2026"   # never printed: every test scans its output for it
OLD_PASSWORD = "Old-Passw0rd!2020"


def seed(emulator, *vms, rg=RG):
    """Reset the emulator and seed ``vms`` (fleet-file VM entries) into one resource group."""
    sub = emulator.env["AZURE_SUBSCRIPTION_ID"]
    emulator.control.reset()
    emulator.control.add_fleet({"subscriptions": [{"id": sub, "resource_groups": [
        {"name": rg, "location": "westeurope", "vms": [dict(v) for v in vms]}]}]})
    emulator.control.clear_requests()
    return sub


def windows_vm(name, **fields):
    vm = {"name": name, "os": "windows", "admin_username": "azureadmin",
          "accounts": [{"name": "azureadmin", "admin": True, "password": OLD_PASSWORD}],
          "extension_duration_s": 30}
    vm.update(fields)
    return vm


def arm_writes(emulator, since=0):
    return [r for r in emulator.control.requests(since=since) if r["kind"] == "write"]


def arm_calls(emulator, since=0):
    return [r for r in emulator.control.requests(since=since) if r["kind"] in ("read", "write", "operation")]


def reset_task(register="r", no_log=None, **args):
    """A reset task; like a real playbook it carries no_log when it holds a password."""
    task = {"name": "reset", "azure_ops.vm_access.vm_access_reset": dict(args), "register": register}
    if no_log if no_log is not None else "password" in args:
        task["no_log"] = True
    return task


def info_task(register="i", **args):
    return {"name": "info", "azure_ops.vm_access.vm_access_info": dict(args), "register": register}
