"""The delivery report document (``smskit report`` / ``smskit demo``).

* :mod:`.inputs` — results files, outcome events, console-export send info, the per-message frame
* :mod:`.tables` — :func:`summarize`: the frame, summary tables, the Experiment section, figure list and
  caveats (pure)
* :mod:`.render` — tables as text, Markdown and self-contained HTML (escaped)
* :mod:`.files` — :func:`write_report`: figures, ``report.md``, ``report.html``, ``delivery.csv``

Usage::

    report = summarize(read_status_reports("reports.sqlite"), results=results)
    write_report(report, "report/")

    # an experiment: results of every assigned recipient (held out too) with the variant and outcomes
    results = attach_outcomes(results.join(people[["customer_id", "variant"]]), orders, on="customer_id",
                              time="ordered_at", value="amount")
    summarize(reports, results=results, weights={"holdout": 0.1, "A": 0.45, "B": 0.45})
"""

from smskit.summary.files import draw_figures, write_report
from smskit.summary.inputs import RESULT_COLUMNS, export_send_info, message_frame, read_outcomes, read_results
from smskit.summary.render import display_table, render_html, render_markdown
from smskit.summary.tables import DeliveryReport, ExperimentSection, summarize

__all__ = [
    "RESULT_COLUMNS",
    "DeliveryReport",
    "ExperimentSection",
    "display_table",
    "draw_figures",
    "export_send_info",
    "message_frame",
    "read_outcomes",
    "read_results",
    "render_html",
    "render_markdown",
    "summarize",
    "write_report",
]
