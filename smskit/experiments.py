"""Campaign experiments: assign arms (with a holdout), attach outcomes, compare arms honestly.

The analysis is **intention-to-treat** (ITT): every assigned row counts in its arm, delivered or not,
invalid or not, held out or not. Dropping the undelivered rows would compare the reachable part of
one arm with all of another and bias the result. Alongside the ITT effect, :func:`compare_arms`
gives the **complier average causal effect** (CACE): the ITT effect divided by the difference in
delivery rate between the arm and the control, i.e. the effect among the recipients the message
reached (against a holdout, the difference is the arm's own delivery rate).

Statistics (documented choices):

* rates (``delivered``, ``converted``, ``replied``, ``unsubscribed``): Wilson score interval per arm
  (:func:`smskit.analytics.wilson_interval`); Newcombe's hybrid score interval (his method 10) for
  the difference; two-sided two-proportion z-test with the pooled variance (``statsmodels``'
  default);
* values (``value``, e.g. revenue per recipient, 0 for those who bought nothing): Student t
  interval per arm; Welch's unequal-variance t interval and test for the difference;
* CACE: Fieller's interval for the ratio of the ITT difference to the delivery-rate difference,
  with their (unpooled) variances and covariance. It is unbounded (``-inf``/``inf``) when the
  delivery rates do not differ significantly, e.g. between two arms that were both sent;
* Holm's step-down adjustment of the p-values over the non-control arms (``p_adjusted``);
* sample size: normal approximation; for rates with the pooled variance under the null and the
  unpooled one under the alternative (Fleiss; ``statsmodels.samplesize_proportions_2indep_onetail``),
  for values with a common standard deviation (``statsmodels.NormalIndPower``);
* sample-ratio check: chi-square goodness of fit of the arm counts to the planned shares; a p-value
  below :data:`SRM_ALPHA` (0.001) is reported as a mismatch.

Misuse is reported with :class:`ExperimentWarning`: a single arm, arms too small for the normal
approximation, arms sent over different windows or with reports still missing for one of them,
outcome windows still open (peeking), windows observed unequally between arms, a CACE that cannot
be bounded, and a sample-ratio mismatch.

Usage::

    people = assign_variants(recipients, {"holdout": 0.1, "A": 0.45, "B": 0.45}, seed=7, id="customer_id")
    plan = plan_arms(people, arms={"A": "tpl_short", "B": "tpl_long"}, holdout="holdout", to="phone")
    results = send_campaign(plan, client=client)
    frame = results.join(delivery_funnel(results, reports)[["delivered"]]).join(people[["customer_id", "variant"]])
    frame = attach_outcomes(frame, orders, on="customer_id", time="ordered_at", value="amount")
    compare_arms(frame, control="holdout", metric="converted")
"""

from __future__ import annotations

import hashlib
import html
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from smskit import analytics
from smskit._distributions import chi2_sf, normal_quantile, t_quantile, t_two_sided
from smskit.errors import DataValidationError

if TYPE_CHECKING:
    from smskit.campaign.plan import CampaignPlan

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "SRM_ALPHA",
    "ExperimentWarning",
    "SampleRatio",
    "SampleSize",
    "arm_templates",
    "assign_variants",
    "attach_outcomes",
    "attach_replies",
    "check_sample_ratio",
    "compare_arms",
    "minimum_detectable_effect",
    "newcombe_interval",
    "plan_arms",
    "sample_size",
    "two_proportion_ztest",
    "verdict",
]

Metric = Literal["delivered", "converted", "value", "replied", "unsubscribed"]
#: What :func:`compare_arms` can compare; all but ``value`` are rates.
METRICS: tuple[str, ...] = ("delivered", "converted", "value", "replied", "unsubscribed")
_RATE_OUTCOMES = ("converted", "replied", "unsubscribed")
#: How :func:`verdict` and the report name each metric.
METRIC_NAMES: dict[str, str] = {
    "delivered": "delivery rate",
    "converted": "conversion",
    "value": "value per recipient",
    "replied": "reply rate",
    "unsubscribed": "unsubscribe rate",
}
#: Column with the share of each row's outcome window observed, by metric (see attach_outcomes).
_OBSERVED = {
    "converted": "outcome_observed",
    "value": "outcome_observed",
    "replied": "replies_observed",
    "unsubscribed": "replies_observed",
}

#: Thresholds behind the warnings of :func:`compare_arms` and :func:`check_sample_ratio`.
MIN_PER_ARM = 100
MIN_EXPECTED = 10
MIN_WINDOW_OVERLAP = 0.8
MAX_COVERAGE_GAP = 0.05
SRM_ALPHA = 0.001


class ExperimentWarning(UserWarning):
    """An experiment's result may be misleading; the message says why and what to do."""


class SampleSize(NamedTuple):
    """Recipients needed per arm."""

    control: int
    treatment: int

    @property
    def total(self) -> int:
        return self.control + self.treatment


# ------------------------------------------------------------------------------------------ assignment


def assign_variants(
    frame: pd.DataFrame,
    variants: Mapping[str, float] | Sequence[str],
    *,
    seed: int | np.random.Generator,
    stratify: str | Sequence[str] | None = None,
    column: str = "variant",
    id: str | None = None,
) -> pd.DataFrame:
    """Copy of ``frame`` with a ``column`` of variant names, deterministic from ``(seed, id)``.

    ``variants`` maps names to proportions (normalized), or lists names for equal shares; a holdout
    is one more name (``{"holdout": 0.1, "A": 0.45, "B": 0.45}``). Each recipient's id (the ``id``
    column, default the index; compared as text) is hashed with the seed (keyed BLAKE2b) to a
    number in [0, 1):

    * without ``stratify`` that number picks the arm, so a re-run, another row order or appended
      rows never move anyone, and arm sizes vary by chance (:func:`check_sample_ratio` tests them);
    * with ``stratify`` every stratum (combination of the columns; missing values form their own)
      gets exactly its share of each arm (largest remainder, ties broken by the seed), filled in the
      order of the hashed ids. A re-run or another row order gives the same arms; appending rows to
      a stratum can move a recipient sitting at an arm boundary of that stratum.

    Ids must be unique and present. An int ``seed`` makes the arms reproducible; a Generator is
    consumed for one draw.
    """
    names, weights = _variant_weights(variants)
    if column in frame.columns:
        raise DataValidationError(
            f"the frame already has a {column!r} column",
            advice="drop it first to re-assign, or pass another column= name",
        )
    key = _seed_key(seed)
    hashed = _hash_ids(_recipient_ids(frame, id), key)
    n = len(frame)
    if stratify is None:
        bounds = np.cumsum(weights)[:-1]
        labels = np.searchsorted(bounds, (hashed >> np.uint64(11)).astype(float) * 2.0**-53, side="right")
    else:
        keys = [stratify] if isinstance(stratify, str) else list(stratify)
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DataValidationError(
                f"cannot stratify by {missing}: not columns of the frame", advice="name existing columns"
            )
        strata = frame.groupby(keys, dropna=False, sort=True, observed=True).ngroup().to_numpy(dtype="int64")
        sizes = np.bincount(strata, minlength=int(strata.max()) + 1 if n else 0)
        counts = _largest_remainder(sizes, weights, np.random.default_rng(int.from_bytes(key, "little")))
        order = np.lexsort((hashed, strata))
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        sorted_strata = strata[order]
        position = np.arange(n) - starts[sorted_strata]
        labels = np.empty(n, dtype="int64")
        labels[order] = (np.cumsum(counts, axis=1)[sorted_strata] <= position[:, None]).sum(axis=1)
    out = frame.copy()
    out[column] = pd.Categorical.from_codes(labels, categories=pd.Index(names, dtype=str))
    return out


