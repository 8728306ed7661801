"""Render docs/reliability.md again from tests/reliability/last_run.json (written by the reliability suite)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.report import LAST_RUN, write_report  # noqa: E402

if __name__ == "__main__":
    if not LAST_RUN.exists():
        sys.exit("no %s: run `python -m pytest tests/reliability` first" % LAST_RUN)
    print(write_report(json.loads(LAST_RUN.read_text())))
