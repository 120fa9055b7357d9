"""Pure view helpers behind the widgets: parameter-column guesses, previews, summaries, counts and HTML.

Every decision the widgets make lives here, so tests reach it without a browser. Every piece of
user-supplied text shown as HTML goes through ``html.escape``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smskit import templates as tpl
from smskit.analytics import headline_counts as delivery_counts
from smskit.analytics import time_bin
from smskit.campaign.states import LEFT_OUT_STATES
from smskit.plots import png_bytes as figure_png
from smskit.templates.encoding import GSM7_CHARS

__all__ = [
    "PARAM_HINTS",
    "Preview",
    "already_sent",
    "confirmation_html",
    "counts_html",
    "default_param_columns",
    "default_template",
    "delivery_counts",
    "error_html",
    "figure_png",
    "frame_html",
    "highlight_ucs2",
    "note_html",
    "preview_html",
    "preview_message",
    "preview_row",
    "problem_rows",
    "rates_html",
    "row_labels",
    "send_summary",
    "state_counts",
    "template_label",
    "time_bin",
]

#: Column names tried for each variable family, best first (after the variable's own name).
PARAM_HINTS: dict[str, tuple[str, ...]] = {
    "NUM": ("code", "otp", "pin", "account", "number", "amount"),
    "TXT": ("name", "first_name", "firstname", "customer", "text"),
    "DATE": ("date", "day", "delivery_date"),
    "TIME": ("time", "slot", "delivery_time"),
    "DATETIME": ("datetime", "date", "time"),
    "MONEY": ("amount", "money", "price", "total"),
    "PHONE": ("tail", "last4", "phone_tail", "account"),
    "CHARDIGIT": ("code", "reference", "ref"),
    "TEXT": ("name", "text"),
    "NUMBERED": ("code", "otp", "pin", "value"),
}


def _family(variable: str) -> str:
    if variable.isdigit():
        return "NUMBERED"
    return variable.split("_", 1)[0] if variable.startswith(("NUM_", "TXT_")) else variable


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def default_param_columns(
    variables: Sequence[str], columns: Sequence[str], *, exclude: Sequence[str] = ()
) -> list[str | None]:
    """A column for each template variable, guessed from the names (``None`` where nothing fits).

    Tries the variable's own name (``${DATE}`` → ``date``), then :data:`PARAM_HINTS` for its family
    (``${TXT_20}`` → ``name``, ``${NUM_6}`` → ``code``), exact names before names containing the hint.
    A column is used once, except that a repeated variable reuses its column; ``exclude`` (the phone
    column) is never proposed.

    >>> default_param_columns(["TXT_20", "DATE"], ["phone", "name", "date"])
    ['name', 'date']
    """
    skip = {_norm(c) for c in exclude}
    normed = [(c, _norm(c)) for c in columns if _norm(c) not in skip]
    used: set[str] = set()
    chosen: dict[str, str | None] = {}
    out: list[str | None] = []
    for var in variables:
        if var in chosen:
            out.append(chosen[var])
            continue
        hints = (_norm(var), *PARAM_HINTS.get(_family(var), ()))
        pick: str | None = None
        for exact in (True, False):
            for hint in hints:
                for col, n in normed:
                    if col in used:
                        continue
                    if n == hint if exact else hint in n.split("_"):
                        pick = col
                        break
                if pick is not None:
                    break
            if pick is not None:
                break
        if pick is not None:
            used.add(pick)
        chosen[var] = pick
        out.append(pick)
    return out


def template_label(template: tpl.Template, *, width: int = 60) -> str:
    """Dropdown label: kind, region and the start of the content, e.g. ``notification · Hi ${TXT_20}, …``."""
    text = " ".join(template.content.split())
    short = text if len(text) <= width else text[: width - 1] + "…"
    region = "" if template.region == "international" else f" ({template.region})"
    return f"{template.kind}{region} · {short}"


def row_labels(recipients: pd.DataFrame, *, to: str, extra: str | None = None, limit: int = 200) -> list[str]:
    """Labels for the preview's row picker: ``"1 · +6581441067 · Hannah Ng"`` for the first ``limit`` rows."""
    head = recipients.head(limit)
    labels = pd.Series(np.arange(1, len(head) + 1).astype(str), index=head.index)
    if to in head.columns:
        labels = labels + " · " + head[to].astype(str)
    if extra is not None and extra in head.columns and extra != to:
        labels = labels + " · " + head[extra].astype(str)
    return labels.tolist()


