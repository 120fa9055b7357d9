"""Send results + status reports → the final state of every recipient.

Rules (all vectorized, :func:`final_state` is pure):

* A segment's state is its **first final report** by ``update_time`` (a report is final unless its
  category is ``pending``, e.g. ``ACCEPTD``); reports without ``update_time`` (platform-made) count as
  latest. A later or repeated report never moves a segment back: a late ``ACCEPTD`` does not
  overwrite ``DELIVRD``, and a ``DELIVRD`` after ``UNDELIV`` for the same segment does not hide it.
  Without a final report the segment keeps its latest intermediate status.
* A message (``sms_msg_id``) is delivered only when all ``total`` segments are; one failed segment
  makes the message failed with that segment's code; otherwise it is still pending.
* A recipient whose send was ``unknown`` (no ``sms_msg_id``) is resolved from reports that carry the
  campaign's ``extend`` and its ``to``.

Usage: ``funnel = delivery_funnel(results, read_status_reports("reports.sqlite"))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from smskit.campaign.states import SENT_STATES
from smskit.codes import DELIVERED, categorize
from smskit.frames import FINAL_STATE, FUNNEL_ADDED
from smskit.reports.ingest import read_status_reports

__all__ = ["FUNNEL_COLUMNS", "SENT_STATES", "campaign_of", "delivery_funnel", "final_state"]

#: Columns :func:`delivery_funnel` adds to the results (:data:`smskit.frames.FUNNEL_ADDED`).
FUNNEL_COLUMNS: tuple[str, ...] = tuple(FUNNEL_ADDED)
_UTC = pd.DatetimeTZDtype("ns", "UTC")


#: An ``extend`` value smskit's sends carry: ``<campaign_id>:<request_no>`` (``PlannedRequest.extend``).
_EXTEND = r"^(?P<campaign>[A-Za-z0-9_.-]{1,64}):\d+$"


def campaign_of(extend: pd.Series) -> pd.Series:
    """The campaign id in each ``extend`` value a smskit send carried (``"demo:3"`` → ``"demo"``); NA for
    other values. Status reports echo ``extend``, so this names the campaign(s) a report store covers."""
    return extend.astype("string").str.extract(_EXTEND, expand=False).astype("string")


def final_state(reports: pd.DataFrame) -> pd.DataFrame:
    """One row per ``sms_msg_id`` (the index): its final status from all of its reports.

    Columns: final_status (category; NA while nothing is reported), delivered (bool), final (bool: no
    later report can change it), category, reported_at (time of the deciding report), total,
    segments_delivered, to, extend.
    """
    r = _as_reports(reports)
    if r.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in FINAL_STATE.columns})
        return _typed(empty.rename_axis("sms_msg_id"))
    t = r["update_time"].astype(_UTC)
    ns = t.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    missing_time = t.isna().to_numpy()
    final = (r["category"].astype(str) != "pending").to_numpy()
    delivered = r["delivered"].to_numpy(dtype=bool)
    big = np.iinfo(np.int64).max
    # ascending sort key: final reports first (earliest first, no time = latest), then intermediates (latest first)
    key = np.where(final, np.where(missing_time, big, ns), np.where(missing_time, big, -ns))
    seg = pd.DataFrame(
        {
            "sms_msg_id": r["sms_msg_id"].to_numpy(),
            "sequence": r["sequence"].to_numpy(),
            "total": r["total"].to_numpy(),
            "status": r["status"].astype(str).to_numpy(),
            "update_time": t.array,  # keeps the UTC zone, also when every time is missing
            "final": final,
            "delivered": delivered,
            "not_final": ~final,
            "key": key,
            "failed_first": delivered,  # on equal times a failure wins over a delivery
        }
    )
    seg = seg.sort_values(["sms_msg_id", "sequence", "not_final", "key", "failed_first"], kind="stable")
    seg = seg.drop_duplicates(["sms_msg_id", "sequence"], keep="first")
    seg["failed"] = seg["final"] & ~seg["delivered"]
    by = seg.groupby("sms_msg_id", sort=True)
    by_message = r.groupby("sms_msg_id", sort=True)
    total = by_message["total"].max()
    ids = total.index
    seg_in_range = seg["sequence"].to_numpy() <= total.reindex(seg["sms_msg_id"]).to_numpy()
    n_delivered = (seg["delivered"] & seg_in_range).groupby(seg["sms_msg_id"]).sum().reindex(ids, fill_value=0)
    failed = seg[seg["failed"]].sort_values(["sms_msg_id", "key"]).drop_duplicates("sms_msg_id").set_index("sms_msg_id")
    pending = (
        seg[seg["not_final"]].sort_values(["sms_msg_id", "key"]).drop_duplicates("sms_msg_id").set_index("sms_msg_id")
    )
    delivered_at = seg[seg["delivered"]].groupby("sms_msg_id")["update_time"].max()
    last_seen = by["update_time"].max()

    is_failed = ids.isin(failed.index)
    is_delivered = ~is_failed & (n_delivered.to_numpy() >= total.to_numpy())
    status = pd.Series(pd.NA, index=ids, dtype=object)
    status[ids.isin(pending.index)] = pending["status"]
    status[is_delivered] = DELIVERED
    status[is_failed] = failed["status"].reindex(ids[is_failed]).to_numpy()
    reported = pd.to_datetime(last_seen, utc=True).copy()
    reported[is_delivered] = delivered_at.reindex(ids[is_delivered]).array
    reported[is_failed] = failed["update_time"].reindex(ids[is_failed]).array
    echoes = by_message[["to", "extend"]].first()
    out = pd.DataFrame(
        {
            "final_status": status,
            "delivered": is_delivered,
            "final": is_failed | is_delivered,
            "category": categorize(status.astype("str"), kind="report")["category"].to_numpy(),
            "reported_at": reported,
            "total": total.astype("int64"),
            "segments_delivered": n_delivered.astype("int64"),
            "to": echoes["to"],
            "extend": echoes["extend"],
        },
        index=ids,
    )
    return _typed(out)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast to :data:`smskit.frames.FINAL_STATE` (categories of ``category``: the catalog's)."""
    dtypes = {c: d for c, d in FINAL_STATE.dtypes.items() if c != "category"}
    return frame.astype(dtypes).assign(category=lambda f: _category(f["category"]))


