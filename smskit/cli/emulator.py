"""``smskit emulator``: serve the emulated SMS API in the foreground until stopped.

It first prints ``SMSKIT_BASE_URL=…``, ``SMSKIT_APP_KEY=…``, ``SMSKIT_APP_SECRET=…`` and
``SMSKIT_SENDER=…`` lines, ready to ``export`` (everything ``smskit send`` needs): the secret is the
emulator's own throw-away test credential, printed on purpose (the only place smskit prints a secret).
A secret you choose comes from ``--app-secret-file`` or ``$SMSKIT_EMULATOR_APP_SECRET`` (never from the
command line) and is not printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from smskit._server import LOOPBACK, warn_if_public
from smskit.cli._edge import error_line, port
from smskit.cli._secrets import refuse_on_argv
from smskit.config import read_secret_file
from smskit.emulator import Emulator
from smskit.errors import ConfigError, SmsKitError

__all__ = ["SECRET_VAR", "add_arguments", "cli_main"]

#: Environment variable with an application secret for the emulator to accept.
SECRET_VAR = "SMSKIT_EMULATOR_APP_SECRET"  # noqa: S105 - a variable name, not a secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``smskit emulator`` options to ``parser``."""
    parser.add_argument("--host", default=LOOPBACK, help=f"address to bind (default {LOOPBACK})")
    parser.add_argument("--port", type=port, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--templates", metavar="FILE", help="template catalog (CSV/JSON); default: any id")
    parser.add_argument("--app-key", metavar="K", help="application key to accept (default: generated)")
    parser.add_argument(
        "--app-secret-file",
        metavar="FILE",
        help=f"application secret to accept, read from FILE (else ${SECRET_VAR}; default: generated and printed)",
    )
    refuse_on_argv(parser, {"--app-secret": f"use --app-secret-file or ${SECRET_VAR}"})
    parser.add_argument("--delivery-rate", type=float, default=0.95, metavar="R", help="default 0.95")
    parser.add_argument("--fail-rate", type=float, default=0.0, metavar="R", help="share answered 503")
    parser.add_argument(
        "--ambiguous-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="share accepted, then connection dropped",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="N", help="added to every answer")
    parser.add_argument("--report-delay", type=float, default=0.0, metavar="SECONDS", help="before each push")
    parser.add_argument("--push-format", choices=("form", "batch"), default="form", help="status-report form")
    parser.add_argument("--seed", type=int, default=None, help="make faults and outcomes reproducible")


def cli_main(args: argparse.Namespace) -> int:
    """Run the emulator; return the exit code."""
    try:
        chosen = (
            read_secret_file(args.app_secret_file, "app secret", "--app-secret-file").strip()
            if args.app_secret_file
            else os.environ.get(SECRET_VAR) or None
        )
    except ConfigError as exc:
        print(error_line("emulator", exc), file=sys.stderr)
        return 2
    try:
        emulator = Emulator(
            args.templates,
            delivery_rate=args.delivery_rate,
            fail_rate=args.fail_rate,
            ambiguous_rate=args.ambiguous_rate,
            latency_ms=args.latency_ms,
            report_delay=args.report_delay,
            push_format=args.push_format,
            app_key=args.app_key,
            app_secret=chosen,
            seed=args.seed,
            host=args.host,
            port=args.port,
        )
    except (ValueError, OSError, SmsKitError) as exc:
        print(error_line("emulator", exc), file=sys.stderr)
        return 2
    warning = warn_if_public(args.host)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)

    def ready(emu: Emulator) -> None:
        print(f"SMSKIT_BASE_URL={emu.base_url}")
        print(f"SMSKIT_APP_KEY={emu.app_key}")
        if chosen is None:  # a generated, throw-away secret; one the user chose is not printed
            print(f"SMSKIT_APP_SECRET={emu.app_secret}")
        print(f"SMSKIT_SENDER={emu.sender}")
        sys.stdout.flush()
        catalog = f"the templates of {args.templates}" if args.templates else "any template id with any params"
        print(f"accepts any sender (channel number) and {catalog}", file=sys.stderr)
        print("emulator serving; stop with Ctrl-C", file=sys.stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever(on_ready=ready)
    return 0
