"""ReportStore: group commit, duplicates once, WAL + FULL sync, refusing foreign files."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smskit.errors import ReportError
from smskit.reports.store import ReportStore, is_report_store, read_store_frame
from smskit.reports.wire import StatusReport

T = datetime(2026, 6, 24, 8, 0, tzinfo=UTC)


def test_duplicates_are_stored_once(tmp_path: Path) -> None:
    r = StatusReport("a_1", "DELIVRD", update_time=T)
    no_time = StatusReport("a_2", "EXPIRED")
    with ReportStore(tmp_path / "s.sqlite") as store:
        assert store.add([r, r, no_time]) == 2
        assert store.add([r, no_time]) == 0
        assert store.add([StatusReport("a_1", "DELIVRD", update_time=T, sequence=1, total=2)]) == 0
        assert store.add([StatusReport("a_1", "DELIVRD", update_time=T, sequence=2, total=2)]) == 1
        assert store.count() == 3


def test_concurrent_submits_are_group_committed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ReportStore(path) as store:

        def work(w: int) -> None:
            for n in range(100):
                store.add([StatusReport(f"w{w}-{n}", "DELIVRD", extra={"k": "v"})])

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    frame = read_store_frame(path)
    assert len(frame) == 800
    assert frame["extra"].iloc[0] == '{"k": "v"}'
    # fewer commits than pushes: 800 pushes landed in fewer distinct commit timestamps
    assert frame["received_at"].nunique() < 800


def test_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ReportStore(path) as store:
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert is_report_store(path)


def test_foreign_sqlite_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(ReportError, match="not a smskit report store"):
        ReportStore(other)
    with pytest.raises(ReportError, match="not a smskit report store"):
        read_store_frame(other)


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "s.sqlite")
    store.close()
    with pytest.raises(ReportError, match="closed"):
        store.add([StatusReport("a", "DELIVRD")])
