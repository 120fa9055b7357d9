"""Send a campaign plan: validated first, paced, concurrent, resumable, never twice.

:func:`send_campaign` turns a :class:`smskit.campaign.plan.CampaignPlan` into API calls. Each call carries
``extend="<campaign_id>:<request_no>"`` so status reports (which then echo ``extend`` and ``to``)
can tell which recipients an ambiguous call reached. With a ledger, each call is committed as
in-flight before it is sent and its outcome after; a re-run of the same campaign resumes.

Row states in the result are :data:`smskit.campaign.states.RESULT_STATES` (meanings there):
``accepted``, ``rejected``, ``unknown`` (not re-sent unless ``resend_unknown=True``; status reports
settle it, see :func:`smskit.delivery_funnel`), ``unsent`` (a re-run with the same ledger sends it),
and the plan's own states for rows it left out.
``held_out`` rows (an experiment's holdout) are never sent; their ``sent_at`` is the campaign's send
start (the first ``sent_at`` of the campaign), the time their outcomes are measured from.
"""

from __future__ import annotations

import itertools
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smskit import codes
from smskit.campaign.ledger import Ledger
from smskit.campaign.pacing import TokenBucket
from smskit.campaign.states import OPEN_STATES, RESULT_DTYPE
from smskit.client import Client, SendResult, SmsItem
from smskit.errors import DataValidationError, SmsKitError, SmsKitWarning, TransportError
from smskit.protocol import PARTIAL, SUCCESS

__all__ = ["CampaignWarning", "PlannedRequest", "campaign_id_for", "send_campaign"]

_FATAL = {"auth", "permission", "quota"}
_CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class CampaignWarning(SmsKitWarning):
    """A campaign finished with recipients left unsent or unknown."""


@dataclass(frozen=True)
class PlannedItem:
    positions: tuple[int, ...]  # row positions in plan.recipients
    to: tuple[str, ...]
    template_id: str
    params: tuple[str, ...]
    signature: str | None


@dataclass(frozen=True)
class PlannedRequest:
    request_no: int
    api: str  # "batchSendSms" | "batchSendDiffSms"
    items: tuple[PlannedItem, ...]

    @cached_property
    def numbers(self) -> list[str]:
        """Every number of the request, in send order (aligned with :attr:`positions`)."""
        return [n for item in self.items for n in item.to]

    @property
    def n_numbers(self) -> int:
        return len(self.numbers)

    @cached_property
    def positions(self) -> np.ndarray:
        return np.concatenate([np.asarray(item.positions, dtype=np.int64) for item in self.items])

    def extend(self, campaign_id: str) -> str:
        """The ``extend`` value this request carries: ``<campaign_id>:<request_no>``."""
        return f"{campaign_id}:{self.request_no}"


@dataclass
class _Outcome:
    """Per-row arrays for one request (aligned with ``PlannedRequest.positions``)."""

    request_no: int
    ledger_state: str  # "done" | "pending" | "unknown"
    code: str | None
    state: list[str]
    sms_msg_id: list[str | None]
    status: list[str | None]
    error: list[str | None]
    sent_at: datetime | None
    fatal: SmsKitError | None = None


def planned_requests(plan: Any) -> list[PlannedRequest]:
    """The plan's API calls as :class:`PlannedRequest` objects (row positions, numbers, templates)."""
    items = plan.items  # in request order (CampaignPlan.items promises it), so each request is contiguous
    names = ("request_no", "api", "positions", "to", "template_id", "params", "signature")
    rows = zip(*(items[name].tolist() for name in names), strict=True)
    return [
        PlannedRequest(
            int(request_no),
            str(group[0][1]),
            tuple(
                PlannedItem(
                    positions=tuple(positions),
                    to=tuple(to),
                    template_id=str(template_id),
                    params=tuple(params),
                    signature=signature if isinstance(signature, str) and signature else None,
                )
                for _, _, positions, to, template_id, params, signature in group
            ),
        )
        for request_no, group in ((no, list(g)) for no, g in itertools.groupby(rows, key=lambda row: row[0]))
    ]


def _send_one(
    client: Client, request: PlannedRequest, *, sender: str | None, status_callback: str | None, extend: str
) -> SendResult:
    if request.api == "batchSendSms":
        item = request.items[0]
        return client.send(
            list(item.to),
            item.template_id,
            list(item.params),
            sender=sender,
            signature=item.signature,
            status_callback=status_callback,
            extend=extend,
        )
    batch = [SmsItem(list(i.to), i.template_id, list(i.params), i.signature) for i in request.items]
    return client.send_batch(batch, sender=sender, status_callback=status_callback, extend=extend)


