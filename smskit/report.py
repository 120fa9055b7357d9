"""Delivery report: summary tables over the funnel (or the reports alone), written as figures,
Markdown and a self-contained HTML page.

:func:`summarize` is pure: it builds the per-recipient (or per-message) frame and the summary tables.
:func:`write_report` draws the figures that apply (PNG), and writes ``report.md``, ``report.html``
(figures embedded, every piece of user text HTML-escaped) and ``delivery.csv``.

Two modes:

* **funnel** (send results given): one row per sent recipient from :func:`smskit.delivery_funnel`;
  rates are over sent recipients, and recipients still without a report count as not delivered.
* **reports**: one row per reported message from :func:`smskit.funnel.final_state`; rates are over
  messages that have at least one report. A console export's send-time and template columns, when
  present (:func:`export_send_info`), add latency and the per-template breakdown.

Usage::

    report = summarize(read_status_reports("reports.sqlite"), results=results)
    write_report(report, "report/")
"""

from __future__ import annotations

import base64
import functools
import html
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from smskit import analytics
from smskit.errors import DataValidationError, ReportError

__all__ = [
    "DeliveryReport",
    "export_send_info",
    "message_frame",
    "read_results",
    "render_html",
    "render_markdown",
    "summarize",
    "write_report",
]

Mode = Literal["funnel", "reports"]

#: Columns a ``send_campaign`` results file must have.
RESULT_COLUMNS: tuple[str, ...] = ("to", "state", "sms_msg_id", "sent_at")
_RATE_COLUMNS = ("rate", "low", "high")
_TIME_BINS = (
    ("1s", 1),
    ("5s", 5),
    ("10s", 10),
    ("30s", 30),
    ("1min", 60),
    ("5min", 300),
    ("15min", 900),
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("1D", 24 * 3600),
)
_MAX_RATE_FIGURES = 3
_UTC = pd.DatetimeTZDtype("ns", "UTC")


@dataclass(frozen=True)
class DeliveryReport:
    """What a report says: the row-level frame, titled summary tables and caveats.

    ``tables`` keeps numbers as numbers (rates in 0–1); formatting happens when rendering.
    ``figures`` lists the figures that apply: name → (title, drawing options).
    """

    mode: Mode
    frame: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    figures: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    confidence: float = 0.95

    def _repr_html_(self) -> str:
        """The summary tables and notes (escaped), as a fragment for a notebook; write_report adds figures."""
        return "\n".join(_html_sections(self))


# --- inputs -------------------------------------------------------------------------------------------


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results CSV as written by ``smskit send --out`` (the index in the first column).

    Every column stays ``str`` (numbers keep their leading zeros); ``sent_at`` becomes UTC.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"results file {path} does not exist", advice="pass the file written by smskit send --out")
    try:
        frame = pd.read_csv(path, dtype=str, index_col=0)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(
            f"cannot read results file {path}: {exc}", advice="pass a CSV from smskit send --out"
        ) from exc
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"results file {path} lacks column(s) {missing}; it has {list(frame.columns)}",
            advice="pass the CSV written by smskit send --out (or send_campaign(...).to_csv(path))",
        )
    try:
        frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataValidationError(
            f"results file {path} has unreadable sent_at values: {exc}",
            advice="sent_at must be ISO 8601 timestamps, as smskit send --out writes them",
        ) from exc
    return frame


