"""The warehouse's SQL, written once: the same text runs on DuckDB and on Spark SQL.

It keeps to what both dialects accept: CTEs, ``min_by`` and ``row_number()``, ``CASE``, ``IS NOT DISTINCT
FROM``, ``TRIM(LEADING … FROM …)``, ``percentile_cont(q) WITHIN GROUP (ORDER BY …)``, back-quoted
identifiers and explicit ``NULLS LAST``. Times are compared as integer microseconds since the epoch
via Spark's ``unix_micros``, which the DuckDB engine defines as a one-line macro over ``epoch_us``; so
no time zone setting of either engine changes a result.

The funnel is :func:`smskit.reports.funnel.delivery_funnel`'s rules in SQL (see that module):

* per segment (``sms_msg_id``, ``sequence``), the first final report by time wins (no time = latest),
  a failure beats a delivery at the same time, and without a final report the latest intermediate
  one stands; two different codes for one segment, both final (or both not) at the same time and
  both failures (or both deliveries), are an exact tie that either may win (pandas: the first read);
* a message is delivered when all ``max(total)`` segments are, failed when one segment failed (the
  earliest failure gives its code and time), else pending;
* an ``unknown`` send without an id takes the id of a report echoing its ``extend`` and number
  (the lowest such id when several messages echo the same pair; pandas takes the first read).

Duplicate reports need no de-duplication here: the segment choice, ``max(total)`` and the echo table
are the same with or without copies of a report. Results are read through the de-duplicated view.

Usage: ``engine.materialize(FUNNEL, funnel_sql(campaigns=["c1"], since_us=None))`` then
``engine.query(cube_sql(["template_id"]))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from smskit.campaign.states import SENT_STATES
from smskit.codes import DELIVERED
from smskit.warehouse.schema import spec

__all__ = [
    "FUNNEL",
    "anti_join_sql",
    "cube_sql",
    "dedupe_sql",
    "funnel_rows_sql",
    "funnel_sql",
    "q",
    "quantiles_sql",
    "results_filter",
    "scoped_reports_sql",
]

#: ``k`` of a report without time (sorts after every real time), and the flip of intermediate times.
_FLIP = 1 << 52
_MISSING = _FLIP + 1
#: ``comp`` offset of intermediate (not final) reports: above every final one.
_CLASS = 1 << 54
#: A ``kk`` above every real one (rows that are not candidates).
_NEVER = 1 << 62
_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000


def q(name: str) -> str:
    """A back-quoted identifier (both dialects read them); names are ours, never user text."""
    return f"`{name}`"


def _list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)  # callers pass only checked campaign names / fixed words


def dedupe_sql(kind: str) -> str:
    """One row per natural key: the first archived (for results, a settled outcome beats ``unknown``).

    A file holds each key once (a batch is de-duplicated before it is written), so only partitions
    with several files can repeat a key: ``raw1_<kind>`` (files alone in their partition) is read as
    it is, and only ``rawn_<kind>`` (the others) pays for the window."""
    s = spec(kind)
    cols = ", ".join(q(c) for c in (s.partition, *s.columns))
    prefer = f"CASE WHEN {q('state')} = 'unknown' THEN 1 ELSE 0 END, " if kind == "results" else ""
    return (
        f"SELECT {cols} FROM raw1_{kind} UNION ALL "
        f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {', '.join(q(k) for k in s.key)} "
        f"ORDER BY {prefer}{q('archived_at')} ASC NULLS LAST) AS _rn FROM rawn_{kind}) AS d WHERE _rn = 1"
    )


def anti_join_sql(kind: str, *, new: str = "smskit_new", existing: str = "smskit_existing") -> str:
    """Rows of ``new`` whose natural key is not stored yet (an ``unknown`` result does not block a settled one)."""
    s = spec(kind)
    same = " AND ".join(f"e.{q(k)} IS NOT DISTINCT FROM n.{q(k)}" for k in s.key)
    if kind == "results":
        same += f" AND (e.{q('state')} <> 'unknown' OR n.{q('state')} = 'unknown')"
    return f"SELECT n.* FROM {new} AS n WHERE NOT EXISTS (SELECT 1 FROM {existing} AS e WHERE {same})"


def _digits(expr: str) -> str:
    return f"TRIM(TRIM(LEADING '+' FROM {expr}))"


def results_filter(campaigns: Sequence[str] | None, since_us: int | None) -> str:
    """``WHERE`` condition selecting results by campaign and ``sent_at`` (``TRUE`` for all)."""
    where = []
    if campaigns is not None:
        where.append(f"{q('campaign')} IN ({_list(campaigns) or 'NULL'})")
    if since_us is not None:
        where.append(f"unix_micros({q('sent_at')}) >= {int(since_us)}")
    return " AND ".join(where) or "TRUE"


def _sent_filter(campaigns: Sequence[str] | None, since_us: int | None) -> str:
    return f"{q('state')} IN ({_list(SENT_STATES)}) AND {results_filter(campaigns, since_us)}"


def _ided_ctes(campaigns: Sequence[str] | None, since_us: int | None) -> str:
    """CTEs ``sent`` (sent results, filtered) and ``ided`` (with ``msg_id``: settled unknowns resolved)."""
    unresolved = f"s.{q('state')} = 'unknown' AND s.{q('sms_msg_id')} IS NULL AND s.{q('extend')} IS NOT NULL"
    return f"""
