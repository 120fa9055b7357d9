"""Delivery metrics: intervals against statsmodels, group rates against direct counts."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from smskit import analytics, codes
from smskit.errors import DataValidationError

STATES = ["accepted", "rejected", "unknown", "invalid", "suppressed"]
NUMBERS = ["+33612345678", "+8613800138000", "+4915112345678", "+6591234567", "+16502530000"]


def synthetic_funnel(n: int, *, seed: int) -> pd.DataFrame:
    """A frame shaped like ``smskit.delivery_funnel``'s, with a variant column joined."""
    rng = np.random.default_rng(seed)
    state = rng.choice(STATES, n, p=[0.85, 0.06, 0.03, 0.04, 0.02])
    accepted = state == "accepted"
    final = np.where(
        accepted,
        rng.choice(["DELIVRD", "UNDELIV", "EXPIRED", "BLACK", ""], n, p=[0.8, 0.08, 0.05, 0.03, 0.04]),
        "",
    )
    status = np.where(accepted, "000000", np.where(state == "rejected", "E200028", ""))
    sent_at = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")
    latency = np.where(final != "", rng.exponential(30.0, n), np.nan)
    frame = pd.DataFrame(
        {
            "to": pd.array(rng.choice(NUMBERS, n), dtype="str"),
            "template_id": rng.choice(["welcome", "promo"], n),
            "state": pd.Categorical(state, categories=STATES),
            "status": pd.Series(status).replace("", None).astype("str"),
            "sent_at": sent_at,
            "final_status": pd.Series(final).replace("", None).astype("str"),
            "delivered": final == "DELIVRD",
            "latency_s": latency,
            "variant": rng.choice(["A", "B"], n),
        }
    ).set_axis(pd.RangeIndex(1000, 1000 + n))
    frame["category"] = codes.categorize(frame["final_status"])["category"]
    frame["reported_at"] = frame["sent_at"] + pd.to_timedelta(frame["latency_s"], unit="s")
    return frame


@pytest.fixture
def funnel() -> pd.DataFrame:
    return synthetic_funnel(3000, seed=1)


