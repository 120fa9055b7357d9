"""send_campaign against the emulator: grouping, partial failures, faults, never twice, crash resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import smskit
from smskit.campaign.send import CampaignWarning
from smskit.errors import DataValidationError

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"  # ${NUM_6}
NOTIFY = "1084df3291afc97c2ee0c0af7c157be7"  # ${NUM_6} ... ${TXT_20}
MARKETING_A = "d2cbcd3946ad63cbcdc62ee3c8cc741a"  # ${TXT_20}
CHILD = Path(__file__).with_name("_campaign_child.py")


def frame(n: int, *, start: int = 0, code: str = "123456", index_offset: int = 1000) -> pd.DataFrame:
    return pd.DataFrame(
        {"phone": [f"+6591{start + i:06d}" for i in range(n)], "code": [code] * n},
        index=pd.RangeIndex(index_offset, index_offset + n, name="row"),
    )


def sent_counts(emulator) -> pd.Series:
    return emulator.sent()["to"].value_counts()


def test_results_keep_index_and_columns(emulator, emulator_client, data_dir) -> None:
    recipients = smskit.read_recipients(data_dir / "recipients.csv")
    templates = smskit.load_templates(data_dir / "templates.csv")
    plan = smskit.plan_campaign(
        recipients, template_id=NOTIFY, params=["code", "name"], templates=templates, skip_invalid=True
    )
    results = smskit.send_campaign(plan, client=emulator_client, progress=False)
    assert results.index.equals(recipients.index)
    assert list(results.columns) == [
        "to",
        "template_id",
        "state",
        "sms_msg_id",
        "status",
        "error",
        "sent_at",
        "extend",
        "request_no",
    ]
    assert results["state"].dtype == "category"
    assert str(results["sent_at"].dt.tz) == "UTC"
    accepted = results[results["state"] == "accepted"]
    assert len(accepted) == plan.summary["ready"]
    assert set(accepted["sms_msg_id"]) == set(emulator.sent()["sms_msg_id"])
    # invalid and suppressed rows carry the plan's state; duplicates were sent once, invalid rows never
    assert (results.loc[plan.problems.index, "state"].astype(str) == plan.problems["state"].astype(str)).all()
    assert sent_counts(emulator).max() == 1
    invalid = plan.problems[plan.problems["state"] == "invalid"]
    assert not set(results.loc[invalid.index, "to"].dropna()) & set(emulator.sent()["to"])
    joined = recipients.join(results[["state"]])
    assert joined["state"].notna().all()


def test_invalid_rows_refuse_the_whole_campaign(emulator, emulator_client) -> None:
    recipients = pd.concat([frame(5), pd.DataFrame({"phone": ["not a number"], "code": ["1"]}, index=[9])])
    with pytest.raises(DataValidationError, match="invalid") as info:
        smskit.send_campaign(recipients, client=emulator_client, template_id=VERIFY, params=["code"], progress=False)
    assert info.value.rows is not None
    assert list(info.value.rows.index) == [9]
    assert emulator.requests().empty  # nothing sent half-way


def test_skip_invalid_sends_the_rest(emulator, emulator_client) -> None:
    recipients = pd.concat([frame(5), pd.DataFrame({"phone": ["not a number"], "code": ["1"]}, index=[9])])
    results = smskit.send_campaign(
        recipients, client=emulator_client, template_id=VERIFY, params=["code"], skip_invalid=True, progress=False
    )
    assert results.loc[9, "state"] == "invalid"
    assert (results.drop(index=9)["state"] == "accepted").all()
    assert len(emulator.sent()) == 5


def test_1201_recipients_one_template_three_calls(emulator, emulator_client) -> None:
    results = smskit.send_campaign(
        frame(1201), client=emulator_client, template_id=VERIFY, params=["code"], rate=None, progress=False
    )
    calls = emulator.requests()
    assert len(calls) == 3
    assert sorted(calls["n_numbers"]) == [201, 500, 500]
    assert set(calls["path"]) == {"/sms/batchSendSms/v1"}
    assert (results["state"] == "accepted").all()
    assert sent_counts(emulator).max() == 1


def test_mixed_templates_grouped_into_fewest_calls(emulator, emulator_client) -> None:
    """Two templates, each with one shared params tuple, plus a per-row-params template."""
    a = frame(600, code="111111").assign(template=VERIFY)
    b = frame(300, start=1000, code="222222", index_offset=5000).assign(template=VERIFY)
    c = frame(50, start=2000, index_offset=9000).assign(template=MARKETING_A, code=[f"Name{i}" for i in range(50)])
    recipients = pd.concat([a, b, c])
    templates = smskit.load_templates(Path(__file__).resolve().parents[2] / "data" / "templates.csv")
    plan = smskit.plan_campaign(recipients, template_column="template", params=["code"], templates=templates)
    results = smskit.send_campaign(plan, client=emulator_client, rate=None, progress=False)
    calls = emulator.requests()
    # 950 numbers in 2 + 1 items of VERIFY (600 split 500+100, 300) and 50 items of MARKETING_A: ≤ 500 numbers/call
    assert calls["n_numbers"].sum() == 950
    assert len(calls) == len(plan.requests) == -(-950 // 500)
    assert (results["state"] == "accepted").all()
    sent = emulator.sent().set_index("to")
    assert tuple(sent.loc["+6591002010", "params"]) == ("Name10",)
    assert sent.loc["+6591002010", "template_id"] == MARKETING_A
    assert tuple(sent.loc["+6591001000", "params"]) == ("222222",)


def test_partial_failures_land_on_the_right_rows(emulator, emulator_client) -> None:
    """Planned without a catalog, the emulator's template check (E200028) rejects the non-digit codes."""
    recipients = frame(10)
    recipients.loc[[1003, 1007], "code"] = ["12ab56", "x"]
    results = smskit.send_campaign(
        recipients, client=emulator_client, template_id=VERIFY, params=["code"], progress=False
    )
    rejected = results[results["state"] == "rejected"]
    assert list(rejected.index) == [1003, 1007]
    assert rejected["status"].tolist() == ["E200028", "E200028"]
    assert rejected["error"].str.len().gt(0).all()
    assert set(emulator.sent()["to"]) == set(results.loc[results["state"] == "accepted", "to"])


