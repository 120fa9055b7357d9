"""smskit.Warehouse on Apache Spark (local mode): the same SQL, the same numbers as the pandas path.

One session-scoped SparkSession (tests/conftest.py); without Java the fixture fails and says how to
install it: these tests are never skipped.
"""

from __future__ import annotations

import pandas as pd
import pytest

import smskit
from smskit.warehouse.synthetic import synthetic_campaign
from tests.warehouse._checks import assert_same, check_against_pandas, pandas_funnel

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_campaign(1500, seed=5)


def test_spark_matches_the_pandas_path_on_every_metric(tmp_path, data, spark) -> None:
    results, reports = data
    with smskit.Warehouse(tmp_path / "wh", engine="spark", spark=spark) as wh:
        wh.add(results, kind="results")
        wh.add(reports.iloc[: len(reports) // 2 + 200], kind="reports")
        wh.add(reports.iloc[len(reports) // 2 :], kind="reports")  # the overlap is anti-joined in Spark
        assert wh.add(reports, kind="reports") == 0
        check_against_pandas(wh, pandas_funnel(results, reports))


def test_spark_and_duckdb_read_the_same_files_alike(tmp_path, data, spark) -> None:
    results, reports = data
    root = tmp_path / "wh"
    with smskit.Warehouse(root) as duck:  # written by the DuckDB engine
        duck.add(results, kind="results")
        duck.add(reports, kind="reports")
        want = duck.funnel(campaign="spring", since="2025-03-02")
        rates = duck.delivery_rate(by=["campaign", "day"])
    with smskit.Warehouse(root, engine="spark", spark=spark) as wh:
        assert wh.add(results, kind="results") == 0
        assert_same(wh.funnel(campaign="spring", since="2025-03-02"), want)
        assert_same(wh.delivery_rate(by=["campaign", "day"]), rates)
        counts = wh.sql("SELECT count(*) AS n FROM reports")
    assert int(counts["n"].iloc[0]) == len(
        smskit.read_status_reports(reports).drop_duplicates(["sms_msg_id", "sequence", "status", "update_time"])
    )


def test_engine_spark_without_a_session_is_refused(tmp_path) -> None:
    with pytest.raises(smskit.WarehouseError, match="needs a SparkSession"):
        smskit.Warehouse(tmp_path / "wh", engine="spark")
