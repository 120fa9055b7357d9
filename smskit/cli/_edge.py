"""What the command line says and accepts: one-line errors in CLI words, option types that refuse bad
values, the plan as a short table with its problems grouped, and why rows were not accepted.

Errors raised by the library carry Python advice (``skip_invalid=True``, ``pass sender=``); the command
line translates it here, in one table (:data:`CLI_WORDS`), so the advice names ``--skip-invalid`` and
``--sender`` instead.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import pandas as pd

from smskit.errors import SmsKitError

__all__ = [
    "CLI_WORDS",
    "cli_words",
    "error_line",
    "plan_lines",
    "port",
    "reason_lines",
    "region",
]

#: Python keyword argument → the command-line option (or variable) that sets the same thing.
CLI_WORDS: dict[str, str] = {
    "skip_invalid": "--skip-invalid",
    "default_region": "--default-region",
    "sender": "--sender",
    "signature": "--signature",
    "template_id": "--template-id",
    "template_column": "--template-column",
    "params": "--params",
    "to": "--to-column",
    "id": "--id-column",
    "opt_out": "--opt-out",
    "ledger": "--ledger",
    "campaign_id": "--campaign-id",
    "resend_unknown": "--resend-unknown",
    "status_callback": "--status-callback",
    "concurrency": "--concurrency",
    "rate": "--rate",
    "templates": "--templates",
    "mapping": "--mapping",
    "by": "--by",
    "control": "--control",
}
#: Whole phrases whose CLI form is not a word-for-word translation.
_PHRASES: dict[str, str] = {
    "plan with skip_invalid=True": "pass --skip-invalid",
    "pass them as arguments, export them, or put them in .env": "export them or put them in .env",
    "re-run with the same ledger": "re-run with the same --ledger",
    "pass mapping={'<export column>': 'sms_msg_id', '<export column>': 'status', …}": (
        "pass --mapping 'COLUMN=sms_msg_id' --mapping 'COLUMN=status'"
    ),
}
_KEYWORD = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, CLI_WORDS)) + r")=(True\b|[\w.-]+)?")


def cli_words(text: str) -> str:
    """Library advice in command-line words: ``skip_invalid=True`` → ``--skip-invalid``,
    ``pass sender=`` → ``pass --sender``, ``concurrency=4`` → ``--concurrency 4``."""
    for phrase, cli in _PHRASES.items():
        text = text.replace(phrase, cli)

    def option(match: re.Match[str]) -> str:
        name, value = CLI_WORDS[match.group(1)], match.group(2)
        return name if value in (None, "True") else f"{name} {value}"

    return _KEYWORD.sub(option, text)


def error_line(command: str, exc: BaseException, *, about: str = "the SQLite file") -> str:
    """One line for an error the user can fix: what was wrong and what to do, in CLI words; ``about``
    names the file a SQLite error is about."""
    if isinstance(exc, SmsKitError):
        text, advice = cli_words(exc.message), cli_words(exc.advice)
    elif isinstance(exc, sqlite3.Error):
        text = f"cannot use {about}: {exc}"
        advice = "check that the folder exists and the file is a smskit ledger or report store"
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        text, advice = f"{exc.strerror or exc}{where}", "check the path and its permissions"
    else:
        text, advice = str(exc), ""
    line = f"smskit {command}: {text}" + (f" ({advice})" if advice and advice not in text else "")
    return " ".join(line.split())


# --- option types ------------------------------------------------------------------------------------------


def port(value: str) -> int:
    """argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: use 0 (any free port) to 65535")
    return number


def region(value: str) -> str:
    """argparse type: a region code for numbers without ``+country code`` (``UK`` is refused: it is ``GB``)."""
    from smskit.numbers import check_region

    try:
        return check_region(value, name="")
    except SmsKitError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message.strip()} ({exc.advice})") from exc


# --- the plan ---------------------------------------------------------------------------------------------


