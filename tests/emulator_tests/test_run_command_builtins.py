"""The built-in Windows run commands: their effects on the guest and what they print, shaped like
Microsoft's published scripts (Azure/azure-support-scripts RunCommand/Windows/*)."""

from __future__ import annotations

import pytest

from .conftest import RG
from .rdp_helpers import check, rdp, run_command, stderr_of, stdout_of

pytestmark = pytest.mark.timeout(120)
QUICK = {"run_command_duration_s": 2}
RDP_TCP = "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\Winstations\\RDP-Tcp"
POLICY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services"


def test_rdp_settings_resets_the_listener_when_not_domain_joined(azure):
    azure.add_vms({"name": "win1", "listener_defaults": False, "policy_deny_ts_connections": 1, **QUICK})
    out = stdout_of(run_command(azure, "win1", "RDPSettings")).splitlines()
    assert out[:3] == ["Not domain joined", f"{RDP_TCP}\\PortNumber: 3389", f"{POLICY}\\fDenyTSConnections: 1"]
    assert out[out.index(f"{RDP_TCP}\\TSServerDrainMode: 1") + 1] == "Reset value to expected: 0"
    assert out[out.index(f"{RDP_TCP}\\MaxInstanceCount: 1") + 1] == "Reset value to expected: 4294967295"
    assert f"{RDP_TCP}\\LanAdapter: 0" in out          # set to 0 before it is read
    state = rdp(azure, "win1")
    assert state["listener_non_default"] == [] and state["policy_deny_ts_connections"] == 1   # not a policy fix
    again = stdout_of(run_command(azure, "win1", "RDPSettings"))
    assert "Reset value" not in again


def test_rdp_settings_only_names_the_policy_on_a_domain_member(azure):
    azure.add_vms({"name": "win1", "domain_joined": True, "domain": "corp.example.com",
                   "listener_values": {"MaxIdleTime": 900000, "KeepAliveEnable": None}, **QUICK})
    out = stdout_of(run_command(azure, "win1", "RDPSettings")).splitlines()
    assert out[0] == "Domain: corp.example.com"
    hint = out[out.index(f"{RDP_TCP}\\MaxIdleTime: 900000") + 1]
    assert hint.startswith("Set Computer Configuration\\Policies\\") and hint.endswith(
        "Set time limit for active but idle Remote Desktop Services sessions")
    assert out[out.index(f"{POLICY}\\KeepAliveEnable: ") + 1].startswith(POLICY + "\\KeepAliveInterval")  # unset
    assert rdp(azure, "win1")["listener_non_default"] == ["KeepAliveEnable", "MaxIdleTime"]


def test_set_rdp_port_moves_the_port_opens_it_and_restarts_termservice(azure):
    azure.add_vms({"name": "win1", "rdp_enabled": False, "termservice": "stopped", "policy_deny_ts_connections": 1,
                   **QUICK})
    result = run_command(azure, "win1", "SetRDPPort", parameters={"RDPPORT": "3390"})
    assert stdout_of(result) == "Get RDP PortNumber: 3389\nSetting RDP PortNumber to 3390\nOk.\n"
    state = rdp(azure, "win1")
    assert state["port"] == 3390 and state["deny_ts_connections"] == 0 and state["termservice"]["status"] == "Running"
    assert {"name": "Remote Desktop - Custom Port", "enabled": True, "local_port": "3390"} in state["firewall_rules"]
    assert state["policy_deny_ts_connections"] == 1                    # the script does not touch the policy


def test_set_rdp_port_back_to_3389_enables_the_remote_desktop_rule_group(azure):
    azure.add_vms({"name": "win1", "rdp": "broken", "rdp_port": 3390, **QUICK})
    out = stdout_of(run_command(azure, "win1", "SetRDPPort"))                    # the default is 3389
    assert out == "Get RDP PortNumber: 3390\nSetting RDP PortNumber to 3389\n\nUpdated 3 rule(s).\nOk.\n"
    assert all(rule["enabled"] for rule in rdp(azure, "win1")["firewall_rules"])
    assert stdout_of(run_command(azure, "win1", "SetRDPPort", parameters={"rdpport": "3389"})).startswith(
        "Get RDP PortNumber: 3389\n\nUpdated")                          # unchanged port: no restart line