def _map_results(request: PlannedRequest, result: SendResult, sent_at: datetime) -> _Outcome:
    """Align the response's per-number entries with the request's rows (by order, then by number)."""
    numbers = request.numbers
    n = len(numbers)
    entries = list(result.results)
    if result.code not in {SUCCESS, PARTIAL}:
        info = codes.lookup(result.code, kind="request")
        fatal = (
            codes.error_for(result.code, result.description, http_status=result.http_status)
            if (info.category in _FATAL)
            else None
        )
        return _Outcome(
            request.request_no,
            "pending",
            result.code,
            ["rejected"] * n,
            [None] * n,
            [result.code] * n,
            [result.description or info.meaning] * n,
            sent_at,
            fatal,
        )
    if len(entries) != n or any(e.get("originTo") != num for e, num in zip(entries, numbers, strict=False)):
        queues: dict[str, list[dict[str, Any]]] = {}
        for e in entries:
            queues.setdefault(str(e.get("originTo")), []).append(dict(e))
        entries = [queues[num].pop(0) if queues.get(num) else {} for num in numbers]
    state: list[str] = []
    ids: list[str | None] = []
    status: list[str | None] = []
    error: list[str | None] = []
    for e in entries:
        code = e.get("status")
        if not e:
            state.append("unknown")
            error.append("the response had no entry for this number")
        elif code == SUCCESS:
            state.append("accepted")
            error.append(None)
        else:
            state.append("rejected")
            error.append(codes.lookup(str(code), kind="status").meaning)
        ids.append(e.get("smsMsgId"))
        status.append(code)
    return _Outcome(request.request_no, "done", result.code, state, ids, status, error, sent_at)


def _unsent(request: PlannedRequest, *, state: str, ledger_state: str, error: str) -> _Outcome:
    n = request.n_numbers
    return _Outcome(request.request_no, ledger_state, None, [state] * n, [None] * n, [None] * n, [error] * n, None)


def campaign_id_for(plan: Any, campaign_id: str | None = None) -> str:
    """The campaign id :func:`send_campaign` records ``plan`` under: ``campaign_id``, else one derived
    from the plan's fingerprint (so the same plan resumes the same campaign)."""
    return campaign_id or f"c{plan.fingerprint[:12]}"


def _resolve_plan(plan: Any, plan_kwargs: dict[str, Any]) -> Any:
    if isinstance(plan, pd.DataFrame):
        from smskit.campaign.plan import plan_campaign

        return plan_campaign(plan, **plan_kwargs)
    if plan_kwargs:
        raise TypeError(f"plan options {sorted(plan_kwargs)} only apply when a DataFrame is given")
    return plan


