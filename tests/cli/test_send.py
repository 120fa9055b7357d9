"""`smskit send` as a subprocess against the emulator: exit codes 0/1/2, dry run, results file, resume."""

from __future__ import annotations

import os
import re
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
    for variable in ("SMSKIT_BASE_URL", "SMSKIT_APP_KEY", "SMSKIT_APP_SECRET"):  # names what to set
        assert variable in proc.stderr
    assert "pass them as arguments" not in proc.stderr  # CLI words, not Python's
    assert "Traceback" not in proc.stderr


def test_dry_run_sends_nothing(emulator, recipients) -> None:
    proc = run(emulator, str(recipients), "--template-id", VERIFY, "--params", "code", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^  ready +20$", proc.stdout, re.M)  # a table, not a Python dict (issue 12)
    assert "{" not in proc.stdout
    # the requests table: one code per row, so one batchSendDiffSms call (the old check matched a dict key)
    assert re.search(r"^ +0 batchSendDiffSms +20 +20 ", proc.stdout, re.M)
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


# --- the first hour (issue 12) ------------------------------------------------------------------------------


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    """30 customers with their own ids; 8 phones written the local UK way, one unreadable, one bad code."""
    phones = [f"+6591{i:06d}" for i in range(30)]
    for i in range(8):
        phones[10 + i] = f"07400 0863{i:02d}"
    phones[25] = "call me"
    codes = [f"{i:06d}" for i in range(30)]
    codes[27] = "12ab"
    path = tmp_path / "customers.csv"
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(30)], "phone": phones, "code": codes})
    frame.to_csv(path, index=False)
    return path


def test_nothing_sendable_is_exit_2(emulator, recipients, tmp_path) -> None:
    catalog = str(Path(__file__).resolve().parents[2] / "data" / "templates.csv")
    proc = run(emulator, str(recipients), "--template-id", "nosuchtemplate", "--templates", catalog, "--skip-invalid")
    assert proc.returncode == 2, proc.stdout
    assert "nothing to send" in proc.stderr
    assert "unknown template_id 'nosuchtemplate'" in proc.stdout
    assert "results:" not in proc.stdout
    _no_traceback(proc)
    assert emulator.requests().empty


def test_a_readable_plan_groups_problems_with_examples_in_the_users_ids(emulator, customers) -> None:
    args = (str(customers), "--template-id", VERIFY, "--params", "code", "--id-column", "customer_id")
    catalog = str(Path(__file__).resolve().parents[2] / "data" / "templates.csv")
    proc = run(emulator, *args, "--templates", catalog, "--dry-run", "--skip-invalid", "--price-per-segment", "0.05")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^  invalid +10$", out, re.M)
    assert re.search(r"^  estimated cost +1\.00$", out, re.M)  # 20 ready × 1 segment × 0.05
    assert "10 row(s) will not be sent (invalid 10):" in out
    assert "  8 invalid: no country code" in out
    assert "--default-region" in out
    assert "default_region=" not in out
    assert "customer_id 'C0010' (row 11): phone '07400 086300'" in out  # the user's id and the offending value
    assert "…and 5 more" in out
    assert "customer_id 'C0027' (row 28): code '12ab'" in out
    _no_traceback(proc)


def test_invalid_rows_advice_speaks_cli(emulator, customers) -> None:
    proc = run(emulator, str(customers), "--template-id", VERIFY, "--params", "code")
    assert proc.returncode == 2
    assert "--skip-invalid" in proc.stderr
    assert "skip_invalid" not in proc.stderr
    _no_traceback(proc)


def test_default_region_is_validated(emulator, customers) -> None:
    proc = run(emulator, str(customers), "--template-id", VERIFY, "--params", "code", "--default-region", "UK")
    assert proc.returncode == 2
    assert "'UK' is not a region code" in proc.stderr
    assert "did you mean GB" in proc.stderr
    assert "GB, GD, GE" in proc.stderr  # the valid choices
    _no_traceback(proc)
    assert emulator.requests().empty
    ok = run(emulator, str(customers), "--template-id", VERIFY, "--params", "code", "--default-region", "gb")
    assert "no country code" not in ok.stdout


