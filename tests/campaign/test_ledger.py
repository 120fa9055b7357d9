"""The SQLite ledger: leases, atomic claims, outcomes, history, repeats index, schema migration, damage."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from smskit.campaign.ledger import SCHEMA_VERSION, Ledger, new_owner, params_key
from smskit.errors import ConcurrentRunError, LedgerError

# The first release's schema, verbatim: the migration path starts here.
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

T = "tpl"
P = params_key(["123456"])


def request(no: int, numbers: list[str], campaign: str = "c1"):
    """(request_no, extend, items) of a one-item request carrying ``numbers``."""
    return (no, f"{campaign}:{no}", [(T, P, list(range(len(numbers))), numbers)])


def accepted(numbers: list[str], at: str = "2026-11-25T08:00:00.000000+00:00"):
    return [(f"id-{n}", "000000", "accepted", None, at) for n in numbers]


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_crashed_run_in_flight_becomes_unknown_for_the_next_run(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as ledger:
        lease = ledger.acquire("c1", ttl=0.3, heartbeat=False)
        lease.add_requests([request(0, ["+6591000000"]), request(1, ["+6591000001"]), request(2, ["+6591000002"])])
        assert lease.claim(0)
        lease.record(0, state="done", code="000000", rows=accepted(["+6591000000"]))
        assert lease.claim(1)  # the process "crashes" here: no record, no release
    time.sleep(0.4)  # its lease expires
    with Ledger(path) as ledger, ledger.acquire("c1", heartbeat=False):
        states = ledger.requests("c1").set_index("request_no")["state"].to_dict()
        assert states == {0: "done", 1: "unknown", 2: "pending"}
        history = ledger.history("c1").set_index("to")
        assert history.loc["+6591000000", "state"] == "accepted"
        assert history.loc["+6591000001", "state"] == "unknown"  # its items said who it carried
        assert "+6591000002" not in history.index  # never claimed: nothing to settle
        assert history.loc["+6591000000", "params"] == P
        assert str(history["sent_at"].dt.tz) == "UTC"


def test_claim_checks_and_sets_in_one_statement(tmp_path) -> None:
    with Ledger(tmp_path / "c.sqlite") as ledger:
        lease = ledger.acquire("c1", ttl=0.3, heartbeat=False)
        lease.add_requests([request(0, ["+6591000000"]), request(1, ["+6591000001"])])
        assert lease.claim(0) is True
        assert lease.claim(0) is False  # no longer pending
        time.sleep(0.4)
        assert lease.claim(1) is False  # the lease expired: nothing claimed
        other = ledger.acquire("c1", heartbeat=False)  # a new run takes over the expired lease
        assert lease.claim(1) is False
        assert other.claim(1) is True
        assert ledger.requests("c1")["owner"].tolist() == [lease.owner, other.owner]


def test_second_run_refused_while_the_first_holds_the_lease(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as first_book, Ledger(path) as second_book:
        with first_book.acquire("c1") as first:
            first.add_requests([request(0, ["+6591000000"])])
            assert first.claim(0)
            with pytest.raises(ConcurrentRunError, match="another run") as info:
                second_book.acquire("c1")
            assert "wait_for_lease" in info.value.advice
            assert isinstance(info.value, LedgerError)
            assert second_book.requests("c1")["state"].tolist() == ["in_flight"]  # not flipped to unknown
            assert first_book.acquire("c2", heartbeat=False)  # other campaigns are free
        with second_book.acquire("c1", heartbeat=False):  # released at the end of the first run
            assert second_book.requests("c1")["state"].tolist() == ["unknown"]


def test_heartbeat_keeps_the_lease_beyond_its_ttl(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as ledger, ledger.acquire("c1", ttl=0.6) as lease:
        time.sleep(1.5)  # two and a half lease lifetimes
        with Ledger(path) as other, pytest.raises(ConcurrentRunError):
            other.acquire("c1")
        assert not lease.lost.is_set()


def test_waits_for_the_lease_when_asked(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as ledger:
        lease = ledger.acquire("c1")
        threading.Timer(0.5, lease.release).start()
        with Ledger(path) as other, other.acquire("c1", wait=10, heartbeat=False) as second:
            assert second.owner != lease.owner
            assert other.campaigns().set_index("campaign_id").loc["c1", "lease_owner"] == second.owner


def test_a_dead_owner_on_this_host_does_not_block(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as ledger:
        here = new_owner().rsplit(":", 2)[0]  # this host and PID namespace
        crashed = ledger.acquire("c1", owner=f"{here}:{dead_pid()}:x", ttl=3600, heartbeat=False)
        crashed.add_requests([request(0, ["+6591000000"])])
        assert crashed.claim(0)
        with ledger.acquire("c1", heartbeat=False):  # no wait for the hour-long lease
            assert ledger.requests("c1")["state"].tolist() == ["unknown"]
        elsewhere = ledger.acquire("c2", owner=f"{socket.gethostname()}/other-ns:{dead_pid()}:y", heartbeat=False)
        with pytest.raises(ConcurrentRunError):  # a pid from another PID namespace proves nothing
            ledger.acquire("c2", heartbeat=False)
        elsewhere.release()


def test_record_is_one_transaction(tmp_path) -> None:
    with Ledger(tmp_path / "c.sqlite") as ledger, ledger.acquire("c1", heartbeat=False) as lease:
        lease.add_requests([request(0, ["+6591000000", "+6591000001"])])
        assert lease.claim(0)
        with pytest.raises(ValueError, match="not-a-state"):
            lease.record(0, state="done", code="000000", rows=[("a", "000000", "not-a-state", None, None)] * 2)
        bad_rows = [("a", "000000", "accepted", None, None), ("b", None, None, None, None)]  # state NOT NULL
        with pytest.raises(sqlite3.IntegrityError):
            lease.record(0, state="done", code="000000", rows=bad_rows)
        assert ledger.requests("c1")["state"].tolist() == ["in_flight"]  # the state update rolled back with the rows
        assert ledger.rows("c1").empty
        lease.record(0, state="done", code="000000", rows=accepted(["+6591000000", "+6591000001"]))
        assert ledger.rows("c1")["state"].tolist() == ["accepted", "accepted"]


def test_history_prefers_accepted_then_unknown(tmp_path) -> None:
    number = ["+6591000000"]
    with Ledger(tmp_path / "c.sqlite") as ledger, ledger.acquire("c1", heartbeat=False) as lease:
        lease.add_requests([request(no, number) for no in range(3)])
        for no, outcome in ((0, "accepted"), (1, "rejected"), (2, "unknown")):
            assert lease.claim(no)
            lease.record(no, state="done", code="E000510", rows=[(None, "E200015", outcome, None, None)])
        history = ledger.history("c1")
        assert history[["to", "state", "request_no", "extend"]].values.tolist() == [[number[0], "accepted", 0, "c1:0"]]


def test_contacts_across_campaigns_use_the_index(tmp_path) -> None:
    now = datetime.now(UTC)
    recent = now.isoformat(timespec="microseconds")
    old = (now - timedelta(days=2)).isoformat(timespec="microseconds")
    with Ledger(tmp_path / "c.sqlite") as ledger:
        for campaign, at in (("spring", old), ("summer", recent)):
            with ledger.acquire(campaign, heartbeat=False) as lease:
                lease.add_requests([request(0, ["+6591000000", "+6591000001"], campaign)])
                assert lease.claim(0)
                lease.record(0, state="done", code="000000", rows=accepted(["+6591000000", "+6591000001"], at))
        statements: list[str] = []
        ledger._db.set_trace_callback(statements.append)
        found = ledger.contacts(
            ["+6591000000", "+6591000001", "+6591000002", "+6591000000"],
            [T, "other", T, T],
            since=now - timedelta(hours=24),
        )
        ledger._db.set_trace_callback(None)
        assert found[["to", "template_id", "campaign_id"]].values.tolist() == [["+6591000000", T, "summer"]]
        query = next(q for q in statements if "requests_by_time" in q)
        plan = " ".join(str(step) for step in ledger._db.execute("EXPLAIN QUERY PLAN " + query).fetchall())
        assert "SEARCH q USING INDEX requests_by_time" in plan  # reads only the window's requests and their rows


def test_first_release_schema_is_migrated(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO campaigns VALUES ('c1', 'f', 2, '2026-01-01T00:00:00+00:00', '{}')")
        db.execute(
            "INSERT INTO requests (campaign_id, request_no, state) VALUES ('c1', 0, 'done'), ('c1', 1, 'pending')"
        )
        db.execute(
            "INSERT INTO rows VALUES ('c1', 0, 7, '+6591000000', 'id-0', '000000', 'accepted', NULL, "
            "'2026-01-01T00:00:01+00:00')"
        )
    with Ledger(path) as ledger:
        assert ledger._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        rows = ledger.rows("c1")
        assert rows[["position", "to", "sms_msg_id", "state", "request_no"]].values.tolist() == [
            [7, "+6591000000", "id-0", "accepted", 0]
        ]
        assert rows["template_id"].isna().all()  # the first release did not record it
        assert ledger.requests("c1")["state"].tolist() == ["done", "pending"]
        with ledger.acquire("c1", heartbeat=False) as lease:
            assert lease.next_request_no() == 2
    with Ledger(path) as again:  # opening twice is harmless
        assert len(again.rows("c1")) == 1


def test_newer_schema_refused_without_advice_to_start_over(tmp_path) -> None:
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="schema version") as info:
        Ledger(path)
    assert "upgrade smskit" in info.value.advice


def test_not_a_database_is_a_ledger_error(tmp_path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(LedgerError, match="cannot use") as info:
        Ledger(path)
    _advice_never_leads_to_resending(info.value)


def test_damaged_ledger_says_what_it_last_knew(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as ledger, ledger.acquire("spring", heartbeat=False) as lease:
        numbers = [f"+65910{i:05d}" for i in range(500)]
        lease.add_requests([request(n, numbers, "spring") for n in range(40)])
        for n in range(3):
            assert lease.claim(n)
            lease.record(n, state="done", code="000000", rows=accepted(numbers))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (rows_root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'rows'").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    with open(path, "r+b") as handle:  # overwrite the rows table's root page
        handle.seek((rows_root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    with pytest.raises(LedgerError) as info, Ledger(path) as ledger:
        ledger.history("spring")
    message = str(info.value)
    assert "campaign 'spring': 3 request(s) done" in message
    assert "37 request(s) pending" in message
    assert f"sqlite3 {path}" in info.value.advice
    _advice_never_leads_to_resending(info.value)


def _advice_never_leads_to_resending(error: LedgerError) -> None:
    text = str(error).lower()
    assert "do not start again with another ledger or campaign id" in text
    for bad in ("use a new", "new file", "new campaign_id", "delete"):
        assert bad not in text


def test_repr_html_lists_request_states(tmp_path) -> None:
    with Ledger(tmp_path / "c.sqlite") as ledger, ledger.acquire("<c1>", heartbeat=False) as lease:
        lease.add_requests([request(0, ["+6591000000"], "x"), request(1, ["+6591000001"], "x")])
        page = ledger._repr_html_()
        assert "&lt;c1&gt;" in page
        assert "pending" in page