def check_sample_ratio(
    frame: pd.DataFrame, weights: Mapping[str, float] | Sequence[str], *, variant: str = "variant"
) -> SampleRatio:
    """Chi-square goodness of fit of the arm counts to the planned ``weights`` (as in assign_variants).

    Counts every row with a variant. Warns (:class:`ExperimentWarning`) on a sample-ratio mismatch,
    ``p_value < SRM_ALPHA`` (0.001: with a sound assignment a false alarm once in a thousand
    checks): rows were lost or added unevenly (a join, a filter, an arm sent twice), and no effect
    measured on these arms can be trusted until the cause is found.
    """
    names, shares = _variant_weights(weights)
    if variant not in frame.columns:
        raise DataValidationError(f"the frame has no {variant!r} column", advice="run assign_variants first")
    arm = frame[variant].dropna().astype(str)
    unknown = sorted(set(arm.unique()) - set(names))
    if unknown:
        rows = frame.loc[frame[variant].astype("string").isin(unknown)].assign(problem="arm not in weights")
        raise DataValidationError(
            f"arm(s) {unknown} are not in the planned weights {names}", rows=rows, advice="pass every arm's share"
        )
    observed = arm.value_counts().reindex(names, fill_value=0).to_numpy(dtype=float)
    total = observed.sum()
    expected = total * shares
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (observed - expected) ** 2 / expected, np.where(observed > 0, np.inf, 0.0))
    statistic = float(terms.sum())
    df = max(int((expected > 0).sum()) - 1, 1)
    p_value = float(chi2_sf(statistic, df)[0]) if total else float("nan")
    table = pd.DataFrame(
        {
            "variant": names,
            "n": observed.astype("int64"),
            "expected": expected,
            "share": observed / total if total else np.nan,
            "expected_share": shares,
        }
    )
    result = SampleRatio(statistic=statistic, df=df, p_value=p_value, table=table)
    if result.mismatch:
        got = ", ".join(f"{v}: {s:.1%}" for v, s in zip(names, table["share"], strict=True))
        want = ", ".join(f"{v}: {s:.1%}" for v, s in zip(names, shares, strict=True))
        warnings.warn(
            f"sample-ratio mismatch: the arms hold {got} of {int(total):,} rows where {want} was planned "
            f"(chi-square p = {p_value:.2g} < {SRM_ALPHA}); rows were lost or added unevenly (a join, a "
            "filter, an arm sent twice): find the cause before reading any effect",
            ExperimentWarning,
            stacklevel=2,
        )
    return result


@dataclass(frozen=True)
class SampleRatio:
    """Result of :func:`check_sample_ratio`; ``table`` has one row per arm."""

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame

    @property
    def mismatch(self) -> bool:
        return bool(self.p_value < SRM_ALPHA)

    def __str__(self) -> str:
        said = "sample-ratio mismatch" if self.mismatch else "arm sizes match the plan"
        return f"{said} (chi-square = {self.statistic:.3g}, df = {self.df}, p = {self.p_value:.3g})"

    def _repr_html_(self) -> str:
        from smskit.display import display_table

        head = f"<p>{html.escape(str(self))}</p>"
        return head + display_table(self.table).to_html(escape=True, index=False, border=0)


def arm_templates(
    recipients: pd.DataFrame,
    *,
    arms: Mapping[str, str],
    variant_column: str = "variant",
    template_column: str = "template_id",
) -> pd.DataFrame:
    """Copy of ``recipients`` with ``template_column`` set from each row's variant via ``arms``.

    The result feeds ``plan_campaign(recipients, template_column="template_id")``. Rows whose
    variant has no template raise :class:`DataValidationError` listing them.
    """
    if variant_column not in recipients.columns:
        raise DataValidationError(
            f"recipients have no {variant_column!r} column",
            advice="run assign_variants first or pass variant_column=",
        )
    variant = recipients[variant_column].astype("string")
    template = variant.map(dict(arms)).astype("string")
    bad = template.isna()
    if bad.any():
        rows = recipients.loc[bad].assign(problem=f"variant has no template in arms={dict(arms)}")
        raise DataValidationError(
            f"{int(bad.sum())} recipient(s) have a variant with no template: "
            f"{sorted(variant[bad].fillna('<NA>').unique())}",
            rows=rows,
            advice="add those variants to arms= or drop the rows",
        )
    return recipients.assign(**{template_column: template.astype(str)})


def plan_arms(
    recipients: pd.DataFrame,
    *,
    arms: Mapping[str, str],
    holdout: str | None = None,
    variant_column: str = "variant",
    template_column: str = "template_id",
    **plan_kwargs: Any,
) -> CampaignPlan:
    """One campaign plan sending each arm with its template: :func:`arm_templates` then
    ``plan_campaign(..., template_column=template_column, **plan_kwargs)``.

    Rows of the ``holdout`` arm are planned with state ``held_out``: never sent, and kept in the
    send results (with the campaign's send start as ``sent_at``) so they can be compared.
    """
    if plan_kwargs.get("template_id") is not None:
        raise ValueError("plan_arms picks each row's template from arms=; do not pass template_id=")
    plan_kwargs.pop("template_id", None)
    from smskit.campaign.plan import plan_campaign

    held = None
    if holdout is not None:
        if holdout in arms:
            raise ValueError(f"the holdout arm {holdout!r} is never sent: do not give it a template in arms=")
        if variant_column in recipients.columns:
            held = (recipients[variant_column].astype("string") == holdout).fillna(False).to_numpy(dtype=bool)
        arms = {**arms, holdout: ""}  # no template: the rows are never sent
    frame = arm_templates(recipients, arms=arms, variant_column=variant_column, template_column=template_column)
    return plan_campaign(frame, template_column=template_column, held_out=held, **plan_kwargs)


# -------------------------------------------------------------------------------------------- outcomes


