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
    return isinstance(frame, pd.DataFrame) and MARK in frame.attrs


def table_html(frame: pd.DataFrame, *, max_rows: int = 60) -> str:
    """A marked table as HTML: :func:`display_table`'s text (percentages, ranges, pp, seconds), escaped,
    the index shown only when it means something (not 0…n-1)."""
    confidence = float(frame.attrs.get(MARK, 0.95))
    shown = display_table(frame.head(max_rows), confidence=confidence)
    plain = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    html = shown.to_html(index=not plain, escape=True, border=0, classes="dataframe smskit-table")
    more = f"<p>… {len(frame) - max_rows:,} more rows</p>" if len(frame) > max_rows else ""
    return html + more


def display_table(table: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """A copy of a summary table with every cell as text: rates as percentages with their interval,
    differences in percentage points, p-values rounded and latency quantiles (``p50`` …) in seconds."""
    out = table.copy()
    level = f"{confidence:.0%} interval"
    if set(_RATE_COLUMNS) <= set(out.columns):
        rate_at = list(out.columns).index("rate")
        out.insert(
            rate_at + 1, level, [format_interval(lo, hi) for lo, hi in zip(out["low"], out["high"], strict=True)]
        )
        out["rate"] = out["rate"].map(format_percent)
        out = out.drop(columns=["low", "high"])
    if {"diff", "diff_low", "diff_high"} <= set(out.columns):
        at = list(out.columns).index("diff")
        spans = [format_pp_interval(lo, hi) for lo, hi in zip(out["diff_low"], out["diff_high"], strict=True)]
        out.insert(at + 1, f"difference {level}", spans)
        out["diff"] = out["diff"].map(format_pp)
        out = out.drop(columns=["diff_low", "diff_high"]).rename(columns={"diff": "difference"})
    for column in ("share", "of_sent", "of_rows"):
        if column in out.columns:
            out[column] = out[column].map(format_percent)
    if "p_value" in out.columns:
        out["p_value"] = out["p_value"].map(lambda p: "" if _number(p) is None else f"{p:.3f}")
    if "z" in out.columns:
        out["z"] = out["z"].map(lambda z: "" if _number(z) is None else f"{z:.2f}")
    for column in out.columns:
        if re.fullmatch(r"p\d+(_\d+)?", str(column)):
            out[column] = out[column].map(format_seconds)
    if "control" in out.columns:
        is_control = out["control"].astype(bool)
        out["control"] = is_control.map({True: "control", False: ""})
        blank = [c for c in out.columns if str(c).startswith("difference")]
        out.loc[is_control, blank] = ""
    return out.astype(object).where(out.notna(), "").astype(str)


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


def format_seconds(value: Any) -> str:
    """A latency: ``20.04`` → ``"20.0 s"``; missing → ``""``."""
    number = _number(value)
    return "" if number is None else f"{number:,.1f} s"
