"""Every module and module_util imports with only the standard library (+ ansible-core) present.

That is what the ``import`` sanity test requires, and what a user without the Azure SDK gets:
the modules must still load, and then fail with a ``missing_required_lib`` message and
reason ``missing_dependency`` instead of a traceback.

A child Python runs with ``-I -S`` (no site-packages, no PYTHONPATH, no user site); its sys.path
is the standard library, a directory holding only a link to ansible-core's package, and a
collections root holding only this collection. A meta path finder also refuses the SDK and its
usual companions, in case anything slips through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ansible
import pytest

from .conftest import FQCN_PREFIX, NAME, NAMESPACE, REPO_ROOT, stage_collection

# The built and installed collection, through Ansible itself: part of the smoke set.
pytestmark = pytest.mark.e2e

SOURCE_FILES = stage_collection.source_files(REPO_ROOT)
PACKAGE = "ansible_collections.%s.%s" % (NAMESPACE, NAME)


def _python_modules(folder):
    return sorted(p[:-3].replace("/", ".") for p in SOURCE_FILES
                  if p.startswith(folder + "/") and p.endswith(".py") and not p.endswith("__init__.py"))


MODULE_UTILS = _python_modules("plugins/module_utils")
MODULES = _python_modules("plugins/modules")
# Modules whose work is done by an action plugin of the same name on the controller; their module
# file only documents the options and refuses to run on its own.
ACTION_BACKED = sorted(p.split("/")[-1][:-3] for p in SOURCE_FILES if p.startswith("plugins/action/") and p.endswith(".py"))

# Arguments that pass each module's argument spec, so the run gets as far as the dependency check.
# A new module needs an entry here.
MODULE_ARGS = {
    "vm_access_info": {"resource_group": "rg-web"},
    "vm_access_reset": {"reset": "rdp", "resource_group": "rg-web", "vm_name": "web-001", "run_tag": "T1"},
    "vm_rdp_check": {"resource_group": "rg-web", "vm_name": "web-001"},
    "vm_rdp_repair": {"resource_group": "rg-web", "vm_name": "web-001"},
}

BLOCKED = ("azure", "msal", "msal_extensions", "requests", "urllib3", "isodate", "cryptography", "yaml", "jinja2")

CHILD = r"""
import contextlib, importlib, importlib.abc, io, json, runpy, sys, traceback

links_dir, collections_root, package, blocked, utils, modules, module_args = sys.argv[1:8]
blocked, utils, modules, module_args = (json.loads(v) for v in (blocked, utils, modules, module_args))
assert not any("site-packages" in p or "dist-packages" in p for p in sys.path), sys.path
stdlib_path = list(sys.path)
sys.path[:0] = [links_dir, collections_root]
refused = []


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            refused.append(name)
            raise ModuleNotFoundError("No module named %r (blocked: stdlib-only test)" % name, name=name)
        return None


sys.meta_path.insert(0, Refuse())
report = {"sys_path": stdlib_path, "import_errors": {}, "runs": {}, "refused": refused}
for name in utils + modules:
    try:
        importlib.import_module(package + "." + name)
    except BaseException:
        report["import_errors"][name] = traceback.format_exc()

from ansible.module_utils import basic
try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args):
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        yield

for name in modules:
    short = name.rsplit(".", 1)[-1]
    out = io.StringIO()
    code = None
    with patch_module_args(module_args.get(short, {})), contextlib.redirect_stdout(out):
        try:
            runpy.run_module(package + "." + name, run_name="__main__", alter_sys=False)
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            report["import_errors"][name + " (run)"] = traceback.format_exc()
    report["runs"][short] = {"exit": code, "stdout": out.getvalue()}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def stdlib_report(tmp_path_factory):
    base = tmp_path_factory.mktemp("stdlib-only")
    links = base / "links"
    links.mkdir()
    (links / "ansible").symlink_to(Path(ansible.__file__).resolve().parent, target_is_directory=True)
    collection = base / "collections" / "ansible_collections" / NAMESPACE / NAME
    stage_collection.stage(collection)
    argv = [sys.executable, "-I", "-S", "-c", CHILD, str(links), str(base / "collections"), PACKAGE,
            json.dumps(BLOCKED), json.dumps(MODULE_UTILS), json.dumps(MODULES), json.dumps(MODULE_ARGS)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base), "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(argv, cwd=str(base), env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_child_python_sees_only_the_standard_library(stdlib_report):
    for entry in stdlib_report["sys_path"]:
        assert "site-packages" not in entry and str(REPO_ROOT) not in entry, stdlib_report["sys_path"]


@pytest.mark.parametrize("name", MODULE_UTILS + MODULES)
def test_imports_without_third_party_packages(stdlib_report, name):
    assert name in MODULE_UTILS + MODULES
    assert name not in stdlib_report["import_errors"], stdlib_report["import_errors"][name]


@pytest.mark.parametrize("module", [m.rsplit(".", 1)[-1] for m in MODULES])
def test_module_reports_missing_dependency(stdlib_report, module):
    assert module + " (run)" not in str(list(stdlib_report["import_errors"])), stdlib_report["import_errors"]
    run = stdlib_report["runs"][module]
    assert run["exit"] == 1, run
    result = json.loads(run["stdout"])
    assert result["failed"] is True, result
    if module in ACTION_BACKED:
        return  # fails cleanly (above); the SDK is the action plugin's business, on the controller
    assert module in MODULE_ARGS, "add arguments for %s%s to MODULE_ARGS" % (FQCN_PREFIX, module)
    assert result["reason"] == "missing_dependency", result
    assert "Failed to import the required Python library" in result["msg"], result
    assert "azure-identity" in result["msg"], result
