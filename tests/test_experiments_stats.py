"""The statistics behind compare_arms, pinned to scipy and statsmodels where they overlap."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.sandbox.regression.gmm import IV2SLS
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    power_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
)
from statsmodels.stats.weightstats import DescrStatsW

from smskit import experiments
from smskit._distributions import chi2_sf, t_quantile, t_two_sided
from smskit.experiments import ExperimentWarning

# --- distributions (no scipy at run time) ---------------------------------------------------------------


@given(
    t=st.floats(min_value=0.0, max_value=60.0),
    df=st.floats(min_value=0.5, max_value=5e6),
)
@settings(max_examples=300, deadline=None)
def test_t_tail_matches_scipy(t, df):
    assert t_two_sided(t, df)[0] == pytest.approx(2 * stats.t.sf(t, df), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize("p", [0.75, 0.9, 0.95, 0.975, 0.995, 0.9995])
def test_t_quantile_matches_scipy(p):
    df = np.concatenate([[1.0, 1.5, 2.0, 2.7, 3.0, 5.5, 10.0, 29.9], np.geomspace(30, 5e7, 40)])
    np.testing.assert_allclose(t_quantile(p, df), stats.t.ppf(p, df), rtol=1e-9)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 11])
def test_chi2_tail_matches_scipy(df):
    x = np.concatenate([[0.0, 1e-9], np.geomspace(1e-3, 400, 60)])
    np.testing.assert_allclose(chi2_sf(x, df), stats.chi2.sf(x, df), rtol=1e-12, atol=1e-300)


def test_distribution_edges():
    assert np.isnan(t_two_sided(np.nan, 10)[0])
    assert np.isnan(t_two_sided(1.0, np.nan)[0])
    assert t_two_sided(np.inf, 10)[0] == 0.0
    assert t_two_sided(0.0, 10)[0] == 1.0
    with pytest.raises(ValueError, match="upper-tail"):
        t_quantile(0.3, 10)
    with pytest.raises(ValueError, match="positive integer"):
        chi2_sf(1.0, 1.5)


# --- one comparison, every column against its oracle ---------------------------------------------------


def outcome_frame(arms: dict[str, tuple[int, int]], *, seed: int = 0) -> pd.DataFrame:
    """Rows per arm with exact (converted, n) counts, a skewed revenue, and delivery for sent arms."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, (k, n) in arms.items():
        converted = np.zeros(n, dtype=bool)
        converted[:k] = True
        rng.shuffle(converted)
        sent = name != "holdout"
        delivered = sent & (rng.random(n) < np.where(converted, 0.97, 0.9))
        parts.append(
            pd.DataFrame(
                {
                    "variant": name,
                    "state": "accepted" if sent else "held_out",
                    "delivered": delivered,
                    "converted": converted,
                    "value": np.where(converted, rng.lognormal(3.5, 0.8, n), 0.0),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["variant"] = pd.Categorical(frame["variant"], categories=list(arms))
    return frame


ARMS = {"holdout": (60, 1500), "A": (210, 3000), "B": (260, 3100), "C": (150, 2900)}


def test_rates_match_statsmodels():
    frame = outcome_frame(ARMS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = experiments.compare_arms(frame, control="holdout", metric="converted").set_index("variant")
    assert list(table.reset_index().columns) == [
        "variant", "control", "n", "mean", "low", "high", "diff", "diff_low", "diff_high",
        "p_value", "p_adjusted", "lift", "cace", "cace_low", "cace_high",
    ]  # fmt: skip
    k0, n0 = ARMS["holdout"]
    for arm in ("A", "B", "C"):
        k, n = ARMS[arm]
        row = table.loc[arm]
        assert row["n"] == n
        assert row["mean"] == pytest.approx(k / n)
        assert (row["low"], row["high"]) == pytest.approx(proportion_confint(k, n, method="wilson"), rel=1e-12)
        ref = confint_proportions_2indep(k, n, k0, n0, method="newcomb", compare="diff")
        assert (row["diff_low"], row["diff_high"]) == pytest.approx(ref, rel=1e-12)
        ref_test = sm_proportion.test_proportions_2indep(k, n, k0, n0, method="score", correction=False)
        assert row["p_value"] == pytest.approx(ref_test.pvalue, rel=1e-9)  # the pooled z-test
        assert row["lift"] == pytest.approx((k / n - k0 / n0) / (k0 / n0))
    raw = table.loc[["A", "B", "C"], "p_value"].to_numpy()
    np.testing.assert_allclose(table.loc[["A", "B", "C"], "p_adjusted"], multipletests(raw, method="holm")[1])
    control = table.loc["holdout"]
    assert control["control"]
    assert (control["diff"], control["lift"]) == (0.0, 0.0)
    assert np.isnan(control["p_value"])
    assert np.isnan(control["cace"])


def test_values_match_scipy_welch():
    frame = outcome_frame(ARMS, seed=3)
    with pytest.warns(ExperimentWarning, match="no bounded interval"):  # B and C were sent, like A
        table = experiments.compare_arms(frame, control="A", metric="value", confidence=0.9).set_index("variant")
    control = frame.loc[frame["variant"] == "A", "value"].to_numpy()
    for arm in ("holdout", "B", "C"):
        values = frame.loc[frame["variant"] == arm, "value"].to_numpy()
        ref = stats.ttest_ind(values, control, equal_var=False)
        row = table.loc[arm]
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
        low, high = ref.confidence_interval(confidence_level=0.9)
        assert (row["diff_low"], row["diff_high"]) == pytest.approx((low, high), rel=1e-9)
        assert row["diff"] == pytest.approx(values.mean() - control.mean())
        assert (row["low"], row["high"]) == pytest.approx(DescrStatsW(values).tconfint_mean(alpha=0.1), rel=1e-9)


def test_cace_is_the_iv_estimate_and_its_interval_is_fiellers():
    frame = outcome_frame(ARMS, seed=5)
    table = experiments.compare_arms(frame, control="holdout", metric="value").set_index("variant")
    for arm in ("A", "B"):
        part = frame.loc[frame["variant"].isin(["holdout", arm])]
        z = (part["variant"] == arm).to_numpy(dtype=float)
        d = part["delivered"].to_numpy(dtype=float)
        y = part["value"].to_numpy(dtype=float)
        ones = np.ones_like(z)
        fit = IV2SLS(y, np.column_stack([ones, d]), instrument=np.column_stack([ones, z])).fit()
        row = table.loc[arm]
        assert row["cace"] == pytest.approx(fit.params[1], rel=1e-9)  # Wald = two-stage least squares
        # Fieller's set: the ratios theta with (a - theta b)^2 <= z^2 var(a - theta b); its ends solve it with "="
        treated, held = y[z == 1], y[z == 0]
        a = treated.mean() - held.mean()
        b = d[z == 1].mean()
        var_a = treated.var(ddof=1) / len(treated) + held.var(ddof=1) / len(held)
        var_b = d[z == 1].var(ddof=1) / len(treated)
        cov = np.cov(treated, d[z == 1])[0, 1] / len(treated)
        z2 = stats.norm.ppf(0.975) ** 2
        theta = np.array([row["cace_low"], row["cace_high"], row["cace"], row["cace_high"] * 1.05])
        excess = (a - theta * b) ** 2 - z2 * (var_a - 2 * theta * cov + theta**2 * var_b)
        np.testing.assert_allclose(excess[:2], 0.0, atol=1e-9 * a * a)  # the ends solve it with "="
        assert excess[2] < 0  # the estimate is inside
        assert excess[3] > 0  # beyond the upper end is outside


def test_cace_between_two_sent_arms_is_unbounded_and_says_so():
    frame = outcome_frame(ARMS, seed=1)
    with pytest.warns(ExperimentWarning, match="no bounded interval"):
        table = experiments.compare_arms(frame, control="A", metric="converted")
    sent = table.loc[table["variant"].isin(["B", "C"])]
    assert np.isinf(sent["cace_low"]).all()
    assert np.isinf(sent["cace_high"]).all()


@given(
    p=st.lists(st.one_of(st.floats(min_value=0, max_value=1), st.just(np.nan)), min_size=1, max_size=12),
)
@settings(max_examples=40, deadline=None)  # multipletests takes ~60 ms a call
def test_holm_matches_statsmodels_and_is_monotone(p):
    raw = np.array(p, dtype=float)
    adjusted = experiments._holm(raw)
    ok = ~np.isnan(raw)
    assert np.isnan(adjusted[~ok]).all()
    if ok.any():
        np.testing.assert_allclose(adjusted[ok], multipletests(raw[ok], method="holm")[1], rtol=1e-12, atol=1e-15)
        assert (adjusted[ok] >= raw[ok] - 1e-15).all()
        order = np.argsort(raw[ok], kind="stable")
        assert (np.diff(adjusted[ok][order]) >= -1e-15).all()  # same order as the raw p-values


# --- power ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lift", "sd", "ratio", "alpha", "power"),
    [(0.5, 12.0, 1.0, 0.05, 0.8), (2.0, 30.0, 2.0, 0.01, 0.9), (1.0, 5.0, 0.5, 0.1, 0.7), (-3.0, 40.0, 1.0, 0.05, 0.8)],
)
def test_sample_size_for_values_matches_statsmodels(lift, sd, ratio, alpha, power):
    size = experiments.sample_size(None, lift, sd=sd, alpha=alpha, power=power, ratio=ratio)
    effect = abs(lift) / sd
    normal = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=ratio)
    assert abs(size.control - normal) < 1
    assert abs(size.treatment - ratio * normal) < 1 + ratio
    t_test = TTestIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=ratio)
    assert 0 <= t_test - size.control < 3  # the t test needs a recipient or two more than the normal approximation


@pytest.mark.parametrize(("n", "sd", "ratio"), [(1000, 10.0, 1.0), (250, 3.0, 2.0), (40_000, 55.0, 0.25)])
def test_mde_for_values_matches_statsmodels(n, sd, ratio):
    mde = experiments.minimum_detectable_effect(n, sd=sd, ratio=ratio)
    effect = NormalIndPower().solve_power(nobs1=n, alpha=0.05, power=0.8, ratio=ratio)
    assert mde == pytest.approx(effect * sd, rel=1e-4)  # statsmodels' root finder and its far tail
    assert NormalIndPower().power(mde / sd, n, 0.05, ratio=ratio) == pytest.approx(0.8, abs=1e-5)
    assert experiments.sample_size(None, mde, sd=sd, ratio=ratio).control == pytest.approx(n, abs=1)


@pytest.mark.parametrize(("n", "baseline", "ratio"), [(3000, 0.05, 1.0), (800, 0.3, 2.0), (20_000, 0.02, 0.5)])
def test_mde_for_rates_reaches_the_power(n, baseline, ratio):
    mde = experiments.minimum_detectable_effect(n, baseline_rate=baseline, ratio=ratio)
    # statsmodels: sample 1 is the treatment, nobs2 = ratio_sm * nobs1 the control
    achieved = power_proportions_2indep(mde, baseline, ratio * n, ratio=1 / ratio, alpha=0.05).power
    assert achieved == pytest.approx(0.8, abs=0.005)
    assert experiments.sample_size(baseline, mde, ratio=ratio).control == pytest.approx(n, abs=1)


@pytest.mark.parametrize(("baseline", "lift"), [(0.05, 0.02), (0.3, 0.05), (0.5, -0.1)])
def test_sample_size_for_rates_is_close_to_the_arcsine_approximation(baseline, lift):
    # a different approximation (Cohen's h), so only close: within 5 %
    size = experiments.sample_size(baseline, lift)
    h = proportion_effectsize(baseline + lift, baseline)
    arcsine = NormalIndPower().solve_power(effect_size=abs(h), alpha=0.05, power=0.8, ratio=1.0)
    assert size.control == pytest.approx(arcsine, rel=0.05)


def test_power_arguments_are_checked():
    with pytest.raises(ValueError, match="sd must be positive"):
        experiments.sample_size(None, 1.0, sd=0)
    with pytest.raises(ValueError, match="baseline_rate"):
        experiments.sample_size(None, 0.1)
    with pytest.raises(ValueError, match="cannot detect"):
        experiments.minimum_detectable_effect(3, baseline_rate=0.5)
    with pytest.raises(ValueError, match="give baseline_rate"):
        experiments.minimum_detectable_effect(100)
