"""Template parameter validation: every variable's rule, the verification-code length, the signature and
the 500-character limit, defined once.

:func:`param_problems` is the one definition. It works on distinct values: each column of params is
given as its distinct values plus one code per row, a value is judged once per variable rule, and
only the rows that fail get a message. :func:`validate_params` (one message), :func:`invalid_params_mask`
(a frame) and the campaign planner all call it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smskit.templates._regex import fullmatches
from smskit.templates.render import fixed_text, signature_for
from smskit.templates.variables import value_regex, value_rule

if TYPE_CHECKING:
    from smskit.templates.catalog import Template

__all__ = [
    "MAX_CONTENT_CHARS",
    "MAX_VERIFICATION_CHARS",
    "DistinctValues",
    "invalid_params_mask",
    "param_problems",
    "validate_params",
]

MAX_CONTENT_CHARS = 500


MAX_VERIFICATION_CHARS = 8


_SEP = "\x1f"  # joins two problems of one value before the "variable i ${NAME}: " prefix is known


class DistinctValues:
    """A params column's distinct values; what a variable rule says about each is computed once."""

    def __init__(self, values: np.ndarray | Sequence[Any]) -> None:
        self.values = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
        self._problems: dict[tuple[str, bool], np.ndarray] = {}
        self._lengths: np.ndarray | None = None
        self._is_str: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def is_str(self) -> np.ndarray:
        if self._is_str is None:
            n = len(self.values)
            if pd.api.types.infer_dtype(self.values, skipna=False) in ("string", "empty"):
                self._is_str = np.ones(n, dtype=bool)
            else:
                self._is_str = np.fromiter(map(isinstance, self.values, [str] * n), bool, n)
        return self._is_str

    @property
    def lengths(self) -> np.ndarray:
        """Characters of each value (0 for a value that is not ``str``)."""
        if self._lengths is None:
            values = self.values.tolist()
            try:
                self._lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
            except TypeError:
                self._lengths = np.array([len(v) if isinstance(v, str) else 0 for v in values], dtype=np.int64)
            if not self.is_str.all():
                self._lengths[~self.is_str] = 0
        return self._lengths

    @property
    def empty(self) -> np.ndarray:
        """Values no variable takes, whatever its rule: ``""`` and anything that is not text.

        (Blank stand-ins such as ``" "`` or ``"0"`` are values; whether they fit is the variable's rule.)
        """
        return ~self.is_str | (self.values == "")

    def problems(self, name: str, *, verification: bool = False) -> np.ndarray:
        """Per distinct value: why it cannot fill ``${name}`` ("" when it can), without the variable prefix."""
        key = (name, verification)
        if key not in self._problems:
            self._problems[key] = self._judge(name, verification)
        return self._problems[key]

    def _judge(self, name: str, verification: bool) -> np.ndarray:
        values = self.values.tolist()
        n = len(values)
        try:
            ok = fullmatches(value_regex(name), values)
        except TypeError:  # a value that is not text
            ok = np.zeros(n, dtype=bool)
            is_str = self.is_str
            ok[is_str] = fullmatches(value_regex(name), self.values[is_str].tolist())
        if verification:
            ok &= self.lengths <= MAX_VERIFICATION_CHARS
        out = np.full(n, "", dtype=object)
        if ok.all():
            return out
        rule = value_rule(name)
        for i in np.flatnonzero(~ok).tolist():
            value = values[i]
            if not isinstance(value, str):
                out[i] = f"params must be str, got {type(value).__name__}"
                continue
            blank = not value.strip(" .") if rule.dots_blank else not value.strip()
            if value == "" or (blank and not rule.blank_ok):
                out[i] = f"value is empty ({rule.empty_hint})"
                continue
            found = []
            if rule.compiled.fullmatch(value) is None:
                found.append(f"must be {rule.describe}, got {len(value)} chars")
            if verification and len(value) > MAX_VERIFICATION_CHARS:
                found.append(f"a verification code is at most {MAX_VERIFICATION_CHARS} chars")
            out[i] = _SEP.join(found)
        return out


_NEXT = "\x1e"  # between two problems of one message until the caller picks the separator


