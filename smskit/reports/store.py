"""SQLite store of received status reports, with group commit so a receiver acknowledges only what is on disk.

Durability: the database runs in WAL mode with ``synchronous=FULL``: every commit fsyncs the WAL, so a
report whose push was answered 200 survives a ``kill -9`` *and* a power cut. (``NORMAL`` with WAL
would survive a process kill too — the OS keeps the written pages — but not an OS crash; an
acknowledged report must never be lost, so FULL it is.) The fsync cost is shared: one writer thread
commits whatever pushes queued up while the previous commit ran (group commit), and each push's future
resolves only after the commit that holds it.

Duplicates (the platform may retry a push) are stored once: ``UNIQUE(sms_msg_id, sequence, status,
update_time)`` with ``INSERT OR IGNORE``; a report without ``updateTime`` stores ``''`` there so the
constraint still applies.

Usage::

    with ReportStore("reports.sqlite") as store:
        store.add([parse_report_body(body)])     # blocks until committed; returns rows added
        raw = store.frame()
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import pandas as pd

from smskit.errors import ReportError
from smskit.protocol import UPDATE_TIME_FORMAT
from smskit.reports.wire import WIRE_COLUMNS, StatusReport

__all__ = ["STORE_COLUMNS", "ReportStore", "is_report_store"]

_APPLICATION_ID = 0x534D5352  # "SMSR": marks a file as a smskit report store
_SCHEMA = """
CREATE TABLE IF NOT EXISTS status_reports (
    id          INTEGER PRIMARY KEY,
    sms_msg_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    status_desc TEXT,
    org_code    TEXT,
    source      TEXT,
    update_time TEXT NOT NULL DEFAULT '',
    total       INTEGER NOT NULL,
    sequence    INTEGER NOT NULL,
    extend      TEXT,
    "to"        TEXT,
    extra       TEXT,
    received_at TEXT NOT NULL,
    UNIQUE (sms_msg_id, sequence, status, update_time)
)
"""
#: Columns of :meth:`ReportStore.frame` (all text except total/sequence; ``update_time`` '' when absent).
STORE_COLUMNS: tuple[str, ...] = (*WIRE_COLUMNS, "extra", "received_at")
_INSERT = (
    "INSERT OR IGNORE INTO status_reports (sms_msg_id, status, status_desc, org_code, source, update_time, "
    'total, sequence, extend, "to", extra, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
)
_STOP = object()


def is_report_store(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an SQLite file (any SQLite file: the store check happens on open)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _row(report: StatusReport, received_at: str) -> tuple[object, ...]:
    update = report.update_time.astimezone(UTC).strftime(UPDATE_TIME_FORMAT) if report.update_time else ""
    extra = json.dumps(dict(report.extra), ensure_ascii=False, sort_keys=True) if report.extra else None
    return (
        report.sms_msg_id,
        report.status,
        report.status_desc,
        report.org_code,
        report.source,
        update,
        report.total,
        report.sequence,
        report.extend,
        report.to,
        extra,
        received_at,
    )


def _connect(path: Path, *, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app_id != _APPLICATION_ID and tables:
        conn.close()
        raise ReportError(
            f"{path} is an SQLite file but not a smskit report store",
            advice="pass the .sqlite file a CallbackReceiver wrote, or a new path",
        )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    if app_id != _APPLICATION_ID:
        conn.execute(f"PRAGMA application_id={_APPLICATION_ID}")
    conn.execute(_SCHEMA)
    return conn


class ReportStore:
    """Durable, de-duplicating store of status reports; safe to share between threads.

    Writes go through one writer thread (:meth:`submit` returns a future resolved after commit);
    reads (:meth:`frame`) use their own connection, which WAL lets run beside the writer.
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL", max_batch: int = 5000) -> None:
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL (NORMAL survives kill -9, not power loss)")
        self.path = Path(path)
        self._synchronous = synchronous.upper()
        self._max_batch = max_batch
        self._conn = _connect(self.path, synchronous=self._synchronous)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="smskit-report-writer", daemon=True)
        self._writer.start()

    def __repr__(self) -> str:
        return f"ReportStore({str(self.path)!r})"

    # --- writing --------------------------------------------------------------------------------------

    def submit(self, reports: Sequence[StatusReport]) -> Future[int]:
        """Queue ``reports`` for the next group commit; the future gives the number of new rows."""
        fut: Future[int] = Future()
        with self._lock:
            if self._closed:
                raise ReportError(f"{self!r} is closed", advice="open a new ReportStore")
            self._queue.put((list(reports), fut))
        return fut

    def add(self, reports: Iterable[StatusReport]) -> int:
        """Store ``reports`` and wait for the commit; returns how many were new (duplicates are skipped)."""
        return self.submit(list(reports)).result()

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            rows = len(item[0])  # type: ignore[index]
            stop = False
            while rows < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
                rows += len(nxt[0])  # type: ignore[index]
            self._commit(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _commit(self, batch: list[tuple[list[StatusReport], Future[int]]]) -> None:
        conn = self._conn
        received = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        added: list[int] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for reports, _ in batch:
                before = conn.total_changes
                conn.executemany(_INSERT, [_row(r, received) for r in reports])
                added.append(conn.total_changes - before)
            conn.execute("COMMIT")
        except Exception as exc:  # every waiter must learn that its batch failed
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _, fut in batch:
                fut.set_exception(exc)
            return
        for (_, fut), n in zip(batch, added, strict=True):
            fut.set_result(n)

    # --- reading --------------------------------------------------------------------------------------

    def frame(self) -> pd.DataFrame:
        """Every stored report as raw columns (:data:`STORE_COLUMNS`), in arrival order."""
        return read_store_frame(self.path)

    def count(self) -> int:
        conn = sqlite3.connect(self.path)  # `with` on a connection commits but does not close it
        try:
            return int(conn.execute("SELECT count(*) FROM status_reports").fetchone()[0])
        finally:
            conn.close()

    # --- lifecycle ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Commit what is queued, stop the writer and close the database."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join()
        self._conn.close()

    def __enter__(self) -> ReportStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_store_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a report store's rows without opening it for writing (works while a receiver runs)."""
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path} does not exist", advice="pass the store a CallbackReceiver wrote")
    conn = sqlite3.connect(path, timeout=30)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id != _APPLICATION_ID:
            raise ReportError(
                f"{path} is not a smskit report store",
                advice="pass the .sqlite file a CallbackReceiver wrote",
            )
        cols = ", ".join(f'"{c}"' for c in STORE_COLUMNS)
        cur = conn.execute(f"SELECT {cols} FROM status_reports ORDER BY id")  # noqa: S608 - fixed names
        rows = cur.fetchall()
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{path} cannot be read as a report store: {exc}", advice="check the path") from exc
    finally:
        conn.close()
    frame = pd.DataFrame.from_records(rows, columns=list(STORE_COLUMNS))
    return frame