def test_5xx_faults_give_no_duplicates(emulator) -> None:
    emulator.fail_next(3, kind="5xx")
    client = emulator.client(rng=__import__("random").Random(1))
    results = smskit.send_campaign(
        frame(1500), client=client, template_id=VERIFY, params=["code"], rate=None, progress=False
    )
    assert (results["state"] == "accepted").all()
    counts = sent_counts(emulator)
    assert len(counts) == 1500
    assert counts.max() == 1


def test_ambiguous_fault_marks_unknown_and_never_resends(emulator, emulator_client, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    emulator.fail_next(1, kind="ambiguous")
    with pytest.warns(CampaignWarning, match="unknown"):
        first = smskit.send_campaign(
            frame(1200),
            client=emulator_client,
            template_id=VERIFY,
            params=["code"],
            ledger=ledger,
            campaign_id="c1",
            rate=None,
            concurrency=1,
            progress=False,
        )
    unknown = first[first["state"] == "unknown"]
    assert len(unknown) == 500  # the first 500-number call was dropped after the platform took it
    assert unknown["extend"].nunique() == 1
    assert (first.drop(unknown.index)["state"] == "accepted").all()
    assert sent_counts(emulator).max() == 1
    assert len(emulator.sent()) == 1200

    with pytest.warns(CampaignWarning, match="500 unknown"):
        again = smskit.send_campaign(
            frame(1200),
            client=emulator_client,
            template_id=VERIFY,
            params=["code"],
            ledger=ledger,
            campaign_id="c1",
            rate=None,
            progress=False,
        )
    assert len(emulator.requests()) == 3  # nothing re-sent
    pd.testing.assert_series_equal(again["state"], first["state"])
    assert again["sms_msg_id"].equals(first["sms_msg_id"])

    smskit.send_campaign(
        frame(1200),
        client=emulator_client,
        template_id=VERIFY,
        params=["code"],
        ledger=ledger,
        campaign_id="c1",
        rate=None,
        progress=False,
        resend_unknown=True,
    )
    assert len(emulator.requests()) == 4
    assert sent_counts(emulator).max() == 2


def test_same_campaign_with_a_row_appended_sends_only_that_row(emulator, emulator_client, tmp_path) -> None:
    """A changed plan no longer starts over or is refused: the campaign resumes by recipient (issue 10)."""
    ledger = tmp_path / "c.sqlite"
    options = {"template_id": VERIFY, "params": ["code"], "ledger": ledger, "campaign_id": "spring", "progress": False}
    smskit.send_campaign(frame(10), client=emulator_client, **options)
    again = smskit.send_campaign(frame(11), client=emulator_client, **options)
    assert len(emulator.sent()) == 11
    assert sent_counts(emulator).max() == 1
    assert (again["state"] == "accepted").all()


def test_auth_failure_stops_and_a_rerun_sends_everything(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    bad = smskit.Client(emulator.base_url, emulator.app_key, "wrong", sender="isms1")
    with pytest.warns(CampaignWarning, match="stopped"):
        results = smskit.send_campaign(
            frame(1500),
            client=bad,
            template_id=VERIFY,
            params=["code"],
            ledger=ledger,
            campaign_id="c1",
            rate=None,
            concurrency=1,
            progress=False,
        )
    assert set(results["state"].astype(str)) <= {"rejected", "unsent"}
    assert results["status"].dropna().eq("E000045").all()  # AK/SK signature check failed (issue 11: was E000101)
    assert len(emulator.requests()) == 1  # stopped after the first refusal
    good = smskit.send_campaign(
        frame(1500),
        client=emulator.client(),
        template_id=VERIFY,
        params=["code"],
        ledger=ledger,
        campaign_id="c1",
        rate=None,
        progress=False,
    )
    assert (good["state"] == "accepted").all()
    assert sent_counts(emulator).max() == 1
    assert len(emulator.sent()) == 1500


@pytest.mark.parametrize("kill_at", [0, 1000, 3500], ids=["before-first-answer", "after-1000", "after-3500"])
def test_sigkill_then_rerun_sends_each_recipient_at_most_once(emulator, tmp_path, kill_at) -> None:
    """Kill -9 the sending process once the platform has taken ``kill_at`` messages, then re-run it."""
    recipients_csv, results_csv = tmp_path / "recipients.csv", tmp_path / "results.csv"
    frame(5000).to_csv(recipients_csv)
    ledger = tmp_path / "crash.sqlite"
    emulator.latency_ms = 200  # slow answers: the kill lands while requests are in flight
    args = [
        sys.executable,
        str(CHILD),
        emulator.base_url,
        emulator.app_key,
        str(ledger),
        str(recipients_csv),
        str(results_csv),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    assert child.stdin is not None
    child.stdin.write(emulator.app_secret + "\n")
    child.stdin.close()
    deadline = time.monotonic() + 60
    while len(emulator.requests()) == 0 or len(emulator.sent()) < kill_at:
        assert child.poll() is None, "the campaign finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    emulator.latency_ms = 0
    rerun = subprocess.run(
        args, input=emulator.app_secret + "\n", capture_output=True, text=True, env=env, timeout=120, check=True
    )
    assert "STATES" in rerun.stdout
    results = pd.read_csv(results_csv, dtype=str)
    counts = sent_counts(emulator)
    assert counts.max() == 1, "a recipient was messaged twice"
    assert set(results["state"]) <= {"accepted", "unknown"}
    accepted = results.loc[results["state"] == "accepted", "to"]
    unknown = results.loc[results["state"] == "unknown", "to"]
    assert set(accepted) <= set(counts.index)  # every accepted recipient was sent, once
    assert set(counts.index) <= set(accepted) | set(unknown)  # nothing sent that the results don't account for
    assert len(accepted) + len(unknown) == 5000
    assert len(accepted) >= 5000 - 2 * 500  # at most `concurrency` requests were in flight at the kill


def test_on_progress_reports_every_number_in_the_calling_thread(emulator, emulator_client) -> None:
    import threading

    seen: list[tuple[int, str]] = []
    smskit.send_campaign(
        frame(1201),
        client=emulator_client,
        template_id=VERIFY,
        params=["code"],
        rate=None,
        progress=False,
        on_progress=lambda n: seen.append((n, threading.current_thread().name)),
    )
    assert sorted(n for n, _ in seen) == [201, 500, 500]
    assert {name for _, name in seen} == {threading.current_thread().name}