sent AS (
  SELECT r.*, unix_micros(r.{q("sent_at")}) AS sent_us FROM results AS r
  WHERE {_sent_filter(campaigns, since_us)}
),
echo AS (
  SELECT {q("extend")}, {_digits(q("to"))} AS digits, min({q("sms_msg_id")}) AS echo_id
  FROM raw_reports
  WHERE {q("to")} IS NOT NULL AND {q("extend")} IN (SELECT s.{q("extend")} FROM sent AS s WHERE {unresolved})
  GROUP BY {q("extend")}, {_digits(q("to"))}
),
ided AS (
  SELECT s.*, s.{q("sms_msg_id")} AS msg_id FROM sent AS s WHERE NOT ({unresolved})
  UNION ALL
  SELECT s.*, e.echo_id AS msg_id FROM sent AS s LEFT JOIN echo AS e
    ON e.{q("extend")} = s.{q("extend")} AND e.digits = {_digits("s." + q("to"))}
  WHERE {unresolved}
)"""


def _final_state_ctes(*, scoped: bool) -> str:
    """CTEs ``rep`` … ``fstate``: one row per message with final_status, delivered and reported_us.

    Choices are hash aggregates over integer sort keys, not windows. A time ``t`` (µs) becomes ``k``,
    which sorts like pandas' key within a class: ``t`` for final reports, ``FLIP - t`` for intermediate
    ones (latest first), ``MISSING`` (after all) without a time. Per segment ``comp`` sorts like
    (not final, k, delivered) and ``min_by(status, comp)`` picks the report; per message
    ``kk = k * 256 + seq`` orders failed (or pending) segments by time, then segment number. Times are
    after 1970 and before 2112 (below ``FLIP``), so every value decodes exactly through a DOUBLE.
    """
    scope = "WHERE p.`sms_msg_id` IN (SELECT msg_id FROM ided)" if scoped else ""
    t = f"unix_micros(p.{q('update_time')})"
    k = f"CASE WHEN {t} IS NULL THEN {_MISSING} WHEN c.is_final THEN {t} ELSE {_FLIP} - {t} END"
    comp = f"CASE WHEN c.is_final THEN 0 ELSE {_CLASS} END + ({k}) * 2 + CASE WHEN c.is_delivered THEN 1 ELSE 0 END"
    kk = "k * 256 + seq"
    return f"""