def export_send_info(
    path: str | Path,
    *,
    id_column: str = "SMS ID",
    sent_at_column: str = "Send Time (UTC)",
    template_column: str = "Template ID",
) -> pd.DataFrame | None:
    """Send time and template per message from a console export (CSV/XLSX), when it has them.

    Returns a frame indexed by ``sms_msg_id`` with ``sent_at`` (UTC) and/or ``template_id``, or
    ``None`` when the file is not a table or lacks the id column or both info columns.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xls", ".xlsm"):
        return None
    table = pd.read_csv(path, dtype=str) if suffix == ".csv" else pd.read_excel(path, dtype=str)
    wanted = {sent_at_column: "sent_at", template_column: "template_id"}
    present = {c: name for c, name in wanted.items() if c in table.columns}
    if id_column not in table.columns or not present:
        return None
    info = table[[id_column, *present]].rename(columns={id_column: "sms_msg_id", **present})
    info = info.dropna(subset=["sms_msg_id"]).drop_duplicates("sms_msg_id").set_index("sms_msg_id")
    if "sent_at" in info.columns:
        info["sent_at"] = pd.to_datetime(info["sent_at"], utc=True, errors="coerce", format="mixed")
    return info


def message_frame(reports: pd.DataFrame, *, send_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per reported message: :func:`smskit.funnel.final_state` plus, from ``send_info``
    (indexed by ``sms_msg_id``), ``sent_at``/``template_id`` and then ``latency_s``."""
    from smskit.funnel import final_state

    frame = final_state(reports).reset_index()
    if send_info is not None and len(send_info):
        extra = send_info.reindex(frame["sms_msg_id"]).reset_index(drop=True)
        for column in extra.columns:
            frame[column] = extra[column].to_numpy()
    if "sent_at" in frame.columns:
        sent_at = pd.to_datetime(frame["sent_at"], utc=True)
        frame["latency_s"] = (frame["reported_at"].astype(_UTC) - sent_at).dt.total_seconds().astype("float64")
    return frame


# --- the summary --------------------------------------------------------------------------------------


def summarize(
    reports: pd.DataFrame,
    *,
    results: pd.DataFrame | None = None,
    send_info: pd.DataFrame | None = None,
    by: Sequence[str] | None = None,
    variant: str = "variant",
    control: str | None = None,
    confidence: float = 0.95,
    sources: Sequence[str] = (),
) -> DeliveryReport:
    """Build the delivery report's frame, tables and figure list (pure; nothing is written).

    Parameters
    ----------
    reports : a frame from :func:`smskit.read_status_reports`.
    results : ``send_campaign`` results (optionally joined with recipient columns such as a variant);
        gives the funnel mode. Without it the report covers the reported messages only.
    send_info : per-message ``sent_at``/``template_id`` for the reports mode (:func:`export_send_info`).
    by : columns to break the delivery rate down by; default ``template_id`` and ``country`` (from
        the numbers) where available. Unknown columns are left out with a note.
    variant, control : when the frame has the ``variant`` column, the arms are compared
        (:func:`smskit.experiments.compare_arms`) against ``control``.
    sources : names of the report sources, listed in the overview.
    """
    from smskit.funnel import delivery_funnel

    notes: list[str] = []
    if results is not None:
        mode: Mode = "funnel"
        frame = delivery_funnel(results, reports)  # keeps every column of results
    else:
        mode = "reports"
        frame = message_frame(reports, send_info=send_info)
        notes.append(
            "Without send results, rates are over messages that have at least one status report; "
            "messages never reported are not counted (pass the send results for the full funnel)."
        )
    tables: dict[str, pd.DataFrame] = {"Overview": _overview(frame, reports, mode=mode, confidence=confidence)}
    figures: dict[str, tuple[str, dict[str, Any]]] = {}
    if mode == "funnel":
        tables["Funnel"] = analytics.funnel_counts(frame)
        figures["funnel"] = ("Funnel: sent → accepted → delivered", {})
    if variant in frame.columns and frame[variant].notna().any():
        table, caveats = _compare(frame, variant=variant, control=control, confidence=confidence)
        tables[f"A/B comparison ({variant})"] = table
        notes.extend(caveats)
        figures[f"delivery_rate_by_{_slug(variant)}"] = (f"Delivery rate by {variant}", {"by": variant, "zoom": True})
    keys = _group_keys(frame, by, notes)
    for key in keys:
        table = analytics.delivery_rate(frame, by=key, confidence=confidence)
        tables[f"Delivery by {key}"] = table.assign(**{key: table[key].astype("string").fillna("(unknown)")})
        if len(table) >= 2 and sum(name.startswith("delivery_rate_by_") for name in figures) < _MAX_RATE_FIGURES:
            figures[f"delivery_rate_by_{_slug(key)}"] = (f"Delivery rate by {key}", {"by": key, "sort": len(table) > 6})
    tables["Final status"] = _status_table(frame)
    failures = analytics.failure_breakdown(frame, top=10)
    if len(failures):
        tables["Failure reasons (top 10)"] = failures
        figures["failure_reasons"] = ("Why messages were not delivered", {})
    over_time = _time_options(frame)
    if over_time is not None:
        figures["delivery_over_time"] = ("Delivery rate over time", over_time)
    latency = frame["latency_s"] if "latency_s" in frame.columns else pd.Series(dtype=float)
    delivered_latency = latency[frame["delivered"].astype(bool)] if len(latency) else latency
    if delivered_latency.notna().any() and float(delivered_latency.max()) >= 1.0:
        tables["Time to delivery (seconds)"] = analytics.latency_quantiles(frame)
        figures["latency"] = ("Time from send to delivery report", {})
    elif "latency_s" in frame.columns:
        notes.append(
            "Time to delivery is not shown: no delivery report is at least a second after its send time "
            "(report times have one-second resolution)."
        )
    else:
        notes.append("Time to delivery is not shown: the sources carry no send times.")
    if mode == "reports":  # the rate tables' denominators are reported messages, not sends
        tables = {
            k: t.rename(columns={"sent": "messages"}) if k.startswith("Delivery by") else t for k, t in tables.items()
        }
    return DeliveryReport(
        mode=mode,
        frame=frame,
        tables=tables,
        notes=tuple(dict.fromkeys(notes)),
        figures=figures,
        sources=tuple(str(s) for s in sources),
        confidence=confidence,
    )


