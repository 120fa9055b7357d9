"""The report's Experiment section: outcomes compared against the holdout (ITT and CACE), the verdict in the
headline, the figures in the section, and held-out rows counted as a not-sent stage."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from smskit import experiments
from smskit.errors import DataValidationError
from smskit.summary import display_table, summarize, write_report
from tests.summary._experiment import ARMS, WEIGHTS, experiment_campaign

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def campaign() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return experiment_campaign()


@pytest.fixture(scope="module")
def with_outcomes(campaign) -> tuple[pd.DataFrame, pd.DataFrame]:
    results, reports, orders = campaign
    joined = experiments.attach_outcomes(results, orders, on="customer_id", time="ordered_at", value="amount")
    return joined, reports


def oracle(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiments.ExperimentWarning)
        return experiments.compare_arms(frame, control="holdout", metric=metric)  # type: ignore[arg-type]


def test_outcomes_are_compared_against_the_held_out_arm(with_outcomes) -> None:
    results, reports = with_outcomes
    report = summarize(reports, results=results, weights=WEIGHTS)
    section = report.experiment
    assert section is not None
    assert section.control == "holdout"  # found from the held_out rows, not passed
    assert list(section.verdicts) == ["converted", "value"]
    for metric, title in (
        ("converted", "Conversion against holdout: ITT and CACE"),
        ("value", "Value per recipient against holdout: ITT and CACE"),
    ):
        got = section.tables[title]
        assert got["variant"].tolist() == ["holdout", "A", "B"]  # the control first
        want = oracle(report.frame, metric).set_index("variant").loc[got["variant"]].reset_index()
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want)
        assert section.verdicts[metric] == experiments.verdict(want)
    # every assigned row counts: 100 held out, 250 + 250 sent (intention to treat)
    assert section.tables["Conversion against holdout: ITT and CACE"]["n"].tolist() == list(ARMS.values())
    assert section.sample_ratio is not None
    assert not section.sample_ratio.mismatch
    # B's effect is large (5 % → about 28 %), A's nil: the verdict says so
    assert section.verdicts["converted"].startswith("B lifts conversion by +")
    assert "A's difference in conversion from holdout is not distinguishable from zero" in section.verdicts["converted"]
    assert report.headline.endswith("Experiment: " + section.verdicts["converted"])
    assert {"uplift_converted", "uplift_value", "conversion_over_time"} == set(section.figures)


def test_the_delivery_comparison_leaves_the_holdout_out_and_held_out_is_a_not_sent_stage(with_outcomes) -> None:
    results, reports = with_outcomes
    report = summarize(reports, results=results, control="holdout")
    delivery = report.tables["A/B comparison (variant)"]
    assert delivery["variant"].tolist() == ["A", "B"]  # the holdout was never sent: no delivery to compare
    assert delivery.loc[delivery["control"], "variant"].tolist() == ["A"]
    overview = dict(zip(report.tables["Overview"]["measure"], report.tables["Overview"]["value"], strict=True))
    assert overview["input rows"] == "600"
    assert overview["held out (experiment holdout, not sent)"] == "100"
    assert overview["recipients sent to"] == "500"
    funnel = report.tables["Funnel"].set_index("stage")
    assert funnel.loc["held out", "count"] == 100
    assert funnel.loc["sent", "count"] == 500
    assert report.experiment is not None
    assert report.experiment.control == "holdout"


def test_the_section_is_written_with_its_tables_and_figures(with_outcomes, tmp_path) -> None:
    results, reports = with_outcomes
    report = summarize(reports, results=results, weights=WEIGHTS)
    paths = write_report(report, tmp_path)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown.index("## Funnel") < markdown.index("## Experiment") < markdown.index(r"## A/B comparison")
    section = markdown.split("## Experiment", 1)[1].split("\n## ", 1)[0]
    assert "### Conversion against holdout: ITT and CACE" in section
    assert "![Effect on conversion against holdout: ITT and CACE](uplift_converted.png)" in section
    assert "![Conversion over the outcome window, by arm](conversion_over_time.png)" in section
    assert "- Sample ratio: arm sizes match the plan" in section
    figures_part = markdown.split("## Figures", 1)[1]
    assert "uplift_converted.png" not in figures_part  # shown once, in its section
    # the table as shown equals the formatted comparison row by row
    table = report.experiment.tables["Conversion against holdout: ITT and CACE"]  # type: ignore[union-attr]
    for row in display_table(table).itertuples(index=False):
        assert "| " + " | ".join(str(v).replace("<", "&lt;") for v in row) + " |" in section
    for name in ("uplift_converted", "uplift_value", "conversion_over_time"):
        assert paths[name].read_bytes()[:8] == PNG
    page = paths["html"].read_text(encoding="utf-8")
    assert '<h2 id="experiment">Experiment</h2>' in page
    assert page.count('<img src="data:image/png;base64,') == sum(p.suffix == ".png" for p in paths.values())
    delivery = pd.read_csv(paths["data"], index_col=0)
    assert {"variant", "converted", "value", "converted_at"} <= set(delivery.columns)


def test_no_outcomes_no_section(campaign, tmp_path) -> None:
    results, reports, _ = campaign
    report = summarize(reports, results=results)
    assert report.experiment is None
    assert "Experiment" not in report.headline
    assert "A/B delivery: B's difference in delivery rate from A is not distinguishable" in report.headline
    markdown = write_report(report, tmp_path)["markdown"].read_text(encoding="utf-8")
    assert "## Experiment" not in markdown
    assert not list(tmp_path.glob("uplift_*.png"))


def test_a_sample_ratio_mismatch_is_said(with_outcomes) -> None:
    results, reports = with_outcomes
    report = summarize(reports, results=results, weights={"holdout": 0.5, "A": 0.25, "B": 0.25})
    assert report.experiment is not None
    assert report.experiment.sample_ratio is not None
    assert report.experiment.sample_ratio.mismatch
    assert any(n.startswith("Experiment: sample-ratio mismatch") for n in report.notes)


def test_outcome_metrics_are_checked(with_outcomes, campaign) -> None:
    results, reports = with_outcomes
    with pytest.raises(ValueError, match="outcome metrics must be among"):
        summarize(reports, results=results, outcome_metrics=["revenue"])
    with pytest.raises(DataValidationError, match=re.escape("no outcome column(s) ['replied']")):
        summarize(reports, results=results, outcome_metrics=["replied"])
    only = summarize(reports, results=results, outcome_metrics=["converted"])
    assert only.experiment is not None
    assert list(only.experiment.verdicts) == ["converted"]
    with pytest.raises(DataValidationError, match="no 'arm' column"):
        summarize(reports, results=results, variant="arm", outcome_metrics=["converted"])
