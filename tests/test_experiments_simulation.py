"""Coverage by simulation: 1,000 experiments with a known effect, drawn at once as numpy arrays.

Each run assigns a holdout (never sent) and a treated arm reached with probability ``REACH``; the
SMS raises the chance of buying by ``EFFECT`` for reached recipients only. So the true ITT effect
is ``REACH × EFFECT`` (rates) and the true CACE is ``EFFECT``; for revenue both are multiplied by
the mean order amount. The per-run statistics go through ``_arm_stats`` and ``_effects``, the
functions ``compare_arms`` computes its table with (one "arm" per simulated run here).
"""

from __future__ import annotations

import numpy as np
import pytest

from smskit import experiments

RUNS = 1_000
N_HOLDOUT, N_TREATED = 1_500, 3_000
BASE, EFFECT, REACH = 0.05, 0.03, 0.9
AMOUNT_MEAN, AMOUNT_LOG_SD = 40.0, 0.8


def simulate(seed: int, *, effect: float = EFFECT) -> dict[str, np.ndarray]:
    """Outcomes (converted 0/1, revenue) and delivery of every recipient of every run, run-major."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for arm, n, reach in (("holdout", N_HOLDOUT, 0.0), ("treated", N_TREATED, REACH)):
        reached = rng.random((RUNS, n)) < reach
        buys = rng.random((RUNS, n)) < BASE + effect * reached
        amount = rng.lognormal(np.log(AMOUNT_MEAN) - AMOUNT_LOG_SD**2 / 2, AMOUNT_LOG_SD, (RUNS, n))
        out[f"{arm}_reached"] = reached.ravel()
        out[f"{arm}_converted"] = buys.ravel().astype(float)
        out[f"{arm}_value"] = np.where(buys, amount, 0.0).ravel()
    return out


def effects(data: dict[str, np.ndarray], metric: str) -> dict[str, np.ndarray]:
    runs = {"holdout": np.repeat(np.arange(RUNS), N_HOLDOUT), "treated": np.repeat(np.arange(RUNS), N_TREATED)}
    stats = {
        arm: experiments._arm_stats(runs[arm], data[f"{arm}_{metric}"], data[f"{arm}_reached"], RUNS) for arm in runs
    }
    return experiments._effects(stats["treated"], stats["holdout"], rate=metric == "converted", confidence=0.95)


def coverage(table: dict[str, np.ndarray], name: str, truth: float) -> float:
    return float(np.mean((table[f"{name}_low"] <= truth) & (truth <= table[f"{name}_high"])))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return simulate(2024)


def test_rate_intervals_cover_the_true_effect(data):
    table = effects(data, "converted")
    itt = coverage(table, "diff", REACH * EFFECT)
    cace = coverage(table, "cace", EFFECT)
    assert 0.93 <= itt <= 0.97, itt  # Newcombe on the ITT difference
    assert cace >= 0.90, cace  # Fieller on ITT / delivery-rate difference
    assert np.mean(table["diff"]) == pytest.approx(REACH * EFFECT, abs=0.001)
    assert np.mean(table["cace"]) == pytest.approx(EFFECT, abs=0.001)
    # the per-arm Wilson interval covers the arm's true rate too
    arm_cover = np.mean((table["low"] <= BASE + REACH * EFFECT) & (table["high"] >= BASE + REACH * EFFECT))
    assert 0.93 <= arm_cover <= 0.97, arm_cover


def test_value_intervals_cover_the_true_effect(data):
    table = effects(data, "value")
    itt = coverage(table, "diff", REACH * EFFECT * AMOUNT_MEAN)
    cace = coverage(table, "cace", EFFECT * AMOUNT_MEAN)
    assert 0.93 <= itt <= 0.97, itt  # Welch on revenue per recipient (mostly zeros, skewed)
    assert cace >= 0.90, cace
    mean = BASE + REACH * EFFECT
    arm_cover = np.mean((table["low"] <= mean * AMOUNT_MEAN) & (mean * AMOUNT_MEAN <= table["high"]))
    assert 0.93 <= arm_cover <= 0.97, arm_cover


def test_without_an_effect_the_tests_keep_their_level():
    table_rate = effects(null := simulate(7, effect=0.0), "converted")
    table_value = effects(null, "value")
    for table in (table_rate, table_value):
        rejected = float(np.mean(table["p_value"] < 0.05))
        assert 0.03 <= rejected <= 0.07, rejected  # 5 % ± 3 standard errors of 1,000 runs
        # p-values of a true null are uniform: a tenth of them in each decile
        counts = np.histogram(table["p_value"], bins=10, range=(0, 1))[0]
        assert counts.min() > 60, counts
        assert counts.max() < 140, counts
