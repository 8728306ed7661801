"""CLI: python -m tests.emulator serve [--fleet FILE] --state-dir DIR [--port N] [--time-scale X] [--page-size N]
[--lenient]"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .fleet import FleetError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator",
                                     description="HTTPS emulator of Azure Resource Manager + Entra ID token endpoints")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve until SIGTERM/SIGINT")
    serve.add_argument("--fleet", help="fleet YAML/JSON file (default: the shipped demo fleet)")
    serve.add_argument("--state-dir", required=True, type=Path, help="where ca.pem, env.sh and env.json go")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    serve.add_argument("--time-scale", type=float, default=None,
                       help="multiply every simulated duration by this (0.05 runs a 60 s extension in 3 s)")
    serve.add_argument("--page-size", type=int, default=None, help="VMs per list page (default 100)")
    serve.add_argument("--lenient", action="store_true",
                       help="opt in to the old, more generous answers (see README 'Lenient mode'); off by default")
    args = parser.parse_args(argv)
    from .server import serve as run_server
    try:
        asyncio.run(run_server(args.fleet, args.state_dir.resolve(), args.port, args.time_scale, args.page_size,
                               lenient=args.lenient))
    except FleetError as exc:
        print(f"fleet error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
