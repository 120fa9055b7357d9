"""A/B experiments on delivery: assign variants, send each arm with its template, compare arms.

Statistics (documented choices):

* per-arm rate: Wilson score interval (:func:`smskit.analytics.wilson_interval`);
* difference (arm − control): Newcombe's hybrid score interval (his method 10), built from the two
  Wilson intervals; unlike the Wald interval it stays sensible near 0 % and 100 % and for small arms;
* test: two-sided two-proportion z-test with the pooled variance (``statsmodels``' default);
* sample size: normal approximation with the pooled variance under the null and the unpooled one
  under the alternative (Fleiss; ``statsmodels.samplesize_proportions_2indep_onetail``).

Misuse is reported with :class:`ExperimentWarning`: a single arm, arms too small for the normal
approximation, arms sent over different windows or with reports still missing for one of them.

Usage::

    recipients = assign_variants(recipients, {"A": 0.5, "B": 0.5}, seed=7, stratify="country")
    plan = plan_arms(recipients, arms={"A": "tpl_short", "B": "tpl_long"}, to="phone")
    ...
    compare_arms(funnel.join(recipients["variant"]), control="A")
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from smskit import analytics
from smskit.errors import DataValidationError

if TYPE_CHECKING:
    from smskit.campaign.plan import CampaignPlan

__all__ = [
    "ExperimentWarning",
    "SampleSize",
    "arm_templates",
    "assign_variants",
    "compare_arms",
    "plan_arms",
    "sample_size",
]

#: Thresholds behind the warnings of :func:`compare_arms`.
MIN_PER_ARM = 100
MIN_EXPECTED = 10
MIN_WINDOW_OVERLAP = 0.8
MAX_COVERAGE_GAP = 0.05


class ExperimentWarning(UserWarning):
    """An experiment's result may be misleading; the message says why and what to do."""


class SampleSize(NamedTuple):
    """Recipients needed per arm."""

    control: int
    treatment: int

    @property
    def total(self) -> int:
        return self.control + self.treatment


def assign_variants(
    frame: pd.DataFrame,
    variants: Mapping[str, float] | Sequence[str],
    *,
    seed: int | np.random.Generator,
    stratify: str | Sequence[str] | None = None,
    column: str = "variant",
) -> pd.DataFrame:
    """Copy of ``frame`` with a random, reproducible ``column`` of variant names.

    ``variants`` maps names to proportions (normalized), or lists names for equal shares. Within
    each stratum (each combination of the ``stratify`` columns; missing values form their own) the
    counts are the exact proportions rounded by largest remainder, ties broken at random, and the
    labels are then shuffled with the seed. The same seed, frame and row order give the same result.
    """
    names, weights = _variant_weights(variants)
    if column in frame.columns:
        raise DataValidationError(
            f"the frame already has a {column!r} column",
            advice="drop it first to re-assign, or pass another column= name",
        )
    rng = np.random.default_rng(seed)
    n = len(frame)
    if stratify is None:
        strata = np.zeros(n, dtype="int64")
    else:
        keys = [stratify] if isinstance(stratify, str) else list(stratify)
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DataValidationError(
                f"cannot stratify by {missing}: not columns of the frame", advice="name existing columns"
            )
        strata = frame.groupby(keys, dropna=False, sort=True, observed=True).ngroup().to_numpy(dtype="int64")
    sizes = np.bincount(strata, minlength=int(strata.max()) + 1 if n else 0)
    counts = _largest_remainder(sizes, weights, rng)
    order = np.lexsort((rng.random(n), strata))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sorted_strata = strata[order]
    position = np.arange(n) - starts[sorted_strata]
    bounds = np.cumsum(counts, axis=1)
    labels = np.empty(n, dtype="int64")
    labels[order] = (bounds[sorted_strata] <= position[:, None]).sum(axis=1)
    out = frame.copy()
    out[column] = pd.Categorical.from_codes(labels, categories=pd.Index(names, dtype=str))
    return out


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
    variant_column: str = "variant",
    template_column: str = "template_id",
    **plan_kwargs: Any,
) -> CampaignPlan:
    """One campaign plan sending each arm with its template: :func:`arm_templates` then
    ``plan_campaign(..., template_column=template_column, **plan_kwargs)``."""
    if plan_kwargs.get("template_id") is not None:
        raise ValueError("plan_arms picks each row's template from arms=; do not pass template_id=")
    plan_kwargs.pop("template_id", None)
    from smskit.campaign.plan import plan_campaign

    frame = arm_templates(recipients, arms=arms, variant_column=variant_column, template_column=template_column)
    return plan_campaign(frame, template_column=template_column, **plan_kwargs)


