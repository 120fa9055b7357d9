"""final_state and delivery_funnel: out-of-order, duplicated, multi-segment and unknown-reconciled messages."""

from __future__ import annotations

import pandas as pd
import pytest

from smskit.reports.funnel import FUNNEL_COLUMNS, delivery_funnel, final_state
from smskit.reports.ingest import read_status_reports

T0 = pd.Timestamp("2026-06-24T08:00:00Z")


def _reports(rows: list[tuple]) -> pd.DataFrame:
    """rows: (sms_msg_id, status, seconds after T0 or None, sequence, total[, extend, to])."""
    records = []
    for row in rows:
        sid, status, secs, seq, total, *echo = row
        records.append(
            {
                "sms_msg_id": sid,
                "status": status,
                "update_time": None
                if secs is None
                else (T0 + pd.Timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sequence": seq,
                "total": total,
                "extend": echo[0] if echo else None,
                "to": echo[1] if echo else None,
            }
        )
    return read_status_reports(pd.DataFrame(records))


def _state(rows: list[tuple], sid: str = "m") -> pd.Series:
    return final_state(_reports(rows)).loc[sid]


def test_late_accepted_does_not_overwrite_delivered() -> None:
    s = _state([("m", "DELIVRD", 10, 1, 1), ("m", "ACCEPTD", 20, 1, 1)])
    assert (s["final_status"], s["delivered"], s["final"]) == ("DELIVRD", True, True)
    assert s["reported_at"] == T0 + pd.Timedelta(seconds=10)


def test_out_of_order_arrival_uses_report_time_not_arrival() -> None:
    # arrives: DELIVRD first, then an older ACCEPTD; the order of rows must not matter
    a = _state([("m", "DELIVRD", 30, 1, 1), ("m", "ACCEPTD", 5, 1, 1)])
    b = _state([("m", "ACCEPTD", 5, 1, 1), ("m", "DELIVRD", 30, 1, 1)])
    assert a.equals(b)
    assert a["final_status"] == "DELIVRD"


def test_first_final_report_wins_within_a_segment() -> None:
    s = _state([("m", "UNDELIV", 10, 1, 1), ("m", "DELIVRD", 20, 1, 1)])
    assert (s["final_status"], s["delivered"]) == ("UNDELIV", False)
    platform_made = _state([("m", "DELIVRD", 10, 1, 1), ("m", "EXPIRED", None, 1, 1)])
    assert platform_made["final_status"] == "DELIVRD"


def test_duplicates_change_nothing() -> None:
    rows = [("m", "DELIVRD", 10, 1, 1)]
    assert _state(rows).equals(_state(rows * 3))


def test_multi_segment_delivered_only_when_every_segment_is() -> None:
    partial = _state([("m", "DELIVRD", 10, 1, 3), ("m", "DELIVRD", 12, 2, 3)])
    assert (partial["delivered"], partial["final"], partial["segments_delivered"]) == (False, False, 2)
    assert partial["category"] == "pending"
    full = _state([("m", "DELIVRD", 10, 1, 3), ("m", "DELIVRD", 15, 3, 3), ("m", "DELIVRD", 12, 2, 3)])
    assert (full["delivered"], full["final_status"]) == (True, "DELIVRD")
    assert full["reported_at"] == T0 + pd.Timedelta(seconds=15)  # the last segment's delivery


def test_a_failed_segment_is_not_hidden_by_delivered_ones() -> None:
    s = _state([("m", "UNDELIV", 10, 2, 2), ("m", "DELIVRD", 20, 1, 2), ("m", "DELIVRD", 30, 2, 2)])
    assert (s["final_status"], s["delivered"], s["final"]) == ("UNDELIV", False, True)
    assert s["category"] == "carrier_rejected"


def test_only_intermediate_reports_stay_pending() -> None:
    s = _state([("m", "ACCEPTD", 10, 1, 1)])
    assert (s["final_status"], s["delivered"], s["final"], s["category"]) == ("ACCEPTD", False, False, "pending")


def _results() -> pd.DataFrame:
    sent_at = pd.Series([T0] * 6, index=[10, 11, 12, 13, 14, 15])
    return pd.DataFrame(
        {
            "to": ["+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004", "+8613800000005", "bad"],
            "template_id": "t1",
            "state": pd.Categorical(["accepted", "accepted", "unknown", "rejected", "unknown", "invalid"]),
            "sms_msg_id": ["id-1", "id-2", None, None, None, None],
            "status": ["000000", "000000", None, "E200041", None, None],
            "error": None,
            "sent_at": sent_at.where(sent_at.index != 15),
            "extend": ["c:1", "c:1", "c:2", "c:1", "c:2", None],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_delivery_funnel_rows_and_reconciliation() -> None:
    reports = _reports(
        [
            ("id-1", "DELIVRD", 42, 1, 1),
            ("id-2", "ACCEPTD", 5, 1, 1),
            ("id-3", "DELIVRD", 7, 1, 1, "c:2", "+8613800000003"),  # the unknown send did go out
            ("id-x", "DELIVRD", 7, 1, 1, "c:9", "+8613800000005"),  # other campaign: no match
        ]
    )
    results = _results()
    before = results.copy()
    funnel = delivery_funnel(results, reports)
    pd.testing.assert_frame_equal(results, before)  # input not mutated
    assert list(funnel.index) == [10, 11, 12, 13, 14, 15]  # every input row, index kept (issue 12)
    assert list(funnel.columns) == [*results.columns, *FUNNEL_COLUMNS]
    assert funnel.loc[12, "sms_msg_id"] == "id-3"
    assert funnel["delivered"].tolist() == [True, False, True, False, False, False]
    assert funnel.loc[15, "state"] == "invalid"  # keeps its state; no outcome
    assert pd.isna(funnel.loc[15, "final_status"])
    assert pd.isna(funnel.loc[15, "category"])
    assert pd.isna(funnel.loc[15, "reported_at"])
    assert funnel.loc[13, "final_status"] == "E200041"
    assert funnel.loc[13, "category"] == "request"
    assert funnel.loc[14, "category"] == "unknown"
    assert pd.isna(funnel.loc[14, "final_status"])
    assert funnel.loc[11, "category"] == "pending"
    assert funnel.loc[10, "latency_s"] == pytest.approx(42.0)
    assert funnel.loc[12, "latency_s"] == pytest.approx(7.0)
    assert funnel["latency_s"].isna().tolist() == [False, False, False, True, True, True]
    assert str(funnel["reported_at"].dtype) == "datetime64[ns, UTC]"
    assert funnel["final_status"].dtype == "category"


def test_funnel_without_reports_is_all_pending() -> None:
    funnel = delivery_funnel(_results(), _reports([]))
    assert not funnel["delivered"].any()
    assert funnel.loc[10, "category"] == "pending"


def test_final_state_without_any_report_time() -> None:
    """An export mapped without a time column still gives final states (reported_at NaT, UTC)."""
    frame = read_status_reports(pd.DataFrame({"sms_msg_id": ["m1", "m2"], "status": ["DELIVRD", "UNDELIV"]}))
    out = final_state(frame)
    assert out.loc["m1", "final_status"] == "DELIVRD"
    assert out.loc["m2", "final_status"] == "UNDELIV"
    assert out["reported_at"].isna().all()
    assert str(out["reported_at"].dt.tz) == "UTC"


def test_latency_is_never_negative_with_whole_second_report_times() -> None:
    """Reports carry whole seconds; one stamped in the send's own second reads as zero latency."""
    sent_at = pd.Timestamp("2026-11-25T08:00:00.700Z")
    results = pd.DataFrame(
        {"to": ["+6591234567"], "state": ["accepted"], "sms_msg_id": ["m1"], "status": ["000000"], "sent_at": [sent_at]}
    )
    reports = read_status_reports(
        pd.DataFrame({"sms_msg_id": ["m1"], "status": ["DELIVRD"], "update_time": ["2026-11-25T08:00:00Z"]})
    )
    assert delivery_funnel(results, reports)["latency_s"].tolist() == [0.0]


def test_campaign_of_reads_back_the_extend_send_campaign_writes() -> None:
    from smskit.campaign.send import PlannedRequest
    from smskit.reports.funnel import campaign_of

    extends = [PlannedRequest(n, "batchSendSms", ()).extend(c) for n, c in [(0, "demo"), (12, "c1a2b3.v2_x-y")]]
    assert campaign_of(pd.Series([*extends, "not-ours", None])).tolist() == ["demo", "c1a2b3.v2_x-y", pd.NA, pd.NA]