def test_reasons_on_screen_for_a_wrong_secret(emulator, recipients) -> None:
    proc = run(emulator, str(recipients), "--template-id", VERIFY, "--params", "code", secret="wrong-secret")
    assert proc.returncode == 1
    why = proc.stdout.split("why:\n", 1)[1].splitlines()
    assert len(why) == 2  # one reason, printed once, with its advice
    assert re.match(r"  20 rejected E000045: ", why[0])  # issue 11: AK/SK signature check failed, as the reference says
    assert "what to do:" in why[1]
    assert "SMSKIT_APP_KEY/SMSKIT_APP_SECRET" in why[1]
    _no_traceback(proc)


def test_reasons_on_screen_for_an_unreachable_host(recipients, tmp_path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SMSKIT_BASE_URL": f"http://127.0.0.1:{port}",
        "SMSKIT_APP_KEY": "k",
        "SMSKIT_APP_SECRET": "s",
        "SMSKIT_SENDER": "isms-cli",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "smskit", "send", str(recipients), "--template-id", VERIFY, *("--params", "code")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "results: unsent 20" in proc.stdout
    assert "20 unsent: Not sent" in proc.stdout
    assert "could not connect" in proc.stdout
    assert "SMSKIT_BASE_URL" in proc.stdout
    assert "--ledger" in proc.stdout
    _no_traceback(proc)


def test_missing_sender_names_the_option_and_the_variable(emulator, recipients) -> None:
    env = {
        **os.environ,
        "SMSKIT_BASE_URL": emulator.base_url,
        "SMSKIT_APP_KEY": emulator.app_key,
        "SMSKIT_APP_SECRET": emulator.app_secret,
    }
    env.pop("SMSKIT_SENDER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "smskit", "send", str(recipients), "--template-id", VERIFY, "--params", "code"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=recipients.parent,
    )
    assert proc.returncode in (1, 2)
    assert "--sender" in proc.stderr + proc.stdout
    assert "SMSKIT_SENDER" in proc.stderr + proc.stdout
    assert "sender=" not in proc.stderr + proc.stdout
    _no_traceback(proc)


def test_a_corrupted_ledger_is_one_line_and_exit_2(emulator, recipients, tmp_path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"this is not a database" * 100)
    proc = run(emulator, str(recipients), "--template-id", VERIFY, "--params", "code", "--ledger", str(ledger))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(ledger) in proc.stderr
    _no_traceback(proc)
    assert emulator.requests().empty


def test_id_column_is_carried_into_results_and_the_report(emulator, customers, tmp_path) -> None:
    out = tmp_path / "results.csv"
    args = (str(customers), "--template-id", VERIFY, "--params", "code", "--id-column", "customer_id")
    store = tmp_path / "reports.sqlite"
    from smskit.reports.receiver import CallbackReceiver

    with CallbackReceiver(store) as rx:
        proc = run(emulator, *args, "--skip-invalid", "--default-region", "GB", "--status-callback", rx.url)
        assert proc.returncode == 1, proc.stderr  # row 28's code is refused by the platform... or not sent
        proc = run(emulator, *args, "--skip-invalid", "--default-region", "GB", "--out", str(out))
        assert emulator.wait_for_reports(timeout=20)
    header = out.read_text().splitlines()[0].split(",")
    assert header[:2] == ["row", "customer_id"]  # no anonymous index column
    results = pd.read_csv(out, dtype=str)
    assert results["customer_id"].tolist() == [f"C{i:04d}" for i in range(30)]
    assert results["row"].tolist() == [str(i) for i in range(1, 31)]
    report = subprocess.run(
        [sys.executable, "-m", "smskit", "report", str(store), "--results", str(out), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert report.returncode == 0, report.stderr
    delivery = pd.read_csv(tmp_path / "r" / "delivery.csv", dtype=str)
    assert delivery.columns[:2].tolist() == ["row", "customer_id"]
    assert delivery.loc[delivery["customer_id"] == "C0025", "state"].item() == "invalid"
    assert delivery["customer_id"].is_unique
