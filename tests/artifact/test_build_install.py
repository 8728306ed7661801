"""The built collection artifact works on its own, from outside the checkout.

Catches files missing from the build, a wrong ``build_ignore``, docs that do not render, and
imports that only work from the source tree. See conftest.py for the fixture and the hook for
running playbooks by FQCN.
"""

from __future__ import annotations

import fnmatch
import json

import pytest

from .conftest import GALAXY, FQCN_PREFIX, JUNK_FILES, REPO_ROOT, stage_collection

# The built and installed collection, through Ansible itself: part of the smoke set.
pytestmark = pytest.mark.e2e

SOURCE_FILES = stage_collection.source_files(REPO_ROOT)
MODULES = sorted(p.split("/")[-1][:-3] for p in SOURCE_FILES
                 if p.startswith("plugins/modules/") and p.endswith(".py") and not p.endswith("__init__.py"))
ROLES = sorted({p.split("/")[1] for p in SOURCE_FILES if p.startswith("roles/") and p.count("/") >= 2})
PLAYBOOKS = sorted(p for p in SOURCE_FILES if p.startswith("playbooks/") and p.endswith((".yml", ".yaml"))
                   and p.count("/") == 1)
# Files the artifact must carry besides plugins/: ansible-builder reads these from it.
REQUIRED_FILES = ("README.md", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt")
JUNK_PARTS = (".venv", "collections", "ansible_collections", "__pycache__", ".pytest_cache", ".hypothesis",
              ".tmp", ".git", ".emulator-state", ".ci", "ansible.cfg")
WARNING_MARKERS = ("[WARNING]", "[DEPRECATION WARNING]", "[ERROR]", "ERROR!", "Traceback")


def _collection_members(installed):
    """Tarball members relative to the collection root (the build puts them at the top level)."""
    return {m[2:] if m.startswith("./") else m for m in installed.members()}


def test_build_ignore_keeps_what_users_need():
    """build_ignore must not drop plugins, meta/ or the requirements files (ansible-builder needs them)."""
    patterns = GALAXY.get("build_ignore") or []
    for rel in [p for p in SOURCE_FILES if p.startswith(("plugins/", "roles/", "playbooks/", "meta/"))] + list(REQUIRED_FILES):
        hit = [pat for pat in patterns if fnmatch.fnmatch(rel, pat) or any(fnmatch.fnmatch(part, pat) for part in rel.split("/"))]
        assert not hit, "%s would be left out of the artifact by build_ignore %s" % (rel, hit)


def test_tarball_has_every_plugin_and_required_file(installed_collection):
    members = _collection_members(installed_collection)
    wanted = [p for p in SOURCE_FILES if p.startswith(("plugins/", "roles/", "playbooks/", "meta/", "changelogs/"))]
    wanted += list(REQUIRED_FILES) + ["MANIFEST.json", "FILES.json"]  # galaxy.yml becomes MANIFEST.json
    missing = sorted(set(wanted) - members)
    assert not missing, "missing from %s: %s" % (installed_collection.tarball.name, missing)


def test_tarball_has_no_junk(installed_collection):
    members = _collection_members(installed_collection)
    junk = sorted(m for m in members
                  if any(part in JUNK_PARTS for part in m.split("/"))
                  or m.startswith("tests/output") or m.endswith((".pyc", ".pyo", ".tar.gz")))
    assert not junk, "build_ignore let junk into the artifact: %s" % junk
    planted = sorted(set(JUNK_FILES) & members)
    assert not planted, planted


def test_installed_copy_matches_tarball(installed_collection):
    manifest = json.loads((installed_collection.root / "MANIFEST.json").read_text())
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])
    for rel in (p for p in SOURCE_FILES if p.startswith("plugins/")):
        assert (installed_collection.root / rel).is_file(), rel


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_without_warnings(installed_collection, module):
    proc = installed_collection.run(["ansible-doc", FQCN_PREFIX + module])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
    assert module.upper() in proc.stdout or FQCN_PREFIX + module in proc.stdout
    for marker in WARNING_MARKERS:
        assert marker not in proc.stdout, proc.stdout
    # and it is the installed artifact that rendered, not the checkout
    proc = installed_collection.run(["ansible-doc", "--json", FQCN_PREFIX + module])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[FQCN_PREFIX + module]["doc"]
    assert doc["filename"].startswith(str(installed_collection.root)), doc["filename"]


