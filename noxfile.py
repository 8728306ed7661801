"""The support matrix (``make matrix``): the unit tests, the in-process engine tests and the end-to-end
smoke set (``-m e2e``) under each ansible-core release and Azure SDK range the collection claims.

Why nox: one small, well-kept tool that builds and reuses a virtualenv per cell (``.nox/``, ignored) from
plain pip requirements, and runs the same pytest commands there; tox-ansible would add a tox plugin layer
for a matrix this small. ansible-core 2.20+ needs Python 3.12+, which these machines lack (see README).
"""

from __future__ import annotations

import os

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# cell name -> (pins, whether the cell runs with pytest-ansible). The first pin is ansible-core's: each cell checks
# that the release it installed is the one it names.
CELLS = {
    "core2.16-lowest": (["ansible-core>=2.16,<2.17", "azure-identity==1.15.0", "azure-mgmt-compute==30.0.0"], True),
    # pytest-ansible's releases exclude ansible-core 2.17 (they require ansible-core!=2.17.*): installed
    # beside them it would replace 2.17 with the newest release. This cell runs without it.
    "core2.17-no-pytest-ansible": (["ansible-core>=2.17,<2.18", "azure-identity>=1.15,<2",
                                    "azure-mgmt-compute>=30,<40"], False),
    "core2.18": (["ansible-core>=2.18,<2.19", "azure-identity>=1.15,<2", "azure-mgmt-compute>=30,<40"], True),
    # The newest of everything, and without pytest-ansible (its end of life is announced): the suite's own
    # collection-path helper must be enough.
    "core2.19-newest-no-pytest-ansible": (["ansible-core>=2.19,<2.20", "azure-identity==1.27.0",
                                           "azure-mgmt-compute==39.0.0"], False),
}

# Fails the cell when the installed ansible-core is outside the cell's range.
CHECK_CORE = (
    "import sys; from importlib.metadata import version; from packaging.specifiers import SpecifierSet; "
    "spec = sys.argv[1].split('ansible-core', 1)[1]; found = version('ansible-core'); "
    "print('ansible-core', found); sys.exit(0 if found in SpecifierSet(spec) else 'ansible-core %s is not %s' "
    "% (found, spec))"
)


@nox.session(python=False)
def versions(session):
    """List the cells."""
    for name, (pins, plugin) in CELLS.items():
        session.log("%s: %s%s" % (name, ", ".join(pins), "" if plugin else " (without pytest-ansible)"))


@nox.session(name="matrix")
@nox.parametrize("cell", list(CELLS))
def matrix(session, cell):
    pins, with_plugin = CELLS[cell]
    # One resolver run for everything, so that nothing the tools require can move a pin.
    session.install("-r", "tests/requirements-matrix.txt", *pins, *(["pytest-ansible>=25.0"] if with_plugin else []))
    if not with_plugin:
        session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", "pytest-ansible", silent=True)
    session.run("python", "-c", CHECK_CORE, pins[0])
    session.run("python", "-m", "pip", "freeze", "--quiet", silent=False)
    common = ["-q", "-p", "no:cacheprovider", "-n", "auto"] + ([] if with_plugin else ["-p", "no:pytest-ansible"])
    # Module processes run on the cell's Python, as `make test` runs them on the project venv's.
    env = {"ANSIBLE_PYTHON_INTERPRETER": os.path.join(session.bin, "python")}
    session.run("python", "-m", "pytest", "tests/unit", "tests/engine", *common, env=env)
    session.run("python", "-m", "pytest", "tests", "-m", "e2e", *common, env=env)
