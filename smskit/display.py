"""How smskit shows numbers: rates as percentages, intervals as ranges, differences in percentage points,
durations in seconds. The report document, the notebook tables and the plots' labels format through here,
so a number reads the same everywhere.

Usage: ``display_table(analytics.delivery_rate(funnel, by="country"))`` → every cell as text.

Tables from :mod:`smskit.analytics` (and ``experiments.compare_arms``, built on them) are *marked*
(:func:`mark`: a key in ``DataFrame.attrs``, which pandas carries through ``head``, ``loc``, ``assign`` …).
In a notebook, :mod:`smskit.notebook` shows marked tables through :func:`table_html`: the same numbers,
read as percentages and ranges. The frame itself keeps its numbers (``0.942857``) for computing.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

__all__ = [
    "MARK",
    "display_table",
    "format_change",
    "format_change_interval",
    "format_interval",
    "format_percent",
    "format_pp",
    "format_pp_interval",
    "format_seconds",
    "is_marked",
    "mark",
    "table_html",
]

_RATE_COLUMNS = ("rate", "low", "high")
#: The ``DataFrame.attrs`` key of a marked table; its value is the confidence level of its intervals.
MARK = "smskit.confidence"


def mark(frame: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mark ``frame`` (in place, and return it) as a smskit table: notebooks show it formatted."""
    frame.attrs[MARK] = float(confidence)
    return frame


def is_marked(frame: object) -> bool:
    """A table to show formatted: marked by :func:`mark`, or an ``experiments.compare_arms`` table (whose
    ``attrs`` carry its ``metric`` and ``confidence``)."""
    if not isinstance(frame, pd.DataFrame):
        return False
    return MARK in frame.attrs or {"metric", "confidence"} <= set(frame.attrs)


def table_html(frame: pd.DataFrame, *, max_rows: int = 60) -> str:
    """A marked table as HTML: :func:`display_table`'s text (percentages, ranges, pp, seconds), escaped,
    the index shown only when it means something (not 0…n-1)."""
    shown = display_table(frame.head(max_rows))
    plain = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    html = shown.to_html(index=not plain, escape=True, border=0, classes="dataframe smskit-table")
    more = f"<p>… {len(frame) - max_rows:,} more rows</p>" if len(frame) > max_rows else ""
    return html + more


