"""Rendering: a template and its params → the message text the recipient sees (mainland: ``【signature】`` first)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smskit.errors import DataValidationError
from smskit.templates.variables import literals

if TYPE_CHECKING:
    from smskit.templates.catalog import Template

__all__ = ["fixed_text", "prefix", "render", "render_columns", "render_series", "signature_for"]


def signature_for(template: Template, signature: str | None) -> str | None:
    return signature or template.signature


def prefix(template: Template, signature: str | None) -> str:
    """The ``【signature】`` the mainland platform prepends (empty for international templates)."""
    sig = signature_for(template, signature)
    return f"【{sig}】" if template.region == "mainland" and sig else ""


def fixed_text(template: Template, signature: str | None) -> str:
    """Everything a message of ``template`` contains besides its params: the prefix and the literals."""
    return prefix(template, signature) + "".join(literals(template.content))


def render_columns(
    template: Template, columns: Sequence[Sequence[str] | np.ndarray], n: int, signature: str | None
) -> np.ndarray:
    """Object array of ``n`` rendered messages, param j of message i being ``columns[j][i]``."""
    lits = literals(template.content)
    pieces = [prefix(template, signature) + lits[0], *lits[1:]]
    if not columns:
        out = np.empty(n, dtype=object)
        out[:] = pieces[0]
        return out
    parts: list[Iterable[str]] = [itertools.repeat(pieces[0])]
    for column, lit in zip(columns, pieces[1:], strict=True):
        parts += [column, itertools.repeat(lit)]
    return np.fromiter(map("".join, zip(*parts, strict=False)), dtype=object, count=n)  # repeat() is endless


def render(template: Template, params: Sequence[str] = (), *, signature: str | None = None) -> str:
    """The message as the recipient sees it (mainland: ``【signature】`` first).

    Substitutes only; call ``validate_params`` for the rules. Raises ``DataValidationError`` when the
    number of params does not match the variables.
    """
    lits = literals(template.content)
    if len(params) != len(lits) - 1:
        raise DataValidationError(
            f"template {template.template_id} has {len(lits) - 1} variable(s), got {len(params)} param(s)",
            advice="pass one param per variable, in order",
        )
    out = [prefix(template, signature), lits[0]]
    for p, lit in zip(params, lits[1:], strict=True):
        out += [str(p), lit]
    return "".join(out)


def render_series(template: Template, params: pd.DataFrame, *, signature: str | None = None) -> pd.Series:
    """Vectorized ``render`` over a frame whose columns are the params in order (same index)."""
    lits = literals(template.content)
    if params.shape[1] != len(lits) - 1:
        raise DataValidationError(
            f"template {template.template_id} has {len(lits) - 1} variable(s), got {params.shape[1]} column(s)",
            advice="pass one params column per variable, in order",
        )
    columns = [params.iloc[:, j].astype(str).tolist() for j in range(params.shape[1])]
    out = render_columns(template, columns, len(params), signature)
    return pd.Series(out, index=params.index, dtype="str")
