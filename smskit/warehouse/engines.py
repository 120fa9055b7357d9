"""The two engines behind a :class:`~smskit.warehouse.Warehouse`: DuckDB (embedded) and Spark.

Both offer the same four operations, so the warehouse's SQL (:mod:`smskit.warehouse.queries`) runs
unchanged on either: expose a kind's Parquet files as the view ``raw_<kind>`` (columns a file lacks,
e.g. in a version-0 dataset, read as nulls), register a small Arrow table as a view, run a query into
an Arrow table, and close.

DuckDB runs in memory with a ``memory_limit`` and a ``temp_directory``: joins, sorts and windows
larger than the limit spill there instead of failing. Spark uses the session it is given.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import pyarrow as pa

from smskit.errors import WarehouseError
from smskit.warehouse.queries import q
from smskit.warehouse.schema import KindSpec
from smskit.warehouse.storage import Location

__all__ = ["DuckDBEngine", "Engine", "SparkEngine", "sql_type"]

_SQL_TYPES = {"string": "STRING", "int64": "BIGINT", "bool": "BOOLEAN", "double": "DOUBLE"}


def sql_type(arrow_type: pa.DataType) -> str:
    """The SQL type name both dialects read for an Arrow type."""
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    return _SQL_TYPES[str(arrow_type)]


class Engine:
    """What the warehouse needs from an engine."""

    name = "engine"

    def expose(self, kind: KindSpec, files: list[str], *, view: str) -> None:
        raise NotImplementedError

    def register(self, name: str, table: pa.Table) -> None:
        raise NotImplementedError

    def query(self, sql: str) -> pa.Table:
        raise NotImplementedError

    def view(self, name: str, sql: str) -> None:
        """Name the query ``sql`` (a view: evaluated when read)."""
        raise NotImplementedError

    def materialize(self, name: str, sql: str) -> None:
        """Name ``sql`` for several queries in a row: a view in DuckDB (it streams, within its memory
        limit), a cached table in Spark (each Spark query has a high fixed cost)."""
        self.view(name, sql)

    def close(self) -> None:
        """Release what the engine holds (a Spark session given by the caller stays running)."""


def _empty_select(kind: KindSpec) -> str:
    cols = [f"CAST(NULL AS STRING) AS {q(kind.partition)}"]
    cols += [f"CAST(NULL AS {sql_type(f.type)}) AS {q(f.name)}" for f in kind.schema]
    return f"SELECT {', '.join(cols)} WHERE 1 = 0"


class DuckDBEngine(Engine):
    """Embedded DuckDB: no server; spills to ``temp_directory`` past ``memory_limit``."""

    name = "duckdb"

    def __init__(
        self,
        location: Location,
        *,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
        threads: int | None = None,
    ) -> None:
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - duckdb is a dependency
            raise WarehouseError("DuckDB is not installed", advice="pip install duckdb") from exc
        self._owned_tmp = temp_directory is None
        self.temp_directory = temp_directory or tempfile.mkdtemp(prefix="smskit-duckdb-")
        config: dict[str, Any] = {"temp_directory": self.temp_directory}
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        if threads is not None:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("CREATE MACRO unix_micros(ts) AS epoch_us(ts)")
        if location.fs is not None:
            self.con.register_filesystem(location.fs)

    def expose(self, kind: KindSpec, files: list[str], *, view: str) -> None:
        if not files:
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS {_empty_select(kind)}")
            return
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        source = (
            f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true, "
            f"hive_types = {{'{kind.partition}': VARCHAR}})"
        )
        present = {row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        cols = [q(kind.partition)]
        for f in kind.schema:
            cols.append(q(f.name) if f.name in present else f"CAST(NULL AS {sql_type(f.type)}) AS {q(f.name)}")
        self.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {', '.join(cols)} FROM {source}")

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    def query(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except Exception as exc:  # duckdb.Error subclasses: one clear error type for callers
            raise WarehouseError(f"DuckDB could not run the query: {exc}", advice="check the SQL") from exc

    def close(self) -> None:
        self.con.close()
        if self._owned_tmp:
            shutil.rmtree(self.temp_directory, ignore_errors=True)


class SparkEngine(Engine):
    """Apache Spark through the caller's ``SparkSession`` (local mode or a cluster)."""

    name = "spark"

    def __init__(self, location: Location, *, spark: Any) -> None:
        if spark is None:
            raise WarehouseError(
                "engine='spark' needs a SparkSession",
                advice="pass spark=SparkSession.builder.getOrCreate() (pip install 'smskit[spark]')",
            )
        self.spark = spark
        self.location = location
        self._cached: dict[str, Any] = {}

    def expose(self, kind: KindSpec, files: list[str], *, view: str) -> None:
        from pyspark.sql.types import StringType, StructField, StructType

        fields = [_spark_field(f) for f in kind.schema] + [StructField(kind.partition, StringType())]
        schema = StructType(fields)
        if not files:
            frame = self.spark.createDataFrame([], schema)
        else:
            base = f"{self.location.url}/{kind.name}"
            frame = self.spark.read.schema(schema).option("basePath", base).parquet(*[_spark_path(f) for f in files])
        frame.createOrReplaceTempView(view)

    def register(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def materialize(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).persist()
        frame.createOrReplaceTempView(name)
        old = self._cached.pop(name, None)
        if old is not None:
            old.unpersist()
        self._cached[name] = frame

    def close(self) -> None:
        for frame in self._cached.values():
            frame.unpersist()
        self._cached.clear()

    def query(self, sql: str) -> pa.Table:
        try:
            result: pa.Table = self.spark.sql(sql).toArrow()
        except Exception as exc:  # py4j / analysis errors: one clear error type for callers
            raise WarehouseError(f"Spark could not run the query: {exc}", advice="check the SQL") from exc
        return result


def _spark_field(field: pa.Field) -> Any:
    from pyspark.sql.types import BooleanType, LongType, StringType, StructField, TimestampType

    if pa.types.is_timestamp(field.type):
        kind: Any = TimestampType()
    elif pa.types.is_int64(field.type):
        kind = LongType()
    elif pa.types.is_boolean(field.type):
        kind = BooleanType()
    else:
        kind = StringType()
    return StructField(field.name, kind)


def _spark_path(path: str) -> str:
    return path if "://" in path else f"file://{path}"