def display_table(table: pd.DataFrame, *, confidence: float | None = None) -> pd.DataFrame:
    """A copy of a summary table with every cell as text: rates as percentages with their interval,
    differences in percentage points, lifts as signed percentages, p-values rounded and latency
    quantiles (``p50`` …) in seconds.

    ``confidence`` labels the intervals (default: the table's own, from ``attrs``, else 95 %). A
    ``compare_arms`` table of the ``value`` metric (``attrs["metric"]``) shows amounts, not percentages.
    """
    if confidence is None:
        confidence = float(table.attrs.get(MARK, table.attrs.get("confidence", 0.95)))
    share = table.attrs.get("metric") != "value"
    number, interval = (format_percent, format_interval) if share else (_amount, _amount_interval)
    change, change_interval = (format_pp, format_pp_interval) if share else (_signed, _signed_interval)
    out = table.copy()
    level = f"{confidence:.0%} interval"
    cols = set(out.columns)
    if "rate" in cols and "mean" in cols:  # compare_arms on delivery: mean repeats rate, n repeats sent
        out = out.drop(columns=["mean", *(["n"] if "sent" in cols else [])])
    point = "rate" if "rate" in out.columns else "mean"
    if {point, "low", "high"} <= set(out.columns):
        at = list(out.columns).index(point)
        out.insert(at + 1, level, [interval(lo, hi) for lo, hi in zip(out["low"], out["high"], strict=True)])
        out[point] = out[point].map(number)
        out = out.drop(columns=["low", "high"])
    for name, label in (("diff", "difference"), ("cace", "cace")):
        if {name, f"{name}_low", f"{name}_high"} <= set(out.columns):
            at = list(out.columns).index(name)
            spans = [change_interval(lo, hi) for lo, hi in zip(out[f"{name}_low"], out[f"{name}_high"], strict=True)]
            out.insert(at + 1, f"{label} {level}", spans)
            out[name] = out[name].map(change)
            out = out.drop(columns=[f"{name}_low", f"{name}_high"]).rename(columns={name: label})
    if "expected" in out.columns:  # check_sample_ratio: the arm size the plan expected
        out["expected"] = out["expected"].map(lambda v: "" if _number(v) is None else f"{v:,.1f}")
    for column in ("share", "expected_share", "of_sent", "of_rows"):
        if column in out.columns:
            out[column] = out[column].map(format_percent)
    if "lift" in out.columns:
        out["lift"] = out["lift"].map(lambda v: "" if _number(v) is None else f"{v:+.1%}")
    for column in ("p_value", "p_adjusted"):
        if column in out.columns:
            out[column] = out[column].map(_p_value)
    if "z" in out.columns:
        out["z"] = out["z"].map(lambda z: "" if _number(z) is None else f"{z:.2f}")
    for column in out.columns:
        if re.fullmatch(r"p\d+(_\d+)?", str(column)):
            out[column] = out[column].map(format_seconds)
    if "control" in out.columns:
        is_control = out["control"].astype(bool)
        out["control"] = is_control.map({True: "control", False: ""})
        blank = [c for c in out.columns if str(c).startswith(("difference", "cace")) or c == "lift"]
        out.loc[is_control, blank] = ""
    return out.astype(object).where(out.notna(), "").astype(str)


def _amount(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:,.2f}"


def _signed(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:+,.2f}"


def _amount_interval(low: Any, high: Any) -> str:
    lo, hi = _number(low), _number(high)
    return "" if lo is None or hi is None else f"{lo:,.2f} to {hi:,.2f}"


def _p_value(value: Any) -> str:
    p = _number(value)
    return "" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def _signed_interval(low: Any, high: Any) -> str:
    lo, hi = _number(low), _number(high)
    return "" if lo is None or hi is None else f"{lo:+,.2f} to {hi:+,.2f}"


def _number(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing (None, NaN, NA, NaT)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def format_percent(value: Any) -> str:
    """``0.9428`` → ``"94.3%"``; missing → ``""``."""
    number = _number(value)
    return "" if number is None else f"{number:.1%}"


def format_interval(low: Any, high: Any) -> str:
    """``(0.91, 0.97)`` → ``"91.0% – 97.0%"``; missing → ``""``."""
    lo, hi = _number(low), _number(high)
    return "" if lo is None or hi is None else f"{lo:.1%} – {hi:.1%}"


def format_pp(value: Any) -> str:
    """A difference of rates in percentage points: ``-0.0333`` → ``"-3.3 pp"``."""
    number = _number(value)
    return "" if number is None else f"{number * 100:+.1f} pp"


def format_pp_interval(low: Any, high: Any) -> str:
    lo, hi = _number(low), _number(high)
    return "" if lo is None or hi is None else f"{lo * 100:+.1f} to {hi * 100:+.1f} pp"


def format_change(value: Any, *, share: bool = True) -> str:
    """A difference: of rates in percentage points (``"+3.8 pp"``), of amounts signed (``"+1.98"``)."""
    return format_pp(value) if share else _signed(value)


def format_change_interval(low: Any, high: Any, *, share: bool = True) -> str:
    """The interval of a difference: ``"+2.1 to +5.5 pp"`` for rates, ``"-0.07 to +1.83"`` for amounts."""
    return format_pp_interval(low, high) if share else _signed_interval(low, high)


def format_seconds(value: Any) -> str:
    """A latency: ``20.04`` → ``"20.0 s"``; missing → ``""``."""
    number = _number(value)
    return "" if number is None else f"{number:,.1f} s"
