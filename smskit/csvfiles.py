"""CSV files smskit writes, safe to open in a spreadsheet, and read back unchanged.

A cell starting with ``=``, ``@``, a tab, a carriage return, or ``+``/``-`` not followed by a digit is a
formula to Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``@SUM(…)``, ``-cmd|…``): pushed text
such as a status description or ``extend`` must not become one. Such cells are written with a leading
``'`` (OWASP's advice for CSV injection), which :func:`restore_formulas` removes again when smskit reads
its own file. ``+8613800000000`` and ``-1`` stay as they are.

Usage: ``write_csv(results, "results.csv")`` (the index is written as the first column by default).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["neutralize_formulas", "restore_formulas", "write_csv"]

_FORMULA = r"(?:[=@\t\r]|[+-](?![0-9]))"
_QUOTE = "'"


def _map_text(values: pd.Series, change: str, replace: str) -> pd.Series:
    """Values as text, with ``change`` (a regex at the start) rewritten to ``replace``; others untouched."""
    text = values.astype("object")
    is_text = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not is_text.any():
        return values
    hit = np.zeros(len(text), dtype=bool)
    hit[is_text] = text[is_text].str.match(change).to_numpy(dtype=bool)
    if not hit.any():
        return values
    out = text.copy()
    out[hit] = text[hit].str.replace(change, replace, n=1, regex=True)
    return out


def _holds_text(dtype: Any) -> bool:
    """Object, string (``str``/``string``) and categorical columns may hold text; numbers and times do not."""
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or (pd.api.types.is_string_dtype(dtype))
    )


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` (values, index and column names) where no text cell starts a formula."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if _holds_text(column.dtype):
            out[name] = _map_text(column.astype(object), f"(?={_FORMULA})", _QUOTE)
    if _holds_text(out.index.dtype):
        out.index = pd.Index(_map_text(out.index.to_series(), f"(?={_FORMULA})", _QUOTE), name=out.index.name)
    out.columns = pd.Index(_map_text(pd.Series(out.columns, dtype=object), f"(?={_FORMULA})", _QUOTE))
    return out


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralize_formulas` on a frame read back from a file smskit wrote (text columns)."""
    out = frame.copy()
    for name in out.columns:
        if _holds_text(out[name].dtype):
            out[name] = _map_text(out[name], f"{_QUOTE}(?={_FORMULA})", "")
    if _holds_text(out.index.dtype):
        out.index = pd.Index(_map_text(out.index.to_series(), f"{_QUOTE}(?={_FORMULA})", ""), name=out.index.name)
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = True) -> None:
    """Write ``frame`` as UTF-8 CSV with formula-like cells neutralized (see the module docstring)."""
    neutralize_formulas(frame).to_csv(path, index=index)
