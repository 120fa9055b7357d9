"""The differential check shared by the DuckDB and Spark warehouse tests: every warehouse answer equals
smskit.analytics applied to smskit.delivery_funnel(results, reports) on the same data."""

from __future__ import annotations

import pandas as pd

from smskit import analytics
from smskit.reports.funnel import FUNNEL_COLUMNS, delivery_funnel

#: The breakdowns compared: funnel columns, derived keys, and several keys at once.
BY = [None, "template_id", ["template_id", "day"], ["variant", "hour"], "category", "state", "final_status", "campaign"]


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Dtype rules for comparing: text and categoricals as object (missing = None), integers as int64,
    times as UTC nanoseconds; values and column order untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values.dtype):
            out[column] = values.astype(object).where(values.notna(), None)
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.astype("datetime64[ns, UTC]")
        elif pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
            out[column] = values.astype("int64")
    return out.reset_index(drop=True)


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(normalized(got), normalized(want), check_exact=False, rtol=1e-9, atol=1e-12)


def pandas_funnel(results: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """The pandas path, with the warehouse's ``campaign`` (from ``extend``) and ``recipient_id`` columns."""
    funnel = delivery_funnel(results, reports)
    campaign = funnel["extend"].astype("str").str.rsplit(":", n=1).str[0]
    return funnel.assign(campaign=campaign, recipient_id=funnel.index.astype(str))


def check_against_pandas(wh, funnel: pd.DataFrame) -> None:
    """Every warehouse query against the pandas funnel ``funnel`` (already filtered like the query)."""
    got = wh.funnel().sort_values(["campaign", "recipient_id"]).reset_index(drop=True)
    want = funnel.sort_values(["campaign", "recipient_id"]).reset_index(drop=True)
    assert len(got) == len(want)
    columns = ["campaign", "recipient_id", "to", "state", "sms_msg_id", *FUNNEL_COLUMNS]
    assert_same(got[columns], want[columns])
    for by in BY:
        assert_same(wh.delivery_rate(by=by), analytics.delivery_rate(funnel, by=by))
    assert_same(
        wh.delivery_rate(by="variant", among="accepted"),
        analytics.delivery_rate(funnel, by="variant", among="accepted"),
    )
    assert_same(wh.failure_breakdown(), analytics.failure_breakdown(funnel))
    assert_same(wh.failure_breakdown(top=3, pending=False), analytics.failure_breakdown(funnel, top=3, pending=False))
    assert_same(wh.funnel_counts(), analytics.funnel_counts(funnel))
    for freq, by in (("1h", None), ("1D", "template_id"), ("6h", ["variant", "state"])):
        assert_same(wh.rate_over_time(freq=freq, by=by), analytics.rate_over_time(funnel, freq=freq, by=by))
    assert_same(
        wh.rate_over_time(freq="1D", on="reported_at"), analytics.rate_over_time(funnel, freq="1D", on="reported_at")
    )
    assert_same(wh.latency_quantiles(), analytics.latency_quantiles(funnel))
    assert_same(wh.latency_quantiles(by="template_id"), analytics.latency_quantiles(funnel, by="template_id"))
    assert_same(
        wh.latency_quantiles(by=["variant", "category"], q=(0.1, 0.5, 0.999), delivered_only=False),
        analytics.latency_quantiles(funnel, by=["variant", "category"], q=(0.1, 0.5, 0.999), delivered_only=False),
    )
