"""The report document's content: :func:`summarize` builds the row-level frame, the summary tables, the
figure list and the caveats (pure; nothing is written).

Two modes:

* **funnel** (send results given): every input row from :func:`smskit.delivery_funnel`, starting at the
  input rows (rows → invalid → suppressed → sent → accepted → delivered); rates are over sent
  recipients, and recipients still without a report count as not delivered.
* **reports**: one row per reported message from :func:`smskit.reports.funnel.final_state`; rates are
  over messages that have at least one report. A console export's send-time and template columns, when
  present (:func:`~smskit.summary.inputs.export_send_info`), add latency and the per-template breakdown.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from smskit import analytics
from smskit.display import format_interval, format_percent
from smskit.errors import DataValidationError
from smskit.summary.inputs import message_frame
from smskit.summary.render import html_sections

if TYPE_CHECKING:
    from smskit.experiments import SampleRatio

__all__ = [
    "EXPERIMENT_READING",
    "HEADLINE_LABELS",
    "OUTCOME_METRICS",
    "DeliveryReport",
    "ExperimentSection",
    "Mode",
    "overview_table",
    "summarize",
]

Mode = Literal["funnel", "reports"]


_MAX_RATE_FIGURES = 3

#: The outcome columns an experiment is compared on, in the order the report shows them (from
#: ``experiments.attach_outcomes`` and ``experiments.attach_replies``).
OUTCOME_METRICS: tuple[str, ...] = ("converted", "value", "replied", "unsubscribed")

#: How to read the Experiment section, shown under its verdicts.
EXPERIMENT_READING = (
    "Intention to treat (ITT): every assigned recipient counts in its arm, sent or not, delivered or not. "
    "CACE (complier average causal effect): the effect among the recipients the message reached, the ITT "
    "difference divided by the difference in delivery rate. p_adjusted is Holm's adjustment across the "
    "arms compared on each outcome; an arm is said to move an outcome only when p_adjusted is below the "
    "significance level and the interval leaves out zero."
)


@dataclass(frozen=True)
class ExperimentSection:
    """The report's Experiment section: each outcome compared against the control arm.

    ``tables`` maps a title to its ``experiments.compare_arms`` table (numbers as numbers);
    ``verdicts`` maps each outcome metric to ``experiments.verdict`` of its table; ``figures`` names
    the entries of ``DeliveryReport.figures`` drawn in this section; ``sample_ratio`` is the
    ``experiments.check_sample_ratio`` result when the planned shares were given.
    """

    control: str
    tables: dict[str, pd.DataFrame]
    verdicts: dict[str, str]
    figures: tuple[str, ...] = ()
    sample_ratio: SampleRatio | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """What a report says: the row-level frame, titled summary tables and caveats.

    ``tables`` keeps numbers as numbers (rates in 0–1); formatting happens when rendering.
    ``figures`` lists the figures that apply: name → (title, drawing options). ``headline`` is the
    one-line summary shown first; ``campaigns`` the campaign ids the reports' ``extend`` names;
    ``experiment`` the Experiment section when the results carry outcomes (None otherwise).
    """

    mode: Mode
    frame: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    figures: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    confidence: float = 0.95
    campaigns: tuple[str, ...] = ()
    headline: str = ""
    experiment: ExperimentSection | None = None

    def _repr_html_(self) -> str:
        """The summary tables and notes (escaped), as a fragment for a notebook; write_report adds figures."""
        return "\n".join(html_sections(self))


def summarize(
    reports: pd.DataFrame,
    *,
    results: pd.DataFrame | None = None,
    send_info: pd.DataFrame | None = None,
    by: Sequence[str] | None = None,
    variant: str = "variant",
    control: str | None = None,
    confidence: float = 0.95,
    sources: Sequence[str] = (),
    campaign: str | Sequence[str] | None = None,
    unknown_by: Literal["note", "raise"] = "note",
    outcome_metrics: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> DeliveryReport:
    """Build the delivery report's frame, tables and figure list (pure; nothing is written).

    Parameters
    ----------
    reports : a frame from :func:`smskit.read_status_reports`.
    results : ``send_campaign`` results (optionally joined with recipient columns such as a variant);
        gives the funnel mode. Without it the report covers the reported messages only.
    send_info : per-message ``sent_at``/``template_id`` for the reports mode (:func:`export_send_info`).
    by : columns to break the delivery rate down by; default ``template_id`` and ``country`` (from
        the numbers) where available. Unknown columns are left out with a note, or raise
        ``DataValidationError`` naming the valid ones with ``unknown_by="raise"``.
    variant, control : when the frame has the ``variant`` column, the arms' delivery is compared
        (:func:`smskit.experiments.compare_arms`) against ``control`` (default the first arm that was
        sent), and their outcomes against ``control`` (default the held-out arm).
    sources : names of the report sources, listed in the overview.
    campaign : keep only the reports (and results) of these campaign ids (the ``extend`` prefix smskit's
        sends carry). The report always says which campaigns it covers.
    outcome_metrics : the outcomes of the Experiment section, among :data:`OUTCOME_METRICS`; default
        those the results carry (``experiments.attach_outcomes`` / ``attach_replies`` columns). The
        results must hold every assigned recipient, held-out rows included (intention to treat).
    weights : the arms' planned shares (as given to ``assign_variants``): adds the sample-ratio check.
    """
    from smskit.reports.funnel import delivery_funnel

    notes: list[str] = []
    reports, results, campaigns = _select_campaigns(reports, results, campaign, notes)
    if results is not None:
        mode: Mode = "funnel"
        frame = delivery_funnel(results, reports)  # keeps every column of results
    else:
        mode = "reports"
        frame = message_frame(reports, send_info=send_info)
        notes.append(
            "Without send results, rates are over messages that have at least one status report; "
            "messages never reported are not counted (pass the send results for the full funnel)."
        )
    tables: dict[str, pd.DataFrame] = {"Overview": overview_table(frame, reports, mode=mode, confidence=confidence)}
    figures: dict[str, tuple[str, dict[str, Any]]] = {}
    if mode == "funnel":
        tables["Funnel"] = analytics.funnel_counts(frame)
        figures["funnel"] = ("Funnel: input rows → sent → accepted → delivered", {})
    experiment = None
    if variant in frame.columns and frame[variant].notna().any():
        sent_arms = set(frame.loc[analytics.sent_rows(frame), variant].dropna().astype(str))
        if sent_arms:
            delivery_control = control if control in sent_arms else None  # a holdout has no deliveries
            table, caveats = _compare(frame, variant=variant, control=delivery_control, confidence=confidence)
            tables[f"A/B comparison ({variant})"] = table
            notes.extend(caveats)
            figures[f"delivery_rate_by_{_slug(variant)}"] = (
                f"Delivery rate by {variant}",
                {"by": variant, "zoom": True},
            )
        if mode == "funnel":
            experiment = _experiment(
                frame,
                variant=variant,
                control=control if control is not None else _holdout_arm(frame, variant),
                metrics=outcome_metrics,
                weights=weights,
                confidence=confidence,
                figures=figures,
                notes=notes,
            )
    elif outcome_metrics:
        raise DataValidationError(
            f"the results have no {variant!r} column to compare outcomes by",
            advice="join the recipients' variant column to the send results",
        )
    keys = _group_keys(frame, by, notes, strict=unknown_by == "raise")
    for key in keys:
        table = analytics.delivery_rate(frame, by=key, confidence=confidence)
        tables[f"Delivery by {key}"] = table.assign(**{key: table[key].astype("string").fillna("(unknown)")})
        if len(table) >= 2 and sum(name.startswith("delivery_rate_by_") for name in figures) < _MAX_RATE_FIGURES:
            figures[f"delivery_rate_by_{_slug(key)}"] = (f"Delivery rate by {key}", {"by": key, "sort": len(table) > 6})
    tables["Final status"] = _status_table(frame)
    failures = analytics.failure_breakdown(frame, top=10)
    if len(failures):
        tables["Failure reasons (top 10)"] = failures
        figures["failure_reasons"] = ("Why messages were not delivered", {})
    over_time = _time_options(frame)
    if over_time is not None:
        figures["delivery_over_time"] = ("Delivery rate over time", over_time)
    latency = frame["latency_s"] if "latency_s" in frame.columns else pd.Series(dtype=float)
    delivered_latency = latency[frame["delivered"].astype(bool)] if len(latency) else latency
    if delivered_latency.notna().any() and float(delivered_latency.max()) >= 1.0:
        tables["Time to delivery (seconds)"] = analytics.latency_quantiles(frame)
        figures["latency"] = ("Time from send to delivery report", {})
    elif "latency_s" in frame.columns:
        notes.append(
            "Time to delivery is not shown: no delivery report is at least a second after its send time "
            "(report times have one-second resolution)."
        )
    else:
        notes.append("Time to delivery is not shown: the sources carry no send times.")
    if mode == "reports":  # the rate tables' denominators are reported messages, not sends
        tables = {
            k: t.rename(columns={"sent": "messages"}) if k.startswith("Delivery by") else t for k, t in tables.items()
        }
    return DeliveryReport(
        mode=mode,
        frame=frame,
        tables=tables,
        notes=tuple(dict.fromkeys(notes)),
        figures=figures,
        sources=tuple(str(s) for s in sources),
        confidence=confidence,
        campaigns=campaigns,
        headline=_headline(frame, tables, mode=mode, variant=variant, experiment=experiment),
        experiment=experiment,
    )


def _select_campaigns(
    reports: pd.DataFrame,
    results: pd.DataFrame | None,
    campaign: str | Sequence[str] | None,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame | None, tuple[str, ...]]:
    """Keep the reports (and results) of ``campaign``; return them with the campaigns they cover."""
    from smskit.reports.funnel import campaign_of

    of_reports = campaign_of(reports["extend"])
    found = sorted(set(of_reports.dropna()))
    if results is not None and "extend" in results.columns:
        found = sorted(set(found) | set(campaign_of(results["extend"]).dropna()))
    if campaign is None:
        if len(found) > 1:
            counts = of_reports.value_counts()
            listed = ", ".join(f"{c} ({int(counts.get(c, 0)):,} reports)" for c in found)
            notes.append(
                f"The sources hold {len(found)} campaigns: {listed}; the numbers mix them "
                "(report on one with --campaign C, or campaign= in Python)."
            )
        return reports, results, tuple(found)
    wanted = [campaign] if isinstance(campaign, str) else list(campaign)
    missing = [c for c in wanted if c not in found]
    if missing:
        raise DataValidationError(
            f"no campaign {', '.join(map(repr, missing))} in the sources",
            advice="the campaigns found are: " + (", ".join(found) or "none (the reports carry no campaign id)"),
        )
    reports = reports.loc[of_reports.isin(wanted).fillna(False).to_numpy()]
    if results is not None and "extend" in results.columns:
        of_results = campaign_of(results["extend"])
        results = results.loc[(of_results.isin(wanted) | of_results.isna()).fillna(True).to_numpy()]
    return reports, results, tuple(wanted)


#: How the report names each of :func:`smskit.analytics.headline_counts`.
HEADLINE_LABELS: dict[str, str] = {
    "rows": "input rows",
    "invalid": "invalid (not sent)",
    "suppressed": "suppressed (not sent)",
    "deferred": "deferred (not sent yet: a time rule)",
    "expired": "expired (window closed, never sent)",
    "held out": "held out (experiment holdout, not sent)",
    "unsent": "unsent (not sent yet)",
    "sent": "recipients sent to",
    "accepted": "accepted by the platform",
    "rejected": "rejected at submission",
    "unknown": "outcome unknown (no answer, no report)",
    "messages": "messages reported",
    "reports": "status reports read",
    "delivered": "delivered",
    "failed": "failed (final report)",
    "awaiting report": "no final report yet",
}


def overview_table(frame: pd.DataFrame, reports: pd.DataFrame, *, mode: Mode, confidence: float) -> pd.DataFrame:
    """The report's Overview: :func:`smskit.analytics.headline_counts` under :data:`HEADLINE_LABELS`, the
    number of reports read and the delivery rate with its interval (values as text)."""
    overall = analytics.delivery_rate(frame, confidence=confidence).iloc[0]
    counts = analytics.headline_counts(frame)
    if mode == "funnel":  # the input rows first, then the not-sent states some row has
        shown = [k for k in analytics.NOT_SENT_HEADLINES if counts[k]]
        before = ["rows", *shown, "sent", "accepted", "rejected", "unknown"]
    else:
        before = ["messages"]
    rows: list[tuple[str, object]] = [(HEADLINE_LABELS[k], int(counts[k])) for k in before]
    rows.append((HEADLINE_LABELS["reports"], _reports_read(reports)))
    rows += [(HEADLINE_LABELS[k], int(counts[k])) for k in ("delivered", "failed", "awaiting report")]
    rows += [
        ("delivery rate", format_percent(overall["rate"])),
        (f"{confidence:.0%} interval (Wilson)", format_interval(overall["low"], overall["high"])),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})


def _reports_read(reports: pd.DataFrame) -> str:
    """``"197 for 190 messages (long messages report once per segment)"``: why reports outnumber messages."""
    n_messages = int(reports["sms_msg_id"].nunique())
    if len(reports) <= n_messages:
        return f"{len(reports):,}"
    n_segments = len(reports[["sms_msg_id", "sequence"]].drop_duplicates())
    why = ["long messages report once per segment"] if n_segments > n_messages else []
    if len(reports) > n_segments:
        why.append(f"{len(reports) - n_segments:,} intermediate or repeated reports, e.g. ACCEPTD before DELIVRD")
    return f"{len(reports):,} for {n_messages:,} messages ({'; '.join(why)})"


def _headline(
    frame: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    *,
    mode: Mode,
    variant: str,
    experiment: ExperimentSection | None,
) -> str:
    """One line: delivered x of y, the biggest failure reason, and the experiment's verdict if any (the
    first outcome's; without outcomes, the arms' delivery)."""
    from smskit.experiments import verdict

    counts = analytics.headline_counts(frame)
    base, what = ("sent", "sent") if mode == "funnel" else ("messages", "reported messages")
    n, delivered = int(counts[base]), int(counts["delivered"])
    rate = f" ({format_percent(delivered / n)})" if n else ""
    parts = [f"Delivered {delivered:,} of {n:,} {what}{rate}."]
    failures = analytics.failure_breakdown(frame, pending=False)
    if len(failures):
        top = failures.iloc[0]
        parts.append(f"Biggest failure reason: {top['code']} — {top['meaning']} ({int(top['count']):,}).")
    if counts["awaiting report"]:
        parts.append(f"{int(counts['awaiting report']):,} still awaiting a final report.")
    arms = tables.get(f"A/B comparison ({variant})")
    if experiment is not None and experiment.verdicts:
        parts.append("Experiment: " + next(iter(experiment.verdicts.values())))
    elif arms is not None and len(arms) >= 2 and arms["control"].any():
        parts.append("A/B delivery: " + verdict(arms))
    return " ".join(parts)


def _holdout_arm(frame: pd.DataFrame, variant: str) -> str | None:
    """The arm of the held-out rows, when they all share one."""
    if "state" not in frame.columns:
        return None
    arms = frame.loc[frame["state"].astype("string").eq("held_out").fillna(False).to_numpy(), variant].dropna()
    names = arms.astype(str).unique()
    return str(names[0]) if len(names) == 1 else None


def _experiment(
    frame: pd.DataFrame,
    *,
    variant: str,
    control: str | None,
    metrics: Sequence[str] | None,
    weights: Mapping[str, float] | None,
    confidence: float,
    figures: dict[str, tuple[str, dict[str, Any]]],
    notes: list[str],
) -> ExperimentSection | None:
    """Each outcome compared against ``control`` (ITT and CACE), its verdict and figures; None without
    outcome columns. Adds the figures to ``figures`` and the experiment's caveats to ``notes``."""
    from smskit.experiments import METRIC_NAMES, ExperimentWarning, check_sample_ratio, compare_arms, verdict

    if metrics is None:
        present = [m for m in OUTCOME_METRICS if m in frame.columns]
        wanted = [m for m in present if m != "value" or "converted" in present]  # value comes with converted
    else:
        unknown = [m for m in metrics if m not in OUTCOME_METRICS]
        if unknown:
            raise ValueError(f"outcome metrics must be among {OUTCOME_METRICS}, not {unknown}")
        missing = [m for m in metrics if m not in frame.columns]
        if missing:
            raise DataValidationError(
                f"the results have no outcome column(s) {missing}",
                advice="attach them first: experiments.attach_outcomes / attach_replies",
            )
        wanted = list(dict.fromkeys(metrics))
    if not wanted:
        return None
    tables: dict[str, pd.DataFrame] = {}
    verdicts: dict[str, str] = {}
    names: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExperimentWarning)
        for metric in wanted:
            table = compare_arms(frame, control=control, metric=metric, variant=variant, confidence=confidence)  # type: ignore[arg-type]
            table = pd.concat([table.loc[table["control"]], table.loc[~table["control"]]])  # the control first
            table = table.reset_index(drop=True)
            control = str(table.loc[table["control"], "variant"].iloc[0])
            name = METRIC_NAMES[metric]
            title = f"{name[:1].upper()}{name[1:]} against {control}: ITT and CACE"
            tables[title] = table
            verdicts[metric] = verdict(table)
            figures[f"uplift_{metric}"] = (f"Effect on {name} against {control}: ITT and CACE", {"table": title})
            names.append(f"uplift_{metric}")
        ratio = check_sample_ratio(frame, weights, variant=variant) if weights is not None else None
    if ratio is not None:
        tables["Arm sizes against the plan"] = ratio.table
    if "converted" in wanted and "converted_at" in frame.columns:
        figures["conversion_over_time"] = ("Conversion over the outcome window, by arm", {"variant": variant})
        names.append("conversion_over_time")
    notes.extend(f"Experiment: {w.message}" for w in caught if issubclass(w.category, ExperimentWarning))
    return ExperimentSection(
        control=str(control), tables=tables, verdicts=verdicts, figures=tuple(names), sample_ratio=ratio
    )