def attach_outcomes(
    frame: pd.DataFrame,
    events: pd.DataFrame,
    *,
    on: str,
    time: str,
    value: str | None = None,
    window: str | pd.Timedelta = "7D",
    until: Any = None,
    reference: str = "sent_at",
) -> pd.DataFrame:
    """Copy of ``frame`` with each recipient's outcome in the ``window`` after its reference time.

    Parameters
    ----------
    frame : one row per assigned recipient (e.g. send results joined with the variant), with the
        id column ``on`` (or an index of that name) and the ``reference`` time column.
    events : orders, clicks, sign-ups…: any frame with the id column ``on`` and a ``time`` column
        (naive times are read as UTC), optionally a numeric ``value`` column.
    window : how long after the reference time an event counts (``[reference, reference + window)``).
    until : when the events were extracted; default the latest event time. Windows ending later are
        still open: ``outcome_observed`` says how much of each was seen.
    reference : the column of reference times, ``sent_at`` by default. Held-out rows carry the
        campaign's send start there; rows without a time (invalid, suppressed, unsent) use the
        earliest reference time of the frame: the campaign start.

    Adds ``converted`` (bool: any event in the window), ``value`` (float: sum of ``value`` over
    those events, their count when ``value`` is None, 0 when none), ``converted_at`` (the first
    event's time) and ``outcome_observed`` (share of the window before ``until``, 0–1). An event
    belongs to the recipient with its id; when an id has several rows, to the row with the latest
    reference time at or before the event (the first of them on a tie). Vectorized: one hash lookup
    per event.
    """
    added = ("converted", "value", "converted_at", "outcome_observed")
    _refuse_existing(frame, added)
    span = _window_ns(window)
    ref = _reference_ns(frame, reference)
    keys = _column_or_index(frame, on)
    analytics._require(events, [on, time] + ([value] if value is not None else []))
    times = _event_times(events, time)
    amounts = np.ones(len(events)) if value is None else _event_values(events, value)
    found = _in_window(keys, ref, events[on], times, amounts, span, until)
    if len(events) and not found.n_events.any() and not keys.isin(events[on].head(1000)).any():
        warnings.warn(
            f"none of the {len(events):,} events' {on!r} values matches a recipient's: check that both "
            "columns hold the same ids with the same type (text '00123' is not the number 123)",
            ExperimentWarning,
            stacklevel=2,
        )
    out = frame.copy()
    out["converted"] = found.n_events > 0
    out["value"] = found.total
    out["converted_at"] = _utc_series(found.first, frame.index)
    out["outcome_observed"] = found.observed
    return out


def attach_replies(
    frame: pd.DataFrame,
    replies: pd.DataFrame,
    *,
    to: str = "to",
    window: str | pd.Timedelta = "7D",
    until: Any = None,
    reference: str = "sent_at",
    default_region: str | None = None,
) -> pd.DataFrame:
    """Copy of ``frame`` with ``replied`` and ``unsubscribed`` from replies within the ``window``.

    ``replies`` has the columns of ``smskit.read_replies``: ``from`` (the replier's number),
    ``create_time`` (the platform's time, when enabled) and ``received_at``, and ``unsubscribe``
    (bool). A reply counts for the row whose number ``to`` is the replier's (both normalized to
    E.164, ``default_region`` for numbers without a country code) and whose reference time is the
    latest at or before the reply, when it came within the window. Adds ``replied``,
    ``unsubscribed`` (bools), ``replied_at`` (first reply) and ``replies_observed`` (0–1); see
    :func:`attach_outcomes` for ``window``, ``until`` and ``reference``.
    """
    from smskit.numbers import normalize_numbers

    _refuse_existing(frame, ("replied", "unsubscribed", "replied_at", "replies_observed"))
    analytics._require(replies, ["from", "unsubscribe"])
    analytics._require(frame, [to])
    if "create_time" not in replies.columns and "received_at" not in replies.columns:
        raise DataValidationError(
            "replies have neither 'create_time' nor 'received_at'", advice="read them with smskit.read_replies"
        )
    span = _window_ns(window)
    ref = _reference_ns(frame, reference)
    when = pd.Series(pd.NaT, index=replies.index, dtype="datetime64[ns, UTC]")
    for column in ("received_at", "create_time"):  # the platform's own time wins when present
        if column in replies.columns:
            parsed = pd.to_datetime(replies[column], utc=True).dt.as_unit("ns")
            when = parsed.where(parsed.notna(), when)
    keep = when.notna().to_numpy()
    replies, when = replies.loc[keep], when[keep]
    ours = normalize_numbers(frame[to].astype("string"), default_region=default_region)["e164"]
    theirs = normalize_numbers(replies["from"].astype("string"), default_region=default_region)["e164"]
    unsure = theirs.isna() & replies["from"].notna()
    if unsure.any():  # "8613800138000": the country code written without its "+"
        digits = replies.loc[unsure, "from"].astype("string").str.replace(r"\D", "", regex=True).str.removeprefix("00")
        theirs[unsure] = normalize_numbers("+" + digits)["e164"]
    times = when.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    stops = replies["unsubscribe"].fillna(False).astype(float).to_numpy()
    found = _in_window(ours, ref, theirs, times, stops, span, until)
    out = frame.copy()
    out["replied"] = found.n_events > 0
    out["unsubscribed"] = found.total > 0
    out["replied_at"] = _utc_series(found.first, frame.index)
    out["replies_observed"] = found.observed
    return out


# ------------------------------------------------------------------------------------------ comparison


