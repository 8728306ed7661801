"""What the built-in run commands do inside the simulated guest, and what they print.

Effects and output lines follow Microsoft's published scripts (Azure/azure-support-scripts
``RunCommand/Windows/<Id>/<Id>.ps1``): the emulator prints what those scripts' Write-Host /
Write-Output calls and the tools they call (netsh, Restart-Service, ipconfig) would print, with the
guest's values. A command runs when its operation completes, never at POST time.

``RunPowerShellScript`` cannot run PowerShell: it recognises the collection's read-only check by
its marker line and answers with ``AZOPS_RDP_CHECK <json>``; any other script succeeds silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .rdp import (LISTENER_VALUES, POLICY_KEY, RDP_TCP_KEY, add_custom_port_rule, builtin_admin, check_document,
                  domain_joined, domain_name, enable_rdp_rule_group, new_self_signed_cert, restart_termservice)
from .runcommand_docs import CHECK_MARKER

CHECK_PREFIX = "AZOPS_RDP_CHECK "
POLICY_HINT = ("Set Computer Configuration\\Policies\\Administrative Templates: Policy definitions\\Windows "
               "Components\\Remote Desktop Services\\Remote Desktop Session Host\\")
NETSH_NO_SERVICE = ("An error occurred while attempting to contact the Windows Firewall service. Make sure that the "
                    "service is running and try your request again.")
TERMSERVICE_START_FAILED = ("Restart-Service : Service 'Remote Desktop Services (TermService)' cannot be started due "
                            "to the following error: Cannot start service TermService on computer '.'.")


@dataclass
class GuestFacts:
    """What the machine's network looks like from inside (IPConfig, ifconfig)."""
    computer_name: str
    private_ip: str
    subnet_mask: str
    gateway: str
    mac: str
    dns_suffix: str


@dataclass
class CommandRun:
    parameters: dict            # lower-case name -> value (strings, as Run Command passes them)
    script: list[str]
    facts: GuestFacts
    now: float                  # wall epoch of the run's end (certificate dates)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def out(self, *lines: str) -> None:
        self.stdout.extend(lines)

    def err(self, *lines: str) -> None:
        self.stderr.extend(lines)


def is_rdp_check(script: list[str]) -> bool:
    lines = (line.strip() for chunk in script for line in str(chunk).splitlines())
    return any(line == CHECK_MARKER for line in lines)


def _reg(value) -> str:
    return "" if value is None else str(value)


# --- Windows ---------------------------------------------------------------------------------

def rdp_settings(guest, run: CommandRun) -> None:
    """Prints port, policy and listener values; not domain-joined, it resets every non-default value."""
    rdp, joined = guest.rdp, domain_joined(guest)
    if joined:
        run.out(f"Domain: {domain_name(guest)}")
    else:
        run.out("Not domain joined")
        rdp.listener["LanAdapter"] = 0
    run.out(f"{RDP_TCP_KEY}\\PortNumber: {guest.rdp_port}",
            f"{POLICY_KEY}\\fDenyTSConnections: {_reg(rdp.policy_deny_ts_connections)}")
    for value in LISTENER_VALUES:
        current = rdp.listener.get(value.name)
        run.out(f"{value.key}\\{value.name}: {_reg(current)}")
        if current == value.expected:
            continue
        if not joined:
            run.out(f"Reset value to expected: {value.expected}")
            rdp.listener[value.name] = value.expected
        elif current is not None:
            run.out(POLICY_HINT + value.policy)


def _restart_termservice(guest, run: CommandRun) -> None:
    if not restart_termservice(guest.rdp):
        run.err(TERMSERVICE_START_FAILED)


def set_rdp_port(guest, run: CommandRun) -> None:
    """Enables RDP (Terminal Server key), moves the port (restarting TermService) and opens it."""
    raw = str(run.parameters.get("rdpport", "3389")).strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        run.err(f"Cannot convert value \"{raw}\" to type \"System.Int32\". Error: \"Input string was not in a "
                "correct format.\"")
        return
    port = int(raw)
    guest.rdp_enabled = True
    run.out(f"Get RDP PortNumber: {guest.rdp_port}")
    if guest.rdp_port != port:
        run.out(f"Setting RDP PortNumber to {port}")
        guest.rdp_port = port
        _restart_termservice(guest, run)
    if not guest.firewall_service_running:
        run.out("", NETSH_NO_SERVICE, "")
    elif port == 3389:
        run.out("", f"Updated {enable_rdp_rule_group(guest)} rule(s).", "Ok.", "")
    else:
        add_custom_port_rule(guest.rdp, port)
        run.out("Ok.", "")


def reset_rdp_cert(guest, run: CommandRun) -> None:
    """Drops the certificate binding and resets listener security; Windows makes a new self-signed one."""
    rdp = guest.rdp
    run.out("Clear security certificates. Removes SSLCertificateSHA1Hash from the registry.")
    rdp.min_encryption_level = 1
    rdp.security_layer = 0
    run.out("Restart the service")
    _restart_termservice(guest, run)
    new_self_signed_cert(rdp, run.now)


