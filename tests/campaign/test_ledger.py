"""The SQLite ledger: in-flight before send, outcome after, resume semantics, plan mismatch refused."""

from __future__ import annotations

import sqlite3

import pytest

from smskit.campaign.ledger import Ledger
from smskit.errors import LedgerError


def test_new_campaign_then_resume_turns_in_flight_into_unknown(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with Ledger(path) as ledger:
        assert ledger.open_campaign("c1", fingerprint="f", n_requests=3) is False
        ledger.mark_in_flight("c1", 0, extend="c1:0")
        ledger.record(
            "c1",
            0,
            state="done",
            code="000000",
            rows=[(0, "+6591000000", "id-0", "000000", "accepted", None, "2026-11-25T08:00:00+00:00")],
        )
        ledger.mark_in_flight("c1", 1, extend="c1:1")  # the process "crashes" here
    with Ledger(path) as ledger:
        assert ledger.open_campaign("c1", fingerprint="f", n_requests=3) is True
        assert ledger.request_states("c1") == {0: "done", 1: "unknown", 2: "pending"}
        rows = ledger.rows("c1")
        assert rows[["position", "to", "sms_msg_id", "state"]].values.tolist() == [
            [0, "+6591000000", "id-0", "accepted"]
        ]
        assert str(rows["sent_at"].dt.tz) == "UTC"


def test_different_plan_refused(tmp_path) -> None:
    with Ledger(tmp_path / "c.sqlite") as ledger:
        ledger.open_campaign("c1", fingerprint="f", n_requests=3)
        with pytest.raises(LedgerError, match="different plan"):
            ledger.open_campaign("c1", fingerprint="g", n_requests=3)
        assert ledger.open_campaign("c2", fingerprint="g", n_requests=1) is False


def test_record_is_one_transaction(tmp_path) -> None:
    with Ledger(tmp_path / "c.sqlite") as ledger:
        ledger.open_campaign("c1", fingerprint="f", n_requests=1)
        bad_rows = [(0, "+1", "a", "000000", "accepted", None, None), (0, None, "b", None, "accepted", None, None)]
        with pytest.raises(sqlite3.IntegrityError):
            ledger.record("c1", 0, state="done", code="000000", rows=bad_rows)
        assert ledger.request_states("c1") == {0: "pending"}  # the state update rolled back with the rows
        assert ledger.rows("c1").empty


def test_not_a_database_is_a_ledger_error(tmp_path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(LedgerError, match="cannot use"):
        Ledger(path)


def test_repr_html_lists_request_states(tmp_path) -> None:
    with Ledger(tmp_path / "c.sqlite") as ledger:
        ledger.open_campaign("<c1>", fingerprint="f", n_requests=2)
        page = ledger._repr_html_()
        assert "&lt;c1&gt;" in page
        assert "pending" in page
