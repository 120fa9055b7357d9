"""Synthetic campaigns with known edge cases, for the warehouse's differential tests and benchmark.

:func:`synthetic_campaign` returns ``(results, reports)``: a ``send_campaign``-shaped results frame
(index = the user's ids) and a wire-shaped report frame (what a receiver store or callback log
holds: text times, ``smsMsgId``-style columns already renamed), covering

* multi-segment messages (``total`` 1–3), some with a segment never reported;
* duplicated reports (the platform retries pushes) and reports arriving out of order;
* ``ACCEPTD``-only messages, late ``ACCEPTD`` after a final report, ``DELIVRD`` after ``UNDELIV``;
* a failure and a delivery at the same second (the failure wins);
* ``EXPIRED`` made by the platform without ``updateTime`` (counts as latest);
* ``unknown`` sends settled by a report echoing ``extend`` + ``to`` (some with ``+``/blanks), and
  some never settled; ``rejected`` rows with and without a status code;
* reports of messages no result knows.

Ties the engines break differently from pandas (two different failure codes for one segment at the
same second; two messages echoing the same ``extend`` and number) are not generated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smskit.campaign.states import RESULT_DTYPE

__all__ = ["synthetic_campaign"]

_FAILURES = np.array(["UNDELIV", "EXPIRED", "REJECTD", "MBBLACK", "MILIMIT", "MK:0001", "E200018", "UNKNOWN"])
_REJECT_CODES = np.array(["E200028", "E200041", "E200015", None], dtype=object)


def synthetic_campaign(
    n: int = 2000,
    *,
    seed: int = 0,
    campaigns: tuple[str, ...] = ("spring", "summer"),
    start: str = "2025-03-01",
    days: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` recipients over ``campaigns`` and their status reports (about 1.8 reports per recipient)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    campaign = np.asarray(campaigns, dtype=object)[rng.integers(0, len(campaigns), n)]
    request_no = idx // 100
    to = np.array([f"+86138{i:08d}" for i in idx], dtype=object)
    origin = pd.Timestamp(start, tz="UTC").value // 1000
    sent_us = origin + rng.integers(0, days * 86_400_000_000, n)
    u = rng.random(n)
    state = np.where(u < 0.06, "rejected", np.where(u < 0.12, "unknown", "accepted")).astype(object)
    msg = np.array([f"m{seed}-{i}" for i in idx], dtype=object)
    none = np.full(n, None, dtype=object)
    sms_msg_id = np.where(state == "accepted", msg, none)
    status = np.where(state == "accepted", "000000", none)
    rejected = state == "rejected"
    status[rejected] = _REJECT_CODES[rng.integers(0, len(_REJECT_CODES), int(rejected.sum()))]
    extend = np.array([f"{c}:{r}" for c, r in zip(campaign, request_no, strict=True)], dtype=object)
    results = pd.DataFrame(
        {
            "to": pd.array(to, dtype="string"),
            "template_id": pd.array(np.where(rng.random(n) < 0.5, "T-welcome", "T-promo"), dtype="string"),
            "variant": pd.array(np.where(rng.random(n) < 0.5, "A", "B"), dtype="string"),
            "state": pd.Categorical(state, dtype=RESULT_DTYPE),
            "sms_msg_id": pd.array(sms_msg_id, dtype="string"),
            "status": pd.array(status, dtype="string"),
            "error": pd.array(np.where(rejected, "refused", none), dtype="string"),
            "sent_at": pd.to_datetime(sent_us, unit="us", utc=True).astype("datetime64[ns, UTC]"),
            "extend": pd.array(extend, dtype="string"),
            "request_no": pd.array(request_no, dtype="Int64"),
        },
        index=pd.Index([f"user-{i:06d}" for i in idx], name="user_id"),
    )
    # which messages get reports: accepted ones, and unknown ones that did reach the platform
    unknown = state == "unknown"
    reached = unknown & (rng.random(n) < 0.7)
    has_msg = (state == "accepted") | reached
    rows = [_message_reports(rng, int(i), msg[i], int(sent_us[i]), extend[i], to[i]) for i in np.flatnonzero(has_msg)]
    strays = [_message_reports(rng, n + k, f"stray{seed}-{k}", origin, "other:0", "+8613900000000") for k in range(5)]
    reports = pd.DataFrame([r for block in rows + strays for r in block])
    reports = reports.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # arrival order is shuffled
    return results, reports


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return pd.Timestamp(us * 1000, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _message_reports(rng: np.random.Generator, i: int, msg: str, sent_us: int, extend: str, to: str) -> list[dict]:
    total = int(rng.choice([1, 1, 1, 2, 3]))
    shown_to = to if i % 7 else f" {to}"  # an echo with a blank still settles an unknown send
    if i % 11 == 0:
        shown_to = shown_to.replace("+", "")
    out: list[dict] = []

    def report(seq: int, status: str, delay_s: float | None) -> None:
        when = None if delay_s is None else _iso(sent_us + int(delay_s * 1_000_000))
        out.append(
            {
                "sms_msg_id": msg,
                "status": status,
                "update_time": when,
                "total": str(total),
                "sequence": str(seq),
                "extend": extend,
                "to": shown_to,
            }
        )

    case = rng.random()
    for seq in range(1, total + 1):
        if case < 0.04 and seq == total and total > 1:
            continue  # a segment never reported
        base = float(rng.exponential(30.0)) + 0.2
        if rng.random() < 0.3:
            report(seq, "ACCEPTD", base / 2)
        c = rng.random()
        if case < 0.10:
            report(seq, "ACCEPTD", base)  # ACCEPTD only
        elif c < 0.70:
            report(seq, "DELIVRD", base)
        elif c < 0.76:
            report(seq, "EXPIRED", None)  # platform-made, no time: counts as latest
        elif c < 0.82:  # a delivery after a failure of the same segment: the failure stands
            report(seq, "UNDELIV", base)
            report(seq, "DELIVRD", base + 5)
        elif c < 0.86:  # a failure and a delivery at the same second: the failure wins
            report(seq, "DELIVRD", base)
            report(seq, "UNDELIV", base)
        elif c < 0.90:  # a late ACCEPTD never moves a delivered segment back
            report(seq, "DELIVRD", base)
            report(seq, "ACCEPTD", base + 60)
        else:
            report(seq, str(rng.choice(_FAILURES)), base)
        if rng.random() < 0.15:
            out.append(dict(out[-1]))  # a retried push: an exact duplicate
    return out