def disable_nla(guest, run: CommandRun) -> None:
    """Registry only: the listener keeps requiring NLA until the VM restarts (docs; the script says so)."""
    run.out("Configuring registry to disable Network Level Authentication (NLA).")
    guest.rdp.user_authentication = 0
    run.out("Restart the VM for the change to take effect.")


def enable_admin_account(guest, run: CommandRun) -> None:
    """Enables the SID -500 local account. A domain controller has no local accounts: nothing is found, and
    the script then says the account is enabled."""
    admin = None if guest.domain_controller else builtin_admin(guest)
    if admin is None or admin.enabled:
        run.out("Admin account is enabled.")
        return
    run.out("Admin account was disabled. Enabling the Admin account.")
    admin.enabled = True
    host, name = run.facts.computer_name, admin.name
    relative = f'Win32_UserAccount.Domain="{host}",Name="{name}"'
    run.out("", f"Path          : \\\\{host}\\root\\cimv2:{relative}", f"RelativePath  : {relative}",
            f"Server        : {host}", "NamespacePath : root\\cimv2", "ClassName     : Win32_UserAccount",
            "IsClass       : False", "IsInstance    : True", "IsSingleton   : False", "")


def enable_remote_ps(guest, run: CommandRun) -> None:
    """PowerShell remoting with a WinRM HTTPS listener on 5986; a second run finds the listener there."""
    rdp = guest.rdp
    run.out("WinRM is already set up to receive requests on this computer.",
            "WinRM is already set up for remote management on this computer.")
    if not guest.firewall_service_running:
        run.err("New-NetFirewallRule : The service cannot be started, either because it is disabled or because "
                "it has no enabled devices associated with it.")
    else:
        run.out("", "Name          : Allow WinRM HTTPS", "DisplayName   : WinRM HTTPS", "Enabled       : True",
                "Direction     : Inbound", "Action        : Allow", "")
    if rdp.remote_ps_enabled:
        run.err("WSManFault", "    Message = A listener with the same Address and Transport already exists.")
        return
    rdp.remote_ps_enabled = True
    run.out("ResourceCreated", "    Address = http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous")


def ipconfig(guest, run: CommandRun) -> None:
    f = run.facts
    run.out("", "Windows IP Configuration", "",
            f"   Host Name . . . . . . . . . . . . : {f.computer_name}",
            f"   Primary Dns Suffix  . . . . . . . : {domain_name(guest) or ''}",
            "   Node Type . . . . . . . . . . . . : Hybrid",
            "   IP Routing Enabled. . . . . . . . : No",
            "   WINS Proxy Enabled. . . . . . . . : No",
            f"   DNS Suffix Search List. . . . . . : {f.dns_suffix}", "", "Ethernet adapter Ethernet:", "",
            f"   Connection-specific DNS Suffix  . : {f.dns_suffix}",
            "   Description . . . . . . . . . . . : Microsoft Hyper-V Network Adapter",
            f"   Physical Address. . . . . . . . . : {f.mac}",
            "   DHCP Enabled. . . . . . . . . . . : Yes",
            f"   IPv4 Address. . . . . . . . . . . : {f.private_ip}(Preferred)",
            f"   Subnet Mask . . . . . . . . . . . : {f.subnet_mask}",
            f"   Default Gateway . . . . . . . . . : {f.gateway}",
            "   DHCP Server . . . . . . . . . . . : 168.63.129.16",
            "   DNS Servers . . . . . . . . . . . : 168.63.129.16", "")


def run_powershell_script(guest, run: CommandRun) -> None:
    """Only the collection's read-only check is understood; it reads the guest and changes nothing."""
    if is_rdp_check(run.script):
        run.out(CHECK_PREFIX + json.dumps(check_document(guest), separators=(",", ":")))


# --- Linux -----------------------------------------------------------------------------------

def linux_ifconfig(guest, run: CommandRun) -> None:
    f = run.facts
    run.out("eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500",
            f"        inet {f.private_ip}  netmask {f.subnet_mask}", f"        ether {f.mac.replace('-', ':').lower()}",
            "", "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536", "        inet 127.0.0.1  netmask 255.0.0.0")


def _nothing(guest, run: CommandRun) -> None:
    """A shell script the emulator cannot run: succeeds with empty output."""


COMMANDS = {
    "runpowershellscript": run_powershell_script, "rdpsettings": rdp_settings, "setrdpport": set_rdp_port,
    "resetrdpcert": reset_rdp_cert, "disablenla": disable_nla, "enableadminaccount": enable_admin_account,
    "enableremoteps": enable_remote_ps, "ipconfig": ipconfig, "runshellscript": _nothing, "ifconfig": linux_ifconfig,
}


def run_builtin(command_id: str, guest, run: CommandRun) -> tuple[str, str]:
    """Carry out a command on the guest; returns (stdout, stderr) before any truncation."""
    COMMANDS[command_id.lower()](guest, run)
    return "\n".join(run.stdout), "\n".join(run.stderr)
