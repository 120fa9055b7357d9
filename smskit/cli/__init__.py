"""``smskit`` command line: a thin dispatcher; each sub-command lives in its own module.

Every sub-command module offers ``add_arguments(parser)`` and ``cli_main(args) -> int``. Exit codes
everywhere: 0 done, 1 done with rejected/unknown rows (or the work did not complete), 2 nothing done
because of bad input or configuration; a bad option value is refused by argparse (exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "emulator": ("smskit.cli.emulator", "serve the emulated SMS API until stopped"),
    "send": ("smskit.cli.send", "plan and send a campaign from a recipients file"),
    "receive": ("smskit.cli.receive", "run the status-report receiver until stopped"),
    "report": ("smskit.cli.report", "ingest status reports and write delivery figures and a summary"),
    "demo": ("smskit.cli.demo", "the whole loop on the emulator: campaign, reports, figures"),
    "archive": ("smskit.cli.archive", "add report stores, logs, exports, results and ledgers to a Parquet warehouse"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smskit", description="SMS campaigns and delivery reports on Huawei Cloud Message & SMS."
    )
    parser.add_argument("--version", action="version", version=f"smskit {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # a sub-command whose module is not installed in this build
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def _version() -> str:
    from smskit import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; a mistake the user can fix (a smskit error, a file or SQLite problem) is one
    line on stderr and exit 2, never a traceback."""
    from smskit.cli._edge import error_line
    from smskit.errors import SmsKitError

    args = build_parser().parse_args(argv)
    try:
        return int(args._module.cli_main(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (SmsKitError, OSError, sqlite3.Error) as exc:
        print(error_line(args.command, exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
