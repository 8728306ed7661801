#!/usr/bin/env bash
# Lint gates that need no virtualenvs of their own (fast):
#   - ansible-lint with the production profile (.ansible-lint) over the whole collection: roles/
#     and playbooks/ as soon as they exist, plus galaxy.yml, meta/ and changelogs/ today;
#   - antsibull-changelog lint: changelogs/config.yaml, changelog.yaml and every fragment.
# Expects the venv's bin first on PATH (the Makefile does that).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0

echo "== ansible-lint (profile: production)"
# Content dirs are linted when they exist; ansible-lint with no argument lints the whole project.
ansible-lint --nocolor || status=1

echo "== antsibull-changelog lint"
antsibull-changelog lint || status=1

# ansible-lint writes nothing into the checkout; antsibull-changelog may leave its plugin cache
# (git-ignored).
exit "$status"
