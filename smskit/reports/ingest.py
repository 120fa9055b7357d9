"""Every status-report source → one frame with fixed columns and dtypes.

Sources: a receiver store (``.sqlite``), a callback log (one urlencoded body or JSON object per line),
a console "Send Details" export (CSV/XLSX), a DataFrame, or a list of these.

The callback-log path is vectorized: pandas' C parser splits every line into key and value cells in one
pass, whatever the field order, and no Python code runs per line; columns with few distinct values are
decoded once per value. Lines the split cannot take exactly are parsed one by one by
:func:`~smskit.reports.parse_report_body`, so both paths give the same reports.

Usage: ``reports = read_status_reports("callbacks.log")``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from smskit.codes import categorize
from smskit.errors import DataValidationError, ReportError, SmsKitWarning
from smskit.frames import REPORTS
from smskit.protocol import UPDATE_TIME_FORMAT
from smskit.reports.store import is_report_store, read_store_frame
from smskit.reports.wire import (
    BLANK_OR_CONTROL,
    EARLIEST_TIME,
    LATEST_TIME,
    REPORT_COLUMNS,
    WIRE_COLUMNS,
    WIRE_FIELDS,
    parse_report_body,
    segment_number,
    unquote_field,
)

__all__ = [
    "DEFAULT_EXPORT_MAPPING",
    "EXPORT_COLUMNS",
    "EXPORT_COLUMN_OF",
    "REPORT_DTYPES",
    "parse_times",
    "read_status_reports",
    "read_table_file",
    "read_text_file",
]

#: Column names of a console "Send Details" export → field names: the report columns, plus each message's
#: send time and template (read by :func:`smskit.summary.export_send_info`). The one declaration.
EXPORT_COLUMNS: dict[str, str] = {
    "SMS ID": "sms_msg_id",
    "Recipient Number": "to",
    "Status Code": "status",
    "Status Description": "status_desc",
    "Status Update Time (UTC)": "update_time",
    "Total Segments": "total",
    "Segment No.": "sequence",
    "Carrier Code": "org_code",
    "Report Source": "source",
    "Extend": "extend",
    "Send Time (UTC)": "sent_at",
    "Template ID": "template_id",
}
#: Default export column → report column (pass ``mapping=`` for others).
DEFAULT_EXPORT_MAPPING: dict[str, str] = {c: f for c, f in EXPORT_COLUMNS.items() if f in REPORT_COLUMNS}
#: Field → its default export column name.
EXPORT_COLUMN_OF: dict[str, str] = {f: c for c, f in EXPORT_COLUMNS.items()}

_TEXT = ("status_desc", "org_code", "source", "extend", "to")
_REQUIRED = ("sms_msg_id", "status")
_INPUTS = WIRE_COLUMNS
_UTC = pd.DatetimeTZDtype("ns", "UTC")
#: The dtype of each column of a report frame (:data:`smskit.frames.REPORTS`).
REPORT_DTYPES: dict[str, Any] = dict(REPORTS.dtypes)
_TIME_RANGE = f"{EARLIEST_TIME:%Y-%m-%d} … {LATEST_TIME:%Y-%m-%d}"
_SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db"}
_EXTRA_COLUMNS = 2  # an export with at most this many unused columns is read whole
_TABLE_SUFFIXES = {".csv", ".xlsx", ".xls", ".xlsm"}
Errors = Literal["raise", "skip"]


def read_status_reports(
    source: Any, *, mapping: Mapping[str, str] | None = None, errors: Errors = "raise", encoding: str | None = None
) -> pd.DataFrame:
    """Read status reports from any source into one frame.

    Parameters
    ----------
    source
        A report store (``.sqlite``), a callback log (text: one urlencoded body or JSON object per
        line, batches ``{"statusReportList": […]}`` too), a console export (``.csv``/``.xlsx``), a
        DataFrame (report columns, wire names such as ``smsMsgId``, or export columns), or a list of these.
    mapping
        Export column → report column, e.g. ``{"Message ID": "sms_msg_id", "Result": "status"}``;
        defaults to :data:`DEFAULT_EXPORT_MAPPING`. ``sms_msg_id`` and ``status`` are required.
    errors
        ``"raise"`` (default) refuses a source with malformed lines/rows, naming them; ``"skip"`` drops them.
    encoding
        The text encoding of logs and CSV exports. By default UTF-8 (a BOM is fine), and a file that is
        not UTF-8 is read as GB18030, the Chinese console's export encoding, with a warning.

    Returns
    -------
    DataFrame with :data:`~smskit.reports.REPORT_COLUMNS` typed as :data:`REPORT_DTYPES`
    (``update_time`` UTC, NaT when the platform built the report; ``category``/``delivered`` from
    :func:`smskit.codes.categorize`). A DataFrame source keeps its index.
    """
    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    if isinstance(source, pd.DataFrame):
        return _normalize(_frame_columns(source, mapping), what="row", errors=errors, table=True)
    if isinstance(source, str | os.PathLike):
        return _read_one(Path(source), mapping=mapping, errors=errors, encoding=encoding)
    if isinstance(source, Sequence) and not isinstance(source, bytes):
        frames = [read_status_reports(s, mapping=mapping, errors=errors, encoding=encoding) for s in source]
        if not frames:
            return _normalize(pd.DataFrame(columns=list(_INPUTS)), what="row", errors=errors)
        # each frame is normalized already; concatenating only has to re-unify the categoricals
        return pd.concat(frames, ignore_index=True).astype({"status": "category"})
    raise TypeError(f"cannot read status reports from a {type(source).__name__}; pass a path or a DataFrame")


def _read_one(path: Path, *, mapping: Mapping[str, str] | None, errors: Errors, encoding: str | None) -> pd.DataFrame:
    if not path.exists():
        raise ReportError(f"{path} does not exist", advice="check the path of the report source")
    if path.is_file() and path.stat().st_size == 0:
        raise ReportError(f"{path} is empty: no status reports in it", advice=_EMPTY_ADVICE)
    suffix = path.suffix.lower()
    if suffix in _SQLITE_SUFFIXES or is_report_store(path):
        raw = read_store_frame(path).drop(columns=["extra", "received_at"])  # '' times are "no time"
        return _normalize(raw, what="row", errors=errors)
    if suffix in _TABLE_SUFFIXES:
        table = _read_table(path, suffix, mapping, encoding)
        try:
            return _normalize(_frame_columns(table, mapping, name=path.name), what="row", errors=errors, table=True)
        except DataValidationError as exc:  # show a CSV's offending rows as text, as read
            if exc.rows is not None:
                exc.rows = exc.rows.astype("str")
            raise
    return _normalize(_read_callback_log(path, encoding), what="line", errors=errors)


# --- files people have: encodings, byte-order marks, line endings, emptiness ----------------------------

_BOM = b"\xef\xbb\xbf"
_EMPTY_ADVICE = "pass a file that holds status reports (a receiver's store, a callback log or a console export)"
_ENCODING_ADVICE = (
    "pass encoding= with the file's encoding, e.g. encoding='gb18030' for an export of the Chinese console"
)


def read_text_file(path: str | os.PathLike[str], *, encoding: str | None = None) -> bytes:
    """A text file as UTF-8 bytes, without a byte-order mark and with ``\n`` line ends (CRLF, bare CR).

    Decoded from ``encoding`` when given; otherwise UTF-8, and failing that GB18030 (the Chinese
    console's default) with a :class:`~smskit.errors.SmsKitWarning`. Raises ReportError naming the file
    when it cannot be decoded or holds nothing.
    """
    path = Path(path)
    data = path.read_bytes()
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError as exc:
            raise ReportError(f"unknown encoding {encoding!r}", advice=_ENCODING_ADVICE) from exc
        except UnicodeDecodeError as exc:
            raise ReportError(f"{path} is not {encoding} text (byte {exc.start})", advice=_ENCODING_ADVICE) from exc
        data = text.removeprefix("\ufeff").encode("utf-8")
    else:
        data = data.removeprefix(_BOM)
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                try:
                    text = data.decode("gb18030")
                except UnicodeDecodeError:
                    raise ReportError(
                        f"{path} is not UTF-8 (byte {exc.start}), nor GB18030 text", advice=_ENCODING_ADVICE
                    ) from exc
                warnings.warn(
                    f"{path} is not UTF-8 (byte {exc.start}): read it as GB18030, the Chinese console's export "
                    "encoding; pass encoding= if that is wrong",
                    SmsKitWarning,
                    stacklevel=3,
                )
                data = text.encode("utf-8")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.strip():
        raise ReportError(f"{path} is empty: no status reports in it", advice=_EMPTY_ADVICE)
    return data


def read_table_file(path: str | os.PathLike[str], *, encoding: str | None = None, usecols: Any = None) -> pd.DataFrame:
    """A CSV (as :func:`read_text_file` decodes it) or Excel file as text cells."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return pd.read_excel(path, dtype=str, usecols=usecols)
    text = read_text_file(path, encoding=encoding).decode("utf-8")
    return pd.read_csv(io.StringIO(text), dtype=object, usecols=usecols)


#: ``GMT+08:00`` / ``UTC+8`` as written in console exports: the offset belongs to the time, east positive.
_NAMED_OFFSET = r"\s*(?:GMT|UTC)\s*(?=[+-]\d)"
_NAMED_UTC = r"\s*(?:GMT|UTC)$"


def parse_times(text: pd.Series) -> pd.Series:
    """Times written as text → UTC (NaT for text that is no time); naive times are UTC.

    Takes the platform's ``2018-10-31T08:43:41Z``, ISO 8601 with an offset, ``2024/05/01 16:00:01`` and
    the console's ``2024/05/01 16:00:01 GMT+08:00`` (08:00:01 UTC: a "GMT+8" written after a time is the
    zone east of Greenwich, not the POSIX ``Etc/GMT+8`` that a generic parser reads 16 hours off).
    """
    values = text.astype(str).str.strip()
    named = values.str.contains(r"(?:GMT|UTC)", regex=True)
    if named.any():
        values = values.where(
            ~named,
            values[named].str.replace(_NAMED_OFFSET, "", regex=True).str.replace(_NAMED_UTC, "+00:00", regex=True),
        )
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    retry = parsed.isna()
    if retry.any():
        parsed[retry] = pd.to_datetime(values[retry], format=UPDATE_TIME_FORMAT, utc=True, errors="coerce")
    return parsed


# --- tables ---------------------------------------------------------------------------------------------


def _read_table(path: Path, suffix: str, mapping: Mapping[str, str] | None, encoding: str | None) -> pd.DataFrame:
    """Read an export as text, only the columns a mapping could use (all, for report/wire names)."""
    known = set(DEFAULT_EXPORT_MAPPING if mapping is None else mapping) | set(_INPUTS) | set(WIRE_FIELDS)

    def wanted(name: str) -> bool:
        return name in known

    if suffix == ".csv":  # cells are text already: object columns skip the str-dtype check
        text = read_text_file(path, encoding=encoding).decode("utf-8")
        header = pd.read_csv(io.StringIO(text), nrows=0).columns
        if sum(not wanted(c) for c in header) <= _EXTRA_COLUMNS:  # cheaper than usecols
            table = pd.read_csv(io.StringIO(text), dtype=object)
            used = [c for c in table.columns if wanted(c)]
            return table[used] if len(used) >= 2 else table
        table = pd.read_csv(io.StringIO(text), dtype=object, usecols=wanted)
        return pd.read_csv(io.StringIO(text), dtype=object) if len(table.columns) < 2 else table
    table = pd.read_excel(path, dtype=str, usecols=wanted)
    if len(table.columns) < 2:  # cannot hold sms_msg_id and status: read all so the error lists the columns
        table = pd.read_excel(path, dtype=str)
    return table


def _frame_columns(frame: pd.DataFrame, mapping: Mapping[str, str] | None, *, name: str = "the frame") -> pd.DataFrame:
    """Rename a frame's columns to report columns (report names, wire names, or an export mapping)."""
    cols = set(frame.columns)
    if not cols and frame.empty and mapping is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _INPUTS}, index=frame.index)
    if mapping is None and set(_REQUIRED) <= cols:
        return frame[[c for c in _INPUTS if c in cols]]
    if mapping is None and {"smsMsgId", "status"} <= cols:
        return frame[[c for c in WIRE_FIELDS if c in cols]].rename(columns=WIRE_FIELDS)
    use = dict(DEFAULT_EXPORT_MAPPING if mapping is None else mapping)
    unknown = sorted(set(use.values()) - set(_INPUTS))
    if unknown:
        raise ValueError(f"mapping targets {unknown} are not report columns; use some of {list(_INPUTS)}")
    wanted = {target: col for col, target in use.items()}
    missing = [wanted[t] for t in _REQUIRED if t not in wanted or wanted[t] not in cols]
    if missing:
        raise DataValidationError(
            f"{name} lacks the column(s) {missing} needed for {list(_REQUIRED)}; it has {sorted(map(str, cols))}",
            advice="pass mapping={'<export column>': 'sms_msg_id', '<export column>': 'status', …}",
        )
    present = {col: target for col, target in use.items() if col in cols}
    return frame[list(present)].rename(columns=present)


