"""Benchmark: the ledger's cost per request, with leases and atomic claims, against the first release's ledger.

A 1M-recipient campaign (numbers in random order, as in a real file) is 2,000 requests of 500
numbers. Per request the ledger commits twice (``synchronous=FULL``, WAL): once before the call
(the first release: an unconditional UPDATE to ``in_flight``; now: one check-and-set claim that also
checks the lease) and once after it (the outcome and 500 rows). The new ledger also records every
request's items up front (who each request carries), runs a lease heartbeat thread, reads the
campaign's history first, and keeps the index the repeat check needs. No HTTP: only ledger work is
timed.

Baseline in the same run: the first release's write pattern, copied below (``OldLedger``) — its
schema, its ``open_campaign`` and its ``(sql, params, many)`` transactions — since the package no
longer has it. Each round runs both, back to back in fresh files (alternating which goes first); the
median of the rounds' ratios is reported, since the disk's fsync time drifts between rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smskit.campaign.ledger import Ledger, params_key

TEMPLATE = "bfccfa780ff5e8f11245b2dfbc82efae"

# ---------------------------------------------------------------------------- the first release's ledger

OLD_SCHEMA = """
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
    state       TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'done', 'unknown')),
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
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class OldLedger:
    """The first release's write pattern, verbatim in its SQL and transactions."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(OLD_SCHEMA)
        self._lock = threading.Lock()

    def _write(self, statements: Iterable[tuple[str, Any, bool]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params, many in statements:
                    if many:
                        self._db.executemany(sql, params)
                    else:
                        self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def open_campaign(self, campaign_id: str, *, fingerprint: str, n_requests: int) -> None:
        self._write(
            [
                (
                    "INSERT INTO campaigns (campaign_id, fingerprint, n_requests, created_at, meta) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (campaign_id, fingerprint, n_requests, _now(), json.dumps({})),
                    False,
                ),
                (
                    "INSERT INTO requests (campaign_id, request_no, state) VALUES (?, ?, 'pending')",
                    [(campaign_id, n) for n in range(n_requests)],
                    True,
                ),
            ]
        )

    def mark_in_flight(self, campaign_id: str, request_no: int, *, extend: str) -> None:
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

    def record(self, campaign_id: str, request_no: int, *, code: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self._write(
            [
                (
                    "UPDATE requests SET state = ?, code = ?, finished_at = ? WHERE campaign_id = ? AND request_no = ?",
                    ("done", code, _now(), campaign_id, request_no),
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

    def close(self) -> None:
        self._db.close()


# ---------------------------------------------------------------------------- the campaign both ledgers record


def campaign_numbers(n: int) -> list[str]:
    """``n`` distinct Singapore mobile numbers in random (fixed-seed) order."""
    return [f"+65{x}" for x in random.Random(7).sample(range(80_000_000, 99_999_999), n)]


NUMBERS: list[str] = []


def numbers(request_no: int, size: int) -> list[str]:
    return NUMBERS[request_no * size : (request_no + 1) * size]


def run_old(path: Path, n_requests: int, size: int) -> float:
    started = time.perf_counter()
    book = OldLedger(path)
    book.open_campaign("bench", fingerprint="f" * 64, n_requests=n_requests)
    for no in range(n_requests):
        book.mark_in_flight("bench", no, extend=f"bench:{no}")
        at = _now()
        rows = [
            (no * size + i, n, f"id-{no}-{i}", "000000", "accepted", None, at) for i, n in enumerate(numbers(no, size))
        ]
        book.record("bench", no, code="000000", rows=rows)
    book.close()
    return time.perf_counter() - started


def run_new(path: Path, n_requests: int, size: int) -> float:
    started = time.perf_counter()
    key = params_key(["123456"])
    with Ledger(path) as book, book.acquire("bench", fingerprint="f" * 64) as lease:
        book.history("bench")  # what a run reads before it sends
        first = lease.next_request_no()
        lease.add_requests(
            [
                (
                    first + no,
                    f"bench:{first + no}",
                    [(TEMPLATE, key, range(no * size, (no + 1) * size), numbers(no, size))],
                )
                for no in range(n_requests)
            ]
        )
        for no in range(n_requests):
            if not lease.claim(first + no):
                raise RuntimeError("claim refused")
            at = datetime.now(UTC).isoformat(timespec="microseconds")
            lease.record(
                first + no,
                state="done",
                code="000000",
                rows=[(f"id-{no}-{i}", "000000", "accepted", None, at) for i in range(size)],
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=500, help="numbers per request")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="folder for the ledger files (default: a temporary one)")
    args = parser.parse_args()
    n_requests = args.recipients // args.size
    NUMBERS[:] = campaign_numbers(n_requests * args.size)
    times: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for name in order:
                path = Path(folder) / f"{name}-{r}.sqlite"
                runner = run_old if name == "old" else run_new
                times[name].append(runner(path, n_requests, args.size))
                path.unlink()
        resume_path = Path(folder) / "resume.sqlite"
        run_new(resume_path, n_requests, args.size)
        with Ledger(resume_path) as book:
            started = time.perf_counter()
            history = book.history("bench")
            resume_s = time.perf_counter() - started
            started = time.perf_counter()
            repeats = book.contacts(NUMBERS, [TEMPLATE] * len(NUMBERS), since=datetime(2000, 1, 1, tzinfo=UTC))
            repeat_s = time.perf_counter() - started
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    paired = [n / o for o, n in zip(times["old"], times["new"], strict=True)]  # each round ran both, back to back
    print(f"{args.recipients:,} recipients in {n_requests:,} requests of {args.size}; median of {args.rounds} rounds")
    print(f"first release's ledger (baseline): {old:.2f} s, {old / n_requests * 1e3:.2f} ms per request")
    print(f"claims + leases:                   {new:.2f} s, {new / n_requests * 1e3:.2f} ms per request")
    print(
        f"ratio new/old: {statistics.median(paired):.3f} (median of the rounds' ratios; "
        f"{min(paired):.3f}–{max(paired):.3f}; ratio of medians {new / old:.3f}; target: at most 1.10)"
    )
    print(
        "rounds (s): old "
        + " ".join(f"{t:.2f}" for t in times["old"])
        + " / new "
        + " ".join(f"{t:.2f}" for t in times["new"])
    )
    print(f"re-run: reading the campaign's history ({len(history):,} recipients) took {resume_s:.2f} s")
    print(f"repeat check of {len(NUMBERS):,} numbers against the ledger ({len(repeats):,} found) took {repeat_s:.2f} s")


if __name__ == "__main__":
    main()
