"""Issue 10, "never twice, for real": each test checks the emulator's own record that no number got two messages.

Concurrent runs (two processes, two threads), edited files, repeats across campaigns, gateway errors
after forwarding (a real fault proxy), a 503 with an unknown code, setup errors, numbers stored as
numbers, an old ledger migrated and resumed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import smskit
from smskit.campaign.ledger import Ledger
from smskit.campaign.send import CampaignWarning, planned_requests
from smskit.errors import ConcurrentRunError, ConfigError, DataValidationError
from smskit.numbers import NUMERIC_CELL

from ._fault_proxy import FaultProxy
from .test_ledger import OLD_SCHEMA

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"  # ${NUM_6}
NOTIFY = "1084df3291afc97c2ee0c0af7c157be7"  # ${NUM_6} ... ${TXT_20}
CHILD = Path(__file__).with_name("_campaign_child.py")


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+6591{start + i:06d}" for i in range(n)]


def frame(n: int, *, start: int = 0, code: str = "123456") -> pd.DataFrame:
    return pd.DataFrame({"phone": numbers(n, start), "code": [code] * n}, index=pd.RangeIndex(100, 100 + n, name="row"))


def assert_at_most_once(emulator) -> pd.Series:
    """Messages per number in the emulator's own record; fails if any number got two."""
    counts = emulator.sent()["to"].value_counts()
    assert counts.empty or counts.max() == 1, f"messaged twice: {list(counts[counts > 1].index[:5])}"
    return counts


def send(plan_or_frame, client, **options):
    defaults = {"template_id": VERIFY, "params": ["code"]} if isinstance(plan_or_frame, pd.DataFrame) else {}
    return smskit.send_campaign(plan_or_frame, client=client, progress=False, **{**defaults, **options})


def cli_env(emulator) -> dict[str, str]:
    return {
        **os.environ,
        "SMSKIT_BASE_URL": emulator.base_url,
        "SMSKIT_APP_KEY": emulator.app_key,
        "SMSKIT_APP_SECRET": emulator.app_secret,
        "SMSKIT_SENDER": "isms-cli",
        "PYTHONWARNINGS": "ignore",
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "smskit", "send", *args, "--no-progress"]


# -- two runs at once ---------------------------------------------------------------------------


