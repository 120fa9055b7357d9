"""``smskit report``: ingest status reports and write delivery figures and a summary (Markdown + HTML).

Each SOURCE is a receiver store (``.sqlite``), a callback log, or a console export (CSV/XLSX). With
``--results`` (the CSV from ``smskit send --out``) the report covers every input row (the funnel);
without it, the reported messages. With ``--warehouse DIR`` the results and reports come from a
:class:`smskit.Warehouse` (``--campaign``/``--since`` select the sends; the engine picks the reports
they need). It prints a one-line headline, the campaigns covered (``--campaign`` keeps one) and the
overview.

An experiment: ``--outcomes orders.csv --outcome-id customer_id --outcome-time ordered_at
[--outcome-value amount] [--window 7D]`` joins each recipient's events in the window after its send time
(:func:`smskit.experiments.attach_outcomes`) and adds the Experiment section (ITT and CACE against
``--control``, by default the held-out arm; ``--weights holdout=0.1,A=0.45,B=0.45`` adds the sample-ratio
check). The ``--results`` file must hold every assigned recipient, held-out rows included, with the
``--variant`` column and the id column.

Exit codes: 0 written; 2 bad input (missing or unreadable file, a missing column, an unknown ``--by``
column, ``--campaign`` or ``--control``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from smskit.summary import DeliveryReport

from smskit.cli._edge import error_line
from smskit.reports.ingest import EXPORT_COLUMN_OF

__all__ = ["add_arguments", "cli_main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="*", metavar="SOURCE", help="report store, callback log or export")
    parser.add_argument("--warehouse", metavar="DIR", help="read results and reports from this warehouse")
    parser.add_argument("--since", metavar="DATE", help="with --warehouse: only sends at or after DATE (UTC)")
    parser.add_argument("--results", metavar="results.csv", help="send results (smskit send --out): the funnel")
    parser.add_argument("--out", metavar="DIR", default="report", help="output directory (default report/)")
    parser.add_argument(
        "--mapping",
        metavar="COLUMN=FIELD",
        action="append",
        default=[],
        help="export column → report field, e.g. 'Message ID=sms_msg_id' (repeatable; default: console names)",
    )
    parser.add_argument(
        "--by", metavar="COLUMN", action="append", help="break the delivery rate down by COLUMN (repeatable)"
    )
    parser.add_argument(
        "--campaign",
        metavar="ID",
        action="append",
        help="report on this campaign only (the campaign id smskit send put in extend; with --warehouse, the "
        "sends archived under it; repeatable)",
    )
    parser.add_argument(
        "--send-time-column",
        metavar="C",
        default=EXPORT_COLUMN_OF["sent_at"],
        help=f"export send-time column (default {EXPORT_COLUMN_OF['sent_at']!r})",
    )
    parser.add_argument(
        "--template-column",
        metavar="C",
        default=EXPORT_COLUMN_OF["template_id"],
        help=f"export template column (default {EXPORT_COLUMN_OF['template_id']!r})",
    )
    parser.add_argument("--skip-malformed", action="store_true", help="drop malformed lines instead of refusing")
    experiment = parser.add_argument_group("experiment (outcomes by arm; needs --results)")
    experiment.add_argument("--outcomes", metavar="FILE", help="outcome events (CSV/XLSX): orders, clicks, sign-ups")
    experiment.add_argument("--outcome-id", metavar="C", help="the id column of both the events and --results")
    experiment.add_argument("--outcome-time", metavar="C", help="the events' time column (naive times are UTC)")
    experiment.add_argument("--outcome-value", metavar="C", help="the events' value column, e.g. an order's amount")
    experiment.add_argument("--window", metavar="SPAN", help="events count this long after the send (default 7D)")
    experiment.add_argument("--variant", metavar="C", default="variant", help="the arm column (default variant)")
    experiment.add_argument("--control", metavar="ARM", help="the arm to compare with (default the held-out arm)")
    experiment.add_argument(
        "--weights", metavar="ARM=SHARE,…", help="planned shares, e.g. holdout=0.1,A=0.45,B=0.45: sample-ratio check"
    )
    parser.add_argument("--title", default="Delivery report", help="report title")


def cli_main(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from smskit.errors import SmsKitError
    from smskit.reports.ingest import read_status_reports
    from smskit.summary import export_send_info, read_results, summarize, write_report

    problem = _experiment_problem(args)
    if problem:
        print(f"smskit report: {problem}", file=sys.stderr)
        return 2
    if args.warehouse is not None:
        return _from_warehouse(args)
    if not args.sources:
        print("smskit report: give a SOURCE or --warehouse DIR", file=sys.stderr)
        return 2
    missing = [s for s in [*args.sources, args.results, args.outcomes] if s is not None and not Path(s).is_file()]
    if missing:
        print(f"smskit report: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        mapping = _mapping(args.mapping)
        reports = read_status_reports(
            list(args.sources), mapping=mapping, errors="skip" if args.skip_malformed else "raise"
        )
        results = read_results(args.results) if args.results else None
        if reports.empty and results is None:
            print(f"smskit report: no status reports in {', '.join(args.sources)}", file=sys.stderr)
            return 2
        send_info = None
        if results is None:  # send times from console exports stand in for missing send results
            id_column = _id_column(mapping)
            infos = [
                export_send_info(
                    s,
                    id_column=id_column,
                    sent_at_column=args.send_time_column,
                    template_column=args.template_column,
                )
                for s in args.sources
            ]
            found = [i for i in infos if i is not None]
            if found:
                send_info = pd.concat(found)
                send_info = send_info.loc[~send_info.index.duplicated()]
        metrics, weights = None, None
        if args.outcomes is not None and results is not None:
            results, metrics = _with_outcomes(results, args)
            weights = _weights(args.weights) if args.weights else None
        report = summarize(
            reports,
            results=results,
            send_info=send_info,
            by=args.by,
            variant=args.variant,
            control=args.control,
            sources=args.sources,
            campaign=args.campaign,
            unknown_by="raise",
            outcome_metrics=metrics,
            weights=weights,
        )
        paths = write_report(report, args.out, title=args.title)
    except (SmsKitError, ValueError, OSError) as exc:
        print(error_line("report", exc), file=sys.stderr)
        return 2
    _print(report, paths)
    return 0


def _from_warehouse(args: argparse.Namespace) -> int:
    from pathlib import Path

    from smskit.errors import SmsKitError
    from smskit.summary import summarize, write_report
    from smskit.warehouse import Warehouse

    if "://" not in args.warehouse and not Path(args.warehouse).is_dir():
        print(f"smskit report: no warehouse at {args.warehouse}", file=sys.stderr)
        return 2
    try:
        with Warehouse(args.warehouse) as wh:
            results = wh.read("results", campaign=args.campaign, since=args.since)
            reports = wh.read("reports", campaign=args.campaign, since=args.since)
        if results.empty:
            print(f"smskit report: no send results in {args.warehouse} for that selection", file=sys.stderr)
            return 2
        report = summarize(reports, results=results, by=args.by, sources=[args.warehouse], unknown_by="raise")
        paths = write_report(report, args.out, title=args.title)
    except (SmsKitError, ValueError, OSError) as exc:
        print(error_line("report", exc), file=sys.stderr)
        return 2
    _print(report, paths)
    return 0


def _experiment_problem(args: argparse.Namespace) -> str | None:
    """Why the experiment options cannot work together, before anything is read (None when they can)."""
    given = [
        option
        for option, value in (
            ("--outcome-id", args.outcome_id),
            ("--outcome-time", args.outcome_time),
            ("--outcome-value", args.outcome_value),
            ("--window", args.window),
            ("--weights", args.weights),
        )
        if value is not None
    ]
    if args.outcomes is None:
        return f"{', '.join(given)} need(s) --outcomes FILE" if given else None
    if args.warehouse is not None:
        return "--outcomes needs --results (the warehouse keeps no held-out rows): pass the results file instead"
    if args.results is None:
        return (
            "--outcomes needs --results results.csv: every assigned recipient, held-out rows included, "
            "with the variant and id columns"
        )
    lacking = [o for o, v in (("--outcome-id", args.outcome_id), ("--outcome-time", args.outcome_time)) if v is None]
    if lacking:
        return f"--outcomes needs {' and '.join(lacking)} (the events' id and time columns)"
    return None


def _with_outcomes(results: pd.DataFrame, args: argparse.Namespace) -> tuple[pd.DataFrame, list[str]]:
    """The results with each recipient's outcome from ``--outcomes``; the metrics to compare."""
    import pandas as pd

    from smskit.errors import DataValidationError
    from smskit.experiments import attach_outcomes
    from smskit.summary import read_outcomes

    missing = [c for c in dict.fromkeys([args.variant, args.outcome_id]) if c not in results.columns]
    if missing:
        raise DataValidationError(
            f"results file {args.results} lacks column(s) {missing}; it has {list(map(str, results.columns))}",
            advice="write the send results joined with the recipients' variant and id columns, or name them with "
            "--variant and --outcome-id",
        )
    window = args.window or "7D"
    try:
        span = pd.Timedelta(window)
    except ValueError as exc:
        raise ValueError(f"--window {window!r} is not a duration such as 7D, 48h or '14 days'") from exc
    if span <= pd.Timedelta(0):
        raise ValueError(f"--window {window!r} must be a positive duration such as 7D")
    events = read_outcomes(args.outcomes, on=args.outcome_id, time=args.outcome_time, value=args.outcome_value)
    joined = attach_outcomes(
        results, events, on=args.outcome_id, time=args.outcome_time, value=args.outcome_value, window=span
    )
    return joined, ["converted", "value"] if args.outcome_value else ["converted"]