def test_set_rdp_port_reports_what_windows_would(azure):
    azure.add_vms({"name": "fw", "firewall_service_running": False, **QUICK},
                  {"name": "svc", "termservice": "stopped", "termservice_start_type": "disabled", **QUICK},
                  {"name": "bad", **QUICK})
    assert "contact the Windows Firewall service" in stdout_of(
        run_command(azure, "fw", "SetRDPPort", parameters={"RDPPORT": "3391"}))
    assert rdp(azure, "fw")["port"] == 3391 and len(rdp(azure, "fw")["firewall_rules"]) == 3
    svc = run_command(azure, "svc", "SetRDPPort", parameters={"RDPPORT": "3392"})
    assert "Cannot start service TermService" in stderr_of(svc)
    assert rdp(azure, "svc")["termservice"]["status"] == "Stopped"
    bad = run_command(azure, "bad", "SetRDPPort", parameters={"RDPPORT": "rdp"})
    assert stdout_of(bad) == "" and "Cannot convert value" in stderr_of(bad) and rdp(azure, "bad")["port"] == 3389


def test_reset_rdp_cert_makes_windows_create_a_new_self_signed_cert(azure):
    azure.add_vms({"name": "win1", "rdp_cert": "missing", **QUICK})
    old = rdp(azure, "win1")["cert"]
    out = stdout_of(run_command(azure, "win1", "ResetRDPCert"))
    assert out == ("Clear security certificates. Removes SSLCertificateSHA1Hash from the registry.\n"
                   "Restart the service")
    state = rdp(azure, "win1")
    cert = state["cert"]
    assert cert["found"] and cert["expired"] is False and cert["self_signed"] and cert["bound"] is False
    assert cert["thumbprint"] != old["thumbprint"] and cert["generation"] == old["generation"] + 1
    assert state["security_layer"] == 0 and state["min_encryption_level"] == 1
    assert check(azure, "win1")["cert"]["thumbprint"] == cert["thumbprint"]


def test_disable_nla_takes_effect_after_a_restart(azure):
    azure.add_vms({"name": "win1", **QUICK})
    out = stdout_of(run_command(azure, "win1", "DisableNLA"))
    assert out == ("Configuring registry to disable Network Level Authentication (NLA).\n"
                   "Restart the VM for the change to take effect.")
    assert rdp(azure, "win1")["nla"] is False and rdp(azure, "win1")["nla_in_effect"] is True
    assert check(azure, "win1")["rdp"]["nla_required"] is False            # the check reads the registry
    azure.control.patch_vm(azure.sub, RG, "win1", power_state="stopped")
    azure.control.patch_vm(azure.sub, RG, "win1", power_state="running", agent="ready")
    assert rdp(azure, "win1")["nla_in_effect"] is False


def test_enable_admin_account_enables_the_sid_500_account(azure):
    azure.add_vms({"name": "off", "builtin_admin_enabled": False, **QUICK},
                  {"name": "on", **QUICK},
                  {"name": "dc", "failure_mode": "domain_controller", "builtin_admin_enabled": False, **QUICK})
    out = stdout_of(run_command(azure, "off", "EnableAdminAccount")).splitlines()
    assert out[0] == "Admin account was disabled. Enabling the Admin account."
    assert any(line.startswith("RelativePath  : Win32_UserAccount.Domain=") for line in out)
    assert rdp(azure, "off")["builtin_admin"]["enabled"] is True
    assert stdout_of(run_command(azure, "on", "EnableAdminAccount")) == "Admin account is enabled."
    assert stdout_of(run_command(azure, "dc", "EnableAdminAccount")) == "Admin account is enabled."
    assert rdp(azure, "dc")["builtin_admin"]["enabled"] is False      # a DC has no local accounts to find


def test_ipconfig_and_enable_remote_ps(azure):
    azure.add_vms({"name": "win1", **QUICK})
    ip = azure.vm_state("win1")["network"]["private_ip"]
    out = stdout_of(run_command(azure, "win1", "IPConfig"))
    assert f"IPv4 Address. . . . . . . . . . . : {ip}(Preferred)" in out and "Host Name" in out
    first = run_command(azure, "win1", "EnableRemotePS")
    assert "ResourceCreated" in stdout_of(first) and stderr_of(first) == ""
    assert rdp(azure, "win1")["remote_ps_enabled"] is True
    assert "already exists" in stderr_of(run_command(azure, "win1", "EnableRemotePS"))