def _compare(
    frame: pd.DataFrame, *, variant: str, control: str | None, confidence: float
) -> tuple[pd.DataFrame, list[str]]:
    from smskit.experiments import ExperimentWarning, compare_arms

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExperimentWarning)
        table = compare_arms(frame, variant=variant, control=control, confidence=confidence)
    caveats = [str(w.message) for w in caught if issubclass(w.category, ExperimentWarning)]
    if "template_id" in frame.columns:
        arm = frame[variant].astype("string")
        template = frame["template_id"].astype("string")
        templates = template.groupby(arm, observed=True).agg(lambda s: ", ".join(s.dropna().unique()))
        table.insert(1, "template_id", table["variant"].map(templates))
    return table, [f"A/B comparison: {c}" for c in caveats]


def _group_keys(frame: pd.DataFrame, by: Sequence[str] | None, notes: list[str], *, strict: bool) -> list[str]:
    has_numbers = "to" in frame.columns and frame["to"].notna().any()
    if by is None:
        wanted = [k for k in ("template_id",) if k in frame.columns and frame[k].notna().any()]
        return wanted + (["country"] if has_numbers else [])
    derivable = [k for k in ("country", "carrier") if has_numbers] + (["hour"] if "sent_at" in frame.columns else [])
    valid = [str(c) for c in frame.columns if c not in _NOT_KEYS] + [k for k in derivable if k not in frame.columns]
    keys: list[str] = []
    for key in dict.fromkeys(by):
        if key in frame.columns or key in derivable:
            keys.append(key)
        elif strict:
            raise DataValidationError(
                f"cannot break the delivery rate down by {key!r}: the data has no such column",
                advice=f"use one of: {', '.join(valid)}",
            )
        else:
            notes.append(f"No breakdown by {key!r}: the data has no such column.")
    return keys