def compare_arms(
    frame: pd.DataFrame,
    *,
    control: str | None = None,
    metric: Metric = "delivered",
    variant: str = "variant",
    confidence: float = 0.95,
    among: analytics.Among = "sent",
    delivered: str = "delivered",
) -> pd.DataFrame:
    """Each arm's ``metric`` and its difference from the ``control`` arm.

    Parameters
    ----------
    frame : for ``"delivered"`` the delivery funnel joined with the variant column; for the
        outcome metrics one row per **assigned** recipient (held out, invalid and undelivered rows
        included) with the columns of :func:`attach_outcomes` / :func:`attach_replies` and, for the
        CACE, the funnel's ``delivered`` column (missing values count as not delivered).
    control : the reference arm, e.g. the holdout; default the first category (categorical column)
        or the first value in sorted order.
    metric : ``"delivered"`` (rate among ``among``), ``"converted"``, ``"replied"``,
        ``"unsubscribed"`` (rates) or ``"value"`` (mean per recipient).
    confidence : coverage of every interval.
    among : denominator of the delivery rate, ``"sent"`` (default) or ``"accepted"``.
    delivered : the column saying who was reached, for the CACE.

    Returns
    -------
    One row per arm: ``variant, control (bool), n, mean, low, high, diff, diff_low, diff_high,
    p_value, p_adjusted, lift``; for the outcome metrics also ``cace, cace_low, cace_high`` (the
    complier average causal effect and its Fieller interval). ``"delivered"`` starts with its
    former columns ``variant, control, sent, delivered, rate, low, high, diff, diff_low, diff_high,
    z, p_value`` and adds ``n, mean, p_adjusted, lift``. ``diff`` is arm − control (0 for the
    control), ``lift`` is ``diff`` relative to the control's mean, ``p_adjusted`` is Holm's over
    the non-control arms. Rates: Wilson, Newcombe, pooled z-test; values: t and Welch (see the
    module docstring). ``attrs`` holds ``metric`` and ``confidence``, and for the outcome metrics
    ``control_reached``: the control's delivery rate (0 for a holdout; the CACE is an effect among
    those reached only then, and a warning says so otherwise). Warns (:class:`ExperimentWarning`)
    on misuse.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if variant not in frame.columns:
        raise DataValidationError(
            f"the frame has no {variant!r} column",
            advice="join the recipients' variant column first: funnel.join(recipients['variant'])",
        )
    if metric == "delivered":
        out = _compare_delivery(frame, variant=variant, control=control, confidence=confidence, among=among)
    else:
        out = _compare_outcome(
            frame, variant=variant, control=control, metric=metric, confidence=confidence, delivered=delivered
        )
    reached = out.attrs.get("control_reached")
    out.attrs = {"metric": metric, "confidence": confidence}
    if reached is not None:
        out.attrs["control_reached"] = reached
    return out


def _compare_delivery(
    funnel: pd.DataFrame, *, variant: str, control: str | None, confidence: float, among: analytics.Among
) -> pd.DataFrame:
    table = analytics.delivery_rate(funnel, by=variant, confidence=confidence, among=among)
    table = table.loc[table[variant].notna() & (table["sent"] > 0)].reset_index(drop=True)
    arms = [str(v) for v in table[variant]]
    control = _pick_control(arms, control, what="sent messages")
    out = table.rename(columns={variant: "variant"})
    out["variant"] = out["variant"].astype(str)
    out.insert(1, "control", out["variant"] == control)
    is_control = out["control"].to_numpy()
    k1, n1 = out["delivered"].to_numpy(dtype=float), out["sent"].to_numpy(dtype=float)
    k0, n0 = float(k1[is_control][0]), float(n1[is_control][0])
    out["diff"] = out["rate"].to_numpy(dtype=float) - k0 / n0
    out["diff_low"], out["diff_high"] = newcombe_interval(k1, n1, k0, n0, confidence=confidence)
    out["z"], out["p_value"] = two_proportion_ztest(k1, n1, k0, n0)
    out.loc[is_control, ["diff", "diff_low", "diff_high"]] = 0.0
    out.loc[is_control, ["z", "p_value"]] = np.nan
    out["n"] = out["sent"]
    out["mean"] = out["rate"]
    out["p_adjusted"] = _holm(out["p_value"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["lift"] = out["diff"] / (k0 / n0)
    work = funnel.loc[analytics.sent_rows(funnel) & funnel[variant].notna()]
    _warn_single_arm(out, variant=variant, control=control)
    if len(out) >= 2:
        pooled = out["delivered"].sum() / out["sent"].sum()
        _warn_small(out, pooled=pooled, unit="sent", yes="delivered", no="failed")
        _warn_send_windows(work, variant=variant, control=control)
        _warn_reports(work, variant=variant)
    return out


def _compare_outcome(
    frame: pd.DataFrame, *, variant: str, control: str | None, metric: str, confidence: float, delivered: str
) -> pd.DataFrame:
    analytics._require(frame, [metric])
    observed = _OBSERVED[metric]
    wanted = [variant, metric, delivered, observed, "state", "sent_at", "reported_at", "final_status"]
    work = frame.loc[frame[variant].notna(), [c for c in dict.fromkeys(wanted) if c in frame.columns]]
    codes, names = _arm_codes(work[variant])
    control = _pick_control(names, control, what="assigned rows")
    y = _outcome_values(work, metric, source=frame)
    reached = work[delivered].fillna(False).astype(bool).to_numpy() if delivered in work.columns else None
    stats = _arm_stats(codes, y, reached, len(names))
    c = names.index(control)
    ctl = _ArmStats(*(np.full(len(names), field[c]) for field in stats))
    rate = metric in _RATE_OUTCOMES
    effects = _effects(stats, ctl, rate=rate, confidence=confidence)
    out = pd.DataFrame({"variant": names, "control": [name == control for name in names], "n": stats.n})
    out["n"] = out["n"].astype("int64")
    for name in ("mean", "low", "high", "diff", "diff_low", "diff_high", "p_value"):
        out[name] = effects[name]
    is_control = out["control"].to_numpy()
    out.loc[is_control, ["diff", "diff_low", "diff_high"]] = 0.0
    out.loc[is_control, "p_value"] = np.nan
    out["p_adjusted"] = _holm(out["p_value"].to_numpy(dtype=float))
    out["lift"] = np.where(is_control, 0.0, effects["lift"])
    for name in ("cace", "cace_low", "cace_high"):
        out[name] = np.where(is_control, np.nan, effects[name])
    _warn_single_arm(out, variant=variant, control=control)
    if len(out) >= 2:
        if rate:
            pooled = float(stats.total.sum() / stats.n.sum())
            _warn_small(out, pooled=pooled, unit="assigned", yes=metric, no=f"not {metric}")
        else:
            _warn_small_values(out, nonzero=np.bincount(codes, weights=y != 0, minlength=len(names)))
        _warn_windows(work, variant=variant, column=observed)
        sent = work.loc[analytics.sent_rows(work)]
        _warn_send_windows(sent, variant=variant, control=control)
        if reached is None:
            warnings.warn(
                f"the frame has no {delivered!r} column, so the CACE (effect among those reached) is NaN: "
                "join the delivery funnel's 'delivered' column to the frame",
                ExperimentWarning,
                stacklevel=3,
            )
        else:
            _warn_reports(sent, variant=variant)
            unbounded = ~is_control & ~(np.isfinite(out["cace_low"]) & np.isfinite(out["cace_high"]))
            if unbounded.any():
                warnings.warn(
                    f"the CACE of arm(s) {list(out.loc[unbounded, 'variant'])} has no bounded interval: their "
                    f"delivery rate does not differ clearly from control {control!r}'s, and the CACE divides "
                    "by that difference; it is defined against a holdout: read the ITT columns",
                    ExperimentWarning,
                    stacklevel=3,
                )
            elif stats.reached[c] > 0:
                warnings.warn(
                    f"control {control!r} was sent ({stats.reached[c]:.0%} delivered), so the CACE columns are not an "
                    "effect among those reached: the CACE assumes the control got no message (a holdout); read the "
                    "ITT columns",
                    ExperimentWarning,
                    stacklevel=3,
                )
    out.attrs["control_reached"] = float(stats.reached[c])
    return out


class _ArmStats(NamedTuple):
    """Sufficient statistics of one arm (or of many simulated arms), as float arrays."""

    n: np.ndarray  # assigned rows
    total: np.ndarray  # sum of the outcome
    var: np.ndarray  # sample variance of the outcome (ddof=1)
    reached: np.ndarray  # share delivered (NaN without a delivered column)
    cov: np.ndarray  # sample covariance of outcome and delivered (ddof=1)


def _arm_stats(codes: np.ndarray, y: np.ndarray, reached: np.ndarray | None, k: int) -> _ArmStats:
    """Per-arm sufficient statistics by bincount (two passes, so variances are centred)."""
    n = np.bincount(codes, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.bincount(codes, weights=y, minlength=k)
        mean = total / n
        dy = y - mean[codes]
        var = np.bincount(codes, weights=dy * dy, minlength=k) / (n - 1)
        if reached is None:
            share = cov = np.full(k, np.nan)
        else:
            d = reached.astype(float)
            share = np.bincount(codes, weights=d, minlength=k) / n
            cov = np.bincount(codes, weights=dy * (d - share[codes]), minlength=k) / (n - 1)
    return _ArmStats(n, total, var, share, cov)


def _effects(arm: _ArmStats, ctl: _ArmStats, *, rate: bool, confidence: float) -> dict[str, np.ndarray]:
    """Every number of a comparison row from the two arms' statistics, elementwise.

    ``compare_arms`` calls it with one element per arm; the simulation tests with one per simulated
    experiment, so what they check is what the public function computes.
    """
    n1, n0 = arm.n, ctl.n
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m0 = arm.total / n1, ctl.total / n0
        if rate:
            low, high = analytics.wilson_interval(arm.total, n1, confidence=confidence)
            diff_low, diff_high = newcombe_interval(arm.total, n1, ctl.total, n0, confidence=confidence)
            _, p_value = two_proportion_ztest(arm.total, n1, ctl.total, n0)
        else:
            half = t_quantile(0.5 + confidence / 2, n1 - 1) * np.sqrt(arm.var / n1)
            low, high = m1 - half, m1 + half
            _, diff_low, diff_high, p_value = _welch(m1, arm.var, n1, m0, ctl.var, n0, confidence=confidence)
        diff = m1 - m0
        lift = np.where(m0 != 0, diff / m0, np.nan)
        # CACE = ITT difference / delivery-rate difference; variances of both and their covariance (Wald)
        var_d1 = arm.reached * (1 - arm.reached) * n1 / (n1 - 1)
        var_d0 = ctl.reached * (1 - ctl.reached) * n0 / (n0 - 1)
        cace, cace_low, cace_high = _fieller(
            diff,
            arm.reached - ctl.reached,
            arm.var / n1 + ctl.var / n0,
            var_d1 / n1 + var_d0 / n0,
            arm.cov / n1 + ctl.cov / n0,
            confidence=confidence,
        )
    return {
        "mean": m1,
        "low": low,
        "high": high,
        "diff": diff,
        "diff_low": diff_low,
        "diff_high": diff_high,
        "p_value": p_value,
        "lift": lift,
        "cace": cace,
        "cace_low": cace_low,
        "cace_high": cace_high,
    }


def newcombe_interval(
    k1: np.ndarray | float,
    n1: np.ndarray | float,
    k2: np.ndarray | float,
    n2: np.ndarray | float,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe hybrid score interval for ``k1/n1 − k2/n2``, elementwise."""
    l1, u1 = analytics.wilson_interval(k1, n1, confidence=confidence)
    l2, u2 = analytics.wilson_interval(k2, n2, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.asarray(k1, dtype=float) / np.asarray(n1, dtype=float)
        p2 = np.asarray(k2, dtype=float) / np.asarray(n2, dtype=float)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.atleast_1d(low), np.atleast_1d(high)


def two_proportion_ztest(
    k1: np.ndarray | float, n1: np.ndarray | float, k2: np.ndarray | float, n2: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided z-test of ``k1/n1 == k2/n2`` with pooled variance; returns ``(z, p_value)``.

    NaN when both arms are all-successes or all-failures (no variance to test against).
    """
    a1, b1 = np.asarray(k1, dtype=float), np.asarray(n1, dtype=float)
    a2, b2 = np.asarray(k2, dtype=float), np.asarray(n2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (a1 + a2) / (b1 + b2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / b1 + 1 / b2))
        z = np.atleast_1d(np.where(se > 0, (a1 / b1 - a2 / b2) / se, np.nan))
    return z, _normal_two_sided(z)


def _normal_two_sided(z: np.ndarray) -> np.ndarray:
    """``P(|Z| ≥ |z|)``; NaN in → NaN."""
    finite = np.isfinite(z)
    out = np.full(z.shape, np.nan)
    out[finite] = [math.erfc(abs(v) / math.sqrt(2)) for v in z[finite].tolist()]
    return out


def _welch(
    m1: np.ndarray,
    v1: np.ndarray,
    n1: np.ndarray,
    m0: np.ndarray,
    v0: np.ndarray,
    n0: np.ndarray,
    *,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Welch's test of ``m1 − m0`` (unequal variances): ``(t, low, high, p_value)``, elementwise."""
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = v1 / n1, v0 / n0
        se = np.sqrt(a + b)
        df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n0 - 1))
        t = np.atleast_1d((m1 - m0) / se)
    df = np.broadcast_to(np.atleast_1d(df), t.shape)
    half = t_quantile(0.5 + confidence / 2, df) * se
    return t, m1 - m0 - half, m1 - m0 + half, t_two_sided(t, df)


