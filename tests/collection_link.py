"""Make this checkout importable and runnable as the collection azure_ops.vm_access.

Builds ``collections/ansible_collections/azure_ops/vm_access`` out of symlinks to the repo's
top-level entries (the layout pytest-ansible also uses), completing it when entries were added
since. ``ansible.cfg`` at the repo root points ``collections_path`` there, so
``ansible-playbook playbooks/reset_rdp.yml`` works from a checkout.
Run it with ``python -m tests.collection_link`` (``make venv`` does).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTION_LINK_DIR = REPO_ROOT / "collections" / "ansible_collections" / "azure_ops" / "vm_access"
SKIPPED = ("collections", ".git", ".venv")


def link_collection() -> Path:
    COLLECTION_LINK_DIR.mkdir(parents=True, exist_ok=True)
    for entry in REPO_ROOT.iterdir():
        if entry.name in SKIPPED:
            continue
        link = COLLECTION_LINK_DIR / entry.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(entry)
    return COLLECTION_LINK_DIR


if __name__ == "__main__":
    print(link_collection())
