"""Secrets never come from the command line, where ``ps`` and shell history show them to others."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["refuse_on_argv"]


class _SecretOnArgv(argparse.Action):
    """Refuse a secret given on the command line without echoing it; ``const`` says what to do instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: str | None = None) -> None:
        parser.error(f"{option} is not accepted: the command line is visible in ps; {self.const}")


def refuse_on_argv(parser: argparse.ArgumentParser, options: Mapping[str, str]) -> None:
    """Make each ``--option`` (→ what to use instead) an error; hidden from ``--help``.

    Naming them also stops argparse from reading ``--token X`` as an abbreviation of ``--token-file``.
    """
    for option, instead in options.items():
        parser.add_argument(
            option, nargs="?", const=instead, action=_SecretOnArgv, default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