@given(
    st.integers(min_value=1, max_value=10_000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
@settings(max_examples=200, deadline=None)
def test_wilson_interval_matches_statsmodels(case, confidence):
    k, n = case
    low, high = analytics.wilson_interval(k, n, confidence=confidence)
    ref_low, ref_high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    assert low[0] == pytest.approx(ref_low, abs=1e-12)
    assert high[0] == pytest.approx(ref_high, abs=1e-12)


def test_wilson_interval_is_vectorized_and_handles_empty_groups():
    low, high = analytics.wilson_interval(np.array([0, 5, 10, 0]), np.array([10, 10, 10, 0]))
    ref_low, ref_high = proportion_confint(np.array([0, 5, 10]), np.array([10, 10, 10]), method="wilson")
    np.testing.assert_allclose(low[:3], ref_low, atol=1e-12)
    np.testing.assert_allclose(high[:3], ref_high, atol=1e-12)
    assert np.isnan(low[3])
    assert np.isnan(high[3])


@pytest.mark.parametrize(("k", "n", "confidence"), [(11, 10, 0.95), (-1, 10, 0.95), (1, 10, 1.5)])
def test_wilson_interval_refuses_impossible_input(k, n, confidence):
    with pytest.raises(ValueError, match="between"):
        analytics.wilson_interval(k, n, confidence=confidence)


def test_overall_rate_counts_only_sent_rows(funnel):
    before = funnel.copy()
    table = analytics.delivery_rate(funnel)
    sent = funnel.loc[~funnel["state"].isin(["invalid", "suppressed"])]
    assert list(table.columns) == ["sent", "delivered", "rate", "low", "high"]
    assert table.loc[0, "sent"] == len(sent)
    assert table.loc[0, "delivered"] == sent["delivered"].sum()
    assert table.loc[0, "rate"] == pytest.approx(sent["delivered"].mean())
    ref = proportion_confint(sent["delivered"].sum(), len(sent), method="wilson")
    assert (table.loc[0, "low"], table.loc[0, "high"]) == pytest.approx(ref)
    pd.testing.assert_frame_equal(funnel, before)


def test_rate_among_accepted(funnel):
    table = analytics.delivery_rate(funnel, among="accepted")
    accepted = funnel.loc[funnel["state"] == "accepted"]
    assert table.loc[0, "sent"] == len(accepted)
    assert table.loc[0, "rate"] == pytest.approx(accepted["delivered"].mean())


def test_rate_by_two_columns_matches_direct_counts(funnel):
    table = analytics.delivery_rate(funnel, by=["template_id", "variant"])
    sent = funnel.loc[~funnel["state"].isin(["invalid", "suppressed"])]
    ref = sent.groupby(["template_id", "variant"])["delivered"].agg(["size", "sum"])
    assert list(table.columns) == ["template_id", "variant", "sent", "delivered", "rate", "low", "high"]
    assert len(table) == 4
    for row in table.itertuples():
        assert row.sent == ref.loc[(row.template_id, row.variant), "size"]
        assert row.delivered == ref.loc[(row.template_id, row.variant), "sum"]
        assert row.low <= row.rate <= row.high


def test_rate_by_derived_country_carrier_and_hour(funnel):
    by_country = analytics.delivery_rate(funnel, by=["country", "carrier"])
    pairs = set(zip(by_country["country"].astype(object), by_country["carrier"].astype(object), strict=True))
    assert ("FR", "SFR") in pairs
    assert ("CN", "China Mobile") in pairs
    assert by_country["sent"].sum() == analytics.delivery_rate(funnel).loc[0, "sent"]
    us = by_country.loc[by_country["country"] == "US"]
    assert us["carrier"].isna().all()  # no carrier data for US numbers: NA, not ""
    by_hour = analytics.delivery_rate(funnel, by="hour")
    assert set(by_hour["hour"]) <= set(range(24))
    assert by_hour["sent"].sum() == by_country["sent"].sum()
    assert "country" not in funnel.columns  # derived on a copy


def test_add_number_info_keeps_index_and_parses_each_number_once(funnel):
    out = analytics.add_number_info(funnel)
    assert out.index.equals(funnel.index)
    fr = out.loc[out["to"] == "+33612345678"]
    assert (fr["country"] == "FR").all()
    assert (fr["carrier"] == "SFR").all()
    bad = analytics.add_number_info(pd.DataFrame({"to": ["+12", None, "+6591234567"]}, index=[7, 8, 9]))
    assert bad["country"].isna().tolist() == [True, True, False]
    assert bad.loc[9, "carrier"] == "SingTel"


def test_unknown_group_key_names_the_problem(funnel):
    with pytest.raises(DataValidationError, match="segments"):
        analytics.delivery_rate(funnel, by="segments")
    with pytest.raises(DataValidationError, match="delivered"):
        analytics.delivery_rate(funnel.drop(columns="delivered"))


def test_reports_frame_without_state_counts_every_row():
    from smskit.reports.ingest import read_status_reports

    bodies = pd.DataFrame(
        {
            "smsMsgId": ["a", "b", "c", "d"],
            "status": ["DELIVRD", "UNDELIV", "DELIVRD", "MILIMIT"],
            "updateTime": ["2024-05-01T00:00:00Z", "2024-05-01T01:00:00Z", "2024-05-02T00:00:00Z", None],
        }
    )
    reports = read_status_reports(bodies)
    assert analytics.delivery_rate(reports).loc[0, "rate"] == 0.5
    breakdown = analytics.failure_breakdown(reports)
    assert set(breakdown["code"]) == {"UNDELIV", "MILIMIT"}
    assert breakdown.set_index("code").loc["MILIMIT", "category"] == "rate_limited"
    daily = analytics.rate_over_time(reports, on="update_time", freq="1D")
    assert daily["sent"].tolist() == [2, 1]  # the report with no update time is left out
    assert daily["delivered"].tolist() == [1, 1]


def test_rate_over_time_bins_add_up(funnel):
    table = analytics.rate_over_time(funnel, freq="6h")
    assert list(table.columns) == ["sent_at", "sent", "delivered", "rate", "low", "high"]
    assert len(table) == 4
    assert table["sent_at"].dt.tz is not None
    assert (table["sent_at"].dt.hour % 6 == 0).all()
    assert table["sent"].sum() == analytics.delivery_rate(funnel).loc[0, "sent"]
    by = analytics.rate_over_time(funnel, freq="12h", by="variant")
    assert list(by.columns[:2]) == ["variant", "sent_at"]
    assert len(by) == 4
    first = funnel.loc[
        ~funnel["state"].isin(["invalid", "suppressed"])
        & (funnel["variant"] == "A")
        & (funnel["sent_at"] < pd.Timestamp("2024-05-01 12:00", tz="UTC"))
    ]
    assert by.iloc[0]["sent"] == len(first)
    assert by.iloc[0]["delivered"] == first["delivered"].sum()


def test_failure_breakdown_codes_counts_and_advice(funnel):
    table = analytics.failure_breakdown(funnel)
    assert list(table.columns) == ["category", "code", "count", "share", "of_sent", "meaning", "advice"]
    sent = funnel.loc[~funnel["state"].isin(["invalid", "suppressed"])]
    failed = sent.loc[~sent["delivered"]]
    assert table["count"].sum() == len(failed)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["count"].is_monotonic_decreasing
    by_code = table.set_index("code")
    assert by_code.loc["UNDELIV", "count"] == (failed["final_status"] == "UNDELIV").sum()
    assert by_code.loc["UNDELIV", "advice"] == codes.lookup("UNDELIV").advice
    assert by_code.loc["BLACK", "category"] == "blacklist"
    assert by_code.loc["E200028", "count"] == (failed["state"] == "rejected").sum()
    assert by_code.loc["E200028", "category"] == codes.lookup("E200028").category
    assert by_code.loc["(unknown)", "count"] == (failed["state"] == "unknown").sum()
    no_report = (failed["state"] == "accepted") & failed["final_status"].isna()
    assert by_code.loc["(no report)", "count"] == no_report.sum()
    assert by_code.loc["(no report)", "category"] == "pending"
    assert by_code.loc["UNDELIV", "of_sent"] == pytest.approx(by_code.loc["UNDELIV", "count"] / len(sent))


def test_failure_breakdown_top_and_without_pending(funnel):
    assert len(analytics.failure_breakdown(funnel, top=2)) == 2
    settled = analytics.failure_breakdown(funnel, pending=False)
    assert "(no report)" not in set(settled["code"])
    assert settled["share"].sum() == pytest.approx(1.0)


def test_latency_quantiles_match_numpy(funnel):
    table = analytics.latency_quantiles(funnel, by="variant")
    assert list(table.columns) == ["variant", "n", "p50", "p90", "p99"]
    sent = funnel.loc[~funnel["state"].isin(["invalid", "suppressed"])]
    for row in table.itertuples():
        values = sent.loc[sent["delivered"] & (sent["variant"] == row.variant), "latency_s"].to_numpy()
        assert row.n == len(values)
        assert row.p50 == pytest.approx(np.quantile(values, 0.5))
        assert row.p99 == pytest.approx(np.quantile(values, 0.99))
    overall = analytics.latency_quantiles(funnel, q=(0.25, 0.995), delivered_only=False)
    reported = sent["latency_s"].dropna().to_numpy()
    assert list(overall.columns) == ["n", "p25", "p99_5"]
    assert overall.loc[0, "n"] == len(reported)
    assert overall.loc[0, "p99_5"] == pytest.approx(np.quantile(reported, 0.995))


def test_funnel_counts_stages(funnel):
    """The funnel starts at the input rows (issue 12): rows → invalid → suppressed → sent → accepted → delivered."""
    table = analytics.funnel_counts(funnel)
    assert table["stage"].tolist() == ["rows", "invalid", "suppressed", "sent", "accepted", "delivered"]
    state = funnel["state"]
    sent = ~state.isin(["invalid", "suppressed"])
    assert table["count"].tolist() == [
        len(funnel),
        (state == "invalid").sum(),
        (state == "suppressed").sum(),
        sent.sum(),
        (state == "accepted").sum(),
        funnel["delivered"].sum(),
    ]
    assert table["of_rows"].iloc[0] == 1.0
    assert table["of_rows"].iloc[3] == pytest.approx(sent.sum() / len(funnel))
    assert table["share"].iloc[:3].isna().all()
    assert table["share"].iloc[3] == 1.0
    assert table["share"].iloc[5] == pytest.approx(funnel["delivered"].sum() / sent.sum())
    with_unsent = funnel.assign(state=funnel["state"].cat.add_categories("unsent"))
    with_unsent.loc[with_unsent.index[:7], "state"] = "unsent"
    stages = analytics.funnel_counts(with_unsent).set_index("stage")["count"]
    assert stages["unsent"] == 7
    assert stages["sent"] == sent.sum() - sent.iloc[:7].sum()


def test_importing_smskit_and_metrics_does_not_import_matplotlib():
    code = (
        "import sys, smskit, smskit.analytics, smskit.experiments; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_metrics_on_a_real_delivery_funnel():
    from smskit.reports.funnel import delivery_funnel

    t0 = pd.Timestamp("2024-05-01", tz="UTC")
    results = pd.DataFrame(
        {
            "to": ["+6591234567", "+33612345678", "+8613800138000", "+4915112345678", "+16502530000"],
            "template_id": "welcome",
            "state": pd.Categorical(["accepted", "accepted", "rejected", "accepted", "invalid"], categories=STATES),
            "sms_msg_id": ["m1", "m2", None, "m4", None],
            "status": ["000000", "000000", "E200028", "000000", None],
            "error": None,
            "sent_at": t0,
        },
        index=[10, 11, 12, 13, 14],
    )
    reports = pd.DataFrame(
        {"smsMsgId": ["m1", "m2"], "status": ["DELIVRD", "BLACK"], "updateTime": ["2024-05-01T00:00:30Z"] * 2}
    )
    funnel = delivery_funnel(results, reports)
    assert analytics.delivery_rate(funnel)[["sent", "delivered"]].iloc[0].tolist() == [4, 1]
    breakdown = analytics.failure_breakdown(funnel).set_index("code")
    assert breakdown["count"].to_dict() == {"(no report)": 1, "BLACK": 1, "E200028": 1}
    assert breakdown.loc["E200028", "category"] == "template"
    assert analytics.funnel_counts(funnel)["count"].tolist() == [5, 1, 4, 3, 1]  # rows, invalid, sent, …
    assert analytics.latency_quantiles(funnel).loc[0, "p50"] == 30.0
    assert analytics.delivery_rate(funnel, by="country")["country"].astype(str).tolist() == ["CN", "DE", "FR", "SG"]


# --- one definition of the headline counts -----------------------------------------------------------------


def _dashboard_tiles(html_text: str) -> dict[str, int]:
    import re

    tiles = re.findall(r'class="smskit-count"[^>]*>([\d,]+)</div><div[^>]*>([^<]+)</div>', html_text)
    return {label: int(value.replace(",", "")) for value, label in tiles}


def _report_overview(report) -> dict[str, str]:
    table = report.tables["Overview"]
    return dict(zip(table["measure"], table["value"], strict=True))


def test_acceptd_only_is_awaiting_a_report_in_analytics_the_report_the_dashboard_and_the_cli(tmp_path):
    """Issue 9's case: one message with only an ACCEPTD report is awaiting a final report, never failed."""
    import os

    from smskit.reports.funnel import delivery_funnel
    from smskit.reports.ingest import read_status_reports
    from smskit.summary import summarize
    from smskit.summary.tables import HEADLINE_LABELS
    from smskit.widgets import Dashboard

    t0 = pd.Timestamp("2026-01-01T00:00:00Z")
    results = pd.DataFrame(
        {
            "to": ["+6591000001"],
            "template_id": ["t"],
            "state": ["accepted"],
            "sms_msg_id": ["m1"],
            "status": ["000000"],
            "error": [None],
            "sent_at": [t0],
        }
    )
    body = "sequence=1&total=1&updateTime=2026-01-01T00%3A00%3A05Z&source=2&smsMsgId=m1&status=ACCEPTD"
    log = tmp_path / "callbacks.log"
    log.write_text(body + "\n")
    reports = read_status_reports(log)

    counts = analytics.headline_counts(delivery_funnel(results, reports))
    assert (counts["sent"], counts["accepted"], counts["delivered"]) == (1, 1, 0)
    assert (counts["failed"], counts["awaiting report"]) == (0, 1)

    overview = _report_overview(summarize(reports, results=results))
    assert overview[HEADLINE_LABELS["failed"]] == "0"
    assert overview[HEADLINE_LABELS["awaiting report"]] == "1"

    tiles = _dashboard_tiles(Dashboard(reports, results=results).counts.value)
    assert (tiles["failed"], tiles["awaiting report"], tiles["delivered"]) == (0, 1, 0)

    results.to_csv(tmp_path / "results.csv")
    proc = subprocess.run(
        [sys.executable, "-m", "smskit", "report", str(log), "--results", str(tmp_path / "results.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{HEADLINE_LABELS['failed']}: 0" in proc.stdout
    assert f"{HEADLINE_LABELS['awaiting report']}: 1" in proc.stdout


def test_an_unknown_send_settled_by_a_delivery_report_counts_as_delivered():
    """``delivered`` is gated on sent, not accepted: the report settles a send whose answer was lost."""
    from smskit.reports.funnel import delivery_funnel

    results = pd.DataFrame(
        {
            "to": ["+6591000001", "+6591000002"],
            "state": ["unknown", "unknown"],
            "sms_msg_id": [None, None],
            "status": [None, None],
            "sent_at": [pd.Timestamp("2026-01-01T00:00:00Z")] * 2,
            "extend": ["c:0", "c:0"],
        }
    )
    reports = pd.DataFrame(
        {"smsMsgId": ["m1"], "status": ["DELIVRD"], "extend": ["c:0"], "to": ["+6591000001"], "total": ["1"]}
    )
    funnel = delivery_funnel(results, reports)
    counts = analytics.headline_counts(funnel)
    assert counts[["sent", "accepted", "delivered", "unknown"]].tolist() == [2, 0, 1, 1]
    assert analytics.delivery_rate(funnel).loc[0, "delivered"] == counts["delivered"]


@given(st.integers(min_value=0, max_value=10_000))
@settings(max_examples=15, deadline=None)
def test_headline_counts_partition_sent_and_agree_with_the_report_and_the_dashboard(seed):
    from smskit.reports.ingest import read_status_reports
    from smskit.summary.tables import HEADLINE_LABELS, overview_table
    from smskit.widgets import counts_html, delivery_counts

    frame = synthetic_funnel(200, seed=seed)
    counts = analytics.headline_counts(frame)
    parts = ["delivered", "failed", "awaiting report", "rejected", "unknown"]
    assert counts[parts].sum() == counts["sent"] == analytics.delivery_rate(frame).loc[0, "sent"]
    assert counts["delivered"] == analytics.delivery_rate(frame).loc[0, "delivered"]
    assert counts[["invalid", "suppressed", "unsent", "sent"]].sum() == counts["rows"] == len(frame)
    assert delivery_counts(frame).equals(counts)
    assert _dashboard_tiles(counts_html(delivery_counts(frame))) == counts.to_dict()
    no_reports = read_status_reports(pd.DataFrame({"sms_msg_id": [], "status": []}))
    overview = _report_overview_table(overview_table(frame, no_reports, mode="funnel", confidence=0.95))
    for key in ("sent", "accepted", "rejected", "unknown", "delivered", "failed", "awaiting report"):
        assert overview[HEADLINE_LABELS[key]] == str(counts[key]), key


def _report_overview_table(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["measure"], table["value"], strict=True))


# --- one definition of the time bins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "max_bins", "expected"),
    [(0, 30, "1s"), (29, 30, "1s"), (30, 30, "5s"), (3 * 3600, 30, "15min"), (3 * 3600, 48, "5min"), (1e7, 30, "1D")],
)
def test_time_bin_is_the_finest_bin_within_max_bins(seconds, max_bins, expected):
    start = pd.Timestamp("2025-01-01", tz="UTC")
    times = pd.Series([start, start + pd.Timedelta(seconds=seconds), pd.NaT])
    freq = analytics.time_bin(times, max_bins=max_bins)
    assert freq == expected
    assert analytics.time_bins(times, freq) <= max_bins or freq == analytics.TIME_BINS[-1]
    finer = analytics.TIME_BINS[: analytics.TIME_BINS.index(freq)]
    assert all(analytics.time_bins(times, f) > max_bins for f in finer)


def test_time_bins_have_one_home():
    """The report, the plots and the Dashboard bin time with analytics.time_bin; no second ladder."""
    from pathlib import Path

    from smskit import widgets

    assert widgets.time_bin is analytics.time_bin
    package = Path(analytics.__file__).parent
    homes = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if '"15min"' in p.read_text(encoding="utf-8")
    )
    assert homes == ["analytics.py"]


def test_the_report_bins_time_like_analytics():
    from smskit.reports.ingest import read_status_reports
    from smskit.summary import summarize

    t0 = pd.Timestamp("2026-01-01T00:00:00Z")
    n = 300
    results = pd.DataFrame(
        {
            "to": ["+6591000001"] * n,
            "state": ["accepted"] * n,
            "sms_msg_id": [f"m{i}" for i in range(n)],
            "status": ["000000"] * n,
            "sent_at": [t0 + pd.Timedelta(minutes=i) for i in range(n)],
        }
    )
    reports = read_status_reports(
        pd.DataFrame(
            {
                "sms_msg_id": results["sms_msg_id"],
                "status": "DELIVRD",
                "update_time": [(t + pd.Timedelta(seconds=30)).isoformat() for t in results["sent_at"]],
            }
        )
    )
    options = summarize(reports, results=results).figures["delivery_over_time"][1]
    assert options["freq"] == analytics.time_bin(results["sent_at"], max_bins=min(48, n / 10)) == "15min"


def test_not_accepted_groups_rows_by_reason_with_meaning_and_advice():
    results = pd.DataFrame(
        {
            "state": ["accepted", "rejected", "rejected", "rejected", "unknown", "unsent", "unsent", "invalid"],
            "status": ["000000", "E200028", "E200028", "E000101", None, None, None, None],
            "error": [None, "x", "x", "Authentication failed", "connection lost", "not sent: a", "not sent: a", "bad"],
        }
    )
    table = analytics.not_accepted(results)
    assert table[["state", "code", "count"]].values.tolist() == [
        ["rejected", "E200028", 2],
        ["unsent", "(unsent)", 2],
        ["rejected", "E000101", 1],
        ["unknown", "(unknown)", 1],
    ]
    info = codes.lookup("E000101")
    row = table.set_index("code").loc["E000101"]
    assert (row["meaning"], row["advice"]) == (info.meaning, info.advice)
    assert table.set_index("code").loc["(unsent)", "error"] == "not sent: a"
    assert analytics.explain_code("(unsent)")[2].startswith("fix the cause")


def test_every_not_sent_state_has_a_headline_and_the_rows_add_up():
    """Plan states added later (deferred, expired, held_out) are counted, not folded into unsent."""
    frame = synthetic_funnel(300, seed=9)
    states = ["deferred", "expired", "held_out", "unsent"]
    frame["state"] = frame["state"].cat.add_categories(states)
    for i, state in enumerate(states):
        frame.loc[frame.index[i * 5 : i * 5 + 5], "state"] = state
    counts = analytics.headline_counts(frame)
    assert [counts[k] for k in ("deferred", "expired", "held out", "unsent")] == [5, 5, 5, 5]
    assert counts[list(analytics.NOT_SENT_HEADLINES)].sum() + counts["sent"] == counts["rows"] == len(frame)
    stages = analytics.funnel_counts(frame)["stage"].astype(str).tolist()
    left_out = ["invalid", "suppressed", "deferred", "expired", "held out", "unsent"]
    assert stages == ["rows", *left_out, "sent", "accepted", "delivered"]
    assert "held out" not in analytics.funnel_counts(synthetic_funnel(300, seed=9))["stage"].astype(str).tolist()
