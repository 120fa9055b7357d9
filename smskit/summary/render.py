"""Rendering the report document: tables as text (percentages, intervals, percentage points), Markdown
and one self-contained HTML page. Every piece of user text is escaped for its format."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from smskit.display import display_table

if TYPE_CHECKING:
    from smskit.summary.tables import DeliveryReport, ExperimentSection

__all__ = ["display_table", "html_sections", "render_html", "render_markdown"]


def render_markdown(report: DeliveryReport, figures: Mapping[str, tuple[str, Path]], *, title: str) -> str:
    """The report as Markdown; figures are linked by file name (next to the ``.md`` file)."""
    lines = [f"# {_md_text(title)}", ""]
    if report.headline:
        lines += [f"**{_md_text(report.headline)}**", ""]
    if report.campaigns:
        lines += [_campaigns_text(report, _md_text), ""]
    if report.sources:
        lines += ["Sources: " + ", ".join(_md_text(s) for s in report.sources), ""]
    placed = _experiment_figures(report)
    for heading, table in _tables_before_experiment(report, True):
        shown = display_table(table, confidence=report.confidence)
        lines += [f"## {_md_text(heading)}", "", *_md_table(shown), ""]
    if report.experiment is not None:
        lines += _md_experiment(report, report.experiment, figures)
    for heading, table in _tables_before_experiment(report, False):
        shown = display_table(table, confidence=report.confidence)
        lines += [f"## {_md_text(heading)}", "", *_md_table(shown), ""]
    rest = {name: figure for name, figure in figures.items() if name not in placed}
    if rest:
        lines += ["## Figures", ""]
        for fig_title, path in rest.values():
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
    if report.headline:
        parts.append(f'<p class="headline"><strong>{esc(report.headline)}</strong></p>')
    if report.campaigns:
        parts.append(f"<p>{_campaigns_text(report, esc)}</p>")
    if report.sources:
        parts.append("<p>Sources: " + ", ".join(f"<code>{esc(s)}</code>" for s in report.sources) + "</p>")
    placed = _experiment_figures(report)
    for heading, table in _tables_before_experiment(report, True):
        parts += [f"<h2>{esc(heading)}</h2>", _html_table(display_table(table, confidence=report.confidence))]
    if report.experiment is not None:
        parts += _html_experiment(report, report.experiment, figures or {})
    for heading, table in _tables_before_experiment(report, False):
        parts += [f"<h2>{esc(heading)}</h2>", _html_table(display_table(table, confidence=report.confidence))]
    rest = {name: figure for name, figure in (figures or {}).items() if name not in placed}
    if rest:
        parts.append("<h2>Figures</h2>")
        parts += [_html_figure(fig_title, path) for fig_title, path in rest.values()]
    if report.notes:
        parts += ["<h2>Notes</h2>", "<ul>", *[f"<li>{esc(n)}</li>" for n in report.notes], "</ul>"]
    return parts


#: The report's tables shown before the Experiment section (the rest follow it).
_BEFORE_EXPERIMENT = ("Overview", "Funnel")


def _tables_before_experiment(report: DeliveryReport, before: bool) -> list[tuple[str, pd.DataFrame]]:
    return [(k, t) for k, t in report.tables.items() if (k in _BEFORE_EXPERIMENT) is before]


def _experiment_figures(report: DeliveryReport) -> tuple[str, ...]:
    return report.experiment.figures if report.experiment is not None else ()


def _experiment_lines(experiment: ExperimentSection) -> list[str]:
    """The Experiment section's sentences: a verdict per outcome, then the sample-ratio check."""
    from smskit.experiments import METRIC_NAMES

    lines = [f"{METRIC_NAMES[m][:1].upper()}{METRIC_NAMES[m][1:]}: {v}" for m, v in experiment.verdicts.items()]
    if experiment.sample_ratio is not None:
        lines.append(f"Sample ratio: {experiment.sample_ratio}.")
    return lines


def _experiment_blocks(
    report: DeliveryReport, experiment: ExperimentSection, figures: Mapping[str, tuple[str, Path]]
) -> list[tuple[str, pd.DataFrame, list[tuple[str, Path]]]]:
    """(title, table, its figures) per Experiment table; figures drawn from no table follow the last one."""
    blocks = []
    for title, table in experiment.tables.items():
        names = [n for n in experiment.figures if report.figures[n][1].get("table") == title]
        blocks.append((title, table, [figures[n] for n in names if n in figures]))
    loose = [figures[n] for n in experiment.figures if "table" not in report.figures[n][1] and n in figures]
    if blocks:
        blocks[-1][2].extend(loose)
    return blocks


def _md_experiment(
    report: DeliveryReport, experiment: ExperimentSection, figures: Mapping[str, tuple[str, Path]]
) -> list[str]:
    from smskit.summary.tables import EXPERIMENT_READING

    lines = ["## Experiment", "", *[f"- {_md_text(line)}" for line in _experiment_lines(experiment)], ""]
    lines += [_md_text(EXPERIMENT_READING), ""]
    for title, table, drawn in _experiment_blocks(report, experiment, figures):
        lines += [f"### {_md_text(title)}", "", *_md_table(display_table(table, confidence=report.confidence)), ""]
        for fig_title, path in drawn:
            lines += [f"![{_md_text(fig_title)}]({path.name})", ""]
    return lines


def _html_experiment(
    report: DeliveryReport, experiment: ExperimentSection, figures: Mapping[str, tuple[str, Path]]
) -> list[str]:
    from smskit.summary.tables import EXPERIMENT_READING

    esc = html.escape
    parts = ['<h2 id="experiment">Experiment</h2>', "<ul>"]
    parts += [f"<li>{esc(line)}</li>" for line in _experiment_lines(experiment)]
    parts += ["</ul>", f'<p class="reading">{esc(EXPERIMENT_READING)}</p>']
    for title, table, drawn in _experiment_blocks(report, experiment, figures):
        parts += [f"<h3>{esc(title)}</h3>", _html_table(display_table(table, confidence=report.confidence))]
        parts += [_html_figure(fig_title, path) for fig_title, path in drawn]
    return parts


def _html_figure(title: str, path: Path) -> str:
    esc = html.escape
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(title)}">'
        f"<figcaption>{esc(title)} (<code>{esc(path.name)}</code>)</figcaption></figure>"
    )


def _campaigns_text(report: DeliveryReport, escape: Any) -> str:
    word = "Campaign" if len(report.campaigns) == 1 else "Campaigns"
    return f"{word}: " + ", ".join(escape(c) for c in report.campaigns)


def _md_text(text: object) -> str:
    """Markdown cell/heading text: HTML-escaped (renderers pass raw HTML), with pipes, line breaks and the
    link/image syntax ``[ ] ( ) !`` neutralized so pushed text cannot become a link or an image."""
    s = html.escape(str(text), quote=False).replace("\\", "\\\\")
    s = re.sub(r"([|\[\]()!])", r"\\\1", s)
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
    number = r"[<]?[-+]?[\d,.]+(?: ?%| pp| s)?"
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
