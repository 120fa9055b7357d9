"""`smskit demo` as a subprocess from outside the checkout: its files, its summary, the experiment's section and
verdict (equal to compare_arms on the demo's own frame), the rebuild command, a re-run, a bad data dir."""

from __future__ import annotations

import html
import importlib.util
import re
import shlex
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from smskit import experiments
from smskit.cli import demo as demo_module
from smskit.display import display_table
from smskit.reports.funnel import final_state
from smskit.reports.ingest import read_status_reports

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA = Path(__file__).resolve().parents[2] / "data"


def run_demo(out: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smskit", "demo", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def generator():
    spec = importlib.util.spec_from_file_location("make_experiment_data", DATA / "make_experiment_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def delivery_frame(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "delivery.csv", dtype={"to": str, "customer_id": str}, index_col=0)


def compare(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiments.ExperimentWarning)
        return experiments.compare_arms(frame, control="holdout", metric=metric)  # type: ignore[arg-type]


def markdown_text(text: str) -> str:
    """Text as the report writes it in Markdown: HTML-escaped, with ( ) [ ] ! | backslash-escaped."""
    return re.sub(r"([|\[\]()!])", r"\\\1", html.escape(text, quote=False))


def experiment_section(markdown: str) -> str:
    return markdown.split("\n## Experiment\n", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    elsewhere = tmp_path_factory.mktemp("cwd")  # not the checkout: data/ is found from the package
    out = elsewhere / "demo-out"
    return run_demo(out, cwd=elsewhere), out


def test_demo_follows_the_sample_datas_design() -> None:
    made = generator()
    assert demo_module.DESIGN == made.ARMS
    assert demo_module.DESIGN_SEED == made.SEED
    assert demo_module.ORDERS_START == made.START
    assert pd.Timedelta(demo_module.WINDOW) == made.WINDOW
    assert demo_module.ARMS == made.TEMPLATES


def test_demo_writes_the_report_and_prints_its_path_last(demo) -> None:
    proc, out = demo
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert Path(last) == out / "report.html"
    page = Path(last).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    pngs = sorted(out.glob("*.png"))
    assert page.count('<img src="data:image/png;base64,') == len(pngs) >= 9  # each figure embedded once
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert r"## A/B comparison \(variant\)" in markdown  # issue 11: Markdown escapes ( ) [ ] !
    assert "![Funnel: input rows → sent → accepted → delivered](funnel.png)" in markdown
    for name in (
        "funnel",
        "delivery_rate_by_variant",
        "delivery_rate_by_country",
        "failure_reasons",
        "uplift_converted",
    ):
        width, height = png_size(out / f"{name}.png")
        assert 600 <= width <= 1100
        assert 200 <= height <= 800


def test_demo_tours_both_apis_with_both_auth_schemes(demo) -> None:
    proc, _ = demo
    tour = [line.split() for line in proc.stdout.splitlines() if line.strip().startswith("batchSend")]
    assert {(row[0], row[1]) for row in tour} == {
        ("batchSendSms", "AK/SK"),
        ("batchSendDiffSms", "AK/SK"),
        ("batchSendSms", "X-WSSE"),
        ("batchSendDiffSms", "X-WSSE"),
    }
    assert all("accepted" in row for row in tour)


def test_demo_store_holds_a_final_report_for_every_accepted_message(demo) -> None:
    proc, out = demo
    results = pd.read_csv(out / "results.csv", dtype=str, index_col=0)
    # 10,000 customers: the holdout (10 %, stratified by tier) is never sent, everyone else is accepted
    assert results["state"].value_counts().to_dict() == {"accepted": 9001, "held_out": 999}
    assert (results["state"] == "held_out").equals(results["variant"] == "holdout")
    accepted = results.loc[results["state"] == "accepted", "sms_msg_id"]
    states = final_state(read_status_reports(out / "reports.sqlite"))
    assert set(accepted) == set(states.index[states["final"]])
    assert f"accepted {len(accepted)}," in proc.stdout


def test_demo_summary_matches_the_written_data(demo) -> None:
    proc, out = demo
    rows = delivery_frame(out)
    sent = rows.loc[rows["state"] == "accepted"]
    delivered = int(sent["delivered"].sum())
    assert f"delivered {delivered}," in proc.stdout
    assert 0.9 < delivered / len(sent) < 0.99  # the emulator's delivery rate is 0.95
    assert rows.loc[rows["state"] == "held_out", "delivered"].eq(False).all()
    arms = sent.groupby("variant")["template_id"].unique()
    assert list(arms["A"]) == ["d2cbcd3946ad63cbcdc62ee3c8cc741a"]
    assert list(arms["B"]) == ["d2cbcd3946ad63cbcdc62ee3c8cc741b"]
    # exact shares within each tier (largest remainder): every count within one of its share
    per_tier = rows.groupby(["tier", "variant"]).size().unstack()
    expected = per_tier.sum(axis=1).to_numpy()[:, None] * pd.Series(demo_module.DESIGN)[per_tier.columns].to_numpy()
    assert ((per_tier - expected).abs() < 1).all().all()
    for arm in ("A", "B"):
        assert f"arm {arm}: " in proc.stdout
    assert "2. Experiment: 10,000 customers → holdout 999 (held out, never sent), A 4,501, B 4,500" in proc.stdout


def test_the_experiment_section_equals_compare_arms_on_the_demos_own_frame(demo) -> None:
    proc, out = demo
    frame = delivery_frame(out)
    section = experiment_section((out / "report.md").read_text(encoding="utf-8"))
    made = generator()
    for metric, title, name in (
        ("converted", "Conversion against holdout: ITT and CACE", "conversion"),
        ("value", "Value per recipient against holdout: ITT and CACE", "value"),
    ):
        table = compare(frame, metric)
        block = section.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
        for row in display_table(table).itertuples(index=False):
            line = "| " + " | ".join(str(v).replace("<", "&lt;") for v in row) + " |"
            assert line in block, f"{metric}: {row.variant} not as compare_arms says"
        said = experiments.verdict(table)
        label = experiments.METRIC_NAMES[metric]
        assert f"- {markdown_text(label[:1].upper() + label[1:] + ': ' + said)}\n" in section
        # the orders were generated with known effects: the ITT intervals cover them
        rows = table.set_index("variant")
        for arm, truth in made.TRUTH.items():
            assert rows.loc[arm, "diff_low"] <= truth[f"itt_{name}"] <= rows.loc[arm, "diff_high"], (metric, arm)
        if metric == "converted":
            assert "5. Results: Delivered " in proc.stdout
            assert f"Experiment: {said}" in proc.stdout  # the headline carries the verdict
        else:
            assert f"experiment, revenue per recipient: {said}" in proc.stdout
    assert "- Sample ratio: arm sizes match the plan" in section
    assert "![Effect on conversion against holdout: ITT and CACE](uplift_converted.png)" in section
    assert "![Conversion over the outcome window, by arm](conversion_over_time.png)" in section


def test_report_command_rebuilds_the_experiment_from_the_demos_files(demo, tmp_path: Path) -> None:
    proc, out = demo
    command = next(line for line in proc.stdout.splitlines() if "rebuild with: " in line)
    args = shlex.split(command.split("rebuild with: ", 1)[1])
    assert args[:2] == ["smskit", "report"]
    again = tmp_path / "again"
    rebuilt = subprocess.run(
        [sys.executable, "-m", "smskit", *args[1:], "--out", str(again)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "accepted by the platform: 9001" in rebuilt.stdout
    assert "held out (experiment holdout, not sent): 999" in rebuilt.stdout
    original = delivery_frame(out)
    copy = delivery_frame(again)
    assert copy["delivered"].sum() == original["delivered"].sum()
    assert copy["converted"].sum() == original["converted"].sum()
    first = experiment_section((out / "report.md").read_text(encoding="utf-8"))
    assert experiment_section((again / "report.md").read_text(encoding="utf-8")) == first
    png_size(again / "uplift_converted.png")


def test_rerun_replaces_the_previous_store(demo, tmp_path: Path) -> None:
    _, first = demo
    out = tmp_path / "twice"
    shutil.copytree(first, out)  # a previous run's files, store included
    proc = run_demo(out, "--seed", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    reports = read_status_reports(out / "reports.sqlite")
    results = pd.read_csv(out / "results.csv", dtype=str, index_col=0)
    assert set(reports["sms_msg_id"]) == set(results["sms_msg_id"].dropna())


def test_missing_data_dir_exits_2(tmp_path: Path) -> None:
    proc = run_demo(tmp_path / "out", "--data", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "sample data not found" in proc.stderr
    assert "--data" in proc.stderr
    assert not (tmp_path / "out").exists()