def send_campaign(
    plan: Any,
    *,
    client: Client,
    ledger: str | Path | Ledger | None = None,
    rate: float | None = 500,
    concurrency: int = 4,
    progress: bool = True,
    campaign_id: str | None = None,
    resend_unknown: bool = False,
    status_callback: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    **plan_kwargs: Any,
) -> pd.DataFrame:
    """Send a campaign plan (or a recipients frame plus :func:`smskit.plan_campaign` options).

    Parameters
    ----------
    plan
        A :class:`~smskit.campaign.plan.CampaignPlan`; with invalid rows it is refused unless it was planned
        with ``skip_invalid=True``.
    client
        The :class:`smskit.Client` to send with (its pooled session is shared by all workers).
    ledger
        A SQLite path or :class:`~smskit.campaign.ledger.Ledger`: makes a re-run of the same call resume.
    rate
        Numbers per second (Huawei recommends ≤ 500); ``None`` sends unpaced.
    concurrency
        Requests in flight at once.
    campaign_id
        Names the campaign in ``extend`` and the ledger; defaults to one derived from the plan.
    resend_unknown
        Re-send requests whose outcome is unknown (risking duplicates).
    status_callback
        ``statusCallback`` URL for this campaign (defaults to the client's).
    on_progress
        Called in the calling thread with the number of numbers each finished request carried
        (for progress displays other than the tqdm bar, e.g. a widget).

    Returns
    -------
    DataFrame on the plan's index: the plan's ``id=`` column when it has one, then to, template_id,
    state, sms_msg_id, status, error, sent_at, extend, request_no.
    """
    plan = _resolve_plan(plan, plan_kwargs)
    if not getattr(plan, "skip_invalid", False):
        plan.raise_if_invalid()
    if concurrency < 1:
        raise DataValidationError("concurrency must be at least 1", advice="use concurrency=4")
    campaign_id = campaign_id_for(plan, campaign_id)
    if not _CAMPAIGN_ID.match(campaign_id):
        raise DataValidationError(
            f"campaign_id {campaign_id!r} must be 1–64 letters, digits, '_', '-' or '.'",
            advice="it travels in the request's extend field, which refuses other characters",
        )
    requests_ = planned_requests(plan)
    recipients = plan.recipients
    n_rows = len(recipients)

    state = np.asarray(recipients["state"].astype(str).to_numpy(), dtype=object)
    state[state == "ready"] = "unsent"
    sms_msg_id = np.full(n_rows, None, dtype=object)
    status = np.full(n_rows, None, dtype=object)
    error = np.asarray(recipients["problem"].where(recipients["problem"].astype(bool), None).to_numpy(), dtype=object)
    error[(state == "unsent") | (state == "held_out")] = None
    sent_at = np.full(n_rows, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    extend_of = np.full(n_rows, None, dtype=object)
    request_of = np.full(n_rows, -1, dtype=np.int64)
    for request in requests_:
        pos = request.positions
        extend_of[pos] = request.extend(campaign_id)
        request_of[pos] = request.request_no

    def apply(request: PlannedRequest, outcome: _Outcome) -> None:
        pos = request.positions
        state[pos] = outcome.state
        sms_msg_id[pos] = outcome.sms_msg_id
        status[pos] = outcome.status
        error[pos] = outcome.error
        if outcome.sent_at is not None:
            sent_at[pos] = np.datetime64(outcome.sent_at.replace(tzinfo=None), "ns")

    started = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "ns")
    book = Ledger(ledger) if isinstance(ledger, str | Path) else ledger
    owned = book is not ledger  # opened here from a path, so closed here
    try:
        to_send = _resume(book, campaign_id, plan, requests_, resend_unknown, apply)
        stopped_by = _run(
            to_send,
            client=client,
            book=book,
            campaign_id=campaign_id,
            rate=rate,
            concurrency=concurrency,
            progress=progress,
            sender=getattr(plan, "sender", None),
            status_callback=status_callback,
            apply=apply,
            on_progress=on_progress,
        )
    finally:
        if owned and book is not None:
            book.close()

    held = state == "held_out"
    if held.any():
        sent = ~np.isnat(sent_at)
        sent_at[held] = sent_at[sent].min() if sent.any() else started
    results = pd.DataFrame(
        {
            "to": recipients["to"].astype("string"),
            "template_id": recipients["template_id"].astype("string"),
            "state": pd.Categorical(state, dtype=RESULT_DTYPE),
            "sms_msg_id": pd.array(sms_msg_id, dtype="string"),
            "status": pd.array(status, dtype="string"),
            "error": pd.array(error, dtype="string"),
            "sent_at": pd.to_datetime(sent_at).tz_localize("UTC"),
            "extend": pd.array(extend_of, dtype="string"),
            "request_no": pd.Series(request_of, index=recipients.index, dtype="Int64").mask(request_of < 0),
        },
        index=recipients.index,
    )
    id_column = getattr(plan, "id_column", None)
    if id_column is not None:  # the user's own id first, so every result row can be found by it
        results.insert(0, id_column, recipients[id_column])
    left = results["state"].isin(OPEN_STATES)
    if left.any():
        counts = results.loc[left, "state"].value_counts()
        why = f"stopped: {stopped_by}; " if stopped_by is not None else ""
        warnings.warn(
            f"campaign {campaign_id} {why}{counts.get('unsent', 0)} recipient(s) unsent and "
            f"{counts.get('unknown', 0)} unknown; re-run with the same ledger to send the unsent ones, and "
            "use status reports (delivery_funnel) to settle the unknown ones",
            CampaignWarning,
            stacklevel=2,
        )
    return results


