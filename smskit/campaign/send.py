"""Send a campaign plan: checked first, paced, concurrent, resumable, never twice.

:func:`send_campaign` turns a :class:`smskit.campaign.plan.CampaignPlan` into API calls. Each call carries
``extend="<campaign_id>:<request_no>"`` so status reports (which then echo ``extend`` and ``to``)
can tell which recipients an ambiguous call reached. With a ledger (:mod:`smskit.campaign.ledger`)
the run holds the campaign's lease, each call is claimed (committed in flight, with its recipients)
before it is sent and its outcome recorded after, and a re-run resumes by recipient.

Row states in the result are :data:`smskit.campaign.states.RESULT_STATES` (meanings there):
``accepted``, ``rejected``, ``unknown`` (not re-sent unless ``resend_unknown=True``; status reports
settle it, see :func:`smskit.delivery_funnel`), ``unsent`` (a re-run with the same ledger sends it),
and the plan's own states for rows it left out.
``held_out`` rows (an experiment's holdout) are never sent; their ``sent_at`` is the campaign's send
start (the first ``sent_at`` of the campaign), the time their outcomes are measured from.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smskit import codes
from smskit.campaign.ledger import Item, Lease, Ledger, OutcomeRow, params_key
from smskit.campaign.pacing import TokenBucket
from smskit.campaign.plan import REPEAT_WINDOW, find_repeats, plan_campaign
from smskit.campaign.states import OPEN_STATES, RESULT_DTYPE
from smskit.client import Client, SendResult, SmsItem
from smskit.client.checks import check_status_callback
from smskit.config import check_base_url
from smskit.errors import (
    ApiError,
    ConfigError,
    DataValidationError,
    LedgerError,
    SmsKitError,
    SmsKitWarning,
    TransportError,
)
from smskit.protocol import PARTIAL, SUCCESS

__all__ = [
    "CampaignWarning",
    "PlannedRequest",
    "campaign_id_for",
    "default_campaign_id",
    "match_history",
    "send_campaign",
    "settled_rows",
]

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

    def ledger_items(self) -> list[Item]:
        """``(template_id, params, positions, numbers)`` per API item, as the ledger records a request."""
        return [(i.template_id, params_key(i.params), i.positions, i.to) for i in self.items]

    def keeping(self, keep: np.ndarray, request_no: int) -> PlannedRequest | None:
        """This request renumbered, with only the rows whose position ``keep`` marks (None when none is left)."""
        items = []
        for item in self.items:
            mask = keep[np.asarray(item.positions, dtype=np.int64)]
            if mask.all():
                items.append(item)
            elif mask.any():
                pick = np.flatnonzero(mask).tolist()
                items.append(
                    replace(item, positions=tuple(item.positions[i] for i in pick), to=tuple(item.to[i] for i in pick))
                )
        return PlannedRequest(request_no, self.api, tuple(items)) if items else None


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

    def ledger_rows(self) -> list[OutcomeRow]:
        at = self.sent_at.isoformat(timespec="microseconds") if self.sent_at else None
        return [
            (mid, status, state, error, at)
            for mid, status, state, error in zip(self.sms_msg_id, self.status, self.state, self.error, strict=True)
        ]


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


def _resolve_plan(plan: Any, plan_kwargs: dict[str, Any]) -> Any:
    if isinstance(plan, pd.DataFrame):
        return plan_campaign(plan, **plan_kwargs)
    if plan_kwargs:
        raise TypeError(f"plan options {sorted(plan_kwargs)} only apply when a DataFrame is given")
    return plan


def default_campaign_id(plan: Any) -> str | None:
    """``<file stem>.<template id or template column>`` for a plan of recipients read from a file, else None
    (:func:`smskit.campaign.plan.campaign_name`)."""
    return getattr(plan, "default_campaign_id", None)


def campaign_id_for(plan: Any, campaign_id: str | None = None) -> str:
    """The campaign id for ``plan``: ``campaign_id``, else :func:`default_campaign_id`, else
    ``c<fingerprint>`` — a name only this exact plan reproduces, so :func:`send_campaign` refuses it with
    a ledger (an edited list would start over); it suits a plan sent once, or a private ledger."""
    return campaign_id or default_campaign_id(plan) or f"c{plan.fingerprint[:12]}"


def _campaign_name(plan: Any, campaign_id: str | None, *, with_ledger: bool) -> str:
    if with_ledger and campaign_id is None and default_campaign_id(plan) is None:
        raise DataValidationError(
            "name the campaign: campaign_id= is required with a ledger when the recipients were not read "
            "from a file (smskit.read_recipients names a campaign after its file and template)",
            advice='pass campaign_id="spring-sale" (the same name on every run of this campaign resumes it)',
        )
    name = campaign_id_for(plan, campaign_id)
    if not _CAMPAIGN_ID.match(name):
        raise DataValidationError(
            f"campaign_id {name!r} must be 1–64 letters, digits, '_', '-' or '.'",
            advice="it travels in the request's extend field, which refuses other characters",
        )
    return name


def _preflight(plan: Any, client: Client, *, status_callback: str | None, concurrency: int) -> None:
    """Every check that needs no network, before the ledger is touched: a failure here wrote nothing."""
    if not getattr(plan, "skip_invalid", False):
        plan.raise_if_invalid()
    if concurrency < 1:
        raise DataValidationError("concurrency must be at least 1", advice="use concurrency=4")
    settings = client.settings
    if not (settings.app_key and settings.app_secret):
        raise ConfigError("the client has no app key or secret", advice="set SMSKIT_APP_KEY and SMSKIT_APP_SECRET")
    check_base_url(settings.base_url)
    if not (getattr(plan, "sender", None) or settings.sender) and (plan.recipients["state"] == "ready").any():
        raise ConfigError(
            "no sender (channel number) given; nothing was sent or recorded",
            advice="pass sender= to plan_campaign or the Client, or set SMSKIT_SENDER (csms…/isms…)",
        )
    check_status_callback(status_callback or settings.status_callback)


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
    wait_for_lease: bool | float = False,
    **plan_kwargs: Any,
) -> pd.DataFrame:
    """Send a campaign plan (or a recipients frame plus :func:`smskit.plan_campaign` options).

    Before anything is written, the run checks what it can without the network (the plan is
    sendable, credentials, sender, base URL and callback are set); a failure raises
    ``DataValidationError``/``ConfigError`` and leaves the ledger untouched.

    Parameters
    ----------
    plan
        A :class:`~smskit.campaign.plan.CampaignPlan`; with invalid rows it is refused unless it was planned
        with ``skip_invalid=True``.
    client
        The :class:`smskit.Client` to send with (its pooled session is shared by all workers).
    ledger
        A SQLite path or :class:`~smskit.campaign.ledger.Ledger` (the contact history). With it, a
        re-run of the same campaign resumes **by recipient**: a row whose (number, template, params)
        the ledger shows accepted, unknown or in flight for this campaign, or refused by the platform
        for that number, is not sent again (its recorded outcome is returned); new, fixed or
        reordered rows, and rows of calls refused as a whole, are sent. A number the ledger
        shows accepted for the same template within the repeat window (24 h), in any campaign, is
        ``suppressed`` unless the plan was made with ``allow_repeat=True``.
    rate
        Numbers per second (Huawei recommends ≤ 500); ``None`` sends unpaced.
    concurrency
        Requests in flight at once.
    campaign_id
        Names the campaign in ``extend`` and the ledger. Default: ``<file stem>.<template id>`` (or
        ``.<template column>``) when the recipients were read with :func:`smskit.read_recipients`,
        e.g. ``spring.csv`` → ``spring.8ff55eac…``; required with a ledger otherwise.
    resend_unknown
        Re-send recipients whose outcome is unknown (risking duplicates).
    status_callback
        ``statusCallback`` URL for this campaign (defaults to the client's).
    on_progress
        Called in the calling thread with the number of numbers each finished request carried
        (for progress displays other than the tqdm bar, e.g. a widget).
    wait_for_lease
        When another run of this campaign holds the ledger's lease: ``False`` raises
        :class:`~smskit.errors.ConcurrentRunError` (nothing sent), ``True`` waits until it ends,
        a number waits that many seconds at most.

    Returns
    -------
    DataFrame on the plan's index: the plan's ``id=`` column when it has one, then to, template_id,
    state, sms_msg_id, status, error, sent_at, extend, request_no.
    """
    plan = _resolve_plan(plan, plan_kwargs)
    name = _campaign_name(plan, campaign_id, with_ledger=ledger is not None)
    _preflight(plan, client, status_callback=status_callback, concurrency=concurrency)
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
    columns = {"state": state, "sms_msg_id": sms_msg_id, "status": status, "error": error}

    def apply(request: PlannedRequest, outcome: _Outcome) -> None:
        pos = request.positions
        state[pos] = outcome.state
        sms_msg_id[pos] = outcome.sms_msg_id
        status[pos] = outcome.status
        error[pos] = outcome.error
        if outcome.sent_at is not None:
            sent_at[pos] = np.datetime64(outcome.sent_at.replace(tzinfo=None), "ns")

    def number(to_send: Sequence[PlannedRequest]) -> None:
        for request in to_send:
            extend_of[request.positions] = request.extend(name)
            request_of[request.positions] = request.request_no

    run = functools.partial(
        _run,
        client=client,
        campaign_id=name,
        rate=rate,
        concurrency=concurrency,
        progress=progress,
        sender=getattr(plan, "sender", None),
        status_callback=status_callback,
        apply=apply,
        on_progress=on_progress,
    )
    started = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "ns")
    if ledger is None:
        number(requests_)
        stopped_by = run(requests_, lease=None)
    else:
        book = Ledger(ledger) if isinstance(ledger, str | Path) else ledger
        try:
            with book.acquire(
                name, wait=wait_for_lease, fingerprint=plan.fingerprint, meta={"sender": getattr(plan, "sender", None)}
            ) as lease:
                restored, to_send = _resume(lease, plan, requests_, resend_unknown=resend_unknown)
                for column, values in columns.items():
                    values[restored.index] = restored[column].to_numpy(dtype=object)
                sent_at[restored.index] = restored["sent_at"].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
                extend_of[restored.index] = restored["extend"].to_numpy(dtype=object)
                request_of[restored.index] = restored["request_no"].fillna(-1).to_numpy(dtype=np.int64)
                number(to_send)
                stopped_by = run(to_send, lease=lease)
        finally:
            if book is not ledger:
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
            f"campaign {name} {why}{counts.get('unsent', 0)} recipient(s) unsent and "
            f"{counts.get('unknown', 0)} unknown; re-run with the same ledger to send the unsent ones, and "
            "use status reports (delivery_funnel) to settle the unknown ones",
            CampaignWarning,
            stacklevel=2,
        )
    return results


def _keys(plan: Any) -> pd.DataFrame:
    """Each plan row's recipient identity as the ledger records it: to, template_id, params (text)."""
    rec = plan.recipients
    codes_, uniques = pd.factorize(rec["params"], use_na_sentinel=False)
    texts = np.array([params_key(p) if isinstance(p, tuple) else "" for p in uniques], dtype=object)
    return pd.DataFrame(
        {
            "to": rec["to"].to_numpy(dtype=object),
            "template_id": rec["template_id"].to_numpy(dtype=object),
            "params": texts[codes_],
        }
    )


def match_history(plan: Any, history: pd.DataFrame, *, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The history entry of each plan row whose recipient (number, template, params) the campaign has tried.

    ``history`` is :meth:`Ledger.history <smskit.campaign.ledger.Ledger.history>`; ``rows`` (a mask over
    the plan's rows, default every row) limits the rows matched. Rows an earlier smskit recorded without
    template and params match by number alone. Returns the history's columns plus ``position`` (the
    plan row's position), one row per matched plan row.
    """
    keys = _keys(plan)
    keys["position"] = np.arange(len(keys))
    candidates = keys if rows is None else keys[rows]
    exact = candidates.merge(history, on=["to", "template_id", "params"], how="inner")
    legacy = history[history["template_id"].isna()].drop(columns=["template_id", "params"])
    if legacy.empty:
        return exact
    unmatched = candidates[~candidates["position"].isin(exact["position"])]
    by_number = unmatched.merge(legacy, on="to", how="inner").drop_duplicates("position")
    return pd.concat([exact, by_number], ignore_index=True)


def settled_rows(plan: Any, history: pd.DataFrame | None) -> pd.Series:
    """Mask (on the plan's index) of ready rows a re-run of the campaign would not send: the history holds
    them accepted, unknown or refused for that number (see :func:`match_history`); all False without one."""
    ready = (plan.recipients["state"] == "ready").to_numpy()
    if history is None or history.empty:
        return pd.Series(False, index=plan.recipients.index)
    found = match_history(plan, history, rows=ready)
    mask = np.zeros(len(ready), dtype=bool)
    mask[found.loc[found["settled"].astype(bool), "position"].to_numpy(dtype=np.int64)] = True
    return pd.Series(mask, index=plan.recipients.index)


def _resume(
    lease: Lease, plan: Any, requests_: Sequence[PlannedRequest], *, resend_unknown: bool
) -> tuple[pd.DataFrame, list[PlannedRequest]]:
    """What this campaign's history settles, and the requests still to send (renumbered, recorded pending).

    Returns the restored rows (on plan positions: state, sms_msg_id, status, error, sent_at, extend,
    request_no; repeat rows carry their reason) and the requests to send.
    """
    book = lease.ledger
    history = book.history(lease.campaign_id)
    if len(history) and (history["template_id"].isna().any() or book.legacy_requests(lease.campaign_id)):
        _adopt_legacy(lease, plan, requests_)
        history = book.history(lease.campaign_id)

    rec = plan.recipients
    ready = (rec["state"] == "ready").to_numpy()
    repeat_of_this = np.zeros(len(rec), dtype=bool)
    if len(plan.repeats):
        own = plan.repeats.index[plan.repeats["campaign_id"] == lease.campaign_id]
        repeat_of_this[rec.index.get_indexer(own)] = True
    found = match_history(plan, history, rows=ready | repeat_of_this)
    resend = found["state"].eq("unknown") & resend_unknown & ready[found["position"].to_numpy(dtype=np.int64)]
    found = found[found["settled"].astype(bool) & ~resend]
    restored = found.set_index("position")[
        ["state", "sms_msg_id", "status", "error", "sent_at", "extend", "request_no"]
    ].astype(object)
    restored["sent_at"] = pd.to_datetime(found["sent_at"].to_numpy(), utc=True)
    restored.loc[restored["state"] == "unknown", "error"] = "may have been sent by an earlier run; outcome unknown"

    keep = ready.copy()
    keep[restored.index.to_numpy(dtype=np.int64)] = False
    if keep.any() and not getattr(plan, "allow_repeat", False):
        left = np.flatnonzero(keep)
        repeats = find_repeats(
            pd.Series(rec["to"].to_numpy(dtype=object)[left], index=left),
            pd.Series(rec["template_id"].to_numpy(dtype=object)[left], index=left),
            book,
            window=getattr(plan, "repeat_window", REPEAT_WINDOW),
        )
        if len(repeats):
            extra = pd.DataFrame(
                {
                    "state": "suppressed",
                    "sms_msg_id": None,
                    "status": None,
                    "error": repeats["problem"].to_numpy(dtype=object),
                    "sent_at": pd.NaT,
                    "extend": None,
                    "request_no": None,
                },
                index=repeats.index,
            ).astype(object)
            extra["sent_at"] = pd.to_datetime(extra["sent_at"], utc=True)
            restored = pd.concat([restored, extra])
            keep[repeats.index.to_numpy(dtype=np.int64)] = False

    first_no = lease.next_request_no()
    to_send = [r for r in (req.keeping(keep, 0) for req in requests_) if r is not None]
    to_send = [replace(r, request_no=first_no + i) for i, r in enumerate(to_send)]
    if to_send:
        lease.add_requests([(r.request_no, r.extend(lease.campaign_id), r.ledger_items()) for r in to_send])
    return restored, to_send


def _adopt_legacy(lease: Lease, plan: Any, requests_: Sequence[PlannedRequest]) -> None:
    """Give an earlier smskit's rows (recorded by plan position, without template or params) their recipients.

    Possible only with the plan that earlier run sent (same fingerprint, so the same request numbers).
    """
    book = lease.ledger
    legacy = book.legacy_requests(lease.campaign_id)
    if book.fingerprint(lease.campaign_id) != plan.fingerprint:
        if legacy:
            raise LedgerError(
                f"campaign {lease.campaign_id!r} in {book.path} was left by an earlier smskit with request(s) "
                f"{legacy[:5]} in flight or unknown, and which recipients they carried is recorded only for the "
                "plan that run sent; this plan differs",
                advice="re-run once with the original recipients file and options (nothing is re-sent: those "
                "recipients become 'unknown'), then run the edited file",
            )
        return  # rows without a template match by number alone
    by_no = {r.request_no: r for r in requests_}
    done = book.requests(lease.campaign_id)
    for request_no in done["request_no"].astype(int).tolist():
        request = by_no.get(request_no)
        if request is None:
            continue
        if request_no in legacy:
            lease.adopt(request_no, request.ledger_items())
        else:
            lease.describe_legacy(request_no, request.ledger_items())


def _run(
    to_send: Sequence[PlannedRequest],
    *,
    client: Client,
    lease: Lease | None,
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
        if lease is not None and not lease.claim(request.request_no):
            stop.set()  # the lease is gone (this run stalled past its expiry): claim nothing more
            outcome = _unsent(
                request, state="unsent", ledger_state="pending", error="not sent: this run lost its lease"
            )
            outcome.fatal = LedgerError(
                f"campaign {campaign_id} lost its lease in the ledger (the run stalled longer than a lease lasts)",
                advice="re-run with the same ledger: it sends only what no run has sent",
            )
            return outcome
        try:
            result = _send_one(client, request, sender=sender, status_callback=status_callback, extend=extend)
        except TransportError as exc:
            if exc.may_have_reached:
                outcome = _unsent(request, state="unknown", ledger_state="unknown", error=exc.message)
            else:
                outcome = _unsent(request, state="unsent", ledger_state="pending", error=f"not sent: {exc.message}")
        except (DataValidationError, ConfigError) as exc:  # local checks: raised before any byte was sent
            stop.set()
            outcome = _unsent(request, state="unsent", ledger_state="pending", error=f"not sent: {exc.message}")
            outcome.fatal = exc
        except ApiError as exc:  # refused without a documented code (HTTP 3xx/4xx): nothing was processed
            stop.set()
            outcome = _unsent(request, state="rejected", ledger_state="pending", error=exc.message)
            outcome.status = [exc.code] * request.n_numbers
            outcome.fatal = exc
        else:
            outcome = _map_results(request, result, datetime.now(UTC))
            if outcome.fatal is not None:
                stop.set()  # before this worker or another takes the next request
        if lease is not None:
            lease.record(request.request_no, state=outcome.ledger_state, code=outcome.code, rows=outcome.ledger_rows())
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
