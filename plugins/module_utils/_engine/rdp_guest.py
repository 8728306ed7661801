# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest's own view of Remote Desktop, read by a script the collection ships and changes nothing.

It runs through Run Command ``RunPowerShellScript`` as SYSTEM and only reads: the registry (the
Terminal Server and policy values, the RDP-Tcp listener), the TermService and firewall services, the
Remote Desktop firewall rules (the group's, and the one ``SetRDPPort`` adds for another port), the
listener certificate, domain membership and whether the secure channel to a domain controller works
(``Test-ComputerSecureChannel`` without ``-Repair``), and the built-in administrator (SID -500). The
built-in ``RDPSettings`` command is NOT a read: on a VM that is not domain-joined it resets listener
values to defaults, so it is only ever used as a repair.

The script prints one line ``AZOPS_RDP_CHECK <json>`` (schema version 1), kept small: Run Command
returns only the last 4,096 bytes of output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

MARKER = "AZOPS_RDP_CHECK "
SCHEMA_VERSION = 1

# The listener values RDPSettings looks at, with the values it expects (name, key, expected).
_LISTENER = (
    ("KeepAliveEnable", "pol", 1), ("KeepAliveInterval", "pol", 1), ("KeepAliveTimeout", "pol", 1),
    ("fDisableAutoReconnect", "pol", 0), ("fInheritReconnectSame", "tcp", 1), ("fReconnectSame", "tcp", 1),
    ("fInheritMaxSessionTime", "tcp", 1), ("fInheritMaxDisconnectionTime", "tcp", 1),
    ("MaxDisconnectionTime", "tcp", 0), ("MaxConnectionTime", "tcp", 0), ("fInheritMaxIdleTime", "tcp", 1),
    ("MaxIdleTime", "tcp", 0), ("MaxInstanceCount", "tcp", 4294967295), ("LanAdapter", "tcp", 0),
    ("TSServerDrainMode", "tcp", 0), ("fQueryUserConfigFromLocalMachine", "tcp", 1),
)

_SCRIPT_HEAD = r"""# azops-rdp-check v1
# azure_ops.vm_access: read-only Remote Desktop diagnosis. Reads only; changes nothing.
$ErrorActionPreference = 'SilentlyContinue'
$ts = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server'
$paths = @{ tcp = "$ts\WinStations\RDP-Tcp"; pol = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' }
function Read-Value($path, $name) { $item = Get-ItemProperty -Path $path -Name $name; if ($item) { $item.$name } else { $null } }
$expected = @(
"""

_SCRIPT_BODY = r""")
$nonDefault = @()
foreach ($entry in $expected) {
  $value = Read-Value $paths[$entry[1]] $entry[0]
  if ($null -eq $value -or [int64]$value -ne [int64]$entry[2]) { $nonDefault += $entry[0] }
}
$port = [int](Read-Value $paths.tcp 'PortNumber')
$general = Get-CimInstance -Namespace root\cimv2\TerminalServices -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-tcp'"
$thumb = $general.SSLCertificateSHA1Hash
$cert = $null
if ($thumb) { $cert = Get-Item "Cert:\LocalMachine\Remote Desktop\$thumb"; if (-not $cert) { $cert = Get-Item "Cert:\LocalMachine\My\$thumb" } }
$certDoc = @{ thumbprint = $thumb; found = [bool]$cert; not_after = $null; expired = $null; self_signed = $null }
if ($cert) {
  $certDoc.not_after = $cert.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
  $certDoc.expired = $cert.NotAfter -lt (Get-Date); $certDoc.self_signed = $cert.Subject -eq $cert.Issuer
}
$svc = Get-Service TermService
# the Remote Desktop group, and the rule SetRDPPort adds for another port (netsh, outside the group)
$fw = @(Get-NetFirewallRule -Group '@FirewallAPI.dll,-28752') + @(Get-NetFirewallRule -DisplayName 'Remote Desktop - Custom Port*')
$rules = @($fw | Where-Object { $_.Direction -eq 'Inbound' } | ForEach-Object {
  @{ name = $_.DisplayName; enabled = ($_.Enabled -eq 'True'); local_port = [string](($_ | Get-NetFirewallPortFilter).LocalPort -join ',') } })
$system = Get-CimInstance Win32_ComputerSystem
$admin = Get-LocalUser | Where-Object { $_.SID.Value -like 'S-1-5-*-500' } | Select-Object -First 1
$doc = [ordered]@{
  version = 1
  rdp = [ordered]@{ deny_ts_connections = Read-Value $ts 'fDenyTSConnections'; policy_deny_ts_connections = Read-Value $paths.pol 'fDenyTSConnections'
    port = $port; nla_required = ((Read-Value $paths.tcp 'UserAuthentication') -eq 1); security_layer = Read-Value $paths.tcp 'SecurityLayer'
    listener_non_default = $nonDefault }
  cert = $certDoc
  termservice = @{ status = [string]$svc.Status; start_type = [string]$svc.StartType }
  firewall = @{ service_running = ((Get-Service mpssvc).Status -eq 'Running'); rdp_rules = $rules }
  domain = @{ joined = [bool]$system.PartOfDomain; domain = $(if ($system.PartOfDomain) { $system.Domain } else { $null })
    secure_channel = $(if ($system.PartOfDomain) { [bool](Test-ComputerSecureChannel) } else { $null }) }
  admin = @{ name = $admin.Name; enabled = $(if ($admin) { [bool]$admin.Enabled } else { $null }) }
}
Write-Output ('AZOPS_RDP_CHECK ' + ($doc | ConvertTo-Json -Compress -Depth 5))
"""


def check_script():
    """The read-only check, as the lines Run Command's ``script`` takes."""
    expected = ",\n".join("  @('%s', '%s', %d)" % entry for entry in _LISTENER)
    return (_SCRIPT_HEAD + expected + "\n" + _SCRIPT_BODY).splitlines()


def parse_check_output(stdout, stderr, vm_name):
    """The check document from the script's output (the last marker line), or unexpected_response."""
    lines = [line for line in (stdout or "").splitlines() if line.startswith(MARKER)]
    try:
        document = json.loads(lines[-1][len(MARKER):]) if lines else None
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("version") != SCHEMA_VERSION:
        tail = (stderr or stdout or "no output").strip().splitlines()[-1:] or ["no output"]
        raise VmAccessError(
            "unexpected_response",
            "The read-only Remote Desktop check on %s did not report (last output: %s). Run it again; if it "
            "persists, check that PowerShell runs on the VM (Run Command RunPowerShellScript)." % (vm_name, tail[0][:300]))
    return document


def run_command_streams(result):
    """(stdout, stderr) of a Windows Run Command result document (``value``: StdOut / StdErr statuses)."""
    stdout = stderr = ""
    for status in (result or {}).get("value") or []:
        code = str(status.get("code") or "")
        if "/StdOut/" in code:
            stdout = status.get("message") or ""
        elif "/StdErr/" in code:
            stderr = status.get("message") or ""
        elif not stdout:  # Linux-shaped results put everything in one message
            stdout = status.get("message") or ""
    return stdout, stderr
