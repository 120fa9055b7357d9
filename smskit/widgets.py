"""Notebook front-ends: :class:`Composer` (template → preview → dry run → confirm → send) and
:class:`Dashboard` (live delivery counts and figures while reports arrive).

The widgets only wire pure functions together; those functions live here too (``default_param_columns``,
``preview_message``, ``preview_html``, ``send_summary``, ``delivery_counts`` …) so tests reach every
decision without a browser. Every piece of user-supplied text shown as HTML goes through ``html.escape``.

Usage::

    from smskit.widgets import Composer, Dashboard
    composer = Composer(recipients, client=emu.client(), templates=templates)
    composer                                  # pick, preview, dry run, confirm, send
    Dashboard(receiver, results=lambda: composer.results).start(interval=2)
"""

from __future__ import annotations

import html
import io
import re
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smskit import templates as tpl
from smskit.errors import SmsKitError

try:
    import ipywidgets as W
except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency
    raise ImportError("smskit.widgets needs ipywidgets 8: pip install 'ipywidgets>=8'") from exc

__all__ = [
    "Composer",
    "Dashboard",
    "Preview",
    "confirmation_html",
    "default_param_columns",
    "delivery_counts",
    "frame_html",
    "highlight_ucs2",
    "preview_html",
    "preview_message",
    "preview_row",
    "problem_rows",
    "row_labels",
    "send_summary",
    "template_label",
    "time_bin",
]

# ---------------------------------------------------------------------------------------------- pure parts

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
        "<br>" if c == "\n" else (html.escape(c) if c in tpl._GSM7_SET else _MARK.format(html.escape(c))) for c in text
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


def send_summary(plan: Any, *, price_per_segment: float | None = None) -> dict[str, Any]:
    """What confirming would send: recipients, rows left out, API requests, segments and estimated cost.

    Counts come from ``plan.summary``; ``cost`` is ``segments * price_per_segment`` or ``None`` when
    no price is given.
    """
    s = plan.summary
    segs = int(s["segments"])
    return {
        "recipients": int(s["ready"]),
        "left_out": int(s["invalid"] + s["suppressed"]),
        "requests": int(s["requests"]),
        "segments": segs,
        "cost": None if price_per_segment is None else round(segs * float(price_per_segment), 6),
    }


