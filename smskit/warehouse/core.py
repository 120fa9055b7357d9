"""The :class:`Warehouse`: archive sends, reports and replies as Parquet; ask the engine for the funnel.

Idempotence and concurrent writers, in three layers:

1. each batch is de-duplicated on its natural key in pandas, then **anti-joined inside the engine**
   against the stored keys of the partitions it touches, so re-adding a source writes nothing;
2. what is left is written one file per partition under a **content-addressed name** (the hash of its
   keys) by an atomic write (:mod:`~smskit.warehouse.storage`): two processes adding the same rows at
   once write the same file name, and the later rename replaces it with the same rows;
3. every query reads results through a **de-duplicating view** (first archived row per key), and the
   funnel's report logic is unchanged by duplicate reports; so rows that two writers raced to store
   under different file names are still counted once. No lock is needed, which is what object
   storage (where there is none) requires.
"""

from __future__ import annotations

import html
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smskit import analytics
from smskit.errors import DataValidationError, WarehouseError
from smskit.warehouse import queries
from smskit.warehouse.engines import DuckDBEngine, Engine, SparkEngine
from smskit.warehouse.schema import KINDS, MANIFEST, SCHEMA_VERSION, manifest_text, parse_manifest, spec
from smskit.warehouse.sources import CAMPAIGN_NAME, infer_kind, kind_frame
from smskit.warehouse.storage import Location, batch_name

__all__ = ["FUNNEL_ORDER", "Warehouse"]

_UTC = pd.DatetimeTZDtype("ns", "UTC")
#: Columns of :meth:`Warehouse.funnel`, in order: the stored results, then the funnel's columns.
FUNNEL_ORDER: tuple[str, ...] = (
    "campaign",
    "request_no",
    "recipient_id",
    "to",
    "template_id",
    "variant",
    "state",
    "sms_msg_id",
    "status",
    "error",
    "sent_at",
    "extend",
    "archived_at",
    "final_status",
    "delivered",
    "category",
    "reported_at",
    "latency_s",
)
_DERIVED = ("hour", "day", "country", "carrier")
Among = Literal["sent", "accepted"]


