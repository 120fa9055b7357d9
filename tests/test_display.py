"""smskit.display: one way numbers read, and the mark that lets notebooks show smskit's tables formatted."""

from __future__ import annotations

import pandas as pd

from smskit import analytics, display
from tests.test_analytics import synthetic_funnel


def test_analytics_tables_are_marked_and_keep_their_numbers():
    funnel = synthetic_funnel(500, seed=2)
    table = analytics.delivery_rate(funnel, by="template_id", confidence=0.9)
    assert display.is_marked(table)
    assert table.attrs[display.MARK] == 0.9
    assert table["rate"].dtype == "float64"  # the frame is for computing; only its display is formatted
    for derived in (table.head(1), table.loc[table["sent"] > 0], table[["template_id", "rate"]], table.copy()):
        assert display.is_marked(derived)
    for made in (
        analytics.failure_breakdown(funnel),
        analytics.latency_quantiles(funnel),
        analytics.funnel_counts(funnel),
        analytics.rate_over_time(funnel, freq="6h"),
    ):
        assert display.is_marked(made)
    assert not display.is_marked(funnel)


def test_table_html_shows_percentages_and_ranges_escaped():
    table = analytics.delivery_rate(synthetic_funnel(500, seed=2), by="template_id", confidence=0.9)
    table.loc[0, "template_id"] = "<b>x</b>"
    page = display.table_html(table)
    rate = display.format_percent(table.loc[0, "rate"])
    assert f"<td>{rate}</td>" in page
    assert "90% interval" in page
    assert display.format_interval(table.loc[0, "low"], table.loc[0, "high"]) in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert str(table.loc[0, "rate"]) not in page
    assert "<th>0</th>" not in page  # a 0…n-1 index is not shown


def test_format_helpers():
    assert display.format_percent(0.942857) == "94.3%"
    assert display.format_percent(None) == ""
    assert display.format_interval(0.91, 0.97) == "91.0% – 97.0%"
    assert display.format_pp(-0.0333) == "-3.3 pp"
    assert display.format_seconds(20.04) == "20.0 s"
    assert display.format_seconds(pd.NA) == ""