@dataclass(frozen=True, slots=True)
class Preview:
    """What one recipient receives: the text, its encoding, length in units, segments and problems."""

    text: str
    encoding: str
    length: int
    segments: int
    ucs2: tuple[str, ...]
    problems: tuple[str, ...]


def preview_message(template: tpl.Template, params: Sequence[str], *, signature: str | None = None) -> Preview:
    """Render ``params`` into ``template`` and measure it; problems come from ``validate_params``."""
    text = tpl.render(template, list(params), signature=signature)
    return Preview(
        text=text,
        encoding=tpl.encoding_of(text),
        length=tpl.text_length(text),
        segments=tpl.segments(text),
        ucs2=tuple(tpl.ucs2_chars(text)),
        problems=tuple(tpl.validate_params(template, list(params), signature=signature)),
    )


def preview_row(
    recipients: pd.DataFrame,
    position: int,
    template: tpl.Template,
    columns: Sequence[str | None],
    *,
    signature: str | None = None,
) -> Preview:
    """:func:`preview_message` for the row at ``position`` with variable ``i`` taken from ``columns[i]``.

    An unmapped variable (``None``) renders as ``${NAME}`` and is reported as a problem.
    """
    if len(columns) != len(template.variables):
        raise ValueError(f"{len(template.variables)} variable(s) need one column each, got {len(columns)}")
    row = recipients.iloc[position]
    params = [str(row[c]) if c is not None else f"${{{v}}}" for c, v in zip(columns, template.variables, strict=True)]
    preview = preview_message(template, params, signature=signature)
    missing = tuple(
        f"variable {i} ${{{v}}}: choose a column"
        for i, (c, v) in enumerate(zip(columns, template.variables, strict=True), start=1)
        if c is None
    )
    if not missing:
        return preview
    kept = tuple(p for p in preview.problems if not any(p.startswith(m.split(":")[0] + ":") for m in missing))
    return Preview(preview.text, preview.encoding, preview.length, preview.segments, preview.ucs2, missing + kept)


_MARK = '<mark title="forces UCS-2" style="background:#ffd166;border-radius:2px;padding:0 1px">{}</mark>'


def highlight_ucs2(text: str) -> str:
    """``text`` escaped for HTML, each character outside GSM-7 wrapped in ``<mark>``, newlines as ``<br>``."""
    parts = [
        "<br>" if c == "\n" else (html.escape(c) if c in GSM7_CHARS else _MARK.format(html.escape(c))) for c in text
    ]
    return "".join(parts)


def preview_html(preview: Preview) -> str:
    """The preview as a message bubble with encoding, length, segments, UCS-2 characters and problems."""
    unit = "chars" if preview.encoding == "GSM-7" else "UTF-16 units"
    per = "160 per segment, 153 when split" if preview.encoding == "GSM-7" else "70 per segment, 67 when split"
    seg = f"{preview.segments} segment{'s' if preview.segments != 1 else ''}"
    badge_color = "#0072B2" if preview.encoding == "GSM-7" else "#D55E00"
    out = [
        '<div class="smskit-preview">',
        '<div class="smskit-bubble" style="background:#eef3f8;border:1px solid #c7d3df;border-radius:12px;'
        'padding:10px 14px;max-width:520px;font-size:14px;line-height:1.45;white-space:normal">',
        highlight_ucs2(preview.text),
        "</div>",
        '<div class="smskit-meta" style="margin-top:6px;font-size:13px">',
        f'<span class="smskit-encoding" style="background:{badge_color};color:white;border-radius:4px;'
        f'padding:1px 6px">{preview.encoding}</span> ',
        f'<span class="smskit-length">{preview.length} {unit}</span> · ',
        f'<b class="smskit-segments">{seg}</b> <span style="color:#666">({per})</span>',
        "</div>",
    ]
    if preview.ucs2:
        chars = " ".join(_MARK.format(html.escape(c)) for c in preview.ucs2)
        out.append(
            f'<div class="smskit-ucs2" style="margin-top:4px;font-size:13px">Characters that force UCS-2: {chars}'
            " — replace them to fit more text in each segment.</div>"
        )
    if preview.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in preview.problems)
        out.append(
            '<div class="smskit-problems" style="margin-top:4px;color:#b00020;font-size:13px">'
            f"This row would not be sent:<ul style='margin:2px 0'>{items}</ul></div>"
        )
    out.append("</div>")
    return "".join(out)


