"""What a warehouse holds: its kinds, their columns and Arrow types, natural keys, partitioning, and
the manifest that records the schema version.

Layout of a warehouse at ``ROOT`` (Hive-partitioned Parquet, one dataset per kind)::

    ROOT/_smskit_warehouse.json                       manifest: format, schema_version, kinds
    ROOT/results/campaign=<id>/part-<hash>.parquet    send outcomes (accepted, rejected, unknown)
    ROOT/reports/month=<YYYY-MM|none>/part-….parquet  status reports, by UTC month of update_time
    ROOT/replies/month=<YYYY-MM|none>/part-….parquet  replies, by UTC month of received_at

Months, not days: each archived batch writes one file per partition it touches, and a periodic
archive of a busy receiver would otherwise scatter into hundreds of small files per run.

Schema versions: 0 is a dataset written before the manifest existed (no ``_smskit_warehouse.json``;
results without ``recipient_id``/``variant``, no ``archived_at`` anywhere); 1 is the current one.
Readers fill columns a file lacks with nulls, so every version stays readable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from smskit.errors import WarehouseError

__all__ = [
    "KINDS",
    "MANIFEST",
    "NONE_PARTITION",
    "SCHEMA_VERSION",
    "Kind",
    "KindSpec",
    "manifest_text",
    "parse_manifest",
    "spec",
]

Kind = Literal["results", "reports", "replies"]
KINDS: tuple[Kind, ...] = ("results", "reports", "replies")
SCHEMA_VERSION = 1
MANIFEST = "_smskit_warehouse.json"
FORMAT = "smskit-warehouse"
#: Partition value of rows whose partitioning time is missing (platform-made reports).
NONE_PARTITION = "none"

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class KindSpec:
    """One kind's stored columns (partition column excluded), natural key and partition column."""

    name: Kind
    schema: pa.Schema
    key: tuple[str, ...]
    partition: str
    #: column whose UTC month is the partition (None: the partition is a column's own value)
    partition_time: str | None
    #: columns added after version 0 (absent from v0 files)
    since_v1: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema if pa.types.is_timestamp(f.type))


_SPECS: dict[str, KindSpec] = {
    "results": KindSpec(
        "results",
        pa.schema(
            [
                ("request_no", pa.int64()),
                ("to", pa.string()),
                ("recipient_id", pa.string()),
                ("template_id", pa.string()),
                ("variant", pa.string()),
                ("state", pa.string()),
                ("sms_msg_id", pa.string()),
                ("status", pa.string()),
                ("error", pa.string()),
                ("sent_at", _TS),
                ("extend", pa.string()),
                ("archived_at", _TS),
            ]
        ),
        key=("campaign", "request_no", "to"),
        partition="campaign",
        partition_time=None,
        since_v1=("recipient_id", "variant", "archived_at"),
    ),
    "reports": KindSpec(
        "reports",
        pa.schema(
            [
                ("sms_msg_id", pa.string()),
                ("status", pa.string()),
                ("status_desc", pa.string()),
                ("org_code", pa.string()),
                ("source", pa.string()),
                ("update_time", _TS),
                ("total", pa.int64()),
                ("sequence", pa.int64()),
                ("extend", pa.string()),
                ("to", pa.string()),
                ("archived_at", _TS),
            ]
        ),
        key=("sms_msg_id", "sequence", "status", "update_time"),
        partition="month",
        partition_time="update_time",
        since_v1=("archived_at",),
    ),
    "replies": KindSpec(
        "replies",
        pa.schema(
            [
                ("sms_msg_id", pa.string()),
                ("from", pa.string()),
                ("to", pa.string()),
                ("body", pa.string()),
                ("create_time", _TS),
                ("received_at", _TS),
                ("unsubscribe", pa.bool_()),
                ("archived_at", _TS),
            ]
        ),
        key=("sms_msg_id",),
        partition="month",
        partition_time="received_at",
        since_v1=("archived_at",),
    ),
}


def spec(kind: str) -> KindSpec:
    """The :class:`KindSpec` of ``kind``; a clear error for anything else."""
    try:
        return _SPECS[kind]
    except KeyError:
        raise WarehouseError(f"unknown kind {kind!r}", advice=f"use one of {', '.join(KINDS)}") from None


def manifest_text() -> str:
    """The manifest of a warehouse written by this version."""
    kinds = {
        k: {"partition_by": s.partition, "key": list(s.key), "columns": list(s.columns)} for k, s in _SPECS.items()
    }
    return json.dumps({"format": FORMAT, "schema_version": SCHEMA_VERSION, "kinds": kinds}, indent=2) + "\n"


def parse_manifest(text: str | None, *, where: str) -> int:
    """The schema version a manifest records (0 when there is none); refuses newer or foreign ones."""
    if text is None:
        return 0
    try:
        doc: Any = json.loads(text)
    except ValueError as exc:
        raise WarehouseError(f"{where} is not valid JSON: {exc}", advice="restore the manifest or remove it") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise WarehouseError(f"{where} is not a smskit warehouse manifest", advice="point at a smskit warehouse")
    version = doc.get("schema_version")
    if not isinstance(version, int) or version < 0:
        raise WarehouseError(f"{where} has no valid schema_version", advice="restore the manifest")
    if version > SCHEMA_VERSION:
        raise WarehouseError(
            f"{where} has schema version {version}; this smskit reads versions up to {SCHEMA_VERSION}",
            advice="upgrade smskit to read this warehouse",
        )
    return version