class Warehouse:
    """A Hive-partitioned Parquet dataset of send results, status reports and replies, queried in an engine.

    Parameters
    ----------
    path : a directory (created if missing) or an fsspec URL (``memory://…``, ``s3://…``).
    engine : ``"duckdb"`` (embedded, default) or ``"spark"``.
    spark : the ``SparkSession`` for ``engine="spark"``.
    memory_limit, temp_directory, threads : DuckDB settings; past ``memory_limit`` DuckDB spills
        to ``temp_directory`` (a private temporary directory by default).

    Usage::

        wh = smskit.Warehouse("warehouse/")
        wh.add(results, kind="results"); wh.add("reports.sqlite", kind="reports")
        wh.delivery_rate(by=["template_id", "day"])
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        engine: str = "duckdb",
        spark: Any = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.location = Location(path)
        text = self.location.read_text(MANIFEST)
        self.schema_version = parse_manifest(text, where=self.location.join(MANIFEST))
        if text is None and not any(self.location.parquet_files(k) for k in KINDS):
            self.location.ensure()
            self.location.write_atomic(MANIFEST, manifest_text().encode())
            self.schema_version = SCHEMA_VERSION
        self.engine_name = engine
        self._engine: Engine
        if engine == "duckdb":
            self._engine = DuckDBEngine(
                self.location, memory_limit=memory_limit, temp_directory=temp_directory, threads=threads
            )
        elif engine == "spark":
            self._engine = SparkEngine(self.location, spark=spark)
        else:
            raise WarehouseError(f"unknown engine {engine!r}", advice="use engine='duckdb' or engine='spark'")
        self._files: tuple[tuple[str, ...], ...] | None = None  # the files the views were made over
        self._numbers = False  # whether number_info holds the results' numbers
        self._funnel_key: tuple[Any, ...] | None = None  # what the materialized funnel was made for

    # --- lifecycle and display ----------------------------------------------------------------------

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({self.location.root!r}, engine={self.engine_name!r})"

    def _repr_html_(self) -> str:
        table = self.info().to_html(index=False, escape=True)
        where = html.escape(self.location.root)
        return (
            f"<b>Warehouse</b> <code>{where}</code> (engine {self.engine_name}, schema v{self.schema_version}){table}"
        )

    def info(self) -> pd.DataFrame:
        """Per kind: files, stored rows and distinct rows (by natural key)."""
        rows = []
        self._prepare()
        assert self._files is not None
        for kind, files in zip(KINDS, self._files, strict=True):
            stored = self._engine.query(f"SELECT count(*) AS n FROM raw_{kind}").column(0)[0].as_py()
            distinct = self._engine.query(f"SELECT count(*) AS n FROM {kind}").column(0)[0].as_py()
            rows.append((kind, len(files), int(stored), int(distinct)))
        return pd.DataFrame(rows, columns=["kind", "files", "rows", "distinct"])

    # --- writing ------------------------------------------------------------------------------------

    def add(
        self,
        source: Any,
        *,
        kind: str | None = None,
        campaign: str | None = None,
        mapping: Mapping[str, str] | None = None,
        errors: str = "raise",
    ) -> int:
        """Archive ``source``; returns how many rows were new (0 when everything was stored already).

        ``kind`` is ``"results"``, ``"reports"`` or ``"replies"`` (inferred when None: a ledger or
        results CSV holds results, anything else reports). ``campaign`` names results that carry no
        ``extend``; ``mapping``/``errors`` are passed to :func:`smskit.read_status_reports`.
        """
        kind = kind or infer_kind(source)
        s = spec(kind)
        frame = kind_frame(source, kind, campaign=campaign, mapping=mapping, errors=errors)
        if frame.empty:
            return 0
        table = _to_arrow(frame.assign(archived_at=pd.Timestamp.now(tz=UTC)), kind)
        partitions = sorted(set(frame[s.partition]))
        existing = self.location.parquet_files(kind, [f"{s.partition}={p}" for p in partitions])
        self._engine.expose(s, existing, view="smskit_existing")
        self._engine.register("smskit_new", table)
        new = self._engine.query(queries.anti_join_sql(kind))
        if new.num_rows == 0:
            return 0
        new_frame = new.to_pandas()
        for value, part in new_frame.groupby(s.partition, sort=True):
            body = pa.Table.from_pandas(part.drop(columns=[s.partition]), schema=s.schema, preserve_index=False)
            buffer = io.BytesIO()
            pq.write_table(body, buffer, compression="zstd")
            name = batch_name(part[list(s.key)].reset_index(drop=True))
            self.location.write_atomic(f"{kind}/{s.partition}={value}/{name}", buffer.getvalue())
        if self.schema_version < SCHEMA_VERSION:  # a v0 dataset takes v1 files from now on
            self.location.write_atomic(MANIFEST, manifest_text().encode())
            self.schema_version = SCHEMA_VERSION
        return int(new.num_rows)

    # --- reading ------------------------------------------------------------------------------------

    def read(self, kind: str, *, campaign: str | Sequence[str] | None = None, since: Any = None) -> pd.DataFrame:
        """The stored rows of ``kind`` (one per natural key). With ``campaign``/``since`` (UTC, on
        ``sent_at``), results are filtered and reports are those the funnel of those results reads."""
        spec(kind)
        camps, since_us = _campaigns(campaign), _since_us(since)
        self._prepare()
        if kind == "reports" and (camps is not None or since_us is not None):
            sql = queries.scoped_reports_sql(campaigns=camps, since_us=since_us)
        elif kind == "results":
            sql = f"SELECT * FROM results WHERE {queries.results_filter(camps, since_us)}"
        else:
            sql = f"SELECT * FROM {kind}"
        return _typed(self._engine.query(sql), kind)

    def sql(self, query: str) -> pd.DataFrame:
        """Run ``query`` in the engine over the views ``results``, ``reports``, ``replies`` (one row per
        natural key; ``raw_<kind>`` has every stored row) and return a frame."""
        self._prepare()
        return self._engine.query(query).to_pandas()

    def funnel(self, campaign: str | Sequence[str] | None = None, since: Any = None) -> pd.DataFrame:
        """One row per sent result with its final state, as :func:`smskit.delivery_funnel` gives it.

        Rows are ordered by campaign, request, number and recipient id; ``since`` (UTC) filters on ``sent_at``.
        """
        self._funnel(campaign, since)
        table = self._engine.query(queries.funnel_rows_sql())
        frame = table.select(list(FUNNEL_ORDER[:-2])).to_pandas()
        frame = _typed_results(frame)
        frame["final_status"] = frame["final_status"].astype("category")
        frame["delivered"] = frame["delivered"].astype(bool)
        frame["category"] = _category(frame["category"])
        frame["reported_at"] = _micros(table.column("reported_us").to_pandas()).to_numpy()
        sent_at = frame["sent_at"]
        frame["latency_s"] = (frame["reported_at"] - sent_at).dt.total_seconds().astype("float64").clip(lower=0.0)
        return frame[list(FUNNEL_ORDER)]

    def delivery_rate(
        self,
        *,
        by: str | Sequence[str] | None = None,
        confidence: float = 0.95,
        among: Among = "sent",
        campaign: str | Sequence[str] | None = None,
        since: Any = None,
    ) -> pd.DataFrame:
        """:func:`smskit.analytics.delivery_rate` over the funnel, counted in the engine.

        ``by`` takes funnel columns and the derived keys ``hour``/``day`` (UTC, from ``sent_at``) and
        ``country``/``carrier`` (from the numbers)."""
        keys = _keys(by)
        cube = self._cube(keys, campaign=campaign, since=since)
        return analytics.delivery_rate(cube, by=keys or None, confidence=confidence, among=among, weight="n")

    def rate_over_time(
        self,
        *,
        freq: str = "1h",
        on: str = "sent_at",
        by: str | Sequence[str] | None = None,
        confidence: float = 0.95,
        among: Among = "sent",
        campaign: str | Sequence[str] | None = None,
        since: Any = None,
    ) -> pd.DataFrame:
        """:func:`smskit.analytics.rate_over_time`: ``on`` (``sent_at`` or ``reported_at``) binned in the
        engine to a fixed ``freq`` (``"30min"``, ``"1h"``, ``"1D"``…)."""
        if on not in ("sent_at", "reported_at"):
            raise DataValidationError(f"on must be 'sent_at' or 'reported_at', not {on!r}")
        try:
            step = pd.Timedelta(freq)
        except (ValueError, TypeError) as exc:
            raise DataValidationError(
                f"freq {freq!r} is not a fixed frequency", advice="use e.g. '30min', '1h' or '1D'"
            ) from exc
        step_us = int(step / pd.Timedelta(microseconds=1))
        if step_us <= 0:
            raise DataValidationError(f"freq {freq!r} must be at least a microsecond")
        keys = _keys(by)
        column = "sent_us" if on == "sent_at" else "reported_us"
        bins = {on: f"{column} - ({column} % {step_us})"}
        cube = self._cube(keys, extra=bins, campaign=campaign, since=since, where=f"{column} IS NOT NULL")
        cube[on] = _micros(cube[on])
        return analytics.rate_over_time(
            cube, freq=freq, on=on, by=keys or None, confidence=confidence, among=among, weight="n"
        )

    def failure_breakdown(
        self,
        *,
        top: int | None = None,
        pending: bool = True,
        among: Among = "sent",
        campaign: str | Sequence[str] | None = None,
        since: Any = None,
    ) -> pd.DataFrame:
        """:func:`smskit.analytics.failure_breakdown` over the funnel, counted in the engine."""
        cube = self._cube(["final_status", "status", "category"], campaign=campaign, since=since)
        cube["category"] = _category(cube["category"])
        return analytics.failure_breakdown(cube, top=top, pending=pending, among=among, weight="n")

    def funnel_counts(self, *, campaign: str | Sequence[str] | None = None, since: Any = None) -> pd.DataFrame:
        """:func:`smskit.analytics.funnel_counts` (sent → accepted → delivered), counted in the engine."""
        return analytics.funnel_counts(self._cube([], campaign=campaign, since=since), weight="n")

    def latency_quantiles(
        self,
        *,
        by: str | Sequence[str] | None = None,
        q: Sequence[float] = (0.5, 0.9, 0.99),
        delivered_only: bool = True,
        campaign: str | Sequence[str] | None = None,
        since: Any = None,
    ) -> pd.DataFrame:
        """:func:`smskit.analytics.latency_quantiles`, computed in the engine (exact, linear interpolation)."""
        qs = [float(x) for x in q]
        if not qs or any(not 0 <= x <= 1 for x in qs):
            raise ValueError(f"q must be quantiles between 0 and 1, got {list(q)!r}")
        keys = _keys(by)
        self._check_keys(keys)
        names = [analytics.quantile_name(x) for x in qs]
        self._funnel(campaign, since, numbers="country" in keys or "carrier" in keys)
        sql = queries.quantiles_sql(keys, qs, names, delivered_only=delivered_only)
        table = _key_dtypes(self._engine.query(sql).to_pandas(), keys)
        table["n"] = table["n"].astype("int64")
        for name in names:
            table[name] = table[name].astype("float64")
        if keys:
            table = table.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
        return table[[*keys, "n", *names]]

    # --- internals ----------------------------------------------------------------------------------

    def _cube(
        self,
        keys: list[str],
        *,
        campaign: Any,
        since: Any,
        extra: dict[str, str] | None = None,
        where: str | None = None,
    ) -> pd.DataFrame:
        self._check_keys(keys)
        self._funnel(campaign, since, numbers="country" in keys or "carrier" in keys)
        sql = queries.cube_sql(keys, where=where, extra=extra)
        cube = _key_dtypes(self._engine.query(sql).to_pandas(), keys)
        cube["n"] = cube["n"].astype("int64")
        cube["delivered"] = cube["delivered"].astype(bool)
        cube["state"] = cube["state"].astype("str")
        return cube

    def _check_keys(self, keys: list[str]) -> None:
        allowed = set(FUNNEL_ORDER) | set(_DERIVED)
        unknown = [k for k in keys if k not in allowed]
        if unknown:
            raise DataValidationError(
                f"cannot group by {unknown}: not a funnel column nor one of {list(_DERIVED)}",
                advice=f"use some of {sorted(allowed)}",
            )

    def _funnel(self, campaign: Any, since: Any, *, numbers: bool = False) -> None:
        """Make ``smskit_funnel`` hold the funnel of the selected results over the current files."""
        camps, since_us = _campaigns(campaign), _since_us(since)
        self._prepare(numbers=numbers)
        key = (self._files, None if camps is None else tuple(camps), since_us, self._numbers)
        if key != self._funnel_key:
            self._engine.materialize(queries.FUNNEL, queries.funnel_sql(campaigns=camps, since_us=since_us))
            self._funnel_key = key

    def _prepare(self, *, numbers: bool = False) -> None:
        """Expose every kind's current files and register the code tables the funnel joins (again only
        when the files changed, or number info is newly needed)."""
        files = tuple(tuple(self.location.parquet_files(kind)) for kind in KINDS)
        if files == self._files and (self._numbers or not numbers):
            return
        self._files, self._numbers = files, numbers
        for kind, listed in zip(KINDS, files, strict=True):
            s = spec(kind)
            self._engine.expose(s, list(listed), view=f"raw_{kind}")
            per_partition = Counter(os.path.dirname(f) for f in listed)
            alone = [f for f in listed if per_partition[os.path.dirname(f)] == 1]
            self._engine.expose(s, alone, view=f"raw1_{kind}")
            self._engine.expose(s, [f for f in listed if per_partition[os.path.dirname(f)] > 1], view=f"rawn_{kind}")
            self._engine.view(kind, queries.dedupe_sql(kind))
        statuses = self._engine.query("SELECT DISTINCT `status` FROM raw_reports").column(0).to_pylist()
        self._engine.register("report_codes", _report_codes(statuses))
        rejected = self._engine.query(
            "SELECT DISTINCT `status` FROM results WHERE `state` = 'rejected' AND `status` IS NOT NULL"
        )
        self._engine.register("status_codes", _status_codes(rejected.column(0).to_pylist()))
        numbers_table = pa.table(
            {
                "number": pa.array([], pa.string()),
                "country": pa.array([], pa.string()),
                "carrier": pa.array([], pa.string()),
            }
        )
        if numbers:
            distinct = self._engine.query("SELECT DISTINCT `to` FROM results WHERE `to` IS NOT NULL").column(0)
            info = analytics.add_number_info(pd.DataFrame({"to": distinct.to_pylist()}))
            numbers_table = pa.table(
                {
                    "number": pa.array(info["to"].tolist(), pa.string()),
                    "country": pa.array(
                        info["country"].astype(object).where(info["country"].notna(), None).tolist(), pa.string()
                    ),
                    "carrier": pa.array(
                        info["carrier"].astype(object).where(info["carrier"].notna(), None).tolist(), pa.string()
                    ),
                }
            )
        self._engine.register("number_info", numbers_table)


# --- helpers --------------------------------------------------------------------------------------------


def _report_codes(statuses: list[str]) -> pa.Table:
    """status → category, is_final, is_delivered for every report status (and DELIVRD), via the catalog."""
    from smskit.codes import DELIVERED, categorize

    codes = sorted(set(statuses) | {DELIVERED})
    info = categorize(pd.Series(codes, dtype=object), kind="report")
    category = info["category"].astype(str)
    return pa.table(
        {
            "status": pa.array(codes, pa.string()),
            "category": pa.array(category.tolist(), pa.string()),
            "is_final": pa.array((category != "pending").tolist(), pa.bool_()),
            "is_delivered": pa.array(info["delivered"].tolist(), pa.bool_()),
        }
    )


def _status_codes(statuses: list[str]) -> pa.Table:
    """status → category for submission statuses of rejected rows (``kind="status"``)."""
    from smskit.codes import categorize

    codes = sorted(set(statuses))
    category = categorize(pd.Series(codes, dtype=object), kind="status")["category"].astype(str)
    return pa.table({"status": pa.array(codes, pa.string()), "category": pa.array(category.tolist(), pa.string())})


def _to_arrow(frame: pd.DataFrame, kind: str) -> pa.Table:
    s = spec(kind)
    out = frame[[s.partition, *s.columns]].copy()
    for column in s.time_columns:
        out[column] = pd.to_datetime(out[column], utc=True).astype("datetime64[us, UTC]")
    fields = [pa.field(s.partition, pa.string()), *s.schema]
    return pa.Table.from_pandas(out, schema=pa.schema(fields), preserve_index=False)


def _micros(values: pd.Series) -> pd.Series:
    """Microseconds since the epoch (nullable) → UTC times, on the same index."""
    us = pd.array(values.to_numpy(dtype=object), dtype="Int64")
    times = pd.to_datetime(np.asarray(us.fillna(0), dtype="int64"), unit="us", utc=True)
    return pd.Series(times, index=values.index).astype(_UTC).where(~np.asarray(us.isna()))


def _category(values: pd.Series) -> pd.Series:
    from smskit.codes import CATEGORIES

    return values.astype(pd.CategoricalDtype(list(CATEGORIES)))


def _typed_results(frame: pd.DataFrame) -> pd.DataFrame:
    from smskit.campaign.states import RESULT_DTYPE

    for column in (
        "campaign",
        "recipient_id",
        "to",
        "template_id",
        "variant",
        "sms_msg_id",
        "status",
        "error",
        "extend",
    ):
        if column in frame.columns:
            frame[column] = frame[column].astype("str")
    frame["request_no"] = frame["request_no"].astype("int64")
    frame["state"] = frame["state"].astype(RESULT_DTYPE)
    for column in ("sent_at", "archived_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(_UTC)
    return frame


def _typed(table: pa.Table, kind: str) -> pd.DataFrame:
    frame = table.to_pandas()
    s = spec(kind)
    if kind == "results":
        return _typed_results(frame)
    for f in s.schema:
        if pa.types.is_timestamp(f.type):
            frame[f.name] = pd.to_datetime(frame[f.name], utc=True).astype(_UTC)
        elif pa.types.is_string(f.type):
            frame[f.name] = frame[f.name].astype("str")
        elif pa.types.is_int64(f.type):
            frame[f.name] = frame[f.name].astype("int64")
        elif pa.types.is_boolean(f.type):
            frame[f.name] = frame[f.name].fillna(False).astype(bool)
    frame[s.partition] = frame[s.partition].astype("str")
    return frame


def _key_dtypes(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Group keys typed as in the pandas funnel, so analytics groups and sorts them the same way."""
    from smskit.campaign.states import RESULT_DTYPE

    for key in keys:
        values = frame[key]
        if key == "state":
            frame[key] = values.astype(RESULT_DTYPE)
        elif key == "category":
            frame[key] = _category(values)
        elif key in ("final_status", "country", "carrier"):
            frame[key] = values.astype("category")
        elif key == "hour":
            frame[key] = values.astype("Int64")
        elif key == "day":
            frame[key] = _micros(values)
        elif key in ("sent_at", "reported_at", "archived_at"):
            frame[key] = pd.to_datetime(values, utc=True).astype(_UTC)
        elif key == "request_no":
            frame[key] = values.astype("int64")
        elif key == "delivered":
            frame[key] = values.astype(bool)
        elif key != "latency_s":
            frame[key] = values.astype("str")
    return frame


def _keys(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else [str(k) for k in by]


def _campaigns(campaign: str | Sequence[str] | None) -> list[str] | None:
    if campaign is None:
        return None
    names = [campaign] if isinstance(campaign, str) else list(campaign)
    bad = [n for n in names if not isinstance(n, str) or not CAMPAIGN_NAME.match(n)]
    if bad:
        raise DataValidationError(
            f"campaign name(s) {bad} are not valid", advice="campaign names are letters, digits, '_', '-' or '.'"
        )
    return names


def _since_us(since: Any) -> int | None:
    if since is None:
        return None
    try:
        stamp = pd.Timestamp(since)
    except (ValueError, TypeError) as exc:
        raise DataValidationError(f"since {since!r} is not a date or time", advice="e.g. since='2025-01-31'") from exc
    if stamp is pd.NaT:
        raise DataValidationError(f"since {since!r} is not a date or time", advice="e.g. since='2025-01-31'")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1000)
