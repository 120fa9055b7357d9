"""Delivery metrics over the funnel (or reports) frame: pure pandas, no plotting.

Every function takes a frame and column names as strings and returns a tidy DataFrame; the input is
never mutated. Rates come with a Wilson score interval, which stays inside [0, 1] and behaves at
rates near 0 or 1 and at small counts, where the normal (Wald) interval does not.

Who counts as *sent*: when the frame has a ``state`` column (the funnel), only rows whose state is one
of :data:`~smskit.campaign.states.SENT_STATES` (``accepted``, ``rejected``, ``unknown``: a request was
made for them) are in a denominator; ``invalid``, ``suppressed``, ``held_out`` (an experiment's
holdout) and ``unsent`` rows never reached the platform. ``rejected`` and ``unknown`` rows count as
not delivered. A reports frame (no ``state``) counts every row.

:func:`headline_counts` is the one definition of the headline numbers (sent, accepted, delivered,
failed, awaiting report …) that the report, the Dashboard and the CLI show.

Usage::

    funnel = smskit.delivery_funnel(results, reports)
    delivery_rate(funnel, by=["variant", "country"])
    failure_breakdown(funnel, top=10)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

from smskit import codes
from smskit.campaign.states import LEFT_OUT_STATES, NOT_SENT_STATES, OPEN_STATES, SENT_STATES
from smskit.display import mark
from smskit.errors import DataValidationError
from smskit.numbers import country_of

__all__ = [
    "DERIVED_KEYS",
    "FUNNEL_HEADLINES",
    "FUNNEL_STAGES",
    "MESSAGE_HEADLINES",
    "NOT_SENT_HEADLINES",
    "NOT_SENT_STATES",
    "SENT_STATES",
    "TIME_BINS",
    "add_number_info",
    "delivery_rate",
    "explain_code",
    "failure_breakdown",
    "funnel_counts",
    "has_final_report",
    "headline_counts",
    "latency_quantiles",
    "not_accepted",
    "quantile_name",
    "rate_over_time",
    "sent_rows",
    "time_bin",
    "time_bins",
    "wilson_interval",
]

#: The not-sent states, as headline keys: every plan state but ``ready`` (``held_out`` → ``held out``),
#: then ``unsent``. ``rows`` = these + ``sent``.
NOT_SENT_HEADLINES: tuple[str, ...] = (*(s.replace("_", " ") for s in LEFT_OUT_STATES), "unsent")

#: :func:`headline_counts` of a funnel, in display order. ``sent`` = accepted + rejected + unknown, and
#: every sent row is exactly one of delivered, failed, awaiting report, rejected, unknown.
FUNNEL_HEADLINES: tuple[str, ...] = (
    "rows",
    *NOT_SENT_HEADLINES,
    "sent",
    "accepted",
    "delivered",
    "failed",
    "awaiting report",
    "rejected",
    "unknown",
)
#: :func:`headline_counts` of reports (one row per message, or raw reports with ``reports`` first).
MESSAGE_HEADLINES: tuple[str, ...] = ("messages", "delivered", "failed", "awaiting report")

#: The bin widths time series are cut into, finest first (pandas frequencies).
TIME_BINS: tuple[str, ...] = ("1s", "5s", "10s", "30s", "1min", "5min", "15min", "1h", "6h", "1D")

#: Group keys ``by=`` accepts even when the frame lacks them: derived from ``to`` / ``sent_at``
#: (``hour``: the UTC hour 0–23; ``day``: the UTC calendar day, as its midnight).
DERIVED_KEYS: tuple[str, ...] = ("country", "carrier", "hour", "day")

_PSEUDO_CODES: dict[str, tuple[str, str, str]] = {
    # code shown for rows with no report code: (category, meaning, advice)
    "(no report)": (
        "pending",
        "Accepted; no status report yet",
        "wait: reports arrive up to 72 h after sending",
    ),
    "(unknown)": (
        "unknown",
        "Outcome unknown: the request may or may not have reached the platform",
        "check the ledger and the console's Send Details before re-sending",
    ),
    "(rejected)": (
        "request",
        "Rejected at submission without a status code",
        "read the results' error column",
    ),
    "(unsent)": (
        "request",
        "Not sent: the run stopped before this request, or the platform refused it with nothing sent",
        "fix the cause (could not connect: check SMSKIT_BASE_URL and the network), then re-run with the "
        "same ledger: it sends only these",
    ),
}

Among = Literal["sent", "accepted"]


def wilson_interval(
    successes: int | float | np.ndarray | pd.Series,
    n: int | float | np.ndarray | pd.Series,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes`` out of ``n`` trials, elementwise.

    Returns ``(low, high)`` float arrays; ``n == 0`` gives NaN. Usage: ``wilson_interval(45, 50)``.
    """
    _check_confidence(confidence)
    k = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > total):
        raise ValueError("successes must be between 0 and n; check that delivered counts are not above sent")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / total
        denom = 1 + z**2 / total
        centre = (p + z**2 / (2 * total)) / denom
        half = z * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denom
    low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return np.atleast_1d(low), np.atleast_1d(high)