# --- callback logs --------------------------------------------------------------------------------------

#: Whitespace ``parse_report_body`` strips from a line's ends (any non-ASCII byte too, to be safe):
#: lines starting or ending with one of these are parsed one by one.
_EDGE = np.zeros(256, dtype=bool)
_EDGE[list(b" \t\r\x0b\x0c\x1c\x1d\x1e\x1f")] = True
_EDGE[0x80:] = True
_END = ""  # a key slot past a line's last field
_NL = ord("\n")
_NOT_ASCII_BLANK = re.compile(rb"[^ \t\n\r\x0b\x0c\x1c-\x1f]")
_INDENTED_JSON = re.compile(rb"[ \t]+\{")
_SAMPLES = 64
_MAX_FIELDS = 64  # lines with more fields than this are parsed one by one


class _Lines(NamedTuple):
    """A block of text lines as bytes, with each line's start and end offsets."""

    data: bytes
    arr: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, data: bytes, size: int) -> _Lines:
        """The lines of ``data[:size]`` (what follows is ignored)."""
        arr = np.frombuffer(data, dtype=np.uint8)
        breaks = np.flatnonzero(arr[:size] == _NL)
        return cls(data, arr, np.concatenate(([0], breaks + 1)), np.append(breaks, size))

    def line(self, i: int) -> str:
        return self.data[self.starts[i] : self.ends[i]].decode("utf-8")