def _overview(frame: pd.DataFrame, reports: pd.DataFrame, *, mode: Mode, confidence: float) -> pd.DataFrame:
    overall = analytics.delivery_rate(frame, confidence=confidence).iloc[0]
    delivered = frame["delivered"].fillna(False).astype(bool)
    sent = analytics.sent_rows(frame)
    final = frame["final_status"].notna() & (frame["category"].astype("string") != "pending")
    rows: list[tuple[str, object]] = []
    if mode == "funnel":
        state = frame["state"].astype("string")
        rows += [
            ("recipients sent to", int(sent.sum())),
            ("accepted by the platform", int((state == "accepted").sum())),
            ("rejected or unknown", int(state.isin(["rejected", "unknown"]).sum())),
        ]
    else:
        rows.append(("messages reported", len(frame)))
    rows += [
        ("status reports read", len(reports)),
        ("delivered", int((delivered & sent).sum())),
        ("failed (final report)", int((final & ~delivered & sent).sum())),
        ("no final report yet", int((~final & sent).sum())),
        ("delivery rate", _percent(overall["rate"])),
        (f"{confidence:.0%} interval (Wilson)", _interval(overall["low"], overall["high"])),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})


def _compare(
    frame: pd.DataFrame, *, variant: str, control: str | None, confidence: float
) -> tuple[pd.DataFrame, list[str]]:
    from smskit.experiments import ExperimentWarning, compare_arms

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExperimentWarning)
        table = compare_arms(frame, variant=variant, control=control, confidence=confidence)
    caveats = [str(w.message) for w in caught if issubclass(w.category, ExperimentWarning)]
    if "template_id" in frame.columns:
        arm = frame[variant].astype("string")
        templates = (
            frame["template_id"].astype("string").groupby(arm, observed=True).agg(lambda s: ", ".join(s.unique()))
        )
        table.insert(1, "template_id", table["variant"].map(templates))
    return table, [f"A/B comparison: {c}" for c in caveats]


def _group_keys(frame: pd.DataFrame, by: Sequence[str] | None, notes: list[str]) -> list[str]:
    has_numbers = "to" in frame.columns and frame["to"].notna().any()
    if by is None:
        wanted = [k for k in ("template_id",) if k in frame.columns and frame[k].notna().any()]
        return wanted + (["country"] if has_numbers else [])
    keys: list[str] = []
    for key in dict.fromkeys(by):
        derivable = (key in ("country", "carrier") and has_numbers) or (key == "hour" and "sent_at" in frame.columns)
        if key in frame.columns or derivable:
            keys.append(key)
        else:
            notes.append(f"No breakdown by {key!r}: the data has no such column.")
    return keys