def confirmation_html(summary: Mapping[str, Any], *, template_id: str = "", currency: str = "") -> str:
    """The confirmation box shown before anything is sent."""
    n = summary["recipients"]
    rows = [
        ("Recipients", f"{n:,}"),
        ("Left out (invalid or opted out)", f"{summary['left_out']:,}"),
        ("API requests", f"{summary['requests']:,}"),
        ("Segments (billed units)", f"{summary['segments']:,}"),
    ]
    if summary.get("cost") is not None:
        rows.append(("Estimated cost", f"{summary['cost']:,.2f} {currency}".strip()))
    table = "".join(
        f"<tr><th style='text-align:left;padding-right:16px'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    what = f" with template <code>{html.escape(template_id)}</code>" if template_id else ""
    return (
        '<div class="smskit-confirm" style="border:2px solid #D55E00;border-radius:8px;padding:8px 12px;'
        'background:#fff7f0">'
        f"<b>About to send {n:,} message{'s' if n != 1 else ''}{what}.</b> Nothing has been sent yet."
        f"<table style='margin-top:4px'>{table}</table></div>"
    )


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


def delivery_counts(frame: pd.DataFrame) -> pd.Series:
    """Headline counts for the dashboard.

    A funnel (``delivery_funnel`` output, with ``state``): sent, accepted, delivered, failed (a final
    report that is not delivered), awaiting report, rejected, unknown. A reports frame: reports,
    messages, delivered, not delivered (by message: delivered when any of its reports says so).
    """
    if "state" in frame.columns:
        state = frame["state"].astype("string")
        sent = ~state.isin(["invalid", "suppressed", "unsent"]).fillna(False)
        accepted = (state == "accepted").fillna(False)
        delivered = frame["delivered"].fillna(False).astype(bool) & accepted
        reported = frame["reported_at"].notna() if "reported_at" in frame.columns else delivered
        values = {
            "sent": sent.sum(),
            "accepted": accepted.sum(),
            "delivered": delivered.sum(),
            "failed": (accepted & reported & ~delivered).sum(),
            "awaiting report": (accepted & ~reported).sum(),
            "rejected": (state == "rejected").fillna(False).sum(),
            "unknown": (state == "unknown").fillna(False).sum(),
        }
    else:
        by_msg = frame["delivered"].fillna(False).astype(bool).groupby(frame["sms_msg_id"], observed=True).any()
        values = {
            "reports": len(frame),
            "messages": len(by_msg),
            "delivered": by_msg.sum(),
            "not delivered": (~by_msg).sum(),
        }
    return pd.Series({k: int(v) for k, v in values.items()}, dtype="int64")


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


_BINS = ("1s", "5s", "10s", "30s", "1min", "5min", "15min", "1h", "6h", "1D")


def time_bin(times: pd.Series, *, target: int = 30) -> str:
    """The smallest of 1 s … 1 day that covers the span of ``times`` in at most ``target`` bins."""
    t = pd.to_datetime(times, utc=True).dropna()
    span = (t.max() - t.min()).total_seconds() if len(t) else 0.0
    for freq in _BINS:
        if span / pd.Timedelta(freq).total_seconds() <= target:
            return freq
    return _BINS[-1]


def figure_png(draw: Callable[[Any], Any], *, size: tuple[float, float] = (7, 3.2), dpi: int = 90) -> bytes:
    """PNG bytes of one figure drawn by ``draw(ax)``; uses no pyplot state, so it is safe from threads."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _error_html(exc: BaseException) -> str:
    advice = getattr(exc, "advice", None)
    text = str(exc) + (f" — {advice}" if advice and str(advice) not in str(exc) else "")
    name = html.escape(type(exc).__name__)
    return f'<div class="smskit-error" style="color:#b00020"><b>{name}:</b> {html.escape(text)}</div>'


def _note_html(text: str, *, color: str = "#333") -> str:
    return f'<div style="color:{color}">{html.escape(text)}</div>'


# ---------------------------------------------------------------------------------------------- Composer

_NONE = "— choose a column —"
_LABEL = {"description_width": "120px"}


def _section(title: str, hint: str) -> W.HTML:
    return W.HTML(
        f'<div style="margin-top:10px;border-bottom:1px solid #ccc"><b style="font-size:15px">{html.escape(title)}</b>'
        f' <span style="color:#666">{html.escape(hint)}</span></div>'
    )


class Composer:
    """Compose, preview, dry-run, confirm and send a campaign from a recipients frame.

    Parameters
    ----------
    recipients
        One row per recipient, every column ``str`` (``smskit.read_recipients``); never modified.
    client
        The :class:`smskit.Client` that sends.
    templates
        A catalog (``smskit.load_templates``) or a path to one.
    to
        The phone-number column (picked in the widget too).
    price_per_segment, currency
        When given, the confirmation shows an estimated cost; otherwise segments only.
    sender, signature, default_region, opt_out, skip_invalid
        Passed to :func:`smskit.plan_campaign`.
    ledger, rate, concurrency, campaign_id, status_callback
        Passed to :func:`smskit.send_campaign`.

    After sending, ``composer.results`` holds the results frame (recipients' index).
    """

    def __init__(
        self,
        recipients: pd.DataFrame,
        *,
        client: Any,
        templates: Any,
        to: str = "phone",
        template_id: str | None = None,
        price_per_segment: float | None = None,
        currency: str = "",
        sender: str | None = None,
        signature: str | None = None,
        default_region: str | None = None,
        opt_out: Any = None,
        skip_invalid: bool = True,
        ledger: Any = None,
        rate: float | None = 500,
        concurrency: int = 4,
        campaign_id: str | None = None,
        status_callback: str | None = None,
    ) -> None:
        if not isinstance(recipients, pd.DataFrame) or recipients.empty:
            raise SmsKitError("Composer needs a non-empty recipients DataFrame", advice="use smskit.read_recipients")
        if not isinstance(templates, Mapping):
            templates = tpl.load_templates(templates)
        if not templates:
            raise SmsKitError("the template catalog is empty", advice="load templates with smskit.load_templates")
        self.recipients = recipients
        self.templates: Mapping[str, tpl.Template] = templates
        self.client = client
        self.price_per_segment = price_per_segment
        self.currency = currency
        self._plan_options = {
            "sender": sender,
            "signature": signature,
            "default_region": default_region,
            "opt_out": opt_out,
        }
        self._send_options = {
            "ledger": ledger,
            "rate": rate,
            "concurrency": concurrency,
            "campaign_id": campaign_id,
            "status_callback": status_callback,
        }
        self.plan: Any = None
        self.results: pd.DataFrame | None = None
        self._progress_lock = threading.Lock()
        columns = [str(c) for c in recipients.columns]

        self.template = W.Dropdown(
            options=[(template_label(t), tid) for tid, t in templates.items()],
            value=template_id if template_id is not None else next(iter(templates)),
            description="Template",
            style=_LABEL,
            layout=W.Layout(width="680px"),
        )
        self.template_text = W.HTML()
        self.to = W.Dropdown(
            options=columns,
            value=to if to in columns else columns[0],
            description="Phone column",
            style=_LABEL,
            layout=W.Layout(width="420px"),
        )
        self.mapping_box = W.VBox()
        self.mapping: list[W.Dropdown] = []
        self.row = W.Dropdown(description="Preview for", style=_LABEL, layout=W.Layout(width="560px"))
        self.preview = W.HTML()
        self.skip_invalid = W.Checkbox(value=skip_invalid, description="Leave out invalid rows", indent=False)
        self.dry_run_button = W.Button(
            description="Dry run", icon="search", layout=W.Layout(width="auto"), tooltip="Plan without sending"
        )
        self.plan_summary = W.HTML()
        self.problems = W.HTML()
        self.review_button = W.Button(
            description="Review and send…",
            icon="paper-plane",
            layout=W.Layout(width="auto"),
            disabled=True,
            tooltip="Run the dry run first",
        )
        self.confirmation = W.HTML()
        self.confirm_button = W.Button(
            description="Confirm and send", button_style="danger", layout=W.Layout(width="auto"), icon="check"
        )
        self.cancel_button = W.Button(description="Cancel", layout=W.Layout(width="auto"))
        self.confirm_box = W.VBox(
            [self.confirmation, W.HBox([self.confirm_button, self.cancel_button])],
            layout=W.Layout(display="none"),
        )
        self.progress = W.IntProgress(
            value=0, min=0, max=1, description="Sent", bar_style="info", layout=W.Layout(visibility="hidden")
        )
        self.status = W.HTML()
        self.results_view = W.HTML()

        self.template.observe(self._on_template, names="value")
        self.to.observe(self._on_to, names="value")
        self.row.observe(lambda _c: self._update_preview(), names="value")
        self.skip_invalid.observe(lambda _c: self._invalidate(), names="value")
        self.dry_run_button.on_click(lambda _b: self.dry_run())
        self.review_button.on_click(lambda _b: self.review())
        self.confirm_button.on_click(lambda _b: self.send())
        self.cancel_button.on_click(lambda _b: self.cancel())

        self.widget = W.VBox(
            [
                W.HTML(
                    '<div style="font-size:18px;font-weight:600">SMS composer</div>'
                    f'<div style="color:#555">{len(recipients):,} recipients loaded. Work top to bottom: nothing '
                    "is sent until you press <b>Confirm and send</b>.</div>"
                ),
                _section("1. Message", "pick an approved template"),
                self.template,
                self.template_text,
                _section("2. Fill the variables", "each ${…} takes its value from a column of your recipients"),
                self.to,
                self.mapping_box,
                _section("3. Preview", "the message one recipient receives; highlighted characters force UCS-2"),
                self.row,
                self.preview,
                _section("4. Check", "a dry run plans every message without sending anything"),
                W.HBox([self.dry_run_button, self.skip_invalid]),
                self.plan_summary,
                self.problems,
                _section("5. Send", "review the totals, then confirm"),
                W.HBox([self.review_button]),
                self.confirm_box,
                self.progress,
                self.status,
                self.results_view,
            ],
            layout=W.Layout(max_width="820px"),
        )
        self._rebuild_mapping()
        self._rebuild_rows()

    # -- display ----------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- state ------------------------------------------------------------------------------------

    @property
    def selected_template(self) -> tpl.Template:
        return self.templates[self.template.value]

    @property
    def param_columns(self) -> list[str | None]:
        """The column chosen for each variable, in order (``None`` where none is chosen)."""
        return [d.value for d in self.mapping]

    def _on_template(self, _change: Any) -> None:
        self._rebuild_mapping()
        self._invalidate()

    def _on_to(self, _change: Any) -> None:
        self._rebuild_rows()
        self._invalidate()

    def _on_mapping(self, _change: Any) -> None:
        self._update_preview()
        self._invalidate()

    def _rebuild_mapping(self) -> None:
        t = self.selected_template
        self.template_text.value = (
            '<div style="color:#333;margin:2px 0 0 124px;font-family:monospace;white-space:pre-wrap">'
            f"{html.escape(t.content)}</div>"
        )
        columns = [c for c in map(str, self.recipients.columns)]
        defaults = default_param_columns(t.variables, columns, exclude=[self.to.value])
        self.mapping = []
        for i, (var, default) in enumerate(zip(t.variables, defaults, strict=True), start=1):
            d = W.Dropdown(
                options=[(_NONE, None), *[(c, c) for c in columns]],
                value=default,
                description=f"{i}. ${{{var}}}",
                style=_LABEL,
                layout=W.Layout(width="420px"),
            )
            d.observe(self._on_mapping, names="value")
            self.mapping.append(d)
        if not self.mapping:
            self.mapping_box.children = [W.HTML("<i>This template has no variables.</i>")]
        else:
            self.mapping_box.children = self.mapping
        self._update_preview()

    def _rebuild_rows(self) -> None:
        extra = "name" if "name" in self.recipients.columns else None
        labels = row_labels(self.recipients, to=self.to.value, extra=extra)
        self.row.options = [(label, i) for i, label in enumerate(labels)]
        self.row.value = 0
        self._update_preview()

    def _update_preview(self) -> None:
        if self.row.value is None or len(self.mapping) != len(self.selected_template.variables):
            return
        try:
            p = preview_row(
                self.recipients,
                int(self.row.value),
                self.selected_template,
                self.param_columns,
                signature=self._plan_options["signature"],
            )
        except SmsKitError as exc:
            self.preview.value = _error_html(exc)
            return
        self.preview.value = preview_html(p)

    def _invalidate(self) -> None:
        """Any change after a dry run voids it: the confirmation must match what is sent."""
        self.plan = None
        self.review_button.disabled = True
        self.confirm_box.layout.display = "none"
        if self.plan_summary.value:
            self.plan_summary.value = _note_html("Settings changed: run the dry run again.", color="#8a6d00")
            self.problems.value = ""

    # -- actions ----------------------------------------------------------------------------------

    def dry_run(self) -> Any:
        """Plan the campaign with the current choices (nothing is sent); returns the plan."""
        from smskit.plan import plan_campaign

        self._invalidate()
        self.status.value = ""
        chosen = self.param_columns
        if any(c is None for c in chosen):
            missing = [f"${{{v}}}" for v, c in zip(self.selected_template.variables, chosen, strict=True) if c is None]
            self.plan_summary.value = _note_html(f"Choose a column for {', '.join(missing)} first.", color="#b00020")
            return None
        columns = [str(c) for c in chosen]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                plan = plan_campaign(
                    self.recipients,
                    template_id=self.template.value,
                    params=columns,
                    to=self.to.value,
                    templates=self.templates,
                    skip_invalid=self.skip_invalid.value,
                    **self._plan_options,
                )
        except SmsKitError as exc:
            self.plan_summary.value = _error_html(exc)
            return None
        summary = send_summary(plan, price_per_segment=self.price_per_segment)
        notes = "".join(_note_html(str(w.message), color="#8a6d00") for w in caught)
        self.plan_summary.value = (
            f"<div class='smskit-dry-run'><b>Dry run:</b> {summary['recipients']:,} ready to send, "
            f"{summary['left_out']:,} left out, {summary['requests']:,} API request(s), "
            f"{summary['segments']:,} segment(s). Nothing was sent.</div>{notes}"
        )
        problems = plan.problems
        if len(problems):
            shown = problem_rows(problems, self.recipients, columns=[self.to.value, *columns])
            self.problems.value = frame_html(
                shown,
                caption=f"{len(problems):,} row(s) will not be sent — fix them in your file, or leave them out",
            )
        else:
            self.problems.value = _note_html("No problems: every row can be sent.", color="#006644")
        self.plan = plan
        blocked = summary["recipients"] == 0 or not plan.sendable
        self.review_button.disabled = bool(blocked)
        self.review_button.tooltip = "Review the totals before sending" if not blocked else "Nothing can be sent yet"
        return plan

    def review(self) -> dict[str, Any] | None:
        """Show the confirmation (recipients, requests, segments, cost) for the current dry run."""
        if self.plan is None:
            self.status.value = _note_html("Run the dry run first.", color="#b00020")
            return None
        summary = send_summary(self.plan, price_per_segment=self.price_per_segment)
        self.confirmation.value = confirmation_html(summary, template_id=self.template.value, currency=self.currency)
        self.confirm_box.layout.display = "flex"
        return summary

    def cancel(self) -> None:
        """Hide the confirmation; nothing is sent."""
        self.confirm_box.layout.display = "none"
        self.status.value = _note_html("Cancelled: nothing was sent.")

    def send(self) -> pd.DataFrame | None:
        """Send the confirmed plan (the confirmation must be showing); returns and keeps ``results``."""
        from smskit.campaign import send_campaign

        if self.plan is None or self.confirm_box.layout.display == "none":
            self.status.value = _note_html("Review and confirm before sending.", color="#b00020")
            return None
        plan = self.plan
        total = int(plan.summary["ready"])
        self.confirm_box.layout.display = "none"
        self.review_button.disabled = True
        self.dry_run_button.disabled = True
        self.progress.max = max(total, 1)
        self.progress.value = 0
        self.progress.bar_style = "info"
        self.progress.layout.visibility = "visible"
        self.status.value = _note_html(f"Sending {total:,} message(s)…")

        def advance(n: int) -> None:
            with self._progress_lock:
                self.progress.value = min(self.progress.value + n, self.progress.max)

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results = send_campaign(
                    plan, client=self.client, progress=False, on_progress=advance, **self._send_options
                )
        except SmsKitError as exc:
            self.progress.bar_style = "danger"
            self.status.value = _error_html(exc)
            self.dry_run_button.disabled = False
            return None
        finally:
            self.plan = None  # a plan is sent once; a new dry run is needed to send again
            self.dry_run_button.disabled = False
        self.results = results
        counts = state_counts(results)
        accepted = int(counts.get("accepted", 0))
        self.progress.value = self.progress.max
        self.progress.bar_style = "success" if accepted == total else "warning"
        notes = "".join(_note_html(str(w.message), color="#8a6d00") for w in caught)
        shown = counts[counts > 0]
        self.status.value = (
            f"<div class='smskit-sent'><b>Done:</b> {accepted:,} of {total:,} accepted. "
            + ", ".join(f"{html.escape(str(k))}: {int(v):,}" for k, v in shown.items())
            + f"</div>{notes}<div style='color:#555'>The full table is <code>composer.results</code>.</div>"
        )
        cols = [c for c in ("to", "template_id", "state", "sms_msg_id", "status", "error") if c in results.columns]
        self.results_view.value = frame_html(results[cols], max_rows=10, caption="Results (first rows)")
        return results


# ---------------------------------------------------------------------------------------------- Dashboard


class Dashboard:
    """Live delivery counts and figures while status reports arrive.

    ``receiver_or_reports`` is a :class:`smskit.CallbackReceiver` (anything with ``.reports()``), a
    reports DataFrame, a report source path for :func:`smskit.read_status_reports`, or a callable
    returning a reports frame. ``results`` (a ``send_campaign`` frame, or a callable returning one or
    ``None``, e.g. ``lambda: composer.results``) turns the view into the campaign funnel.

    ``refresh()`` redraws once; ``start(interval=2)`` refreshes in a background thread until ``stop()``
    or the Stop button.
    """

    def __init__(self, receiver_or_reports: Any, results: Any = None) -> None:
        self.source = receiver_or_reports
        self.results = results
        self.frame: pd.DataFrame | None = None
        self.refreshes = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = W.HTML()
        self.caption = W.HTML()
        self.figures = [W.Image(format="png", layout=W.Layout(max_width="640px")) for _ in range(2)]
        self.stop_button = W.Button(
            description="Stop", icon="stop", layout=W.Layout(width="auto"), disabled=True, tooltip="Stop refreshing"
        )
        self.stop_button.on_click(lambda _b: self.stop())
        self.refresh_button = W.Button(description="Refresh", icon="refresh", layout=W.Layout(width="auto"))
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.state = W.HTML()
        self.widget = W.VBox(
            [
                W.HTML('<div style="font-size:18px;font-weight:600">Delivery dashboard</div>'),
                W.HBox([self.refresh_button, self.stop_button, self.state]),
                self.counts,
                self.caption,
                *self.figures,
            ],
            layout=W.Layout(max_width="820px"),
        )
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _reports(self) -> pd.DataFrame:
        src = self.source
        if isinstance(src, pd.DataFrame):
            return src
        if hasattr(src, "reports") and callable(src.reports):
            return src.reports()
        if callable(src):
            return src()
        from smskit.ingest import read_status_reports

        return read_status_reports(src)

    def _results(self) -> pd.DataFrame | None:
        res = self.results() if callable(self.results) else self.results
        return res if isinstance(res, pd.DataFrame) else None

    def refresh(self) -> pd.DataFrame:
        """Read the reports again and redraw counts and figures; returns the frame shown."""
        from smskit import plots

        with self._lock:
            reports = self._reports()
            results = self._results()
            if results is not None:
                from smskit.funnel import delivery_funnel

                frame = delivery_funnel(results, reports)
                draws: list[tuple[Callable[[Any], Any], tuple[float, float]]] = [
                    (lambda ax: plots.funnel(frame, ax=ax), (7, 2.6)),
                    (lambda ax: plots.failure_reasons(frame, ax=ax), (8, 3.2)),
                ]
                caption = f"Campaign: {len(frame):,} recipients sent, {len(reports):,} status report(s) so far."
            else:
                frame = reports
                freq = time_bin(frame["update_time"]) if "update_time" in frame.columns else "1min"
                draws = [
                    (lambda ax: plots.delivery_over_time(frame, on="update_time", freq=freq, ax=ax), (7, 3.0)),
                    (lambda ax: plots.failure_reasons(frame, ax=ax), (8, 3.2)),
                ]
                caption = f"{len(reports):,} status report(s) so far."
            self.frame = frame
            self.counts.value = counts_html(delivery_counts(frame))
            self.caption.value = f'<div style="color:#555">{html.escape(caption)}</div>'
            for image, (draw, size) in zip(self.figures, draws, strict=True):
                if len(frame) == 0:
                    image.layout.display = "none"
                    continue
                try:
                    image.value = figure_png(draw, size=size)
                    image.layout.display = None
                except (ValueError, KeyError, SmsKitError):
                    image.layout.display = "none"
            self.refreshes += 1
            return frame

    def start(self, *, interval: float = 2.0) -> Dashboard:
        """Refresh every ``interval`` seconds in a background thread (until ``stop()``)."""
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        if self.running:
            return self
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                except Exception as exc:  # shown in the widget: a background thread has no cell to fail in
                    self.error = exc
                    self.state.value = "stopped after an error: " + _error_html(exc)
                    self.stop_button.disabled = True
                    return

        self._thread = threading.Thread(target=loop, name="smskit-dashboard", daemon=True)
        self.stop_button.disabled = False
        self.state.value = _note_html(f"refreshing every {interval:g} s", color="#006644")
        self._thread.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the background refresh (waits for a refresh in progress to finish)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        self.stop_button.disabled = True
        self.state.value = _note_html("stopped", color="#666")
