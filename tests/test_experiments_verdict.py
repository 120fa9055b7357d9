"""experiments.verdict: a compare_arms table in words, decided by the Holm-adjusted p-value and the interval."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smskit import display, experiments
from smskit.errors import DataValidationError


def arms_frame(arms: dict[str, tuple[int, int, int]], *, amount: float = 0.0) -> pd.DataFrame:
    """arm → (assigned, converted, delivered): the first ``converted`` rows converted (worth ``amount``
    each), the last ``delivered`` rows delivered."""
    parts = []
    for arm, (n, k, d) in arms.items():
        converted = np.arange(n) < k
        delivered = np.arange(n) >= n - d
        parts.append(
            pd.DataFrame({"variant": arm, "converted": converted, "value": converted * amount, "delivered": delivered})
        )
    return pd.concat(parts, ignore_index=True)


def compare(frame: pd.DataFrame, metric: str = "converted") -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiments.ExperimentWarning)
        return experiments.compare_arms(frame, control="holdout", metric=metric)  # type: ignore[arg-type]


def test_a_clear_lift_is_quoted_with_its_interval_and_the_effect_among_those_reached():
    # holdout 4.0 %, B 10.0 % with 95 % delivered: ITT +6.0 pp, CACE 6.0 / 0.95 = +6.3 pp
    table = compare(arms_frame({"holdout": (2000, 80, 0), "A": (2000, 84, 1900), "B": (2000, 200, 1900)}))
    said = experiments.verdict(table)
    b, a = said.split("; A")
    assert b.startswith("B lifts conversion by +6.0 pp over holdout (95% interval ")
    low, high = table.set_index("variant").loc["B", ["diff_low", "diff_high"]]
    assert display.format_pp_interval(low, high) in b
    assert "Holm-adjusted p < 0.001; +6.3 pp among those reached)" in b
    # A: +0.2 pp, nowhere near significant
    assert a.startswith("'s difference in conversion from holdout is not distinguishable from zero (+0.2 pp, ")
    assert said.endswith(").")


def test_largest_effect_first_and_a_drop_is_called_a_drop():
    table = compare(arms_frame({"holdout": (3000, 300, 0), "A": (3000, 150, 2850), "B": (3000, 320, 2850)}))
    said = experiments.verdict(table)
    assert said.index("B's difference") < said.index("A lowers conversion by 5.0 pp over holdout")


@pytest.mark.parametrize(("converted", "significant"), [(110, False), (122, True)])
def test_significance_is_decided_after_holms_adjustment(converted, significant):
    table = compare(arms_frame({"holdout": (2000, 80, 0), "A": (2000, converted, 1900), "B": (2000, converted, 1900)}))
    row = table.set_index("variant").loc["A"]
    assert row["p_value"] < 0.05  # significant on its own …
    assert row["diff_low"] > 0
    assert bool(row["p_adjusted"] < 0.05) is significant  # … and after the adjustment for two arms only with 122
    said = experiments.verdict(table)
    if significant:
        assert "A lifts conversion by +2.1 pp over holdout" in said
    else:
        assert "is not distinguishable from zero once adjusted for 2 comparisons (Holm-adjusted p = 0.051)" in said


def test_values_read_as_amounts():
    frame = arms_frame({"holdout": (2000, 80, 0), "B": (2000, 200, 1900)}, amount=40.0)
    table = compare(frame, metric="value")
    said = experiments.verdict(table)
    assert said.startswith("B lifts value per recipient by +2.40 over holdout (95% interval +")  # 8.00 − 1.60 / 2000 …
    assert " pp" not in said


def test_nothing_to_test_and_no_control_are_said():
    table = compare(arms_frame({"holdout": (500, 0, 0), "B": (500, 0, 475)}))
    # Newcombe's interval of 0/500 − 0/500 still has width (Wilson's upper bound of 0/500 is 0.76 %)
    assert experiments.verdict(table) == (
        "B vs holdout: +0.0 pp (95% interval -0.8 to +0.8 pp; no test possible: no variation in conversion)."
    )
    with pytest.raises(DataValidationError, match="no control row"):
        experiments.verdict(table.assign(control=False))


def test_sample_ratio_reads_as_counts_and_percentages():
    frame = arms_frame({"holdout": (100, 0, 0), "A": (450, 0, 0), "B": (450, 0, 0)})
    ratio = experiments.check_sample_ratio(frame, {"holdout": 0.1, "A": 0.45, "B": 0.45})
    assert str(ratio).startswith("arm sizes match the plan (chi-square = 0, df = 2, p = 1)")
    page = ratio._repr_html_()
    assert "<td>45.0%</td>" in page
    assert "<td>450.0</td>" in page
    assert "0.450000" not in page


def test_against_a_sent_control_the_cace_is_left_out_and_a_warning_says_why():
    # A and B both sent, B's delivery clearly lower: the ratio is bounded but is no effect among those reached
    frame = arms_frame({"A": (3000, 150, 2900), "B": (3000, 300, 2600)})
    with pytest.warns(experiments.ExperimentWarning, match="control 'A' was sent .97% delivered., so the CACE"):
        table = experiments.compare_arms(frame, control="A", metric="converted")
    assert table.attrs["control_reached"] == pytest.approx(2900 / 3000)
    assert np.isfinite(table.loc[1, ["cace_low", "cace_high"]].to_numpy(dtype=float)).all()
    said = experiments.verdict(table)
    assert said.startswith("B lifts conversion by +5.0 pp over A (95% interval ")
    assert "among those reached" not in said