def _weights(text: str) -> dict[str, float]:
    """``holdout=0.1,A=0.45,B=0.45`` → ``{"holdout": 0.1, "A": 0.45, "B": 0.45}``."""
    weights: dict[str, float] = {}
    for pair in text.split(","):
        arm, sep, share = pair.strip().rpartition("=")
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not sep or not arm or not value >= 0:
            raise ValueError(f"--weights {text!r} is not ARM=SHARE,…, e.g. holdout=0.1,A=0.45,B=0.45")
        weights[arm] = value
    return weights


def _print(report: DeliveryReport, paths: Mapping[str, object]) -> None:
    print(report.headline)
    if report.campaigns:
        print("campaigns: " + ", ".join(report.campaigns))
    overview = report.tables["Overview"]
    for measure, value in overview.itertuples(index=False):
        print(f"{measure}: {value}")
    if report.experiment is not None:
        from smskit.experiments import METRIC_NAMES

        for metric, said in report.experiment.verdicts.items():
            print(f"experiment, {METRIC_NAMES[metric]}: {said}")
    for name, path in paths.items():
        print(f"{name}: {path}")


def _mapping(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column or not field:
            raise ValueError(f"--mapping {pair!r} is not COLUMN=FIELD, e.g. 'Message ID=sms_msg_id'")
        mapping[column] = field.strip()
    return mapping


def _id_column(mapping: dict[str, str] | None) -> str:
    if mapping:
        for column, field in mapping.items():
            if field == "sms_msg_id":
                return column
    return EXPORT_COLUMN_OF["sms_msg_id"]
