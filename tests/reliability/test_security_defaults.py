"""Security defaults: TLS always verified, least-privilege RBAC, the fingerprint's KDF."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import trustme

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.http_rules import LEAST_PRIVILEGE_ACTIONS
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import AZURE_AUTH_ARGSPEC
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import module_argument_spec
from tests.integration.fleet_helpers import PASSWORD, RG, seed, windows_vm

from .helpers import TRACEBACK, ext_puts, secret_hits

GROUP = "security defaults"
ROOT = Path(__file__).resolve().parents[2]
TLS_OFF = re.compile(r"validate_certs|cert_validation|verify_ssl|insecure|connection_verify|verify\s*=\s*False",
                     re.I)


def test_no_option_turns_tls_verification_off(reliability):
    specs = dict(AZURE_AUTH_ARGSPEC)
    specs.update(module_argument_spec())
    assert not [k for k in specs if TLS_OFF.search(k)]
    offenders = []
    files = list((ROOT / "plugins").rglob("*.py")) + list((ROOT / "roles").rglob("*.yml"))
    for path in files:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if TLS_OFF.search(line) and not line.lstrip().startswith("#"):
                offenders.append("%s:%d: %s" % (path.relative_to(ROOT), n, line.strip()))
    assert offenders == []
    reliability.record(GROUP, "TLS verification cannot be turned off (options and code grepped)",
                       cases=len(files), outcomes="no option, no verify=False", writes_per_vm="-")


@pytest.mark.emulator
@pytest.mark.timeout(300)
def test_wrong_ca_fails_cleanly(fresh_emulator, run_tasks, tmp_path, reliability):
    seed(fresh_emulator, windows_vm("t-01"))
    other_ca = trustme.CA()
    bundle = tmp_path / "other-ca.pem"
    other_ca.cert_pem.write_to_path(str(bundle))
    env = {"REQUESTS_CA_BUNDLE": str(bundle), "SSL_CERT_FILE": str(bundle), "CURL_CA_BUNDLE": None}
    run = run_tasks([{"name": "wrong CA", "register": "r", "azure_ops.vm_access.vm_access_reset":
                      dict(resource_group=RG, vm_name="t-01", reset="rdp", run_tag="T1")}], env=env, verbosity=3)
    r = run.result()
    assert r.get("failed") is True
    assert r["reason"] in ("connection_error", "cloud_discovery_failed"), (r["reason"], r["msg"])
    assert re.search(r"certificate|TLS|SSL", r["msg"], re.I), r["msg"]
    assert TRACEBACK not in run.everything
    assert ext_puts(fresh_emulator) == []
    reliability.record(GROUP, "server certificate from an untrusted CA", cases=1,
                       outcomes="failed/%s: %s" % (r["reason"], r["msg"][:140]), writes_per_vm="0")


@pytest.mark.emulator
@pytest.mark.timeout(300)
def test_least_privilege_custom_role(fresh_emulator, run_tasks, reliability):
    emu = fresh_emulator
    sub = seed(emu, windows_vm("rb-ok", rdp="broken"), windows_vm("rb-nowrite", rdp="broken"))
    exact = emu.control.add_principal(actions=list(LEAST_PRIVILEGE_ACTIONS), name="least")
    missing = [a for a in LEAST_PRIVILEGE_ACTIONS if a != "Microsoft.Compute/virtualMachines/extensions/write"]
    no_write = emu.control.add_principal(actions=missing, name="nowrite")

    def env_for(p):
        return {"AZURE_CLIENT_ID": p["client_id"], "AZURE_SECRET": p["secret"], "AZURE_TENANT": p["tenant"]}

    def task(vm):
        return [{"name": vm, "register": "r", "azure_ops.vm_access.vm_access_reset":
                 dict(resource_group=RG, vm_name=vm, reset="password", password=PASSWORD), "no_log": True}]

    ok = run_tasks(task("rb-ok"), env=env_for(exact))
    assert ok.result().get("changed") is True, ok.result().get("msg")
    assert emu.control.verify_password(sub, RG, "rb-ok", "azureadmin", PASSWORD)
    denied = run_tasks(task("rb-nowrite"), env=env_for(no_write))
    r = denied.result()
    assert r.get("failed") is True and r["reason"] == "authorization_failed", r
    assert "Microsoft.Compute/virtualMachines/extensions/write" in r["msg"], r["msg"]
    assert emu.control.vm(sub, RG, "rb-nowrite")["run_count"] == 0
    for run, p in ((ok, exact), (denied, no_write)):
        assert secret_hits(run.everything, [PASSWORD, p["secret"]]) == 0
    reliability.record(GROUP, "custom role with exactly the documented actions (%d)" % len(LEAST_PRIVILEGE_ACTIONS),
                       cases=1, outcomes="changed (password set in the guest)", writes_per_vm="1")
    reliability.record(GROUP, "same role without extensions/write", cases=1,
                       outcomes="failed/authorization_failed naming the action", writes_per_vm="0 landed")


def test_fingerprint_kdf_cost_and_wrong_password(reliability):
    assert (fp.SCRYPT_N, fp.SCRYPT_R, fp.SCRYPT_P) == (2 ** 14, 8, 2)
    memory_mib = 128 * fp.SCRYPT_N * fp.SCRYPT_R // 2 ** 20
    vm_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v"
    started = time.perf_counter()
    right = fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", "INC1")
    cost_s = time.perf_counter() - started
    assert fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", "INC1").same_reset(right)
    for wrong in (PASSWORD + "x", PASSWORD.lower(), PASSWORD[:-1], ""):
        assert not fp.password_fingerprint(wrong, vm_id, "azureadmin", "INC1").same_reset(right)
    # Salted: the same password on another VM, user or run tag gives another fingerprint.
    assert not fp.password_fingerprint(PASSWORD, vm_id + "2", "azureadmin", "INC1").same_reset(right)
    assert not fp.password_fingerprint(PASSWORD, vm_id, "other", "INC1").same_reset(right)
    assert PASSWORD not in right.tag() and fp.describe_tag(right.tag()) == "password"
    reliability.record(GROUP, "forceUpdateTag fingerprint KDF: scrypt N=2^14 r=8 p=2 (%d MiB, %.2f s here)"
                       % (memory_mib, cost_s), cases=7, outcomes="same password matches; 4 wrong passwords, other VM, "
                       "other user do not", writes_per_vm="-")