def _status_table(frame: pd.DataFrame) -> pd.DataFrame:
    status = frame["final_status"].astype("string").fillna("(no report)")
    category = frame["category"].astype("string").fillna("unknown")
    table = (
        pd.DataFrame({"final_status": status, "category": category})
        .value_counts(sort=False)
        .rename("count")
        .reset_index()
        .sort_values(["count", "final_status"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    table["share"] = table["count"] / max(len(frame), 1)
    return table


def _time_options(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Options for the over-time figure when the data spans at least three bins of ten messages."""
    on = "sent_at" if "sent_at" in frame.columns and frame["sent_at"].notna().any() else "reported_at"
    times = pd.to_datetime(frame[on], utc=True).dropna()
    if len(times) < 30:
        return None
    span = (times.max() - times.min()).total_seconds()
    for freq, seconds in _TIME_BINS:
        bins = span / seconds + 1
        if bins <= min(48.0, len(times) / 10):
            return {"freq": freq, "on": on} if bins >= 3 else None
    return None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", str(name)).strip("_").lower() or "group"


# --- writing ------------------------------------------------------------------------------------------


def write_report(
    report: DeliveryReport,
    directory: str | Path,
    *,
    title: str = "Delivery report",
    dpi: int = 100,
) -> dict[str, Path]:
    """Write the figures (PNG), ``report.md``, ``report.html`` and ``delivery.csv`` into ``directory``.

    Returns name → path: one entry per figure, then ``markdown``, ``html`` and ``data``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = draw_figures(report, out, dpi=dpi)
    figures = {name: (report.figures[name][0], path) for name, path in paths.items()}
    markdown = out / "report.md"
    markdown.write_text(render_markdown(report, figures, title=title), encoding="utf-8")
    page = out / "report.html"
    page.write_text(render_html(report, figures, title=title), encoding="utf-8")
    data = out / "delivery.csv"
    report.frame.to_csv(data, index=report.mode == "funnel")
    return {**paths, "markdown": markdown, "html": page, "data": data}


def draw_figures(report: DeliveryReport, directory: Path, *, dpi: int = 100) -> dict[str, Path]:
    """Draw each of ``report.figures`` into ``directory`` as PNG (no pyplot state: thread-safe)."""
    from smskit import plots

    frame = report.frame
    level = report.confidence
    drawers = {
        "funnel": lambda ax, o: plots.funnel(frame, ax=ax),
        "failure_reasons": lambda ax, o: plots.failure_reasons(frame, ax=ax),
        "delivery_over_time": lambda ax, o: plots.delivery_over_time(frame, confidence=level, ax=ax, **o),
        "latency": lambda ax, o: plots.latency(frame, ax=ax),
    }
    paths: dict[str, Path] = {}
    for name, (_, options) in report.figures.items():
        if name.startswith("delivery_rate_by_"):
            groups = frame[options["by"]].nunique(dropna=False) if options["by"] in frame.columns else 8
            size = (8.0, min(max(2.5, 0.45 * min(groups, 25) + 1.5), 12.0))
            draw = lambda ax, o: plots.delivery_rate(frame, confidence=level, ax=ax, **o)  # noqa: E731
        else:
            draw, size = drawers[name], plots.figure_size(name)
        target = directory / f"{name}.png"
        paths[name] = plots.save_png(functools.partial(draw, o=options), target, size=size, dpi=dpi)
    return paths


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
    parts += _html_sections(report, figures=figures)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_sections(report: DeliveryReport, figures: Mapping[str, tuple[str, Path]] | None = None) -> list[str]:
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
        out.insert(rate_at + 1, level, [_interval(lo, hi) for lo, hi in zip(out["low"], out["high"], strict=True)])
        out["rate"] = out["rate"].map(_percent)
        out = out.drop(columns=["low", "high"])
    if {"diff", "diff_low", "diff_high"} <= set(out.columns):
        at = list(out.columns).index("diff")
        spans = [_pp_interval(lo, hi) for lo, hi in zip(out["diff_low"], out["diff_high"], strict=True)]
        out.insert(at + 1, f"difference {level}", spans)
        out["diff"] = out["diff"].map(_pp)
        out = out.drop(columns=["diff_low", "diff_high"]).rename(columns={"diff": "difference"})
    for column in ("share", "of_sent"):
        if column in out.columns:
            out[column] = out[column].map(_percent)
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


# --- formatting helpers -------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing (None, NaN, NA, NaT)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _percent(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.1%}"


def _interval(low: Any, high: Any) -> str:
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