def _read_callback_log(path: Path, encoding: str | None) -> pd.DataFrame:
    data = read_text_file(path, encoding=encoding)  # UTF-8, no BOM, \n line ends, not empty
    if data[:1] == b"\n":
        data = data.lstrip(b"\n")
    size = len(data)  # trailing newlines are ignored without copying the text
    while size and data[size - 1] == _NL:
        size -= 1
    if not size:
        return pd.DataFrame(columns=list(_INPUTS))
    lines = _Lines.of(data, size)
    if _has_json(lines):
        text = np.array(data[:size].decode("utf-8").split("\n"), dtype=object)
        is_json = np.fromiter((ln.lstrip().startswith("{") for ln in text), bool, len(text))
        numbers = np.arange(1, len(text) + 1)
        parts = []
        if is_json.any():
            parts.append(_json_lines(text[is_json], numbers[is_json]))
        if (~is_json).any():
            block = "\n".join(text[~is_json]).encode("utf-8")
            parts.append(_urlencoded_lines(_Lines.of(block, len(block)), numbers[~is_json]))
        return pd.concat(parts).sort_values("_line", kind="stable", ignore_index=True)
    return _urlencoded_lines(lines, np.arange(1, len(lines.starts) + 1))


def _has_json(lines: _Lines) -> bool:
    """Whether the log holds JSON objects: it starts with ``{`` or a line does, after blanks."""
    data, arr, starts, ends = lines
    lead = _NOT_ASCII_BLANK.search(data)
    if lead is not None and (
        lead.group() == b"{" or (lead.group() >= b"\x80" and data.decode("utf-8").lstrip().startswith("{"))
    ):
        return True
    filled = np.flatnonzero(ends > starts)
    first = arr[starts[filled]]
    if (first == ord("{")).any():
        return True
    indented = filled[(first == ord(" ")) | (first == ord("\t"))]
    return any(_INDENTED_JSON.match(data, starts[i]) for i in indented)