def _join(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Elementwise join of two object arrays of problem texts, skipping empty ones."""
    both = (left != "") & (right != "")
    out = np.where(left == "", right, left)
    if both.any():
        out[both] = left[both] + _NEXT + right[both]
    return out


def param_problems(
    template: Template,
    columns: Sequence[tuple[DistinctValues | np.ndarray | Sequence[Any], np.ndarray]],
    *,
    n: int | None = None,
    signature: str | None = None,
) -> np.ndarray:
    """Why each message cannot be sent with ``template``: object array of texts, "" where it can.

    ``columns[j] = (values, codes)``: the distinct values of the j-th param and, per message, the
    position of its value in them (``values[codes]`` is the column). ``n`` is the number of messages
    (needed only when there are no columns). Problems of one message are joined with ``"; "``.
    """
    out = _problems(template, columns, n=n, signature=signature)
    flagged = np.flatnonzero(out != "")
    out[flagged] = [t.replace(_NEXT, "; ") for t in out[flagged].tolist()]
    return out


def _problems(
    template: Template,
    columns: Sequence[tuple[DistinctValues | np.ndarray | Sequence[Any], np.ndarray]],
    *,
    n: int | None,
    signature: str | None,
) -> np.ndarray:
    n = len(columns[0][1]) if columns else (n or 0)
    out = np.full(n, "", dtype=object)
    variables = template.variables
    if len(columns) != len(variables):
        out[:] = f"template {template.template_id} has {len(variables)} variable(s), got {len(columns)} param(s)"
        return out
    verification = template.kind == "verification"
    bad = np.zeros(n, dtype=bool)
    total = np.full(n, len(fixed_text(template, signature)), dtype=np.int64)
    judged = []
    for name, (values, codes) in zip(variables, columns, strict=True):
        distinct = values if isinstance(values, DistinctValues) else DistinctValues(values)
        texts = distinct.problems(name, verification=verification)
        bad |= (texts != "")[codes]
        total += distinct.lengths[codes]
        judged.append((texts, codes))
    unsigned = template.region == "mainland" and not signature_for(template, signature)
    too_long = ~bad & (total > MAX_CONTENT_CHARS) if not unsigned else np.zeros(n, dtype=bool)
    rows = np.flatnonzero(bad | too_long) if not unsigned else np.arange(n)
    if not len(rows):
        return out
    message = np.full(len(rows), "", dtype=object)
    for i, (name, (texts, codes)) in enumerate(zip(variables, judged, strict=True), start=1):
        prefix = f"variable {i} ${{{name}}}: "
        failing = np.flatnonzero(texts != "")
        full = np.full(len(texts), "", dtype=object)
        full[failing] = [prefix + t.replace(_SEP, _NEXT + prefix) for t in texts[failing].tolist()]
        message = _join(message, full[codes[rows]])
    if unsigned:
        message = _join(message, np.full(len(rows), f"mainland template {template.template_id} needs a signature"))
    long_rows = too_long[rows]
    if long_rows.any():
        message[long_rows] = [
            f"message is {t} chars with its signature; the limit is {MAX_CONTENT_CHARS}" for t in total[rows][long_rows]
        ]
    out[rows] = message
    return out


def validate_params(template: Template, params: Sequence[str], *, signature: str | None = None) -> list[str]:
    """Problems with sending ``params`` to ``template`` (an empty list means fine).

    >>> validate_params(t, ["12345a"])  # ${NUM_6}
    ['variable 1 ${NUM_6}: must be 1–6 digits, got 6 chars']
    """
    one = np.zeros(1, dtype=np.intp)
    columns = [(DistinctValues(np.array([value], dtype=object)), one) for value in params]
    text = _problems(template, columns, n=1, signature=signature)[0]
    return text.split(_NEXT) if text else []


def invalid_params_mask(template: Template, params: pd.DataFrame, *, signature: str | None = None) -> pd.Series:
    """Vectorized ``bool(validate_params(...))`` over a frame whose columns are the params in order.

    Same index as ``params``; ``True`` where the row has a problem. Call ``validate_params`` on the
    (few) flagged rows for the messages.
    """
    columns = []
    for j in range(params.shape[1]):
        codes, uniques = pd.factorize(params.iloc[:, j].astype(object), use_na_sentinel=True)
        values = np.append(np.asarray(uniques, dtype=object), np.array([None], dtype=object))  # NA: not a str
        columns.append((DistinctValues(values), np.where(codes < 0, len(values) - 1, codes)))
    problems = param_problems(template, columns, n=len(params), signature=signature)
    return pd.Series(problems != "", index=params.index, dtype=bool)
