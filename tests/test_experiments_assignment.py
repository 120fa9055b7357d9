"""Assignment from (seed, id), holdouts planned and carried through a real send, sample-ratio checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import smskit
from smskit import experiments
from smskit.errors import DataValidationError
from smskit.experiments import ExperimentWarning

WEIGHTS = {"holdout": 0.1, "A": 0.45, "B": 0.45}
MARKETING_A = "d2cbcd3946ad63cbcdc62ee3c8cc741a"
MARKETING_B = "d2cbcd3946ad63cbcdc62ee3c8cc741b"


@pytest.fixture
def people() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 20_000
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in rng.choice(10**6, n, replace=False)],
            "tier": rng.choice(["gold", "silver", "bronze"], n, p=[0.1, 0.3, 0.6]),
        }
    )


def test_arm_follows_the_id_whatever_the_row_order_and_appended_rows(people):
    first = experiments.assign_variants(people, WEIGHTS, seed=7, id="customer_id")
    shuffled = experiments.assign_variants(people.sample(frac=1, random_state=3), WEIGHTS, seed=7, id="customer_id")
    pd.testing.assert_series_equal(shuffled["variant"].reindex(first.index), first["variant"])
    more = pd.DataFrame({"customer_id": [f"N{i}" for i in range(5000)], "tier": "gold"})
    grown = experiments.assign_variants(pd.concat([people, more], ignore_index=True), WEIGHTS, seed=7, id="customer_id")
    pd.testing.assert_series_equal(grown["variant"].iloc[: len(people)], first["variant"])
    other_seed = experiments.assign_variants(people, WEIGHTS, seed=8, id="customer_id")
    assert (other_seed["variant"] != first["variant"]).mean() > 0.4
    # the index is the id by default
    by_index = experiments.assign_variants(people.set_index("customer_id"), WEIGHTS, seed=7)
    assert by_index["variant"].tolist() == first["variant"].tolist()


def test_unstratified_arm_sizes_follow_the_weights(people):
    out = experiments.assign_variants(people, WEIGHTS, seed=11, id="customer_id")
    observed = out["variant"].value_counts().reindex(list(WEIGHTS)).to_numpy()
    expected = len(people) * np.array(list(WEIGHTS.values()))
    reference = stats.chisquare(observed, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = experiments.check_sample_ratio(out, WEIGHTS)
    assert check.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    assert check.df == 2
    assert not check.mismatch
    assert check.table["n"].tolist() == observed.tolist()
    assert "match the plan" in check._repr_html_()
    # hash buckets are uniform: over many seeds the statistic is chi-square(2), its p-values uniform
    p_values = [
        experiments.check_sample_ratio(experiments.assign_variants(people.head(3000), WEIGHTS, seed=s), WEIGHTS).p_value
        for s in range(60)
    ]
    assert stats.kstest(p_values, "uniform").pvalue > 0.01


def test_stratified_reruns_agree_in_any_order(people):
    a = experiments.assign_variants(people, WEIGHTS, seed=3, id="customer_id", stratify="tier")
    b = experiments.assign_variants(people.iloc[::-1], WEIGHTS, seed=3, id="customer_id", stratify="tier")
    pd.testing.assert_series_equal(b["variant"].reindex(a.index), a["variant"])
    table = pd.crosstab(a["tier"], a["variant"])
    for tier, row in table.iterrows():
        size = int((people["tier"] == tier).sum())
        assert all(abs(row[arm] - size * share) < 1 for arm, share in WEIGHTS.items())


def test_sample_ratio_mismatch_warns_like_scipy():
    frame = pd.DataFrame({"variant": ["holdout"] * 900 + ["A"] * 4700 + ["B"] * 4400})
    reference = stats.chisquare([900, 4700, 4400], [1000, 4500, 4500])
    with pytest.warns(ExperimentWarning, match="sample-ratio mismatch") as caught:
        check = experiments.check_sample_ratio(frame, WEIGHTS)
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert check.p_value < experiments.SRM_ALPHA
    assert "holdout: 9.0%" in str(caught[0].message)
    with pytest.raises(DataValidationError, match=r"\['C'\]"):
        experiments.check_sample_ratio(pd.DataFrame({"variant": ["A", "C"]}), WEIGHTS)


def test_ids_must_be_present_and_unique(people):
    doubled = people.assign(customer_id=people["customer_id"].where(people.index != 5, people["customer_id"][4]))
    with pytest.raises(DataValidationError, match="repeated id") as info:
        experiments.assign_variants(doubled, WEIGHTS, seed=0, id="customer_id")
    assert info.value.rows.index.tolist() == [4, 5]
    assert set(info.value.rows["problem"]) == {"id repeats"}
    with pytest.raises(DataValidationError, match="missing or repeated"):
        experiments.assign_variants(people.assign(customer_id=None), WEIGHTS, seed=0, id="customer_id")
    with pytest.raises(ValueError, match="seed"):
        experiments.assign_variants(people, WEIGHTS, seed=-1, id="customer_id")


# --- holdout through plan and send -------------------------------------------------------------------


@pytest.fixture
def assigned(data_dir) -> pd.DataFrame:
    recipients = smskit.read_recipients(data_dir / "recipients.csv")
    return experiments.assign_variants(recipients, WEIGHTS, seed=5, stratify="tier")


def test_plan_arms_holds_the_holdout_out(assigned, data_dir):
    plan = experiments.plan_arms(
        assigned,
        arms={"A": MARKETING_A, "B": MARKETING_B},
        holdout="holdout",
        params=["name"],
        templates=data_dir / "templates.csv",
        skip_invalid=True,
    )
    rec = plan.recipients.join(assigned["variant"])
    held = rec["variant"] == "holdout"
    assert (rec.loc[held, "state"] == "held_out").all()
    assert not (rec.loc[~held, "state"] == "held_out").any()
    planned = {label for rows in plan.items["rows"] for label in rows}
    assert planned.isdisjoint(set(rec.index[held]))
    assert plan.summary["held_out"] == int(held.sum()) > 0
    with pytest.raises(ValueError, match="never sent"):
        experiments.plan_arms(assigned, arms={"A": MARKETING_A, "holdout": MARKETING_B}, holdout="holdout")


def test_held_out_rows_are_never_sent_and_carry_the_send_start(assigned, data_dir, emulator, emulator_client):
    plan = experiments.plan_arms(
        assigned,
        arms={"A": MARKETING_A, "B": MARKETING_B},
        holdout="holdout",
        params=["name"],
        templates=data_dir / "templates.csv",
        skip_invalid=True,
    )
    results = smskit.send_campaign(plan, client=emulator_client, progress=False)
    held = assigned["variant"] == "holdout"
    assert (results.loc[held, "state"] == "held_out").all()
    assert results.loc[held, "sms_msg_id"].isna().all()
    assert results.loc[held, "error"].isna().all()
    sent_numbers = set(emulator.sent()["to"])
    assert sent_numbers.isdisjoint(set(results.loc[held, "to"]))
    start = results.loc[results["state"] == "accepted", "sent_at"].min()
    assert (results.loc[held, "sent_at"] == start).all()
    # for the delivery rate, held-out rows were never sent
    frame = results.join(assigned["variant"])
    assert not smskit.analytics.sent_rows(frame)[held].any()