rep AS (
  SELECT p.{q("sms_msg_id")} AS sms_msg_id, p.{q("sequence")} AS seq, p.{q("total")} AS total,
         p.{q("status")} AS status, {comp} AS comp
  FROM raw_reports AS p JOIN report_codes AS c ON p.{q("status")} = c.status
  {scope}
),
seg AS (
  SELECT sms_msg_id, seq, max(total) AS total, min(comp) AS comp, min_by(status, comp) AS status
  FROM rep GROUP BY sms_msg_id, seq
),
chosen AS (
  SELECT sms_msg_id, seq, total, status,
    comp >= {_CLASS} AS pending,
    comp % 2 = 1 AS delivered,
    CAST(((comp % {_CLASS}) - (comp % 2)) / 2 AS BIGINT) AS k
  FROM seg
),
timed AS (
  SELECT chosen.*,
    CASE WHEN k = {_MISSING} THEN NULL WHEN pending THEN {_FLIP} - k ELSE k END AS t
  FROM chosen
),
fs AS (
  SELECT sms_msg_id,
    max(total) AS total,
    sum(CASE WHEN delivered AND seq <= total THEN 1 ELSE 0 END) AS n_delivered,
    min(CASE WHEN NOT pending AND NOT delivered THEN {kk} END) AS failed_kk,
    min_by(CASE WHEN NOT pending AND NOT delivered THEN status END,
           CASE WHEN NOT pending AND NOT delivered THEN {kk} ELSE {_NEVER} END) AS failed_status,
    min_by(CASE WHEN pending THEN status END, CASE WHEN pending THEN {kk} ELSE {_NEVER} END) AS pending_status,
    max(CASE WHEN delivered THEN t END) AS delivered_t,
    max(t) AS last_t
  FROM timed GROUP BY sms_msg_id
),
fstate AS (
  SELECT sms_msg_id,
    CASE WHEN failed_kk IS NOT NULL THEN failed_status
         WHEN n_delivered >= total THEN '{DELIVERED}'
         ELSE pending_status END AS final_status,
    CASE WHEN failed_kk IS NULL AND n_delivered >= total THEN TRUE ELSE FALSE END AS delivered,
    CASE WHEN failed_kk IS NOT NULL THEN
              CASE WHEN failed_kk >= {_MISSING * 256} THEN NULL
                   ELSE CAST((failed_kk - (failed_kk % 256)) / 256 AS BIGINT) END
         WHEN n_delivered >= total THEN delivered_t
         ELSE last_t END AS reported_us
  FROM fs
)"""


def _funnel_ctes(campaigns: Sequence[str] | None, since_us: int | None) -> str:
    """Every CTE up to ``funnel``: one row per sent result with the funnel's columns (times in µs)."""
    scoped = campaigns is not None or since_us is not None
    cols = ", ".join(f"i.{q(c)}" for c in ("campaign", *spec("results").columns) if c != "sms_msg_id")
    rejected = f"i.{q('state')} = 'rejected'"
    latency = "CAST(f.reported_us - i.sent_us AS DOUBLE) / 1000000"
    return f"""WITH {_ided_ctes(campaigns, since_us)},{_final_state_ctes(scoped=scoped)},
funnel AS (
  SELECT {cols}, i.msg_id AS {q("sms_msg_id")}, i.sent_us,
    CASE WHEN {rejected} THEN i.{q("status")} ELSE f.final_status END AS final_status,
    CASE WHEN {rejected} THEN FALSE ELSE COALESCE(f.delivered, FALSE) END AS delivered,
    CASE WHEN {rejected} THEN COALESCE(sc.category, 'pending')
         WHEN i.{q("state")} = 'unknown' AND i.msg_id IS NULL THEN 'unknown'
         ELSE COALESCE(rc.category, 'pending') END AS category,
    CASE WHEN {rejected} THEN NULL ELSE f.reported_us END AS reported_us,
    CASE WHEN {rejected} THEN NULL WHEN {latency} < 0 THEN CAST(0 AS DOUBLE) ELSE {latency} END AS latency_s
  FROM ided AS i
  LEFT JOIN fstate AS f ON NOT ({rejected}) AND f.sms_msg_id = i.msg_id
  LEFT JOIN report_codes AS rc ON rc.status = f.final_status
  LEFT JOIN status_codes AS sc ON {rejected} AND sc.status = i.{q("status")}
){_derived_cte()}"""