def test_two_processes_started_together(emulator, tmp_path) -> None:
    """Two `smskit send` processes, same file, same ledger: one sends, the other exits 2 having sent nothing."""
    recipients, ledger = tmp_path / "spring.csv", tmp_path / "contacts.sqlite"
    frame(3000).to_csv(recipients, index=False)
    emulator.latency_ms = 600  # six calls one at a time: the first run lasts several seconds
    args = cli(str(recipients), "--template-id", VERIFY, "--params", "code", "--ledger", str(ledger))
    args += ["--concurrency", "1", "--rate", "100000"]
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    procs = [
        subprocess.Popen(
            [*args, "--out", str(out)], env=cli_env(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for out in outs
    ]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], results
    loser = codes.index(2)
    assert "another run of campaign 'spring." in results[loser][1]
    assert not outs[loser].exists()
    counts = assert_at_most_once(emulator)
    assert len(counts) == 3000
    winner = pd.read_csv(outs[codes.index(0)], dtype=str)
    assert (winner["state"] == "accepted").all()  # the loser flipped none of its in-flight calls to unknown


def test_two_processes_one_waiting_for_the_lease(emulator, tmp_path) -> None:
    """With wait_for_lease=True the second process waits, then finds everything sent and sends nothing."""
    recipients, ledger = tmp_path / "r.csv", tmp_path / "c.sqlite"
    frame(2000).to_csv(recipients)
    emulator.latency_ms = 300
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, str(CHILD), emulator.base_url, emulator.app_key, str(ledger), str(recipients)]
    procs = [
        subprocess.Popen(
            [*args, str(tmp_path / f"{name}.csv"), "wait"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        proc.communicate(emulator.app_secret + "\n", timeout=120)
    assert [p.returncode for p in procs] == [0, 0]
    assert len(assert_at_most_once(emulator)) == 2000
    for name in ("a", "b"):
        assert (pd.read_csv(tmp_path / f"{name}.csv", dtype=str)["state"] == "accepted").all()


def _run_in_thread(results: dict[str, object], key: str, **options) -> threading.Thread:
    def target() -> None:
        try:
            results[key] = send(**options)
        except Exception as exc:  # collected for the assertions
            results[key] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread


@pytest.mark.parametrize("shared", [False, True], ids=["own-connection", "shared-ledger-object"])
def test_two_threads_same_campaign(emulator, tmp_path, shared) -> None:
    emulator.latency_ms = 300
    path = tmp_path / "c.sqlite"
    book = Ledger(path) if shared else None
    options = {"client": emulator.client(), "ledger": book or path, "campaign_id": "c1", "concurrency": 1, "rate": None}
    results: dict[str, object] = {}
    first = _run_in_thread(results, "first", plan_or_frame=frame(2000), **options)
    time.sleep(0.5)  # the first run holds the lease and has calls in flight
    second = _run_in_thread(results, "second", plan_or_frame=frame(2000), **options)
    second.join(60)
    first.join(60)
    assert isinstance(results["second"], ConcurrentRunError), results["second"]
    assert isinstance(results["first"], pd.DataFrame)
    assert (results["first"]["state"] == "accepted").all()  # nothing of the first run became unknown
    third = _run_in_thread(results, "third", plan_or_frame=frame(2000), wait_for_lease=True, **options)
    fourth = _run_in_thread(results, "fourth", plan_or_frame=frame(2000), wait_for_lease=True, **options)
    third.join(60)
    fourth.join(60)
    assert all(isinstance(results[k], pd.DataFrame) for k in ("third", "fourth"))
    assert len(assert_at_most_once(emulator)) == 2000
    assert len(emulator.requests()) == 4  # the later runs found everything sent
    if book is not None:
        book.close()


def test_a_run_that_lost_its_lease_claims_nothing_more(emulator, tmp_path) -> None:
    """If another run took the campaign over (this one stalled past its lease), every later claim is refused."""
    path = tmp_path / "c.sqlite"
    emulator.latency_ms = 400
    stolen = threading.Event()

    def steal() -> None:
        while emulator.requests().empty:
            time.sleep(0.02)
        with sqlite3.connect(path, timeout=30) as db:  # what a run that took over the expired lease leaves
            db.execute("UPDATE campaigns SET lease_owner = 'elsewhere:1:x', lease_expires = 1e12")
        stolen.set()

    thief = threading.Thread(target=steal)
    thief.start()
    with pytest.warns(CampaignWarning, match="lost its lease"):
        results = send(frame(2000), emulator.client(), ledger=path, campaign_id="c1", concurrency=1, rate=None)
    thief.join(10)
    assert stolen.is_set()
    counts = results["state"].astype(str).value_counts()
    assert counts["accepted"] >= 500
    assert counts["unsent"] >= 500
    assert len(emulator.requests()) == counts["accepted"] // 500
    with Ledger(path) as book:
        requests_ = book.requests("c1")
        assert (requests_["state"] == "pending").sum() == counts["unsent"] // 500  # never claimed
    assert_at_most_once(emulator)


# -- edited files -------------------------------------------------------------------------------


def test_edited_file_rerun_sends_only_new_and_fixed_rows(emulator, tmp_path) -> None:
    """Rows appended, a bad row fixed, rows reordered: the default campaign (file + template) resumes by recipient."""
    path, ledger = tmp_path / "spring.csv", tmp_path / "contacts.sqlite"
    original = pd.DataFrame({"phone": [*numbers(5), "+6591 bad"], "code": ["123456"] * 6})
    original.to_csv(path, index=False)
    client = emulator.client()
    first = send(smskit.read_recipients(path), client, ledger=ledger, skip_invalid=True)
    assert list(first["state"].astype(str)) == ["accepted"] * 5 + ["invalid"]

    edited = pd.concat([original, pd.DataFrame({"phone": numbers(2, 100), "code": ["654321"] * 2})])
    edited.iloc[5, 0] = "+6591000050"  # the bad row fixed
    edited = edited.iloc[::-1]  # and every row reordered
    edited.to_csv(path, index=False)
    second = send(smskit.read_recipients(path), client, ledger=ledger)

    counts = assert_at_most_once(emulator)
    assert len(counts) == 8
    assert set(emulator.sent().tail(3)["to"]) == {"+6591000050", *numbers(2, 100)}
    assert (second["state"] == "accepted").all()
    restored = second.set_index("to").loc[numbers(5)]
    assert restored["sms_msg_id"].tolist() == first.set_index("to").loc[numbers(5), "sms_msg_id"].tolist()
    with Ledger(ledger) as book:
        assert book.campaigns()["campaign_id"].tolist() == [f"spring.{VERIFY}"]


def test_rejected_rows_keep_their_answer_and_fixed_rows_are_sent(emulator, tmp_path) -> None:
    """A number the platform refused (E200028 here) is not re-sent as it was; with its params fixed it is new."""
    ledger = tmp_path / "c.sqlite"
    rows = frame(3)
    rows.loc[101, "code"] = "12ab56"  # NUM_6 takes digits only: the emulator refuses this number
    first = send(rows, emulator.client(), ledger=ledger, campaign_id="c1")
    assert list(first["state"].astype(str)) == ["accepted", "rejected", "accepted"]
    again = send(rows, emulator.client(), ledger=ledger, campaign_id="c1")
    assert len(emulator.requests()) == 1
    assert again.loc[101, "status"] == "E200028"
    rows.loc[101, "code"] = "654321"
    fixed = send(rows, emulator.client(), ledger=ledger, campaign_id="c1")
    assert (fixed["state"] == "accepted").all()
    assert len(assert_at_most_once(emulator)) == 3


def test_a_changed_param_for_a_number_already_sent_is_a_repeat(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    send(frame(3), emulator.client(), ledger=ledger, campaign_id="c1")
    edited = frame(3)
    edited.loc[101, "code"] = "999999"
    again = send(edited, emulator.client(), ledger=ledger, campaign_id="c1")
    assert again.loc[101, "state"] == "suppressed"
    assert "campaign 'c1'" in again.loc[101, "error"]
    assert len(assert_at_most_once(emulator)) == 3


def test_python_frame_with_a_ledger_needs_a_campaign_name(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    with pytest.raises(DataValidationError, match="campaign_id= is required") as info:
        send(frame(3), emulator.client(), ledger=ledger)
    assert "campaign_id=" in info.value.advice
    assert not ledger.exists()
    assert emulator.requests().empty


# -- repeats across campaigns -------------------------------------------------------------------


def test_repeats_across_campaigns_suppressed_with_reason(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    client = emulator.client()
    send(frame(5), client, ledger=ledger, campaign_id="spring")
    overlap = frame(5, start=3)  # 3 and 4 were messaged by "spring"

    preview = smskit.plan_campaign(overlap, template_id=VERIFY, params=["code"], ledger=ledger)
    assert preview.summary["repeats"] == 2
    assert list(preview.repeats["campaign_id"]) == ["spring", "spring"]
    reason = preview.recipients.loc[100, "problem"]
    assert "campaign 'spring'" in reason
    assert "UTC" in reason
    assert "allow_repeat=True" in reason

    own = smskit.plan_campaign(overlap, template_id=VERIFY, params=["code"], ledger=ledger, campaign_id="spring")
    assert own.summary["repeats"] == 0  # a campaign's own sends are not repeats: a re-run resumes them

    summer = send(overlap, client, ledger=ledger, campaign_id="summer")  # checked again at send time
    assert list(summer["state"].astype(str)) == ["suppressed", "suppressed", "accepted", "accepted", "accepted"]
    assert summer.loc[100, "error"] == reason
    assert len(assert_at_most_once(emulator)) == 8

    other_template = send(
        frame(2, start=3, code="000001").assign(name="Ann"),
        client,
        ledger=ledger,
        campaign_id="n",
        template_id=NOTIFY,
        params=["code", "name"],
    )
    assert (other_template["state"] == "accepted").all()  # another template is not a repeat

    later = smskit.plan_campaign(
        overlap,
        template_id=VERIFY,
        params=["code"],
        ledger=ledger,
        now=pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=25),
    )
    assert later.summary["repeats"] == 0  # outside the 24 h window


def test_allow_repeat_sends_anyway(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    send(frame(2), emulator.client(), ledger=ledger, campaign_id="spring")
    again = send(frame(2), emulator.client(), ledger=ledger, campaign_id="reminder", allow_repeat=True)
    assert (again["state"] == "accepted").all()
    assert emulator.sent()["to"].value_counts().max() == 2  # asked for: each number twice, once per campaign


def test_send_uses_the_plans_repeat_window(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    send(frame(2), emulator.client(), ledger=ledger, campaign_id="spring")
    time.sleep(0.01)
    plan = smskit.plan_campaign(frame(2), template_id=VERIFY, params=["code"], repeat_window="1ms")
    again = smskit.send_campaign(plan, client=emulator.client(), ledger=ledger, campaign_id="summer", progress=False)
    assert (again["state"] == "accepted").all()  # outside a 1 ms window: not repeats
    default = smskit.plan_campaign(frame(2), template_id=VERIFY, params=["code"])
    third = smskit.send_campaign(default, client=emulator.client(), ledger=ledger, campaign_id="autumn", progress=False)
    assert (third["state"] == "suppressed").all()
    assert emulator.sent()["to"].value_counts().max() == 2


def test_cli_allow_repeat_and_no_dedupe(emulator, tmp_path) -> None:
    path, ledger = tmp_path / "list.csv", tmp_path / "c.sqlite"
    pd.DataFrame({"phone": [numbers(1)[0]] * 2 + numbers(1, 1), "code": ["111111", "222222", "333333"]}).to_csv(
        path, index=False
    )
    base = [str(path), "--template-id", VERIFY, "--params", "code", "--ledger", str(ledger)]
    first = subprocess.run(
        cli(*base, "--campaign-id", "a"), env=cli_env(emulator), capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "suppressed: duplicate of row 1" in first.stdout  # the CLI's rows are numbered from 1
    assert len(assert_at_most_once(emulator)) == 2
    repeat = subprocess.run(
        cli(*base, "--campaign-id", "b"), env=cli_env(emulator), capture_output=True, text=True, timeout=120
    )
    assert repeat.returncode == 2, repeat.stderr  # every row is a repeat: nothing to send
    assert "nothing to send" in repeat.stderr
    assert "2 suppressed: repeat: this number was accepted for this template in campaign 'a'" in repeat.stdout
    assert len(emulator.sent()) == 2
    both = subprocess.run(
        cli(*base, "--campaign-id", "c", "--allow-repeat", "--no-dedupe"),
        env=cli_env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert both.returncode == 0, both.stderr
    assert len(emulator.sent()) == 5


# -- the HTTP-status policy, through a fault proxy ----------------------------------------------


@pytest.mark.parametrize("fault", ["502", "504", "500", "reset"])
def test_gateway_error_after_forwarding_is_unknown_and_never_resent(emulator, tmp_path, fault) -> None:
    ledger = tmp_path / "c.sqlite"
    with FaultProxy(emulator.base_url) as proxy, smskit.CallbackReceiver(tmp_path / "reports.sqlite") as rx:
        client = smskit.Client(
            proxy.url, emulator.app_key, emulator.app_secret, sender="isms1", rng=__import__("random").Random(0)
        )
        proxy.faults.extend(["pass", fault, "pass"])
        with pytest.warns(CampaignWarning, match="500 unknown"):
            first = send(
                frame(1500), client, ledger=ledger, campaign_id="c1", concurrency=1, rate=None, status_callback=rx.url
            )
        assert [entry[:2] for entry in proxy.log] == [("pass", True), (fault, True), ("pass", True)]  # no retry
        unknown = first[first["state"] == "unknown"]
        assert len(unknown) == 500
        assert len(assert_at_most_once(emulator)) == 1500  # the platform did process the faulted call, once

        with pytest.warns(CampaignWarning, match="500 unknown"):
            again = send(frame(1500), client, ledger=ledger, campaign_id="c1", rate=None)
        assert len(proxy.log) == 3  # nothing re-sent
        pd.testing.assert_series_equal(again["state"], first["state"])

        assert emulator.wait_for_reports(timeout=20)
        funnel = smskit.delivery_funnel(first, rx.reports())  # reports carry extend + to: they settle it
        settled = funnel.loc[unknown.index]
        assert settled["sms_msg_id"].notna().all()
        sent = emulator.sent().set_index("to")["sms_msg_id"]
        assert settled["sms_msg_id"].tolist() == sent.loc[settled["to"]].tolist()


def test_503_with_an_unknown_code_is_unsent_not_rejected(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    with FaultProxy(emulator.base_url) as proxy:
        client = smskit.Client(
            proxy.url,
            emulator.app_key,
            emulator.app_secret,
            sender="isms1",
            max_retries=1,
            rng=__import__("random").Random(0),
        )
        proxy.faults.extend(["503-unknown-code"] * 2)
        with pytest.warns(CampaignWarning, match="500 recipient\\(s\\) unsent"):
            first = send(frame(500), client, ledger=ledger, campaign_id="c1")
        assert (first["state"] == "unsent").all()
        assert [entry[:2] for entry in proxy.log] == [("503-unknown-code", False)] * 2  # retried, then given up
        assert emulator.requests().empty
        with Ledger(ledger) as book:
            assert book.requests("c1")["state"].tolist() == ["pending"]
        again = send(frame(500), client, ledger=ledger, campaign_id="c1")  # a re-run sends them
    assert (again["state"] == "accepted").all()
    assert len(assert_at_most_once(emulator)) == 500


def test_429_retry_after_is_honoured(emulator, caplog) -> None:
    caplog.set_level(logging.INFO, logger="smskit.client")
    with FaultProxy(emulator.base_url) as proxy:
        client = smskit.Client(
            proxy.url, emulator.app_key, emulator.app_secret, sender="isms1", rng=__import__("random").Random(0)
        )
        proxy.faults.append("429")
        result = client.send(numbers(3), VERIFY, ["123456"])
    assert result.ok
    assert result.attempts == 2
    assert "retrying in 1.00s after HTTP 429" in caplog.text  # the server's Retry-After, not the jittered backoff
    assert len(assert_at_most_once(emulator)) == 3


# -- setup errors -------------------------------------------------------------------------------


def test_setup_error_leaves_the_ledger_unwritten(emulator, tmp_path) -> None:
    ledger = tmp_path / "c.sqlite"
    no_sender = smskit.Client(emulator.base_url, emulator.app_key, emulator.app_secret)
    with pytest.raises(ConfigError, match="no sender"):
        send(frame(5), no_sender, ledger=ledger, campaign_id="c1")
    with pytest.raises(DataValidationError, match="statusCallback"):
        send(frame(5), emulator.client(), ledger=ledger, campaign_id="c1", status_callback="ftp://nope")
    with pytest.raises(DataValidationError, match="invalid"):
        send(
            pd.concat([frame(2), pd.DataFrame({"phone": ["12"], "code": ["1"]})]),
            emulator.client(),
            ledger=ledger,
            campaign_id="c1",
        )
    assert not ledger.exists()
    assert emulator.requests().empty

    recipients = tmp_path / "r.csv"
    frame(5).to_csv(recipients, index=False)
    env = {k: v for k, v in cli_env(emulator).items() if k != "SMSKIT_SENDER"}
    proc = subprocess.run(
        cli(str(recipients), "--template-id", VERIFY, "--params", "code", "--ledger", str(ledger)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "no sender" in proc.stderr
    assert not ledger.exists()
    # fixed, the run sends everyone (nothing was left 'unknown' by the failed attempt)
    assert send(frame(5), emulator.client(), ledger=ledger, campaign_id="c1")["state"].eq("accepted").all()
    assert len(assert_at_most_once(emulator)) == 5


def test_corrupted_ledger_exits_2_with_advice_that_does_not_resend(emulator, tmp_path) -> None:
    recipients, ledger = tmp_path / "r.csv", tmp_path / "c.sqlite"
    frame(5).to_csv(recipients, index=False)
    ledger.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 600)
    proc = subprocess.run(
        cli(str(recipients), "--template-id", VERIFY, "--params", "code", "--ledger", str(ledger)),
        env=cli_env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "last knew" in proc.stderr
    assert f"sqlite3 {ledger}" in proc.stderr
    assert "new" not in proc.stderr.split("last knew")[1].replace("renewed", "")
    assert emulator.requests().empty


# -- numbers ------------------------------------------------------------------------------------


def test_numeric_xlsx_phone_cell_refused_never_guessed(emulator, tmp_path) -> None:
    import openpyxl

    path = tmp_path / "list.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "phone", "code"])
    sheet.append(["c-1", "+4915112345678", "123456"])
    sheet.append(["c-2", 4915112345679, "123456"])  # a numeric cell: its '+' is gone
    sheet.append(["c-3", "015112345670", "123456"])  # text: a national number, default_region applies
    book.save(path)
    recipients = smskit.read_recipients(path).set_index("id")
    plan = smskit.plan_campaign(recipients, template_id=VERIFY, params=["code"], default_region="DE", skip_invalid=True)
    problems = plan.problems
    assert list(problems.index) == ["c-2"]
    assert problems.loc["c-2", "problem"] == NUMERIC_CELL
    assert "stored as a number: its + or leading 0 is lost" in NUMERIC_CELL
    results = send(plan, emulator.client())
    assert list(results["state"].astype(str)) == ["accepted", "invalid", "accepted"]
    assert set(emulator.sent()["to"]) == {"+4915112345678", "+4915112345670"}  # never +494915112345679


# -- an old ledger --------------------------------------------------------------------------------


def test_first_release_ledger_migrates_and_resumes(emulator, tmp_path) -> None:
    """A ledger the first release wrote (request 0 done, 1 in flight at a crash, 2 pending) resumes correctly."""
    ledger = tmp_path / "old.sqlite"
    recipients = frame(1500)
    plan = smskit.plan_campaign(recipients, template_id=VERIFY, params=["code"])
    requests_ = planned_requests(plan)
    client = emulator.client()
    done = client.send(requests_[0].numbers, VERIFY, ["123456"], extend="old:0")
    client.send(requests_[1].numbers, VERIFY, ["123456"], extend="old:1")  # answered, but the old run died first
    with sqlite3.connect(ledger) as db:  # what the first release wrote, statement by statement
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO campaigns VALUES ('old', ?, 3, '2026-01-01T00:00:00+00:00', '{}')", (plan.fingerprint,))
        db.executemany(
            "INSERT INTO requests (campaign_id, request_no, state) VALUES ('old', ?, 'pending')",
            [(n,) for n in range(3)],
        )
        db.execute("UPDATE requests SET state = 'done', extend = 'old:0', attempts = 1 WHERE request_no = 0")
        db.execute("UPDATE requests SET state = 'in_flight', extend = 'old:1', attempts = 1 WHERE request_no = 1")
        db.executemany(
            "INSERT INTO rows VALUES ('old', 0, ?, ?, ?, '000000', 'accepted', NULL, '2026-01-01T00:00:01+00:00')",
            [(int(p), e["originTo"], e["smsMsgId"]) for p, e in zip(requests_[0].positions, done.results, strict=True)],
        )
    with pytest.warns(CampaignWarning, match="500 unknown"):
        results = send(recipients, client, ledger=ledger, campaign_id="old", rate=None)
    counts = results["state"].astype(str).value_counts()
    assert counts["accepted"] == 1000
    assert counts["unknown"] == 500
    assert results.loc[results["to"].isin(requests_[0].numbers), "sms_msg_id"].tolist() == [
        e["smsMsgId"] for e in done.results
    ]
    assert len(assert_at_most_once(emulator)) == 1500
    with Ledger(ledger) as book:
        assert book.history("old")["template_id"].eq(VERIFY).all()
