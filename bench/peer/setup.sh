#!/usr/bin/env bash
# Install the peer (azure.azcollection, as shipped in the newest `ansible` package) into its own
# virtualenv, outside the project's. Idempotent: a step whose result is already there is skipped.
#
#   bench/peer/.venv/                       python3.11 + ansible-core + the collection's requirements.txt
#   bench/peer/work/ansible-*.whl           the newest `ansible` wheel (pure Python; metadata asks for 3.12)
#   bench/peer/work/collections/ansible_collections/azure/azcollection/   extracted from it
#
# Nothing here is committed (.gitignore has bench/peer/.venv/ and bench/peer/work/).
# Environment: PEER_PYTHON (default python3.11), PEER_ANSIBLE_CORE (pip spec, default below),
# PEER_ANSIBLE (pip spec for the `ansible` wheel, default: newest).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"
WORK="$HERE/work"
COLL="$WORK/collections"
PEER_PYTHON="${PEER_PYTHON:-python3.11}"
# azure.azcollection 3.x: requires_ansible >= 2.16; the newest ansible-core that still runs on 3.11 is 2.19.
PEER_ANSIBLE_CORE="${PEER_ANSIBLE_CORE:-ansible-core>=2.17,<2.20}"
PEER_ANSIBLE="${PEER_ANSIBLE:-ansible}"
PIP=("$VENV/bin/python" -m pip --quiet --disable-pip-version-check)

mkdir -p "$WORK" "$COLL"

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV ($PEER_PYTHON)"
    "$PEER_PYTHON" -m venv "$VENV"
    "${PIP[@]}" install --upgrade pip
fi

if [ ! -x "$VENV/bin/ansible-playbook" ]; then
    echo "== installing $PEER_ANSIBLE_CORE"
    "${PIP[@]}" install "$PEER_ANSIBLE_CORE"
fi

# shellcheck disable=SC2012  # ls | sort -V picks the newest wheel; wheel names are plain
WHEEL="$(ls -1 "$WORK"/ansible-[0-9]*.whl 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$WHEEL" ]; then
    echo "== downloading the newest $PEER_ANSIBLE wheel (metadata: Python 3.12; the content is pure Python)"
    "${PIP[@]}" download --no-deps --python-version 3.12 --only-binary=:all: "$PEER_ANSIBLE" -d "$WORK"
    # shellcheck disable=SC2012
    WHEEL="$(ls -1 "$WORK"/ansible-[0-9]*.whl | sort -V | tail -n 1)"
fi

if [ ! -f "$COLL/ansible_collections/azure/azcollection/MANIFEST.json" ]; then
    echo "== extracting ansible_collections/azure/azcollection/ from $(basename "$WHEEL")"
    "$VENV/bin/python" - "$WHEEL" "$COLL" <<'EOF'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "ansible_collections/azure/azcollection/"
with zipfile.ZipFile(wheel) as zf:
    names = [n for n in zf.namelist() if n.startswith(prefix)]
    if not names:
        sys.exit("no %s in %s" % (prefix, wheel))
    zf.extractall(dest, names)
print("   %d files" % len(names))
EOF
fi

REQ="$COLL/ansible_collections/azure/azcollection/requirements.txt"
STAMP="$VENV/.peer-requirements.sha256"
REQ_SUM="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$REQ_SUM" ]; then
    echo "== installing the collection's requirements.txt ($(grep -cvE '^\s*(#|$)' "$REQ") lines)"
    # The pins are installed exactly as published. If one ever fails to build on this Python, the
    # fallback below retries the rest one by one and reports which pins could not be installed.
    if ! "${PIP[@]}" install -r "$REQ"; then
        echo "!! pip install -r requirements.txt failed as a whole; retrying each requirement on its own" >&2
        FAILED=()
        while IFS= read -r line; do
            spec="${line%%#*}"; spec="$(echo "$spec" | xargs)"
            [ -z "$spec" ] && continue
            "${PIP[@]}" install "$spec" || FAILED+=("$spec")
        done <"$REQ"
        if [ "${#FAILED[@]}" -gt 0 ]; then
            echo "!! could not install: ${FAILED[*]}" >&2
            printf '%s\n' "${FAILED[@]}" >"$VENV/.peer-requirements-failed.txt"
        fi
    fi
    echo "$REQ_SUM" >"$STAMP"
fi

echo "== peer versions"
"$VENV/bin/python" - "$COLL" "$WHEEL" <<'EOF'
import json, os, sys
from importlib import metadata
coll, wheel = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(coll, "ansible_collections/azure/azcollection/MANIFEST.json")))
print("python               %s" % sys.version.split()[0])
print("ansible wheel        %s" % os.path.basename(wheel))
print("azure.azcollection   %s" % manifest["collection_info"]["version"])
for dist in ("ansible-core", "azure-cli-core", "azure-identity", "azure-mgmt-compute", "azure-core", "msal"):
    try:
        print("%-20s %s" % (dist, metadata.version(dist)))
    except metadata.PackageNotFoundError:
        print("%-20s (not installed)" % dist)
print("installed distributions: %d" % len(list(metadata.distributions())))
EOF
if [ -f "$VENV/.peer-requirements-failed.txt" ]; then
    echo "!! requirements not installed (see $VENV/.peer-requirements-failed.txt):"
    sed 's/^/   /' "$VENV/.peer-requirements-failed.txt"
fi
