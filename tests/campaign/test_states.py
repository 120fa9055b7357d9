"""One definition of every row-state vocabulary: producers, the ledger's CHECK and consumers agree with it."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import smskit
from smskit import analytics
from smskit.campaign import states
from smskit.campaign.ledger import Ledger
from smskit.reports import funnel as funnel_module
from smskit.widgets import views

PACKAGE = Path(smskit.__file__).parent
VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"  # ${NUM_6}
VOCABULARIES = (set(states.PLAN_STATES), set(states.RESULT_STATES), set(states.REQUEST_STATES))
EVERY_STATE = set().union(*VOCABULARIES)
# a display label naming two states is not a copy of a vocabulary
LABELS = {("summary/tables.py", ("rejected", "unknown"))}


def test_vocabularies_are_consistent() -> None:
    for vocabulary in (states.PLAN_STATES, states.RESULT_STATES, states.REQUEST_STATES):
        assert len(set(vocabulary)) == len(vocabulary)
    assert set(states.SENT_STATES) | set(states.NOT_SENT_STATES) == set(states.RESULT_STATES)
    assert not set(states.SENT_STATES) & set(states.NOT_SENT_STATES)
    assert set(states.LEFT_OUT_STATES) == set(states.PLAN_STATES) - {"ready"}
    assert set(states.LEFT_OUT_STATES) <= set(states.NOT_SENT_STATES)  # a row left out by the plan is never sent
    assert set(states.OPEN_STATES) <= set(states.RESULT_STATES)
    assert set(states.SETTLED_STATES) <= set(states.SENT_STATES)
    assert list(states.PLAN_DTYPE.categories) == list(states.PLAN_STATES)
    assert list(states.RESULT_DTYPE.categories) == list(states.RESULT_STATES)
    for state in EVERY_STATE:
        assert states.STATE_MEANINGS.get(state) or states.REQUEST_MEANINGS.get(state)


def test_consumers_use_the_one_definition() -> None:
    assert analytics.NOT_SENT_STATES is states.NOT_SENT_STATES
    assert funnel_module.SENT_STATES is states.SENT_STATES


def _state_literals(tree: ast.AST) -> list[tuple[int, tuple[str, ...]]]:
    """Tuple/list/set literals of two or more strings that are all states of one vocabulary."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 2:
            values = tuple(e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
            if len(values) == len(node.elts) and any(set(values) <= vocabulary for vocabulary in VOCABULARIES):
                found.append((node.lineno, values))
    return found


def test_no_second_copy_of_a_vocabulary_in_the_package() -> None:
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "states.py" and path.parent.name == "campaign":
            continue
        name = path.relative_to(PACKAGE).as_posix()
        for line, values in _state_literals(ast.parse(path.read_text(encoding="utf-8"))):
            if (name, values) not in LABELS:
                copies.append(f"{name}:{line} {values}")
    assert not copies, "state lists outside smskit/campaign/states.py: " + "; ".join(copies)


def test_ledger_check_constraint_equals_request_states(tmp_path) -> None:
    with Ledger(tmp_path / "l.sqlite"):
        pass
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'requests'").fetchone()
    match = re.search(r"CHECK \(state IN \(([^)]*)\)\)", sql)
    assert match is not None
    assert tuple(v.strip().strip("'") for v in match.group(1).split(",")) == states.REQUEST_STATES


def test_plan_produces_its_vocabulary() -> None:
    frame = pd.DataFrame({"phone": ["+6591000000", "bad", "+6591000000", "+6591000001"], "code": ["1"] * 4})
    plan = smskit.plan_campaign(frame, template_id=VERIFY, params=["code"], opt_out=["+6591000001"])
    rec = plan.recipients
    assert rec["state"].dtype == states.PLAN_DTYPE
    assert list(rec["state"].astype(str)) == ["ready", "invalid", "suppressed", "suppressed"]
    assert set(plan.summary) >= set(states.PLAN_STATES)


def test_send_and_ledger_produce_their_vocabularies(emulator, tmp_path) -> None:
    ledger = tmp_path / "l.sqlite"
    frame = pd.DataFrame({"phone": ["+6591000000", "bad", "+6591000000", "+6591000002"], "code": ["1", "1", "1", "x"]})
    plan = smskit.plan_campaign(frame, template_id=VERIFY, params=["code"], skip_invalid=True)
    results = smskit.send_campaign(plan, client=emulator.client(), ledger=ledger, campaign_id="a", progress=False)
    assert results["state"].dtype == states.RESULT_DTYPE
    assert list(results["state"].astype(str)) == ["accepted", "invalid", "suppressed", "rejected"]
    emulator.fail_next(1, kind="ambiguous")
    with pytest.warns(smskit.campaign.CampaignWarning):
        lost = smskit.send_campaign(
            frame.assign(phone=["+6591000010", "+6591000011", "+6591000012", "+6591000013"], code="1"),
            client=emulator.client(),
            template_id=VERIFY,
            params=["code"],
            ledger=ledger,
            campaign_id="b",
            progress=False,
        )
    assert set(lost["state"].astype(str)) == {"unknown"}
    with Ledger(ledger) as book:
        assert set(book.requests()["state"]) == {"done", "unknown"}
        assert set(book.rows("a")["state"]) <= set(states.RESULT_STATES)


def _one_row_per_result_state() -> pd.DataFrame:
    n = len(states.RESULT_STATES)
    sent = pd.Series(list(states.RESULT_STATES)).isin(states.SENT_STATES)
    return pd.DataFrame(
        {
            "to": [f"+659100{i:04d}" for i in range(n)],
            "template_id": "t",
            "state": pd.Categorical(list(states.RESULT_STATES), dtype=states.RESULT_DTYPE),
            "sms_msg_id": pd.array([f"m{i}" if s == "accepted" else None for i, s in enumerate(states.RESULT_STATES)]),
            "status": None,
            "error": None,
            "sent_at": pd.Series(pd.Timestamp("2026-01-01", tz="UTC"), index=range(n)).where(sent),
            "extend": None,
            "request_no": pd.array([0] * n, dtype="Int64"),
        }
    )


def test_who_counts_as_sent_agrees_everywhere() -> None:
    """analytics, the funnel and the dashboard all count exactly SENT_STATES as sent (``unsent`` is not)."""
    results = _one_row_per_result_state()
    expected = results["state"].isin(states.SENT_STATES)
    assert analytics.sent_rows(results).tolist() == expected.tolist()
    funnel = smskit.delivery_funnel(results, pd.DataFrame(columns=["sms_msg_id", "status"]))
    assert len(funnel) == len(results)  # the funnel keeps every input row (issue 12) …
    assert sorted(funnel.loc[analytics.sent_rows(funnel), "state"].astype(str)) == sorted(states.SENT_STATES)
    assert views.delivery_counts(funnel)["sent"] == len(states.SENT_STATES)
    assert views.delivery_counts(results.assign(delivered=False))["sent"] == len(states.SENT_STATES)
