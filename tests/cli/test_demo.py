"""`smskit demo` as a subprocess from outside the checkout: its files, its summary, a re-run, bad data dir."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from smskit.reports.funnel import final_state
from smskit.reports.ingest import read_status_reports

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_demo(out: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smskit", "demo", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    elsewhere = tmp_path_factory.mktemp("cwd")  # not the checkout: data/ is found from the package
    out = elsewhere / "demo-out"
    return run_demo(out, cwd=elsewhere), out


def test_demo_writes_the_report_and_prints_its_path_last(demo) -> None:
    proc, out = demo
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert Path(last) == out / "report.html"
    page = Path(last).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<img src="data:image/png;base64,') == 6  # funnel, variant, country, tier, failures, latency
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert r"## A/B comparison \(variant\)" in markdown  # issue 11: Markdown escapes ( ) [ ] !
    assert "![Funnel: input rows → sent → accepted → delivered](funnel.png)" in markdown
    for name in ("funnel", "delivery_rate_by_variant", "delivery_rate_by_country", "failure_reasons"):
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
    accepted = results.loc[results["state"] == "accepted", "sms_msg_id"]
    # 198 sample rows: 7 invalid, 1 opted out, 1 a second row for a number (issue 10: one message per number)
    assert len(accepted) == 189
    states = final_state(read_status_reports(out / "reports.sqlite"))
    assert set(accepted) == set(states.index[states["final"]])
    assert f"accepted {len(accepted)}" in proc.stdout


def test_demo_summary_matches_the_written_data(demo) -> None:
    proc, out = demo
    rows = pd.read_csv(out / "delivery.csv", dtype={"to": str}, index_col=0)
    delivered = int(rows["delivered"].sum())
    assert f"delivered {delivered}," in proc.stdout
    assert 0.75 < delivered / len(rows) < 0.99  # the emulator's delivery rate is 0.9
    # first names fill ${TXT_20}; variants A/B are stratified by tier with the two marketing templates
    arms = rows.groupby("variant")["template_id"].unique()
    assert list(arms["A"]) == ["d2cbcd3946ad63cbcdc62ee3c8cc741a"]
    assert list(arms["B"]) == ["d2cbcd3946ad63cbcdc62ee3c8cc741b"]
    # exact halves per tier among all 198 recipients; the rows never sent (invalid, opted out) are
    # not in delivery.csv, so each of them may tip its tier by one
    per_tier = rows.groupby(["tier", "variant"]).size().unstack()
    everyone = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / "recipients.csv", dtype=str)
    not_sent = everyone["tier"].value_counts().reindex(per_tier.index) - per_tier.sum(axis=1)
    assert ((per_tier["A"] - per_tier["B"]).abs() <= 1 + not_sent).all()
    for arm in ("A", "B"):
        assert f"arm {arm}: " in proc.stdout


def test_report_command_rebuilds_from_the_demo_store(demo, tmp_path: Path) -> None:
    _, out = demo
    again = tmp_path / "again"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "smskit",
            "report",
            str(out / "reports.sqlite"),
            "--results",
            str(out / "results.csv"),
            "--out",
            str(again),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "accepted by the platform: 189" in proc.stdout
    original = pd.read_csv(out / "delivery.csv", index_col=0)
    rebuilt = pd.read_csv(again / "delivery.csv", index_col=0)
    assert rebuilt["delivered"].sum() == original["delivered"].sum()
    png_size(again / "funnel.png")


def test_rerun_replaces_the_previous_store(tmp_path: Path) -> None:
    out = tmp_path / "twice"
    assert run_demo(out, "--seed", "3", cwd=tmp_path).returncode == 0
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
