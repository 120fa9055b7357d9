"""``smskit archive``: add receiver stores, callback logs, exports, results CSVs and ledgers to a warehouse.

Each SOURCE's kind is inferred (a ledger or a ``smskit send --out`` CSV holds results, anything else
status reports) unless ``--kind`` says it. Adding is idempotent: archiving the same source again adds
nothing, so a periodic job can archive whole stores every time. Exit codes: 0 archived (or nothing new);
1 some sources archived, then one failed; 2 nothing archived (bad input or an unusable warehouse).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "cli_main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="report store, log, export, results CSV or ledger")
    parser.add_argument("--to", required=True, metavar="DIR", help="the warehouse: a directory or an fsspec URL")
    parser.add_argument("--kind", choices=["results", "reports", "replies"], help="what the sources hold (inferred)")
    parser.add_argument("--campaign", metavar="C", help="campaign of results that carry no extend")
    parser.add_argument("--skip-malformed", action="store_true", help="drop malformed report lines instead of refusing")


def cli_main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from smskit.errors import SmsKitError

    missing = [s for s in args.sources if not Path(s).is_file()]
    if missing:
        print(f"smskit archive: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        from smskit.warehouse import Warehouse
        from smskit.warehouse.sources import infer_kind

        kinds = [args.kind or infer_kind(s) for s in args.sources]
        wh = Warehouse(args.to)
    except (SmsKitError, ValueError, OSError) as exc:
        print(f"smskit archive: {exc}", file=sys.stderr)
        return 2
    done = 0
    try:
        for source, kind in zip(args.sources, kinds, strict=True):
            try:
                added = wh.add(
                    source, kind=kind, campaign=args.campaign, errors="skip" if args.skip_malformed else "raise"
                )
            except (SmsKitError, ValueError, OSError) as exc:
                print(f"smskit archive: {source}: {exc}", file=sys.stderr)
                return 1 if done else 2
            done += 1
            print(f"{source}: {added} new {kind} row(s)")
    finally:
        wh.close()
    print(f"warehouse: {wh.location.root}")
    return 0
