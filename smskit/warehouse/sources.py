"""Anything the warehouse takes → one frame of a kind's columns, checked, de-duplicated on its key.

* ``results``: a ``send_campaign`` frame (the index is the user's id), a results CSV from
  ``smskit send --out`` (:func:`smskit.summary.read_results`), or a :class:`~smskit.campaign.ledger.Ledger`
  (or its SQLite file). Only send outcomes are kept (states ``accepted``, ``rejected``, ``unknown``);
  the campaign comes from a ``campaign`` column, the ``campaign=`` argument, or ``extend``
  (``<campaign>:<request_no>``).
* ``reports``: anything :func:`smskit.read_status_reports` reads (receiver stores, callback logs,
  console exports, frames).
* ``replies``: a frame with the reply columns, or any source ``smskit.read_replies`` reads when this
  build has it.

Usage: ``frame = kind_frame(source, "results")``; ``infer_kind("reports.sqlite") == "reports"``.
"""

from __future__ import annotations

import importlib
import os
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smskit.errors import DataValidationError, WarehouseError
from smskit.warehouse.schema import KINDS, NONE_PARTITION, Kind, spec

__all__ = ["CAMPAIGN_NAME", "REPLY_COLUMNS", "infer_kind", "kind_frame", "partition_values"]

#: What a campaign name may be: it names a partition directory (and travels in ``extend``).
CAMPAIGN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: Columns of a replies frame (the ``smskit.read_replies`` format).
REPLY_COLUMNS: tuple[str, ...] = ("sms_msg_id", "from", "to", "body", "create_time", "received_at", "unsubscribe")
_UTC = pd.DatetimeTZDtype("ns", "UTC")
_TABLES = {".csv", ".xlsx", ".xls", ".xlsm"}


def infer_kind(source: Any) -> Kind:
    """The kind a source holds: a report store or log → reports, a ledger or results CSV → results."""
    from smskit.summary import RESULT_COLUMNS

    if isinstance(source, pd.DataFrame):
        cols = set(source.columns)
        if {"state", "to"} <= cols:
            return "results"
        if {"from", "body"} <= cols:
            return "replies"
        return "reports"
    if _is_ledger(source):
        return "results"
    path = Path(source)
    if path.suffix.lower() == ".csv" and path.is_file():
        header = pd.read_csv(path, nrows=0).columns
        if set(RESULT_COLUMNS) <= set(header):
            return "results"
    return "reports"


def kind_frame(
    source: Any,
    kind: str,
    *,
    campaign: str | None = None,
    mapping: Mapping[str, str] | None = None,
    errors: str = "raise",
) -> pd.DataFrame:
    """``source`` as a frame of ``kind``'s stored columns plus its partition column, one row per key."""
    if kind not in KINDS:
        spec(kind)  # raises the clear error
    if kind == "results":
        frame = _results(source, campaign=campaign)
    elif kind == "reports":
        frame = _reports(source, mapping=mapping, errors=errors)
    else:
        frame = _replies(source)
    s = spec(kind)
    frame = frame.assign(**{s.partition: partition_values(frame, kind)}) if s.partition_time else frame
    return frame.drop_duplicates(list(s.key), keep="first", ignore_index=True)


def partition_values(frame: pd.DataFrame, kind: str) -> pd.Series:
    """Each row's partition value: the campaign, or the UTC month (``YYYY-MM``) of the kind's time."""
    s = spec(kind)
    if s.partition_time is None:
        return frame[s.partition].astype("str")
    times = pd.to_datetime(frame[s.partition_time], utc=True)
    return times.dt.strftime("%Y-%m").fillna(NONE_PARTITION).astype("str")


# --- results ---------------------------------------------------------------------------------------------