def sent_rows(frame: pd.DataFrame, *, among: Among = "sent") -> pd.Series:
    """Boolean mask of the rows in the rate's denominator (see the module docstring)."""
    if among not in ("sent", "accepted"):
        raise ValueError(f"among must be 'sent' or 'accepted', not {among!r}")
    if "state" not in frame.columns:
        return pd.Series(True, index=frame.index)
    state = frame["state"].astype("string")
    if among == "accepted":
        return (state == "accepted").fillna(False).astype(bool)
    return state.isin(SENT_STATES).fillna(False).astype(bool)


def not_accepted(results: pd.DataFrame) -> pd.DataFrame:
    """Why send results were not accepted: the ``rejected``, ``unknown`` and ``unsent`` rows grouped by
    state, code and error, with the code's meaning and advice (:func:`explain_code`).

    Returns columns ``state, code, count, error, meaning, advice``, most frequent first; ``code`` is the
    status a rejection carried, else ``(rejected)``, ``(unknown)`` or ``(unsent)``.
    """
    _require(results, ["state"])
    state = results["state"].astype("string")
    rows = results.loc[state.isin(["rejected", *OPEN_STATES]).fillna(False)]
    st = rows["state"].astype("string")
    empty = pd.Series(pd.NA, index=rows.index, dtype="string")
    code = rows["status"].astype("string").str.strip() if "status" in rows.columns else empty
    code = code.where(code.ne("") & code.ne("000000") & st.eq("rejected"))
    code = code.fillna("(" + st + ")")
    error = (rows["error"].astype("string") if "error" in rows.columns else empty).fillna("")
    counts = (
        pd.DataFrame({"state": st, "code": code, "error": error})
        .value_counts(sort=False)
        .rename("count")
        .reset_index()
        .sort_values(["count", "state", "code"], ascending=[False, True, True], kind="stable")
        .reset_index(drop=True)
    )
    info = [explain_code(str(c)) for c in counts["code"]]
    counts["meaning"] = [i[1] for i in info]
    counts["advice"] = [i[2] for i in info]
    columns = ["state", "code", "count", "error", "meaning", "advice"]
    return mark(counts[columns].astype({"state": str, "code": str, "error": str}))


