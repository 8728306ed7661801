"""The built-in Run Command documents the emulator serves (GET .../locations/{loc}/runCommands[/{id}]).

Ids, OS types, the ``$schema`` URL and the parameter names are Azure's (REST examples RunCommand_List /
RunCommand_Get, Microsoft's run-command docs). Labels, descriptions and the ``script`` lines are our own
summaries of what each published script does: clients must match on ``id``, never on text. Only the
commands the emulator can carry out are listed (see README "Run Command").
"""

from __future__ import annotations

SCHEMA = "http://schema.management.azure.com/schemas/2016-11-17/runcommands.json"
CHECK_MARKER = "# azops-rdp-check v1"


def _doc(command_id: str, os_type: str, label: str, description: str, script: list[str],
         parameters: list[dict] | None = None) -> dict:
    doc = {"$schema": SCHEMA, "id": command_id, "osType": os_type, "label": label, "description": description,
           "script": script}
    if parameters is not None:
        doc["parameters"] = parameters
    return doc


DOCUMENTS = [
    _doc("RunPowerShellScript", "Windows", "Run a PowerShell script",
         "Runs the PowerShell lines given in the request's script property; parameters are passed to it.",
         ["param(", "    [string]$arg1,", "    [string]$arg2", ")",
          "Write-Output \"Script called with $arg1 and $arg2\""],
         [{"name": "arg1", "type": "string", "defaultValue": "value1"},
          {"name": "arg2", "type": "string", "defaultValue": "value2"}]),
    _doc("RDPSettings", "Windows", "Check and reset the RDP listener settings",
         "Prints the RDP port, the Remote Desktop policy and the listener values; on a VM that is not "
         "domain-joined it also sets the listener values back to their defaults.",
         ["# Reads PortNumber and the listener values of the RDP-Tcp listener and the Terminal Services policy.",
          "# Not domain-joined: every value that differs from its default is written back to the default.",
          "# Domain-joined: only names the group policy to change."]),
    _doc("SetRDPPort", "Windows", "Set the Remote Desktop port",
         "Enables Remote Desktop, sets its port (3389 when none is given) and opens that port in the firewall.",
         ["param($RDPPORT = 3389)",
          "# Enables Remote Desktop in the Terminal Server key, sets PortNumber and restarts TermService when the",
          "# port changes, then enables the Remote Desktop firewall rules (3389) or adds one for another port."],
         [{"name": "RDPPORT", "type": "string", "defaultValue": "3389", "required": False}]),
    _doc("ResetRDPCert", "Windows", "Reset the RDP listener certificate",
         "Removes the certificate binding of the RDP listener so Windows creates a new self-signed one, and "
         "resets the listener security settings.",
         ["# Removes SSLCertificateSHA1Hash, sets MinEncryptionLevel 1 and SecurityLayer 0, restarts TermService."]),
    _doc("DisableNLA", "Windows", "Disable Network Level Authentication",
         "Sets UserAuthentication to 0 on the RDP listener. Takes effect after the VM restarts.",
         ["# Sets UserAuthentication = 0 on the RDP-Tcp listener; a restart of the VM applies it."]),
    _doc("EnableAdminAccount", "Windows", "Enable the built-in administrator",
         "Enables the local account with the well-known administrator SID (-500) when it is disabled.",
         ["# Finds the local account whose SID ends in -500 and enables it if it is disabled."]),
    _doc("EnableRemotePS", "Windows", "Enable remote PowerShell",
         "Enables PowerShell remoting with an HTTPS listener on port 5986 and opens that port.",
         ["# Enable-PSRemoting, a firewall rule for TCP 5986 and a WinRM HTTPS listener with a self-signed "
          "certificate."]),
    _doc("IPConfig", "Windows", "Show the IP configuration",
         "Prints the address, subnet mask and gateway of every adapter (ipconfig /all).",
         ["ipconfig /all"]),
    _doc("RunShellScript", "Linux", "Run a shell script",
         "Runs the shell lines given in the request's script property; parameters are passed as environment.",
         ["echo \"Script called\""]),
    _doc("ifconfig", "Linux", "Show the network configuration",
         "Prints the configuration of every network interface.", ["ifconfig"]),
]
_BY_ID = {d["id"].lower(): d for d in DOCUMENTS}


def find_document(command_id: str) -> dict | None:
    return _BY_ID.get(str(command_id).lower())


def document_base(doc: dict) -> dict:
    """A list item: the document without script and parameters (RunCommandDocumentBase)."""
    return {k: v for k, v in doc.items() if k not in ("script", "parameters")}
