"""Frame contracts (smskit.frames): every producer of results, reports, final states and funnels meets them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from smskit import frames
from smskit.campaign.plan import plan_campaign
from smskit.campaign.recipients import read_recipients
from smskit.campaign.send import CampaignWarning, send_campaign
from smskit.errors import DataValidationError
from smskit.reports.funnel import delivery_funnel, final_state
from smskit.reports.ingest import REPORT_DTYPES, read_status_reports
from smskit.reports.receiver import CallbackReceiver
from smskit.reports.wire import REPORT_COLUMNS
from smskit.summary import read_results

SALE = "d2cbcd3946ad63cbcdc62ee3c8cc741a"


def _meets(frame: pd.DataFrame, contract: frames.FrameContract) -> None:
    assert contract.problems(frame) == []
    assert frames.check_frame(frame, contract) is frame


@pytest.fixture
def sent(emulator, data_dir: Path, tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    """A real campaign on the emulator (invalid and opted-out rows included) and its report store."""
    recipients = read_recipients(data_dir / "recipients.csv")
    plan = plan_campaign(
        recipients,
        template_id=SALE,
        params=["name"],
        templates=data_dir / "templates.csv",
        opt_out=data_dir / "opt_out.csv",
        default_region="GB",
        skip_invalid=True,
    )
    store = tmp_path / "reports.sqlite"
    with CallbackReceiver(store) as rx:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CampaignWarning)
            results = send_campaign(plan, client=emulator.client(), status_callback=rx.url, progress=False)
        assert emulator.wait_for_reports(timeout=20)
        _meets(rx.reports(), frames.REPORTS)
    return results, store


def test_send_campaign_results_meet_the_contract(sent) -> None:
    results, _ = sent
    _meets(results, frames.RESULTS)
    assert list(results.columns[: len(frames.RESULTS.columns)]) == list(frames.RESULTS.columns)


def test_read_results_round_trips_to_the_contract(sent, tmp_path: Path) -> None:
    results, _ = sent
    results.to_csv(tmp_path / "results.csv")
    again = read_results(tmp_path / "results.csv")
    _meets(again, frames.RESULTS)
    assert again["state"].astype(str).tolist() == results["state"].astype(str).tolist()


def test_every_report_source_meets_the_contract(sent, data_dir: Path, tmp_path: Path) -> None:
    _, store = sent
    export = pd.read_csv(data_dir / "status_export.csv", dtype=str)
    export.to_excel(tmp_path / "export.xlsx", index=False)
    sources = {
        "store": store,
        "callback log": data_dir / "callbacks.log",
        "console export (CSV)": data_dir / "status_export.csv",
        "console export (XLSX)": tmp_path / "export.xlsx",
        "DataFrame": pd.DataFrame({"smsMsgId": ["m1"], "status": ["DELIVRD"]}),
        "list": [data_dir / "callbacks.log", data_dir / "status_export.csv"],
        "empty list": [],
    }
    for name, source in sources.items():
        reports = read_status_reports(source)
        assert frames.REPORTS.problems(reports) == [], name
        assert list(reports.columns) == list(frames.REPORTS.columns), name


def test_final_state_and_the_funnel_meet_their_contracts(sent) -> None:
    results, store = sent
    reports = read_status_reports(store)
    states = final_state(reports)
    _meets(states, frames.FINAL_STATE)
    _meets(final_state(reports.iloc[:0]), frames.FINAL_STATE)
    funnel = delivery_funnel(results, reports)
    _meets(funnel, frames.FUNNEL)
    assert list(funnel.columns) == [*results.columns, *frames.FUNNEL_ADDED]


def test_the_old_names_are_the_contract() -> None:
    assert frames.REPORTS.columns == REPORT_COLUMNS
    assert dict(frames.REPORTS.dtypes) == REPORT_DTYPES


def test_check_frame_names_every_breach() -> None:
    frame = pd.DataFrame({"to": [1], "state": ["accepted"]})
    with pytest.raises(DataValidationError) as caught:
        frames.check_frame(frame, frames.RESULTS)
    message = str(caught.value)
    assert "not a results frame" in message
    assert "missing column 'sms_msg_id'" in message
    assert "column 'to' is int64, not str" in message
    assert "column 'state' is" in message
    assert frames.FINAL_STATE.problems(pd.DataFrame(columns=list(frames.FINAL_STATE.columns)))[-1].startswith(
        "the index is named None"
    )


def test_replies_producers_meet_the_contract(tmp_path: Path) -> None:
    from smskit.reports.replies import REPLY_COLUMNS, parse_reply_body, read_replies, replies_frame

    body = "smsMsgId=u1&from=%2B8613800138000&to=1069&body=TD&createTime=2026-11-03T02%3A00%3A00Z"
    log = tmp_path / "replies.log"
    log.write_text(body + "\n", encoding="utf-8")
    assert frames.REPLIES.columns == REPLY_COLUMNS
    _meets(replies_frame([parse_reply_body(body)]), frames.REPLIES)
    _meets(read_replies(log), frames.REPLIES)
    _meets(
        read_replies(pd.DataFrame({"smsMsgId": ["u2"], "from": ["+86139"], "to": ["1069"], "body": ["hi"]})),
        frames.REPLIES,
    )
    _meets(replies_frame([]), frames.REPLIES)
