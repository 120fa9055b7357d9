"""data/experiment_recipients.csv and data/orders.csv: reproducible, small, and true to their documented effects."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pandas as pd
import pytest

from smskit import experiments

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("make_experiment_data", DATA / "make_experiment_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(generator):
    return generator.generate()


def test_files_are_what_the_generator_writes(generated):
    recipients, orders, _ = generated
    for frame, name in ((recipients, "experiment_recipients.csv"), (orders, "orders.csv")):
        path = DATA / name
        assert path.read_text() == frame.to_csv(index=False), f"{name} is stale: run data/make_experiment_data.py"
        assert path.stat().st_size < 1_000_000


def test_the_story_recovers_the_documented_effects(generator, generated):
    recipients, orders, reached = generated
    people = experiments.assign_variants(
        recipients, generator.ARMS, seed=generator.SEED, id="customer_id", stratify="tier"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not experiments.check_sample_ratio(people, generator.ARMS).mismatch
    frame = people.assign(sent_at=generator.START, delivered=reached)
    frame = experiments.attach_outcomes(frame, orders, on="customer_id", time="ordered_at", value="amount")
    assert frame["outcome_observed"].eq(1.0).all()  # the file runs past every window
    in_window = pd.to_datetime(orders["ordered_at"]).between(
        generator.START, generator.START + generator.WINDOW, inclusive="left"
    ) & orders["customer_id"].isin(recipients["customer_id"])
    assert frame["value"].sum() == pytest.approx(orders.loc[in_window, "amount"].sum())
    for metric, name in (("converted", "conversion"), ("value", "value")):
        table = experiments.compare_arms(frame, control="holdout", metric=metric).set_index("variant")
        for arm, truth in generator.TRUTH.items():
            row = table.loc[arm]
            assert row["diff_low"] <= truth[f"itt_{name}"] <= row["diff_high"], (metric, arm)
            assert row["cace_low"] <= truth[f"cace_{name}"] <= row["cace_high"], (metric, arm)
    assert table.loc["B", "p_adjusted"] < 0.01  # B's effect is plain in this sample