def _urlencoded_lines(lines: _Lines, numbers: np.ndarray) -> pd.DataFrame:
    """Split urlencoded lines with pandas' C parser; lines it cannot split exactly are parsed one by one.

    ``&`` is rewritten to ``=&`` and each line split on ``=``: cells then alternate key, value, …, every
    key after the first starting with ``&``. A line is taken from the split only if it has exactly one
    ``&`` fewer than its fields and one ``=`` per field (so each ``&``-separated part is one ``name=value``);
    any other line (blanks at its ends, a ``\r``, empty or ``=``-carrying parts, more fields than
    sampled) goes to :func:`~smskit.reports.parse_report_body`, so both paths agree line for line.
    """
    block, arr, starts, ends = lines
    n = len(numbers)
    filled = ends > starts
    slow = ~filled
    slow[filled] = _EDGE[arr[starts[filled]]] | _EDGE[arr[ends[filled] - 1]]
    if b"\r" in block:
        slow[np.searchsorted(starts, np.flatnonzero(arr == ord("\r")), side="right") - 1] = True
    keys, values, amps = _split_cells(block, n, _max_fields(block))
    nfields = np.full(n, -1, dtype=np.int64)
    fields: list[tuple[str, int, np.ndarray]] = []
    for i, (codes, cells) in enumerate(keys):
        open_ = nfields < 0
        if not open_.any():
            break
        for k, cell in enumerate(cells):
            rows = open_ & (codes == k)
            if not rows.any():
                continue
            name = _key_name(cell, first=i == 0)
            if name == _END:
                nfields[rows] = i
            elif name is None:  # not a plain key: parse this line one by one
                slow |= rows
                nfields[rows] = i
            else:
                fields.append((name, i, rows))
    nfields[nfields < 0] = len(keys)
    for f in range(1, len(keys) + 1):  # an empty last value must be a real cell: the line ends with '='
        rows = np.flatnonzero(~slow & (nfields == f))
        empty = rows[values[f - 1][rows] == ""]
        slow[empty[arr[ends[empty] - 1] != ord("=")]] = True
    text = {int(i): lines.line(int(i)) for i in np.flatnonzero(slow)}
    amps -= sum(line.count("&") for line in text.values())
    eqs = np.count_nonzero(arr == ord("=")) - sum(line.count("=") for line in text.values())
    taken = nfields[~slow]
    if amps != int(taken.sum()) - len(taken) or eqs != int(taken.sum()):  # find the lines that differ
        odd = ~slow & ((_per_line(arr, starts, "&") != nfields - 1) | (_per_line(arr, starts, "=") != nfields))
        text.update({int(i): lines.line(int(i)) for i in np.flatnonzero(odd)})
        slow |= odd
    fast = ~slow
    bad = np.zeros(n, dtype=bool)
    seen: dict[str, np.ndarray] = {}
    sources: dict[str, list[tuple[int, np.ndarray]]] = {}
    for name, i, rows in fields:
        rows &= fast
        if name in seen:
            bad |= seen[name] & rows  # a repeated field
            seen[name] |= rows
        else:
            seen[name] = rows
        if name in WIRE_FIELDS:
            sources.setdefault(WIRE_FIELDS[name], []).append((i, rows))
    parsed: dict[int, dict[str, str]] = {}
    blank = np.zeros(n, dtype=bool)
    for i, line in text.items():
        try:
            parsed[i] = parse_report_body(line).to_wire()
        except ReportError:
            bad[i] = True
            blank[i] = not line.strip()
    cols: dict[str, Any] = {}
    for name, target in WIRE_FIELDS.items():
        exact = {i: wire[name] for i, wire in parsed.items() if name in wire}
        if target not in sources and not exact:
            cols[target] = pd.Series(np.full(n, None, dtype=object), dtype=object)
            continue
        column, undecodable = _decoded(_gather(values, sources.get(target, []), n), exact)
        cols[target] = pd.Series(column, dtype=object, copy=False) if isinstance(column, np.ndarray) else column
        bad |= undecodable
    frame = pd.DataFrame(cols, copy=False)
    frame["_line"] = numbers
    frame["_bad"] = bad & ~blank
    return frame[~blank].reset_index(drop=True) if blank.any() else frame