def _results(source: Any, *, campaign: str | None) -> pd.DataFrame:
    from smskit.reports.funnel import SENT_STATES
    from smskit.summary import read_results

    if isinstance(source, pd.DataFrame):
        frame = source
    elif _is_ledger(source):
        frame = _ledger_results(source)
    elif isinstance(source, str | os.PathLike):
        frame = read_results(Path(source))
    else:
        raise WarehouseError(
            f"cannot read send results from a {type(source).__name__}",
            advice="pass a results frame, a results CSV (smskit send --out) or a ledger",
        )
    missing = [c for c in ("to", "state") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"send results lack column(s) {missing}; they have {list(map(str, frame.columns))}",
            advice="pass smskit.send_campaign's frame, or the CSV smskit send --out wrote",
        )
    frame = frame.loc[frame["state"].astype("str").isin(SENT_STATES)]
    n = len(frame)

    def text(column: str) -> pd.Series:
        if column not in frame.columns:
            return pd.Series(np.nan, index=frame.index, dtype="str")
        values = frame[column].astype("str")
        return values.where(values.notna() & values.ne(""))

    extend = text("extend")
    parts = extend.str.rsplit(":", n=1, expand=True) if n else pd.DataFrame(index=frame.index, columns=[0, 1])
    if parts.shape[1] < 2:
        parts[1] = np.nan
    if "campaign" in frame.columns:
        camp = text("campaign")
    elif campaign is not None:
        camp = pd.Series(campaign, index=frame.index, dtype="str")
    else:
        camp = parts[0].astype("str")
    if "request_no" in frame.columns:
        request = pd.to_numeric(frame["request_no"], errors="coerce")
    else:
        request = pd.to_numeric(parts[1], errors="coerce")
    recipient = frame["recipient_id"] if "recipient_id" in frame.columns else frame.index.to_series(index=frame.index)
    out = pd.DataFrame(
        {
            "campaign": camp,
            "request_no": request,
            "to": text("to"),
            "recipient_id": recipient.astype("str"),
            "template_id": text("template_id"),
            "variant": text("variant"),
            "state": frame["state"].astype("str"),
            "sms_msg_id": text("sms_msg_id"),
            "status": text("status"),
            "error": text("error"),
            "sent_at": pd.to_datetime(frame["sent_at"], utc=True).astype(_UTC)
            if "sent_at" in frame.columns
            else pd.Series(pd.NaT, index=frame.index, dtype=_UTC),
            "extend": extend,
        },
        index=frame.index,
    )
    problem = pd.Series("", index=out.index, dtype="str")
    problem = problem.mask(out["to"].isna(), "no number (to)")
    problem = problem.mask(out["request_no"].isna(), "no request number (request_no or extend '<campaign>:<n>')")
    problem = problem.mask(
        ~out["campaign"].fillna("").str.fullmatch(CAMPAIGN_NAME.pattern[1:-1]),
        "no campaign, or one with characters other than letters, digits, '_', '-', '.' (pass campaign=)",
    )
    bad = problem.ne("")
    if bad.any():
        rows = frame.loc[bad].assign(problem=problem[bad])
        shown = ", ".join(map(str, rows.index[:10]))
        raise DataValidationError(
            f"{int(bad.sum())} send result row(s) cannot be archived, e.g. row(s) {shown}: {rows['problem'].iloc[0]}",
            rows=rows,
            advice="results need a number, a campaign (campaign= or extend) and a request number",
        )
    out["request_no"] = out["request_no"].astype("int64")
    # An unknown outcome is the weakest: a settled row for the same key wins within a batch.
    order = np.argsort(out["state"].eq("unknown").to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def _is_ledger(source: Any) -> bool:
    from smskit.campaign.ledger import Ledger

    if isinstance(source, Ledger):
        return True
    if not isinstance(source, str | os.PathLike):
        return False
    path = Path(source)
    try:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
    except OSError:
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
    return {"campaigns", "requests", "rows"} <= names


def _ledger_results(source: Any) -> pd.DataFrame:
    from smskit.campaign.ledger import Ledger

    book = source if isinstance(source, Ledger) else Ledger(source)
    try:
        frames = []
        for campaign in book.campaigns()["campaign_id"]:
            rows = book.rows(campaign)
            extend = book.requests(campaign).set_index("request_no")["extend"]
            frames.append(
                rows.assign(
                    campaign=campaign,
                    extend=rows["request_no"].map(extend),
                    recipient_id=rows["position"].astype("str"),
                )
            )
    finally:
        if book is not source:
            book.close()
    if not frames:
        return pd.DataFrame(columns=["to", "state", "campaign", "request_no"])
    return pd.concat(frames, ignore_index=True)


# --- reports and replies ---------------------------------------------------------------------------------


def _reports(source: Any, *, mapping: Mapping[str, str] | None, errors: str) -> pd.DataFrame:
    from smskit.reports.ingest import read_status_reports

    reports = read_status_reports(source, mapping=mapping, errors=errors)  # type: ignore[arg-type]
    columns = [c for c in spec("reports").columns if c != "archived_at"]
    out = reports[columns].copy()
    out["status"] = out["status"].astype("str")
    return out.reset_index(drop=True)


def _replies(source: Any) -> pd.DataFrame:
    if not isinstance(source, pd.DataFrame):
        reader = getattr(importlib.import_module("smskit"), "read_replies", None)
        if reader is None:
            raise WarehouseError(
                "this smskit cannot read replies from files yet",
                advice="pass a frame with columns " + ", ".join(REPLY_COLUMNS),
            )
        source = reader(source)
    missing = [c for c in ("sms_msg_id", "from", "body") if c not in source.columns]
    if missing:
        raise DataValidationError(
            f"replies lack column(s) {missing}; they have {list(map(str, source.columns))}",
            advice="pass a frame with columns " + ", ".join(REPLY_COLUMNS),
        )
    out = pd.DataFrame(index=source.index)
    for column in ("sms_msg_id", "from", "to", "body"):
        out[column] = source[column].astype("str") if column in source.columns else np.nan
    for column in ("create_time", "received_at"):
        values = source[column] if column in source.columns else pd.Series(pd.NaT, index=source.index)
        out[column] = pd.to_datetime(values, utc=True, format="ISO8601").astype(_UTC)
    unsubscribe = source["unsubscribe"] if "unsubscribe" in source.columns else pd.Series(False, index=source.index)
    out["unsubscribe"] = unsubscribe.fillna(False).astype(bool)
    bad = out["sms_msg_id"].isna() | out["sms_msg_id"].eq("")
    if bad.any():
        raise DataValidationError(
            f"{int(bad.sum())} repl(ies) without sms_msg_id, e.g. row(s) {', '.join(map(str, out.index[bad][:10]))}",
            rows=source.loc[bad].assign(problem="no sms_msg_id"),
            advice="each reply needs its own smsMsgId",
        )
    return out.reset_index(drop=True)
