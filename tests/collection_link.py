"""Make this checkout importable and runnable as the collection azure_ops.vm_access.

Builds ``collections/ansible_collections/azure_ops/vm_access`` out of symlinks to the repo's
top-level entries (the layout pytest-ansible also uses), completing it when entries were added
since. ``ansible.cfg`` at the repo root points ``collections_path`` there, so
``ansible-playbook playbooks/reset_rdp.yml`` works from a checkout.
Run it with ``python -m tests.collection_link`` (``make venv`` does).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = REPO_ROOT / "collections"
COLLECTION_LINK_DIR = COLLECTIONS_DIR / "ansible_collections" / "azure_ops" / "vm_access"
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


def inject() -> None:
    """Make ``ansible_collections.azure_ops.vm_access`` importable in this process (tests and tools),
    with ansible-core's own collection finder, and visible to the Ansible processes tests start.

    This is what pytest-ansible's collection-path injection does; doing it here keeps the suite
    independent of that plugin (``-p no:pytest-ansible``), whose end of life is announced.
    """
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    link_collection()
    paths = [str(COLLECTIONS_DIR)]
    _AnsibleCollectionFinder(paths=paths)._install()
    if str(COLLECTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS_DIR))
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", os.pathsep.join(paths))


if __name__ == "__main__":
    print(link_collection())
