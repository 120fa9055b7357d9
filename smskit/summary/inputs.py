"""The report's inputs besides status reports: a results file from ``smskit send --out``, send times and
templates from a console export, and the per-message frame when there are no send results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from smskit.csvfiles import restore_formulas
from smskit.errors import DataValidationError, ReportError
from smskit.frames import RESULTS
from smskit.reports.ingest import EXPORT_COLUMN_OF, parse_times, read_table_file

__all__ = ["RESULT_COLUMNS", "ROW_LABEL", "export_send_info", "message_frame", "read_outcomes", "read_results"]

_UTC = pd.DatetimeTZDtype("ns", "UTC")

#: The name of the recipients' row number in results and delivery files written by smskit.
ROW_LABEL = "row"
#: Columns a ``send_campaign`` results file must have.
RESULT_COLUMNS: tuple[str, ...] = ("to", "state", "sms_msg_id", "sent_at")


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results CSV as written by ``smskit send --out``: its ``row`` column (the recipient's row in
    the input file) becomes the index; the user's id column, when there is one, stays a column.

    Every column stays ``str`` (numbers keep their leading zeros); ``sent_at`` becomes UTC.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"results file {path} does not exist", advice="pass the file written by smskit send --out")
    try:
        frame = restore_formulas(pd.read_csv(path, dtype=str))  # as write_csv neutralized them
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(
            f"cannot read results file {path}: {exc}", advice="pass a CSV from smskit send --out"
        ) from exc
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first == ROW_LABEL or first.startswith("Unnamed: 0"):  # the recipients' row (older files: unnamed)
        frame = frame.set_index(frame.columns[0]).rename_axis(ROW_LABEL if first == ROW_LABEL else None)
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"results file {path} lacks column(s) {missing}; it has {list(frame.columns)}",
            advice="pass the CSV written by smskit send --out (or send_campaign(...).to_csv(path))",
        )
    try:
        frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataValidationError(
            f"results file {path} has unreadable sent_at values: {exc}",
            advice="sent_at must be ISO 8601 timestamps, as smskit send --out writes them",
        ) from exc
    return _as_results(frame)


def _as_results(frame: pd.DataFrame) -> pd.DataFrame:
    """The declared columns of :data:`smskit.frames.RESULTS` that ``frame`` has, cast to their dtypes."""
    from smskit.campaign.states import RESULT_STATES

    casts: dict[str, Any] = {c: d for c, d in RESULTS.dtypes.items() if c in frame.columns and c != "sent_at"}
    if "state" in casts:
        extra = sorted(set(frame["state"].dropna()) - set(RESULT_STATES))  # states of a newer smskit
        casts["state"] = pd.CategoricalDtype([*RESULT_STATES, *extra])
    if "request_no" in casts:
        frame["request_no"] = pd.to_numeric(frame["request_no"], errors="coerce")
    return frame.astype(casts)


def read_outcomes(path: str | Path, *, on: str, time: str, value: str | None = None) -> pd.DataFrame:
    """Outcome events (orders, clicks, sign-ups) from a CSV/XLSX file, for ``experiments.attach_outcomes``.

    Returns the ``on`` column as text (ids keep their leading zeros), ``time`` as UTC (naive times are
    UTC; the console's ``… GMT+08:00`` is read as :func:`~smskit.reports.ingest.parse_times` does) and
    ``value`` as a number. Refuses, naming the file's lines, times or values that cannot be read, and
    names the columns the file has when one is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"outcomes file {path} does not exist", advice="pass a CSV or Excel file of events")
    try:
        table = read_table_file(path)
    except (ValueError, UnicodeDecodeError, ReportError) as exc:
        raise ReportError(f"cannot read outcomes file {path}: {exc}", advice="pass a CSV or Excel file") from exc
    wanted = [on, time] + ([value] if value is not None else [])
    missing = [c for c in dict.fromkeys(wanted) if c not in table.columns]
    if missing:
        raise DataValidationError(
            f"outcomes file {path.name} lacks column(s) {missing}; it has {list(map(str, table.columns))}",
            advice="name its id, time and value columns with --outcome-id, --outcome-time and --outcome-value",
        )
    events = pd.DataFrame({on: table[on].astype("string").str.strip()}, index=table.index)
    events[time] = parse_times(table[time].fillna(""))
    _refuse_unread(path, table, events[time].isna(), time, "is not a time such as 2025-03-03T10:00:00Z")
    if value is not None:
        events[value] = pd.to_numeric(table[value].astype("string").str.strip(), errors="coerce").astype(float)
        _refuse_unread(path, table, events[value].isna(), value, "is not a number")
    return events


def _refuse_unread(path: Path, table: pd.DataFrame, bad: pd.Series, column: str, why: str) -> None:
    """Raise naming the file lines (header = line 1) whose ``column`` could not be read."""
    if not bad.any():
        return
    shown = table[column].fillna("")
    lines = [f"line {int(i) + 2} ({str(shown[i])!r})" for i in bad[bad].index[:5]]
    more = f" and {int(bad.sum()) - 5:,} more" if bad.sum() > 5 else ""
    raise DataValidationError(
        f"{path.name}: {int(bad.sum()):,} row(s) whose {column!r} {why}: {', '.join(lines)}{more}",
        rows=table.loc[bad].assign(problem=f"{column} {why}"),
        advice="fix or drop those rows",
    )


def export_send_info(
    path: str | Path,
    *,
    id_column: str = EXPORT_COLUMN_OF["sms_msg_id"],
    sent_at_column: str = EXPORT_COLUMN_OF["sent_at"],
    template_column: str = EXPORT_COLUMN_OF["template_id"],
) -> pd.DataFrame | None:
    """Send time and template per message from a console export (CSV/XLSX), when it has them.

    The default column names are the console's (:data:`smskit.reports.ingest.EXPORT_COLUMNS`).

    Returns a frame indexed by ``sms_msg_id`` with ``sent_at`` (UTC) and/or ``template_id``, or
    ``None`` when the file is not a table or lacks the id column or both info columns.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xls", ".xlsm"):
        return None
    table = read_table_file(path)  # UTF-8 or GB18030, BOM and line ends handled, empty files named
    wanted = {sent_at_column: "sent_at", template_column: "template_id"}
    present = {c: name for c, name in wanted.items() if c in table.columns}
    if id_column not in table.columns or not present:
        return None
    info = table[[id_column, *present]].rename(columns={id_column: "sms_msg_id", **present})
    info = info.dropna(subset=["sms_msg_id"]).drop_duplicates("sms_msg_id").set_index("sms_msg_id")
    if "sent_at" in info.columns:
        info["sent_at"] = parse_times(info["sent_at"])  # "GMT+08:00" is east of UTC (format="mixed" said west)
    return info


def message_frame(reports: pd.DataFrame, *, send_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per reported message: :func:`smskit.reports.funnel.final_state` plus, from ``send_info``
    (indexed by ``sms_msg_id``), ``sent_at``/``template_id`` and then ``latency_s``."""
    from smskit.reports.funnel import final_state

    frame = final_state(reports).reset_index()
    if send_info is not None and len(send_info):
        extra = send_info.reindex(frame["sms_msg_id"]).reset_index(drop=True)
        for column in extra.columns:
            frame[column] = extra[column].to_numpy()
    if "sent_at" in frame.columns:
        sent_at = pd.to_datetime(frame["sent_at"], utc=True)
        frame["latency_s"] = (frame["reported_at"].astype(_UTC) - sent_at).dt.total_seconds().astype("float64")
    return frame
