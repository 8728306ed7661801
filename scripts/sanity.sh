#!/usr/bin/env bash
# ansible-test sanity over the whole collection, the way Galaxy/certification reviewers run it.
#
# ansible-test only works on a tree at .../ansible_collections/<namespace>/<name>/, so this
# copies the checkout's files (scripts/stage_collection.py: git-tracked plus untracked,
# non-ignored files, so new roles/playbooks are picked up automatically) into a work tree
# and runs `ansible-test sanity --venv` there: every sanity test, for this machine's Python,
# each in its own virtualenv, no Docker.
#
# Caching: the work tree lives under $SANITY_WORK (default ~/.cache/azure_ops_vm_access) and
# its tests/output/ (which holds ansible-test's controller venv) is kept between runs; the
# per-test venvs are cached by ansible-test itself under ~/.ansible/test/venv/.
#
# ansible-test bootstraps pip from a script it would download from a host this network cannot
# reach; we install our own stand-in (scripts/ansible_test_pip_bootstrap.py) into its cache.
#
# Env: SANITY_TIMEOUT (seconds, default 900), SANITY_PYTHON (default: this python's X.Y),
#      SANITY_ARGS (extra ansible-test options, e.g. "--test pep8").
# Expects the venv's bin first on PATH (the Makefile does that).
set -euo pipefail
cd "$(dirname "$0")/.."

NAMESPACE="$(python -c 'import yaml,sys; print(yaml.safe_load(open("galaxy.yml"))["namespace"])')"
NAME="$(python -c 'import yaml,sys; print(yaml.safe_load(open("galaxy.yml"))["name"])')"
SANITY_WORK="${SANITY_WORK:-$HOME/.cache/azure_ops_vm_access}"
SANITY_TIMEOUT="${SANITY_TIMEOUT:-900}"
SANITY_PYTHON="${SANITY_PYTHON:-$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')}"
TREE="$SANITY_WORK/ansible_collections/$NAMESPACE/$NAME"

# 1. The pip bootstrap stand-in, for every pip version this ansible-test may ask for.
CACHE_DIR="$HOME/.ansible/test/cache"
mkdir -p "$CACHE_DIR"
PIP_VERSIONS="$(python - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
found = set(re.findall(r"pip='([0-9.]+)'", src.read_text()))
print(" ".join(sorted(found)) or "24.2")
PY
)"
for version in $PIP_VERSIONS; do
  target="$CACHE_DIR/get_pip_${version//./_}.py"
  if ! cmp -s scripts/ansible_test_pip_bootstrap.py "$target"; then
    cp scripts/ansible_test_pip_bootstrap.py "$target"
  fi
  rm -f "$target.download"  # a leftover of a failed download attempt
done

# 2. The work tree (tests/output kept: it holds ansible-test's cached controller venv).
python scripts/stage_collection.py "$TREE" --keep tests/output

# 3. Run it.
cd "$TREE"
echo "ansible-test sanity in $TREE (python $SANITY_PYTHON, timeout ${SANITY_TIMEOUT}s)"
# shellcheck disable=SC2086  # SANITY_ARGS is a list of options
timeout --kill-after=30 "$SANITY_TIMEOUT" \
  ansible-test sanity --venv --python "$SANITY_PYTHON" --color no ${SANITY_ARGS:-} || status=$?
status="${status:-0}"
if [ "$status" -eq 124 ]; then
  echo "sanity.sh: ansible-test sanity timed out after ${SANITY_TIMEOUT}s" >&2
fi
exit "$status"
