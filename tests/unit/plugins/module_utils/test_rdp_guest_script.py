"""The read-only guest check: the script the collection ships (read-only, marked, small), the parsing of
its output (the last marker line, schema version 1) and the streams of a Windows Run Command result."""

import json
import re

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_guest import (
    MARKER,
    SCHEMA_VERSION,
    check_script,
    parse_check_output,
    run_command_streams,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from tests.emulator.rdp import LISTENER_VALUES, POLICY_KEY

from .rdp_docs import RDP_SHADOW_RULE, RDP_TCP_RULE, RDP_UDP_RULE, guest_doc

RUN_COMMAND_SCRIPT_LIMIT = 256 * 1024   # Run Command's limit on a script
RUN_COMMAND_OUTPUT_TAIL = 4096          # what Run Command keeps of each output stream

# PowerShell that changes state: cmdlets with a writing verb (not as part of a name: '$x.Enabled', 'Reset' in
# 'ResetRDPCert'), and the methods, switches and tools that write.
STATE_CHANGING = [re.compile(p, re.IGNORECASE) for p in (
    r"(?<![\w$.-])(Set|New|Remove|Restart|Start|Stop|Enable|Disable|Rename|Add|Clear|Reset|Install|Uninstall|"
    r"Register|Unregister|Suspend|Resume|Update|Grant|Revoke|Unblock)-[a-z]+",
    r"\b(Write-EventLog|Invoke-CimMethod|Invoke-WmiMethod|Invoke-Expression|Invoke-Command)\b",
    r"-Repair\b",
    r"\breg(\.exe)?\s+(add|delete|import|load)\b",
    r"\bnetsh\b.*\b(set|add|delete|reset)\b",
    r"\bsc(\.exe)?\s+(config|stop|start|delete)\b",
    r"\.(Put|Delete|SetPassword|Enable|Disable|Create|InvokeMethod)\(",
)]


def code_lines():
    """The script's lines that PowerShell runs (full-line comments dropped)."""
    return [line for line in check_script() if not line.lstrip().startswith("#")]


def state_changes(line):
    return [m.group(0) for pattern in STATE_CHANGING for m in pattern.finditer(line)]


# --- the script -----------------------------------------------------------------------------------

def test_the_script_carries_its_marker_first():
    script = check_script()
    assert script[0] == "# azops-rdp-check v1"


def test_the_script_is_well_under_run_commands_limit():
    size = len("\n".join(check_script()).encode("utf-8"))
    assert 1000 < size < RUN_COMMAND_SCRIPT_LIMIT // 16


@pytest.mark.parametrize("line", [
    "Set-ItemProperty -Path $ts -Name fDenyTSConnections -Value 0",
    "New-NetFirewallRule -DisplayName x", "Remove-Item $p", "Restart-Service TermService -Force",
    "Start-Service mpssvc", "Stop-Service TermService", "Enable-NetFirewallRule -Group x",
    "Disable-LocalUser -Name a", "Rename-LocalUser -Name a -NewName b", "Add-Content x y", "Clear-ItemProperty x",
    "Reset-ComputerMachinePassword", "Test-ComputerSecureChannel -Repair", "reg add HKLM\\x /v y /d 1 /f",
    "netsh advfirewall firewall set rule group=\"remote desktop\" new enable=yes", "$s = Get-Service x; $s | Set-Service -StartupType Manual",
    "Invoke-CimMethod -ClassName Win32_TSGeneralSetting -MethodName SetUserAuthenticationRequired",
    "$general.Put()", "sc.exe config TermService start= demand",
])
def test_the_read_only_detector_catches_writes(line):
    # The detector must be able to fail: each of these changes the guest.
    assert state_changes(line), line


@pytest.mark.parametrize("line", [
    "$svc = Get-Service TermService", "function Read-Value($path, $name) { Get-ItemProperty -Path $path -Name $name }",
    "Test-ComputerSecureChannel", "$x | Where-Object { $_ } | Select-Object -First 1 | ForEach-Object { $_ }",
    "Write-Output ('AZOPS_RDP_CHECK ' + ($doc | ConvertTo-Json -Compress -Depth 5))",
    "$nonDefault += $entry[0]", "$certDoc.expired = $cert.NotAfter -lt (Get-Date)",
    "@{ name = $_.DisplayName; enabled = ($_.Enabled -eq 'True') }", "$certDoc.self_signed = $cert.Subject -eq $cert.Issuer",
])
def test_the_read_only_detector_lets_reads_through(line):
    assert state_changes(line) == []


def test_no_line_of_the_check_changes_state():
    offending = [(line, state_changes(line)) for line in code_lines() if state_changes(line)]
    assert offending == []


def test_the_secure_channel_is_tested_without_repair():
    calls = [line for line in code_lines() if "Test-ComputerSecureChannel" in line]
    assert calls and all("-Repair" not in line for line in calls)


def test_the_script_prints_one_marker_line_and_nothing_else():
    outputs = [line for line in code_lines() if re.search(r"\b(Write-(Output|Host|Verbose)|echo|Out-Host)\b", line)]
    assert outputs == ["Write-Output ('%s' + ($doc | ConvertTo-Json -Compress -Depth 5))" % MARKER]
    assert any(line.strip() == "version = %d" % SCHEMA_VERSION for line in code_lines())


def test_the_script_reports_every_section_the_findings_read():
    text = "\n".join(code_lines())
    for key in ("rdp", "cert", "termservice", "firewall", "domain", "admin", "deny_ts_connections",
                "policy_deny_ts_connections", "port", "nla_required", "listener_non_default", "service_running",
                "rdp_rules", "secure_channel", "joined", "local_port", "start_type", "expired", "found", "not_after"):
        assert re.search(r"\b%s = " % key, text), key


def test_the_listener_values_are_the_ones_rdpsettings_checks():
    # The emulator mirrors Microsoft's RDPSettings.ps1: same names, keys and defaults, same order.
    expected = ["  @('%s', '%s', %d)" % (v.name, "pol" if v.key == POLICY_KEY else "tcp", v.expected) for v in LISTENER_VALUES]
    script = check_script()
    start = script.index("$expected = @(") + 1
    assert [line.rstrip(",") for line in script[start:start + len(expected)]] == expected
    assert script[start + len(expected)] == ")"


def test_the_custom_port_rule_setrdpport_adds_is_read():
    # SetRDPPort opens another port with a netsh rule named 'Remote Desktop - Custom Port', outside the Remote
    # Desktop group: reading the group alone reports the firewall closed after every port repair.
    text = "\n".join(code_lines())
    assert "Get-NetFirewallRule -Group '@FirewallAPI.dll,-28752'" in text
    assert "Get-NetFirewallRule -DisplayName 'Remote Desktop - Custom Port*'" in text


def powershell_json(doc):
    """ConvertTo-Json -Compress as Windows PowerShell 5.1 writes it (it escapes < > ' & as \\u00XX)."""
    text = json.dumps(doc, separators=(",", ":"))
    for char in "<>'&":
        text = text.replace(char, "\\u%04x" % ord(char))
    return text


def realistic_output(extra_rules=0):
    """A domain-joined VM with every listener value off its default and a custom-port rule: near the largest
    document a real VM produces."""
    rules = [RDP_TCP_RULE, RDP_UDP_RULE, RDP_SHADOW_RULE, {"name": "Remote Desktop - Custom Port", "enabled": True,
                                                           "local_port": "3390"}]
    rules += [{"name": "Remote Desktop - Custom Port", "enabled": True, "local_port": str(40000 + i)}
              for i in range(extra_rules)]
    doc = guest_doc(rdp={"port": 3390, "listener_non_default": [v.name for v in LISTENER_VALUES], "security_layer": 2},
                    firewall={"rdp_rules": rules})
    doc["domain"] = {"joined": True, "domain": "emea.corp.contoso-holdings.example", "secure_channel": False}
    doc["admin"] = {"name": "contoso-localadmin", "enabled": False}
    return MARKER + powershell_json(doc)


def test_a_realistic_output_fits_in_what_run_command_returns():
    line = realistic_output()
    assert len(line.encode("utf-8")) < RUN_COMMAND_OUTPUT_TAIL // 2
    assert parse_check_output(line + "\r\n", "", "web-001")["rdp"]["port"] == 3390


def test_twenty_custom_rules_still_fit():
    assert len(realistic_output(extra_rules=20).encode("utf-8")) < RUN_COMMAND_OUTPUT_TAIL


# --- parsing the output -----------------------------------------------------------------------------

def marker_line(doc):
    return MARKER + json.dumps(doc)


def test_the_marker_line_is_parsed():
    doc = guest_doc()
    assert parse_check_output(marker_line(doc), "", "web-001") == doc


def test_the_last_marker_line_wins():
    first, last = guest_doc(rdp={"port": 3390}), guest_doc(rdp={"port": 3391})
    stdout = "\n".join(["WARNING: something", marker_line(first), "noise", marker_line(last), ""])
    assert parse_check_output(stdout, "", "web-001")["rdp"]["port"] == 3391


def test_windows_line_endings_and_surrounding_output():
    stdout = "Loading profile...\r\n%s\r\n\r\n" % marker_line(guest_doc())
    assert parse_check_output(stdout, "a warning on stderr", "web-001")["version"] == 1


def test_an_indented_marker_is_not_a_marker():
    # Only lines that start with the marker count: an echo of the script itself must not.
    with pytest.raises(VmAccessError):
        parse_check_output("  " + marker_line(guest_doc()), "", "web-001")


@pytest.mark.parametrize("stdout, stderr, last", [
    (MARKER + "{not json", "", MARKER + "{not json"),
    (marker_line({"version": 2, "rdp": {}}), "", "version"),
    (marker_line([1, 2]), "", "[1, 2]"),
    (marker_line("just a string"), "", "just a string"),
    ("no marker here\nGet-Service : Cannot find any service", "", "Get-Service : Cannot find any service"),
    (marker_line(guest_doc()).replace("\"version\": 1", "\"version\": \"1\""), "", "version"),
])
def test_bad_output_is_unexpected_response_with_the_last_line(stdout, stderr, last):
    with pytest.raises(VmAccessError) as caught:
        parse_check_output(stdout, stderr, "web-001")
    assert caught.value.reason == "unexpected_response"
    assert "The read-only Remote Desktop check on web-001 did not report (last output: " in caught.value.message
    assert last in caught.value.message


def test_a_good_line_before_a_bad_last_marker_is_not_used():
    # The last marker line is the report; an earlier one is stale and must not hide the failure.
    stdout = marker_line(guest_doc()) + "\n" + MARKER + "{truncated"
    with pytest.raises(VmAccessError, match=r"last output: AZOPS_RDP_CHECK \{truncated\)"):
        parse_check_output(stdout, "", "web-001")


def test_stderr_is_shown_when_there_is_some():
    with pytest.raises(VmAccessError) as caught:
        parse_check_output("partial", "line one\nAccess is denied.\n", "web-001")
    assert "(last output: Access is denied.)" in caught.value.message


@pytest.mark.parametrize("stdout, stderr", [("", ""), (None, None), ("   \n", "")])
def test_no_output_at_all_says_so(stdout, stderr):
    with pytest.raises(VmAccessError) as caught:
        parse_check_output(stdout, stderr, "web-001")
    assert caught.value.reason == "unexpected_response" and "(last output: no output)" in caught.value.message


def test_a_long_last_line_is_cut_to_300_characters():
    with pytest.raises(VmAccessError) as caught:
        parse_check_output("x" * 1000, "", "web-001")
    assert "x" * 300 + ")" in caught.value.message and "x" * 301 not in caught.value.message


# --- Run Command result streams ------------------------------------------------------------------

def windows_result(stdout, stderr=""):
    return {"value": [
        {"code": "ComponentStatus/StdOut/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
         "message": stdout},
        {"code": "ComponentStatus/StdErr/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
         "message": stderr},
    ]}


def test_windows_stdout_and_stderr_statuses():
    assert run_command_streams(windows_result("out line", "err line")) == ("out line", "err line")


def test_the_stream_order_does_not_matter():
    result = windows_result("out", "err")
    result["value"].reverse()
    assert run_command_streams(result) == ("out", "err")


def test_empty_messages_are_empty_strings():
    result = windows_result(None, None)
    assert run_command_streams(result) == ("", "")


def test_a_linux_shaped_result_is_all_stdout():
    result = {"value": [{"code": "ProvisioningState/succeeded", "level": "Info",
                         "message": "Enable succeeded: \n[stdout]\nhello\n\n[stderr]\n"}]}
    assert run_command_streams(result) == ("Enable succeeded: \n[stdout]\nhello\n\n[stderr]\n", "")


@pytest.mark.parametrize("result", [None, {}, {"value": None}, {"value": []}])
def test_no_result_is_no_output(result):
    assert run_command_streams(result) == ("", "")


def test_streams_feed_the_parser():
    stdout, stderr = run_command_streams(windows_result(marker_line(guest_doc(rdp={"port": 3390}))))
    assert parse_check_output(stdout, stderr, "web-001")["rdp"]["port"] == 3390
