"""Pure, vectorized campaign planning: recipients frame → what will be sent, in which API calls.

:func:`plan_campaign` normalizes numbers, validates params against the template catalog, suppresses
opt-outs, duplicates (one message per number by default) and repeats (numbers the ledger shows were
accepted for the same template within the repeat window), and groups the ready rows into the fewest
calls:

* all ready rows of a template (and signature) share one params tuple → ``batchSendSms`` calls of
  ≤ 500 numbers;
* otherwise ``batchSendDiffSms``: one item per distinct ``(template, params, signature)`` (≤ 500
  numbers each), packed in order into calls of ≤ 100 items **and ≤ 500 numbers in total** (the platform's
  per-call maximum is undocumented; 500 keeps every call the size of a ``batchSendSms`` call, which is
  what pacing counts). Items of different templates share calls.

Work is done on distinct values, never per row: each column is factorized once, a param value is
checked once per variable it fills, a ``(template, params)`` combination is rendered once, and a
message's encoding and segments are added up from its parts' (see ``templates.text_stats``).

A plan with invalid rows is returned for inspection but is not sendable: ``send_campaign`` calls
:meth:`CampaignPlan.raise_if_invalid` unless the plan was made with ``skip_invalid=True``.
"""

from __future__ import annotations

import gc
import hashlib
import html
import itertools
import operator
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smskit.campaign.ledger import Ledger
from smskit.campaign.recipients import NUMERIC_CELLS, SOURCE
from smskit.campaign.states import LEFT_OUT_STATES, PLAN_DTYPE, PLAN_STATES
from smskit.errors import DataValidationError
from smskit.frames import FUNNEL_ADDED, RESULTS
from smskit.numbers import check_region, normalize_codes
from smskit.protocol import MAX_ITEMS, MAX_NUMBERS, MAX_VARIABLES
from smskit.protocol import MAX_TEMPLATE_ID_LEN as MAX_TEMPLATE_ID_CHARS
from smskit.templates import Template, load_templates
from smskit.templates.encoding import segments_from_stats, text_stats
from smskit.templates.render import fixed_text, render_columns
from smskit.templates.validation import DistinctValues, param_problems

__all__ = [
    "DEDUPE",
    "MAX_ITEMS_PER_CALL",
    "MAX_NUMBERS_PER_CALL",
    "MAX_NUMBERS_PER_ITEM",
    "REPEAT_WINDOW",
    "CampaignPlan",
    "PlanSummary",
    "campaign_name",
    "find_repeats",
    "plan_campaign",
]

MAX_NUMBERS_PER_ITEM = MAX_NUMBERS_PER_CALL = MAX_NUMBERS
MAX_ITEMS_PER_CALL = MAX_ITEMS
APIS = ("batchSendSms", "batchSendDiffSms")
#: ``dedupe=`` choices: "number" (one message per number per campaign) or None (exact duplicates only).
DEDUPE = {"number": "one message per number (the first row wins)", None: "exact duplicates only"}
#: Default repeat window: a number accepted for a template this recently is not sent that template again.
REPEAT_WINDOW = pd.Timedelta(hours=24)
_ENC_DTYPE = pd.CategoricalDtype(["GSM-7", "UCS-2"])
_API_DTYPE = pd.CategoricalDtype(list(APIS))
_SEP = "\x1f"
_READY = PLAN_STATES.index("ready")  # state codes into PLAN_DTYPE
_INVALID = PLAN_STATES.index("invalid")
_SUPPRESSED = PLAN_STATES.index("suppressed")
_HELD_OUT = PLAN_STATES.index("held_out")
_PLAN_COLUMNS = ("to", "region", "template_id", "params", "signature", "text", "encoding", "segments", "state")
#: Columns the plan, the results and the funnel add: an ``id=`` column may not be named like one.
_RESERVED = frozenset((*_PLAN_COLUMNS, "problem", "request_no", "item_no", *RESULTS.columns, *FUNNEL_ADDED))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small lists/tuples are built.

    Its passes over the growing heap, not the building itself, would take most of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class PlanSummary(dict[str, Any]):
    """:attr:`CampaignPlan.summary`: a plain dict of counts that a notebook shows as a two-column table."""

    def _repr_html_(self) -> str:
        rows = []
        for key, value in self.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {v:,}" for k, v in value.items()) or "—"
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, int):
                value = f"{value:,}"
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>"
            )
        return f'<table class="smskit-plan-summary">{"".join(rows)}</table>'


