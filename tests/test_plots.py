"""Delivery figures: each returns the Axes it drew on, with one mark per aggregate and labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from smskit import analytics, plots
from smskit.codes import CATEGORY_COLORS
from tests.test_analytics import synthetic_funnel


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def funnel() -> pd.DataFrame:
    return synthetic_funnel(5000, seed=3)


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_delivery_rate_bars_intervals_and_labels(funnel):
    _, ax = plt.subplots()
    out = plots.delivery_rate(funnel, by=["template_id", "variant"], ax=ax)
    table = analytics.delivery_rate(funnel, by=["template_id", "variant"])
    assert out is ax
    bars = _bars(ax)
    assert len(bars) == 4
    # Bars are drawn top to bottom in table order.
    widths = [b.get_width() for b in sorted(bars, key=lambda b: -b.get_y())]
    np.testing.assert_allclose(widths, table["rate"])
    assert all(b.get_facecolor() == to_rgba(CATEGORY_COLORS["delivered"]) for b in bars)
    labels = [t.get_text() for t in ax.get_yticklabels()]  # ticks are set top to bottom
    assert labels == [f"{t} · {v}" for t, v in zip(table["template_id"], table["variant"], strict=True)]
    assert "Delivery rate" in ax.get_xlabel()
    assert "Wilson" in ax.get_xlabel()
    assert ax.get_title() == "Delivery rate by template_id · variant"
    assert len(ax.containers) == 2  # the bars and the interval whiskers
    overall = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert overall[0].get_xdata()[0] == pytest.approx(analytics.delivery_rate(funnel).loc[0, "rate"])


def test_delivery_rate_top_groups_and_zoom(funnel):
    many = funnel.assign(template_id=[f"t{i % 7}" for i in range(len(funnel))])
    many.loc[many.index[:2000], "template_id"] = "big"
    ax = plots.delivery_rate(many, by="template_id", top=3)
    assert len(_bars(ax)) == 3
    assert "big" in [t.get_text() for t in ax.get_yticklabels()]
    zoomed = plots.delivery_rate(funnel, by="variant", zoom=True)
    assert _bars(zoomed) == []
    low, high = zoomed.get_xlim()
    table = analytics.delivery_rate(funnel, by="variant")
    assert low <= table["low"].min()
    assert high >= table["high"].max()
    assert high - low < 0.5


def test_delivery_over_time_one_line_per_group(funnel):
    _, ax = plt.subplots()
    assert plots.delivery_over_time(funnel, freq="6h", ax=ax) is ax
    table = analytics.rate_over_time(funnel, freq="6h")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), table["rate"])
    assert line.get_color() == CATEGORY_COLORS["delivered"]
    assert "UTC" in ax.get_xlabel()
    assert "6h" in ax.get_xlabel()
    assert "%" in ax.get_ylabel()
    assert ax.get_title() == "Delivery rate over time"
    by = plots.delivery_over_time(funnel, freq="3h", by="variant")
    assert len(by.get_lines()) == 2
    assert [t.get_text() for t in by.get_legend().get_texts()] == ["A", "B"]
    assert len(by.collections) == 2  # one interval band per line


def test_failure_reasons_top_codes_coloured_by_category(funnel):
    _, ax = plt.subplots()
    assert plots.failure_reasons(funnel, top=4, ax=ax) is ax
    table = analytics.failure_breakdown(funnel).head(4)
    bars = sorted(_bars(ax), key=lambda b: -b.get_y())
    assert len(bars) == 4
    assert [b.get_width() for b in bars] == table["count"].tolist()
    expected = [to_rgba(CATEGORY_COLORS[str(c)]) for c in table["category"]]
    assert [b.get_facecolor() for b in bars] == expected
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(lab.startswith(f"{code}  ") for lab, code in zip(labels, table["code"], strict=True))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == list(dict.fromkeys(table["category"].astype(str)))
    assert "not delivered" in ax.get_xlabel()
    assert ax.get_title().startswith("Top 4 failure reasons")


def test_latency_ecdf_lines_and_units(funnel):
    _, ax = plt.subplots()
    assert plots.latency(funnel, ax=ax) is ax
    (line,) = ax.get_lines()
    delivered = funnel.loc[funnel["delivered"], "latency_s"]
    assert line.get_xdata()[-1] == pytest.approx(delivered.max())
    assert line.get_ydata()[-1] == 1.0
    assert "median" in ax.get_legend().get_texts()[0].get_text()
    assert "Latency" in ax.get_xlabel()
    assert "%" in ax.get_ylabel()
    by = plots.latency(funnel, by="template_id", log=True)
    assert len(by.get_lines()) == 2
    assert by.get_xscale() == "log"
    assert "log" in by.get_xlabel()


def test_funnel_bars_are_stage_counts(funnel):
    _, ax = plt.subplots()
    assert plots.funnel(funnel, ax=ax) is ax
    counts = analytics.funnel_counts(funnel)["count"].tolist()
    bars = sorted(_bars(ax), key=lambda b: -b.get_y())
    assert [b.get_width() for b in bars] == counts
    stages = ["rows", "invalid", "suppressed", "sent", "accepted", "delivered"]
    assert [t.get_text() for t in ax.get_yticklabels()] == stages
    assert bars[-1].get_facecolor() == to_rgba(CATEGORY_COLORS["delivered"])
    labels = [t.get_text() for t in ax.texts]
    assert labels[-1].endswith("of sent)")
    assert ax.get_xlabel() == "Recipients"
    assert "funnel" in ax.get_title()


def test_without_ax_a_new_figure_is_made(funnel):
    ax = plots.funnel(funnel)
    assert ax.figure is not None
    assert plt.get_fignums() == [ax.figure.number]


def test_save_figures_writes_pngs_without_pyplot_state(funnel, tmp_path):
    paths = plots.save_figures(funnel, tmp_path / "figs", by="variant")
    assert set(paths) == {"funnel", "delivery_rate", "delivery_over_time", "failure_reasons", "latency"}
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
    assert plt.get_fignums() == []


def test_one_png_writer(tmp_path):
    """The report, save_figures and the Dashboard all write PNG through plots.save_png."""
    from pathlib import Path

    from smskit import widgets

    assert widgets.figure_png is plots.png_bytes
    package = Path(plots.__file__).parent
    writers = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if ".savefig(" in p.read_text(encoding="utf-8")
    )
    assert writers == ["plots.py"]
    assert Path(plots.__file__).read_text(encoding="utf-8").count(".savefig(") == 1

    def draw(ax):
        ax.plot([0, 1], [1, 0])

    path = plots.save_png(draw, tmp_path / "f.png", size=(4, 3), dpi=50)
    data = plots.png_bytes(draw, size=(4, 3), dpi=50)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert path.read_bytes() == data
    assert plt.get_fignums() == []


def test_latency_legend_and_the_report_agree_on_the_median(funnel):
    """One definition of the median (analytics.latency_quantiles) and one format (display.format_seconds)."""
    from smskit.display import display_table

    table = display_table(analytics.latency_quantiles(funnel))
    legend = plots.latency(funnel).get_legend().get_texts()[0].get_text()
    assert f"median {table.loc[0, 'p50']}," in legend
    assert table.loc[0, "p50"].endswith(" s")
    by = display_table(analytics.latency_quantiles(funnel, by="template_id")).set_index("template_id")
    texts = [t.get_text() for t in plots.latency(funnel, by="template_id").get_legend().get_texts()]
    for template, row in by.iterrows():
        assert any(t.startswith(f"{template} (median {row['p50']},") for t in texts), (template, texts)


# --- experiment figures -----------------------------------------------------------------------------


@pytest.fixture
def experiment_frame() -> pd.DataFrame:
    from tests.test_experiments_outcomes import experiment

    frame = experiment(seed=4, n=6000)
    return frame.assign(variant=frame["variant"].replace({"B": "B $5 off"}))  # a "$" must not start mathtext


def _errorbar_ends(ax) -> list[tuple[float, float]]:
    ends = []
    for container in ax.containers:
        for segments in container.lines[2]:
            for (x0, _), (x1, _) in segments.get_segments():
                ends.append((min(x0, x1), max(x0, x1)))
    return ends


def test_uplift_draws_itt_and_cace_intervals(experiment_frame):
    import warnings

    from smskit import experiments

    table = experiments.compare_arms(experiment_frame, control="holdout", metric="converted")
    _, ax = plt.subplots()
    assert plots.uplift(table, ax=ax) is ax
    arms = table.loc[~table["control"]]
    expected = sorted(
        [(lo, hi) for lo, hi in zip(arms["diff_low"], arms["diff_high"], strict=True)]
        + [(lo, hi) for lo, hi in zip(arms["cace_low"], arms["cace_high"], strict=True)]
    )
    np.testing.assert_allclose(sorted(_errorbar_ends(ax)), expected)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [r"A vs holdout", r"B \$5 off vs holdout"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("ITT")
    assert "complier average causal effect" in legend[1]
    assert "percentage points" in ax.get_xlabel()
    assert "95%" in ax.get_xlabel()
    ax.figure.canvas.draw()  # the "$" in an arm name renders as text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sent_control = experiments.compare_arms(experiment_frame, control="A", metric="value")
    ax2 = plots.uplift(sent_control)
    assert any(t.get_text() == "unbounded" for t in ax2.texts)  # CACE between two sent arms
    assert "percentage points" not in ax2.get_xlabel()


def test_conversion_over_time_is_the_cumulative_share_of_each_arm(experiment_frame):
    _, ax = plt.subplots()
    assert plots.conversion_over_time(experiment_frame, freq="6h", ax=ax) is ax
    lines = ax.get_lines()
    names = sorted(experiment_frame["variant"].unique())
    assert len(lines) == len(names)
    for line, name in zip(lines, names, strict=True):
        arm = experiment_frame.loc[experiment_frame["variant"] == name]
        assert line.get_ydata()[-1] == pytest.approx(arm["converted"].mean())
        assert np.all(np.diff(line.get_ydata()) >= 0)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1] == r"B \$5 off (n=" + f"{(experiment_frame['variant'] == 'B $5 off').sum():,})"
    assert "%" in ax.get_ylabel()
    assert "6h" in ax.get_xlabel()
    ax.figure.canvas.draw()


def test_escape_mathtext_keeps_dollars_literal():
    name = r"Promo $\oops$ deal"
    fig, ax = plt.subplots()
    ax.set_title(name)
    with pytest.raises(ValueError, match="oops"):
        fig.canvas.draw()  # unescaped, matplotlib parses it as maths and fails
    fig, ax = plt.subplots()
    ax.set_title(plots.escape_mathtext(name))
    fig.canvas.draw()
    assert ax.get_title() == r"Promo \$\oops\$ deal"
