"""``smskit demo``: the whole loop on the embedded emulator, no credentials needed.

1. start the emulator (``data/templates.csv``, ~90 % delivery) and a status-report receiver;
2. send one message through each API (batchSendSms, batchSendDiffSms) with each auth scheme (AK/SK,
   X-WSSE) and print what was accepted;
3. plan an A/B campaign over ``data/recipients.csv`` (two marketing templates, variants stratified by
   tier, first names as the ``${TXT_20}`` variable, ``data/opt_out.csv`` honoured, invalid rows skipped),
   send it with the receiver as ``statusCallback`` and wait for every report;
4. build the funnel, compare the arms and write the report (figures, Markdown, HTML) to ``--out``.

The last line printed is the path of the HTML report. Exit codes: 0 done; 1 the loop did not complete
(a send failed or reports were missing); 2 the sample data was not found.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ARMS", "add_arguments", "cli_main", "find_data_dir", "run_demo"]

#: The two marketing variants of ``data/templates.csv`` (``${TXT_20}`` = the recipient's first name).
ARMS: dict[str, str] = {"A": "d2cbcd3946ad63cbcdc62ee3c8cc741a", "B": "d2cbcd3946ad63cbcdc62ee3c8cc741b"}
VERIFY_TEMPLATE = "bfccfa780ff5e8f11245b2dfbc82efae"  # "Your smskit verification code is ${NUM_6}…"
_DATA_FILES = ("recipients.csv", "templates.csv")
_STORE = "reports.sqlite"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default="demo-output", help="output directory (default demo-output/)")
    parser.add_argument("--data", metavar="DIR", help="sample data directory (default: the checkout's data/)")
    parser.add_argument("--seed", type=int, default=7, help="variant assignment and emulator outcomes (default 7)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="wait this long for reports")


def cli_main(args: argparse.Namespace) -> int:
    from smskit.errors import SmsKitError

    try:
        data = find_data_dir(args.data)
    except FileNotFoundError as exc:
        print(f"smskit demo: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = run_demo(Path(args.out), data=data, seed=args.seed, timeout=args.timeout)
    except (SmsKitError, OSError) as exc:
        print(f"smskit demo: {exc}", file=sys.stderr)
        return 1
    print(outcome["html"])
    return 0 if outcome["complete"] else 1


def find_data_dir(explicit: str | Path | None = None) -> Path:
    """The sample data directory: ``explicit``, else the source checkout's ``data/``, else ``./data``."""
    import smskit

    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        candidates = [Path(smskit.__file__).resolve().parent.parent / "data", Path.cwd() / "data"]
    for candidate in candidates:
        if all((candidate / name).is_file() for name in _DATA_FILES):
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"sample data not found (need {' and '.join(_DATA_FILES)}; looked in {tried}); "
        "run from a clone of the smskit repository or pass --data DIR"
    )