def _fieller(
    a: np.ndarray, b: np.ndarray, vaa: np.ndarray, vbb: np.ndarray, vab: np.ndarray, *, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fieller's interval for ``a / b``: ``(ratio, low, high)``; ``(-inf, inf)`` when ``b`` is not
    significantly different from 0 at this confidence (the set is then unbounded)."""
    z2 = normal_quantile(0.5 + confidence / 2) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(b != 0, a / b, np.nan)
        q = b * b - z2 * vbb
        half_b = a * b - z2 * vab
        disc = half_b * half_b - q * (a * a - z2 * vaa)
        root = np.sqrt(np.maximum(disc, 0.0))
        bounded = (q > 0) & (disc >= 0)
        low = np.where(bounded, (half_b - root) / q, -np.inf)
        high = np.where(bounded, (half_b + root) / q, np.inf)
    known = np.isfinite(ratio) & np.isfinite(q)
    return (
        np.atleast_1d(ratio),
        np.atleast_1d(np.where(known, low, np.nan)),
        np.atleast_1d(np.where(known, high, np.nan)),
    )


def _holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values; NaN entries are left out of the family and stay NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m:
        order = np.argsort(p[ok], kind="stable")
        ranked = p[ok][order] * (m - np.arange(m))
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate(ranked))
        out[ok] = adjusted
    return out


def verdict(table: pd.DataFrame) -> str:
    """A :func:`compare_arms` table in words: one clause per non-control arm, the largest effect first.

    An arm *lifts* (or *lowers*) the metric when its difference from the control is significant after
    Holm's adjustment (``p_adjusted`` below 1 − the table's confidence) and its interval leaves out 0;
    the clause quotes the intention-to-treat difference with its interval and, when the control is a
    holdout and the interval is bounded, the effect among the recipients reached (CACE). Otherwise
    the difference "is not distinguishable from zero", saying so when only the adjustment for several
    arms makes it so. Usage::

        verdict(compare_arms(frame, control="holdout", metric="converted"))
        # 'B lifts conversion by +4.5 pp over holdout (95% interval +3.0 to +5.8 pp, Holm-adjusted
        #  p < 0.001; +4.8 pp among those reached); A's difference in conversion from holdout is …'
    """
    from smskit.display import format_change, format_change_interval

    analytics._require(table, ["variant", "control", "diff", "diff_low", "diff_high", "p_adjusted"])
    metric = str(table.attrs.get("metric", ""))
    confidence = float(table.attrs.get("confidence", 0.95))
    share = metric != "value"
    name = METRIC_NAMES.get(metric, metric or "the metric")
    is_control = table["control"].astype(bool)
    if not is_control.any():
        raise DataValidationError("the table has no control row", advice="pass a table from compare_arms")
    control = str(table.loc[is_control, "variant"].iloc[0])
    arms = table.loc[~is_control].sort_values("diff", ascending=False, kind="stable")
    if arms.empty:
        return f"Only {control} has rows: there is nothing to compare."
    level, alpha, tested = f"{confidence:.0%} interval", 1 - confidence, int(arms["p_value"].notna().sum())
    holdout = not float(table.attrs.get("control_reached", 0.0)) > 0  # the CACE is an effect only against a holdout
    clauses = []
    for row in arms.to_dict("records"):
        arm, d, low, high = str(row["variant"]), float(row["diff"]), float(row["diff_low"]), float(row["diff_high"])
        p_adjusted = float(row["p_adjusted"])
        diff = format_change(d, share=share)
        span = f"{level} {format_change_interval(low, high, share=share)}"
        if math.isnan(p_adjusted):
            clauses.append(f"{arm} vs {control}: {diff} ({span}; no test possible: no variation in {name})")
            continue
        clear = low > 0 or high < 0
        if p_adjusted < alpha and clear:
            size = diff if d > 0 else format_change(-d, share=share).lstrip("+")
            cace = [float(row.get(k, np.nan)) for k in ("cace", "cace_low", "cace_high")]
            bounded = np.isfinite(cace).all() and holdout
            reached = f"; {format_change(cace[0], share=share)} among those reached" if bounded else ""
            verb = "lifts" if d > 0 else "lowers"
            clauses.append(
                f"{arm} {verb} {name} by {size} over {control} ({span}, Holm-adjusted {_p_text(p_adjusted)}{reached})"
            )
        elif clear and tested > 1:
            clauses.append(
                f"{arm}'s difference in {name} from {control} ({diff}, {span}) is not distinguishable from zero "
                f"once adjusted for {tested} comparisons (Holm-adjusted {_p_text(p_adjusted)})"
            )
        else:
            clauses.append(
                f"{arm}'s difference in {name} from {control} is not distinguishable from zero ({diff}, {span})"
            )
    return "; ".join(clauses) + "."


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


# ----------------------------------------------------------------------------------------------- power


def sample_size(
    baseline_rate: float | None,
    lift: float,
    *,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> SampleSize:
    """Recipients per arm to detect an absolute ``lift`` over the control (two-sided test).

    For a rate (conversion, delivery): ``baseline_rate`` is the control's rate. For a value (e.g.
    revenue per recipient): pass ``sd``, its standard deviation per recipient, and ``lift`` is a
    difference of means (``baseline_rate`` is then not needed). ``ratio`` is treatment size /
    control size. Example: ``sample_size(0.90, 0.02)`` → about 3,200 per arm to see 90 % → 92 %
    with 80 % power at the 5 % level; ``sample_size(None, 0.5, sd=12)`` → about 9,100 per arm to see
    revenue per recipient move by 0.50 when it varies by 12.
    """
    z_a, z_b = _power_quantiles(alpha, power, ratio)
    if lift == 0:
        raise ValueError("lift must be non-zero: no sample size detects a zero difference")
    if sd is not None:
        if not sd > 0:
            raise ValueError(f"sd must be positive, got {sd!r}")
        n_control = ((z_a + z_b) * sd / lift) ** 2 * (1 + 1 / ratio)
    else:
        if baseline_rate is None:
            raise ValueError("give baseline_rate for a rate, or sd= for a value")
        n_control = _n_control_rate(float(baseline_rate), float(lift), z_a, z_b, ratio)
    return SampleSize(control=math.ceil(n_control - 1e-9), treatment=math.ceil(ratio * n_control - 1e-9))


def minimum_detectable_effect(
    n: int,
    *,
    baseline_rate: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> float:
    """The smallest absolute lift that ``n`` control recipients (and ``ratio × n`` treated) detect.

    The inverse of :func:`sample_size`, with the same approximations: give ``baseline_rate`` for a
    rate (the upward lift is returned) or ``sd`` for a value. Example:
    ``minimum_detectable_effect(3_000, baseline_rate=0.05)`` → about 0.017 (5 % → 6.7 %).
    """
    z_a, z_b = _power_quantiles(alpha, power, ratio)
    if not n > 0:
        raise ValueError(f"n must be positive, got {n!r}")
    if sd is not None:
        if not sd > 0:
            raise ValueError(f"sd must be positive, got {sd!r}")
        return float((z_a + z_b) * sd * math.sqrt((1 + 1 / ratio) / n))
    if baseline_rate is None:
        raise ValueError("give baseline_rate for a rate, or sd= for a value")
    p_c = float(baseline_rate)
    if not 0 < p_c < 1:
        raise ValueError(f"baseline_rate must lie strictly between 0 and 1, got {baseline_rate!r}")
    low, high = 0.0, 1.0 - p_c
    if _n_control_rate(p_c, high * (1 - 1e-12), z_a, z_b, ratio) > n:
        raise ValueError(f"{n} control recipients cannot detect even a lift to 100 % from {p_c:.1%}")
    for _ in range(200):  # the sample size falls as the lift grows: bisect
        mid = (low + high) / 2
        if _n_control_rate(p_c, mid, z_a, z_b, ratio) > n:
            low = mid
        else:
            high = mid
    return high


def _power_quantiles(alpha: float, power: float, ratio: float) -> tuple[float, float]:
    if not 0 < alpha < 1 or not 0 < power < 1 or ratio <= 0:
        raise ValueError("alpha and power must be in (0, 1) and ratio > 0")
    return normal_quantile(1 - alpha / 2), normal_quantile(power)


def _n_control_rate(p_c: float, lift: float, z_a: float, z_b: float, ratio: float) -> float:
    """Control recipients for a rate (Fleiss: pooled variance under the null, unpooled under the alternative)."""
    p_t = p_c + lift
    if not 0 < p_c < 1 or not 0 < p_t < 1:
        raise ValueError(
            f"baseline_rate ({p_c!r}) and baseline_rate + lift ({p_t!r}) must both lie strictly between 0 and 1"
        )
    if lift == 0:
        raise ValueError("lift must be non-zero: no sample size detects a zero difference")
    pooled = (ratio * p_t + p_c) / (1 + ratio)
    sd_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alt = math.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t) / ratio)
    return ((z_a * sd_null + z_b * sd_alt) / lift) ** 2


# --- helpers -------------------------------------------------------------------------------------------


def _variant_weights(variants: Mapping[str, float] | Sequence[str]) -> tuple[list[str], np.ndarray]:
    if isinstance(variants, str):
        raise ValueError("variants must be a list of names or a mapping name → proportion, not one string")
    if isinstance(variants, Mapping):
        names = [str(k) for k in variants]
        weights = np.array([float(v) for v in variants.values()], dtype=float)
    else:
        names = [str(k) for k in variants]
        weights = np.ones(len(names))
    if not names:
        raise ValueError("variants is empty: give at least one variant name")
    if len(set(names)) != len(names):
        raise ValueError(f"variant names repeat: {names}")
    if np.any(~np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"proportions must be non-negative numbers with a positive sum, got {weights.tolist()}")
    return names, weights / weights.sum()


def _largest_remainder(sizes: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer counts per (stratum, variant) summing to each stratum's size; ties broken at random."""
    quota = np.round(sizes[:, None] * weights[None, :], 9)
    base = np.floor(quota).astype("int64")
    remainder = quota - base
    deficit = sizes - base.sum(axis=1)
    order = np.lexsort((rng.random(quota.shape), -remainder), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(quota.shape[1])[None, :].repeat(len(sizes), axis=0), axis=1)
    return base + (rank < deficit[:, None])


