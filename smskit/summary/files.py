"""Writing the report document: figures (PNG), ``report.md``, ``report.html`` and ``delivery.csv``."""

from __future__ import annotations

import functools
from pathlib import Path

from smskit.csvfiles import write_csv
from smskit.summary.inputs import ROW_LABEL
from smskit.summary.render import render_html, render_markdown
from smskit.summary.tables import DeliveryReport

__all__ = ["draw_figures", "write_report"]


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
    if report.mode == "funnel":  # one row per input row, named by its index (never an anonymous column)
        write_csv(report.frame.rename_axis(str(report.frame.index.name or ROW_LABEL)), data)
    else:
        write_csv(report.frame, data, index=False)  # formula-like cells neutralized
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
        "conversion_over_time": lambda ax, o: plots.conversion_over_time(frame, ax=ax, **o),
    }
    tables = report.experiment.tables if report.experiment is not None else {}
    paths: dict[str, Path] = {}
    for name, (_, options) in report.figures.items():
        if name.startswith("uplift_"):
            table = tables[options["table"]]
            size = (8.0, max(2.6, 0.9 * int((~table["control"].astype(bool)).sum()) + 1.8))
            draw = lambda ax, o: plots.uplift(tables[o["table"]], ax=ax)  # noqa: E731
        elif name.startswith("delivery_rate_by_"):
            groups = frame[options["by"]].nunique(dropna=False) if options["by"] in frame.columns else 8
            size = (8.0, min(max(2.5, 0.45 * min(groups, 25) + 1.5), 12.0))
            draw = lambda ax, o: plots.delivery_rate(frame, confidence=level, ax=ax, **o)  # noqa: E731
        else:
            draw, size = drawers[name], plots.figure_size(name)
        paths[name] = directory / f"{name}.png"
        plots.save_png(functools.partial(draw, o=options), paths[name], size=size, dpi=dpi)
    return paths
