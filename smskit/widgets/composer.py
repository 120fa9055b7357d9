"""The Composer widget: template → variables → preview → dry run → confirm → send, over pure view helpers."""

from __future__ import annotations

import html
import shutil
import tempfile
import threading
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from smskit import templates as tpl
from smskit.errors import SmsKitError
from smskit.widgets._ipywidgets import W
from smskit.widgets.views import (
    already_sent,
    confirmation_html,
    default_param_columns,
    default_template,
    error_html,
    frame_html,
    note_html,
    preview_html,
    preview_row,
    problem_rows,
    row_labels,
    send_summary,
    state_counts,
    template_label,
)

__all__ = ["Composer"]

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
        Passed to :func:`smskit.send_campaign`. Without a ``ledger`` the composer keeps one in a
        temporary folder for its lifetime: confirming a plan it already sent sends nothing, and the
        review says so ("0 left to send, 192 already sent").
    template_id
        The template to start with; by default the first marketing or notification template whose
        variables all find a column (never a verification code for a list), else none.

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
        if ledger is None:  # a session ledger, so that a plan confirmed twice is sent once
            folder = tempfile.mkdtemp(prefix="smskit-composer-")
            weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            self._send_options["ledger"] = ledger = Path(folder) / "ledger.sqlite"
        self.plan: Any = None
        self.results: pd.DataFrame | None = None
        self._progress_lock = threading.Lock()
        columns = [str(c) for c in recipients.columns]

        start = template_id if template_id is not None else default_template(templates, columns, exclude=[to])
        self.template = W.Dropdown(
            options=[(template_label(t), tid) for tid, t in templates.items()],
            value=start,
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
    def selected_template(self) -> tpl.Template | None:
        """The chosen template (None until one is picked)."""
        return self.templates.get(self.template.value) if self.template.value is not None else None

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
        if t is None:
            self.template_text.value = note_html("Pick a template above.", color="#8a6d00")
            self.mapping = []
            self.mapping_box.children = []
            self.preview.value = ""
            return
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
        t = self.selected_template
        if t is None or self.row.value is None or len(self.mapping) != len(t.variables):
            return
        try:
            p = preview_row(
                self.recipients,
                int(self.row.value),
                t,
                self.param_columns,
                signature=self._plan_options["signature"],
            )
        except SmsKitError as exc:
            self.preview.value = error_html(exc)
            return
        self.preview.value = preview_html(p)

    def _invalidate(self) -> None:
        """Any change after a dry run voids it: the confirmation must match what is sent."""
        self.plan = None
        self.review_button.disabled = True
        self.confirm_box.layout.display = "none"
        if self.plan_summary.value:
            self.plan_summary.value = note_html("Settings changed: run the dry run again.", color="#8a6d00")
            self.problems.value = ""

    # -- actions ----------------------------------------------------------------------------------

    def dry_run(self) -> Any:
        """Plan the campaign with the current choices (nothing is sent); returns the plan."""
        from smskit.campaign.plan import plan_campaign

        self._invalidate()
        self.status.value = ""
        template = self.selected_template
        if template is None:
            self.plan_summary.value = note_html("Pick a template first.", color="#b00020")
            return None
        chosen = self.param_columns
        if any(c is None for c in chosen):
            missing = [f"${{{v}}}" for v, c in zip(template.variables, chosen, strict=True) if c is None]
            self.plan_summary.value = note_html(f"Choose a column for {', '.join(missing)} first.", color="#b00020")
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
            self.plan_summary.value = error_html(exc)
            return None
        summary = send_summary(plan, price_per_segment=self.price_per_segment)
        notes = "".join(note_html(str(w.message), color="#8a6d00") for w in caught)
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
            self.problems.value = note_html("No problems: every row can be sent.", color="#006644")
        self.plan = plan
        blocked = summary["recipients"] == 0 or not plan.sendable
        self.review_button.disabled = bool(blocked)
        self.review_button.tooltip = "Review the totals before sending" if not blocked else "Nothing can be sent yet"
        return plan

    def review(self) -> dict[str, Any] | None:
        """Show the confirmation for the current dry run: what is left to send (recipients, requests,
        segments, cost) and what the ledger already holds."""
        if self.plan is None:
            self.status.value = note_html("Run the dry run first.", color="#b00020")
            return None
        sent = already_sent(self.plan, self._ledger_history(self.plan))
        summary = send_summary(self.plan, price_per_segment=self.price_per_segment, sent=sent)
        self.confirmation.value = confirmation_html(summary, template_id=self.template.value, currency=self.currency)
        self.confirm_button.disabled = summary["recipients"] == 0
        self.confirm_box.layout.display = "flex"
        return summary

    def _campaign_id(self, plan: Any) -> str:
        from smskit.campaign.send import campaign_id_for

        return campaign_id_for(plan, self._send_options["campaign_id"])

    def _ledger_history(self, plan: Any) -> pd.DataFrame | None:
        """The ledger's record of this plan's campaign (None before the ledger file exists)."""
        from smskit.campaign.ledger import Ledger

        ledger = self._send_options["ledger"]
        if isinstance(ledger, Ledger):
            return ledger.history(self._campaign_id(plan))
        if not Path(ledger).is_file():
            return None
        with Ledger(ledger, read_only=True) as book:
            return book.history(self._campaign_id(plan))

    def cancel(self) -> None:
        """Hide the confirmation; nothing is sent."""
        self.confirm_box.layout.display = "none"
        self.status.value = note_html("Cancelled: nothing was sent.")

    def send(self) -> pd.DataFrame | None:
        """Send the confirmed plan (the confirmation must be showing); returns and keeps ``results``."""
        from smskit.campaign.send import send_campaign

        if self.plan is None or self.confirm_box.layout.display == "none":
            self.status.value = note_html("Review and confirm before sending.", color="#b00020")
            return None
        plan = self.plan
        total = int((~already_sent(plan, self._ledger_history(plan)) & plan.recipients["state"].eq("ready")).sum())
        if total == 0:
            self.confirm_box.layout.display = "none"
            self.status.value = note_html("Nothing left to send: the ledger already holds every message of this plan.")
            return None
        self.confirm_box.layout.display = "none"
        self.review_button.disabled = True
        self.dry_run_button.disabled = True
        self.progress.max = max(total, 1)
        self.progress.value = 0
        self.progress.bar_style = "info"
        self.progress.layout.visibility = "visible"
        self.status.value = note_html(f"Sending {total:,} message(s)…")

        def advance(n: int) -> None:
            with self._progress_lock:
                self.progress.value = min(self.progress.value + n, self.progress.max)

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                options = {**self._send_options, "campaign_id": self._campaign_id(plan)}
                results = send_campaign(plan, client=self.client, progress=False, on_progress=advance, **options)
        except SmsKitError as exc:
            self.progress.bar_style = "danger"
            self.status.value = error_html(exc)
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
        notes = "".join(note_html(str(w.message), color="#8a6d00") for w in caught)
        shown = counts[counts > 0]
        self.status.value = (
            f"<div class='smskit-sent'><b>Done:</b> {accepted:,} of {total:,} accepted. "
            + ", ".join(f"{html.escape(str(k))}: {int(v):,}" for k, v in shown.items())
            + f"</div>{notes}<div style='color:#555'>The full table is <code>composer.results</code>.</div>"
        )
        cols = [c for c in ("to", "template_id", "state", "sms_msg_id", "status", "error") if c in results.columns]
        self.results_view.value = frame_html(results[cols], max_rows=10, caption="Results (first rows)")
        return results