def already_sent(plan: Any, history: pd.DataFrame | None) -> pd.Series:
    """Mask of ``plan``'s ready rows that a ledger already settles, which ``send_campaign`` does not send
    again: ``history`` is ``Ledger.history(campaign_id)``, or None for no ledger yet (see
    :func:`smskit.campaign.send.settled_rows`)."""
    from smskit.campaign.send import settled_rows

    return settled_rows(plan, history)


def send_summary(plan: Any, *, price_per_segment: float | None = None, sent: pd.Series | None = None) -> dict[str, Any]:
    """What confirming would send: recipients left to send, rows already sent (``sent``: the mask from
    :func:`already_sent`), rows left out, API requests, segments and estimated cost of what is left.

    Without ``sent`` the counts are ``plan.summary``'s; ``cost`` is ``segments * price_per_segment``,
    or ``None`` when no price is given.
    """
    s = plan.summary
    segs, requests, done = int(s["segments"]), int(s["requests"]), 0
    if sent is not None and sent.any():
        rec = plan.recipients
        left = rec["state"].eq("ready") & ~sent
        done = int(sent.sum())
        segs = int(rec.loc[left, "segments"].fillna(0).sum())
        requests = int(rec.loc[left, "request_no"].nunique())
    return {
        "recipients": int(s["ready"]) - done,
        "already_sent": done,
        "left_out": int(sum(s[state] for state in LEFT_OUT_STATES)),
        "requests": requests,
        "segments": segs,
        "cost": None if price_per_segment is None else round(segs * float(price_per_segment), 6),
    }


