"""The delivery report document (``smskit report`` / ``smskit demo``).

* :mod:`.inputs` — results files, console-export send info, the per-message frame
* :mod:`.tables` — :func:`summarize`: the frame, summary tables, figure list and caveats (pure)
* :mod:`.render` — tables as text, Markdown and self-contained HTML (escaped)
* :mod:`.files` — :func:`write_report`: figures, ``report.md``, ``report.html``, ``delivery.csv``

Usage::

    report = summarize(read_status_reports("reports.sqlite"), results=results)
    write_report(report, "report/")
"""

from smskit.summary.files import draw_figures, write_report
from smskit.summary.inputs import RESULT_COLUMNS, export_send_info, message_frame, read_results
from smskit.summary.render import display_table, render_html, render_markdown
from smskit.summary.tables import DeliveryReport, summarize

__all__ = [
    "RESULT_COLUMNS",
    "DeliveryReport",
    "display_table",
    "draw_figures",
    "export_send_info",
    "message_frame",
    "read_results",
    "render_html",
    "render_markdown",
    "summarize",
    "write_report",
]