def _seed_key(seed: int | np.random.Generator) -> bytes:
    """The hash key for ``seed``: its bytes (an int ≥ 0 below 2**512), or one draw of a Generator."""
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**512:
        raise ValueError(f"seed must be an int from 0 to 2**512 - 1 or a numpy Generator, got {seed!r}")
    value = int(seed)
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "little")


def _recipient_ids(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    """The ids assignment hashes: the ``id_column`` or the index; refused when missing or repeated."""
    if id_column is None:
        ids = frame.index.to_series(index=frame.index)
        where = "index"
    else:
        analytics._require(frame, [id_column])
        ids = frame[id_column]
        where = f"{id_column!r} column"
    bad = ids.isna() | ids.duplicated(keep=False)
    if bad.any():
        rows = frame.loc[bad.to_numpy()].assign(
            problem=np.where(ids[bad].isna().to_numpy(), "missing id", "id repeats")
        )
        raise DataValidationError(
            f"{int(bad.sum())} row(s) have a missing or repeated id in the {where}: each recipient's arm is "
            "derived from its id",
            rows=rows,
            advice="pass id= naming a column with one unique id per recipient",
        )
    return ids


def _hash_ids(ids: pd.Series, key: bytes) -> np.ndarray:
    """Keyed BLAKE2b of each id's text, as uint64: a function of (seed, id) alone."""
    digests = b"".join(
        hashlib.blake2b(
            str(v).encode("utf-8", "surrogatepass"), digest_size=8, key=key, person=b"smskit-assign"
        ).digest()
        for v in ids.tolist()
    )
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def _arm_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes of each row's arm into the arm names: category order for a categorical column (arms
    with rows only), sorted values otherwise."""
    codes, uniques = pd.factorize(column, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _pick_control(arms: list[str], control: str | None, *, what: str) -> str:
    if control is None:
        if not arms:
            raise DataValidationError(f"no arm has any {what}", advice="check the frame and its variant column")
        return arms[0]
    if control not in arms:
        raise DataValidationError(
            f"control arm {control!r} has no {what}; arms are {arms}", advice="pass one of them as control="
        )
    return control


def _outcome_values(work: pd.DataFrame, metric: str, *, source: pd.DataFrame) -> np.ndarray:
    column = work[metric]
    missing = column.isna()
    if missing.any():
        raise DataValidationError(
            f"{int(missing.sum())} assigned row(s) have no {metric!r}: the intention-to-treat analysis needs "
            "every assigned recipient's outcome",
            rows=source.loc[work.index[missing.to_numpy()]].assign(problem=f"missing {metric}"),
            advice="attach outcomes to the whole frame (attach_outcomes / attach_replies) before comparing",
        )
    y = column.to_numpy(dtype=float)
    if metric in _RATE_OUTCOMES and not np.isin(y, (0.0, 1.0)).all():
        raise DataValidationError(f"{metric!r} must be boolean", advice="use attach_outcomes / attach_replies")
    return y


def _refuse_existing(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    there = [c for c in columns if c in frame.columns]
    if there:
        raise DataValidationError(
            f"the frame already has column(s) {there}", advice="drop them first to attach the outcomes again"
        )


def _window_ns(window: str | pd.Timedelta) -> int:
    span = pd.Timedelta(window)
    if span <= pd.Timedelta(0):
        raise ValueError(f"window must be a positive duration such as '7D', got {window!r}")
    return int(span.value)


def _column_or_index(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    if name in (frame.index.names or []):
        return frame.index.get_level_values(name).to_series(index=frame.index)
    raise DataValidationError(
        f"the frame has no {name!r} column or index", advice=f"join the recipients' {name!r} column first"
    )


def _reference_ns(frame: pd.DataFrame, reference: str) -> np.ndarray:
    """Reference times as int64 ns; rows without one get the earliest (the campaign start)."""
    analytics._require(frame, [reference])
    times = pd.to_datetime(frame[reference], utc=True).dt.as_unit("ns")
    if times.isna().all():
        raise DataValidationError(
            f"no row has a {reference!r} time to measure the outcome window from",
            advice="join the send results (their sent_at) or pass reference= naming a time column",
        )
    return times.fillna(times.min()).to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _event_times(events: pd.DataFrame, time: str) -> np.ndarray:
    try:
        times = pd.to_datetime(events[time], utc=True).dt.as_unit("ns")
    except (ValueError, TypeError) as exc:
        raise DataValidationError(
            f"events' {time!r} column is not a time: {exc}", advice="give times such as '2025-03-03 10:00:00+00:00'"
        ) from exc
    missing = times.isna()
    if missing.any():
        raise DataValidationError(
            f"{int(missing.sum())} event(s) have no {time!r}",
            rows=events.loc[missing].assign(problem=f"missing {time}"),
            advice="drop them or fill in their time",
        )
    return times.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _event_values(events: pd.DataFrame, value: str) -> np.ndarray:
    amounts = pd.to_numeric(events[value], errors="coerce")
    bad = amounts.isna()
    if bad.any():
        raise DataValidationError(
            f"{int(bad.sum())} event(s) have no numeric {value!r}",
            rows=events.loc[bad].assign(problem=f"{value} is missing or not a number"),
            advice="fix them or fill with 0",
        )
    return amounts.to_numpy(dtype=float)


def _window_match(
    keys: pd.Series, ref: np.ndarray, event_keys: pd.Series, times: np.ndarray, span: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(row position, event position)`` of events inside their row's window.

    Unique keys: one hash lookup per event. Repeated keys: each event goes to the row of its key with
    the latest reference time at or before it, the first such row on a tie (``merge_asof``).
    """
    present = keys.notna().to_numpy()
    positions = np.flatnonzero(present)
    index = pd.Index(keys.to_numpy()[present])
    if index.is_unique:
        found = index.get_indexer(pd.Index(event_keys.to_numpy()))
        hits = np.flatnonzero(found >= 0)
        rows = positions[found[hits]]
    else:
        left = pd.DataFrame({"key": event_keys.to_numpy(), "t": times, "event": np.arange(len(times))})
        right = pd.DataFrame({"key": keys.to_numpy()[present], "t": ref[present], "row": positions})
        left = left.loc[left["key"].notna()].sort_values("t", kind="stable")
        right = right.sort_values(["t", "row"], ascending=[True, False])  # on equal times the first row wins
        merged = pd.merge_asof(left, right, on="t", by="key", direction="backward")
        merged = merged.loc[merged["row"].notna()]
        hits = merged["event"].to_numpy(dtype=np.int64)
        rows = merged["row"].to_numpy(dtype=np.int64)
    lag = times[hits] - ref[rows]
    inside = (lag >= 0) & (lag < span)
    return rows[inside], hits[inside]


