"""Template parameter validation: every variable's rule, the verification-code length, the signature and
the 500-character limit. One definition serves single messages (:func:`validate_params`) and frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smskit.templates._regex import fullmatches
from smskit.templates.render import fixed_text, prefix, signature_for
from smskit.templates.variables import literals, value_regex, value_rule

if TYPE_CHECKING:
    from smskit.templates.catalog import Template

__all__ = ["MAX_CONTENT_CHARS", "MAX_VERIFICATION_CHARS", "invalid_params_mask", "validate_params"]

MAX_CONTENT_CHARS = 500


MAX_VERIFICATION_CHARS = 8


def validate_params(template: Template, params: Sequence[str], *, signature: str | None = None) -> list[str]:
    """Problems with sending ``params`` to ``template`` (an empty list means fine).

    >>> validate_params(t, ["12345a"])  # ${NUM_6}
    ['variable 1 ${NUM_6}: must be 1–6 digits, got 6 chars']
    """
    problems: list[str] = []
    variables = template.variables
    if len(params) != len(variables):
        problems.append(f"template {template.template_id} has {len(variables)} variable(s), got {len(params)} param(s)")
        return problems
    for i, (name, value) in enumerate(zip(variables, params, strict=True), start=1):
        if not isinstance(value, str):
            problems.append(f"variable {i} ${{{name}}}: params must be str, got {type(value).__name__}")
            continue
        if not value.strip():
            problems.append(f"variable {i} ${{{name}}}: value is empty")
            continue
        rule = value_rule(name)
        if rule.compiled.fullmatch(value) is None:
            problems.append(f"variable {i} ${{{name}}}: must be {rule.describe}, got {len(value)} chars")
        if template.kind == "verification" and len(value) > MAX_VERIFICATION_CHARS:
            problems.append(f"variable {i} ${{{name}}}: a verification code is at most {MAX_VERIFICATION_CHARS} chars")
    if template.region == "mainland" and not signature_for(template, signature):
        problems.append(f"mainland template {template.template_id} needs a signature")
    if not problems:
        n = _rendered_length(template, params, signature)
        if n > MAX_CONTENT_CHARS:
            problems.append(f"message is {n} chars with its signature; the limit is {MAX_CONTENT_CHARS}")
    return problems


def _rendered_length(template: Template, params: Sequence[str], signature: str | None) -> int:
    return (
        len(prefix(template, signature)) + sum(len(s) for s in literals(template.content)) + sum(len(p) for p in params)
    )


def invalid_params_mask(template: Template, params: pd.DataFrame, *, signature: str | None = None) -> pd.Series:
    """Vectorized ``bool(validate_params(...))`` over a frame whose columns are the params in order.

    Same index as ``params``; ``True`` where the row has a problem. Call ``validate_params`` on the
    (few) flagged rows for the messages.
    """
    n_vars = len(template.variables)
    if params.shape[1] != n_vars or (template.region == "mainland" and not signature_for(template, signature)):
        return pd.Series(True, index=params.index, dtype=bool)
    bad = np.zeros(len(params), dtype=bool)
    total = np.full(len(params), len(fixed_text(template, signature)), dtype=np.int64)
    for j, name in enumerate(template.variables):
        col = params.iloc[:, j]
        is_str = (
            np.fromiter((isinstance(v, str) for v in col), bool, len(col))
            if col.dtype == object
            else ~col.isna().to_numpy()
        )
        values = col.where(is_str, "").astype(str).tolist()
        length = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        ok = fullmatches(value_regex(name), values) & is_str
        if template.kind == "verification":
            ok = ok & (length <= MAX_VERIFICATION_CHARS)
        bad |= ~ok
        total = total + length
    bad |= total > MAX_CONTENT_CHARS
    return pd.Series(bad, index=params.index, dtype=bool)
