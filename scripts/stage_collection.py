"""Copy the collection's source files from the checkout into DEST.

The files are the ones git knows about (tracked, plus untracked files that .gitignore does
not exclude), so a new role or playbook is picked up as soon as it exists, without anything
here listing it. Outside a git checkout (an unpacked tarball) the tree is walked instead,
skipping the same kind of junk. Used by scripts/sanity.sh (ansible-test needs the collection
at .../ansible_collections/<namespace>/<name>/) and by the artifact test.

usage: stage_collection.py DEST [--keep tests/output]
  DEST is emptied first, except for the paths given with --keep (relative to DEST).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Used only outside a git checkout.
SKIP_DIRS = {".git", ".venv", "venv", "collections", "ansible_collections", "__pycache__", ".pytest_cache",
             ".hypothesis", ".tmp", ".emulator-state", ".tox", ".mypy_cache", ".ruff_cache"}
SKIP_PATHS = {"tests/output", "bench/peer/.venv", "bench/peer/work", "bench/results"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".tar.gz", ".retry")


def source_files(root: Path = REPO_ROOT) -> list[str]:
    """Relative paths of the collection's files in the checkout at ROOT."""
    if (root / ".git").exists():
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True,
        ).stdout.decode()
        names = sorted({name for name in out.split("\0") if name})
        # A tracked file deleted in the work tree is not part of the collection any more.
        return [name for name in names if (root / name).is_file() or (root / name).is_symlink()]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and os.path.join(rel_dir, d) not in SKIP_PATHS
        )
        for name in sorted(filenames):
            if not name.endswith(SKIP_SUFFIXES):
                files.append(os.path.join(rel_dir, name))
    return files


def stage(dest: Path, keep: tuple[str, ...] = (), root: Path = REPO_ROOT) -> list[str]:
    """Make DEST a copy of the collection's files; return the relative paths copied."""
    dest.mkdir(parents=True, exist_ok=True)
    kept_top = {Path(k).parts[0] for k in keep}
    for entry in dest.iterdir():
        if entry.name in kept_top:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for top in kept_top:  # e.g. tests/: empty all of it except tests/output
        top_path = dest / top
        if not top_path.is_dir():
            continue
        keep_here = {Path(k) for k in keep if Path(k).parts[0] == top}
        for sub in top_path.iterdir():
            rel = sub.relative_to(dest)
            if rel in keep_here:
                continue
            if sub.is_dir() and not sub.is_symlink():
                shutil.rmtree(sub)
            else:
                sub.unlink()
    files = source_files(root)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--keep", action="append", default=[], help="path under DEST to leave in place")
    args = parser.parse_args(argv)
    files = stage(args.dest, tuple(args.keep))
    print(f"staged {len(files)} files into {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
