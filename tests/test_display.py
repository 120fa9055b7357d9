"""smskit.display: one way numbers read, and the mark that lets notebooks show smskit's tables formatted."""

from __future__ import annotations

import numpy as np
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


def test_compare_arms_tables_show_formatted_for_every_metric():
    """compare_arms (its attrs carry metric and confidence) reads as percentages and pp, or as amounts for
    the value metric; no column shows a raw float."""
    import re
    import warnings

    from smskit import experiments

    funnel = synthetic_funnel(2000, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiments.ExperimentWarning)
        arms = experiments.compare_arms(funnel, control="A")
    assert display.is_marked(arms)
    shown = display.display_table(arms).set_index("variant")
    assert "mean" not in shown.columns  # it repeats rate
    assert re.fullmatch(r"\d+\.\d%", shown.loc["B", "rate"])
    assert re.fullmatch(r"[+-]\d+\.\d pp", shown.loc["B", "difference"])
    assert re.fullmatch(r"[+-]\d+\.\d%", shown.loc["B", "lift"])
    assert shown.loc["A", "lift"] == ""
    assert re.fullmatch(r"\d\.\d{3}", shown.loc["B", "p_adjusted"])
    assert not any(re.search(r"\d\.\d{5,}", cell) for cell in shown.to_numpy().ravel())
    value = arms.drop(columns=["sent", "delivered", "rate", "z"])  # the shape of an outcome metric's table
    value = value.assign(mean=[12.5, 14.25], low=[10.0, 12.0], high=[15.0, 16.5])
    value.attrs = {"metric": "value", "confidence": 0.9}
    shown = display.display_table(value).set_index("variant")
    assert shown.loc["B", "mean"] == "14.25"
    assert shown.loc["B", "90% interval"] == "12.00 to 16.50"
    # a difference of amounts is signed, its interval too; tiny p-values read as "<0.001", not "0.000"
    assert re.fullmatch(r"[+-]\d+\.\d\d to [+-]\d+\.\d\d", shown.loc["B", "difference 90% interval"])
    tiny = display.display_table(value.assign(p_adjusted=[np.nan, 4e-5])).set_index("variant")
    assert tiny.loc["B", "p_adjusted"] == "<0.001"
