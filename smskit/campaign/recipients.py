"""Read recipient lists (CSV/TSV/XLSX) as frames whose every column is ``str``.

Nothing is inferred: ``002569`` stays ``002569`` and a phone column never becomes a float. Empty
cells are ``""`` (never NA), so ``df[col] == ""`` finds them and every value is a ``str``. Cells an
Excel sheet stores as numbers come back as their digits (``4915112345678``, an integral float without
``.0``), and the frame remembers them: ``frame.attrs[NUMERIC_CELLS]`` maps each column to the values
that came from numeric cells, so :func:`smskit.plan_campaign` refuses such phone numbers (their ``+``
or leading ``0`` is lost) instead of guessing. ``frame.attrs[SOURCE]`` is the file's name, from which
``send_campaign`` names a campaign when no ``campaign_id`` is given.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

from smskit.errors import DataValidationError

__all__ = ["NUMERIC_CELLS", "SOURCE", "NumericCells", "read_recipients"]

#: ``frame.attrs`` key of the :class:`NumericCells` of a frame read from a spreadsheet.
NUMERIC_CELLS = "smskit.numeric_cells"
#: ``frame.attrs`` key of the recipients file's name.
SOURCE = "smskit.source"

_CSV = {".csv": ",", ".tsv": "\t", ".txt": None}
_EXCEL = {".xlsx", ".xlsm"}


class NumericCells(Mapping[str, frozenset[str]]):
    """Per column, the values that came from cells the spreadsheet stored as numbers (immutable).

    Kept in ``frame.attrs``; pandas copies attrs into every derived frame, so this object is shared
    rather than copied.
    """

    def __init__(self, cells: Mapping[str, frozenset[str]]) -> None:
        self._cells = {str(k): frozenset(v) for k, v in cells.items() if v}

    def __getitem__(self, column: str) -> frozenset[str]:
        return self._cells[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cells)

    def __len__(self) -> int:
        return len(self._cells)

    def __deepcopy__(self, memo: dict[int, Any]) -> NumericCells:
        return self

    def __repr__(self) -> str:
        return f"NumericCells({ {k: len(v) for k, v in self._cells.items()} })"


def read_recipients(
    path_or_buffer: str | os.PathLike[str] | IO[bytes] | IO[str], *, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a recipient file; every column ``str``, empty cells ``""`` (numeric XLSX cells recorded).

    ``path_or_buffer`` is a ``.csv``/``.tsv``/``.txt`` (delimiter sniffed) or ``.xlsx``/``.xlsm``
    path, or an open file (XLSX recognised by its ZIP signature). ``sheet`` picks the Excel sheet
    (name or 0-based position; default the first). Raises ``DataValidationError`` for a missing,
    unreadable or unsupported file.
    """
    if isinstance(path_or_buffer, (str, os.PathLike)):
        path = Path(path_or_buffer)
        suffix = path.suffix.lower()
        if suffix not in _CSV and suffix not in _EXCEL:
            hint = "save it as .xlsx" if suffix == ".xls" else "use .csv, .tsv or .xlsx"
            raise DataValidationError(
                f"cannot read recipients from {path.name}: unknown extension {suffix!r}", advice=hint
            )
        if not path.is_file():
            raise DataValidationError(f"recipient file {path} does not exist", advice="check the path")
        source: Any = path
        excel = suffix in _EXCEL
        sep = _CSV.get(suffix)
    else:
        source = path_or_buffer
        head = source.read(4)
        source.seek(0)
        excel = head[:2] in (b"PK", "PK")
        sep = None
    try:
        frame, numeric = _read_excel(source, sheet) if excel else (_read_text(source, sep), {})
    except DataValidationError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, pd.errors.ParserError) as exc:
        kind = "XLSX" if excel else "CSV"
        raise DataValidationError(
            f"cannot read recipients as {kind}: {exc}",
            advice="check that the file is a valid, UTF-8 encoded CSV or an .xlsx workbook",
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs[NUMERIC_CELLS] = NumericCells({str(k).strip(): v for k, v in numeric.items()})
    if isinstance(path_or_buffer, (str, os.PathLike)):
        frame.attrs[SOURCE] = Path(path_or_buffer).name
    return frame


def _read_text(source: Any, sep: str | None) -> pd.DataFrame:
    kwargs: dict[str, Any] = {"sep": sep} if sep else {"sep": None, "engine": "python"}
    if isinstance(source, io.TextIOBase):
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_filter=False, **kwargs)
    return pd.read_csv(source, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig", **kwargs)


def _read_excel(source: Any, sheet: str | int | None) -> tuple[pd.DataFrame, dict[str, frozenset[str]]]:
    try:
        raw = pd.read_excel(source, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl")
    except ValueError as exc:
        if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
            raise DataValidationError(
                f"no sheet {sheet!r} in the workbook", advice="pass sheet=<name or position>"
            ) from exc
        raise
    columns = {name: _cells_to_str(raw[name]) for name in raw.columns}
    frame = pd.DataFrame({name: text for name, (text, _) in columns.items()}, index=raw.index)
    return frame, {str(name): numeric for name, (_, numeric) in columns.items() if numeric}


def _cells_to_str(col: pd.Series) -> tuple[pd.Series, frozenset[str]]:
    """The column as ``str``, and the texts of the cells that were numbers."""
    numeric: set[str] = set()

    def one(value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            numeric.add(text)
            return text
        return str(value)

    return pd.Series([one(v) for v in col], index=col.index, dtype="str", name=col.name), frozenset(numeric)
