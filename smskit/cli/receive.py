"""``smskit receive``: run the status-report receiver until SIGINT/SIGTERM.

Its token and push keys come from files (``--token-file``, ``--push-keys-file``), the environment or
``.env`` (:class:`smskit.config.ReceiverSettings`), never from the command line, where ``ps`` shows them.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
from types import FrameType

from smskit._server import LOOPBACK
from smskit.cli._edge import error_line, port
from smskit.cli._secrets import refuse_on_argv
from smskit.errors import ConfigError, ReportError
from smskit.reports.receiver import CallbackReceiver

__all__ = ["add_arguments", "cli_main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``smskit receive``."""
    refused = {
        "--token": "use --token-file, $SMSKIT_RECEIVER_TOKEN or .env",
        "--push-ak": "use --push-keys-file, $SMSKIT_PUSH_AK with $SMSKIT_PUSH_SK, or .env",
        "--push-sk": "use --push-keys-file, $SMSKIT_PUSH_AK with $SMSKIT_PUSH_SK, or .env",
    }
    refuse_on_argv(parser, refused)
    parser.add_argument("--host", default=LOOPBACK, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=0, help="port (default: a free one)")
    parser.add_argument("--store", default="reports.sqlite", help="SQLite store (default reports.sqlite)")
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help="read the secret path segment from FILE (else $SMSKIT_RECEIVER_TOKEN or .env); the URL becomes "
        "/reports/<token>",
    )
    parser.add_argument(
        "--push-keys-file",
        metavar="FILE",
        help="push AK/SK pairs, one 'AK SK' per line, two lines during a key rotation (else $SMSKIT_PUSH_KEYS_FILE, "
        "or $SMSKIT_PUSH_AK with $SMSKIT_PUSH_SK, or .env); secrets are never taken from the command line",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the https address a reverse proxy serves this receiver at; the printed callback URL uses it",
    )
    parser.add_argument(
        "--require-body-hash",
        action="store_true",
        help="refuse signed pushes whose body is not covered by the signature (UNSIGNED-PAYLOAD)",
    )


def cli_main(args: argparse.Namespace) -> int:
    """Run the receiver until SIGINT/SIGTERM; first prints ``SMSKIT_STATUS_CALLBACK=<url>``."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        rx = CallbackReceiver.from_env(
            args.store,
            host=args.host,
            port=args.port,
            token_file=args.token_file,
            push_keys_file=args.push_keys_file,
            require_body_hash=args.require_body_hash,
            public_url=args.public_url,
        )
        rx.start()
    except (ConfigError, ReportError, OSError, sqlite3.Error) as exc:
        print(error_line("receive", exc, about=f"the report store {args.store}"), file=sys.stderr)
        return 2
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"SMSKIT_STATUS_CALLBACK={rx.url}", flush=True)
        print(f"storing reports in {rx.store_path}; Ctrl-C stops", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        rx.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
