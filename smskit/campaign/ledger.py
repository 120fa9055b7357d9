"""The SQLite ledger: a team's contact history, and what makes campaigns resumable and never twice.

One file holds every campaign sent with it. Per campaign:

* a **lease** (``campaigns.lease_owner`` / ``lease_expires``): one run at a time holds it, a heartbeat
  thread keeps it fresh, and it expires (or its process is seen dead on this host) so a crashed run
  does not block forever. A second run of the same campaign waits or stops with
  :class:`~smskit.errors.ConcurrentRunError`; it never sends what the first one owns, and never turns
  the first one's in-flight requests into ``unknown``;
* **requests** (one per API call, numbered across runs so each ``extend`` is unique) with their
  **items** (template, params and numbers of each API item), recorded ``pending`` before anything is
  sent; a request is **claimed** ``pending → in_flight`` by one statement that checks the state and
  the lease and sets the state, committed *before* the call is made; then ``done`` (answered),
  ``unknown`` (it may have been processed) or ``pending`` again (refused with nothing sent);
* **rows** (one per number of a request that ended: its outcome). A recipient is identified by
  ``(number, template, params)``: a re-run resumes by recipient, so an edited file (rows appended,
  fixed, reordered) sends only what the ledger has not seen accepted or possibly sent.

When a run takes the lease, requests a previous run left ``in_flight`` become ``unknown``, and so do
the rows of their items: they may have reached the platform. Across campaigns,
:meth:`Ledger.contacts` answers "which of these numbers were accepted for this template since …?"
from the requests answered in that window (index ``requests_by_time``), which the planner uses to
suppress repeats.

The schema has a version (``PRAGMA user_version``, :data:`SCHEMA_VERSION`); a ledger written by an
earlier smskit is migrated in place when opened. A file that cannot be read raises
:class:`~smskit.errors.LedgerError` saying what the ledger last knew and how to inspect it.

>>> with Ledger("contacts.sqlite") as ledger:  # doctest: +SKIP
...     smskit.send_campaign(plan, client=client, ledger=ledger)
"""

from __future__ import annotations

import html
import json
import operator
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from smskit.campaign.states import REQUEST_STATES, RESULT_STATES, SETTLED_STATES
from smskit.errors import ConcurrentRunError, LedgerError

__all__ = ["LEASE_TTL", "SCHEMA_VERSION", "Item", "Lease", "Ledger", "OutcomeRow", "new_owner", "params_key"]

#: ``PRAGMA user_version`` of the current schema (0 = the first release's, migrated on open).
SCHEMA_VERSION = 2
#: Seconds a lease lasts without a heartbeat; the heartbeat renews it every third of that.
LEASE_TTL = 30.0

_STATES_SQL = ", ".join(f"'{s}'" for s in REQUEST_STATES)
_RESULT_STATES = frozenset(RESULT_STATES)