def plan_lines(
    plan: Any,
    recipients: pd.DataFrame,
    *,
    to: str,
    params: Sequence[str] = (),
    template_column: str | None = None,
    price_per_segment: float | None = None,
    currency: str = "",
    examples: int = 3,
) -> list[str]:
    """The plan as a short table (ready, invalid, suppressed, requests, segments, estimated cost), then
    the rows that will not be sent, grouped by reason, each with its first ``examples`` rows: the user's
    row id and the offending value."""
    s = plan.summary
    if price_per_segment is None:
        cost = "— (pass --price-per-segment to estimate)"
    else:
        cost = f"{s['segments'] * price_per_segment:,.2f} {currency}".strip()
    table = [
        ("rows", f"{s['rows']:,}"),
        ("ready", f"{s['ready']:,}"),
        ("invalid", f"{s['invalid']:,}"),
        ("suppressed", f"{s['suppressed']:,}"),
        ("requests", f"{s['requests']:,}"),
        ("segments", f"{s['segments']:,}"),
        ("estimated cost", cost),
    ]
    width = max(len(v) for k, v in table if k != "estimated cost")
    lines = ["plan:"] + [f"  {k:<15}{v:>{width}}" if k != "estimated cost" else f"  {k:<15}{v}" for k, v in table]
    problems = plan.problems
    if not len(problems):
        return lines
    by_state = problems["state"].astype(str).value_counts()
    lines.append(
        f"{len(problems):,} row(s) will not be sent ("
        + ", ".join(f"{state} {int(n):,}" for state, n in by_state.items() if n)
        + "):"
    )
    id_column = getattr(plan, "id_column", None)
    reason = problems["problem"].astype(str).map(_reason_key)
    groups = pd.DataFrame({"state": problems["state"].astype(str), "reason": reason})
    grouped = sorted(groups.groupby(["state", "reason"], sort=False), key=lambda group: -len(group[1]))
    for (state, _), rows in grouped:  # the most frequent reason first
        texts = problems.loc[rows.index, "problem"].astype(str)
        heading = texts.value_counts().index[0]
        lines.append(f"  {len(rows):,} {state}: {cli_words(heading)}")
        for label in rows.index[:examples]:
            exact = texts.loc[label]
            where = _row_label(label, recipients, id_column)
            value = _offending(exact, recipients.loc[label], to=to, params=params, template_column=template_column)
            lines.append(f"      {where}: {value}" + (f" — {cli_words(exact)}" if exact != heading else ""))
        if len(rows) > examples:
            lines.append(f"      …and {len(rows) - examples:,} more")
    return lines


def _reason_key(problem: str) -> str:
    """The reason without the row's own values (quoted text, numbers), so similar rows group together."""
    return re.sub(r"'[^']*'|\"[^\"]*\"|(?<![\w$])\d+(?:[.,]\d+)*", "…", problem)


def _row_label(label: Any, recipients: pd.DataFrame, id_column: str | None) -> str:
    row = f"{recipients.index.name or 'row'} {label}"
    if id_column is None:
        return row
    return f"{id_column} {_quote(recipients.loc[label, id_column])} ({row})"


def _offending(problem: str, row: pd.Series, *, to: str, params: Sequence[str], template_column: str | None) -> str:
    """The input value a problem is about, with its column: a param for variable/param problems, the
    template for template problems, else the phone number."""
    found = re.search(r"\b(?:variable|param) (\d+)\b", problem)
    if found and params and int(found.group(1)) <= len(params):
        column = params[int(found.group(1)) - 1]
    elif "template" in problem and template_column is not None:
        column = template_column
    elif "template" in problem or "signature" in problem or "message is" in problem:
        return ", ".join(f"{c} {_quote(row[c])}" for c in params) or "(the template)"
    else:
        column = to
    return f"{column} {_quote(row[column])}"


def _quote(value: Any) -> str:
    return "(empty)" if value is None or (isinstance(value, float) and pd.isna(value)) else repr(str(value))


# --- send results -----------------------------------------------------------------------------------------


def reason_lines(results: pd.DataFrame) -> list[str]:
    """Why rows were not accepted, once per distinct reason with its count, meaning and advice."""
    from smskit.analytics import not_accepted

    table = not_accepted(results)
    if table.empty:
        return []
    lines = ["why:"]
    for state, code, count, error, meaning, advice in table.itertuples(index=False, name=None):
        detail = f" ({error})" if error and str(error) not in str(meaning) else ""
        what = f"{state}" if str(code).startswith("(") else f"{state} {code}"
        lines.append(f"  {int(count):,} {what}: {meaning}{detail}")
        lines.append(f"      what to do: {cli_words(str(advice))}")
    return lines
