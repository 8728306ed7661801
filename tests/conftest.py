"""Test-session wiring shared by every test under tests/.

pytest-ansible makes the checkout importable as ``ansible_collections.azure_ops.vm_access``
by building ``collections/ansible_collections/azure_ops/vm_access`` out of symlinks to the
top-level entries of the repo. It does that only once, so an entry added later (a new
top-level folder) would be missing; this file completes the tree before the plugin runs.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTION_LINK_DIR = REPO_ROOT / "collections" / "ansible_collections" / "azure_ops" / "vm_access"


def _complete_collection_tree() -> None:
    COLLECTION_LINK_DIR.mkdir(parents=True, exist_ok=True)
    for entry in REPO_ROOT.iterdir():
        if entry.name in ("collections", ".git", ".venv"):
            continue
        link = COLLECTION_LINK_DIR / entry.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(entry)


_complete_collection_tree()

pytest_plugins = ["tests.emulator.pytest_plugin"]
