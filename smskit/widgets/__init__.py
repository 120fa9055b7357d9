"""Notebook front-ends: :class:`Composer` (template → preview → dry run → confirm → send) and
:class:`Dashboard` (live delivery counts and figures while reports arrive).

The widgets only wire pure functions together; those live in :mod:`smskit.widgets.views`
(``default_param_columns``, ``preview_message``, ``send_summary``, ``delivery_counts`` …), so tests
reach every decision without a browser.

Usage::

    from smskit.widgets import Composer, Dashboard
    composer = Composer(recipients, client=emu.client(), templates=templates)
    composer                                  # pick, preview, dry run, confirm, send
    Dashboard(receiver, results=lambda: composer.results).start(interval=2)
"""

from smskit.widgets.composer import Composer
from smskit.widgets.dashboard import Dashboard
from smskit.widgets.views import (
    PARAM_HINTS,
    Preview,
    already_sent,
    confirmation_html,
    counts_html,
    default_param_columns,
    default_template,
    delivery_counts,
    figure_png,
    frame_html,
    highlight_ucs2,
    preview_html,
    preview_message,
    preview_row,
    problem_rows,
    rates_html,
    row_labels,
    send_summary,
    state_counts,
    template_label,
    time_bin,
)

__all__ = [
    "PARAM_HINTS",
    "Composer",
    "Dashboard",
    "Preview",
    "already_sent",
    "confirmation_html",
    "counts_html",
    "default_param_columns",
    "default_template",
    "delivery_counts",
    "figure_png",
    "frame_html",
    "highlight_ucs2",
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