def _gather(values: list[np.ndarray], sources: list[tuple[int, np.ndarray]], n: int) -> np.ndarray:
    """One column from the value cells of several slots (``rows`` of slot ``i`` each); None elsewhere."""
    if not sources:
        return np.full(n, None, dtype=object)
    sources = sorted(sources, key=lambda src: -int(src[1].sum()))
    i, rows = sources[0]
    out = np.where(rows, values[i], np.array(None, dtype=object))
    for i, rows in sources[1:]:
        np.copyto(out, values[i], where=rows)
    return out


def _decoded(raw: np.ndarray, exact: dict[int, str]) -> tuple[Any, np.ndarray]:
    """Decode a column's escapes (None stays None), then set the ``exact`` values of lines parsed one by one.

    A column with few distinct values is decoded once per value and returned as a Categorical."""
    bad = np.zeros(len(raw), dtype=bool)
    sample = raw[:2000]
    if len(set(sample)) * 2 > len(sample):  # mostly distinct: decode the values themselves
        has = np.flatnonzero(raw != None)  # noqa: E711 - elementwise
        if len(has) == len(raw):
            raw, bad = _decode_values(raw)
        else:
            decoded, undecodable = _decode_values(raw[has])
            raw[has] = decoded
            bad[has[undecodable]] = True
        for i, value in exact.items():
            raw[i] = value
        return raw, bad
    codes, uniques = _factorize(raw)
    decoded, undecodable = _decode_values(uniques)
    bad = np.append(undecodable, False)[codes]
    if exact:
        at = np.fromiter(exact, dtype=np.int64, count=len(exact))
        codes[at] = np.arange(len(decoded), len(decoded) + len(exact))
        decoded = np.append(decoded, np.array(list(exact.values()), dtype=object))
    remap, cats = pd.factorize(decoded)  # decoding may make two values equal
    codes = np.append(remap, -1)[codes]
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(cats, dtype="str"))), bad


def _per_line(arr: np.ndarray, starts: np.ndarray, char: str) -> np.ndarray:
    """How often ``char`` occurs on each line."""
    at = np.searchsorted(starts, np.flatnonzero(arr == ord(char)), side="right") - 1
    return np.bincount(at, minlength=len(starts))