def _resume(
    book: Ledger | None,
    campaign_id: str,
    plan: Any,
    requests_: Sequence[PlannedRequest],
    resend_unknown: bool,
    apply: Any,
) -> list[PlannedRequest]:
    """Restore recorded outcomes from the ledger; return the requests still to send."""
    if book is None:
        return list(requests_)
    resumed = book.open_campaign(
        campaign_id,
        fingerprint=plan.fingerprint,
        n_requests=len(requests_),
        meta={"sender": getattr(plan, "sender", None)},
    )
    if not resumed:
        return list(requests_)
    states = book.request_states(campaign_id)
    rows = book.rows(campaign_id).set_index("position")
    to_send = []
    for request in requests_:
        recorded = states.get(request.request_no, "pending")
        if recorded == "done":
            got = rows.reindex(request.positions)
            sent = got["sent_at"].iloc[0] if len(got) else pd.NaT
            apply(
                request,
                _Outcome(
                    request.request_no,
                    "done",
                    None,
                    got["state"].tolist(),
                    got["sms_msg_id"].tolist(),
                    got["status"].tolist(),
                    got["error"].tolist(),
                    None if pd.isna(sent) else sent.to_pydatetime(),
                ),
            )
        elif recorded == "unknown" and not resend_unknown:
            apply(
                request,
                _unsent(
                    request,
                    state="unknown",
                    ledger_state="unknown",
                    error="in flight when a previous run stopped; outcome unknown",
                ),
            )
        else:
            to_send.append(request)
    return to_send


def _run(
    to_send: Sequence[PlannedRequest],
    *,
    client: Client,
    book: Ledger | None,
    campaign_id: str,
    rate: float | None,
    concurrency: int,
    progress: bool,
    sender: str | None,
    status_callback: str | None,
    apply: Any,
    on_progress: Callable[[int], None] | None,
) -> SmsKitError | None:
    """Send ``to_send``; return the error that stopped the run early, if any."""
    from tqdm.auto import tqdm

    bucket = TokenBucket(rate)
    stop = threading.Event()
    fatal: list[SmsKitError] = []

    def work(request: PlannedRequest) -> _Outcome:
        if not stop.is_set():
            bucket.acquire(request.n_numbers)
        if stop.is_set():  # also when the run stopped while this request waited for the bucket
            return _unsent(request, state="unsent", ledger_state="pending", error="not sent: the run stopped early")
        extend = request.extend(campaign_id)
        if book is not None:
            book.mark_in_flight(campaign_id, request.request_no, extend=extend)
        try:
            result = _send_one(client, request, sender=sender, status_callback=status_callback, extend=extend)
        except TransportError as exc:
            if exc.may_have_reached:
                outcome = _unsent(request, state="unknown", ledger_state="unknown", error=exc.message)
            else:
                outcome = _unsent(request, state="unsent", ledger_state="pending", error=f"not sent: {exc.message}")
        else:
            outcome = _map_results(request, result, datetime.now(UTC))
            if outcome.fatal is not None:
                stop.set()  # before this worker or another takes the next request
        if book is not None:
            rows = [
                (int(p), to, mid, st, s, err, outcome.sent_at.isoformat() if outcome.sent_at else None)
                for p, to, mid, st, s, err in zip(
                    request.positions.tolist(),
                    request.numbers,
                    outcome.sms_msg_id,
                    outcome.status,
                    outcome.state,
                    outcome.error,
                    strict=True,
                )
            ]
            book.record(
                campaign_id,
                request.request_no,
                state=outcome.ledger_state,
                code=outcome.code,
                rows=rows if outcome.ledger_state == "done" else (),
            )
        return outcome

    total = sum(r.n_numbers for r in to_send)
    bar = tqdm(total=total, unit="numbers", desc=f"campaign {campaign_id}", disable=not progress or not to_send)
    by_no = {r.request_no: r for r in to_send}

    def advance(n: int) -> None:
        bar.update(n)
        if on_progress is not None:
            on_progress(n)

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="smskit-send") as pool:
            pending: set[Future[_Outcome]] = set()
            queue = iter(to_send)
            try:
                for request in queue:
                    pending.add(pool.submit(work, request))
                    if len(pending) >= concurrency * 2:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        _collect(done, by_no, apply, advance, fatal)
                done, _ = wait(pending)
                _collect(done, by_no, apply, advance, fatal)
            except BaseException:
                stop.set()
                done, _ = wait(pending)
                _collect(done, by_no, apply, advance, fatal)
                for request in queue:
                    apply(
                        request, _unsent(request, state="unsent", ledger_state="pending", error="not sent: interrupted")
                    )
                raise
    finally:
        bar.close()
    return fatal[0] if fatal else None


def _collect(
    done: set[Future[_Outcome]],
    by_no: dict[int, PlannedRequest],
    apply: Any,
    advance: Callable[[int], None],
    fatal: list[SmsKitError],
) -> None:
    for future in done:
        outcome = future.result()
        request = by_no[outcome.request_no]
        apply(request, outcome)
        advance(request.n_numbers)
        if outcome.fatal is not None:
            fatal.append(outcome.fatal)
