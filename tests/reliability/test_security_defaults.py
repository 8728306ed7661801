"""Security defaults: TLS always verified, least-privilege RBAC, the fingerprint's KDF."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path

import pytest
import trustme

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import fingerprint as fp
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.http_rules import LEAST_PRIVILEGE_ACTIONS
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import AZURE_AUTH_ARGSPEC
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import module_argument_spec
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.request import ResetRequest
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget
from tests.engine import fixtures
from tests.engine.fixtures import PASSWORD, windows_vm

from .helpers import TRACEBACK, ext_puts, secret_hits

azure_run = fixtures.azure_run  # the in-process fixture (tests/engine/fixtures.py)
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


def _untrusted_ca_bundle(tmp_path):
    bundle = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    return str(bundle)


TLS_ADVICE = "REQUESTS_CA_BUNDLE"


@pytest.mark.emulator
@pytest.mark.timeout(120)
def test_a_server_certificate_from_an_untrusted_ca_fails_cleanly(azure_run, tmp_path, reliability):
    azure_run.seed(windows_vm("t-01"))
    untrusted = _untrusted_ca_bundle(tmp_path)
    # Untrusted from the start: the cloud's metadata endpoint is the first https call.
    azure_run.monkeypatch.setenv("REQUESTS_CA_BUNDLE", untrusted)
    discovery = azure_run.session_error()
    assert discovery.reason == "cloud_discovery_failed" and "TLS verification failed" in discovery.message
    assert TLS_ADVICE in discovery.message and azure_run.arm_calls() == []
    # Resource Manager untrusted (cloud known, token held): every ARM call is refused by the client.
    azure_run.monkeypatch.setenv("REQUESTS_CA_BUNDLE", azure_run.emulator.ca_file)
    # azure-core retries a connection error 3 times (4.8 s of back-off); a shorter budget ends them with a bare
    # "Request timeout" instead of the certificate error.
    engine = azure_run.engine(ResetRequest(reset="rdp", run_tag="T1"), wait_timeout=6)
    azure_run.last_session.check_token()
    azure_run.monkeypatch.setenv("REQUESTS_CA_BUNDLE", untrusted)
    arm = engine.run([VmTarget(host="t-01", ref=azure_run.ref("t-01"))])[0]
    assert (arm["outcome"], arm["reason"]) == ("failed", "connection_error"), arm["msg"]
    assert re.search(r"certificate verify failed", arm["msg"], re.I) and TLS_ADVICE in arm["msg"]
    assert TRACEBACK not in arm["msg"] and ext_puts(azure_run.emulator) == []
    reliability.record(GROUP, "server certificate from an untrusted CA", cases=2,
                       outcomes="cloud metadata: failed/%s; Resource Manager: failed/%s, both with the "
                                "REQUESTS_CA_BUNDLE advice" % (discovery.reason, arm["reason"]), writes_per_vm="0")


# COLLECTION BUG (reported, not fixed here: plugins/ is out of scope for the test work).
# When the *token* endpoint's certificate is not trusted (a TLS-intercepting proxy in front of
# login.microsoftonline.com, or a custom cloud whose login endpoint uses another CA), azure-identity wraps the
# SSLError in a ClientAuthenticationError, and classify._classify sends every ClientAuthenticationError to
# _credential_failure: the run fails as authentication_failed, "Microsoft Entra ID (Azure AD) refused the
# credentials ... [SSL: CERTIFICATE_VERIFY_FAILED] ... Check client_id, secret and tenant". Entra ID refused
# nothing; the advice sends users after their credentials. Expected (REASONS): connection_error with the TLS advice,
# as for the same failure on Resource Manager above.
@pytest.mark.emulator
@pytest.mark.timeout(120)
def test_an_untrusted_token_endpoint_is_a_connection_error_with_the_tls_advice(azure_run, tmp_path):
    azure_run.seed(windows_vm("t-01"))
    engine = azure_run.engine(ResetRequest(reset="rdp", run_tag="T1"), wait_timeout=6)  # cloud discovered
    azure_run.monkeypatch.setenv("REQUESTS_CA_BUNDLE", _untrusted_ca_bundle(tmp_path))
    result = engine.run([VmTarget(host="t-01", ref=azure_run.ref("t-01"))])[0]
    assert (result["outcome"], result["reason"]) == ("failed", "connection_error"), result["msg"]
    assert TLS_ADVICE in result["msg"]


@pytest.mark.emulator
@pytest.mark.timeout(120)
def test_least_privilege_custom_role(azure_run, reliability):
    azure_run.seed(windows_vm("rb-ok"), windows_vm("rb-nowrite"))
    control = azure_run.control
    exact = control.add_principal(actions=list(LEAST_PRIVILEGE_ACTIONS), name="least")
    missing = [a for a in LEAST_PRIVILEGE_ACTIONS if a != "Microsoft.Compute/virtualMachines/extensions/write"]
    no_write = control.add_principal(actions=missing, name="nowrite")

    def reset_as(principal, vm):
        environ = dict(azure_run.environ, AZURE_CLIENT_ID=principal["client_id"], AZURE_SECRET=principal["secret"],
                       AZURE_TENANT=principal["tenant"])
        return azure_run.one(vm, ResetRequest(reset="password", password=PASSWORD), environ=environ)

    ok = reset_as(exact, "rb-ok")
    assert ok["outcome"] == "changed", ok["msg"]
    assert control.verify_password(azure_run.sub, "rg-eng", "rb-ok", "azureadmin", PASSWORD)
    denied = reset_as(no_write, "rb-nowrite")
    assert (denied["outcome"], denied["reason"]) == ("failed", "authorization_failed"), denied["msg"]
    assert "Microsoft.Compute/virtualMachines/extensions/write" in denied["msg"]
    assert azure_run.vm("rb-nowrite")["run_count"] == 0
    for result, principal in ((ok, exact), (denied, no_write)):
        assert secret_hits(repr(result), [PASSWORD, principal["secret"]]) == 0
    reliability.record(GROUP, "custom role with exactly the documented actions (%d)" % len(LEAST_PRIVILEGE_ACTIONS),
                       cases=1, outcomes="changed (password set in the guest)", writes_per_vm="1")
    reliability.record(GROUP, "same role without extensions/write", cases=1,
                       outcomes="failed/authorization_failed naming the action", writes_per_vm="0 landed")


def _documented_digest(password, vm_id, username, run_tag, n, r, p):
    """The tag's digest as the fingerprint module's docstring describes it, computed here independently:
    scrypt(password) salted with SHA-256 of the VM id, user name and run tag, 24 bytes, base64url."""
    salt = hashlib.sha256("\x1f".join(["azops-vmaccess-v1", vm_id.lower(), username.lower(), run_tag or ""])
                          .encode("utf-8")).digest()
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=24, maxmem=64 * 2 ** 20)
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def test_fingerprint_kdf_cost_and_wrong_password(reliability):
    vm_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v"
    started = time.perf_counter()
    right = fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", "INC1")
    cost_s = time.perf_counter() - started
    # The tags are made with the documented cost: 2**15 block mixes of r=8 per guess (pw2 as two lanes of 2**14,
    # 16 MiB; 0.1.0's pw as one lane of 2**15, 32 MiB), which an attacker testing guesses pays too.
    assert right.digest == _documented_digest(PASSWORD, vm_id, "azureadmin", "INC1", 2 ** 14, 8, 2)
    legacy = fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", "INC1", kind=fp.KIND_PASSWORD_V1)
    assert legacy.digest == _documented_digest(PASSWORD, vm_id, "azureadmin", "INC1", 2 ** 15, 8, 1)
    assert fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", "INC1").same_reset(right)
    for wrong in (PASSWORD + "x", PASSWORD.lower(), PASSWORD[:-1], ""):
        assert not fp.password_fingerprint(wrong, vm_id, "azureadmin", "INC1").same_reset(right)
    # Salted: the same password on another VM, user or run tag gives another fingerprint.
    assert not fp.password_fingerprint(PASSWORD, vm_id + "2", "azureadmin", "INC1").same_reset(right)
    assert not fp.password_fingerprint(PASSWORD, vm_id, "other", "INC1").same_reset(right)
    assert not fp.password_fingerprint(PASSWORD, vm_id, "azureadmin", "INC2").same_reset(right)
    assert PASSWORD not in right.tag() and fp.describe_tag(right.tag()) == "password"
    reliability.record(GROUP, "forceUpdateTag fingerprint KDF: scrypt N=2^14 r=8 p=2 (16 MiB)", cases=10,
                       outcomes="digests match an independent scrypt with the documented parameters (pw2 and 0.1.0's "
                                "pw); same password matches; 4 wrong passwords, other VM, user, run tag do not",
                       writes_per_vm="-", notes="%.2f s per fingerprint on this machine" % cost_s)
