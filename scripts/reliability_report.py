"""Render docs/reliability.md from the reliability suite's last run (tests/output/reliability/last_run.json).

`make reliability-report`; the suite itself writes only under tests/output/, so `make test` leaves the tree clean.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.report import DOC, LAST_RUN, write_report  # noqa: E402

if __name__ == "__main__":
    if not LAST_RUN.exists():
        sys.exit("no %s: run `make test` (or `python -m pytest tests/reliability`) first" % LAST_RUN)
    print(write_report(json.loads(LAST_RUN.read_text()), DOC))