def confirmation_html(summary: Mapping[str, Any], *, template_id: str = "", currency: str = "") -> str:
    """The confirmation box shown before sending; it says what the ledger already holds, so a plan that
    was sent never reads as "about to send … nothing has been sent yet" again."""
    n = summary["recipients"]
    done = int(summary.get("already_sent", 0))
    what = f" with template <code>{html.escape(template_id)}</code>" if template_id else ""
    if n == 0 and done:
        return (
            '<div class="smskit-confirm smskit-nothing-left" style="border:2px solid #009E73;border-radius:8px;'
            'padding:8px 12px;background:#f0fff7">'
            f"<b>0 left to send, {done:,} already sent</b>{what}: the ledger holds every message of this plan, "
            "so confirming sends nothing. The results are in <code>composer.results</code>.</div>"
        )
    rows = [
        ("Recipients", f"{n:,}"),
        ("Already sent (in the ledger, not sent again)", f"{done:,}"),
        ("Left out (invalid or opted out)", f"{summary['left_out']:,}"),
        ("API requests", f"{summary['requests']:,}"),
        ("Segments (billed units)", f"{summary['segments']:,}"),
    ]
    if not done:
        del rows[1]
    if summary.get("cost") is not None:
        rows.append(("Estimated cost", f"{summary['cost']:,.2f} {currency}".strip()))
    table = "".join(
        f"<tr><th style='text-align:left;padding-right:16px'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    plural = "s" if n != 1 else ""
    if done:
        head = f"<b>{n:,} left to send{what}, {done:,} already sent.</b> Only the {n:,} are sent."
    else:
        head = f"<b>About to send {n:,} message{plural}{what}.</b> Nothing has been sent yet."
    return (
        '<div class="smskit-confirm" style="border:2px solid #D55E00;border-radius:8px;padding:8px 12px;'
        f"background:#fff7f0\">{head}<table style='margin-top:4px'>{table}</table></div>"
    )


def default_template(
    templates: Mapping[str, tpl.Template], columns: Sequence[str], *, exclude: Sequence[str] = ()
) -> str | None:
    """The template a composer starts with: never a verification code for a list. The first marketing or
    notification template whose variables all find a column (:func:`default_param_columns`), else the
    first marketing or notification template, else none (the user picks)."""
    listable = [tid for tid, t in templates.items() if t.kind in ("marketing", "notification")]
    for tid in listable:
        if None not in default_param_columns(templates[tid].variables, columns, exclude=exclude):
            return tid
    return listable[0] if listable else None


def frame_html(frame: pd.DataFrame, *, max_rows: int = 20, caption: str = "") -> str:
    """A frame as an escaped HTML table of at most ``max_rows`` rows (with a "… more" line)."""
    head = frame.head(max_rows).astype(object)
    head = head.where(head.notna(), "")
    table = head.to_html(escape=True, max_cols=12, border=0, justify="left")
    more = f"<div style='color:#666'>… {len(frame) - max_rows:,} more rows</div>" if len(frame) > max_rows else ""
    cap = f"<div><b>{html.escape(caption)}</b></div>" if caption else ""
    return f'<div class="smskit-table" style="max-height:320px;overflow:auto">{cap}{table}{more}</div>'


def problem_rows(problems: pd.DataFrame, recipients: pd.DataFrame, *, columns: Sequence[str]) -> pd.DataFrame:
    """The plan's problem rows next to the recipients' own ``columns`` (as typed), so a reader can find them."""
    keep = [c for c in dict.fromkeys(columns) if c in recipients.columns]
    return recipients.loc[problems.index, keep].join(problems[["state", "problem"]])


def state_counts(results: pd.DataFrame) -> pd.Series:
    """Rows per result state (every category, zeros included) from a ``send_campaign`` frame."""
    return results["state"].value_counts(sort=False)


def counts_html(counts: pd.Series) -> str:
    """Counts as a row of big-number tiles."""
    tiles = "".join(
        '<div style="display:inline-block;min-width:78px;margin:0 6px 6px 0;padding:6px 8px;'
        'border:1px solid #ddd;border-radius:6px;text-align:center">'
        f'<div class="smskit-count" style="font-size:20px;font-weight:600">{int(v):,}</div>'
        f'<div style="font-size:12px;color:#555">{html.escape(str(k))}</div></div>'
        for k, v in counts.items()
    )
    return f'<div class="smskit-counts">{tiles}</div>'


def rates_html(funnel: pd.DataFrame, *, by: str = "template_id") -> str:
    """The funnel's delivery rate per ``by`` (overall when the column is missing) as a formatted table:
    percentages and Wilson intervals as ranges (:func:`smskit.display.table_html`)."""
    from smskit.analytics import delivery_rate
    from smskit.display import table_html

    table = delivery_rate(funnel, by=by) if by in funnel.columns else delivery_rate(funnel)
    what = f"by {by}" if by in funnel.columns else "overall"
    style = (
        "<style>.smskit-rates table{border-collapse:collapse;margin:4px 0 8px}"
        ".smskit-rates th,.smskit-rates td{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}"
        ".smskit-rates th{font-weight:600}</style>"
    )
    return (
        f'<div class="smskit-rates">{style}<div style="font-size:13px;color:#555">Delivery rate '
        f"{html.escape(what)} (of recipients sent to; 95 % Wilson interval)</div>{table_html(table)}</div>"
    )


def error_html(exc: BaseException) -> str:
    advice = getattr(exc, "advice", None)
    text = str(exc) + (f" — {advice}" if advice and str(advice) not in str(exc) else "")
    name = html.escape(type(exc).__name__)
    return f'<div class="smskit-error" style="color:#b00020"><b>{name}:</b> {html.escape(text)}</div>'


def note_html(text: str, *, color: str = "#333") -> str:
    return f'<div style="color:{color}">{html.escape(text)}</div>'
