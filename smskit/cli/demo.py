"""``smskit demo``: the whole loop on the embedded emulator, no credentials needed.

1. start the emulator (``data/templates.csv``, 95 % delivery) and a status-report receiver;
2. send one message through each API (batchSendSms, batchSendDiffSms) with each auth scheme (AK/SK,
   X-WSSE) and print what was accepted;
3. run an experiment over ``data/experiment_recipients.csv``: 10 % held out, two marketing wordings A
   and B (:data:`DESIGN`, stratified by tier, by customer id), the first name as ``${TXT_20}``; send it
   with the receiver as ``statusCallback`` and wait for every report;
4. replay ``data/orders.csv`` from the send time (its times are relative to :data:`ORDERS_START`) and
   count each customer's orders in the 7 days after their send (``experiments.attach_outcomes``);
5. write the report (figures, Markdown, HTML) to ``--out``: the delivery funnel, the arms' delivery and
   the Experiment section (conversion and revenue per recipient against the holdout, ITT and CACE).

The assignment follows the sample data's design (:data:`DESIGN_SEED`): the orders were generated for those
arms, with known effects (``data/README.md``). ``--seed`` drives the emulator's delivery outcomes.

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

__all__ = [
    "ARMS",
    "CAMPAIGN_ID",
    "DESIGN",
    "DESIGN_SEED",
    "ORDERS_START",
    "WINDOW",
    "add_arguments",
    "cli_main",
    "find_data_dir",
    "run_demo",
]

#: The two marketing variants of ``data/templates.csv`` (``${TXT_20}`` = the recipient's first name).
ARMS: dict[str, str] = {"A": "d2cbcd3946ad63cbcdc62ee3c8cc741a", "B": "d2cbcd3946ad63cbcdc62ee3c8cc741b"}
#: The experiment's planned shares and assignment seed: those ``data/make_experiment_data.py`` generated
#: the orders for (another seed would put customers in other arms than their orders assume).
DESIGN: dict[str, float] = {"holdout": 0.1, "A": 0.45, "B": 0.45}
DESIGN_SEED = 14
#: ``data/orders.csv`` times are relative to this campaign start; the demo replays them from its send.
ORDERS_START = pd.Timestamp("2025-03-03 09:00", tz="UTC")
#: How long after a send an order counts.
WINDOW = "7D"
CAMPAIGN_ID = "spring-test"
VERIFY_TEMPLATE = "bfccfa780ff5e8f11245b2dfbc82efae"  # "Your smskit verification code is ${NUM_6}…"
_DATA_FILES = ("experiment_recipients.csv", "orders.csv", "templates.csv")
_STORE = "reports.sqlite"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default="demo-output", help="output directory (default demo-output/)")
    parser.add_argument("--data", metavar="DIR", help="sample data directory (default: the checkout's data/)")
    parser.add_argument("--seed", type=int, default=7, help="the emulator's delivery outcomes (default 7)")
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
        f"sample data not found (need {', '.join(_DATA_FILES)}; looked in {tried}); "
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
    from smskit.csvfiles import write_csv
    from smskit.emulator import Emulator
    from smskit.experiments import assign_variants, attach_outcomes, check_sample_ratio, plan_arms
    from smskit.reports.receiver import CallbackReceiver
    from smskit.summary import read_outcomes, summarize, write_report
    from smskit.summary.inputs import ROW_LABEL

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    store = out / _STORE
    for stale in (store, store.with_name(_STORE + "-wal"), store.with_name(_STORE + "-shm")):
        stale.unlink(missing_ok=True)  # a previous run's reports would mix into this one
    templates = data / "templates.csv"

    recipients = read_recipients(data / "experiment_recipients.csv")
    people = assign_variants(recipients, DESIGN, seed=DESIGN_SEED, id="customer_id", stratify="tier")
    people.index = pd.RangeIndex(1, len(people) + 1, name=ROW_LABEL)  # rows as in the file, in every output
    plan = plan_arms(
        people, arms=ARMS, holdout="holdout", params=["name"], to="phone", templates=templates, skip_invalid=True
    )
    ratio = check_sample_ratio(people, DESIGN)
    with (
        Emulator(templates, delivery_rate=0.95, report_delay=0.5, push_format="batch", seed=seed) as emu,
        CallbackReceiver(store) as rx,
    ):
        echo(f"emulator: {emu.base_url}   status reports: {rx.url} → {store}")
        echo("")
        echo("1. Both send APIs with both auth schemes (verification template, two sample recipients):")
        _api_tour(emu, people["phone"].dropna().head(2).tolist(), echo=echo)

        echo("")
        sizes = people["variant"].value_counts().reindex(list(DESIGN), fill_value=0)
        echo(
            f"2. Experiment: {len(people):,} customers → "
            + ", ".join(
                f"{arm} {int(n):,}" + (" (held out, never sent)" if arm == "holdout" else "")
                for arm, n in sizes.items()
            )
            + f"; stratified by tier; {ratio}"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CampaignWarning)
            # the emulator is local: unpaced (the platform asks for ≤ 500 numbers/s), one request at a time so
            # that a seed repeats exactly (the emulator draws each message's fate in the order requests arrive)
            sent = send_campaign(
                plan,
                client=emu.client(),
                status_callback=rx.url,
                progress=False,
                rate=None,
                concurrency=1,
                campaign_id=CAMPAIGN_ID,
            )
        states = sent["state"].astype(str).value_counts()
        echo(
            f"   sent in {len(plan.requests)} call(s): "
            + ", ".join(f"{s} {int(n):,}" for s, n in states.items() if n and s not in LEFT_OUT_STATES)
        )

        accepted = set(sent.loc[sent["state"].astype(str) == "accepted", "sms_msg_id"].astype(str))
        reports, complete = _wait_for_reports(emu, rx, accepted, timeout=timeout)
        echo(
            f"3. Status reports: {len(reports):,} received for {len(accepted):,} accepted messages"
            + ("" if complete else " (some still missing at the timeout)")
        )

    orders = read_outcomes(data / "orders.csv", on="customer_id", time="ordered_at", value="amount")
    shift = sent["sent_at"].min() - ORDERS_START
    orders["ordered_at"] = orders["ordered_at"] + shift
    write_csv(orders, out / "orders.csv", index=False)
    results = attach_outcomes(
        sent.join(people[["customer_id", "variant", "tier"]]),
        orders,
        on="customer_id",
        time="ordered_at",
        value="amount",
        window=WINDOW,
    )
    echo(
        f"4. Orders: {len(orders):,} in {data / 'orders.csv'}, replayed from the send time (+{shift.days:,} days); "
        f"{int(results['converted'].sum()):,} customers ordered within {pd.Timedelta(WINDOW).days} days of their send"
    )
    write_csv(sent.join(people[["customer_id", "variant", "tier"]]), out / "results.csv", index=True)
    report = summarize(reports, results=results, by=["country", "tier"], sources=[str(store)], weights=DESIGN)
    paths = write_report(report, out, title="smskit demo: a spring-sale experiment on the emulator")

    echo("")
    echo("5. Results: " + report.headline)
    for line in _result_lines(report.tables, report.confidence):
        echo("   " + line)
    if report.experiment is not None and "value" in report.experiment.verdicts:
        echo("   experiment, revenue per recipient: " + report.experiment.verdicts["value"])
    for caveat in _caveats(report.notes):
        echo("   caveat: " + caveat)
    echo("")
    echo(f"Report in {out}/ ({time.perf_counter() - started:.1f} s): report.md, report.html, delivery.csv,")
    echo("   figures " + ", ".join(p.name for name, p in paths.items() if p.suffix == ".png"))
    echo(
        f"   rebuild with: smskit report {store} --results {out / 'results.csv'} --outcomes {out / 'orders.csv'} "
        f"--outcome-id customer_id --outcome-time ordered_at --outcome-value amount --window {WINDOW} "
        "--weights " + ",".join(f"{arm}={share}" for arm, share in DESIGN.items())
    )
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
    prefixes = ("A/B comparison: ", "Experiment: ")
    return [n.split(": ", 1)[1] for n in notes if n.startswith(prefixes)]
