"""A SQLite ledger that makes campaigns resumable and never sends twice.

Every request is written as ``in_flight`` (and committed) *before* it is sent, and its outcome
after, in one transaction with its per-recipient rows. After a crash (even ``kill -9``), re-running
the same campaign with the same ledger:

* requests that were answered (``done``) are not sent again, their rows are read back;
* requests that were ``in_flight`` become ``unknown``: they may have reached the platform;
* requests never attempted, or refused with nothing sent (``pending``), are sent.

A ledger remembers the plan's fingerprint and refuses a different plan under the same campaign id.
"""

from __future__ import annotations

import html
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from smskit.campaign.states import REQUEST_STATES
from smskit.errors import LedgerError

__all__ = ["Ledger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    n_requests  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    meta        TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS requests (
    campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
    request_no  INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN (@REQUEST_STATES@)),
    extend      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    code        TEXT,
    started_at  TEXT,
    finished_at TEXT,
    PRIMARY KEY (campaign_id, request_no)
);
CREATE TABLE IF NOT EXISTS rows (
    campaign_id TEXT NOT NULL,
    request_no  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    sms_msg_id  TEXT,
    status      TEXT,
    state       TEXT NOT NULL,
    error       TEXT,
    sent_at     TEXT,
    PRIMARY KEY (campaign_id, position)
);
""".replace("@REQUEST_STATES@", ", ".join(f"'{s}'" for s in REQUEST_STATES))

RowRecord = tuple[int, str, str | None, str | None, str, str | None, str | None]
"""(position, to, sms_msg_id, status, state, error, sent_at ISO-8601)"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Ledger:
    """Durable campaign state in SQLite (WAL, ``synchronous=FULL``); safe to share across threads.

    >>> with Ledger("campaign.sqlite") as ledger:  # doctest: +SKIP
    ...     smskit.send_campaign(plan, client=client, ledger=ledger)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"cannot use {self.path} as a ledger: {exc}", advice="give a new file name or a smskit ledger"
            ) from exc
        self._lock = threading.Lock()

    # -- transactions -------------------------------------------------------------------------
    def _write(self, statements: Iterable[tuple[str, Sequence[Any] | Iterable[Sequence[Any]], bool]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params, many in statements:
                    if many:
                        self._db.executemany(sql, params)
                    else:
                        self._db.execute(sql, params)  # type: ignore[arg-type]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- campaign ---------------------------------------------------------------------------
    def open_campaign(
        self, campaign_id: str, *, fingerprint: str, n_requests: int, meta: dict[str, Any] | None = None
    ) -> bool:
        """Start or resume ``campaign_id``; returns True when resuming. In-flight requests become unknown."""
        found = self._read("SELECT fingerprint, n_requests FROM campaigns WHERE campaign_id = ?", (campaign_id,))
        if found:
            if found[0][0] != fingerprint or found[0][1] != n_requests:
                raise LedgerError(
                    f"ledger {self.path} recorded a different plan for campaign {campaign_id!r}",
                    advice="re-run with the same recipients and options, or use a new campaign_id or ledger file",
                )
            self._write(
                [
                    (
                        "UPDATE requests SET state = 'unknown', finished_at = ? "
                        "WHERE campaign_id = ? AND state = 'in_flight'",
                        (_now(), campaign_id),
                        False,
                    )
                ]
            )
            return True
        self._write(
            [
                (
                    "INSERT INTO campaigns (campaign_id, fingerprint, n_requests, created_at, meta) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (campaign_id, fingerprint, n_requests, _now(), json.dumps(meta or {})),
                    False,
                ),
                (
                    "INSERT INTO requests (campaign_id, request_no, state) VALUES (?, ?, 'pending')",
                    [(campaign_id, n) for n in range(n_requests)],
                    True,
                ),
            ]
        )
        return False

    def request_states(self, campaign_id: str) -> dict[int, str]:
        rows = self._read("SELECT request_no, state FROM requests WHERE campaign_id = ?", (campaign_id,))
        return {int(n): str(state) for n, state in rows}

    def mark_in_flight(self, campaign_id: str, request_no: int, *, extend: str) -> None:
        """Commit that ``request_no`` is about to be sent (call this *before* sending)."""
        self._write(
            [
                (
                    "UPDATE requests SET state = 'in_flight', extend = ?, attempts = attempts + 1, started_at = ? "
                    "WHERE campaign_id = ? AND request_no = ?",
                    (extend, _now(), campaign_id, request_no),
                    False,
                )
            ]
        )

    def record(
        self,
        campaign_id: str,
        request_no: int,
        *,
        state: str,
        code: str | None,
        rows: Sequence[RowRecord] = (),
    ) -> None:
        """Commit a request's outcome and its recipients' rows in one transaction."""
        if state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {state!r}")
        self._write(
            [
                (
                    "UPDATE requests SET state = ?, code = ?, finished_at = ? WHERE campaign_id = ? AND request_no = ?",
                    (state, code, _now(), campaign_id, request_no),
                    False,
                ),
                (
                    "INSERT OR REPLACE INTO rows (campaign_id, request_no, position, recipient, sms_msg_id, status, "
                    "state, error, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(campaign_id, request_no, *row) for row in rows],
                    True,
                ),
            ]
        )

    def rows(self, campaign_id: str) -> pd.DataFrame:
        """Recorded per-recipient rows: position, to, sms_msg_id, status, state, error, sent_at, request_no."""
        records = self._read(
            "SELECT position, recipient, sms_msg_id, status, state, error, sent_at, request_no FROM rows "
            "WHERE campaign_id = ? ORDER BY position",
            (campaign_id,),
        )
        columns = ["position", "to", "sms_msg_id", "status", "state", "error", "sent_at", "request_no"]
        frame = pd.DataFrame.from_records(records, columns=columns)
        frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601")
        return frame

    def requests(self, campaign_id: str | None = None) -> pd.DataFrame:
        """One row per request: campaign_id, request_no, state, extend, attempts, code, started_at, finished_at."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT * FROM requests WHERE ? IS NULL OR campaign_id = ? ORDER BY 1, 2", (campaign_id, campaign_id)
            )
            names = [d[0] for d in cursor.description]
            return pd.DataFrame.from_records(cursor.fetchall(), columns=names)

    def campaigns(self) -> pd.DataFrame:
        with self._lock:
            cursor = self._db.execute("SELECT campaign_id, fingerprint, n_requests, created_at FROM campaigns")
            return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def _repr_html_(self) -> str:
        summary = self._read("SELECT campaign_id, state, COUNT(*) FROM requests GROUP BY 1, 2 ORDER BY 1, 2")
        table = pd.DataFrame(summary, columns=["campaign_id", "state", "requests"])
        return f"<b>Ledger</b> <code>{html.escape(str(self.path))}</code>" + table.to_html(index=False, escape=True)