class _Found(NamedTuple):
    n_events: np.ndarray  # events in each row's window
    total: np.ndarray  # sum of their weights
    first: np.ndarray  # time of the first (int64 ns; _NO_TIME when none)
    observed: np.ndarray  # share of the window before ``until``


_NO_TIME = np.iinfo(np.int64).min


def _in_window(
    keys: pd.Series,
    ref: np.ndarray,
    event_keys: pd.Series,
    times: np.ndarray,
    weights: np.ndarray,
    span: int,
    until: Any,
) -> _Found:
    """Per row: the events of its key in ``[ref, ref + span)``, counted, summed and the first one's time."""
    rows, hits = _window_match(keys, ref, event_keys, times, span)
    n = len(ref)
    count = np.bincount(rows, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, rows, times[hits])
    if until is None:
        end = int(times.max()) if len(times) else int(ref.max())
    else:
        stamp = pd.Timestamp(until)
        end = int((stamp.tz_localize("UTC") if stamp.tz is None else stamp).value)
    return _Found(
        n_events=count,
        total=np.bincount(rows, weights=weights[hits], minlength=n).astype(float),
        first=np.where(count > 0, first, _NO_TIME),
        observed=np.clip((end - ref) / span, 0.0, 1.0),
    )


def _utc_series(ns: np.ndarray, index: pd.Index) -> pd.Series:
    values = np.where(ns == _NO_TIME, np.datetime64("NaT", "ns"), ns.astype("datetime64[ns]"))
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"), index=index)


