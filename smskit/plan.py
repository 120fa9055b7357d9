"""Pure, vectorized campaign planning: recipients frame → what will be sent, in which API calls.

:func:`plan_campaign` normalizes numbers, validates params against the template catalog (each distinct
``(template, params)`` combination once), suppresses opt-outs and exact duplicates, and groups the ready
rows into the fewest calls:

* all ready rows of a template (and signature) share one params tuple → ``batchSendSms`` calls of
  ≤ 500 numbers;
* otherwise ``batchSendDiffSms``: one item per distinct ``(template, params, signature)`` (≤ 500
  numbers each), packed in order into calls of ≤ 100 items **and ≤ 500 numbers in total** (the platform's
  per-call maximum is undocumented; 500 keeps every call the size of a ``batchSendSms`` call, which is
  what pacing counts). Items of different templates share calls.

A plan with invalid rows is returned for inspection but is not sendable: ``send_campaign`` calls
:meth:`CampaignPlan.raise_if_invalid` unless the plan was made with ``skip_invalid=True``.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from smskit.errors import DataValidationError
from smskit.numbers import normalize_numbers
from smskit.templates import (
    MAX_TEMPLATE_ID_CHARS,
    MAX_VARIABLES,
    Template,
    encoding_series,
    invalid_params_mask,
    load_templates,
    render_series,
    segments_series,
    validate_params,
)

__all__ = [
    "MAX_ITEMS_PER_CALL",
    "MAX_NUMBERS_PER_CALL",
    "MAX_NUMBERS_PER_ITEM",
    "STATES",
    "CampaignPlan",
    "plan_campaign",
]

MAX_NUMBERS_PER_ITEM = 500
MAX_NUMBERS_PER_CALL = 500
MAX_ITEMS_PER_CALL = 100
STATES = ("ready", "invalid", "suppressed")
_STATE_DTYPE = pd.CategoricalDtype(list(STATES))
_ENC_DTYPE = pd.CategoricalDtype(["GSM-7", "UCS-2"])
_SEP = "\x1f"


@dataclass(frozen=True, eq=False, repr=False)
class CampaignPlan:
    """What a campaign will send; pure data (see the module docstring).

    ``recipients`` has one row per input row (input index): to, region, template_id, params,
    signature, text, encoding, segments, state, problem, request_no, item_no. ``items`` has one row
    per API item (to, rows = input index labels, template_id, params, signature); ``requests`` one
    row per API call.
    """

    recipients: pd.DataFrame
    sender: str | None = None
    signature: str | None = None
    skip_invalid: bool = False
    _order: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # ready rows, send order
    _item_bounds: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    _item_request: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    _item_api: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    _combo_key: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # per row, canonical

    # ------------------------------------------------------------------ derived views

    @property
    def sendable(self) -> bool:
        """False while invalid rows remain and the plan was not made with ``skip_invalid=True``."""
        return self.skip_invalid or not (self.recipients["state"] == "invalid").any()

    @cached_property
    def problems(self) -> pd.DataFrame:
        """The rows that will not be sent (input index): to, template_id, state, problem."""
        rec = self.recipients
        return rec.loc[rec["state"] != "ready", ["to", "template_id", "state", "problem"]]

    @cached_property
    def items(self) -> pd.DataFrame:
        """One row per API item, in send order: request_no, item_no, api, template_id, signature, params,
        n_numbers, segments, to (list of E.164), rows (list of input index labels), positions."""
        rec = self.recipients
        order, bounds = self._order, self._item_bounds
        starts = bounds[:-1]
        to_sorted = rec["to"].to_numpy(dtype=object)[order]
        labels_sorted = rec.index.to_numpy()[order]
        segs = rec["segments"].to_numpy(dtype=np.float64, na_value=0)[order]
        first = order[starts] if len(starts) else np.empty(0, dtype=np.int64)
        return pd.DataFrame(
            {
                "request_no": self._item_request,
                "item_no": np.arange(len(starts), dtype=np.int64),
                "api": pd.Categorical(self._item_api, categories=["batchSendSms", "batchSendDiffSms"]),
                "template_id": rec["template_id"].to_numpy(dtype=object)[first],
                "signature": rec["signature"].to_numpy(dtype=object)[first],
                "params": rec["params"].to_numpy(dtype=object)[first],
                "n_numbers": np.diff(bounds),
                "segments": np.add.reduceat(segs, starts).astype(np.int64) if len(starts) else [],
                "to": _split_lists(to_sorted, bounds),
                "rows": _split_lists(labels_sorted, bounds),
                "positions": _split_lists(order, bounds),
            }
        )

    @cached_property
    def requests(self) -> pd.DataFrame:
        """One row per API call: request_no, api, n_numbers, n_items, segments, template_ids, rows."""
        items = self.items
        if items.empty:
            cols = ["request_no", "api", "n_numbers", "n_items", "segments", "template_ids", "rows"]
            return pd.DataFrame(columns=cols)
        g = items.groupby("request_no", sort=True, observed=True)
        out = g.agg(
            api=("api", "first"),
            n_numbers=("n_numbers", "sum"),
            n_items=("item_no", "size"),
            segments=("segments", "sum"),
            template_ids=("template_id", lambda s: tuple(dict.fromkeys(s))),
        )
        out["rows"] = g["rows"].agg(lambda s: [label for labels in s for label in labels])
        return out.reset_index()

    @cached_property
    def summary(self) -> dict[str, Any]:
        """Counts by state, numbers, segments, calls, and segments by region/encoding (cost inputs)."""
        rec = self.recipients
        ready = rec[rec["state"] == "ready"]
        counts = rec["state"].value_counts().reindex(list(STATES), fill_value=0)
        by = ready.groupby(["region", "encoding"], observed=True)["segments"].sum()
        api = pd.Series(self._item_api).groupby(self._item_request).first().value_counts()
        return {
            "rows": len(rec),
            **{str(k): int(v) for k, v in counts.items()},
            "segments": int(ready["segments"].sum()),
            "requests": len(np.unique(self._item_request)),
            "batchSendSms": int(api.get("batchSendSms", 0)),
            "batchSendDiffSms": int(api.get("batchSendDiffSms", 0)),
            "segments_by": {" ".join(map(str, key)): int(v) for key, v in by.items()},  # type: ignore[call-overload]
            "sendable": self.sendable,
        }

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over sender and every (call, item, number, template, signature, params) to be sent."""
        rec = self.recipients
        order = self._order
        item_of = np.repeat(np.arange(len(self._item_bounds) - 1), np.diff(self._item_bounds))
        combo = self._combo_key
        lines = (
            pd.Series(self._item_request[item_of].astype(str), dtype=object)
            + _SEP
            + pd.Series(item_of.astype(str), dtype=object)
            + _SEP
            + pd.Series(rec["to"].to_numpy(dtype=object)[order], dtype=object)
            + _SEP
            + pd.Series(combo[order], dtype=object)
        )
        digest = hashlib.sha256(f"smskit-plan-v1{_SEP}{self.sender or ''}\n".encode())
        digest.update("\n".join(lines.tolist()).encode())
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
            rows=bad[["to", "template_id", "params", "problem"]],
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
        head = "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(str(s[k]))}</td></tr>"
            for k in ("rows", "ready", "invalid", "suppressed", "segments", "requests", "sendable")
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
        ISO region for numbers written without ``+country code``.
    opt_out
        Numbers never to send to: a set/list/Series, a frame or CSV path with a ``phone`` column.
    skip_invalid
        Make the plan sendable although some rows are invalid (they are skipped).
    """
    _check_arguments(recipients, template_id, template_column, params, to)
    cols = [params] if isinstance(params, str) else list(params)
    catalog = load_templates(templates) if isinstance(templates, (str, os.PathLike)) else templates
    index = recipients.index
    n = len(recipients)

    numbers = normalize_numbers(recipients[to], default_region=default_region)
    if template_column is None:
        tids = np.full(n, str(template_id), dtype=object)
    else:
        tids = _as_str(recipients[template_column]).str.strip().to_numpy(dtype=object)
    pframe = pd.DataFrame({j: _as_str(recipients[c]).to_numpy(dtype=object) for j, c in enumerate(cols)})

    # each distinct (template, params) once
    key = tids.copy()
    for j in range(len(cols)):
        key = key + _SEP + pframe[j].to_numpy(dtype=object)
    combo = pd.factorize(key)[0]
    first = np.unique(combo, return_index=True)[1] if n else np.empty(0, dtype=np.int64)
    u = _check_combos(tids[first], pframe.iloc[first].reset_index(drop=True), catalog, signature, len(cols))
    # canonical text of what a combination sends (params must not contain \x1f, the separator)
    u["key"] = pd.Series(u["signature"], dtype=object).fillna("").to_numpy(dtype=object) + _SEP + key[first]

    # per row
    e164 = numbers["e164"]
    problem = numbers["problem"].to_numpy(dtype=object).copy()
    phone_ok = problem == ""
    problem[phone_ok] = u["problem"][combo[phone_ok]]
    state = np.where(problem == "", "ready", "invalid").astype(object)

    blocked = _opt_out_set(opt_out, default_region)
    if blocked:
        opted = phone_ok & e164.isin(blocked).to_numpy(dtype=bool)
        state[opted] = "suppressed"
        problem[opted] = "opted out"

    ready = np.flatnonzero(state == "ready")
    phone_code = pd.factorize(e164.to_numpy(dtype=object)[ready])[0].astype(np.int64)
    dup_key = pd.Series(phone_code * (len(first) + 1) + combo[ready])
    dup = dup_key.duplicated().to_numpy()
    if dup.any():
        first_pos = pd.Series(ready).groupby(dup_key.to_numpy()).transform("first").to_numpy()
        labels = index.to_numpy()[first_pos[dup]].tolist()
        state[ready[dup]] = "suppressed"
        problem[ready[dup]] = [f"duplicate of row {label!r}" for label in labels]
        ready = ready[~dup]

    rows = pd.DataFrame(
        {
            "to": e164,
            "region": numbers["region"],
            "template_id": pd.Series(tids, index=index, dtype="str"),
            "params": pd.Series(u["params"][combo] if n else [], index=index, dtype=object),
            "signature": pd.Series(u["signature"][combo] if n else [], index=index, dtype="str"),
            "text": pd.Series(u["text"][combo] if n else [], index=index, dtype="str"),
            "encoding": pd.Series(pd.Categorical(u["encoding"][combo] if n else [], dtype=_ENC_DTYPE), index=index),
            "segments": pd.Series(u["segments"][combo] if n else [], index=index, dtype="Int64"),
            "state": pd.Series(pd.Categorical(state, dtype=_STATE_DTYPE), index=index),
            "problem": pd.Series(problem, index=index, dtype="str"),
        },
        index=index,
    )

    order, bounds, item_request, item_api = _group_calls(ready, combo, u["group"])
    request_no = np.full(n, -1, dtype=np.int64)
    item_no = np.full(n, -1, dtype=np.int64)
    item_of = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    item_no[order] = item_of
    request_no[order] = item_request[item_of]
    rows["request_no"] = pd.Series(request_no, index=index).where(request_no >= 0).astype("Int64")
    rows["item_no"] = pd.Series(item_no, index=index).where(item_no >= 0).astype("Int64")
    return CampaignPlan(
        recipients=rows,
        sender=sender,
        signature=signature,
        skip_invalid=skip_invalid,
        _order=order,
        _item_bounds=bounds,
        _item_request=item_request,
        _item_api=item_api,
        _combo_key=u["key"][combo] if n else np.empty(0, dtype=object),
    )


def _check_arguments(
    frame: pd.DataFrame, template_id: str | None, template_column: str | None, params: Any, to: str
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
    wanted = [to, *cols] + ([template_column] if template_column else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"recipients have no column(s) {missing}; they have {list(frame.columns)}",
            advice="pass to=, params= and template_column= with existing column names",
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


def _check_combos(
    tids: np.ndarray,
    pframe: pd.DataFrame,
    catalog: Mapping[str, Template] | None,
    signature: str | None,
    n_cols: int,
) -> dict[str, np.ndarray]:
    """Validate and render each distinct (template, params) once; arrays aligned with ``tids``."""
    m = len(tids)
    problem = np.full(m, "", dtype=object)
    text = np.full(m, None, dtype=object)
    sig = np.full(m, None, dtype=object)
    params = np.empty(m, dtype=object)
    enc = np.full(m, None, dtype=object)
    segs = np.full(m, None, dtype=object)
    for tid, labels in pd.Series(np.arange(m)).groupby(tids, sort=False).groups.items():
        pos = np.asarray(labels, dtype=np.int64)
        template = catalog.get(str(tid)) if catalog is not None else None
        k = len(template.variables) if template is not None else n_cols
        sub = pframe.iloc[pos, :k]
        params[pos] = _tuples(sub, len(pos))
        if catalog is None:
            problem[pos] = _generic_problems(str(tid), sub)
            sig[pos] = signature
            continue
        if template is None:
            problem[pos] = f"unknown template_id {tid!r}: not in the template catalog"
            continue
        if k > n_cols:
            problem[pos] = f"template {tid} has {k} variable(s) but only {n_cols} params column(s) were given"
            continue
        bad = invalid_params_mask(template, sub, signature=signature).to_numpy()
        for i in np.flatnonzero(bad):
            values: tuple[str, ...] = params[pos[i]]
            problem[pos[i]] = "; ".join(validate_params(template, values, signature=signature))
        rendered = render_series(template, sub, signature=signature)
        encodings = encoding_series(rendered)
        text[pos] = rendered.to_numpy(dtype=object)
        enc[pos] = encodings.astype(object).to_numpy()
        segs[pos] = segments_series(rendered, encodings=encodings).to_numpy(dtype=object)
        if template.region == "mainland":
            sig[pos] = signature or template.signature
    group = pd.factorize(pd.Series(tids, dtype=object) + _SEP + pd.Series(sig, dtype=object).fillna(""))[0]
    return {
        "problem": problem,
        "text": text,
        "signature": sig,
        "params": params,
        "encoding": enc,
        "segments": segs,
        "group": group,
    }


def _tuples(frame: pd.DataFrame, n: int) -> np.ndarray:
    columns = [frame.iloc[:, j].to_numpy(dtype=object) for j in range(frame.shape[1])]
    rows = zip(*columns, strict=True) if columns else iter([()] * n)
    return np.fromiter(rows, dtype=object, count=n)


def _generic_problems(tid: str, sub: pd.DataFrame) -> np.ndarray:
    out = np.full(len(sub), "", dtype=object)
    if not tid or len(tid) > MAX_TEMPLATE_ID_CHARS:
        out[:] = f"template_id must be 1–{MAX_TEMPLATE_ID_CHARS} chars, got {tid!r}"
        return out
    for j in range(sub.shape[1]):
        empty = sub.iloc[:, j].astype(str).str.strip().eq("").to_numpy()
        out[empty & (out == "")] = f"param {j + 1} is empty"
    return out


def _opt_out_set(opt_out: Any, default_region: str | None) -> set[str]:
    if opt_out is None:
        return set()
    if isinstance(opt_out, (str, os.PathLike)):
        from smskit.recipients import read_recipients

        opt_out = read_recipients(opt_out)
    if isinstance(opt_out, pd.DataFrame):
        if "phone" not in opt_out.columns:
            raise DataValidationError(
                f"the opt-out list has no 'phone' column; it has {list(opt_out.columns)}",
                advice="name the column of opted-out numbers 'phone'",
            )
        opt_out = opt_out["phone"]
    values = pd.Series(list(opt_out) if not isinstance(opt_out, pd.Series) else opt_out, dtype=object)
    normalized = normalize_numbers(values, default_region=default_region)["e164"]
    return set(normalized.dropna())


def _group_calls(
    ready: np.ndarray, combo: np.ndarray, group_of_combo: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ready row positions → (send order, item bounds into it, request per item, api per item)."""
    if len(ready) == 0:
        return np.empty(0, np.int64), np.zeros(1, np.int64), np.empty(0, np.int64), np.empty(0, object)
    c = combo[ready]
    g = group_of_combo[c]
    order_idx = np.lexsort((ready, c, g))
    order = ready[order_idx]
    c, g = c[order_idx], g[order_idx]
    rank = pd.Series(c).groupby(c).cumcount().to_numpy()
    chunk = rank // MAX_NUMBERS_PER_ITEM
    new_item = np.ones(len(order), dtype=bool)
    new_item[1:] = (c[1:] != c[:-1]) | (chunk[1:] != chunk[:-1])
    starts = np.flatnonzero(new_item)
    bounds = np.append(starts, len(order)).astype(np.int64)
    sizes = np.diff(bounds)
    item_group = g[starts]
    combos_per_group = pd.Series(c).groupby(g).nunique()
    single = combos_per_group.reindex(item_group).to_numpy() == 1
    api = np.where(single, "batchSendSms", "batchSendDiffSms").astype(object)

    request = np.empty(len(starts), dtype=np.int64)
    single_pos = np.flatnonzero(single)
    request[single_pos] = np.arange(len(single_pos))
    diff_pos = np.flatnonzero(~single)
    request[diff_pos] = len(single_pos) + _pack(sizes[diff_pos])
    return order, bounds, request, api


def _split_lists(values: np.ndarray, bounds: np.ndarray) -> list[list[Any]]:
    """``values`` cut at ``bounds`` into Python lists (one per item)."""
    if len(bounds) < 2:
        return []
    flat = values.tolist()
    edges = bounds.tolist()
    return [flat[a:b] for a, b in itertools.pairwise(edges)]


def _pack(sizes: np.ndarray) -> np.ndarray:
    """Next-fit packing of items (in order) into calls of ≤ 100 items and ≤ 500 numbers."""
    if len(sizes) and (sizes == 1).all():
        return np.arange(len(sizes)) // MAX_ITEMS_PER_CALL
    out = np.empty(len(sizes), dtype=np.int64)
    call, items, numbers = 0, 0, 0
    for i, size in enumerate(sizes.tolist()):
        if items and (items == MAX_ITEMS_PER_CALL or numbers + size > MAX_NUMBERS_PER_CALL):
            call, items, numbers = call + 1, 0, 0
        out[i] = call
        items += 1
        numbers += size
    return out
