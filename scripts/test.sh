#!/usr/bin/env bash
# The whole test suite, in order (each stage runs even if an earlier one failed; the script
# fails if any did):
#   1. pytest: unit tests, the emulator's own tests, the modules driven through Ansible against
#      the emulator, and the built artifact (tests/artifact/: build, install, ansible-doc,
#      ad-hoc run by FQCN, stdlib-only imports);
#   2. scripts/lint.sh: ansible-lint (production profile) and antsibull-changelog lint;
#   3. scripts/sanity.sh: ansible-test sanity, every test, in its own virtualenvs;
#   4. tree: nothing the suite ran left the git work tree changed (reports go to tests/output/).
# Expects the venv's bin first on PATH (the Makefile does that). Arguments go to pytest.
# SKIP_STAGES="lint sanity" skips stages and PYTEST_PATHS="tests/artifact" narrows pytest (quick
# local runs; CI runs everything).
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_PYTHON_INTERPRETER="$(command -v python)"
export ANSIBLE_PYTHON_INTERPRETER

passed=0
failed=0
summary=()

stage() {
  local name="$1"
  shift
  if [[ " ${SKIP_STAGES:-} " == *" $name "* ]]; then
    summary+=("$(printf '%-8s skipped' "$name")")
    return 0
  fi
  echo "=== stage $name: $*"
  local start=$SECONDS rc=0
  "$@" || rc=$?
  local took=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    summary+=("$(printf '%-8s ok      %4ds' "$name" "$took")")
  else
    failed=$((failed + 1))
    summary+=("$(printf '%-8s FAILED  %4ds (exit %d)' "$name" "$took" "$rc")")
  fi
  echo "=== stage $name: exit $rc after ${took}s"
}

tree_before="$(git status --porcelain 2>/dev/null || true)"
tree_unchanged() {
  local after
  after="$(git status --porcelain 2>/dev/null || true)"
  if [ "$after" != "$tree_before" ]; then
    echo "make test changed the work tree (git status before / after):"
    diff <(printf '%s\n' "$tree_before") <(printf '%s\n' "$after") || true
    return 1
  fi
}

# Parallel by default: one emulator per xdist worker (PYTEST_WORKERS=0 runs in one process). Two workers
# per CPU: the suite waits on emulated Azure time more than it computes (one worker per CPU kept the two
# CPUs of a CI machine 55 % busy: 231 s; two per CPU: 190 s).
# shellcheck disable=SC2086  # PYTEST_PATHS is a list of paths
stage pytest python -m pytest ${PYTEST_PATHS:-tests} -q -p no:cacheprovider \
  -n "${PYTEST_WORKERS:-$(( $(getconf _NPROCESSORS_ONLN) * 2 ))}" \
  --durations=15 "$@"
stage lint bash scripts/lint.sh
stage sanity bash scripts/sanity.sh
stage tree tree_unchanged

echo "=== summary"
printf '  %s\n' "${summary[@]}"
# (Not "N passed, N failed": that shape is read as a test count; pytest's own line above is the count.)
if [ "$failed" -eq 0 ]; then echo "all $passed stages ok"; else echo "$failed of $((passed + failed)) stages FAILED"; fi
[ "$failed" -eq 0 ]
