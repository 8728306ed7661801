"""Fixtures for testing the collection as users get it: the built and installed artifact.

``installed_collection`` (session scope) builds the collection with ``ansible-galaxy collection
build`` from a copy of the checkout, installs the tarball with ``ansible-galaxy collection
install`` into a temporary collections path, and gives tests an environment in which that path
is the *only* place Ansible finds collections, with a working directory outside the checkout.

Hook for later tests (playbooks by FQCN against the emulator)::

    def test_reset_rdp_playbook(installed_collection, emulator):
        proc = installed_collection.run(
            ["ansible-playbook", "azure_ops.vm_access.reset_rdp", "-e", "target=..."],
            extra_env=emulator.env)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import stage_collection  # noqa: E402  pylint: disable=wrong-import-position

GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
NAMESPACE, NAME = GALAXY["namespace"], GALAXY["name"]
FQCN_PREFIX = "%s.%s." % (NAMESPACE, NAME)
VENV_BIN = Path(sys.executable).parent
COMMAND_TIMEOUT_S = 180

# Planted in the copy before building: none of it may reach the tarball (galaxy.yml build_ignore).
JUNK_FILES = (
    ".venv/bin/python-junk",
    "collections/ansible_collections/other/junk.py",
    "tests/output/.tmp/junk.txt",
    "plugins/modules/__pycache__/vm_access_reset.cpython-311.pyc",
    "plugins/module_utils/__pycache__/errors.cpython-311.pyc",
    ".pytest_cache/v/junk",
    ".hypothesis/examples/junk",
    ".tmp/junk",
    ".emulator-state/junk.json",
    "ansible_collections/junk.py",
    "old-build-0.0.1.tar.gz",
)


def tool(name: str) -> str:
    """An ansible CLI of the Python running the tests (the project's venv)."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s not found next to %s nor on PATH" % (name, sys.executable))
    return found


@dataclass
class InstalledCollection:
    tarball: Path
    collections_path: Path  # holds ansible_collections/<namespace>/<name>
    workdir: Path  # outside the checkout, no ansible.cfg
    home: Path

    @property
    def root(self) -> Path:
        return self.collections_path / "ansible_collections" / NAMESPACE / NAME

    def members(self) -> list[str]:
        with tarfile.open(self.tarball) as tar:
            return tar.getnames()

    def env(self, extra: Optional[Mapping[str, Optional[str]]] = None) -> dict[str, str]:
        """Only the installed artifact is visible: no checkout, no Azure environment, no user config."""
        env = {
            "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "ANSIBLE_CONFIG": str(self.workdir / "ansible.cfg"),  # empty: defaults only
            "ANSIBLE_HOME": str(self.home / ".ansible"),
            "ANSIBLE_COLLECTIONS_PATH": str(self.collections_path),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
        }
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, argv: Iterable[str], extra_env=None, timeout=COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess:
        argv = list(argv)
        argv[0] = tool(argv[0])
        return subprocess.run(argv, cwd=str(self.workdir), env=self.env(extra_env), capture_output=True,
                              text=True, timeout=timeout, check=False)


def _run_checked(argv, cwd, env=None):
    proc = subprocess.run(argv, cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S, check=False)
    assert proc.returncode == 0, "%s failed (%d):\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="session")
def installed_collection(tmp_path_factory) -> InstalledCollection:
    base = tmp_path_factory.mktemp("artifact")
    assert REPO_ROOT not in base.parents, "the artifact test must run outside the checkout"
    source = base / "src" / NAMESPACE / NAME
    stage_collection.stage(source)
    for rel in JUNK_FILES:
        path = source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk\n")
    dist = base / "dist"
    collections_path = base / "collections"
    home = base / "home"
    workdir = base / "work"
    for path in (dist, collections_path, home, workdir):
        path.mkdir()
    (workdir / "ansible.cfg").write_text("")
    installed = InstalledCollection(tarball=dist, collections_path=collections_path, workdir=workdir, home=home)
    env = installed.env()
    _run_checked([tool("ansible-galaxy"), "collection", "build", str(source), "--output-path", str(dist)],
                 cwd=workdir, env=env)
    tarballs = sorted(dist.glob("%s-%s-*.tar.gz" % (NAMESPACE, NAME)))
    assert len(tarballs) == 1, tarballs
    installed.tarball = tarballs[0]
    _run_checked([tool("ansible-galaxy"), "collection", "install", "--offline", str(installed.tarball),
                  "-p", str(collections_path)], cwd=workdir, env=env)
    assert (installed.root / "MANIFEST.json").is_file()
    return installed
