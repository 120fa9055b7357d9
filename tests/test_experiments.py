"""A/B experiments: assignment proportions, statistics against statsmodels, misuse warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    power_proportions_2indep,
    proportion_confint,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from smskit import experiments
from smskit.errors import DataValidationError
from smskit.experiments import ExperimentWarning

T0 = pd.Timestamp("2024-05-01", tz="UTC")


def arm_funnel(
    arms: dict[str, tuple[int, int]],
    *,
    hours: dict[str, tuple[float, float]] | None = None,
    reported: dict[str, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Funnel rows with exact (delivered, sent) counts per arm, sent over ``hours`` windows."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, (k, n) in arms.items():
        start, end = (hours or {}).get(name, (0.0, 24.0))
        delivered = np.zeros(n, dtype=bool)
        delivered[:k] = True
        rng.shuffle(delivered)
        got_report = delivered | (rng.random(n) < (reported or {}).get(name, 1.0))
        sent_at = T0 + pd.to_timedelta(rng.uniform(start, end, n), unit="h")
        parts.append(
            pd.DataFrame(
                {
                    "state": "accepted",
                    "variant": name,
                    "delivered": delivered,
                    "sent_at": sent_at,
                    "final_status": np.where(delivered, "DELIVRD", np.where(got_report, "UNDELIV", None)),
                    "reported_at": sent_at.where(got_report) + pd.Timedelta(seconds=30),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["state"] = frame["state"].astype("category")
    return frame


# --- assign_variants -------------------------------------------------------------------------------------


@pytest.fixture
def recipients() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 10_007
    return pd.DataFrame(
        {"phone": [f"+336{i:08d}" for i in range(n)], "country": rng.choice(["FR", "DE", "CN"], n, p=[0.6, 0.3, 0.1])},
        index=pd.RangeIndex(50, 50 + n),
    )


def test_assignment_is_reproducible_and_keeps_the_frame(recipients):
    before = recipients.copy()
    a = experiments.assign_variants(recipients, {"A": 0.5, "B": 0.5}, seed=42)
    b = experiments.assign_variants(recipients, {"A": 0.5, "B": 0.5}, seed=42)
    c = experiments.assign_variants(recipients, {"A": 0.5, "B": 0.5}, seed=43)
    pd.testing.assert_frame_equal(a, b)
    assert not a["variant"].equals(c["variant"])
    assert a.index.equals(recipients.index)
    assert isinstance(a["variant"].dtype, pd.CategoricalDtype)
    assert list(a["variant"].cat.categories) == ["A", "B"]
    pd.testing.assert_frame_equal(recipients, before)


def test_stratified_proportions_are_exact_up_to_rounding(recipients):
    # exact shares need a stratum (here one for everyone); unstratified arms are hash buckets whose
    # sizes vary by chance (test_experiments_assignment.py)
    one = recipients.assign(everyone="x")
    out = experiments.assign_variants(one, {"ctl": 0.7, "t1": 0.2, "t2": 0.1}, seed=1, stratify="everyone")
    counts = out["variant"].value_counts()
    n = len(recipients)
    for name, share in {"ctl": 0.7, "t1": 0.2, "t2": 0.1}.items():
        assert abs(counts[name] - n * share) < 1


def test_stratified_proportions_hold_within_each_stratum(recipients):
    weights = {"A": 2, "B": 1}  # not normalized: 2/3 and 1/3
    out = experiments.assign_variants(recipients, weights, seed=5, stratify="country", column="arm")
    table = pd.crosstab(out["country"], out["arm"])
    for country, row in table.iterrows():
        size = (recipients["country"] == country).sum()
        assert abs(row["A"] - size * 2 / 3) < 1
        assert abs(row["B"] - size / 3) < 1


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=8),
    weights=st.lists(st.floats(min_value=0.01, max_value=10), min_size=1, max_size=5),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
@settings(max_examples=100, deadline=None)
def test_largest_remainder_per_stratum_property(sizes, weights, seed):
    frame = pd.DataFrame({"s": np.repeat([f"s{i}" for i in range(len(sizes))], sizes)})
    names = [f"v{i}" for i in range(len(weights))]
    out = experiments.assign_variants(frame, dict(zip(names, weights, strict=True)), seed=seed, stratify="s")
    share = np.array(weights) / sum(weights)
    counts = pd.crosstab(out["s"], out["variant"]).reindex(columns=names, fill_value=0)
    for stratum, row in counts.iterrows():
        size = sizes[int(str(stratum)[1:])]
        assert row.sum() == size
        assert np.all(np.abs(row.to_numpy() - size * share) < 1)


def test_ties_are_broken_at_random_across_small_strata():
    frame = pd.DataFrame({"s": np.arange(2000)})  # 2,000 strata of one recipient each
    out = experiments.assign_variants(frame, ["A", "B"], seed=3, stratify="s")
    assert 0.45 < (out["variant"] == "A").mean() < 0.55


def test_missing_stratum_values_form_their_own_stratum():
    frame = pd.DataFrame({"c": ["x"] * 10 + [None] * 10})
    out = experiments.assign_variants(frame, ["A", "B"], seed=0, stratify="c")
    assert (out.loc[out["c"].isna(), "variant"] == "A").sum() == 5


@pytest.mark.parametrize(
    ("variants", "match"),
    [([], "empty"), (["A", "A"], "repeat"), ({"A": -1, "B": 1}, "non-negative"), ("AB", "one string")],
)
def test_bad_variants_are_refused(recipients, variants, match):
    with pytest.raises(ValueError, match=match):
        experiments.assign_variants(recipients, variants, seed=0)


def test_existing_column_and_unknown_stratum_are_refused(recipients):
    with pytest.raises(DataValidationError, match="already has"):
        experiments.assign_variants(recipients.assign(variant="x"), ["A", "B"], seed=0)
    with pytest.raises(DataValidationError, match="tier"):
        experiments.assign_variants(recipients, ["A", "B"], seed=0, stratify="tier")


# --- per-arm templates ---------------------------------------------------------------------------------


def test_arm_templates_maps_each_variant_to_its_template(recipients):
    assigned = experiments.assign_variants(recipients, ["A", "B"], seed=0)
    out = experiments.arm_templates(assigned, arms={"A": "tpl_short", "B": "tpl_long"})
    assert (out.loc[out["variant"] == "A", "template_id"] == "tpl_short").all()
    assert (out.loc[out["variant"] == "B", "template_id"] == "tpl_long").all()
    assert "template_id" not in assigned.columns
    with pytest.raises(DataValidationError, match="no template") as info:
        experiments.arm_templates(assigned, arms={"A": "tpl_short"})
    assert info.value.rows is not None
    assert (info.value.rows["variant"] == "B").all()
    assert "problem" in info.value.rows.columns


def test_plan_arms_plans_each_arm_with_its_template(data_dir):
    from smskit.campaign.recipients import read_recipients

    people = experiments.assign_variants(read_recipients(data_dir / "recipients.csv"), ["A", "B"], seed=9)
    arms = {"A": "bfccfa780ff5e8f11245b2dfbc82efae", "B": "1084df3291afc97c2ee0c0af7c157be7"}
    plan = experiments.plan_arms(
        people, arms=arms, params=("code", "city"), templates=data_dir / "templates.csv", skip_invalid=True
    )
    planned = plan.recipients.join(people["variant"])
    assert planned.index.equals(people.index)
    for variant, template in arms.items():
        assert (planned.loc[planned["variant"] == variant, "template_id"] == template).all()
    assert (planned["state"] == "ready").sum() > 0.9 * len(people)


def test_plan_arms_refuses_a_fixed_template(recipients):
    with pytest.raises(ValueError, match="template_id"):
        experiments.plan_arms(recipients.assign(variant="A"), arms={"A": "t"}, template_id="t")


# --- statistics ---------------------------------------------------------------------------------------


@given(
    n1=st.integers(min_value=20, max_value=5000),
    n2=st.integers(min_value=20, max_value=5000),
    f1=st.floats(min_value=0.0, max_value=1.0),
    f2=st.floats(min_value=0.0, max_value=1.0),
    confidence=st.sampled_from([0.9, 0.95, 0.99]),
)
@settings(max_examples=150, deadline=None)
def test_difference_interval_and_ztest_match_statsmodels(n1, n2, f1, f2, confidence):
    k1, k2 = 1 + round((n1 - 2) * f1), 1 + round((n2 - 2) * f2)  # 1 … n-1: the test has a variance
    low, high = experiments.newcombe_interval(k1, n1, k2, n2, confidence=confidence)
    ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=1 - confidence)
    assert low[0] == pytest.approx(ref[0], abs=1e-10)
    assert high[0] == pytest.approx(ref[1], abs=1e-10)
    z, p = experiments.two_proportion_ztest(k1, n1, k2, n2)
    ref_z, ref_p = proportions_ztest([k1, k2], [n1, n2])
    assert z[0] == pytest.approx(ref_z, rel=1e-9, abs=1e-12)
    assert p[0] == pytest.approx(ref_p, rel=1e-9, abs=1e-12)


def test_ztest_is_undefined_without_variance():
    z, p = experiments.two_proportion_ztest(np.array([0, 50]), np.array([50, 50]), 0, 50)
    assert np.isnan(z[0])
    assert np.isnan(p[0])
    assert z[1] > 0


def test_compare_arms_end_to_end_matches_statsmodels():
    funnel = arm_funnel({"A": (880, 1000), "B": (915, 1000), "C": (860, 1050)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = experiments.compare_arms(funnel, control="A")
    assert list(table.columns) == [
        "variant", "control", "sent", "delivered", "rate", "low", "high",
        "diff", "diff_low", "diff_high", "z", "p_value", "n", "mean", "p_adjusted", "lift",
    ]  # fmt: skip
    assert table["variant"].tolist() == ["A", "B", "C"]
    assert table["control"].tolist() == [True, False, False]
    b = table.set_index("variant").loc["B"]
    assert b["diff"] == pytest.approx(0.035)
    assert (b["low"], b["high"]) == pytest.approx(proportion_confint(915, 1000, method="wilson"))
    ref = confint_proportions_2indep(915, 1000, 880, 1000, method="newcomb", compare="diff")
    assert (b["diff_low"], b["diff_high"]) == pytest.approx(ref)
    assert b["p_value"] == pytest.approx(proportions_ztest([915, 880], [1000, 1000])[1])
    assert (b["n"], b["mean"], b["lift"]) == (1000, pytest.approx(0.915), pytest.approx(0.035 / 0.88))
    raw = table.loc[~table["control"], "p_value"].to_numpy()
    holm = multipletests(raw, method="holm")[1]
    np.testing.assert_allclose(table.loc[~table["control"], "p_adjusted"], holm, rtol=1e-12)
    control = table.set_index("variant").loc["A"]
    assert control["diff"] == 0.0
    assert np.isnan(control["p_value"])
    default = experiments.compare_arms(funnel)
    assert default.loc[default["control"], "variant"].item() == "A"


def test_compare_arms_refuses_unknown_control_and_missing_column():
    funnel = arm_funnel({"A": (880, 1000), "B": (915, 1000)})
    with pytest.raises(DataValidationError, match="'Z'"):
        experiments.compare_arms(funnel, control="Z")
    with pytest.raises(DataValidationError, match="arm"):
        experiments.compare_arms(funnel, variant="arm")


@pytest.mark.parametrize(
    ("baseline", "lift", "ratio", "alpha", "power"),
    [
        (0.9, 0.02, 1.0, 0.05, 0.8),
        (0.5, -0.05, 1.0, 0.01, 0.9),
        (0.95, 0.01, 2.0, 0.05, 0.8),
        (0.2, 0.1, 0.5, 0.1, 0.7),
    ],
)
def test_sample_size_matches_statsmodels(baseline, lift, ratio, alpha, power):
    size = experiments.sample_size(baseline, lift, alpha=alpha, power=power, ratio=ratio)
    # statsmodels: sample 1 is the treatment (p2 + diff), nobs2 = ratio_sm * nobs1 is the control.
    n_treatment = samplesize_proportions_2indep_onetail(lift, baseline, power, ratio=1 / ratio, alpha=alpha)
    assert abs(size.treatment - n_treatment) < 1 + ratio
    assert abs(size.control - n_treatment / ratio) < 1
    assert size.total == size.control + size.treatment
    achieved = power_proportions_2indep(
        lift, baseline, size.treatment, ratio=size.control / size.treatment, alpha=alpha
    ).power
    assert achieved == pytest.approx(power, abs=0.01)


@given(
    baseline=st.floats(min_value=0.05, max_value=0.95),
    lift=st.floats(min_value=0.005, max_value=0.04),
    ratio=st.sampled_from([0.5, 1.0, 3.0]),
)
@settings(max_examples=60, deadline=None)
def test_sample_size_property_matches_statsmodels(baseline, lift, ratio):
    size = experiments.sample_size(baseline, lift, ratio=ratio)
    n_treatment = samplesize_proportions_2indep_onetail(lift, baseline, 0.8, ratio=1 / ratio)
    assert abs(size.control - n_treatment / ratio) < 1


@pytest.mark.parametrize(("baseline", "lift"), [(0.9, 0.2), (0.0, 0.1), (0.5, 0.0)])
def test_sample_size_refuses_impossible_rates(baseline, lift):
    with pytest.raises(ValueError, match=r"between 0 and 1|non-zero"):
        experiments.sample_size(baseline, lift)


# --- misuse warnings -------------------------------------------------------------------------------------


def test_single_arm_warns():
    funnel = arm_funnel({"A": (880, 1000)})
    with pytest.warns(ExperimentWarning, match="only one arm"):
        table = experiments.compare_arms(funnel)
    assert len(table) == 1


def test_too_few_per_arm_warns():
    funnel = arm_funnel({"A": (40, 50), "B": (45, 50)})
    with pytest.warns(ExperimentWarning, match="too small"):
        experiments.compare_arms(funnel)


def test_too_few_failures_warns_even_for_large_arms():
    funnel = arm_funnel({"A": (996, 1000), "B": (998, 1000)})
    with pytest.warns(ExperimentWarning, match=r"expected delivered and failed"):
        experiments.compare_arms(funnel)


def test_arms_sent_over_different_windows_warn():
    funnel = arm_funnel({"A": (880, 1000), "B": (915, 1000)}, hours={"A": (0, 12), "B": (10, 24)})
    with pytest.warns(ExperimentWarning, match="different time window"):
        experiments.compare_arms(funnel)


def test_reports_missing_for_one_arm_warn():
    funnel = arm_funnel({"A": (880, 1000), "B": (700, 1000)}, reported={"B": 0.2})
    with pytest.warns(ExperimentWarning, match="reports are not in"):
        experiments.compare_arms(funnel)
