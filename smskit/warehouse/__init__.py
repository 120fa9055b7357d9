"""A Parquet warehouse of send results, status reports and replies, queried by DuckDB or Spark.

``smskit.Warehouse(path)`` archives what the receivers, ledgers and exports hold into one
Hive-partitioned dataset (:mod:`~smskit.warehouse.schema`), idempotently and safely from several
processes at once (:mod:`~smskit.warehouse.core`), and answers the funnel and the delivery metrics
inside the engine with SQL written once for both engines (:mod:`~smskit.warehouse.queries`).

Usage::

    wh = smskit.Warehouse("warehouse/")
    wh.add("reports.sqlite")                      # kind inferred: reports
    wh.add(results, kind="results")
    wh.delivery_rate(by=["template_id", "day"])   # same columns and numbers as smskit.analytics
"""

from __future__ import annotations

from smskit.warehouse.core import Warehouse
from smskit.warehouse.schema import KINDS, SCHEMA_VERSION

__all__ = ["KINDS", "SCHEMA_VERSION", "Warehouse"]