@dataclass(frozen=True, eq=False, repr=False)
class CampaignPlan:
    """What a campaign will send; pure data (see the module docstring).

    ``recipients`` has one row per input row (input index): the ``id=`` column when one was named,
    then to, region, template_id, params, signature, text, encoding, segments, state, problem,
    request_no, item_no. ``items`` has one row
    per API item (to, rows = input index labels, template_id, params, signature), ordered by
    request; ``requests`` one row per API call. ``repeats`` (input index) holds the rows suppressed
    because the ledger shows their number accepted for the same template within the repeat window:
    campaign_id, sent_at. ``source`` is the recipients file's name (from ``read_recipients``), and
    with the template it names the campaign when ``send_campaign`` is given no ``campaign_id``.
    """

    recipients: pd.DataFrame
    sender: str | None = None
    signature: str | None = None
    skip_invalid: bool = False
    dedupe: str | None = "number"
    allow_repeat: bool = False
    repeat_window: pd.Timedelta = REPEAT_WINDOW
    source: str | None = None
    template_id: str | None = None
    template_column: str | None = None
    repeats: pd.DataFrame = field(default_factory=lambda: _repeats_frame([], [], []))
    n_duplicates: int = 0
    id_column: str | None = None  # the recipients' own id column, first in recipients/problems/results
    _order: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # ready rows, send order
    _item_bounds: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    _item_request: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    _item_api: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int8))  # codes into APIS

    # ------------------------------------------------------------------ derived views

    @property
    def default_campaign_id(self) -> str | None:
        """The campaign id ``send_campaign`` uses when given none (see :func:`campaign_name`)."""
        return campaign_name(self.source, self.template_id or self.template_column)

    @property
    def sendable(self) -> bool:
        """False while invalid rows remain and the plan was not made with ``skip_invalid=True``."""
        return self.skip_invalid or not (self.recipients["state"] == "invalid").any()

    @cached_property
    def problems(self) -> pd.DataFrame:
        """The rows that will not be sent (input index): the id column (when named), to, template_id,
        state, problem."""
        rec = self.recipients
        return rec.loc[rec["state"] != "ready", [*self._id, "to", "template_id", "state", "problem"]]

    @property
    def _id(self) -> list[str]:
        return [self.id_column] if self.id_column is not None else []

    @cached_property
    def items(self) -> pd.DataFrame:
        """One row per API item, in send order: request_no, item_no, api, template_id, signature, params,
        n_numbers, segments, to (list of E.164), rows (list of input index labels), positions."""
        rec = self.recipients
        order, bounds = self._order, self._item_bounds
        starts = bounds[:-1]
        first = order[starts]
        segs = rec["segments"].to_numpy(dtype=np.int64, na_value=0)[order]
        with _gc_paused():
            positions = order.tolist()
            index = rec.index
            in_place = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            labels = positions if in_place else index.to_numpy()[order].tolist()
            columns = {
                "to": _split_lists(rec["to"].to_numpy(dtype=object)[order].tolist(), bounds),
                "rows": _split_lists(labels, bounds),
                "positions": _split_lists(positions, bounds),
            }
        return pd.DataFrame(
            {
                "request_no": self._item_request,
                "item_no": np.arange(len(starts), dtype=np.int64),
                "api": pd.Categorical.from_codes(self._item_api, dtype=_API_DTYPE),
                "template_id": rec["template_id"].to_numpy(dtype=object)[first],
                "signature": rec["signature"].to_numpy(dtype=object)[first],
                "params": rec["params"].to_numpy(dtype=object)[first],
                "n_numbers": np.diff(bounds),
                "segments": np.add.reduceat(segs, starts) if len(starts) else [],
                **columns,
            }
        )

    @cached_property
    def requests(self) -> pd.DataFrame:
        """One row per API call: request_no, api, n_numbers, n_items, segments, template_ids, rows."""
        items = self.items
        if items.empty:
            cols = ["request_no", "api", "n_numbers", "n_items", "segments", "template_ids", "rows"]
            return pd.DataFrame(columns=cols)
        request = items["request_no"].to_numpy()
        edges = np.flatnonzero(np.r_[True, request[1:] != request[:-1], True])  # items are ordered by request
        starts = edges[:-1]
        template_ids = items["template_id"].tolist()
        item_rows = items["rows"].tolist()
        with _gc_paused():
            rows = [list(itertools.chain.from_iterable(item_rows[a:b])) for a, b in itertools.pairwise(edges.tolist())]
        return pd.DataFrame(
            {
                "request_no": request[starts],
                "api": items["api"].array[starts],
                "n_numbers": np.add.reduceat(items["n_numbers"].to_numpy(), starts),
                "n_items": np.diff(edges),
                "segments": np.add.reduceat(items["segments"].to_numpy(), starts),
                "template_ids": [tuple(dict.fromkeys(template_ids[a:b])) for a, b in itertools.pairwise(edges)],
                "rows": rows,
            }
        )

    @cached_property
    def summary(self) -> PlanSummary:
        """Counts by state, numbers, segments, calls, and segments by region/encoding (cost inputs): a dict
        that shows as a table in a notebook."""
        rec = self.recipients
        ready = rec[rec["state"] == "ready"]
        counts = rec["state"].value_counts().reindex(list(PLAN_STATES), fill_value=0)
        by = ready.groupby(["region", "encoding"], observed=True)["segments"].sum()
        request = self._item_request
        first = np.r_[True, request[1:] != request[:-1]] if len(request) else np.empty(0, dtype=bool)
        api = np.bincount(self._item_api[first], minlength=len(APIS))
        return PlanSummary(
            {
                "rows": len(rec),
                **{str(k): int(v) for k, v in counts.items()},
                "segments": int(ready["segments"].sum()),
                "requests": int(first.sum()),
                "batchSendSms": int(api[0]),
                "batchSendDiffSms": int(api[1]),
                "segments_by": {" ".join(map(str, key)): int(v) for key, v in by.items()},  # type: ignore[call-overload]
                "sendable": self.sendable,
                "dedupe": self.dedupe,
                "duplicates": self.n_duplicates,
                "repeats": len(self.repeats),
            }
        )

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over sender and every (call, item, number, template, signature, params) to be sent."""
        rec = self.recipients
        order, bounds = self._order, self._item_bounds
        first = order[bounds[:-1]]
        digest = hashlib.sha256(f"smskit-plan-v2{_SEP}{self.sender or ''}\n".encode())
        digest.update(self._item_request.astype("<i8").tobytes())
        digest.update(bounds.astype("<i8").tobytes())
        _hash_strings(digest, rec["to"].to_numpy(dtype=object)[order].tolist())
        _hash_strings(digest, rec["template_id"].to_numpy(dtype=object)[first].tolist())
        signature = rec["signature"].iloc[first]
        digest.update(signature.isna().to_numpy().tobytes())
        _hash_strings(digest, signature.fillna("").tolist())
        params = rec["params"].to_numpy(dtype=object)[first]
        counts = np.fromiter(map(len, params), dtype=np.int64, count=len(params))
        digest.update(counts.astype("<i8").tobytes())
        for k in np.unique(counts).tolist():
            with_k = params[counts == k].tolist()
            for j in range(k):
                _hash_strings(digest, list(map(operator.itemgetter(j), with_k)))
        return digest.hexdigest()

    # ------------------------------------------------------------------ checks and display

    def raise_if_invalid(self) -> None:
        """Raise ``DataValidationError`` (``rows`` = the invalid rows) if any row is invalid."""
        rec = self.recipients
        bad = rec[rec["state"] == "invalid"]
        if bad.empty:
            return
        reasons = bad["problem"].value_counts().head(3)
        why = "; ".join(f"{n}× {p}" for p, n in reasons.items())
        raise DataValidationError(
            f"{len(bad)} of {len(rec)} rows are invalid ({why})",
            rows=bad[[*self._id, "to", "template_id", "params", "problem"]],
            advice="fix those rows, or plan with skip_invalid=True to send only the valid ones",
        )

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"CampaignPlan(rows={s['rows']}, ready={s['ready']}, invalid={s['invalid']}, "
            f"suppressed={s['suppressed']}, requests={s['requests']}, segments={s['segments']})"
        )

    def _repr_html_(self) -> str:
        s = self.summary
        esc = html.escape
        shown = ["rows", "ready", *(k for k in LEFT_OUT_STATES if s[k]), "segments", "requests", "sendable"]
        head = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(s[k]))}</td></tr>" for k in shown)
        head += (
            f"<tr><th>dedupe</th><td>{esc(DEDUPE[self.dedupe])}: {s['duplicates']} duplicate(s) suppressed</td></tr>"
            f"<tr><th>repeats</th><td>{s['repeats']} number(s) already sent this template recently"
            f"{' (allowed)' if self.allow_repeat else ''}</td></tr>"
        )
        by = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in s["segments_by"].items())
        problems = self.problems.head(10).to_html(escape=True) if len(self.problems) else ""
        note = (
            ""
            if self.sendable
            else "<p><b>Not sendable:</b> fix the invalid rows or plan with <code>skip_invalid=True</code>.</p>"
        )
        return (
            f"<b>CampaignPlan</b><table>{head}</table><p>segments by region and encoding</p><table>{by}</table>"
            f"{note}{problems}"
        )


# ---------------------------------------------------------------------------------------------- planning


def plan_campaign(
    recipients: pd.DataFrame,
    *,
    template_id: str | None = None,
    template_column: str | None = None,
    params: Sequence[str] | str = (),
    to: str = "phone",
    templates: Mapping[str, Template] | str | os.PathLike[str] | None = None,
    sender: str | None = None,
    signature: str | None = None,
    default_region: str | None = None,
    opt_out: Iterable[str] | pd.Series | pd.DataFrame | str | os.PathLike[str] | None = None,
    skip_invalid: bool = False,
    held_out: Sequence[bool] | np.ndarray | None = None,
    id: str | None = None,
    dedupe: str | None = "number",
    allow_repeat: bool = False,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    now: datetime | pd.Timestamp | str | None = None,
    repeat_window: pd.Timedelta | str = REPEAT_WINDOW,
    campaign_id: str | None = None,
) -> CampaignPlan:
    """Plan a campaign over ``recipients`` (never mutated; its index is kept and must be unique).

    Parameters
    ----------
    template_id, template_column
        One template for every row, or the column naming each row's template (exactly one of them).
    params
        Column names giving the template variables in order; a template with n variables takes the
        first n columns.
    to
        The phone column.
    templates
        A catalog (``load_templates``) or its path; without it only generic checks are made (ids and
        non-empty params) and ``text``/``encoding``/``segments`` stay NA.
    signature
        Signature for Chinese mainland templates (wins over the template's own).
    default_region
        ISO region for numbers written without ``+country code``. Never applied to phone cells a
        spreadsheet stored as numbers (recorded by ``read_recipients``): those are invalid, since
        their ``+`` or leading ``0`` is lost.
    opt_out
        Numbers never to send to: a set/list/Series, a frame or CSV path with a ``phone`` column.
    skip_invalid
        Make the plan sendable although some rows are invalid (they are skipped).
    held_out
        Boolean per row: an experiment's holdout (``experiments.plan_arms``), state ``held_out``, never sent.
    id
        The recipients' own id column (e.g. ``"customer_id"``): carried first into ``recipients``,
        ``problems``, the results and the funnel, so every row can be found by the user's id.
    dedupe
        ``"number"`` (default): one message per number per campaign; the first row wins and the rest
        are ``suppressed`` with "duplicate of row <id>" (the ``id`` column's value, else the index
        label). ``None``: only rows identical in number, template and params are duplicates (the
        first release's rule).
    allow_repeat, ledger, now, repeat_window
        With a ``ledger`` (a :class:`~smskit.campaign.ledger.Ledger` or its path: the team's contact
        history), a number the ledger shows was accepted for the same template within
        ``repeat_window`` (default 24 h) before ``now`` (default: the current time, UTC) is
        ``suppressed`` with a reason naming the earlier campaign and time, unless
        ``allow_repeat=True``. ``send_campaign`` checks again when it sends.
    campaign_id
        The campaign this plan will be sent as (default: :func:`campaign_name` of the recipients' file
        and the template). Its own earlier sends are not previewed as repeats: a re-run resumes them.
    """
    if dedupe not in DEDUPE:
        raise DataValidationError(f"dedupe must be 'number' or None, not {dedupe!r}", advice='use dedupe="number"')
    window = pd.Timedelta(repeat_window)
    _check_arguments(recipients, template_id, template_column, params, to, id)
    if default_region is not None:
        default_region = check_region(default_region)
    cols = [params] if isinstance(params, str) else list(params)
    catalog = load_templates(templates) if isinstance(templates, (str, os.PathLike)) else templates
    index = recipients.index
    n = len(recipients)

    # every column as codes into its distinct values; combinations of (template, params) likewise
    cells = recipients.attrs.get(NUMERIC_CELLS)
    numeric = cells.get(to, frozenset()) if isinstance(cells, Mapping) else frozenset()
    phone, e164_u, region_u, phone_problem_u = normalize_codes(
        recipients[to], default_region=default_region, numeric=numeric
    )
    if template_column is None:
        tcodes, tvalues = np.zeros(n, dtype=np.intp), np.array([str(template_id)], dtype=object)
    else:
        tcodes, tvalues = _str_codes(recipients[template_column], strip=True)
    pcodes, pvalues = [], []
    for c in cols:
        codes, values = _str_codes(recipients[c])
        pcodes.append(codes)
        pvalues.append(values)
    combo = _combine(tcodes, pcodes)
    first = _first_positions(combo)
    u = _check_combos(tvalues, tcodes[first], pvalues, [c[first] for c in pcodes], catalog, signature)
    del pcodes

    # per row: a code into PLAN_STATES
    phone_ok = (phone_problem_u == "")[phone]
    ok = phone_ok & (u["problem"] == "")[combo]
    state = np.where(ok, _READY, _INVALID).astype(np.int8)
    problem = np.where(phone_ok, u["problem"][combo], phone_problem_u[phone])
    blocked = _opt_out_set(opt_out, default_region)
    if blocked:
        opted = phone_ok & np.fromiter(map(blocked.__contains__, e164_u), dtype=bool, count=len(e164_u))[phone]
        state[opted] = _SUPPRESSED
        problem[opted] = "opted out"
    if held_out is not None:
        held = np.asarray(held_out, dtype=bool)
        if held.shape != (n,):
            raise DataValidationError(f"held_out has {held.size} values for {n} rows", advice="give one per row")
        state[held] = _HELD_OUT
        problem[held] = "experiment holdout: never sent"

    ready = np.flatnonzero(state == _READY)
    number = pd.factorize(e164_u)[0][phone[ready]].astype(np.int64)  # equal E.164 from different spellings
    key = number if dedupe == "number" else number * (len(first) + 1) + combo[ready]
    dup_key = pd.factorize(key)[0]
    first_of_key = _first_positions(dup_key)
    dup = first_of_key[dup_key] != np.arange(len(ready))
    if dup.any():
        names = recipients[id].to_numpy(dtype=object) if id is not None else index.to_numpy()
        labels = names[ready[first_of_key[dup_key[dup]]]].tolist()
        state[ready[dup]] = _SUPPRESSED
        problem[ready[dup]] = [f"duplicate of row {label!r}" for label in labels]
        ready = ready[~dup]
    n_duplicates = int(dup.sum())
    del key, dup_key, first_of_key, number

    repeats = _repeats_frame([], [], [])
    if ledger is not None and not allow_repeat and len(ready):
        found = find_repeats(
            pd.Series(e164_u[phone[ready]], index=ready),
            pd.Series(tvalues[tcodes[ready]], index=ready),
            ledger,
            now=now,
            window=window,
        )
        own = campaign_id or campaign_name(recipients.attrs.get(SOURCE), template_id or template_column)
        found = found[found["campaign_id"] != own]  # this campaign's own sends: a re-run resumes them
        hit = found.index.to_numpy(dtype=np.int64)
        state[hit] = _SUPPRESSED
        problem[hit] = found["problem"].to_numpy(dtype=object)
        ready = np.setdiff1d(ready, hit, assume_unique=True)
        repeats = _repeats_frame(index[hit], found["campaign_id"], found["sent_at"])

    order, bounds, item_request, item_api = _group_calls(ready, combo, u["group"])
    request_no = np.full(n, -1, dtype=np.int64)
    item_no = np.full(n, -1, dtype=np.int64)
    item_of = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    item_no[order] = item_of
    request_no[order] = item_request[item_of]
    del item_of

    rows = pd.DataFrame(
        {
            "to": pd.Series(e164_u[phone], index=index, dtype="str"),
            "region": pd.Series(region_u[phone], index=index, dtype="str"),
            "template_id": pd.Series(tvalues[tcodes], index=index, dtype="str"),
            "params": pd.Series(u["params"][combo], index=index, dtype=object),
            "signature": pd.Series(u["signature"][combo], index=index, dtype="str"),
            "text": pd.Series(u["text"][combo], index=index, dtype="str"),
            "encoding": pd.Series(pd.Categorical.from_codes(u["encoding"][combo], dtype=_ENC_DTYPE), index=index),
            "segments": pd.Series(pd.arrays.IntegerArray(u["segments"][combo], u["segments"][combo] < 0), index=index),
            "state": pd.Series(pd.Categorical.from_codes(state, dtype=PLAN_DTYPE), index=index),
            "problem": pd.Series(problem, index=index, dtype="str"),
            "request_no": pd.Series(pd.arrays.IntegerArray(request_no, request_no < 0), index=index),
            "item_no": pd.Series(pd.arrays.IntegerArray(item_no, item_no < 0), index=index),
        },
        index=index,
        copy=False,
    )
    if id is not None:
        rows.insert(0, id, recipients[id])
    source = recipients.attrs.get(SOURCE)
    return CampaignPlan(
        recipients=rows,
        sender=sender,
        signature=signature,
        skip_invalid=skip_invalid,
        dedupe=dedupe,
        allow_repeat=allow_repeat,
        repeat_window=window,
        source=source if isinstance(source, str) else None,
        template_id=None if template_id is None else str(template_id),
        template_column=template_column,
        repeats=repeats,
        n_duplicates=n_duplicates,
        id_column=id,
        _order=order,
        _item_bounds=bounds,
        _item_request=item_request,
        _item_api=item_api,
    )


def campaign_name(source: str | None, template: str | None) -> str | None:
    """The default campaign id: ``<file stem>.<template id or template column>`` (``spring.csv`` with
    template ``8ff55eac…`` → ``spring.8ff55eac…``), characters outside ``A-Za-z0-9_.-`` as ``_``, at most 64
    characters; None without a file."""
    if not source:
        return None
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{Path(source).stem}.{template or 'template'}")[:64]


def find_repeats(
    to: pd.Series,
    template_id: pd.Series,
    ledger: Ledger | str | os.PathLike[str],
    *,
    now: datetime | pd.Timestamp | str | None = None,
    window: pd.Timedelta | str = REPEAT_WINDOW,
) -> pd.DataFrame:
    """The rows whose number ``ledger`` shows accepted for the same template within ``window`` before ``now``.

    ``to`` (E.164) and ``template_id`` are aligned Series; the result is on their index (only the rows
    found): campaign_id, sent_at (UTC), problem (the reason a plan gives). A path that does not exist
    yet is an empty history (nothing is created).
    """
    clock = pd.Timestamp(now if now is not None else datetime.now(UTC))
    clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
    span = pd.Timedelta(window)
    empty = pd.DataFrame({"campaign_id": pd.Series(dtype="str"), "sent_at": pd.Series(dtype="datetime64[ns, UTC]")})
    if isinstance(ledger, Ledger):
        found = ledger.contacts(to.tolist(), template_id.tolist(), since=(clock - span).to_pydatetime())
    elif Path(ledger).is_file():
        with Ledger(ledger, read_only=True) as book:
            found = book.contacts(to.tolist(), template_id.tolist(), since=(clock - span).to_pydatetime())
    else:
        found = empty.assign(to=pd.Series(dtype="str"), template_id=pd.Series(dtype="str"))
    rows = pd.DataFrame({"to": to.to_numpy(dtype=object), "template_id": template_id.to_numpy(dtype=object)})
    rows["_label"] = np.arange(len(rows))
    hits = rows.merge(found, on=["to", "template_id"], how="inner").sort_values("_label")
    hours = span.total_seconds() / 3600
    problem = [
        f"repeat: this number was accepted for this template in campaign {cid!r} at "
        f"{at:%Y-%m-%d %H:%M} UTC, within the {hours:g} h repeat window (allow_repeat=True sends anyway)"
        for cid, at in zip(hits["campaign_id"], hits["sent_at"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "campaign_id": hits["campaign_id"].to_numpy(dtype=object),
            "sent_at": hits["sent_at"].to_numpy(),
            "problem": problem,
        },
        index=to.index[hits["_label"].to_numpy(dtype=np.int64)],
    )
    out["sent_at"] = pd.to_datetime(out["sent_at"], utc=True)
    return out


def _repeats_frame(index: Any, campaign_id: Any, sent_at: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_id": pd.Series(list(campaign_id), dtype="str"),
            "sent_at": pd.to_datetime(pd.Series(list(sent_at), dtype=object), utc=True),
        }
    ).set_axis(pd.Index(list(index)))


def _check_arguments(
    frame: pd.DataFrame, template_id: str | None, template_column: str | None, params: Any, to: str, id: str | None
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"recipients must be a DataFrame, got {type(frame).__name__}", advice="use smskit.read_recipients"
        )
    if (template_id is None) == (template_column is None):
        raise DataValidationError(
            "give exactly one of template_id= and template_column=",
            advice="template_id for one template, template_column for a template per row",
        )
    cols = [params] if isinstance(params, str) else list(params)
    wanted = [to, *cols] + ([template_column] if template_column else []) + ([id] if id is not None else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"recipients have no column(s) {missing}; they have {list(frame.columns)}",
            advice="pass to=, params=, template_column= and id= with existing column names",
        )
    if id is not None and id in _RESERVED:
        raise DataValidationError(
            f"the id column {id!r} has the name of a column smskit adds to the plan or the results",
            advice=f"rename it; these names are taken: {sorted(_RESERVED)}",
        )
    if len(cols) > MAX_VARIABLES:
        raise DataValidationError(
            f"{len(cols)} params columns given; a template has at most {MAX_VARIABLES} variables",
            advice="pass one column per template variable",
        )
    if not frame.index.is_unique:
        raise DataValidationError(
            "the recipients' index has duplicate labels, so results could not be mapped back to rows",
            advice="call recipients.reset_index(drop=True) first",
        )


def _as_str(col: pd.Series) -> pd.Series:
    """Values as ``str``; NA → ""."""
    if str(col.dtype) == "str":
        return col.fillna("")
    return col.astype(object).where(col.notna(), "").astype(str)


def _str_codes(col: pd.Series, *, strip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, values)``: the column as ``str`` (NA → "", like ``_as_str``) by distinct value;
    ``values[codes]`` is the column."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    text = _as_str(pd.Series(uniques, dtype=col.dtype)).to_numpy(dtype=object)
    if strip:
        text[:] = list(map(str.strip, text.tolist()))
    codes[codes < 0] = len(text)
    text = np.append(text, "")
    if str(col.dtype) == "str" and not strip:  # already distinct, but NA's "" may be there too
        empty = np.flatnonzero(text[:-1] == "")
        if len(empty):
            codes[codes == len(text) - 1] = empty[0]
        return codes, text
    remap, values = pd.factorize(text)  # distinct values may be equal as text (1 and "1", " a" and "a")
    return remap[codes], np.asarray(values, dtype=object)


def _combine(first: np.ndarray, others: Sequence[np.ndarray]) -> np.ndarray:
    """Codes of the distinct tuples ``(first[i], *others[:][i])``, numbered by first appearance."""
    key = first.astype(np.int64)
    for codes in others:
        key = pd.factorize(key)[0].astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes
    return pd.factorize(key)[0].astype(np.int64)


def _first_positions(codes: np.ndarray) -> np.ndarray:
    """Position of each code's first row, for codes numbered by first appearance (as factorize does)."""
    if not len(codes):
        return np.empty(0, dtype=np.int64)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return np.flatnonzero(new)


def _tuples(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Object array of ``n`` tuples, the i-th holding ``columns[:][i]``."""
    if not columns:
        out = np.empty(n, dtype=object)
        out[:] = [()] * n
        return out
    with _gc_paused():
        return np.fromiter(zip(*columns, strict=True), dtype=object, count=n)


class _Column(DistinctValues):
    """A params column's distinct values; validation (inherited) and text statistics computed once."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__(values)
        self._stats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._stats is None:
            self._stats = text_stats(self.values.tolist())
        return self._stats

    @property
    def lengths(self) -> np.ndarray:
        return self.stats[1]  # the values are all text: their lengths are the statistics' chars


def _check_combos(
    tvalues: np.ndarray,
    tcodes: np.ndarray,
    pvalues: Sequence[np.ndarray],
    pcodes: Sequence[np.ndarray],
    catalog: Mapping[str, Template] | None,
    signature: str | None,
) -> dict[str, np.ndarray]:
    """Validate and render each distinct (template, params) once; arrays aligned with ``tcodes``."""
    m, n_cols = len(tcodes), len(pvalues)
    problem = np.full(m, "", dtype=object)
    text = np.full(m, None, dtype=object)
    sig = np.full(m, None, dtype=object)
    params = np.empty(m, dtype=object)
    enc = np.full(m, -1, dtype=np.int8)
    segs = np.full(m, -1, dtype=np.int64)  # -1: not rendered (NA)
    columns = [_Column(v) for v in pvalues]
    by_template = np.argsort(tcodes, kind="stable")
    edges = np.flatnonzero(np.r_[True, np.diff(tcodes[by_template]) != 0, True]) if m else np.zeros(1, np.int64)
    for a, b in itertools.pairwise(edges.tolist()):
        pos = by_template[a:b]
        tid = str(tvalues[tcodes[pos[0]]])
        template = catalog.get(tid) if catalog is not None else None
        k = min(len(template.variables), n_cols) if template is not None else n_cols
        codes = [pcodes[j][pos] for j in range(k)]
        values = [pvalues[j][codes[j]] for j in range(k)]
        params[pos] = _tuples(values, len(pos))
        if catalog is None:
            problem[pos] = _generic_problems(tid, len(pos), columns[:k], codes)
            sig[pos] = signature
            continue
        if template is None:
            problem[pos] = f"unknown template_id {tid!r}: not in the template catalog"
            continue
        if len(template.variables) > n_cols:
            k = len(template.variables)
            problem[pos] = f"template {tid} has {k} variable(s) but only {n_cols} params column(s) were given"
            continue
        problem[pos] = param_problems(
            template, [(columns[j], codes[j]) for j in range(k)], n=len(pos), signature=signature
        )
        fixed = fixed_text(template, signature)
        f_gsm, f_chars, f_ext, f_astral = (x[0] for x in text_stats([fixed]))
        gsm = np.full(len(pos), bool(f_gsm))
        chars = np.full(len(pos), int(f_chars), dtype=np.int64)
        ext = np.full(len(pos), int(f_ext), dtype=np.int64)
        astral = np.full(len(pos), int(f_astral), dtype=np.int64)
        for j in range(k):
            v_gsm, v_chars, v_ext, v_astral = columns[j].stats
            c = codes[j]
            gsm &= v_gsm[c]
            chars += v_chars[c]
            ext += v_ext[c]
            astral += v_astral[c]
        rendered = render_columns(template, values, len(pos), signature)
        text[pos] = rendered
        enc[pos] = np.where(gsm, 0, 1)
        segs[pos] = segments_from_stats(rendered, gsm, chars, ext, astral)
        if template.region == "mainland":
            sig[pos] = signature or template.signature
    return {
        "problem": problem,
        "text": text,
        "signature": sig,
        "params": params,
        "encoding": enc,
        "segments": segs,
        "group": pd.factorize(tcodes)[0],  # the signature follows from the template
    }


def _generic_problems(tid: str, n: int, columns: Sequence[_Column], codes: Sequence[np.ndarray]) -> np.ndarray:
    out = np.full(n, "", dtype=object)
    if not tid or len(tid) > MAX_TEMPLATE_ID_CHARS:
        out[:] = f"template_id must be 1–{MAX_TEMPLATE_ID_CHARS} chars, got {tid!r}"
        return out
    for j, (col, c) in enumerate(zip(columns, codes, strict=True)):
        out[col.empty[c] & (out == "")] = f"param {j + 1} is empty"
    return out


def _hash_strings(digest: Any, values: list[str]) -> None:
    """Feed ``values`` to ``digest`` unambiguously: their lengths, then their text."""
    digest.update(np.fromiter(map(len, values), dtype="<i8", count=len(values)).tobytes())
    digest.update("".join(values).encode("utf-8", "surrogatepass"))


def _opt_out_set(opt_out: Any, default_region: str | None) -> set[str]:
    if opt_out is None:
        return set()
    if isinstance(opt_out, (str, os.PathLike)):
        from smskit.campaign.recipients import read_recipients

        opt_out = read_recipients(opt_out)
    if isinstance(opt_out, pd.DataFrame):
        if "phone" not in opt_out.columns:
            raise DataValidationError(
                f"the opt-out list has no 'phone' column; it has {list(opt_out.columns)}",
                advice="name the column of opted-out numbers 'phone'",
            )
        opt_out = opt_out["phone"]
    values = pd.Series(list(opt_out) if not isinstance(opt_out, pd.Series) else opt_out, dtype=object)
    _, e164, _, _ = normalize_codes(values, default_region=default_region)
    return {x for x in e164.tolist() if x is not None}


def _group_calls(
    ready: np.ndarray, combo: np.ndarray, group_of_combo: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ready row positions → (send order, item bounds into it, request per item, api code per item).

    Rows are ordered by group (template and signature), then combination, then input order; items are
    then ordered by request.
    """
    empty = np.empty(0, np.int64)
    if len(ready) == 0:
        return empty, np.zeros(1, np.int64), empty, np.empty(0, np.int8)
    c = combo[ready]
    g = group_of_combo[c]
    by = np.lexsort((c, g))  # stable: input order within a combination
    order, c, g = ready[by], c[by], g[by]
    run = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # one run per combination
    rank = np.arange(len(order)) - np.repeat(run, np.diff(np.r_[run, len(order)]))
    starts = np.flatnonzero(rank % MAX_NUMBERS_PER_ITEM == 0)
    bounds = np.append(starts, len(order)).astype(np.int64)
    sizes = np.diff(bounds)
    combos_per_group = np.bincount(g[run])
    single = combos_per_group[g[starts]] == 1
    api = np.where(single, 0, 1).astype(np.int8)

    request = np.empty(len(starts), dtype=np.int64)
    single_pos = np.flatnonzero(single)
    request[single_pos] = np.arange(len(single_pos))
    diff_pos = np.flatnonzero(~single)
    request[diff_pos] = len(single_pos) + _pack(sizes[diff_pos])
    if (np.diff(request) < 0).any():  # send items request by request
        items = np.argsort(request, kind="stable")
        row_items = np.repeat(np.argsort(items), sizes)
        order = order[np.argsort(row_items, kind="stable")]
        sizes, request, api = sizes[items], request[items], api[items]
        bounds = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    return order, bounds, request, api


def _split_lists(values: list[Any], bounds: np.ndarray) -> list[list[Any]]:
    """``values`` cut at ``bounds`` into Python lists (one per item)."""
    return [values[a:b] for a, b in itertools.pairwise(bounds.tolist())]


def _pack(sizes: np.ndarray) -> np.ndarray:
    """Next-fit packing of items (in order) into calls of ≤ 100 items and ≤ 500 numbers.

    A call starting at item ``s`` ends before the first item that would break a limit; the jump is
    computed for every item at once, and followed once per call.
    """
    m = len(sizes)
    if m == 0:
        return np.empty(0, dtype=np.int64)
    before = np.r_[0, np.cumsum(sizes)]  # numbers before item i
    fits = np.searchsorted(before, before[:-1] + MAX_NUMBERS_PER_CALL, side="right") - 1
    nxt = np.minimum(np.arange(m) + MAX_ITEMS_PER_CALL, np.maximum(fits, np.arange(m) + 1)).tolist()
    call_starts = [0]
    while (s := nxt[call_starts[-1]]) < m:
        call_starts.append(s)
    out = np.zeros(m, dtype=np.int64)
    out[call_starts[1:]] = 1
    return np.cumsum(out)
