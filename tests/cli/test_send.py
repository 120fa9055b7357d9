"""`smskit send` as a subprocess against the emulator: exit codes 0/1/2, dry run, results file, resume."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"


def run(emulator, *args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SMSKIT_BASE_URL": emulator.base_url,
        "SMSKIT_APP_KEY": emulator.app_key,
        "SMSKIT_APP_SECRET": secret or emulator.app_secret,
        "SMSKIT_SENDER": "isms-cli",
    }
    return subprocess.run(
        [sys.executable, "-m", "smskit", "send", *args, "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def recipients(tmp_path: Path) -> Path:
    path = tmp_path / "r.csv"
    pd.DataFrame({"phone": [f"+6591{i:06d}" for i in range(20)], "code": [f"{i:06d}" for i in range(20)]}).to_csv(
        path, index=False
    )
    return path


def test_send_all_accepted_exit_0(emulator, recipients, tmp_path) -> None:
    out = tmp_path / "results.csv"
    proc = run(emulator, str(recipients), "--template-id", VERIFY, "--params", "code", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "accepted 20" in proc.stdout
    results = pd.read_csv(out, dtype=str)
    assert (results["state"] == "accepted").all()
    assert sorted(emulator.sent()["params"].map(tuple).map(lambda p: p[0])) == [f"{i:06d}" for i in range(20)]
    assert emulator.app_secret not in proc.stdout + proc.stderr


def test_invalid_rows_exit_2_and_nothing_sent(emulator, recipients, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(recipients, dtype=str)
    frame.loc[3, "phone"] = "12"
    frame.to_csv(bad, index=False)
    proc = run(emulator, str(bad), "--template-id", VERIFY, "--params", "code")
    assert proc.returncode == 2
    assert "nothing sent" in proc.stderr
    assert "1 of 20 rows are invalid" in proc.stderr
    assert emulator.requests().empty
    proc = run(emulator, str(bad), "--template-id", VERIFY, "--params", "code", "--skip-invalid")
    assert proc.returncode == 0, proc.stderr
    assert len(emulator.sent()) == 19


def test_rejected_rows_exit_1(emulator, tmp_path) -> None:
    path = tmp_path / "r.csv"
    pd.DataFrame({"phone": ["+6591000001", "+6591000002"], "code": ["123456", "12ab56"]}).to_csv(path, index=False)
    proc = run(emulator, str(path), "--template-id", VERIFY, "--params", "code")
    assert proc.returncode == 1
    assert "rejected 1" in proc.stdout


def test_config_error_exit_2(emulator, recipients) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSKIT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "smskit", "send", str(recipients), "--template-id", VERIFY, "--params", "code"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=recipients.parent,
    )
    assert proc.returncode == 2
    assert "SMSKIT_BASE_URL" in proc.stderr


def test_dry_run_sends_nothing(emulator, recipients) -> None:
    proc = run(emulator, str(recipients), "--template-id", VERIFY, "--params", "code", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "'ready': 20" in proc.stdout
    assert "batchSendSms" in proc.stdout
    assert emulator.requests().empty


def test_ledger_rerun_sends_nothing_twice(emulator, recipients, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    args = (str(recipients), "--template-id", VERIFY, "--params", "code", "--ledger", str(ledger))
    assert run(emulator, *args).returncode == 0
    assert run(emulator, *args).returncode == 0
    assert len(emulator.requests()) == 1
    assert len(emulator.sent()) == 20


def test_auth_failure_exit_1(emulator, recipients) -> None:
    proc = run(emulator, str(recipients), "--template-id", VERIFY, "--params", "code", secret="wrong-secret")
    assert proc.returncode == 1
    assert "wrong-secret" not in proc.stdout + proc.stderr