def time_bins(times: pd.Series, freq: str) -> int:
    """How many ``freq`` bins the span of ``times`` covers (NaT ignored; 0 when there are no times)."""
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        return 0
    span = (t.max() - t.min()).total_seconds()
    return int(span // pd.Timedelta(freq).total_seconds()) + 1


def time_bin(times: pd.Series, *, max_bins: float = 30) -> str:
    """The finest of :data:`TIME_BINS` (1 s … 1 day) that covers the span of ``times`` in at most
    ``max_bins`` bins; ``"1D"`` when even days need more. Used by the report, the plots and the
    Dashboard alike. Usage: ``rate_over_time(funnel, freq=time_bin(funnel["sent_at"]))``."""
    for freq in TIME_BINS:
        if time_bins(times, freq) <= max_bins:
            return freq
    return TIME_BINS[-1]


def has_final_report(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows whose outcome is final: a final status (not an intermediate one such as
    ``ACCEPTD``, whose category is ``pending``) that no later report can change. Send results without
    report columns have no final report yet."""
    if "final_status" not in frame.columns and "state" in frame.columns:
        return pd.Series(False, index=frame.index)
    _require(frame, ["final_status", "category"])
    final = frame["final_status"].notna() & (frame["category"].astype("string") != "pending")
    return final.fillna(False).astype(bool)


def headline_counts(frame: pd.DataFrame, *, weight: str | None = None) -> pd.Series:
    """The headline counts shown by the report, the Dashboard and the CLI (one definition for all).

    A funnel (:func:`smskit.delivery_funnel`, with ``state``) gives :data:`FUNNEL_HEADLINES`:

    * ``rows`` every row; ``invalid``, ``suppressed``, ``deferred``, ``expired``, ``held out`` (the plan's
      states) and ``unsent`` (:data:`NOT_SENT_HEADLINES`) rows that were never sent;
    * ``sent`` rows a request was made for (accepted, rejected or unknown) — the rate's denominator;
    * ``accepted`` the platform took the number;
    * ``delivered`` a sent row whose every segment has a delivery report. It is gated on *sent*, not on
      *accepted*: a send whose answer was lost (``unknown``) is still delivered when a report echoing
      its ``extend`` and number says so, and ``delivered / sent`` is then the delivery rate;
    * ``failed`` a sent, not rejected row with a final report that is not a delivery;
    * ``awaiting report`` a sent row with no final report yet; an intermediate report (``ACCEPTD``)
      is not final, so such a row is awaiting, never failed;
    * ``rejected`` refused at submission; ``unknown`` no answer and no report to settle it.

    delivered + failed + awaiting report + rejected + unknown = sent.

    A per-message frame (:func:`smskit.reports.funnel.final_state`, no ``state``) gives
    :data:`MESSAGE_HEADLINES`; a raw reports frame is reduced to messages first and adds ``reports``.
    ``weight`` names a column saying how many rows each row stands for (aggregated frames).
    """
    if "state" not in frame.columns and "final_status" not in frame.columns:
        from smskit.reports.funnel import final_state

        if frame.empty:
            return pd.Series(0, index=["reports", *MESSAGE_HEADLINES], dtype="int64")
        messages = headline_counts(final_state(frame))
        return pd.concat([pd.Series({"reports": len(frame)}, dtype="int64"), messages])
    _require(frame, ["delivered"] + ([weight] if weight else []))
    n = _weights(frame, weight)
    delivered = frame["delivered"].fillna(False).astype(bool)
    final = has_final_report(frame)
    if "state" not in frame.columns:
        masks = {"delivered": delivered, "failed": final & ~delivered, "awaiting report": ~final}
        values = {"messages": int(n.sum())} | {k: int(n[m].sum()) for k, m in masks.items()}
        return pd.Series(values, dtype="int64")
    state = frame["state"].astype("string")
    sent = sent_rows(frame)
    rejected = state.eq("rejected").fillna(False).astype(bool) & sent
    reported = frame["final_status"].notna() if "final_status" in frame.columns else False
    unknown = state.eq("unknown").fillna(False).astype(bool) & ~reported & sent
    open_ = sent & ~rejected & ~unknown  # sent rows the status reports decide
    masks = {
        **{key: state.eq(key.replace(" ", "_")) for key in NOT_SENT_HEADLINES},
        "sent": sent,
        "accepted": state.eq("accepted"),
        "delivered": delivered & sent,
        "failed": open_ & final & ~delivered,
        "awaiting report": open_ & ~final,
        "rejected": rejected,
        "unknown": unknown,
    }
    values = {"rows": int(n.sum())} | {k: int(n[m.fillna(False).astype(bool)].sum()) for k, m in masks.items()}
    return pd.Series(values, dtype="int64")


def add_number_info(frame: pd.DataFrame, *, to: str = "to") -> pd.DataFrame:
    """Copy of ``frame`` with ``country`` (ISO region) and ``carrier`` (original carrier name) columns.

    Numbers must be E.164 strings; each unique number is looked at once. The country is
    :func:`smskit.numbers.country_of` (the one definition smskit uses). Unparsable numbers and numbers
    with no known carrier get NA (mobile number portability means the carrier is the original one).
    """
    import phonenumbers
    from phonenumbers import carrier as pn_carrier

    _require(frame, [to])
    ids, uniques = pd.factorize(frame[to], use_na_sentinel=True)
    countries: list[str | None] = country_of(np.asarray(uniques, dtype=object)).tolist()
    carriers: list[str | None] = []
    for number, country in zip(uniques, countries, strict=True):
        try:
            parsed = phonenumbers.parse(str(number), None) if country is not None else None
        except phonenumbers.NumberParseException:
            parsed = None
        carriers.append(pn_carrier.name_for_number(parsed, "en") or None if parsed is not None else None)
    out = frame.copy()
    out["country"] = _take_category(countries, ids)
    out["carrier"] = _take_category(carriers, ids)
    return out


def delivery_rate(
    frame: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    among: Among = "sent",
    delivered: str = "delivered",
    weight: str | None = None,
) -> pd.DataFrame:
    """Delivery rate with a Wilson interval, overall or per group.

    Parameters
    ----------
    frame : funnel or reports frame with a boolean ``delivered`` column.
    by : column name(s) to group on; ``country``/``carrier`` (from ``to``) and ``hour`` (UTC hour of
        ``sent_at``) are derived when the frame lacks them. Missing keys form their own group.
    confidence : interval coverage.
    among : ``"sent"`` (default) or ``"accepted"``: the denominator.
    weight : column of row counts, for a frame whose rows stand for that many identical rows
        (pre-aggregated, e.g. by :class:`smskit.Warehouse`); each row counts once without it.

    Returns columns ``[*by, sent, delivered, rate, low, high]``; one row when ``by`` is None.
    """
    keys = _keys(by)
    _require(frame, [delivered] + ([weight] if weight else []))
    work = _with_keys(frame.loc[sent_rows(frame, among=among)], keys)
    return _with_rate(_counts(work, keys, delivered=delivered, weight=weight), confidence=confidence)


def rate_over_time(
    frame: pd.DataFrame,
    *,
    freq: str = "1h",
    on: str = "sent_at",
    by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    among: Among = "sent",
    delivered: str = "delivered",
    weight: str | None = None,
) -> pd.DataFrame:
    """Delivery rate per time bin of ``on`` (a pandas frequency such as ``"15min"``, ``"1h"``, ``"1D"``).

    Returns columns ``[*by, <on>, sent, delivered, rate, low, high]``; ``<on>`` is the bin start.
    Rows with no timestamp are left out. ``weight`` as in :func:`delivery_rate`.
    """
    keys = _keys(by)
    _require(frame, [on, delivered] + ([weight] if weight else []))
    work = _with_keys(frame.loc[sent_rows(frame, among=among)], keys)
    work = work.loc[work[on].notna()]
    times = pd.to_datetime(work[on], utc=True)
    work = work.assign(**{on: pd.Series(times, index=work.index).dt.floor(freq)})
    return _with_rate(_counts(work, [*keys, on], delivered=delivered, weight=weight), confidence=confidence)


def failure_breakdown(
    frame: pd.DataFrame,
    *,
    top: int | None = None,
    pending: bool = True,
    among: Among = "sent",
    weight: str | None = None,
) -> pd.DataFrame:
    """Not-delivered rows by category and code, with the catalog's meaning and advice.

    The code is the report's ``final_status`` (funnel) or ``status`` (reports frame); funnel rows
    without a report code show the submission status (``E200xxx``) or ``(no report)``, ``(unknown)``.
    ``share`` is the code's share of the not-delivered rows, ``of_sent`` its share of all sent rows.
    ``pending=False`` leaves out rows still waiting for a report. ``top`` keeps the most frequent codes.
    ``weight`` as in :func:`delivery_rate`.

    Returns columns ``category, code, count, share, of_sent, meaning, advice``, most frequent first.
    """
    _require(frame, ["delivered"] + ([weight] if weight else []))
    work = frame.loc[sent_rows(frame, among=among)]
    n = _weights(work, weight)
    total = int(n.sum())
    is_failed = ~work["delivered"].fillna(False).astype(bool)
    failed, n = work.loc[is_failed], n.loc[is_failed]
    code = _failure_codes(failed)
    counts = n.groupby(code.to_numpy(), sort=False).sum()
    infos = {c: explain_code(c) for c in counts.index}
    out = pd.DataFrame(
        {
            "category": [infos[c][0] for c in counts.index],
            "code": counts.index.astype(str),
            "count": counts.to_numpy(dtype="int64"),
        }
    )
    if "category" in failed.columns:
        # The funnel's own category may know more than the code alone (e.g. partial); "pending" and
        # "accepted" say nothing about a failure, so the catalog's category wins over those.
        # The most frequent such category of each code (ties: alphabetical).
        frame_cat = (
            pd.DataFrame(
                {"code": code.to_numpy(), "category": failed["category"].astype("string").to_numpy(), "n": n.to_numpy()}
            )
            .dropna()
            .loc[lambda d: ~d["category"].isin(["pending", "accepted"])]
            .groupby(["code", "category"], sort=True)["n"]
            .sum()
            .sort_values(ascending=False, kind="stable")
            .reset_index()
            .drop_duplicates("code")
            .set_index("code")["category"]
        )
        out["category"] = out["code"].map(frame_cat).astype(object).fillna(out["category"].astype(object))
    if not pending:
        out = out.loc[out["category"] != "pending"]
    n_failed = int(out["count"].sum())
    out["share"] = out["count"] / n_failed if n_failed else np.nan
    out["of_sent"] = out["count"] / total if total else np.nan
    out["meaning"] = [infos[c][1] for c in out["code"]]
    out["advice"] = [infos[c][2] for c in out["code"]]
    out["category"] = pd.Categorical(out["category"], categories=codes.CATEGORIES)
    out = out.sort_values(["count", "code"], ascending=[False, True], kind="stable")
    if top is not None:
        out = out.head(top)
    return mark(out.reset_index(drop=True)[["category", "code", "count", "share", "of_sent", "meaning", "advice"]])


def latency_quantiles(
    frame: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    q: Sequence[float] = (0.5, 0.9, 0.99),
    latency: str = "latency_s",
    delivered_only: bool = True,
) -> pd.DataFrame:
    """Quantiles of report latency (seconds from send to final report), overall or per group.

    By default only delivered rows count (time to delivery). Returns columns
    ``[*by, n, p50, p90, p99]`` (one ``p…`` column per entry of ``q``, named by percent).
    """
    keys = _keys(by)
    qs = [float(x) for x in q]
    if not qs or any(not 0 <= x <= 1 for x in qs):
        raise ValueError(f"q must be quantiles between 0 and 1, got {list(q)!r}")
    _require(frame, [latency] + (["delivered"] if delivered_only else []))
    work = frame.loc[sent_rows(frame)]
    if delivered_only:
        work = work.loc[work["delivered"].fillna(False).astype(bool)]
    work = _with_keys(work.loc[work[latency].notna()], keys)
    values = work[latency].astype(float)
    names = [quantile_name(x) for x in qs]
    if keys:
        grouped = values.groupby([work[k] for k in keys], observed=True, dropna=False, sort=True)
        table = grouped.quantile(np.asarray(qs)).unstack(-1)
        table.columns = names
        table.insert(0, "n", grouped.size())
        return mark(table.reset_index())
    row = {"n": [len(values)]} | {
        name: [float(values.quantile(x)) if len(values) else np.nan] for name, x in zip(names, qs, strict=True)
    }
    return mark(pd.DataFrame(row))


#: The stages of :func:`funnel_counts`, from the input rows to delivery (a not-sent stage only when some
#: row has it).
FUNNEL_STAGES: tuple[str, ...] = ("rows", *NOT_SENT_HEADLINES, "sent", "accepted", "delivered")


def funnel_counts(frame: pd.DataFrame, *, weight: str | None = None) -> pd.DataFrame:
    """The funnel from the input rows: ``rows → (invalid, suppressed, deferred, expired, held out, unsent:
    those some row has) → sent → accepted → delivered``, counted by :func:`headline_counts`.

    Returns columns ``stage, count, of_rows, share``: ``of_rows`` is each stage's share of the input
    rows, ``share`` its share of sent (NaN for the stages before sending). ``weight`` as in
    :func:`delivery_rate` (a column saying how many rows each row stands for).
    """
    _require(frame, ["state", "delivered"] + ([weight] if weight else []))
    counts = headline_counts(frame, weight=weight)
    stages = [s for s in FUNNEL_STAGES if s not in NOT_SENT_HEADLINES or counts[s]]
    values = counts[stages].to_numpy(dtype="int64")
    after = np.array([FUNNEL_STAGES.index(s) >= FUNNEL_STAGES.index("sent") for s in stages])
    with np.errstate(invalid="ignore", divide="ignore"):
        of_rows = values / counts["rows"] if counts["rows"] else np.full(len(stages), np.nan)
        share = np.where(after & (counts["sent"] > 0), values / max(int(counts["sent"]), 1), np.nan)
    table = pd.DataFrame(
        {
            "stage": pd.Categorical(stages, categories=list(FUNNEL_STAGES)),
            "count": values,
            "of_rows": of_rows,
            "share": share,
        }
    )
    return mark(table)


# --- helpers -------------------------------------------------------------------------------------------


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")


def _keys(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return [str(k) for k in by]


def _require(frame: pd.DataFrame, columns: Sequence[Hashable]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"the frame lacks column(s) {missing}; it has {list(frame.columns)}",
            advice="pass the frame from smskit.delivery_funnel (or read_status_reports), or name the column",
        )


def _weights(frame: pd.DataFrame, weight: str | None) -> pd.Series:
    """How many rows each row stands for: the ``weight`` column, or 1."""
    if weight is None:
        return pd.Series(1, index=frame.index, dtype="int64")
    return frame[weight].astype("int64")


def _counts(frame: pd.DataFrame, keys: Sequence[str], *, delivered: str, weight: str | None) -> pd.DataFrame:
    """Sent and delivered (weighted) row counts per group of ``keys``; one row without keys."""
    n = _weights(frame, weight)
    ok = frame[delivered].fillna(False).astype(bool)
    tally = pd.DataFrame({"sent": n, "delivered": n.where(ok, 0)})
    if not keys:
        return pd.DataFrame({"sent": [int(n.sum())], "delivered": [int(tally["delivered"].sum())]})
    grouped = tally.groupby([frame[k] for k in keys], observed=True, dropna=False, sort=True)
    return grouped.sum().reset_index()


def _with_keys(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Add derived group keys the frame lacks (country, carrier, hour, day); a copy only when needed."""
    missing = [k for k in keys if k not in frame.columns]
    unknown = [k for k in missing if k not in DERIVED_KEYS]
    if unknown:
        raise DataValidationError(
            f"cannot group by {unknown}: not a column of the frame nor one of {list(DERIVED_KEYS)}",
            advice="join the recipient columns first, e.g. funnel.join(plan.recipients[['segments']])",
        )
    if not missing:
        return frame
    out = frame
    if {"country", "carrier"} & set(missing):
        out = add_number_info(out)
    if "hour" in missing:
        _require(out, ["sent_at"])
        out = out.assign(hour=pd.to_datetime(out["sent_at"], utc=True).dt.hour.astype("Int64"))
    if "day" in missing:
        _require(out, ["sent_at"])
        out = out.assign(day=pd.to_datetime(out["sent_at"], utc=True).dt.floor("D"))
    return out


def _with_rate(counts: pd.DataFrame, *, confidence: float) -> pd.DataFrame:
    counts["sent"] = counts["sent"].astype("int64")
    counts["delivered"] = counts["delivered"].astype("int64")
    sent = counts["sent"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        counts["rate"] = np.where(sent > 0, counts["delivered"].to_numpy() / sent, np.nan)
    counts["low"], counts["high"] = wilson_interval(counts["delivered"], counts["sent"], confidence=confidence)
    return mark(counts, confidence=confidence)


def _take_category(values: list[str | None], ids: np.ndarray) -> pd.Categorical[str]:
    uniq = pd.Index([v for v in values if v is not None]).unique().sort_values()
    lookup = np.array([uniq.get_loc(v) if v is not None else -1 for v in values] + [-1], dtype="int64")
    return pd.Categorical.from_codes(lookup[ids], categories=uniq)


def _failure_codes(failed: pd.DataFrame) -> pd.Series:
    """The code explaining each not-delivered row (report code, else submit status, else a pseudo-code)."""
    index = failed.index
    code = pd.Series(pd.NA, index=index, dtype="string")
    for column in ("final_status", "status"):
        if column in failed.columns:
            values = failed[column].astype("string").str.strip()
            values = values.where(values.ne("") & values.ne("000000"))
            code = code.fillna(values)
    if "state" in failed.columns:
        state = failed["state"].astype("string")
        code = code.mask(code.isna() & state.eq("unknown"), "(unknown)")
        code = code.mask(code.isna() & state.eq("rejected"), "(rejected)")
    return code.fillna("(no report)")


def explain_code(code: str) -> tuple[str, str, str]:
    """``(category, meaning, advice)`` for a platform code (:func:`smskit.codes.lookup`) or one of the
    pseudo-codes smskit shows for rows without one: ``(no report)``, ``(unknown)``, ``(rejected)``,
    ``(unsent)``."""
    if code in _PSEUDO_CODES:
        return _PSEUDO_CODES[code]
    info = codes.lookup(code)
    return info.category, info.meaning, info.advice


def quantile_name(q: float) -> str:
    """Column name of quantile ``q`` in :func:`latency_quantiles`: ``p50``, ``p99_9``."""
    return f"p{q * 100:g}".replace(".", "_")
