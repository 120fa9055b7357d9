"""`smskit report --outcomes …` as a subprocess: outcomes joined within the window, the Experiment section and its
verdict, and every bad input refused with exit 2 naming what was wrong."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from smskit import experiments
from smskit.csvfiles import write_csv
from tests.summary._experiment import T0, experiment_campaign

OUTCOME_ARGS = ["--outcome-id", "customer_id", "--outcome-time", "ordered_at"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smskit", "report", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The experiment as files: results.csv (with customer_id and variant), a report log, orders.csv."""
    results, reports, orders = experiment_campaign()
    folder = tmp_path_factory.mktemp("experiment")
    paths = {name: folder / name for name in ("results.csv", "reports.log", "orders.csv")}
    write_csv(results.rename_axis("row"), paths["results.csv"])
    lines = [
        f"smsMsgId={r.sms_msg_id}&status={r.status}&to=%2B{r.to[1:]}&updateTime={T0.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        for r in reports.itertuples()
    ]
    paths["reports.log"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    orders.assign(ordered_at=orders["ordered_at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
        paths["orders.csv"], index=False
    )  # naive times: UTC
    return paths


def base(files: dict[str, Path], out: Path) -> list[str]:
    return [str(files["reports.log"]), "--results", str(files["results.csv"]), "--out", str(out)]


def test_outcomes_give_the_experiment_section_and_its_verdict(files, tmp_path) -> None:
    out = tmp_path / "report"
    proc = cli(*base(files, out), "--outcomes", str(files["orders.csv"]), *OUTCOME_ARGS, "--outcome-value", "amount")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out / "delivery.csv", index_col=0, dtype={"customer_id": str})
    # the oracle: orders 36 h after the send count, the day before, 9 days after and strangers do not
    _, _, orders = experiment_campaign()
    buyers = set(orders.loc[orders["ordered_at"] == T0 + pd.Timedelta("36h"), "customer_id"])
    assert set(frame.loc[frame["converted"], "customer_id"]) == buyers
    assert frame.loc[frame["converted"], "value"].eq(40.0).all()
    assert frame["state"].value_counts()["held_out"] == 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiments.ExperimentWarning)
        for metric, name in (("converted", "conversion"), ("value", "value per recipient")):
            said = experiments.verdict(experiments.compare_arms(frame, control="holdout", metric=metric))
            assert f"experiment, {name}: {said}" in proc.stdout.splitlines()
    headline = proc.stdout.splitlines()[0]
    assert "Experiment: B lifts conversion by +" in headline
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "## Experiment" in markdown
    assert (out / "uplift_converted.png").is_file()


def test_the_window_decides_which_orders_count(files, tmp_path) -> None:
    out = tmp_path / "report"
    proc = cli(*base(files, out), "--outcomes", str(files["orders.csv"]), *OUTCOME_ARGS, "--window", "1D")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out / "delivery.csv", index_col=0)
    assert not frame["converted"].any()  # every order is 36 h after its send or outside the campaign
    assert "experiment, value per recipient" not in proc.stdout  # no --outcome-value: conversion only


def test_without_outcomes_there_is_no_section_and_held_out_rows_are_a_stage(files, tmp_path) -> None:
    proc = cli(*base(files, tmp_path / "report"))
    assert proc.returncode == 0, proc.stderr
    assert "held out (experiment holdout, not sent): 100" in proc.stdout
    assert "experiment," not in proc.stdout
    assert "## Experiment" not in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: ["--outcome-id", "customer_id"], "--outcome-id need(s) --outcomes FILE"),
        (lambda f: ["--weights", "A=1"], "--weights need(s) --outcomes FILE"),
        (lambda f: ["--outcomes", str(f["orders.csv"])], "--outcomes needs --outcome-id and --outcome-time"),
        (lambda f: ["--outcomes", str(f["orders.csv"]).replace("orders", "nope"), *OUTCOME_ARGS], "no such file"),
        (
            lambda f: ["--outcomes", str(f["orders.csv"]), "--outcome-id", "customer_id", "--outcome-time", "when"],
            "outcomes file orders.csv lacks column(s) ['when']; it has ['customer_id', 'ordered_at', 'amount']",
        ),
        (
            lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--outcome-value", "price"],
            "lacks column(s) ['price']",
        ),
        (
            lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--variant", "arm"],
            "results.csv lacks column(s) ['arm']",
        ),
        (lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--window", "a week"], "--window 'a week'"),
        (lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--window", "0D"], "positive duration"),
        (lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--weights", "A:0.5"], "ARM=SHARE"),
        (
            lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--weights", "A=0.5,B=0.5"],
            "arm(s) ['holdout'] are not in the planned weights",
        ),
        (
            lambda f: ["--outcomes", str(f["orders.csv"]), *OUTCOME_ARGS, "--control", "Z"],
            "control arm 'Z' has no assigned rows; arms are ['A', 'B', 'holdout'] (pass one of them as --control)",
        ),
        (lambda f: ["--outcomes", str(f["bad_times.csv"]), *OUTCOME_ARGS], "line 3 ('yesterday')"),
        (
            lambda f: ["--outcomes", str(f["bad_amounts.csv"]), *OUTCOME_ARGS, "--outcome-value", "amount"],
            "bad_amounts.csv: 1 row(s) whose 'amount' is not a number: line 2 ('12,50 EUR')",
        ),
    ],
)
def test_bad_experiment_input_exits_2_naming_it(files, tmp_path, make, message) -> None:
    folder = files["orders.csv"].parent
    (folder / "bad_times.csv").write_text(
        "customer_id,ordered_at\nC0001,2026-06-25T08:00:00Z\nC0002,yesterday\n", encoding="utf-8"
    )
    (folder / "bad_amounts.csv").write_text(
        'customer_id,ordered_at,amount\nC0001,2026-06-25T08:00:00Z,"12,50 EUR"\n', encoding="utf-8"
    )
    out = tmp_path / "out"
    bad = {name: folder / name for name in ("bad_times.csv", "bad_amounts.csv")}
    proc = cli(*base(files, out), *make({**files, **bad}))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("smskit report: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "report.html").exists()


def test_outcomes_need_send_results_not_the_warehouse(files, tmp_path) -> None:
    proc = cli("--warehouse", str(tmp_path), "--outcomes", str(files["orders.csv"]), *OUTCOME_ARGS)
    assert proc.returncode == 2
    assert "--outcomes needs --results" in proc.stderr