def _category(values: pd.Series) -> pd.Series:
    from smskit.codes import CATEGORIES

    return values.astype(pd.CategoricalDtype(list(CATEGORIES)))


def _digits(to: pd.Series) -> pd.Series:
    return to.astype("str").str.lstrip("+").str.strip()


def delivery_funnel(results: pd.DataFrame, reports: Any) -> pd.DataFrame:
    """Every row of ``results`` with its final state: the funnel from the input rows to delivery.

    ``results`` is :func:`smskit.send_campaign`'s frame (its index and every column are kept);
    ``reports`` is anything :func:`smskit.read_status_reports` reads. Added columns: final_status (a
    rejected row's own status; NA while nothing is reported), delivered (False until a delivery
    report says otherwise), category, reported_at and latency_s (report time − ``sent_at``). Rows
    never sent (``invalid``, ``suppressed``, ``unsent``) keep their state, with no final status or
    category; :mod:`smskit.analytics` leaves them out of every rate (:data:`SENT_STATES`). A
    recipient whose send was ``unknown`` gets its ``sms_msg_id`` from a report echoing its ``extend``
    and ``to``.
    """
    r = _as_reports(reports)
    out = results.copy()
    state = out["state"].astype(str)
    sent = state.isin(SENT_STATES)
    ids = out["sms_msg_id"].astype(object).where(out["sms_msg_id"].notna(), None)
    if "extend" in out.columns:
        unresolved = (state == "unknown") & ids.isna() & out["extend"].notna()
        echoed = r[r["extend"].notna() & r["to"].notna()]
        if unresolved.any() and len(echoed):
            table = (
                pd.DataFrame({"extend": echoed["extend"], "to": _digits(echoed["to"]), "id": echoed["sms_msg_id"]})
                .drop_duplicates(["extend", "to"])
                .set_index(["extend", "to"])["id"]
            )
            keys = pd.MultiIndex.from_arrays(
                [out.loc[unresolved, "extend"].astype(str), _digits(out.loc[unresolved, "to"])]
            )
            ids[unresolved] = table.reindex(keys).to_numpy()
    out["sms_msg_id"] = pd.Series(ids, index=out.index, dtype="str")
    fs = final_state(r)
    matched = fs.reindex(out["sms_msg_id"].where(sent & (state != "rejected")))
    rejected = (state == "rejected").to_numpy()
    final_status = matched["final_status"].astype(object).to_numpy(copy=True)
    final_status[rejected] = out.loc[rejected, "status"].astype(object).to_numpy()
    status = pd.Series(final_status, index=out.index, dtype=object).where(lambda s: s.notna(), None)
    cats = categorize(status, kind="report")["category"].astype(object)
    if rejected.any():
        cats[rejected] = categorize(status[rejected], kind="status")["category"].astype(object)
    unknown_left = ((state == "unknown") & out["sms_msg_id"].isna()).to_numpy()
    cats[unknown_left] = "unknown"
    cats[~sent.to_numpy()] = None  # never sent: no outcome to categorize
    reported_at = matched["reported_at"].astype(_UTC).set_axis(out.index)
    sent_at = pd.to_datetime(out["sent_at"], utc=True) if "sent_at" in out else pd.Series(pd.NaT, index=out.index)
    out["final_status"] = status.astype("category")
    out["delivered"] = matched["delivered"].eq(True).to_numpy() & sent.to_numpy()
    out["category"] = _category(cats)
    out["reported_at"] = reported_at
    # Report times have one-second resolution while sent_at has microseconds: a report stamped in the
    # same second as the send would read as a negative latency, so it is clipped at zero.
    out["latency_s"] = (reported_at - sent_at).dt.total_seconds().astype("float64").clip(lower=0.0)
    return out


def _as_reports(reports: Any) -> pd.DataFrame:
    """``reports`` as a report frame; one read_status_reports already made is used as it is."""
    if isinstance(reports, pd.DataFrame) and {"sms_msg_id", "status", "category"} <= set(reports.columns):
        return reports
    return read_status_reports(reports)
