"""``smskit receive``: run the status-report receiver until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
from types import FrameType

from smskit._server import LOOPBACK
from smskit.cli._edge import error_line, port
from smskit.errors import ConfigError, ReportError
from smskit.reports.receiver import CallbackReceiver

__all__ = ["add_arguments", "cli_main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``smskit receive``."""
    parser.add_argument("--host", default=LOOPBACK, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=0, help="port (default: a free one)")
    parser.add_argument("--store", default="reports.sqlite", help="SQLite store (default reports.sqlite)")
    parser.add_argument(
        "--token",
        default=None,
        help="secret path segment (default $SMSKIT_RECEIVER_TOKEN); the URL becomes /reports/<token>",
    )
    parser.add_argument("--token-file", metavar="FILE", help="read the token from FILE ($SMSKIT_RECEIVER_TOKEN_FILE)")
    parser.add_argument("--push-ak", default=None, help="push AK ($SMSKIT_PUSH_AK)")
    parser.add_argument("--push-sk", default=None, help="push SK ($SMSKIT_PUSH_SK)")
    parser.add_argument(
        "--push-keys-file",
        metavar="FILE",
        help="push AK/SK pairs, one 'AK SK' per line; two lines during a key rotation ($SMSKIT_PUSH_KEYS_FILE)",
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
            token=args.token,
            token_file=args.token_file,
            push_ak=args.push_ak,
            push_sk=args.push_sk,
            push_keys_file=args.push_keys_file,
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