def _derived_cte() -> str:
    """``funnel_x``: the funnel plus the derived keys hour and day (UTC, from sent_at) and number info."""
    return f""",
funnel_x AS (
  SELECT funnel.*,
    CAST(FLOOR((sent_us % {_DAY_US}) / {_HOUR_US}) AS BIGINT) AS {q("hour")},
    sent_us - (sent_us % {_DAY_US}) AS {q("day")},
    ni.country AS {q("country")}, ni.carrier AS {q("carrier")}
  FROM funnel LEFT JOIN number_info AS ni ON ni.number = funnel.{q("to")}
)"""


#: The relation every metric reads: :func:`funnel_sql` as a view (DuckDB) or a cached table (Spark).
FUNNEL = "smskit_funnel"


def funnel_sql(*, campaigns: Sequence[str] | None = None, since_us: int | None = None) -> str:
    """The row-level funnel: one row per sent result (times as µs in ``sent_us``/``reported_us``), with
    the derived keys ``hour``, ``day``, ``country`` and ``carrier``."""
    return f"{_funnel_ctes(campaigns, since_us)}\nSELECT * FROM funnel_x"


def funnel_rows_sql() -> str:
    """The funnel's rows in a stable order: campaign, request, number, recipient id."""
    order = ", ".join(q(c) for c in ("campaign", "request_no", "to", "recipient_id"))
    return f"SELECT * FROM {FUNNEL} ORDER BY {order}"


def cube_sql(keys: Sequence[str], *, where: str | None = None, extra: Mapping[str, str] | None = None) -> str:
    """Funnel rows counted per ``keys`` (plus state and delivered): the small frame the metrics read.

    ``extra`` adds computed group keys (name → expression over the funnel, e.g. a time bin)."""
    exprs = [q(k) for k in dict.fromkeys([*keys, "state", "delivered"])]
    computed = list((extra or {}).items())
    select = ", ".join([*(f"{e} AS {q(n)}" for n, e in computed), *exprs])
    groups = ", ".join([*(e for _, e in computed), *exprs])
    filt = f"WHERE {where}" if where else ""
    return f"SELECT {select}, count(*) AS n FROM {FUNNEL} {filt} GROUP BY {groups}"


def quantiles_sql(keys: Sequence[str], qs: Sequence[float], names: Sequence[str], *, delivered_only: bool) -> str:
    """Count and exact (linearly interpolated) quantiles of ``latency_s`` per ``keys``."""
    pcts = ", ".join(
        f"percentile_cont({float(x)!r}) WITHIN GROUP (ORDER BY latency_s) AS {q(n)}"
        for x, n in zip(qs, names, strict=True)
    )
    where = "latency_s IS NOT NULL" + (" AND delivered" if delivered_only else "")
    select = ", ".join([*(q(k) for k in keys), "count(*) AS n", pcts])
    group = f" GROUP BY {', '.join(q(k) for k in keys)}" if keys else ""
    return f"SELECT {select} FROM {FUNNEL} WHERE {where}{group}"


def scoped_reports_sql(*, campaigns: Sequence[str] | None, since_us: int | None) -> str:
    """The (de-duplicated) reports a funnel over the selected results reads: their messages' reports and
    every report echoing one of their ``extend`` values."""
    return f"""WITH {_ided_ctes(campaigns, since_us)}
SELECT * FROM reports
WHERE {q("sms_msg_id")} IN (SELECT msg_id FROM ided WHERE msg_id IS NOT NULL)
   OR {q("extend")} IN (SELECT {q("extend")} FROM ided WHERE {q("extend")} IS NOT NULL)"""
