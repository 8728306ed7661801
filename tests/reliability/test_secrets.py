"""Secrets: every scenario's output scanned for the password, the client secret and bearer tokens.

Scenarios: password reset success and failure (in-guest failure), check + diff mode, -vvvv, the junit
callback, the ``tree`` callback of an ad-hoc run, the fleet playbook with its report files and
generated per-host passwords in an ansible-vault file, AWX-style credential injection (environment
only), ANSIBLE_LOG_PATH. Everything produced is read back and searched. Expected: 0 everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret
from tests.integration.conftest import ansible_env
from tests.integration.fleet_helpers import PASSWORD, RG, seed, windows_vm

from .helpers import TOKEN_PATTERN, TRACEBACK, secret_hits

pytestmark = [pytest.mark.emulator, pytest.mark.e2e, pytest.mark.timeout(500)]
GROUP = "secrets"


def _files_text(*dirs) -> str:
    out = []
    for d in dirs:
        d = Path(d)
        if d.is_file():
            out.append(d.read_text(errors="replace"))
        elif d.exists():
            # extra.json is the test's own input (the survey answer as an extra var), not something produced.
            out += [p.read_text(errors="replace") for p in d.rglob("*") if p.is_file() and p.name != "extra.json"]
    return "\n".join(out)


def test_no_secret_in_anything_produced(fresh_emulator, run_tasks, run_playbook, tmp_path, reliability):
    emu = fresh_emulator
    secret = emu.env["AZURE_SECRET"]
    sub = seed(emu, windows_vm("p-ok"), windows_vm("p-fail", failure_mode="message:Access is denied."),
               windows_vm("p-check"), windows_vm("p-tree"),
               *[windows_vm("p-fleet-%02d" % i) for i in range(1, 4)])
    # A real token the emulator issues for this principal: it must never show up either.
    from azure.identity import ClientSecretCredential
    cred = ClientSecretCredential(emu.env["AZURE_TENANT"], emu.env["AZURE_CLIENT_ID"], secret,
                                  authority=emu.url, disable_instance_discovery=True,
                                  connection_verify=emu.ca_file)
    token = cred.get_token(emu.info["audience"] + ".default").token
    assert TOKEN_PATTERN.fullmatch(token), "token shape changed: update TOKEN_PATTERN"
    secrets = [PASSWORD, secret, token]
    scanned = {}

    def reset(vm, **extra):
        return {"name": vm, "no_log": True, "register": vm.replace("-", "_"),
                "azure_ops.vm_access.vm_access_reset": dict(resource_group=RG, vm_name=vm, reset="password",
                                                            password=PASSWORD, run_tag="S1", **extra)}

    junit_dir = tmp_path / "junit"
    # 1. success + in-guest failure, -vvvv, junit callback, AWX-style env credential, ANSIBLE_LOG_PATH.
    run = run_tasks([reset("p-ok"), reset("p-fail")], verbosity=4,
                    env={"ANSIBLE_CALLBACKS_ENABLED": "junit", "JUNIT_OUTPUT_DIR": str(junit_dir),
                         "JUNIT_HIDE_TASK_ARGUMENTS": None})
    assert run.result("p_ok").get("changed") is True and run.result("p_fail").get("reason") == "extension_failed"
    assert emu.control.verify_password(sub, RG, "p-ok", "azureadmin", PASSWORD)
    assert list(junit_dir.glob("*.xml")), "the junit callback wrote nothing"
    scanned["success + failure, -vvvv, junit, log"] = run.everything + _files_text(junit_dir)

    # 2. check + diff, -vvvv.
    check = run_tasks([reset("p-check")], check=True, diff=True, verbosity=4)
    assert check.result("p_check").get("changed") is True
    scanned["check + diff -vvvv"] = check.everything

    # 3. without no_log on the task (a careless playbook): the module's no_log option still masks it.
    careless = run_tasks([{"name": "careless", "register": "c",
                           "azure_ops.vm_access.vm_access_reset": dict(resource_group=RG, vm_name="p-check",
                                                                       reset="password", password=PASSWORD)}],
                         verbosity=4, diff=True)
    scanned["task without no_log, -vvvv --diff"] = careless.everything

    # 4. ad-hoc run with the tree callback.
    tree = tmp_path / "tree"
    work = tmp_path / "adhoc"
    work.mkdir()
    env = ansible_env(emu.env, work)
    adhoc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-vvvv",
         "--tree", str(tree), "-m", "azure_ops.vm_access.vm_access_reset",
         "-a", json.dumps(dict(resource_group=RG, vm_name="p-tree", reset="password", password=PASSWORD,
                               poll_interval=0.2))],
        cwd=str(work), env=env, capture_output=True, text=True, timeout=240, check=False)
    assert list(tree.glob("*")), adhoc.stdout[-2000:]
    scanned["ad-hoc --tree -vvvv"] = adhoc.stdout + adhoc.stderr + _files_text(tree, env["ANSIBLE_LOG_PATH"])

    # 5. fleet playbook: one password from a survey-style variable, report files; then generated passwords
    #    in an ansible-vault file (decrypted here to learn them, then searched for everywhere else).
    hosts = {"p-fleet-%02d" % i: {"resource_group": RG, "vm_name": "p-fleet-%02d" % i} for i in range(1, 4)}
    fleet = run_playbook("playbooks/reset_password.yml", hosts, args=["-vvvv", "--diff"],
                         extra_vars={"vm_access_password": PASSWORD, "vm_access_run_tag": "S2"})
    assert fleet.returncode == 0, fleet.stdout[-3000:]
    scanned["fleet reset_password.yml -vvvv, reports"] = fleet.everything + _files_text(fleet.results["workdir"])
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text("reliability-vault-key\n")
    vault_file = tmp_path / "passwords.vault"
    gen = run_playbook("playbooks/reset_password.yml", hosts, args=["-vvvv", "--vault-password-file", str(vault_pass)],
                       extra_vars={"vm_access_generate_passwords": True, "vm_access_password_vault_file": str(vault_file),
                                   "vm_access_run_tag": "S3"})
    assert gen.returncode == 0, gen.stdout[-3000:]
    vault = VaultLib([("default", VaultSecret(b"reliability-vault-key"))])
    generated = json.loads(vault.decrypt(vault_file.read_bytes()))
    new_passwords = [record["password"] for record in generated.values()]
    assert len(new_passwords) == 3
    for name, record in generated.items():
        assert emu.control.verify_password(sub, RG, name, record["username"], record["password"])
    neighbourhood = _files_text(gen.results["workdir"]) + "\n".join(
        p.read_text(errors="replace") for p in vault_file.parent.glob("*") if p.is_file() and p != vault_file)
    scanned["fleet generated passwords (vault file's neighbourhood, reports, -vvvv)"] = gen.everything + neighbourhood
    assert not any(pw in vault_file.read_text() for pw in new_passwords)  # ciphertext only

    total = 0
    for label, text in scanned.items():
        assert TRACEBACK not in text, label
        hits = secret_hits(text, secrets + new_passwords)
        total += hits
        reliability.record(GROUP, label, cases=1, outcomes="scanned %d kB" % (len(text) // 1024),
                           writes_per_vm="-", secrets_found=hits)
    if total:
        where = []
        for label, text in scanned.items():
            for kind, value in [("password", PASSWORD), ("client secret", secret), ("token", token)] + [
                    ("generated password", p) for p in new_passwords]:
                at = text.find(value)
                if at >= 0:
                    where.append((label, kind, text[max(0, at - 300):at].replace(value, "<X>")))
            for match in TOKEN_PATTERN.finditer(text):
                where.append((label, "token pattern", text[max(0, match.start() - 300):match.start()]))
        pytest.fail("secrets found: %r" % where)