def run_demo(
    out: Path,
    *,
    data: Path,
    seed: int = 7,
    timeout: float = 30.0,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the loop and write the report into ``out``; returns the report paths plus ``complete``."""
    from smskit.campaign.recipients import read_recipients
    from smskit.campaign.send import CampaignWarning, send_campaign
    from smskit.campaign.states import LEFT_OUT_STATES
    from smskit.emulator import Emulator
    from smskit.experiments import assign_variants, plan_arms
    from smskit.reports.receiver import CallbackReceiver
    from smskit.summary import summarize, write_report
    from smskit.summary.inputs import ROW_LABEL

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    store = out / _STORE
    for stale in (store, store.with_name(_STORE + "-wal"), store.with_name(_STORE + "-shm")):
        stale.unlink(missing_ok=True)  # a previous run's reports would mix into this one
    templates = data / "templates.csv"
    opt_out = data / "opt_out.csv"

    recipients = read_recipients(data / "recipients.csv")
    recipients = recipients.assign(first_name=recipients["name"].str.split().str[0].fillna(""))
    recipients = assign_variants(recipients, {"A": 0.5, "B": 0.5}, seed=seed, stratify="tier")
    recipients.index = pd.RangeIndex(1, len(recipients) + 1, name=ROW_LABEL)  # rows as in the file, in every output
    plan = plan_arms(
        recipients,
        arms=ARMS,
        params=["first_name"],
        to="phone",
        templates=templates,
        opt_out=opt_out if opt_out.is_file() else None,
        skip_invalid=True,
    )
    with (
        Emulator(templates, delivery_rate=0.9, report_delay=1.0, seed=seed) as emu,
        CallbackReceiver(store) as rx,
    ):
        echo(f"emulator: {emu.base_url}   status reports: {rx.url} → {store}")
        echo("")
        echo("1. Both send APIs with both auth schemes (verification template, two sample recipients):")
        _api_tour(emu, recipients["phone"].dropna().head(2).tolist(), echo=echo)

        echo("")
        counts = plan.recipients["state"].astype(str).value_counts()
        arm_sizes = plan.recipients.loc[plan.recipients["state"].astype(str) == "ready"].join(recipients["variant"])
        per_arm = arm_sizes["variant"].astype(str).value_counts().sort_index()
        echo(
            f"2. A/B campaign: {len(recipients)} recipients → {counts.get('ready', 0)} ready, "
            f"{counts.get('invalid', 0)} invalid (skipped), {counts.get('suppressed', 0)} opted out; "
            + ", ".join(f"arm {arm} {n}" for arm, n in per_arm.items())
            + " (stratified by tier)"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CampaignWarning)
            results = send_campaign(
                plan, client=emu.client(), status_callback=rx.url, progress=False, campaign_id="demo"
            )
        states = results["state"].astype(str).value_counts()
        echo(
            f"   sent in {len(plan.requests)} call(s): "
            + ", ".join(f"{s} {int(n)}" for s, n in states.items() if n and s not in LEFT_OUT_STATES)
        )

        accepted = set(results.loc[results["state"].astype(str) == "accepted", "sms_msg_id"].astype(str))
        reports, complete = _wait_for_reports(emu, rx, accepted, timeout=timeout)
        echo(
            f"3. Status reports: {len(reports)} received for {len(accepted)} accepted messages"
            + ("" if complete else " (some still missing at the timeout)")
        )
    from smskit.csvfiles import write_csv

    write_csv(results, out / "results.csv", index=True)
    joined = results.join(recipients[["variant", "tier", "city"]])
    report = summarize(
        reports,
        results=joined,
        by=["country", "tier"],
        control="A",
        sources=[str(store)],
    )
    paths = write_report(report, out, title="smskit demo: A/B marketing campaign on the emulator")

    echo("")
    echo("4. Results: " + report.headline)
    for line in _result_lines(report.tables, report.confidence):
        echo("   " + line)
    for caveat in _caveats(report.notes):
        echo("   caveat: " + caveat)
    echo("")
    echo(f"Report in {out}/ ({time.perf_counter() - started:.1f} s): report.md, report.html, delivery.csv,")
    echo("   figures " + ", ".join(p.name for name, p in paths.items() if p.suffix == ".png"))
    echo(f"   send results {out / 'results.csv'}; rebuild with: smskit report {store} --results {out / 'results.csv'}")
    return {**paths, "store": store, "results": out / "results.csv", "complete": complete and not states.get("unknown")}


def _api_tour(emu: Any, numbers: list[str], *, echo: Callable[[str], None]) -> None:
    from smskit.client import SmsItem

    rows = []
    for auth in ("aksk", "wsse"):
        client = emu.client(auth=auth)
        sent = [
            ("batchSendSms", client.send(numbers[0], VERIFY_TEMPLATE, ["123456"])),
            ("batchSendDiffSms", client.send_batch([SmsItem(numbers[1:2], VERIFY_TEMPLATE, ["654321"])])),
        ]
        for api, result in sent:
            scheme = "AK/SK" if auth == "aksk" else "X-WSSE"
            for row in result.to_frame().itertuples(index=False):
                rows.append((api, scheme, result.code, row.to, row.status, row.sms_msg_id))
    for api, auth, code, to, status, msg_id in rows:
        verdict = "accepted" if status == "000000" else f"refused ({status})"
        echo(f"   {api:<17} {auth:<7} request {code}  {to:<15} {verdict}  smsMsgId {msg_id}")


def _wait_for_reports(emu: Any, rx: Any, accepted: set[str], *, timeout: float) -> tuple[pd.DataFrame, bool]:
    """Wait until every accepted message has a final report (or ``timeout``); returns the reports."""
    from smskit.reports.funnel import final_state

    deadline = time.monotonic() + timeout
    emu.wait_for_reports(timeout)
    while True:
        reports = rx.reports()
        states = final_state(reports)
        done = set(states.index[states["final"]].astype(str))
        if accepted <= done:
            return reports, True
        if time.monotonic() >= deadline:
            return reports, False
        time.sleep(0.1)


def _result_lines(tables: dict[str, pd.DataFrame], confidence: float) -> list[str]:
    from smskit.summary import display_table

    overview: dict[str, str] = dict(zip(tables["Overview"]["measure"], tables["Overview"]["value"], strict=True))
    level = f"{confidence:.0%} interval"
    lines = [
        f"accepted {overview['accepted by the platform']}, delivered {overview['delivered']}, "
        f"failed {overview['failed (final report)']}: delivery rate {overview['delivery rate']} "
        f"({level} {overview[f'{level} (Wilson)']})"
    ]
    arms = tables.get("A/B comparison (variant)")
    if arms is None:
        return lines
    shown = display_table(arms, confidence=confidence).to_dict("records")
    control = next(row["variant"] for row in shown if row["control"])
    for row in shown:
        line = f"arm {row['variant']}: {row['rate']} delivered of {row['sent']} ({level} {row[level]})"
        if not row["control"]:
            line += (
                f"; {row['variant']} − {control} = {row['difference']} "
                f"({row[f'difference {level}']}), p = {row['p_value']}"
            )
        lines.append(line)
    return lines


def _caveats(notes: tuple[str, ...]) -> list[str]:
    return [n.removeprefix("A/B comparison: ") for n in notes if n.startswith("A/B comparison: ")]