#: Columns that are values, not groups: never offered as a breakdown.
_NOT_KEYS = frozenset(
    (
        *("sms_msg_id", "sent_at", "reported_at", "latency_s", "delivered", "error", "extend", "request_no"),
        *("total", "segments_delivered", "final", "params", "text"),
    )
)


def _status_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Final status × category of the sent rows (messages in the reports mode), most frequent first."""
    frame = frame.loc[analytics.sent_rows(frame)]
    status = frame["final_status"].astype("string").fillna("(no report)")
    category = frame["category"].astype("string").fillna("unknown")
    table = (
        pd.DataFrame({"final_status": status, "category": category})
        .value_counts(sort=False)
        .rename("count")
        .reset_index()
        .sort_values(["count", "final_status"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    table["share"] = table["count"] / max(len(frame), 1)
    return table


def _time_options(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Options for the over-time figure when the data spans at least three bins of ten messages."""
    on = "sent_at" if "sent_at" in frame.columns and frame["sent_at"].notna().any() else "reported_at"
    times = pd.to_datetime(frame[on], utc=True).dropna()
    if len(times) < 30:
        return None
    limit = min(48.0, len(times) / 10)
    freq = analytics.time_bin(times, max_bins=limit)
    return {"freq": freq, "on": on} if 3 <= analytics.time_bins(times, freq) <= limit else None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", str(name)).strip("_").lower() or "group"
