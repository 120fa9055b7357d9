"""``smskit send``: plan a campaign from a recipients file and send it with the environment's credentials.

It prints the plan (counts, segments, cost, and the rows that will not be sent, grouped by reason with
examples), then the results and, once per reason, why rows were not accepted and what to do.
Exit codes: 0 every valid recipient accepted; 1 any rejected, unknown or left unsent; 2 nothing
sent because of bad input or configuration (including a plan with no row ready to send), an unusable
ledger or another run of the same campaign.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import pandas as pd

from smskit.cli._edge import error_line, plan_lines, reason_lines, region

__all__ = ["add_arguments", "cli_main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipients", metavar="RECIPIENTS", help="CSV or XLSX file of recipients")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--template-id", metavar="ID", help="one template for every recipient")
    which.add_argument("--template-column", metavar="C", help="column holding each row's template id")
    parser.add_argument("--params", metavar="C1,C2", default="", help="columns giving the template variables")
    parser.add_argument("--to-column", metavar="C", default="phone", help="column of phone numbers (phone)")
    parser.add_argument("--id-column", metavar="C", help="your id column, carried into the results and reports")
    parser.add_argument("--templates", metavar="FILE", help="template catalog (CSV/JSON) to validate against")
    parser.add_argument("--sender", metavar="S", help="channel number (default SMSKIT_SENDER)")
    parser.add_argument("--signature", metavar="S", help="signature (Chinese mainland universal templates)")
    parser.add_argument("--status-callback", metavar="URL", help="statusCallback URL (default SMSKIT_STATUS_CALLBACK)")
    parser.add_argument(
        "--default-region", metavar="CC", type=region, help="region code (e.g. GB) for numbers without +country code"
    )
    parser.add_argument("--opt-out", metavar="FILE", help="CSV with a phone column of numbers never to message")
    parser.add_argument("--skip-invalid", action="store_true", help="send the valid rows even if some are invalid")
    parser.add_argument("--ledger", metavar="FILE", help="SQLite ledger: a re-run resumes, never sends twice")
    parser.add_argument(
        "--campaign-id", metavar="ID", help="campaign name in the ledger and extend field (default FILE-STEM.TEMPLATE)"
    )
    parser.add_argument(
        "--allow-repeat", action="store_true", help="send to numbers the ledger shows got this template in 24 h"
    )
    parser.add_argument("--no-dedupe", action="store_true", help="allow several messages per number (other params)")
    parser.add_argument("--rate", type=float, default=500, metavar="N", help="numbers per second (default 500)")
    parser.add_argument("--concurrency", type=int, default=4, metavar="N", help="requests in flight (default 4)")
    parser.add_argument("--resend-unknown", action="store_true", help="re-send requests whose outcome is unknown")
    parser.add_argument("--price-per-segment", type=float, metavar="P", help="price of one segment: estimates the cost")
    parser.add_argument("--currency", default="", metavar="C", help="currency of --price-per-segment, e.g. USD")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and send nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--out", metavar="results.csv", help="write the results here")


def cli_main(args: argparse.Namespace) -> int:
    from smskit.campaign.plan import plan_campaign
    from smskit.campaign.recipients import read_recipients
    from smskit.campaign.send import CampaignWarning, send_campaign
    from smskit.campaign.states import OPEN_STATES
    from smskit.client import Client
    from smskit.errors import ConfigError, DataValidationError, LedgerError, SmsKitError
    from smskit.summary.inputs import ROW_LABEL
    from smskit.templates import load_templates

    try:
        recipients = read_recipients(args.recipients)
        # rows are numbered as people count them in the file (1 = the first data row), in every output
        recipients.index = pd.RangeIndex(1, len(recipients) + 1, name=ROW_LABEL)
        templates = load_templates(args.templates) if args.templates else None
        params = [c.strip() for c in args.params.split(",") if c.strip()]
        plan = plan_campaign(
            recipients,
            template_id=args.template_id,
            template_column=args.template_column,
            params=params,
            to=args.to_column,
            templates=templates,
            sender=args.sender,
            signature=args.signature,
            default_region=args.default_region,
            opt_out=args.opt_out,
            skip_invalid=args.skip_invalid,
            id=args.id_column,
            dedupe=None if args.no_dedupe else "number",
            allow_repeat=args.allow_repeat,
            ledger=args.ledger,
            campaign_id=args.campaign_id,
        )
        lines = plan_lines(
            plan,
            recipients,
            to=args.to_column,
            params=params,
            template_column=args.template_column,
            price_per_segment=args.price_per_segment,
            currency=args.currency,
        )
        print("\n".join(lines))
        if plan.summary["ready"] == 0:
            print("smskit send: nothing to send: no row is ready (see the problems above)", file=sys.stderr)
            return 2
        if not args.skip_invalid:
            plan.raise_if_invalid()
        if args.dry_run:
            print(plan.requests[["request_no", "api", "n_numbers", "n_items", "segments"]].to_string(index=False))
            return 0
        client = Client.from_env(sender=args.sender, status_callback=args.status_callback)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CampaignWarning)
            results = send_campaign(
                plan,
                client=client,
                ledger=args.ledger,
                rate=args.rate,
                concurrency=args.concurrency,
                progress=not args.no_progress,
                campaign_id=args.campaign_id,
                resend_unknown=args.resend_unknown,
            )
    except (DataValidationError, ConfigError, LedgerError) as exc:
        print(error_line("send", exc).replace("smskit send: ", "smskit send: nothing sent: ", 1), file=sys.stderr)
        return 2
    except SmsKitError as exc:
        print(error_line("send", exc), file=sys.stderr)
        return 1
    if args.out:
        from smskit.csvfiles import write_csv

        write_csv(results, args.out, index=True)  # formula-like cells neutralized
    counts = results["state"].value_counts()
    print("results: " + ", ".join(f"{state} {int(n):,}" for state, n in counts.items() if n))
    reasons = reason_lines(results)
    if reasons:
        print("\n".join(reasons))
    if args.out:
        print(f"wrote {args.out}")
    return 1 if results["state"].isin(["rejected", *OPEN_STATES]).any() else 0
