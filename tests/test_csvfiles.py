"""CSV files smskit writes cannot carry live spreadsheet formulas, and read back unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from smskit.csvfiles import neutralize_formulas, restore_formulas, write_csv

EVIL = ['=HYPERLINK("http://evil","x")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-cmd|x", "\t=1", "=1+1"]
FINE = ["+8613800000000", "-1", "-0.5", "DELIVRD", "a=b", "", "中文", "'quoted"]


def _cells(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_formula_cells_are_neutralized_and_others_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": EVIL + FINE, "n": range(len(EVIL) + len(FINE))}, index=[f"=i{k}" for k in range(14)])
    frame["cat"] = pd.Categorical(["=c"] * 7 + ["ok"] * 7)
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    cells = _cells(path)
    starts = {"=", "@", "\t", "\r"}
    assert not [c for c in cells if c[:1] in starts or (c[:1] in ("+", "-") and not c[1:2].isdigit())]
    written = pd.read_csv(path, dtype=str, index_col=0, keep_default_na=False)
    assert written["text"].tolist()[: len(EVIL)] == ["'" + v for v in EVIL]
    assert written["text"].tolist()[len(EVIL) :] == FINE
    back = restore_formulas(written)
    assert back["text"].tolist() == EVIL + FINE
    assert back.index.tolist() == frame.index.tolist()
    assert frame["text"].tolist() == EVIL + FINE  # the caller's frame is not changed


@given(st.lists(st.text(max_size=8), min_size=1, max_size=10))
def test_round_trip_through_neutralizing(values: list[str]) -> None:
    frame = pd.DataFrame({"v": values}, dtype=object)
    assert restore_formulas(neutralize_formulas(frame))["v"].tolist() == values


def test_smskit_send_out_and_report_csvs_are_neutralized(tmp_path: Path) -> None:
    """The CSV writers (summary/files.py delivery.csv, smskit send --out) go through write_csv."""
    import subprocess
    import sys

    log = tmp_path / "cb.log"
    log.write_text(
        "smsMsgId=m_1&status=%3Dcmd%7C\nsmsMsgId=m_2&status=DELIVRD&extend=%40SUM(A1)\n"
        "smsMsgId=m_3&status=UNDELIV&extend=%2BHYPERLINK(1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "smskit", "report", str(log), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    cells = _cells(tmp_path / "out" / "delivery.csv")
    assert "'=cmd|" in cells
    assert "'@SUM(A1)" in cells
    assert "'+HYPERLINK(1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "@")]


def test_smskit_send_out_neutralizes_and_read_results_restores(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from smskit.emulator import Emulator
    from smskit.summary.inputs import read_results

    recipients = tmp_path / "r.csv"
    pd.DataFrame({"phone": ["+6591000001", "+6591000002"], "tpl": ["=cmd|' /C calc'!A0", "@SUM(A1)"]}).to_csv(
        recipients, index=False
    )
    out = tmp_path / "results.csv"
    with Emulator(seed=1) as emu:  # no catalog: any template id is accepted, so the text reaches the results
        env = {
            **os.environ,
            "SMSKIT_BASE_URL": emu.base_url,
            "SMSKIT_APP_KEY": emu.app_key,
            "SMSKIT_APP_SECRET": emu.app_secret,
            "SMSKIT_SENDER": "isms1",
        }
        args = [str(recipients), "--template-column", "tpl", "--out", str(out), "--no-progress"]
        done = subprocess.run(
            [sys.executable, "-m", "smskit", "send", *args], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    cells = _cells(out)
    assert "'=cmd|' /C calc'!A0" in cells
    assert "'@SUM(A1)" in cells
    assert read_results(out)["template_id"].tolist() == ["=cmd|' /C calc'!A0", "@SUM(A1)"]
