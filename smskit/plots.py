"""Delivery figures over the aggregates of :mod:`smskit.analytics`.

Each function takes the funnel (or reports) frame, or the table its :mod:`smskit.analytics`
function returns (as :class:`smskit.Warehouse` computes them), column names as strings and
keyword-only options, draws on ``ax`` (a new figure when ``None``) and returns the Axes. They plot aggregates,
never one mark per message, so a million rows take about a second. Colours follow
:data:`smskit.codes.CATEGORY_COLORS` (Okabe–Ito, colour-blind safe): delivered is green, failure
categories are warm.

Usage::

    from smskit import plots
    plots.delivery_rate(funnel, by="variant")
    plots.save_figures(funnel, "figures/")
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pandas as pd

from smskit import analytics
from smskit.codes import CATEGORY_COLORS
from smskit.display import format_percent, format_seconds

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "conversion_over_time",
    "delivery_over_time",
    "delivery_rate",
    "escape_mathtext",
    "failure_reasons",
    "figure_size",
    "funnel",
    "latency",
    "png_bytes",
    "save_figures",
    "save_png",
    "uplift",
]

DELIVERED_COLOR = CATEGORY_COLORS["delivered"]
SENT_COLOR = "#0072B2"
NOT_SENT_COLOR = "#BBBBBB"
_STAGE_COLORS = {
    "rows": "#666666",
    "sent": SENT_COLOR,
    "accepted": CATEGORY_COLORS["accepted"],
    "delivered": DELIVERED_COLOR,
}
INTERVAL_COLOR = "#333333"
ITT_COLOR = "#0072B2"
CACE_COLOR = "#D55E00"
_RATE_METRICS = ("delivered", "converted", "replied", "unsubscribed")
_LINE_COLORS = ("#009E73", "#0072B2", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
_TIME_TICKS = (
    (1, "1 s"),
    (10, "10 s"),
    (60, "1 min"),
    (600, "10 min"),
    (3600, "1 h"),
    (6 * 3600, "6 h"),
    (24 * 3600, "24 h"),
    (72 * 3600, "72 h"),
)


def delivery_rate(
    frame: pd.DataFrame,
    *,
    by: str | Sequence[str],
    confidence: float = 0.95,
    among: analytics.Among = "sent",
    top: int | None = 25,
    sort: bool = False,
    zoom: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars of the delivery rate per group with Wilson interval whiskers.

    One bar per group (the ``top`` groups by volume when there are more); a dashed line marks the
    overall rate. ``sort=True`` orders bars by rate instead of by group. ``zoom=True`` draws points
    on an axis fitted to the intervals instead of bars from 0 %, to see small differences (A/B arms).
    """
    keys = analytics._keys(by)
    if _is_table(frame, [*keys, "sent", "delivered", "rate", "low", "high"]):  # rates already computed
        table = frame
        sent, delivered = int(table["sent"].sum()), int(table["delivered"].sum())
        overall = pd.DataFrame({"rate": [delivered / sent if sent else np.nan]})
    else:
        table = analytics.delivery_rate(frame, by=by, confidence=confidence, among=among)
        overall = analytics.delivery_rate(frame, confidence=confidence, among=among)
    if top is not None and len(table) > top:
        table = table.nlargest(top, "sent").sort_index()
    if sort:
        table = table.sort_values("rate", kind="stable")
    labels = _group_labels(table, keys)
    ax = _axes(ax, height=max(2.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    rate = table["rate"].to_numpy(dtype=float)
    err = np.vstack([rate - table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float) - rate])
    err = np.clip(err, 0.0, None)  # rounding can leave -1e-17 at a 0 % or 100 % rate; matplotlib refuses it
    if zoom:
        ax.errorbar(
            rate,
            y,
            xerr=np.nan_to_num(err),
            fmt="o",
            color=DELIVERED_COLOR,
            ms=7,
            ecolor=INTERVAL_COLOR,
            capsize=4,
            lw=1.2,
            label="delivered",
        )
    else:
        ax.barh(y, rate, color=DELIVERED_COLOR, height=0.65 if len(table) > 2 else 0.45, label="delivered")
        ax.errorbar(rate, y, xerr=np.nan_to_num(err), fmt="none", ecolor=INTERVAL_COLOR, capsize=3, lw=1.2)
    ax.axvline(float(overall["rate"].iloc[0]), color=INTERVAL_COLOR, ls="--", lw=1, label="overall")
    for yi, (r, hi, n) in enumerate(zip(rate, table["high"], table["sent"], strict=True)):
        if np.isfinite(r):
            ax.annotate(
                f"{r:.1%}  n={n:,}",
                (min(float(hi), 1.0), y[yi]),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    ax.set_yticks(y, labels)
    if zoom:
        lo = float(np.nanmin(table["low"])) if len(table) else 0.0
        hi = float(np.nanmax(table["high"])) if len(table) else 1.0
        pad = max(hi - lo, 0.01) * 0.15
        left, right = max(lo - pad, 0.0), hi + 4 * pad
        ax.set_xlim(left, right)
        # the right margin holds the labels; no tick beyond 100 %
        ax.set_xticks([t for t in ax.get_xticks() if left <= t <= min(right, 1.0) + 1e-9])
        ax.set_xlim(left, right)
        ax.set_ylim(-0.7, len(table) - 0.3)
        ax.grid(axis="x", alpha=0.3)
        _percent_axis(ax.xaxis, decimals=None)
    else:
        ax.set_xlim(0, 1.18)
        ax.set_xticks(np.linspace(0, 1, 6))
        _percent_axis(ax.xaxis)
    ax.set_xlabel(f"Delivery rate (% of {among}, {confidence:.0%} Wilson interval)")
    ax.set_ylabel(escape_mathtext(" · ".join(keys)))
    ax.set_title(escape_mathtext(f"Delivery rate by {' · '.join(keys)}"), pad=16)
    # the overall line is labelled above the axes: a legend inside would cover bar labels near 100 %
    overall_rate = float(overall["rate"].iloc[0])
    if np.isfinite(overall_rate):
        ax.annotate(
            f"overall {overall_rate:.1%}",
            (overall_rate, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=INTERVAL_COLOR,
        )
    return ax


def delivery_over_time(
    frame: pd.DataFrame,
    *,
    freq: str = "1h",
    on: str = "sent_at",
    by: str | None = None,
    confidence: float = 0.95,
    among: analytics.Among = "sent",
    ax: Axes | None = None,
) -> Axes:
    """Delivery rate per ``freq`` bin of ``on``, one line per group, with a shaded Wilson band."""
    if _is_table(frame, [on, "sent", "delivered", "rate", "low", "high"]):
        table = frame
    else:
        table = analytics.rate_over_time(frame, freq=freq, on=on, by=by, confidence=confidence, among=among)
    ax = _axes(ax)
    groups = [(None, table)] if by is None else list(table.groupby(by, observed=True, sort=True))
    for i, (name, part) in enumerate(groups):
        color = DELIVERED_COLOR if by is None else _LINE_COLORS[i % len(_LINE_COLORS)]
        when = _naive_utc(part[on])
        marker = "o" if len(part) <= 48 else None
        label = "delivery rate" if by is None else escape_mathtext(str(name))
        ax.plot(when, part["rate"], color=color, marker=marker, ms=3, lw=1.6, label=label)
        ax.fill_between(when, part["low"], part["high"], color=color, alpha=0.18, lw=0)
    _date_axis(ax)
    ax.set_ylim(0, 1.02)
    _percent_axis(ax.yaxis)
    ax.set_ylabel(f"Delivery rate (% of {among})")
    ax.set_xlabel(escape_mathtext(f"{_title(on)} (UTC, {freq} bins)"))
    ax.set_title(escape_mathtext("Delivery rate over time" + (f" by {by}" if by else "")))
    ax.grid(axis="y", alpha=0.3)
    if by is not None:
        ax.legend(title=escape_mathtext(by), fontsize=8, loc="best", frameon=False)
    return ax


def failure_reasons(
    frame: pd.DataFrame,
    *,
    top: int = 10,
    pending: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars of the ``top`` codes of not-delivered messages, coloured by category."""
    if _is_table(frame, ["category", "code", "count", "share", "meaning"]):
        table = frame if pending else frame.loc[frame["category"].astype(str) != "pending"]
    else:
        table = analytics.failure_breakdown(frame, pending=pending)
    failed = int(table["count"].sum())
    table = table.head(top)
    ax = _axes(ax, height=max(2.5, 0.45 * len(table) + 1.5), width=9)
    y = np.arange(len(table))[::-1]
    categories = table["category"].astype(str).to_numpy()
    colors = [CATEGORY_COLORS.get(c, CATEGORY_COLORS["unknown"]) for c in categories]
    ax.barh(y, table["count"], color=colors, height=0.65, edgecolor="#555555", lw=0.5)
    labels = [escape_mathtext(f"{c}  {_shorten(m, 38)}") for c, m in zip(table["code"], table["meaning"], strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    peak = float(table["count"].max()) if len(table) else 1.0
    for yi, (n, share) in enumerate(zip(table["count"], table["share"], strict=True)):
        ax.annotate(
            f"{n:,} ({share:.0%})",
            (n, y[yi]),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, peak * 1.25)
    seen = list(dict.fromkeys(categories))
    handles = [_patch(CATEGORY_COLORS.get(c, CATEGORY_COLORS["unknown"]), escape_mathtext(c)) for c in seen]
    ax.legend(
        handles=handles,
        title="category",
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        frameon=False,
    )
    _count_axis(ax.xaxis)
    ax.set_xlabel("Messages not delivered (count, share of not delivered)")
    ax.set_title(f"Top {len(table)} failure reasons ({failed:,} not delivered)")
    return ax


def latency(
    frame: pd.DataFrame,
    *,
    by: str | None = None,
    column: str = "latency_s",
    delivered_only: bool = True,
    log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """ECDF of report latency (seconds from send to report), one line per group.

    The curve is drawn from 400 quantiles, not every message; ``frame`` may also be those quantiles,
    ``analytics.latency_quantiles(..., q=np.linspace(0, 1, 401))`` (as :class:`smskit.Warehouse`
    computes them). ``log=None`` picks a log time axis when latencies span more than two decades.
    """
    probs = np.linspace(0, 1, 401)
    names = [analytics.quantile_name(p) for p in probs]
    curves: list[tuple[object, np.ndarray, int, float]] = []  # (group, quantiles, n, median)
    if set(names) | {"n"} <= set(frame.columns):  # a latency_quantiles(q=np.linspace(0, 1, 401)) table
        rows = frame.groupby(by, observed=True, sort=True) if by is not None else [(None, frame)]
        for key, part in rows:
            row = part.iloc[0]
            curves.append((key, row[names].to_numpy(dtype=float), int(row["n"]), float(row[names[200]])))
    else:
        analytics._require(frame, [column] + (["delivered"] if delivered_only else []))
        work = frame.loc[analytics.sent_rows(frame)]
        if delivered_only:
            work = work.loc[work["delivered"].fillna(False).astype(bool)]
        work = work.loc[work[column].notna()]
        groups = [(None, work[column])] if by is None else list(work.groupby(by, observed=True, sort=True)[column])
        # the legend's median is the report's p50: one definition (analytics.latency_quantiles), one format
        medians = analytics.latency_quantiles(frame, by=by, q=(0.5,), latency=column, delivered_only=delivered_only)
        median_of = dict(zip(medians[by], medians["p50"], strict=True)) if by is not None else {None: medians["p50"][0]}
        for key, values in groups:
            v = values.to_numpy(dtype=float)
            if len(v):
                curves.append((key, np.quantile(v, probs), len(v), float(median_of[key])))
    ax = _axes(ax)
    lows, highs = [], []
    for i, (name, xs, n, median) in enumerate(curves):
        if not n:
            continue
        lows.append(max(float(xs[0]), 1e-3))
        highs.append(float(xs[-1]))
        color = DELIVERED_COLOR if by is None else _LINE_COLORS[i % len(_LINE_COLORS)]
        head = "all" if by is None else escape_mathtext(str(name))
        label = f"{head} (median {format_seconds(median)}, n={n:,})"
        ax.step(xs, probs, where="post", color=color, lw=1.6, label=label)
    if log is None:
        log = bool(lows) and max(highs) / min(lows) > 100
    if log:
        ax.set_xscale("log")
        lo, hi = min(lows), max(highs)
        ticks = [(t, s) for t, s in _TIME_TICKS if lo / 3 <= t <= hi * 3]
        if len(ticks) >= 2:
            ax.set_xticks([t for t, _ in ticks], [s for _, s in ticks])
        ax.set_xlabel("Latency from send to report (log scale)")
    else:
        ax.set_xlabel("Latency from send to report (seconds)")
    ax.set_ylim(0, 1.02)
    _percent_axis(ax.yaxis)
    ax.set_ylabel("Messages reported within (%)")
    what = "delivery" if delivered_only else "final report"
    ax.set_title(escape_mathtext(f"Time to {what}" + (f" by {by}" if by else "")))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    return ax


def funnel(frame: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bars from the input rows to delivery (:func:`smskit.analytics.funnel_counts`): rows, invalid,
    suppressed, sent, accepted, delivered; each labelled with its count and share (of the input rows up
    to *sent*, of sent after)."""
    table = frame if _is_table(frame, ["stage", "count", "of_rows", "share"]) else analytics.funnel_counts(frame)
    stages = [str(s) for s in table["stage"]]
    ax = _axes(ax, height=max(3.0, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    colors = [_STAGE_COLORS.get(s, NOT_SENT_COLOR) for s in stages]
    ax.barh(y, table["count"], color=colors, height=0.6)
    peak = max(int(table["count"].max()), 1)
    for yi, (stage, n, of_rows, share) in enumerate(
        zip(stages, table["count"], table["of_rows"], table["share"], strict=True)
    ):
        if stage == "rows":
            text = f"{n:,}"
        elif np.isfinite(share) and stage != "sent":
            text = f"{n:,} ({format_percent(share)} of sent)"
        else:
            text = f"{n:,}" + (f" ({format_percent(of_rows)})" if np.isfinite(of_rows) else "")
        ax.annotate(text, (n, y[yi]), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_yticks(y, stages)
    ax.set_xlim(0, peak * 1.35)
    _count_axis(ax.xaxis)
    ax.set_xlabel("Recipients")
    ax.set_title("Campaign funnel: input rows → sent → accepted → delivered")
    return ax


def uplift(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Each arm's effect against the control, with its interval: ITT and CACE side by side.

    ``table`` is :func:`smskit.experiments.compare_arms`' result. One row per non-control arm; the
    intention-to-treat difference (every assigned recipient) is the upper mark, the complier average
    causal effect (the recipients the message reached) the lower one. A CACE whose interval is
    unbounded is drawn as a point marked "unbounded". Rates are in percentage points.
    """
    analytics._require(table, ["variant", "control", "diff", "diff_low", "diff_high"])
    from smskit.experiments import METRIC_NAMES

    metric = str(table.attrs.get("metric", "effect"))
    name = escape_mathtext(METRIC_NAMES.get(metric, metric))
    confidence = float(table.attrs.get("confidence", 0.95))
    rate = metric in _RATE_METRICS
    control = [str(v) for v in table.loc[table["control"].astype(bool), "variant"]]
    arms = table.loc[~table["control"].astype(bool)]
    has_cace = "cace" in arms.columns and bool(arms["cace"].notna().any())
    ax = _axes(ax, height=max(2.5, 0.8 * len(arms) + 1.5))
    y = np.arange(len(arms))[::-1].astype(float)
    offset = 0.15 if has_cace else 0.0
    series = [("diff", "ITT: every assigned recipient", ITT_COLOR, y + offset)]
    if has_cace:
        series.append(("cace", "CACE: complier average causal effect (reached)", CACE_COLOR, y - offset))
    for column, label, color, ys in series:
        mid = arms[column].to_numpy(dtype=float)
        low = arms[f"{column}_low"].to_numpy(dtype=float)
        high = arms[f"{column}_high"].to_numpy(dtype=float)
        bounded = np.isfinite(low) & np.isfinite(high)
        err = np.clip(np.vstack([mid - low, high - mid]), 0.0, None)
        ax.errorbar(
            mid[bounded], ys[bounded], xerr=err[:, bounded], fmt="o", color=color, ecolor=color, capsize=4, label=label
        )
        for x, yy in zip(mid[~bounded & np.isfinite(mid)], ys[~bounded & np.isfinite(mid)], strict=True):
            ax.plot([x], [yy], marker="o", mfc="white", color=color)
            ax.annotate("unbounded", (x, yy), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(0.0, color=INTERVAL_COLOR, lw=1)
    versus = f" vs {escape_mathtext(control[0])}" if control else ""
    ax.set_yticks(y, [escape_mathtext(str(v)) + versus for v in arms["variant"]])
    ax.set_ylim(-0.7, len(arms) - 0.3)
    if rate:
        _points_axis(ax.xaxis)
    unit = " (percentage points)" if rate else ""
    ax.set_xlabel(f"Difference from control in {name}{unit}, {confidence:.0%} intervals")
    ax.set_title(f"Effect on {name} against {escape_mathtext(control[0]) if control else 'control'}")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best", frameon=False)
    return ax


def conversion_over_time(
    frame: pd.DataFrame,
    *,
    variant: str = "variant",
    converted_at: str = "converted_at",
    freq: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cumulative share of each arm's assigned recipients converted, over the outcome window.

    ``frame`` is :func:`smskit.experiments.attach_outcomes`' result: every assigned row counts in
    its arm's denominator, and a recipient counts as converted from its first event in the window
    (``converted_at``, binned by ``freq``, default about 24–48 bins).
    """
    analytics._require(frame, [variant, converted_at])
    work = frame.loc[frame[variant].notna()]
    arm = work[variant].astype(str)
    times = pd.to_datetime(work[converted_at], utc=True)
    freq = freq or _auto_freq(work, on=converted_at)
    ax = _axes(ax)
    names = (
        [str(c) for c in work[variant].cat.categories if (arm == str(c)).any()]
        if isinstance(work[variant].dtype, pd.CategoricalDtype)
        else sorted(arm.unique())
    )
    bins = times.dt.floor(freq)
    start, end = bins.min(), bins.max()
    if pd.isna(start):
        start = end = pd.Timestamp(0, tz="UTC")
    grid = pd.date_range(start, end, freq=freq)
    for i, name in enumerate(names):
        mine = arm == name
        counts = bins[mine].value_counts().reindex(grid, fill_value=0).sort_index()
        share = counts.cumsum() / int(mine.sum())
        label = f"{escape_mathtext(name)} (n={int(mine.sum()):,})"
        color = _LINE_COLORS[i % len(_LINE_COLORS)]
        ax.step(grid.tz_localize(None).to_numpy(), share.to_numpy(), where="post", color=color, lw=1.6, label=label)
    _date_axis(ax)
    _percent_axis(ax.yaxis, decimals=None)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("Converted (% of assigned, cumulative)")
    ax.set_xlabel(f"Time of the first event in the window (UTC, {freq} bins)")
    ax.set_title(f"Conversion over the window by {escape_mathtext(variant)}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title=escape_mathtext(variant), fontsize=8, loc="upper left", frameon=False)
    return ax


def escape_mathtext(text: str) -> str:
    """``text`` shown as it is in a matplotlib label: an unescaped ``$`` starts mathtext (and can fail
    to parse); matplotlib shows ``\\$`` as ``$`` and treats no other backslash specially."""
    return str(text).replace("$", r"\$")


def save_figures(
    frame: pd.DataFrame,
    directory: str | Path,
    *,
    by: str | None = None,
    freq: str | None = None,
    dpi: int = 120,
) -> dict[str, Path]:
    """Write the five delivery figures as PNG files into ``directory``; returns name → path.

    ``by`` groups the rate figure (default ``template_id`` when present, else ``country``); ``freq``
    defaults to the finest bin giving at most 48 points over the send window
    (:func:`smskit.analytics.time_bin`). Uses no pyplot state, so it
    is safe from scripts and threads.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    group = by or ("template_id" if "template_id" in frame.columns else "country")
    drawings = {
        "funnel": lambda ax: funnel(frame, ax=ax),
        "delivery_rate": lambda ax: delivery_rate(frame, by=group, ax=ax),
        "delivery_over_time": lambda ax: delivery_over_time(frame, freq=freq or _auto_freq(frame), ax=ax),
        "failure_reasons": lambda ax: failure_reasons(frame, ax=ax),
        "latency": lambda ax: latency(frame, ax=ax),
    }
    paths: dict[str, Path] = {}
    for name, draw in drawings.items():
        paths[name] = out / f"{name}.png"
        save_png(draw, paths[name], size=figure_size(name), dpi=dpi)
    return paths


_FIGURE_SIZES = {"funnel": (8.0, 3.0), "failure_reasons": (10.0, 5.0)}


def figure_size(name: str) -> tuple[float, float]:
    """Width and height in inches for one of the standard figures (8 × 4.5 unless it needs other)."""
    return _FIGURE_SIZES.get(name, (8.0, 4.5))


def save_png(
    draw: Callable[[Axes], object],
    target: str | Path | BinaryIO,
    *,
    size: tuple[float, float] = (8.0, 4.5),
    dpi: int = 100,
) -> Path | BinaryIO:
    """Draw onto a fresh Axes of a pyplot-free Figure (thread-safe) and write it as PNG to ``target``
    (a path or a binary file object); returns ``target`` (a path as :class:`~pathlib.Path`).

    The one place smskit turns a figure into PNG: the report, :func:`save_figures` and the Dashboard
    (:func:`png_bytes`) all come through here.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(fig.add_subplot())
    out = Path(target) if isinstance(target, str | Path) else target
    fig.savefig(out, format="png", dpi=dpi)
    return out


def png_bytes(draw: Callable[[Axes], object], *, size: tuple[float, float] = (7.0, 3.2), dpi: int = 90) -> bytes:
    """:func:`save_png` into memory: the PNG bytes of one figure drawn by ``draw(ax)`` (for widgets)."""
    buffer = io.BytesIO()
    save_png(draw, buffer, size=size, dpi=dpi)
    return buffer.getvalue()


# --- helpers -------------------------------------------------------------------------------------------


def _is_table(frame: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Whether ``frame`` is already the analytics table (counts as integers), not rows to aggregate."""
    if not set(columns) <= set(frame.columns):
        return False
    counts = "delivered" if "delivered" in columns else "count"
    return pd.api.types.is_integer_dtype(frame[counts].dtype)


def _axes(ax: Axes | None, *, height: float = 4.5, width: float = 8) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(width, min(height, 12)), layout="constrained")
    return new


def _percent_axis(axis: object, *, decimals: int | None = 0) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1, decimals=decimals))  # type: ignore[attr-defined]


def _points_axis(axis: object) -> None:
    """Differences of rates in percentage points (0.021 → "+2.1 pp")."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:+.1f} pp" if v else "0"))  # type: ignore[attr-defined]


def _count_axis(axis: object) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))  # type: ignore[attr-defined]
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))  # type: ignore[attr-defined]


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _naive_utc(times: pd.Series) -> np.ndarray:
    return pd.to_datetime(times, utc=True).dt.tz_localize(None).to_numpy()


def _group_labels(table: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    parts = [table[k].astype("string").fillna("(unknown)").to_numpy() for k in keys]
    return [escape_mathtext(" · ".join(str(p[i]) for p in parts)) for i in range(len(table))]


def _title(column: str) -> str:
    return column.replace("_", " ").capitalize()


def _shorten(text: object, width: int) -> str:
    s = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def _patch(color: str, label: str) -> object:
    from matplotlib.patches import Patch

    return Patch(facecolor=color, edgecolor="#555555", lw=0.5, label=label)


def _auto_freq(frame: pd.DataFrame, *, on: str = "sent_at") -> str:
    """:func:`smskit.analytics.time_bin` for the send times: at most 48 points over the send window."""
    return analytics.time_bin(frame[on], max_bins=48) if on in frame.columns else "1h"