@pytest.mark.parametrize("role", ROLES or [pytest.param(None, marks=pytest.mark.skip(reason="no roles yet"))])
def test_ansible_doc_renders_roles(installed_collection, role):
    proc = installed_collection.run(["ansible-doc", "-t", "role", FQCN_PREFIX + role])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS or [pytest.param(None, marks=pytest.mark.skip(reason="no playbooks yet"))])
def test_playbooks_resolve_by_fqcn(installed_collection, playbook):
    """Playbooks in the artifact resolve by FQCN and parse. Running them against the emulator
    (installed_collection.run([...], extra_env=emulator.env)) is left to the playbook tests."""
    name = playbook.split("/")[-1].rsplit(".", 1)[0]
    proc = installed_collection.run(["ansible-playbook", "--syntax-check", "-i", "localhost,", FQCN_PREFIX + name])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_adhoc_module_run_fails_cleanly_without_azure_environment(installed_collection):
    """The installed modules import from the artifact and fail with a reason code, not a traceback."""
    proc = installed_collection.run(
        ["ansible", "localhost", "-i", "localhost,", "-c", "local",
         "-m", FQCN_PREFIX + "vm_access_info", "-a", "resource_group=does-not-matter"])
    assert proc.returncode == 2, proc.stdout + proc.stderr  # 2: the task failed on the host
    assert "Traceback" not in proc.stdout + proc.stderr
    # The ad-hoc (minimal) callback prints `localhost | FAILED! => {JSON result}`.
    # (Ansible's own [ERROR] summary of the failure may come first, on stdout without a TTY.)
    _head, sep, body = proc.stdout.rpartition("localhost | FAILED! => ")
    assert sep, proc.stdout
    result = json.loads(body)
    assert result.get("reason") in ("missing_subscription", "missing_credentials"), result
    assert "module_stderr" not in result and "module_stdout" not in result, result
    assert not result.get("exception"), result


def test_installed_playbooks_run_against_the_emulator(installed_collection, fresh_emulator, tmp_path):
    """The artifact as users get it: ``ansible-playbook azure_ops.vm_access.reset_rdp`` by FQCN, from
    outside the checkout, with the inventory plugin as the only inventory, against the emulator."""
    sub = fresh_emulator.env["AZURE_SUBSCRIPTION_ID"]
    fresh_emulator.control.add_fleet({"subscriptions": [{"id": sub, "resource_groups": [
        {"name": "rg-art", "location": "westeurope", "vms": [
            {"name": "art-%02d" % i, "os": "windows", "rdp": "broken"} for i in range(1, 4)]
            + [{"name": "art-lnx", "os": "linux"}]}]}]})
    inventory = tmp_path / "fleet.azure_vms.yml"
    inventory.write_text("plugin: azure_ops.vm_access.azure_vms\n")
    reports = tmp_path / "reports"
    proc = installed_collection.run(
        ["ansible-playbook", "-i", str(inventory), FQCN_PREFIX + "reset_rdp",
         "-e", "vm_access_run_tag=ART-1", "-e", "vm_access_poll_interval=0.2",
         "-e", "vm_access_report_dir=%s" % reports],
        extra_env=fresh_emulator.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for name in ("art-01", "art-02", "art-03"):
        assert fresh_emulator.control.vm(sub, "rg-art", name)["guest"]["rdp_enabled"] is True
    # The Linux VM is not in the plugin's windows group, which the playbook targets by default.
    assert "art-lnx" not in proc.stdout
    report = json.loads(next(reports.glob("*.json")).read_text())
    assert report["summary"]["by_outcome"]["changed"] == 3