def _warn_single_arm(table: pd.DataFrame, *, variant: str, control: str) -> None:
    if len(table) < 2:
        warnings.warn(
            f"only one arm ({control!r}) has rows in {variant!r}: there is nothing to compare; "
            "check that the variant column was joined to the frame",
            ExperimentWarning,
            stacklevel=4,
        )


def _warn_small(table: pd.DataFrame, *, pooled: float, unit: str, yes: str, no: str) -> None:
    n = table["n"].to_numpy(dtype=float)
    small = (n < MIN_PER_ARM) | (n * pooled < MIN_EXPECTED) | (n * (1 - pooled) < MIN_EXPECTED)
    if small.any():
        warnings.warn(
            f"arm(s) {list(table.loc[small, 'variant'])} are too small for the normal approximation "
            f"(need ≥ {MIN_PER_ARM} {unit} and ≥ {MIN_EXPECTED} expected {yes} and {no} per arm); "
            "the p-value and intervals are unreliable: send more or use sample_size() to plan",
            ExperimentWarning,
            stacklevel=4,
        )


def _warn_small_values(table: pd.DataFrame, *, nonzero: np.ndarray) -> None:
    small = (table["n"].to_numpy() < MIN_PER_ARM) | (nonzero < MIN_EXPECTED)
    if small.any():
        warnings.warn(
            f"arm(s) {list(table.loc[small, 'variant'])} are too small for the normal approximation "
            f"(need ≥ {MIN_PER_ARM} assigned and ≥ {MIN_EXPECTED} with a non-zero value per arm): a few "
            "large values decide the mean and the intervals are unreliable; use sample_size(sd=...) to plan",
            ExperimentWarning,
            stacklevel=4,
        )


def _warn_windows(work: pd.DataFrame, *, variant: str, column: str) -> None:
    """Peeking (windows still open) and windows observed unequally between arms."""
    if column not in work.columns:
        return
    observed = work[column].astype(float)
    still_open = observed < 1
    if still_open.any():
        warnings.warn(
            f"the outcome window is still open for {int(still_open.sum()):,} of {len(work):,} assigned recipients "
            f"({observed.mean():.0%} of the window observed on average): this is a look at a running "
            "experiment, and every extra look raises the chance of a false positive; compare once, after the "
            "last window has closed (attach the outcomes again with until= after it)",
            ExperimentWarning,
            stacklevel=4,
        )
    share = observed.groupby(work[variant], observed=True).mean()
    if len(share) >= 2 and float(share.max() - share.min()) > MAX_COVERAGE_GAP:
        shares = ", ".join(f"{k}: {v:.0%}" for k, v in share.items())
        warnings.warn(
            f"the arms' outcome windows are observed unequally ({shares} of the window on average): an arm "
            "with less time to convert looks worse; compare after every window has closed",
            ExperimentWarning,
            stacklevel=4,
        )


def _warn_send_windows(work: pd.DataFrame, *, variant: str, control: str) -> None:
    """Arms sent over different time windows (held-out rows, never sent, are not in ``work``)."""
    if "sent_at" not in work.columns or not work["sent_at"].notna().any():
        return
    times = pd.to_datetime(work["sent_at"], utc=True)
    window = times.groupby(work[variant], observed=True).agg(["min", "max"]).dropna()
    window.index = window.index.astype(str)
    if len(window) < 2:
        return
    base = control if control in window.index else str(window.index[0])
    c_lo, c_hi = window.loc[base, "min"], window.loc[base, "max"]
    uneven = []
    for name, (lo, hi) in window.iterrows():
        union = (max(hi, c_hi) - min(lo, c_lo)).total_seconds()
        inter = max((min(hi, c_hi) - max(lo, c_lo)).total_seconds(), 0.0)
        if union > 60 and inter / union < MIN_WINDOW_OVERLAP:
            uneven.append(str(name))
    if uneven:
        warnings.warn(
            f"arm(s) {uneven} were sent over a different time window than arm {base!r} "
            f"(overlap < {MIN_WINDOW_OVERLAP:.0%}): time of day and report delays confound the "
            "comparison; send arms interleaved over the same window",
            ExperimentWarning,
            stacklevel=4,
        )


def _warn_reports(work: pd.DataFrame, *, variant: str) -> None:
    reported = _reported(work)
    if reported is None:
        return
    accepted = analytics.sent_rows(work, among="accepted")
    coverage = reported[accepted].groupby(work.loc[accepted, variant], observed=True).mean()
    if len(coverage) >= 2 and float(coverage.max() - coverage.min()) > MAX_COVERAGE_GAP:
        shares = ", ".join(f"{k}: {v:.0%}" for k, v in coverage.items())
        warnings.warn(
            f"status reports are not in to the same extent for every arm ({shares}): an arm sent "
            "later looks worse until its reports arrive; wait (reports can take up to 72 h) and "
            "compare again",
            ExperimentWarning,
            stacklevel=4,
        )


def _reported(frame: pd.DataFrame) -> pd.Series | None:
    for column in ("reported_at", "final_status"):
        if column in frame.columns:
            return frame[column].notna()
    return None