# rows.state is checked in Lease.record, not by a CHECK: SQLite re-evaluates an IN list per inserted row,
# which would cost more than the rest of the insert. WITHOUT ROWID: the rows live in their key's b-tree,
# one b-tree insert per row instead of two.
_ROWS_TABLE = """
CREATE TABLE rows (
    campaign_id TEXT NOT NULL,
    request_no  INTEGER NOT NULL,
    slot        INTEGER NOT NULL,
    item_no     INTEGER,
    position    INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    sms_msg_id  TEXT,
    status      TEXT,
    state       TEXT NOT NULL,
    error       TEXT,
    sent_at     TEXT,
    PRIMARY KEY (campaign_id, request_no, slot)
) WITHOUT ROWID"""
_ITEMS_TABLE = """
CREATE TABLE items (
    campaign_id TEXT NOT NULL,
    request_no  INTEGER NOT NULL,
    item_no     INTEGER NOT NULL,
    template_id TEXT NOT NULL,
    params      TEXT NOT NULL,
    numbers     TEXT NOT NULL,
    PRIMARY KEY (campaign_id, request_no, item_no)
)"""
_TABLES = [
    """
CREATE TABLE campaigns (
    campaign_id   TEXT PRIMARY KEY,
    fingerprint   TEXT NOT NULL DEFAULT '',
    n_requests    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    meta          TEXT NOT NULL DEFAULT '{}',
    lease_owner   TEXT,
    lease_expires REAL
)""",
    f"""
CREATE TABLE requests (
    campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
    request_no  INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ({_STATES_SQL})),
    extend      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    code        TEXT,
    started_at  TEXT,
    finished_at TEXT,
    owner       TEXT,
    PRIMARY KEY (campaign_id, request_no)
)""",
    _ITEMS_TABLE,
    _ROWS_TABLE,
]
# The repeat check reads the rows of the requests answered within a window. Indexing requests by time costs
# one entry per request; an index of rows by number would touch a random page per recipient and multiply
# the cost of every record.
_INDEX = "CREATE INDEX IF NOT EXISTS requests_by_time ON requests (finished_at)"
# From the first release's tables (user_version 0): rows had no template/params and were keyed by position.
_MIGRATE_FROM_0 = [
    "ALTER TABLE campaigns ADD COLUMN lease_owner TEXT",
    "ALTER TABLE campaigns ADD COLUMN lease_expires REAL",
    "ALTER TABLE requests ADD COLUMN owner TEXT",
    "ALTER TABLE rows RENAME TO rows_v0",
    _ITEMS_TABLE,
    _ROWS_TABLE,
    "INSERT INTO rows (campaign_id, request_no, slot, position, recipient, sms_msg_id, status, state, error, sent_at) "
    "SELECT campaign_id, request_no, position, position, recipient, sms_msg_id, status, state, error, sent_at "
    "FROM rows_v0",
    "DROP TABLE rows_v0",
]

