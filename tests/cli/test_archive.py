"""`smskit archive` and `smskit report --warehouse` as subprocesses, and the scale story: three
`smskit receive` processes behind a (simulated) load balancer archived into one warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests

import smskit
from smskit.auth import aksk_headers
from smskit.reports.wire import StatusReport
from smskit.warehouse.schema import spec
from smskit.warehouse.synthetic import synthetic_campaign

FORM = "application/x-www-form-urlencoded"
KEY = list(spec("reports").key)


def smskit_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smskit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _receiver(store: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "smskit", "receive", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("SMSKIT_STATUS_CALLBACK=http://127.0.0.1:"), line
    return proc, line.split("=", 1)[1]


@pytest.mark.slow
def test_three_receivers_archived_into_one_warehouse_lose_nothing_and_duplicate_nothing(tmp_path) -> None:
    ak, sk = "push-ak-3", "push-sk-3"
    envs = [{}, {}, {"SMSKIT_PUSH_AK": ak, "SMSKIT_PUSH_SK": sk}]  # the third checks push signatures
    stores = [tmp_path / f"rx{i}.sqlite" for i in range(3)]
    receivers = [_receiver(store, env) for store, env in zip(stores, envs, strict=True)]
    base = datetime(2025, 3, 1, tzinfo=UTC)
    reports = [
        StatusReport(
            f"msg-{i // 3}",
            ("ACCEPTD", "DELIVRD", "UNDELIV")[i % 3],
            update_time=None if i % 17 == 0 else base + timedelta(seconds=i),
            total=2 if i % 5 == 0 else 1,
            sequence=1,
            extend=f"camp:{i // 100}",
            to=f"+86138{i:08d}",
        )
        for i in range(900)
    ]
    acked = 0
    placed: dict[int, set[int]] = {}  # report → the receivers that stored it
    try:
        with requests.Session() as http:

            def push(target: int, first: int, batch: list[StatusReport]) -> None:
                nonlocal acked
                url = receivers[target][1]
                if len(batch) == 1:
                    body, ctype = batch[0].to_body().encode(), FORM
                else:
                    body = json.dumps({"statusReportList": [r.to_wire() for r in batch]}).encode()
                    ctype = "application/json"
                headers = {"Content-Type": ctype}
                if target == 2:
                    headers = aksk_headers(
                        "POST", url, body, key=ak, secret=sk, content_type=ctype, now=datetime.now(UTC)
                    )
                answer = http.post(url, data=body, headers=headers, timeout=10)
                assert answer.status_code == 200, answer.text
                acked += len(batch)
                for i in range(first, first + len(batch)):
                    placed.setdefault(i, set()).add(target)

            for n in range(0, 600, 1):  # one report per push, round robin as a load balancer would
                push(n % 3, n, [reports[n]])
            for n in range(600, 900, 25):  # batches
                push((n // 25) % 3, n, reports[n : n + 25])
            for n in range(0, 900, 7):  # the platform retries some pushes: they land on another receiver
                push((n + 1) % 3, n, [reports[n]])
    finally:
        for proc, _ in receivers:
            proc.terminate()
            assert proc.wait(20) == 0
            proc.stdout.close()  # type: ignore[union-attr]
    assert acked == 900 + len(range(0, 900, 7))

    root = tmp_path / "warehouse"
    first = smskit_cli("archive", *map(str, stores), "--to", str(root))
    assert first.returncode == 0, first.stderr
    again = smskit_cli("archive", *map(str, stores), "--to", str(root))
    assert again.returncode == 0, again.stderr
    assert all(line.endswith(": 0 new reports row(s)") for line in again.stdout.splitlines()[:3])

    union = smskit.read_status_reports([str(s) for s in stores])
    assert len(union) == sum(map(len, placed.values())) > 900  # each store holds its part; retries sit in two
    want = union.drop_duplicates(KEY).sort_values(KEY).reset_index(drop=True)
    assert len(want) == 900  # no loss: every report pushed is in some store
    with smskit.Warehouse(root) as wh:
        counts = wh.sql("SELECT (SELECT count(*) FROM raw_reports) AS stored, (SELECT count(*) FROM reports) AS n")
        got = wh.read("reports")
    assert counts[["stored", "n"]].values.tolist() == [[900, 900]]  # the anti-join stored each report once
    got = smskit.read_status_reports(got).sort_values(KEY).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_categorical=False)


@pytest.fixture
def campaign_files(tmp_path) -> tuple[Path, Path]:
    results, reports = synthetic_campaign(600, seed=11, campaigns=("autumn",))
    csv = tmp_path / "results.csv"
    results.to_csv(csv)  # as smskit send --out writes it
    log = tmp_path / "callbacks.jsonl"
    wire = reports.drop_duplicates().rename(columns={"sms_msg_id": "smsMsgId", "update_time": "updateTime"})
    wire.to_json(log, orient="records", lines=True)
    return csv, log


def test_archive_then_report_from_the_warehouse_matches_the_file_report(tmp_path, campaign_files) -> None:
    csv, log = campaign_files
    root = tmp_path / "wh"
    archived = smskit_cli("archive", str(csv), str(log), "--to", str(root))
    assert archived.returncode == 0, archived.stderr
    assert f"{csv}: 6" in archived.stdout
    assert "new results row(s)" in archived.stdout
    direct = smskit_cli("report", str(log), "--results", str(csv), "--out", str(tmp_path / "a"))
    assert direct.returncode == 0, direct.stderr
    from_wh = smskit_cli("report", "--warehouse", str(root), "--out", str(tmp_path / "b"))
    assert from_wh.returncode == 0, from_wh.stderr
    one = smskit_cli("report", "--warehouse", str(root), "--campaign", "autumn", "--out", str(tmp_path / "c"))
    assert one.returncode == 0, one.stderr

    def overview(out: str) -> list[str]:
        return [line for line in out.splitlines() if not line.startswith(("html:", "markdown:", "csv:", "figure"))][:9]

    assert overview(from_wh.stdout) == overview(direct.stdout)
    assert (tmp_path / "b" / "report.html").is_file()
    # one campaign: the same figures, over only the reports its sends need (not the stray messages')
    scoped, everything = overview(one.stdout), overview(direct.stdout)
    assert "campaigns: autumn" in scoped  # the scoped report says which campaign it covers
    scoped, everything = (
        [line for line in lines if not line.startswith("campaigns:")] for lines in (scoped, everything)
    )
    at = next(i for i, line in enumerate(everything) if line.startswith("status reports read"))
    assert scoped[at].startswith("status reports read")
    assert scoped[:at] + scoped[at + 1 :] == everything[:at] + everything[at + 1 :]
    read = [int(lines[at].split(": ", 1)[1].split()[0].replace(",", "")) for lines in (scoped, everything)]
    assert 0 < read[0] < read[1]
    later = smskit_cli("report", "--warehouse", str(root), "--since", "2099-01-01", "--out", str(tmp_path / "d"))
    assert later.returncode == 2
    assert "no send results" in later.stderr


def test_archive_exit_codes_and_one_line_errors(tmp_path, campaign_files) -> None:
    csv, log = campaign_files
    root = tmp_path / "wh"
    missing = smskit_cli("archive", str(tmp_path / "nope.sqlite"), "--to", str(root))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "no such file" in missing.stderr
    bad = tmp_path / "bad.log"
    bad.write_text("this is not a report\n")
    refused = smskit_cli("archive", str(bad), "--to", str(root))
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert refused.stderr.startswith("smskit archive: ")
    partly = smskit_cli("archive", str(log), str(bad), "--to", str(root))
    assert partly.returncode == 1  # the log was archived, then the bad file refused
    assert "new reports row(s)" in partly.stdout
    wrong_kind = smskit_cli("archive", str(csv), "--kind", "replies", "--to", str(root))
    assert wrong_kind.returncode == 2
    assert "Traceback" not in wrong_kind.stderr
    nowhere = smskit_cli("report", "--warehouse", str(tmp_path / "absent"))
    assert nowhere.returncode == 2
    assert "no warehouse" in nowhere.stderr