def compare_arms(
    funnel: pd.DataFrame,
    *,
    variant: str = "variant",
    control: str | None = None,
    confidence: float = 0.95,
    among: analytics.Among = "sent",
) -> pd.DataFrame:
    """Delivery rate per arm and its difference from the control arm.

    Parameters
    ----------
    funnel : the delivery funnel joined with the variant column.
    variant : name of the variant column.
    control : the reference arm; default the first category (categorical column) or the first
        value in sorted order.
    confidence : coverage of the Wilson and Newcombe intervals.
    among : denominator, ``"sent"`` (default) or ``"accepted"``.

    Returns one row per arm: ``variant, control (bool), sent, delivered, rate, low, high, diff,
    diff_low, diff_high, z, p_value``; ``diff`` is arm − control (0 for the control itself) and
    ``p_value`` that of the two-sided pooled z-test. Warns (:class:`ExperimentWarning`) on misuse.
    """
    if variant not in funnel.columns:
        raise DataValidationError(
            f"the frame has no {variant!r} column",
            advice="join the recipients' variant column first: funnel.join(recipients['variant'])",
        )
    table = analytics.delivery_rate(funnel, by=variant, confidence=confidence, among=among)
    table = table.loc[table[variant].notna() & (table["sent"] > 0)].reset_index(drop=True)
    arms = [str(v) for v in table[variant]]
    if control is None:
        if not arms:
            raise DataValidationError("no arm has any sent message", advice="check the funnel and variant column")
        control = arms[0]
    if control not in arms:
        raise DataValidationError(
            f"control arm {control!r} has no sent messages; arms are {arms}",
            advice="pass one of them as control=",
        )
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
    _warn_misuse(funnel, out, variant=variant, control=control)
    return out


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

    NaN when both arms are all-delivered or all-failed (no variance to test against).
    """
    a1, b1 = np.asarray(k1, dtype=float), np.asarray(n1, dtype=float)
    a2, b2 = np.asarray(k2, dtype=float), np.asarray(n2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (a1 + a2) / (b1 + b2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / b1 + 1 / b2))
        z = np.where(se > 0, (a1 / b1 - a2 / b2) / se, np.nan)
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) if np.isfinite(v) else np.nan for v in np.atleast_1d(z)])
    return np.atleast_1d(z), p


def sample_size(
    baseline_rate: float,
    lift: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> SampleSize:
    """Recipients per arm to detect an absolute ``lift`` over ``baseline_rate`` (two-sided test).

    ``ratio`` is treatment size / control size. Example: ``sample_size(0.90, 0.02)`` → about 3,200
    per arm to see 90 % → 92 % with 80 % power at the 5 % level.
    """
    p_c, p_t = float(baseline_rate), float(baseline_rate) + float(lift)
    if not 0 < p_c < 1 or not 0 < p_t < 1:
        raise ValueError(
            f"baseline_rate ({baseline_rate!r}) and baseline_rate + lift ({p_t!r}) must both lie "
            "strictly between 0 and 1"
        )
    if lift == 0:
        raise ValueError("lift must be non-zero: no sample size detects a zero difference")
    if not 0 < alpha < 1 or not 0 < power < 1 or ratio <= 0:
        raise ValueError("alpha and power must be in (0, 1) and ratio > 0")
    nd = NormalDist()
    z_a, z_b = nd.inv_cdf(1 - alpha / 2), nd.inv_cdf(power)
    pooled = (ratio * p_t + p_c) / (1 + ratio)
    sd_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alt = math.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t) / ratio)
    n_control = ((z_a * sd_null + z_b * sd_alt) / lift) ** 2
    return SampleSize(control=math.ceil(n_control - 1e-9), treatment=math.ceil(ratio * n_control - 1e-9))


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


def _warn_misuse(funnel: pd.DataFrame, table: pd.DataFrame, *, variant: str, control: str) -> None:
    if len(table) < 2:
        warnings.warn(
            f"only one arm ({control!r}) has sent messages in {variant!r}: there is nothing to compare; "
            "check that the variant column was joined to the funnel",
            ExperimentWarning,
            stacklevel=3,
        )
        return
    pooled = table["delivered"].sum() / table["sent"].sum()
    sent = table["sent"].to_numpy(dtype=float)
    small = (sent < MIN_PER_ARM) | (sent * pooled < MIN_EXPECTED) | (sent * (1 - pooled) < MIN_EXPECTED)
    if small.any():
        warnings.warn(
            f"arm(s) {list(table.loc[small, 'variant'])} are too small for the normal approximation "
            f"(need ≥ {MIN_PER_ARM} sent and ≥ {MIN_EXPECTED} expected delivered and failed per arm); "
            "the p-value and intervals are unreliable: send more or use sample_size() to plan",
            ExperimentWarning,
            stacklevel=3,
        )
    work = funnel.loc[analytics.sent_rows(funnel) & funnel[variant].notna()]
    arm = work[variant].astype(str)
    if "sent_at" in work.columns and work["sent_at"].notna().any():
        times = pd.to_datetime(work["sent_at"], utc=True)
        window = times.groupby(arm).agg(["min", "max"])
        c_lo, c_hi = window.loc[control, "min"], window.loc[control, "max"]
        uneven = []
        for name, (lo, hi) in window.iterrows():
            union = (max(hi, c_hi) - min(lo, c_lo)).total_seconds()
            inter = max((min(hi, c_hi) - max(lo, c_lo)).total_seconds(), 0.0)
            if union > 60 and inter / union < MIN_WINDOW_OVERLAP:
                uneven.append(str(name))
        if uneven:
            warnings.warn(
                f"arm(s) {uneven} were sent over a different time window than control {control!r} "
                f"(overlap < {MIN_WINDOW_OVERLAP:.0%}): time of day and report delays confound the "
                "comparison; send arms interleaved over the same window",
                ExperimentWarning,
                stacklevel=3,
            )
    reported = _reported(work)
    if reported is not None:
        accepted = analytics.sent_rows(work, among="accepted")
        coverage = reported[accepted].groupby(arm[accepted]).mean()
        if len(coverage) >= 2 and float(coverage.max() - coverage.min()) > MAX_COVERAGE_GAP:
            shares = ", ".join(f"{k}: {v:.0%}" for k, v in coverage.items())
            warnings.warn(
                f"status reports are not in to the same extent for every arm ({shares}): an arm sent "
                "later looks worse until its reports arrive; wait (reports can take up to 72 h) and "
                "compare again",
                ExperimentWarning,
                stacklevel=3,
            )


def _reported(frame: pd.DataFrame) -> pd.Series | None:
    for column in ("reported_at", "final_status"):
        if column in frame.columns:
            return frame[column].notna()
    return None