def _max_fields(block: bytes) -> int:
    """The most fields among lines sampled across the block, counting only fields a line's cells can fill."""
    step = max(len(block) // _SAMPLES, 1)
    most = 0
    for at in range(0, len(block), step):
        chunk = block[at : at + 4096].split(b"\n")
        for line in chunk[1:-1] if at else chunk[:-1] or chunk:
            parts, eqs = line.count(b"&") + 1, line.count(b"=")
            most = max(most, min(parts, (parts + eqs) // 2))
    return min(most, _MAX_FIELDS)


def _split_cells(block: bytes, n: int, width: int) -> tuple[list[tuple[np.ndarray, list[str]]], list[np.ndarray], int]:
    """Key cells (codes, distinct cells) and value cells of every line for its first ``width`` fields
    (none if the C parser fails), and the number of ``&`` in the block."""
    if width < 1:
        return [], [], block.count(b"&")
    split = block.replace(b"&", b"=&")
    amps = len(split) - len(block)
    ncols = 2 * width  # a sampled line fills them all, so the parser cuts longer lines instead of failing
    try:
        table = pd.read_csv(
            io.BytesIO(split),
            nrows=n,
            sep="=",
            header=None,
            names=range(ncols),
            usecols=range(ncols),
            index_col=False,
            dtype={j: "category" if j % 2 == 0 else object for j in range(ncols)},
            quoting=csv.QUOTE_NONE,
            lineterminator="\n",
            skip_blank_lines=False,
            na_filter=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError):
        return [], [], amps
    if len(table) != n:
        return [], [], amps
    keys = []
    for j in range(0, ncols, 2):
        cat = table[j].array
        keys.append((np.asarray(cat.codes), [str(c) for c in cat.categories]))
    return keys, [table[j].to_numpy() for j in range(1, ncols, 2)], amps


def _key_name(cell: str, *, first: bool) -> str | None:
    """A key cell's field name; ``_END`` past a line's last field; None when the cell is not a plain key."""
    if first:
        raw = cell
    elif cell == "":
        return _END
    elif cell[:1] != "&":
        return None
    else:
        raw = cell[1:]
    if not raw:
        return None
    try:
        return unquote_field(raw)
    except ReportError:
        return None


#: Escapes of single ASCII characters that are not hex digits, '%' or the join separator: replacing them
#: over a column's joined text decodes each value, as long as no '%' is left (values still holding one
#: are decoded one by one).
_SAFE = {"3A": ":", "2C": ",", "2F": "/", "40": "@", "20": " ", "2B": "+", "2D": "-", "5F": "_", "2E": "."}
_SAFE_ESCAPES = {f"%{form}": char for code, char in _SAFE.items() for form in (code, code.lower())}
_MAX_SKIPS = 32


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like ``pd.factorize`` (-1 for missing; object uniques, in no set order), faster when one value
    dominates: that value is found by one comparison and only the other rows are hashed."""
    first = values[0] if len(values) else None
    dominant = isinstance(first, str) and (values[:64] == first).sum() * 2 >= len(values[:64])
    same = values == first if dominant else np.zeros(len(values), dtype=bool)
    if same.sum() * 2 < len(values):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)
    rest = np.flatnonzero(~same)
    codes = np.zeros(len(values), dtype=np.intp)
    if not len(rest):
        return codes, np.array([first], dtype=object)
    others, uniques = pd.factorize(values[rest], use_na_sentinel=True)
    codes[rest] = np.where(others < 0, -1, others + 1)
    return codes, np.append(np.array([first], dtype=object), np.asarray(uniques, dtype=object))


def _decode_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``unquote_plus`` each value, strictly; returns (values, undecodable mask).

    Common escapes are replaced over the values' joined text; only values left with a ``%`` are
    decoded one by one."""
    bad = np.zeros(len(values), dtype=bool)
    joined = "\x00".join(values)
    has_plus = "+" in joined
    if "%" not in joined and not has_plus:
        return values, bad
    if has_plus:
        joined = joined.replace("+", " ")
    at, skipped = joined.find("%"), 0
    while at >= 0 and skipped < _MAX_SKIPS:
        char = _SAFE_ESCAPES.get(joined[at : at + 3])
        if char is None:
            at, skipped = joined.find("%", at + 1), skipped + 1
        else:
            joined = joined.replace(joined[at : at + 3], char)
            at = joined.find("%", at)
    parts = joined.split("\x00")
    if len(parts) == len(values):
        decoded = np.array(parts, dtype=object)
        if at < 0 and not skipped:
            return decoded, bad
        todo = np.fromiter(("%" in v for v in decoded), bool, len(decoded))
    else:  # values holding NULs: decode one by one
        decoded = values.copy()
        todo = np.ones(len(values), dtype=bool)
    for i in np.flatnonzero(todo):
        try:
            decoded[i] = unquote_field(values[i])
        except ReportError:
            bad[i] = True
    return decoded, bad


_BAD = object()


def _json_text(value: Any) -> Any:
    """A JSON scalar as report text: strings as they are, integers as digits, null/NaN as None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, int | np.integer):
        return str(value)
    if isinstance(value, float | np.floating):
        if value != value:
            return None
        return str(int(value)) if float(value).is_integer() else _BAD
    return _BAD


def _json_lines(lines: np.ndarray, numbers: np.ndarray) -> pd.DataFrame:
    try:
        frame = pd.read_json(io.StringIO("\n".join(lines)), lines=True, dtype=False)
    except ValueError:
        frame = None
    if frame is None or len(frame) != len(lines):
        import json

        records: list[dict[str, Any]] = []
        for line in lines:
            try:
                doc = json.loads(line)
            except (ValueError, RecursionError):
                doc = None
            records.append(doc if isinstance(doc, dict) else {"_bad": True})
        frame = pd.DataFrame.from_records(records)
    frame.index = numbers
    if "statusReportList" in frame.columns:
        batches = frame["statusReportList"]
        single = frame[batches.isna()].drop(columns="statusReportList")
        items = batches.dropna().explode().dropna()
        ok = items.map(lambda x: isinstance(x, dict))
        exploded = pd.DataFrame.from_records(list(items[ok]), index=items.index[ok])
        wrong = pd.DataFrame({"_bad": True}, index=items.index[~ok.astype(bool)])
        frame = pd.concat([single, exploded, wrong])
    frame = frame.rename(columns=WIRE_FIELDS)
    out = pd.DataFrame(index=frame.index)
    bad = frame["_bad"].fillna(False).astype(bool) if "_bad" in frame else pd.Series(False, index=frame.index)
    for col in _INPUTS:
        if col not in frame:
            out[col] = None
            continue
        values = frame[col].astype(object).map(_json_text)
        invalid = values.map(lambda x: x is _BAD).astype(bool)
        bad |= invalid
        out[col] = values.where(~invalid, None)
    out["_line"] = out.index
    out["_bad"] = bad
    return out.reset_index(drop=True)


# --- normalization --------------------------------------------------------------------------------------


def _factorized(col: pd.Series) -> tuple[np.ndarray, Any]:
    """(codes, distinct values) of a column, -1 for missing; a Categorical's own codes are used."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes), col.cat.categories
    return _factorize(col.astype(object).to_numpy())


def _to_int(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Segment numbers via their distinct values (same rules as the line parser); (values, invalid mask)."""
    codes, uniques = _factorized(col)
    numbers = [segment_number(_json_text(u)) for u in uniques]
    table = np.array([1 if v is None else v for v in numbers] + [1], dtype=np.int64)
    valid = np.array([v is not None for v in numbers] + [True], dtype=bool)
    take = np.where(codes < 0, len(uniques), codes)
    return table[take], ~valid[take]


_EARLIEST, _LATEST = pd.Timestamp(EARLIEST_TIME), pd.Timestamp(LATEST_TIME)


def _in_range(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Aware times of any unit → (``datetime64[ns]`` UTC, mask of the times outside the report range)."""
    outside = ((times < _EARLIEST) | (times >= _LATEST)).to_numpy(dtype=bool)
    if outside.any():
        times = times.mask(outside)
    return times.dt.tz_convert("UTC").astype(_UTC).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"), outside


def _to_time(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC times (``datetime64[ns]``) from datetimes or text parsed once per distinct value.

    Returns (times, invalid, outside): ``invalid`` marks text that is no time, ``outside`` times beyond
    :data:`~smskit.reports.wire.EARLIEST_TIME` … :data:`~smskit.reports.wire.LATEST_TIME` (NaT in ``times``).
    """
    ok = np.zeros(len(col), dtype=bool)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        times, outside = _in_range(col)
        return times, ok, outside
    if pd.api.types.is_datetime64_dtype(col.dtype):
        times, outside = _in_range(col.dt.tz_localize("UTC"))
        return times, ok, outside
    codes, uniques = _factorized(col)
    text = pd.Series(uniques, dtype=object)
    codes = np.where(np.append((text == "").to_numpy(), True)[codes], -1, codes)  # '' is no time
    per_value, outside = _in_range(parse_times(text))
    values = np.append(per_value, np.datetime64("NaT", "ns"))
    take = np.where(codes < 0, len(uniques), codes)
    times = values[take]
    out = np.append(outside, False)[take]
    return times, np.isnat(times) & (codes >= 0) & ~out, out


def _token_text(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An id or status column as text ('' for missing); (text, invalid mask: missing, empty, blanks, controls)."""
    text = col.astype(object).to_numpy()
    try:
        joined = "".join(text)  # fails on a missing value or a number
        missing = np.zeros(len(text), dtype=bool)
    except TypeError:
        missing = pd.isna(text)
        text = np.where(missing, "", text)
        if pd.api.types.infer_dtype(text, skipna=False) != "string":  # numbers: their digits
            text = np.array([str(x) for x in text], dtype=object)
        joined = "".join(text)
    invalid = text == ""
    if not _printable_token(joined):
        invalid |= np.fromiter((BLANK_OR_CONTROL.search(x) is not None for x in text), bool, len(text))
    return text, missing | invalid


def _printable_token(text: str) -> bool:
    """Whether ``text`` has no blank or control character (:data:`~smskit.reports.BLANK_OR_CONTROL`)."""
    if not text:
        return True
    if text.isascii():  # two numpy reductions instead of a per-character Unicode lookup
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        return bool(codes.min() > ord(" ") and codes.max() < 0x7F)
    return text.isprintable() and " " not in text


def _status(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status codes checked once per code; (codes, sorted code texts, invalid mask), '' for missing."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = np.asarray(col.cat.codes)
        names = np.array([str(c) for c in col.cat.categories], dtype=object)
    else:
        codes, names = _factorize(col.astype(object).to_numpy())
        if pd.api.types.infer_dtype(names, skipna=False) not in ("string", "empty"):  # numbers: their digits
            text, _ = _token_text(col)
            codes, names = pd.factorize(text)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes)
        names = np.append(names, "")
    cats, remap = np.unique(names.astype(object), return_inverse=True)
    invalid = np.array([c == "" or BLANK_OR_CONTROL.search(c) is not None for c in cats], dtype=bool)
    codes = remap.reshape(-1)[codes] if len(codes) else codes
    return codes, cats, invalid[codes]


def _normalize(raw: pd.DataFrame, *, what: str, errors: Errors, table: bool = False) -> pd.DataFrame:
    n = len(raw)
    where = raw["_line"].to_numpy() if "_line" in raw else np.arange(1, n + 1)
    bad = raw["_bad"].to_numpy(dtype=bool).copy() if "_bad" in raw else np.zeros(n, dtype=bool)
    col = {c: (raw[c] if c in raw else pd.Series([None] * n, index=raw.index, dtype=object)) for c in _INPUTS}
    sms_msg_id, bad_id = _token_text(col["sms_msg_id"])
    codes, names, bad_status = _status(col["status"])
    total, bad_total = _to_int(col["total"])
    sequence, bad_seq = _to_int(col["sequence"])
    update_time, bad_time, outside = _to_time(col["update_time"])
    bad |= bad_id | bad_status | bad_total | bad_seq | bad_time | (sequence > total)
    outside = outside & ~bad
    if outside.any():  # a time no frame can hold: skipped, whatever ``errors`` says, and reported
        shown = ", ".join(f"{what} {w} ({i})" for w, i in zip(where[outside][:5], sms_msg_id[outside][:5], strict=True))
        warnings.warn(
            f"skipped {int(outside.sum())} status report(s) whose updateTime is outside {_TIME_RANGE}: {shown}"
            + (" …" if outside.sum() > 5 else ""),
            SmsKitWarning,
            stacklevel=4,
        )
    if bad.any() and errors == "raise":
        shown = ", ".join(str(x) for x in where[bad][:10])
        message = (
            f"{int(bad.sum())} malformed status report {what}(s), e.g. {what} {shown}: each needs "
            "smsMsgId and status without blanks, numeric total/sequence 1–255 and an ISO updateTime"
        )
        if table:
            rows = raw.loc[bad].assign(problem="malformed status report")
            raise DataValidationError(message, rows=rows, advice="fix those rows or pass errors='skip'")
        raise ReportError(message, advice="fix those lines or pass errors='skip'")
    bad |= outside
    keep = ~bad if bad.any() else slice(None)
    index = raw.index[keep] if table else pd.RangeIndex(n - int(bad.sum()))
    codes = codes[keep]
    if len(codes):  # only the codes of the reports kept
        used = np.bincount(codes, minlength=len(names)) > 0
        if not used.all():
            codes = (np.cumsum(used) - 1)[codes]
            names = names[used]
    status = pd.Series(
        pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(names, dtype="str"))), index=index
    )
    per_code = categorize(pd.Series(names, dtype="str"), kind="report")  # once per distinct code
    frame = pd.DataFrame(
        {
            "sms_msg_id": pd.Series(sms_msg_id[keep], index=index, dtype="str"),
            "status": status,
            "status_desc": _text_col(col["status_desc"], keep, index),
            "delivered": per_code["delivered"].to_numpy(dtype=bool)[codes],
            "category": pd.Series(per_code["category"].array.take(codes), index=index),
            "org_code": _text_col(col["org_code"], keep, index),
            "source": _text_col(col["source"], keep, index),
            "update_time": pd.Series(pd.DatetimeIndex(update_time[keep], tz="UTC"), index=index),
            "total": pd.Series(total[keep], index=index, dtype="int64"),
            "sequence": pd.Series(sequence[keep], index=index, dtype="int64"),
            "extend": _text_col(col["extend"], keep, index),
            "to": _text_col(col["to"], keep, index),
        },
        index=index,
        copy=False,
    )
    return frame[list(REPORT_COLUMNS)]


def _text_col(s: pd.Series, keep: Any, index: pd.Index) -> pd.Series:
    """Optional text of the rows kept, as ``str``; empty text is missing. Few distinct values are converted
    once each."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, names = np.asarray(s.cat.codes)[keep], np.asarray(s.cat.categories, dtype=object)
    else:
        values = np.asarray(s.array, dtype=object) if s.dtype == "str" else s.astype(object).to_numpy()
        values = values[keep]
        if len(values) and isinstance(values[0], float) and pd.isna(values).all():
            return pd.Series(np.nan, index=index, dtype="str")
        sample = values[:2000]
        if len(set(sample)) * 2 > len(sample):  # mostly distinct
            empty = values == ""
            if empty.any():
                values = np.where(empty, np.array(None, dtype=object), values)
            return pd.Series(values, index=index, dtype="str")
        codes, names = _factorize(values)
    if (names == "").any():
        codes = np.where(np.append(names == "", True)[codes], -1, codes)
    text = pd.array(names, dtype="str").take(codes, allow_fill=True)  # no per-row check of the text
    return pd.Series(text, index=index)
