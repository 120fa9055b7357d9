"""Rendering the report document: tables as text (percentages, intervals, percentage points), Markdown
and one self-contained HTML page. Every piece of user text is escaped for its format."""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from smskit.summary.tables import DeliveryReport

__all__ = ["display_table", "format_interval", "format_percent", "html_sections", "render_html", "render_markdown"]

_RATE_COLUMNS = ("rate", "low", "high")


def render_markdown(report: DeliveryReport, figures: Mapping[str, tuple[str, Path]], *, title: str) -> str:
    """The report as Markdown; figures are linked by file name (next to the ``.md`` file)."""
    lines = [f"# {_md_text(title)}", ""]
    if report.sources:
        lines += ["Sources: " + ", ".join(_md_text(s) for s in report.sources), ""]
    for heading, table in report.tables.items():
        shown = display_table(table, confidence=report.confidence)
        lines += [f"## {_md_text(heading)}", "", *_md_table(shown), ""]
    if figures:
        lines += ["## Figures", ""]
        for fig_title, path in figures.values():
            lines += [f"![{_md_text(fig_title)}]({path.name})", ""]
    if report.notes:
        lines += ["## Notes", "", *[f"- {_md_text(n)}" for n in report.notes], ""]
    return "\n".join(lines)


def render_html(report: DeliveryReport, figures: Mapping[str, tuple[str, Path]], *, title: str) -> str:
    """The report as one self-contained HTML page: figures embedded as data URIs, all text escaped."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    parts += html_sections(report, figures=figures)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def html_sections(report: DeliveryReport, figures: Mapping[str, tuple[str, Path]] | None = None) -> list[str]:
    """Sources, tables, figures and notes as escaped HTML blocks (no page, no styles)."""
    esc = html.escape
    parts: list[str] = []
    if report.sources:
        parts.append("<p>Sources: " + ", ".join(f"<code>{esc(s)}</code>" for s in report.sources) + "</p>")
    for heading, table in report.tables.items():
        parts += [f"<h2>{esc(heading)}</h2>", _html_table(display_table(table, confidence=report.confidence))]
    if figures:
        parts.append("<h2>Figures</h2>")
        for fig_title, path in figures.values():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{esc(fig_title)}">'
                f"<figcaption>{esc(fig_title)} (<code>{esc(path.name)}</code>)</figcaption></figure>"
            )
    if report.notes:
        parts += ["<h2>Notes</h2>", "<ul>", *[f"<li>{esc(n)}</li>" for n in report.notes], "</ul>"]
    return parts


def display_table(table: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """A copy of a summary table with every cell as text: rates as percentages with their interval,
    differences in percentage points, p-values and seconds rounded."""
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
        spans = [_pp_interval(lo, hi) for lo, hi in zip(out["diff_low"], out["diff_high"], strict=True)]
        out.insert(at + 1, f"difference {level}", spans)
        out["diff"] = out["diff"].map(_pp)
        out = out.drop(columns=["diff_low", "diff_high"]).rename(columns={"diff": "difference"})
    for column in ("share", "of_sent"):
        if column in out.columns:
            out[column] = out[column].map(format_percent)
    if "p_value" in out.columns:
        out["p_value"] = out["p_value"].map(lambda p: "" if _number(p) is None else f"{p:.3f}")
    if "z" in out.columns:
        out["z"] = out["z"].map(lambda z: "" if _number(z) is None else f"{z:.2f}")
    for column in out.columns:
        if re.fullmatch(r"p\d+(_\d+)?", str(column)):
            out[column] = out[column].map(lambda v: "" if _number(v) is None else f"{v:,.1f}")
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
    number = _number(value)
    return "" if number is None else f"{number:.1%}"


def format_interval(low: Any, high: Any) -> str:
    lo, hi = _number(low), _number(high)
    return "" if lo is None or hi is None else f"{lo:.1%} – {hi:.1%}"


def _pp(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number * 100:+.1f} pp"


def _pp_interval(low: Any, high: Any) -> str:
    lo, hi = _number(low), _number(high)
    return "" if lo is None or hi is None else f"{lo * 100:+.1f} to {hi * 100:+.1f} pp"


def _md_text(text: object) -> str:
    """Markdown cell/heading text: HTML-escaped (renderers pass raw HTML) with pipes and line breaks neutralized."""
    s = html.escape(str(text), quote=False).replace("|", "\\|")
    return re.sub(r"[\r\n]+", " ", s)


def _md_table(table: pd.DataFrame) -> list[str]:
    header = [_md_text(c) for c in table.columns]
    numeric = [_looks_numeric(table[c]) for c in table.columns]
    rule = ["---:" if n else "---" for n in numeric]
    rows = [[_md_text(v) for v in row] for row in table.itertuples(index=False)]
    return ["| " + " | ".join(r) + " |" for r in (header, rule, *rows)]


def _html_table(table: pd.DataFrame) -> str:
    esc = html.escape
    numeric = [_looks_numeric(table[c]) for c in table.columns]
    head = "".join(f"<th>{esc(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{esc(str(v))}</td>' if n else f"<td>{esc(str(v))}</td>"
            for v, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in table.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _looks_numeric(column: pd.Series) -> bool:
    text = column.astype(str)
    number = r"[-+]?[\d,.]+(?: ?%| pp| s)?"
    return bool(len(text)) and bool(text.str.fullmatch(rf"{number}(?: (?:–|to) {number})?|").all())


_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:72rem;margin:2rem auto;"
    "padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "figure{margin:1rem 0 2rem}img{max-width:100%;height:auto;border:1px solid #eee}"
    "figcaption{color:#555;font-size:.85rem}code{background:#f5f5f5;padding:0 .2rem}"
)