Item = tuple[str, str, Sequence[int], Sequence[str]]
"""One API item of a request: (template_id, params as :func:`params_key` text, plan positions, numbers).
The ledger stores the item without the positions (they belong to one run's plan)."""
OutcomeRow = tuple[str | None, str | None, str, str | None, str | None]
"""(sms_msg_id, status, state, error, sent_at ISO-8601) of one number of a request, in the request's order."""
_INSERT_ROWS = (
    "INSERT OR REPLACE INTO rows (campaign_id, request_no, slot, item_no, position, recipient, sms_msg_id, status, "
    "state, error, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ITEMS = (
    "INSERT OR IGNORE INTO items (campaign_id, request_no, item_no, template_id, params, numbers) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


# the rows accepted since ? of the requests answered since ? (requests_by_time, then each request's rows), and
# those requests' items; matched to the wanted numbers and templates in pandas
_CONTACTS = (
    'SELECT r.recipient AS "to", r.campaign_id, r.request_no, COALESCE(r.item_no, -1) AS item_no, r.sent_at '
    "FROM requests q INDEXED BY requests_by_time "
    "CROSS JOIN rows r ON r.campaign_id = q.campaign_id AND r.request_no = q.request_no "  # CROSS JOIN: this order
    "WHERE q.finished_at >= ? AND r.sent_at >= ? AND r.state = 'accepted'"
)
_WINDOW_ITEMS = (
    "SELECT i.campaign_id, i.request_no, i.item_no, i.template_id FROM requests q INDEXED BY requests_by_time "
    "CROSS JOIN items i ON i.campaign_id = q.campaign_id AND i.request_no = q.request_no WHERE q.finished_at >= ?"
)


def _item_records(campaign_id: str, request_no: int, items: Sequence[Item]) -> list[tuple[Any, ...]]:
    return [
        (campaign_id, request_no, no, tpl, params, ",".join(numbers))
        for no, (tpl, params, _, numbers) in enumerate(items)
    ]


def _slots(campaign_id: str, request_no: int, items: Sequence[Item]) -> list[tuple[Any, ...]]:
    """(campaign_id, request_no, slot, item_no, position, number) for every number of a request, in send order."""
    out: list[tuple[Any, ...]] = []
    for item_no, (_, _, positions, numbers) in enumerate(items):
        base = len(out)
        out += [
            (campaign_id, request_no, base + i, item_no, p, n)
            for i, (p, n) in enumerate(zip(positions, numbers, strict=True))
        ]
    return out


def _stored_items(db: sqlite3.Connection, campaign_id: str, request_no: int) -> list[Item]:
    """A request's items as recorded; plan positions are not stored (-1: the run that planned them is gone)."""
    found = db.execute(
        "SELECT template_id, params, numbers FROM items WHERE campaign_id = ? AND request_no = ? ORDER BY item_no",
        (campaign_id, request_no),
    ).fetchall()
    return [(tpl, params, [-1] * (nums.count(",") + 1), nums.split(",")) for tpl, params, nums in found]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def params_key(params: Sequence[str]) -> str:
    """The text a recipient's template params are recorded (and matched) as."""
    return json.dumps(list(params), ensure_ascii=False, separators=(",", ":"))


def _machine() -> str:
    """This host and PID namespace: pids are only comparable between processes that share both."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}"


def new_owner() -> str:
    """A run's lease owner id: ``host/pid-namespace:pid:random`` (so a run on the same machine can see that
    the owner's process is gone)."""
    return f"{_machine()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` ran on this host, in this PID namespace, and its process no longer exists."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _machine() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Ledger:
    """Durable campaign state in SQLite (WAL, ``synchronous=FULL``); safe to share across threads and processes.

    >>> with Ledger("contacts.sqlite") as ledger:  # doctest: +SKIP
    ...     smskit.send_campaign(plan, client=client, ledger=ledger)
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if read_only:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30)
            else:
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            self._upgrade(read_only=read_only)
        except sqlite3.DatabaseError as exc:
            with suppress(Exception):
                self._db.close()
            raise self._unusable(exc) from exc

    # -- schema ------------------------------------------------------------------------------
    def _upgrade(self, *, read_only: bool) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {self.path} has schema version {version}; this smskit knows up to {SCHEMA_VERSION}",
                advice="upgrade smskit to use this ledger; keep the file: it is the record of who was messaged",
            )
        if read_only:
            return
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have upgraded it
            if version == SCHEMA_VERSION:
                return
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for statement in _MIGRATE_FROM_0 if "requests" in tables else _TABLES:
                db.execute(statement)
            db.execute(_INDEX)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with ledger.transaction() as db:`` — one ``BEGIN IMMEDIATE`` transaction, committed or rolled back."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._unusable(exc) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.IntegrityError):
                    raise self._unusable(exc) from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._unusable(exc) from exc

    def _frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self._lock:
            try:
                cursor = self._db.execute(sql, params)
                return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])
            except sqlite3.DatabaseError as exc:
                raise self._unusable(exc) from exc

    def _unusable(self, exc: sqlite3.DatabaseError) -> LedgerError:
        """A LedgerError for a ledger that cannot be read or written; its advice never leads to re-sending."""
        known = _last_known(self.path)
        query = "SELECT campaign_id, state, COUNT(*) FROM requests GROUP BY 1, 2"
        inspect = f'inspect it with: sqlite3 {self.path} "{query}" (or sqlite3 {self.path} .recover to salvage it); '
        return LedgerError(
            f"cannot use {self.path} as a ledger: {exc}. It last knew: {known}",
            advice=inspect + "do not start again with another ledger or campaign id: the recipients it recorded "
            "may already have been messaged; restore the file from a backup, or settle who was sent from the "
            "console's Send Details and earlier results files",
        )

    # -- campaigns and leases -------------------------------------------------------------------
    def acquire(
        self,
        campaign_id: str,
        *,
        owner: str | None = None,
        ttl: float = LEASE_TTL,
        wait: bool | float = False,
        fingerprint: str = "",
        meta: dict[str, Any] | None = None,
        heartbeat: bool = True,
    ) -> Lease:
        """Create ``campaign_id`` if new and take its lease (see :class:`Lease`).

        Requests a previous run left ``in_flight`` become ``unknown``. When another live run holds the
        lease: ``wait=False`` raises :class:`ConcurrentRunError`, ``wait=True`` waits for it, a number
        waits that many seconds at most.
        """
        owner = owner or new_owner()
        deadline = None if wait is True else time.monotonic() + (0.0 if wait is False else float(wait))
        while True:
            holder = self._try_acquire(campaign_id, owner, ttl, fingerprint, meta or {})
            if holder is None:
                return Lease(self, campaign_id, owner, ttl=ttl, heartbeat=heartbeat)
            if deadline is not None and time.monotonic() >= deadline:
                other, expires = holder
                until = datetime.fromtimestamp(expires, UTC).strftime("%H:%M:%S UTC")
                raise ConcurrentRunError(
                    f"another run of campaign {campaign_id!r} is active in {self.path} (lease held by {other} "
                    f"until {until}, renewed while it runs); this run sent nothing",
                    advice="wait for it to finish and run again (a re-run sends only what it did not), or pass "
                    "wait_for_lease=True to wait; if that run crashed on another machine, its lease expires "
                    f"within {ttl:.0f} s",
                )
            time.sleep(min(0.25, ttl / 4))

    def _try_acquire(
        self, campaign_id: str, owner: str, ttl: float, fingerprint: str, meta: dict[str, Any]
    ) -> tuple[str, float] | None:
        """Take the lease in one transaction; ``None`` when taken, else the live holder and its expiry."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO campaigns (campaign_id, fingerprint, n_requests, created_at, meta) VALUES (?, ?, 0, ?, ?) "
                "ON CONFLICT (campaign_id) DO NOTHING",
                (campaign_id, fingerprint, _now(), json.dumps(meta)),
            )
            holder, expires = db.execute(
                "SELECT lease_owner, lease_expires FROM campaigns WHERE campaign_id = ?", (campaign_id,)
            ).fetchone()
            if holder and holder != owner and (expires or 0) > now and not _owner_is_dead(holder):
                return str(holder), float(expires)
            db.execute(
                "UPDATE campaigns SET lease_owner = ?, lease_expires = ? WHERE campaign_id = ?",
                (owner, now + ttl, campaign_id),
            )
            stale = db.execute(
                "SELECT request_no FROM requests WHERE campaign_id = ? AND state = 'in_flight'", (campaign_id,)
            ).fetchall()
            stamp = _now()
            for (request_no,) in stale:  # a previous run's calls in flight may have reached the platform
                db.execute(
                    "UPDATE requests SET state = 'unknown', finished_at = ? WHERE campaign_id = ? AND request_no = ?",
                    (stamp, campaign_id, request_no),
                )
                db.executemany(
                    _INSERT_ROWS,
                    [
                        (*slot, None, None, "unknown", "in flight when its run stopped", None)
                        for slot in _slots(campaign_id, request_no, _stored_items(db, campaign_id, request_no))
                    ],
                )
        return None

    def renew(self, campaign_id: str, owner: str, ttl: float = LEASE_TTL) -> bool:
        """Extend ``owner``'s lease by ``ttl`` seconds from now; False when it no longer holds it."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE campaigns SET lease_expires = ? WHERE campaign_id = ? AND lease_owner = ?",
                (time.time() + ttl, campaign_id, owner),
            )
            return cursor.rowcount == 1

    def release(self, campaign_id: str, owner: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE campaigns SET lease_owner = NULL, lease_expires = NULL "
                "WHERE campaign_id = ? AND lease_owner = ?",
                (campaign_id, owner),
            )

    # -- history --------------------------------------------------------------------------------
    def history(self, campaign_id: str) -> pd.DataFrame:
        """Each recipient this campaign has tried, with its best outcome so far.

        One row per ``(to, template_id, params)`` (params as :func:`params_key` text; template and params
        are NA for rows an earlier smskit recorded): state and settled (the best attempt by
        :data:`~smskit.campaign.states.SETTLED_STATES` — accepted, else unknown, else rejected in an
        answered request — is settled; otherwise the latest attempt, not settled), sms_msg_id, status,
        error, sent_at, request_no, extend.
        """
        rows = self._frame(
            'SELECT recipient AS "to", request_no, COALESCE(item_no, -1) AS item_no, state, sms_msg_id, status, '
            "error, sent_at FROM rows WHERE campaign_id = ?",
            (campaign_id,),
        )
        items = self._frame(
            "SELECT request_no, item_no, template_id, params FROM items WHERE campaign_id = ?", (campaign_id,)
        )
        requests = self._frame(
            "SELECT request_no, extend, state AS request_state FROM requests WHERE campaign_id = ?", (campaign_id,)
        )
        frame = rows.merge(items, on=["request_no", "item_no"], how="left").merge(requests, on="request_no", how="left")
        rank = frame["state"].map({state: i for i, state in enumerate(SETTLED_STATES)})
        refused = frame["state"].eq("rejected") & frame["request_state"].ne("done")  # the request sent nothing
        frame["settled"] = rank.notna() & ~refused
        frame = frame.assign(_rank=rank.where(frame["settled"], len(SETTLED_STATES)), _latest=-frame["request_no"])
        frame = frame.sort_values(["_rank", "_latest"], kind="stable")
        keys = ["to", "template_id", "params"]
        columns = [*keys, "state", "settled", "sms_msg_id", "status", "error", "sent_at", "request_no", "extend"]
        best = frame.drop_duplicates(keys)[columns].reset_index(drop=True)
        best["sent_at"] = pd.to_datetime(best["sent_at"], utc=True, format="ISO8601")
        return best

    def contacts(self, to: Sequence[str], template_id: Sequence[str], *, since: datetime) -> pd.DataFrame:
        """Numbers accepted for a template since ``since``, across every campaign: the latest per pair.

        ``to`` and ``template_id`` are aligned (one pair per element). Returns to, template_id,
        campaign_id, sent_at (UTC). Reads only the rows of the requests answered since ``since`` (index
        ``requests_by_time``) and matches them in pandas. A row an earlier smskit recorded without its
        template counts for every template (the safe reading).
        """
        columns = ["to", "template_id", "campaign_id", "sent_at"]
        since_text = since.astimezone(UTC).isoformat(timespec="microseconds")
        window = self._frame(_CONTACTS, (since_text, since_text))
        window = window[window["to"].isin(set(to))]
        items = self._frame(_WINDOW_ITEMS, (since_text,))
        window = window.merge(items, on=["campaign_id", "request_no", "item_no"], how="left")
        window["sent_at"] = pd.to_datetime(window["sent_at"], utc=True, format="ISO8601")
        wanted = pd.DataFrame({"to": pd.Series(to, dtype=object), "template_id": pd.Series(template_id, dtype=object)})
        wanted = wanted.drop_duplicates()
        known = window[window["template_id"].notna()]
        legacy = window[window["template_id"].isna()].drop(columns="template_id")
        found = pd.concat(
            [wanted.merge(known, on=["to", "template_id"]), wanted.merge(legacy, on="to")], ignore_index=True
        )
        found = found.sort_values("sent_at", kind="stable").drop_duplicates(["to", "template_id"], keep="last")
        return found[columns].reset_index(drop=True)

    def legacy_requests(self, campaign_id: str) -> list[int]:
        """Requests an earlier smskit left ``unknown``/``in_flight`` without recording their recipients."""
        rows = self._read(
            "SELECT q.request_no FROM requests q WHERE q.campaign_id = ? AND q.state IN ('unknown', 'in_flight') "
            "AND NOT EXISTS (SELECT 1 FROM rows r WHERE r.campaign_id = q.campaign_id AND r.request_no = q.request_no) "
            "AND NOT EXISTS (SELECT 1 FROM items i "
            "WHERE i.campaign_id = q.campaign_id AND i.request_no = q.request_no)",
            (campaign_id,),
        )
        return [int(r[0]) for r in rows]

    def fingerprint(self, campaign_id: str) -> str | None:
        found = self._read("SELECT fingerprint FROM campaigns WHERE campaign_id = ?", (campaign_id,))
        return str(found[0][0]) if found else None

    # -- views -----------------------------------------------------------------------------------
    def rows(self, campaign_id: str) -> pd.DataFrame:
        """Recorded per-recipient rows: position, to, template_id, params, sms_msg_id, status, state, error,
        sent_at, request_no (in request order). ``position`` is the row's place in the plan of the run that
        sent it (-1 for the rows of a call that was in flight when its run died)."""
        frame = self._frame(
            'SELECT r.position, r.recipient AS "to", i.template_id, i.params, r.sms_msg_id, r.status, r.state, '
            "r.error, r.sent_at, r.request_no FROM rows r LEFT JOIN items i ON i.campaign_id = r.campaign_id "
            "AND i.request_no = r.request_no AND i.item_no = r.item_no WHERE r.campaign_id = ? "
            "ORDER BY r.request_no, r.slot",
            (campaign_id,),
        )
        frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601")
        return frame

    def requests(self, campaign_id: str | None = None) -> pd.DataFrame:
        """One row per request: campaign_id, request_no, state, extend, attempts, code, started_at, finished_at,
        owner."""
        return self._frame(
            "SELECT * FROM requests WHERE ? IS NULL OR campaign_id = ? ORDER BY 1, 2", (campaign_id, campaign_id)
        )

    def campaigns(self) -> pd.DataFrame:
        """One row per campaign: campaign_id, fingerprint, created_at, lease_owner, lease_expires (UTC)."""
        frame = self._frame(
            "SELECT campaign_id, fingerprint, created_at, lease_owner, lease_expires FROM campaigns ORDER BY created_at"
        )
        frame["lease_expires"] = pd.to_datetime(frame["lease_expires"], unit="s", utc=True)
        return frame

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


class Lease:
    """A run's hold on one campaign: claims and records go through it; a heartbeat thread renews it.

    Use as a context manager (released on exit). Every claim checks in SQL that this lease is still
    held, so a run that lost it (stalled past the expiry) can no longer claim anything.
    """

    def __init__(self, ledger: Ledger, campaign_id: str, owner: str, *, ttl: float, heartbeat: bool) -> None:
        self.ledger = ledger
        self.campaign_id = campaign_id
        self.owner = owner
        self.ttl = ttl
        self.lost = threading.Event()
        self._items: dict[int, Sequence[Item]] = {}  # this run's requests, until recorded
        self._items_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if heartbeat:
            self._thread = threading.Thread(target=self._beat, name=f"smskit-lease-{campaign_id}", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                held = self.ledger.renew(self.campaign_id, self.owner, self.ttl)
            except (LedgerError, sqlite3.Error):
                held = False
            if not held:
                self.lost.set()
                return

    def next_request_no(self) -> int:
        found = self.ledger._read(
            "SELECT COALESCE(MAX(request_no) + 1, 0) FROM requests WHERE campaign_id = ?", (self.campaign_id,)
        )
        return int(found[0][0])

    def add_requests(self, requests: Sequence[tuple[int, str, Sequence[Item]]]) -> None:
        """Record this run's requests as ``pending`` with their items: ``(request_no, extend, items)``.

        The items say who each request carries, so a request that was in flight when its run died can
        still be settled recipient by recipient.
        """
        with self.ledger.transaction() as db:
            db.executemany(
                "INSERT INTO requests (campaign_id, request_no, state, extend) VALUES (?, ?, 'pending', ?)",
                [(self.campaign_id, no, extend) for no, extend, _ in requests],
            )
            db.executemany(
                _INSERT_ITEMS, [r for no, _, items in requests for r in _item_records(self.campaign_id, no, items)]
            )
            db.execute(
                "UPDATE campaigns SET n_requests = n_requests + ? WHERE campaign_id = ?",
                (len(requests), self.campaign_id),
            )
        with self._items_lock:
            self._items.update({no: items for no, _, items in requests})

    def claim(self, request_no: int) -> bool:
        """``pending → in_flight`` if the request is still pending and this lease is still held: one statement
        that checks and sets, committed before the call is made."""
        with self.ledger.transaction() as db:
            cursor = db.execute(
                "UPDATE requests SET state = 'in_flight', owner = ?, attempts = attempts + 1, started_at = ? "
                "WHERE campaign_id = ? AND request_no = ? AND state = 'pending' AND EXISTS ("
                "SELECT 1 FROM campaigns c WHERE c.campaign_id = requests.campaign_id "
                "AND c.lease_owner = ? AND c.lease_expires > ?)",
                (self.owner, _now(), self.campaign_id, request_no, self.owner, time.time()),
            )
            return cursor.rowcount == 1

    def record(self, request_no: int, *, state: str, code: str | None, rows: Sequence[OutcomeRow] = ()) -> None:
        """Commit a claimed request's outcome and one row per number (in send order) in one transaction."""
        if state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {state!r}")
        if unknown := set(map(operator.itemgetter(2), rows)) - _RESULT_STATES - {None}:
            raise ValueError(f"unknown row state(s) {sorted(unknown)}")
        with self._items_lock:
            items = self._items.get(request_no, ())
        with self.ledger.transaction() as db:
            db.execute(
                "UPDATE requests SET state = ?, code = ?, finished_at = ? "
                "WHERE campaign_id = ? AND request_no = ? AND owner = ?",
                (state, code, _now(), self.campaign_id, request_no, self.owner),
            )
            slots = _slots(self.campaign_id, request_no, items)
            if len(slots) != len(rows):
                raise ValueError(f"request {request_no} carries {len(slots)} numbers, {len(rows)} outcomes given")
            db.executemany(_INSERT_ROWS, map(operator.add, slots, rows))
        with self._items_lock:
            self._items.pop(request_no, None)

    def adopt(self, request_no: int, items: Sequence[Item]) -> None:
        """Record the items of a request an earlier smskit left unknown without its recipients; rows ``unknown``."""
        with self.ledger.transaction() as db:
            db.executemany(_INSERT_ITEMS, _item_records(self.campaign_id, request_no, items))
            db.executemany(
                _INSERT_ROWS,
                [
                    (*slot, None, None, "unknown", "in flight when its run stopped", None)
                    for slot in _slots(self.campaign_id, request_no, items)
                ],
            )
            db.execute(
                "UPDATE requests SET state = 'unknown' WHERE campaign_id = ? AND request_no = ?",
                (self.campaign_id, request_no),
            )

    def describe_legacy(self, request_no: int, items: Sequence[Item]) -> None:
        """Tie rows an earlier smskit recorded by plan position (without template or params) to their items."""
        with self.ledger.transaction() as db:
            db.executemany(_INSERT_ITEMS, _item_records(self.campaign_id, request_no, items))
            db.executemany(
                "UPDATE rows SET item_no = ? WHERE campaign_id = ? AND request_no = ? AND position = ? "
                "AND recipient = ? AND item_no IS NULL",
                [
                    (item_no, cid, no, pos, to)
                    for cid, no, _, item_no, pos, to in _slots(self.campaign_id, request_no, items)
                ],
            )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        with suppress(LedgerError, sqlite3.Error):
            self.ledger.release(self.campaign_id, self.owner)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _last_known(path: Path) -> str:
    """What a damaged ledger can still tell (best effort, read-only): requests per campaign and state."""
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return "nothing readable"
    try:
        found = db.execute(
            "SELECT campaign_id, state, COUNT(*), MAX(COALESCE(finished_at, started_at)) FROM requests GROUP BY 1, 2"
        ).fetchall()
    except sqlite3.Error:
        return "nothing readable (the file is not a readable SQLite database)"
    finally:
        db.close()
    if not found:
        return "no requests"
    return "; ".join(f"campaign {c!r}: {n} request(s) {s} (last change {t or '?'})" for c, s, n, t in found)
