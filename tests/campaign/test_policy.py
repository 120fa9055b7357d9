"""Contact rules with an injected clock: promotional hours, the platform's number limits, frequency caps,
unsubscribe/blacklist suppression, budgets and deadlines. No test reads the wall clock.

Limits from "Limitations on SMS Sending Frequency"
(https://support.huaweicloud.com/intl/en-us/productdesc-msgsms/sms_01_0004.html); the 08:00–22:00 window
for promotional messages from the FAQ "短信发送有时间段限制吗"
(https://support.huaweicloud.com/intl/zh-cn/msgsms_faq/sms_faq_0065.html and the site-search text quoted in
the project's reference notes §5.2); unsubscribing by replying "R" and the blacklist report codes from the
FAQ "手机回复“R”被加入了退订黑名单?" and https://support.huaweicloud.com/api-msgsms/sms_05_0051.html.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import time
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as pn_timezone

from smskit.campaign.policy import (
    HUAWEI_NUMBER_LIMITS,
    VERDICT_COLUMNS,
    ContactPolicy,
    NumberLimit,
    budget_check,
    deadline_check,
    evaluate_policy,
    frequency_cap_check,
    held_back,
    number_limits_check,
    quiet_window,
    suppression,
)
from smskit.campaign.states import PLAN_DTYPE
from smskit.errors import BudgetError, ConfigError, DataValidationError
from smskit.reports.ingest import read_status_reports
from smskit.reports.replies import Reply, parse_reply_body, replies_frame

UTC = "UTC"
# 2026-11-03 23:30 in Beijing (UTC+8, no DST) is 15:30 UTC; the window opens at 08:00 = 00:00 UTC.
LATE_BEIJING = pd.Timestamp("2026-11-03T15:30:00Z")
OPENS_BEIJING = pd.Timestamp("2026-11-04T00:00:00Z")
CN = ["+8613800138000", "+8613912345678", "+8615012345678"]
NYC = "+12125550123"  # area code 212: New York
MOSCOW = "+79161234567"  # a Russian mobile: phonenumbers gives it every Russian zone


def _rows(to: list[str], kind: str | None = "marketing", **columns: object) -> pd.DataFrame:
    return pd.DataFrame(
        {"to": to, "kind": kind, "template_id": "tpl", **columns}, index=[f"r{i}" for i in range(len(to))]
    )


def _history(to: str, times: pd.DatetimeIndex | list[pd.Timestamp], *, kind: str = "notification", params=("1",)):
    n = len(times)
    return pd.DataFrame(
        {
            "to": [to] * n,
            "template_id": "tpl",
            "params": [params] * n,
            "kind": kind,
            "sent_at": pd.DatetimeIndex(times).tz_convert(UTC),
            "campaign_id": "earlier",
        }
    )


# ------------------------------------------------------------------------------------------ quiet hours


def test_promotional_campaign_at_2330_beijing_defers_every_mainland_row_to_0800() -> None:
    rows = _rows([*CN, NYC])
    verdict = evaluate_policy(rows, now=LATE_BEIJING)
    mainland = verdict.loc[["r0", "r1", "r2"]]
    assert (mainland["state"] == "deferred").all()
    assert (mainland["not_before"] == OPENS_BEIJING).all()
    assert (mainland["rule"] == "quiet_hours").all()
    assert mainland["reason"].str.contains("08:00–22:00 Asia/Shanghai time").all()
    assert not mainland["allowed"].any()
    # 15:30 UTC is 10:30 in New York (EST, UTC-5): inside the window
    assert verdict.loc["r3", "state"] == "ready"


def test_a_verification_template_is_allowed_at_once() -> None:
    verdict = evaluate_policy(_rows(CN, kind="verification"), now=LATE_BEIJING)
    assert verdict["allowed"].all()
    assert (verdict["state"] == "ready").all()
    assert verdict["not_before"].isna().all()
    assert verdict["state"].dtype == PLAN_DTYPE  # a verdict slots into a plan's state column


def test_a_template_without_kind_is_treated_as_promotional_and_says_so() -> None:
    verdict = quiet_window(pd.Series([*CN[:1], NYC]), None, LATE_BEIJING)
    assert verdict["assumed_promotional"].all()
    assert verdict["state"].tolist() == ["deferred", "ready"]
    assert "treated as promotional" in verdict["reason"].iloc[0]
    kinds = quiet_window(pd.Series(CN[:3]), pd.Series(["notification", "promotional", "otp"]), LATE_BEIJING)
    assert kinds["state"].tolist() == ["ready", "deferred", "deferred"]
    assert kinds["assumed_promotional"].tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("now", "state", "opens"),
    [
        # summer: EDT = UTC-4, so 08:00 local is 12:00 UTC
        ("2026-07-15T11:30:00Z", "deferred", "2026-07-15T12:00:00Z"),
        ("2026-07-15T12:30:00Z", "ready", None),
        ("2026-07-16T02:30:00Z", "deferred", "2026-07-16T12:00:00Z"),  # 22:30 EDT: closed until tomorrow 08:00
        # winter: EST = UTC-5, so the same UTC times are an hour earlier locally
        ("2026-01-15T12:30:00Z", "deferred", "2026-01-15T13:00:00Z"),
        ("2026-01-16T02:30:00Z", "ready", None),  # 21:30 EST
    ],
)
def test_new_york_numbers_use_new_york_time(now: str, state: str, opens: str | None) -> None:
    assert pn_timezone.time_zones_for_number(phonenumbers.parse(NYC)) == ("America/New_York",)
    verdict = quiet_window(pd.Series([NYC]), "marketing", now)
    assert verdict["time_zones"].iloc[0] == "America/New_York"
    assert verdict["state"].iloc[0] == state
    if opens is None:
        assert pd.isna(verdict["not_before"].iloc[0])
    else:
        assert verdict["not_before"].iloc[0] == pd.Timestamp(opens)


@pytest.mark.parametrize(
    ("now", "state", "opens"),
    [
        # November: Bucharest is UTC+2 (opens 06:00 UTC), Kamchatka/Anadyr UTC+12 (closes 10:00 UTC)
        ("2026-11-03T05:30:00Z", "deferred", "2026-11-03T06:00:00Z"),
        ("2026-11-03T09:59:00Z", "ready", None),
        ("2026-11-03T10:00:00Z", "deferred", "2026-11-04T06:00:00Z"),
        # July: Bucharest is UTC+3, so the common window opens at 05:00 UTC
        ("2026-07-15T05:30:00Z", "ready", None),
        ("2026-07-15T04:30:00Z", "deferred", "2026-07-15T05:00:00Z"),
    ],
)
def test_a_number_with_several_zones_uses_the_intersection(now: str, state: str, opens: str | None) -> None:
    zones = pn_timezone.time_zones_for_number(phonenumbers.parse(MOSCOW))
    assert {"Europe/Bucharest", "Asia/Kamchatka", "Europe/Moscow"} <= set(zones)
    verdict = quiet_window(pd.Series([MOSCOW]), "marketing", now)
    assert verdict["state"].iloc[0] == state
    if opens is not None:
        assert verdict["not_before"].iloc[0] == pd.Timestamp(opens)
        assert f"all of the number's {len(zones)} time zones" in verdict["reason"].iloc[0]


def test_an_empty_intersection_expires_the_row() -> None:
    policy = ContactPolicy(quiet_hours=("09:00", "10:00"))  # UTC+2 and UTC+12 share no hour of it
    verdict = quiet_window(pd.Series([MOSCOW, NYC]), "marketing", "2026-11-03T05:30:00Z", policy)
    assert verdict["state"].tolist() == ["expired", "deferred"]
    assert "never hold" in verdict["reason"].iloc[0]
    assert verdict.loc[1, "not_before"] == pd.Timestamp("2026-11-03T14:00:00Z")  # 09:00 EST


def test_quiet_hours_can_be_disabled_or_overridden() -> None:
    off = quiet_window(pd.Series(CN), "marketing", LATE_BEIJING, ContactPolicy(quiet_hours=None))
    assert off["allowed"].all()
    late = quiet_window(pd.Series(CN), "marketing", LATE_BEIJING, ContactPolicy(quiet_hours=(time(7), time(23, 45))))
    assert late["allowed"].all()


# ------------------------------------------------------------------------------------------ number limits


def test_fifty_messages_in_24h_defer_the_51st_until_the_oldest_is_24h_old() -> None:
    now = LATE_BEIJING
    sent = pd.date_range(now - pd.Timedelta("23h"), periods=50, freq="10min")
    rows = _rows([CN[0], CN[1]], kind="notification", params=[("2",), ("2",)])
    verdict = number_limits_check(rows, _history(CN[0], sent), now)
    assert verdict.loc["r0", "state"] == "deferred"
    assert verdict.loc["r0", "not_before"] == sent[0] + pd.Timedelta("24h")
    assert verdict.loc["r0", "reason"] == "50 in the last 24 h"
    assert verdict.loc["r1", "state"] == "ready"
    # 49 of them: the 50th goes now
    assert number_limits_check(rows, _history(CN[0], sent[1:]), now).loc["r0", "allowed"]


def test_messages_older_than_the_window_do_not_count() -> None:
    now = LATE_BEIJING
    sent = pd.date_range(now - pd.Timedelta("30h"), periods=50, freq="1min")
    assert number_limits_check(_rows([CN[0]], params=[("2",)]), _history(CN[0], sent), now)["allowed"].all()


def test_the_same_message_twice_in_59s_defers_the_third() -> None:
    now = LATE_BEIJING
    hist = _history(CN[0], [now - pd.Timedelta("30s"), now - pd.Timedelta("10s")], params=("1234",))
    rows = _rows([CN[0], CN[0]], kind="verification", params=[("1234",), ("5678",)])
    verdict = number_limits_check(rows, hist, now)
    assert verdict.loc["r0", "state"] == "deferred"
    assert verdict.loc["r0", "not_before"] == now + pd.Timedelta("29s")  # the older copy is then 59 s old
    assert verdict.loc["r0", "reason"] == "same message 2 times in 59 s"
    assert verdict.loc["r1", "state"] == "ready"  # another message to the same number


def test_the_same_message_is_the_same_text_when_both_sides_have_it() -> None:
    now = LATE_BEIJING
    hist = _history(CN[0], [now - pd.Timedelta("20s")] * 2, params=("1",)).assign(text="Your code is 1")
    rows = _rows([CN[0]], params=[("other",)], text=["Your code is 1"])
    assert number_limits_check(rows, hist, now)["state"].tolist() == ["deferred"]
    assert number_limits_check(rows.assign(text="Your code is 2"), hist, now)["state"].tolist() == ["ready"]
    # the ledger may store params as JSON text
    json_hist = _history(CN[0], [now - pd.Timedelta("20s")] * 2).assign(params='["7"]')
    assert number_limits_check(_rows([CN[0]], params=[("7",)]), json_hist, now)["state"].tolist() == ["deferred"]


def test_the_plans_own_rows_count() -> None:
    now = LATE_BEIJING
    rows = _rows([CN[0]] * 51, kind="notification", params=[(str(i),) for i in range(51)])
    verdict = number_limits_check(rows, None, now)
    assert verdict["allowed"].iloc[:15].all()
    assert verdict["reason"].iloc[15] == "15 in the last minute"
    assert verdict["not_before"].iloc[15] == now + pd.Timedelta("1min")
    assert verdict["not_before"].iloc[30] == now + pd.Timedelta("2min")
    assert verdict["reason"].iloc[50] == "50 in the last 24 h"
    assert verdict["not_before"].iloc[50] == now + pd.Timedelta("24h")


def test_number_limits_apply_to_mainland_numbers_only() -> None:
    rows = _rows([NYC] * 60, kind="notification", params=[(str(i),) for i in range(60)])
    assert number_limits_check(rows, None, LATE_BEIJING)["allowed"].all()


def test_number_limits_can_be_overridden() -> None:
    policy = ContactPolicy(number_limits={"1min": 2, "same:59s": None})
    assert [lim.key for lim in policy.number_limits] == ["1min", "24h", "same:59min"]
    rows = _rows([CN[0]] * 3, params=[("1",)] * 3)
    verdict = number_limits_check(rows, None, LATE_BEIJING, policy)
    assert verdict["state"].tolist() == ["ready", "ready", "deferred"]
    assert verdict["reason"].iloc[2] == "2 in the last minute"
    assert number_limits_check(rows, None, LATE_BEIJING, None)["allowed"].all()


_LIMITS = [
    NumberLimit(pd.Timedelta("60s"), 3),
    NumberLimit(pd.Timedelta("10min"), 5),
    NumberLimit(pd.Timedelta("59s"), 2, True),
]


def test_a_history_message_never_counts_for_another_number() -> None:
    """Found by the property below: number 0's other message in the history was keyed as number 1's."""
    now = LATE_BEIJING
    hist = pd.DataFrame(
        {"to": [CN[0]], "template_id": "tpl", "params": [("b",)], "sent_at": [now - pd.Timedelta("1s")]}
    )
    rows = _rows([CN[0], CN[1], CN[1]], params=[("a",)] * 3)
    assert number_limits_check(rows, hist, now, _LIMITS)["allowed"].tolist() == [True, True, True]


@example(history=[(0, 1, 1)], plan=[(0, 0), (1, 0), (1, 0)])
@settings(max_examples=60, deadline=None)
@given(
    history=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(1, 900)), max_size=14),
    plan=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=14),
)
def test_property_allowed_now_matches_a_row_by_row_simulation(history, plan) -> None:
    """Oracle: walk the plan row by row, keeping every message sent so far, and check each limit directly."""
    now = LATE_BEIJING
    numbers, messages = [CN[0], CN[1]], [("a",), ("b",)]
    hist = pd.DataFrame(
        {
            "to": [numbers[n] for n, _, _ in history],
            "template_id": "tpl",
            "params": [messages[m] for _, m, _ in history],
            "sent_at": [now - pd.Timedelta(seconds=s) for _, _, s in history],
        }
    )
    if not len(hist):
        hist = hist.astype({"sent_at": "datetime64[ns, UTC]"})
    rows = _rows([numbers[n] for n, _ in plan], params=[messages[m] for _, m in plan])
    got = number_limits_check(rows, hist, now, _LIMITS)["allowed"].tolist()

    sent = [(n, m, now - pd.Timedelta(seconds=s)) for n, m, s in history]
    expected = []
    for n, m in plan:
        ok = all(
            sum(1 for sn, sm, t in sent if sn == n and (sm == m or not lim.same_message) and t > now - lim.window)
            < lim.count
            for lim in _LIMITS
        )
        expected.append(ok)
        if ok:
            sent.append((n, m, now))
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(ages=st.lists(st.integers(0, 3599), max_size=12), queued=st.integers(1, 12), count=st.integers(1, 5))
def test_property_not_before_matches_a_greedy_sender(ages: list[int], queued: int, count: int) -> None:
    """Oracle for one limit: send each queued row at the first second the window has room for it."""
    now = LATE_BEIJING
    window = pd.Timedelta("1h")
    limit = [NumberLimit(window, count)]
    hist = _history(CN[0], [now - pd.Timedelta(seconds=a) for a in ages]) if ages else None
    rows = _rows([CN[0]] * queued, params=[(str(i),) for i in range(queued)])
    verdict = number_limits_check(rows, hist, now, limit)

    times = sorted(now - pd.Timedelta(seconds=a) for a in ages)
    expected = []
    for _ in range(queued):
        t = now
        while sum(1 for s in times if s > t - window) >= count:
            t = min(s for s in times if s > t - window) + window  # the oldest in the window ages out
        times = sorted([*times, t])
        expected.append(t)
    got = [now if ok else nb for ok, nb in zip(verdict["allowed"], verdict["not_before"], strict=True)]
    assert got == expected


# ------------------------------------------------------------------------------------------ frequency cap


def test_frequency_cap_2_in_7_days_across_campaigns() -> None:
    now = LATE_BEIJING
    a, b, c = CN
    hist = pd.concat(
        [
            _history(a, [now - pd.Timedelta("2D")], kind="marketing"),
            _history(b, [now - pd.Timedelta("1D"), now - pd.Timedelta("6D")], kind="marketing"),
            _history(c, [now - pd.Timedelta("8D"), now - pd.Timedelta("9D")], kind="marketing"),
            _history(c, [now - pd.Timedelta("1h")] * 3, kind="verification"),  # not promotional: not counted
        ],
        ignore_index=True,
    )
    rows = _rows([a, a, b, c, b], kind="marketing")
    rows.loc["r4", "kind"] = "verification"
    verdict = frequency_cap_check(rows, hist, now, ContactPolicy(frequency_cap={"7D": 2}))
    assert verdict["state"].tolist() == ["ready", "suppressed", "suppressed", "ready", "ready"]
    assert verdict.loc["r1", "reason"] == "frequency cap 2 in 7D"
    assert (verdict.loc[["r1", "r2"], "rule"] == "frequency_cap").all()
    assert frequency_cap_check(rows, hist, now, ContactPolicy())["allowed"].all()


# ------------------------------------------------------------------------------------------ suppression


def _replies(*bodies: tuple[str, str, str]) -> pd.DataFrame:
    return replies_frame(
        parse_reply_body(Reply(f"u{i}", sender, "1069012345", text).to_body() + f"&createTime={when}")
        for i, (sender, text, when) in enumerate(bodies)
    )


def test_an_unsubscribe_reply_suppresses_promotional_rows_and_says_when() -> None:
    replies = _replies(
        (CN[0], "TD", "2026-11-03T02:00:00Z"),
        (CN[0], "R", "2026-11-04T02:00:00Z"),
        (CN[1], "hi", "2026-11-03T03:00:00Z"),
    )
    rows = _rows([CN[0], CN[1], CN[0]])
    rows.loc["r2", "kind"] = "verification"
    verdict = suppression(rows, replies=replies)
    assert verdict["state"].tolist() == ["suppressed", "ready", "ready"]
    assert verdict.loc["r0", "rule"] == "unsubscribed"
    assert verdict.loc["r0", "reason"] == "unsubscribed by reply TD on 2026-11-03"


def test_a_reply_from_a_number_without_plus_is_read_as_mainland() -> None:
    replies = replies_frame([{"sms_msg_id": "u", "from": "13800138000", "to": "1069", "body": "退订"}])
    verdict = suppression(_rows([CN[0]]), replies=replies)
    assert verdict["reason"].tolist() == ["unsubscribed by reply 退订"]


@pytest.mark.parametrize("code", ["MBBLACK", "TDBLACK", "TSBLACK", "BLACK", "SC:0016", "SC:0003"])
def test_a_blacklist_report_code_suppresses(code: str) -> None:
    bodies = pd.DataFrame(
        {
            "sms_msg_id": ["m1", "m2"],
            "status": [code, "DELIVRD"],
            "to": [CN[0], CN[1]],
            "update_time": ["2026-11-02T01:00:00Z", "2026-11-02T01:00:00Z"],
        }
    )
    verdict = suppression(_rows(CN[:2]), reports=read_status_reports(bodies))
    assert verdict["state"].tolist() == ["suppressed", "ready"]
    assert verdict.loc["r0", "rule"] == "blacklist"
    assert verdict.loc["r0", "reason"] == f"blacklisted: report {code} on 2026-11-02"


def test_a_report_without_to_is_linked_through_the_history() -> None:
    reports = read_status_reports(pd.DataFrame({"sms_msg_id": ["m9"], "status": ["MBBLACK"]}))
    hist = _history(CN[1], [LATE_BEIJING - pd.Timedelta("3D")]).assign(sms_msg_id="m9")
    verdict = suppression(_rows(CN[:2]), reports=reports, history=hist)
    assert verdict["state"].tolist() == ["ready", "suppressed"]


def test_suppression_follows_the_policy() -> None:
    replies = _replies((CN[0], "TD", "2026-11-03T02:00:00Z"))
    reports = read_status_reports(pd.DataFrame({"sms_msg_id": ["m"], "status": ["MBBLACK"], "to": [CN[1]]}))
    only_black = suppression(
        _rows(CN[:2]), replies=replies, reports=reports, policy=ContactPolicy(suppress=["blacklist"])
    )
    assert only_black["state"].tolist() == ["ready", "suppressed"]
    assert suppression(_rows(CN[:2]), replies=replies, reports=reports, policy=ContactPolicy(suppress=None))[
        "allowed"
    ].all()


# ------------------------------------------------------------------------------------------ deadline, budget


def test_not_after_expires_rows_whose_window_opens_too_late() -> None:
    policy = ContactPolicy(not_after="2026-11-03T23:00:00Z")  # 07:00 in Beijing
    rows = _rows([CN[0], CN[1], NYC])
    rows.loc["r1", "kind"] = "verification"
    verdict = evaluate_policy(rows, now=LATE_BEIJING, policy=policy)
    assert verdict["state"].tolist() == ["expired", "ready", "ready"]
    assert verdict.loc["r0", "rule"] == "deadline"
    assert "after the deadline 2026-11-03 23:00 UTC" in verdict.loc["r0", "reason"]
    later = ContactPolicy(not_after="2026-11-04T01:00:00Z")
    assert evaluate_policy(rows, now=LATE_BEIJING, policy=later)["state"].tolist() == ["deferred", "ready", "ready"]
    passed = evaluate_policy(rows, now="2026-11-05T00:00:00Z", policy=later)
    assert (passed["state"] == "expired").all()
    assert passed["reason"].str.contains("has passed").all()


def test_deadline_check_on_a_verdict() -> None:
    verdict = quiet_window(pd.Series([*CN[:1], NYC]), "marketing", LATE_BEIJING)
    out = deadline_check(verdict, LATE_BEIJING, ContactPolicy(not_after="2026-11-03T20:00:00Z"))
    assert out["state"].tolist() == ["expired", "ready"]
    assert list(out.columns) == list(VERDICT_COLUMNS)


def test_a_budget_refusal_names_the_totals() -> None:
    summary = {"segments": 1500, "segments_by": {"CN UCS-2": 1000, "US GSM-7": 500}}
    with pytest.raises(BudgetError, match=r"1,500 segments; the policy allows at most 1,000"):
        budget_check(summary, ContactPolicy(max_segments=1000))
    with pytest.raises(BudgetError, match=r"cost 75\.00 for 1,500 segments; the policy allows at most 50\.00"):
        budget_check(summary, ContactPolicy(max_cost=50), price=0.05)
    per_region = budget_check(summary, ContactPolicy(max_cost=50), price={"CN": 0.04, "*": 0.01})
    assert per_region["cost"] == pytest.approx(45.0)
    with pytest.raises(ConfigError, match="no price"):
        budget_check(summary, ContactPolicy(max_cost=50))
    with pytest.raises(ConfigError, match=r"no price for region\(s\) \['US'\]"):
        budget_check(summary, ContactPolicy(max_cost=50), price={"CN": 0.04})
    assert budget_check(summary, ContactPolicy(max_segments=1500)) == {
        "segments": 1500,
        "cost": None,
        "max_segments": 1500,
        "max_cost": None,
    }
    assert issubclass(BudgetError, ConfigError)  # the CLI's "nothing sent" exit 2


# ------------------------------------------------------------------------------------------ everything


def test_evaluate_policy_applies_the_rules_in_order_and_keeps_the_index() -> None:
    now = LATE_BEIJING + pd.Timedelta("10h")  # 09:30 in Beijing: promotional hours
    replies = _replies((CN[2], "退订", "2026-11-01T00:00:00Z"))
    hist = _history(CN[1], [now - pd.Timedelta("1D")] * 2, kind="marketing")
    rows = _rows([CN[2], CN[2], CN[0], CN[1], CN[0], CN[0]], params=[("1",)] * 6)
    before = rows.copy()
    verdict = evaluate_policy(
        rows, now=now, policy=ContactPolicy(frequency_cap={"7D": 2}), history=hist, replies=replies
    )
    pd.testing.assert_frame_equal(rows, before)
    assert list(verdict.index) == list(rows.index)
    assert verdict["rule"].astype(object).where(verdict["rule"].notna(), None).tolist() == [
        "unsubscribed",
        "unsubscribed",
        None,  # CN[0] first copy
        "frequency_cap",
        None,  # CN[0] second copy of the same message: 2 in 59 s is still allowed
        "frequency_cap",  # the third promotional message to CN[0] in the plan passes the cap of 2
    ]
    table = held_back(verdict)
    assert table.set_index("rule")["rows"].to_dict() == {"unsubscribed": 2, "frequency_cap": 2}


def test_rows_held_by_an_earlier_rule_do_not_use_a_slot() -> None:
    now = LATE_BEIJING + pd.Timedelta("10h")
    replies = _replies((CN[0], "R", "2026-11-01T00:00:00Z"))
    rows = _rows([CN[0]] * 2 + [CN[0]] * 15, kind=None, params=[(str(i),) for i in range(17)])
    rows.loc[rows.index[2:], "kind"] = "verification"
    verdict = evaluate_policy(rows, now=now, replies=replies)
    assert (verdict["state"].iloc[:2] == "suppressed").all()
    assert verdict["reason"].iloc[0].endswith("(the template has no kind: treated as promotional)")
    assert verdict["allowed"].iloc[2:].all()  # 15 verification rows: the two suppressed ones were not sent


def test_the_clock_is_required_and_must_be_aware() -> None:
    with pytest.raises(ConfigError, match="now= is required"):
        evaluate_policy(_rows(CN), now=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no time zone"):
        quiet_window(pd.Series(CN), "marketing", "2026-11-03T15:30:00")


def test_history_needs_aware_times_and_its_columns() -> None:
    hist = pd.DataFrame({"to": [CN[0]], "sent_at": [pd.Timestamp("2026-11-03T15:00:00")]})
    with pytest.raises(DataValidationError, match="tz-aware"):
        number_limits_check(_rows([CN[0]]), hist, LATE_BEIJING)
    with pytest.raises(DataValidationError, match="'sent_at'"):
        number_limits_check(_rows([CN[0]]), hist.drop(columns="sent_at"), LATE_BEIJING)


def test_history_with_categorical_numbers_gives_the_same_verdict() -> None:
    now = LATE_BEIJING
    hist = _history(CN[0], pd.date_range(now - pd.Timedelta("23h"), periods=50, freq="10min"))
    rows = _rows([CN[0], CN[1]], kind="notification", params=[("2",)] * 2)
    plain = number_limits_check(rows, hist, now)
    categorical = number_limits_check(rows, hist.astype({"to": "category", "kind": "category"}), now)
    pd.testing.assert_frame_equal(plain, categorical)


# ------------------------------------------------------------------------------------------ the policy object


def test_defaults_are_the_platforms_rules() -> None:
    policy = ContactPolicy()
    assert policy.quiet_hours == (time(8), time(22))
    assert {lim.key: lim.count for lim in policy.number_limits} == HUAWEI_NUMBER_LIMITS
    assert [lim.describe() for lim in policy.number_limits] == [
        "15 in the last minute",
        "50 in the last 24 h",
        "same message 2 times in 59 s",
        "same message 5 times in 59 min",
    ]
    assert policy.suppress == ("unsubscribed", "blacklist")
    assert policy.lookback == pd.Timedelta("24h")
    assert ContactPolicy(frequency_cap={"30D": 4}).lookback == pd.Timedelta("30D")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_cost = 3.0  # type: ignore[misc]
    assert hash(policy) == hash(ContactPolicy())
    assert "ContactPolicy" in policy._repr_html_()
    assert "08:00–22:00" in policy._repr_html_()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"quiet_hours": ("22:00", "08:00")}, "must be before end"),
        ({"quiet_hours": ("8am", "22:00")}, "not a time of day"),
        ({"quiet_hours": "always"}, "quiet_hours must be"),
        ({"number_limits": {"1 fortnight": 3}}, "not a duration"),
        ({"number_limits": {"1min": 0}}, "whole number ≥ 1"),
        ({"number_limits": {"-1min": 3}}, "positive duration"),
        ({"number_limits": 15}, "number_limits must be"),
        ({"frequency_cap": {"7D": 2.5}}, "whole number ≥ 1"),
        ({"frequency_cap": [2]}, "frequency_cap must be"),
        ({"suppress": ["unsubscribed", "complaints"]}, "complaints"),
        ({"not_after": "2026-11-04T20:00:00"}, "no time zone"),
        ({"not_after": "soon"}, "not a time"),
        ({"max_cost": -1}, "≥ 0"),
        ({"max_segments": 10.5}, "whole number"),
        ({"max_segments": True}, "≥ 0"),
    ],
)
def test_bad_settings_are_refused_clearly(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ContactPolicy(**kwargs)


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        ContactPolicy("default")  # type: ignore[misc]


def test_policy_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "policy.toml"
    toml.write_text(
        'quiet_hours = ["09:00", "20:00"]\n'
        'number_limits = { "1min" = 2, "same:59min" = 4 }\n'
        'frequency_cap = { "7D" = 2 }\n'
        'suppress = ["unsubscribed"]\n'
        "not_after = 2026-11-04T20:00:00Z\n"
        "max_cost = 120.5\n"
        "max_segments = 10000\n",
        encoding="utf-8",
    )
    policy = ContactPolicy.from_file(toml)
    assert policy.quiet_hours == (time(9), time(20))
    assert {lim.key: lim.count for lim in policy.number_limits} == {
        "1min": 2,
        "24h": 50,
        "same:59s": 2,
        "same:59min": 4,
    }
    assert policy.frequency_cap[0].describe() == "frequency cap 2 in 7D"
    assert policy.not_after == pd.Timestamp("2026-11-04T20:00:00Z")
    assert (policy.max_cost, policy.max_segments, policy.suppress) == (120.5, 10000, ("unsubscribed",))
    as_json = tmp_path / "policy.json"
    as_json.write_text(json.dumps(policy.to_dict()), encoding="utf-8")
    assert ContactPolicy.from_file(as_json) == policy
    dropped = ContactPolicy(number_limits={"same:59s": None})
    as_json.write_text(json.dumps(dropped.to_dict()), encoding="utf-8")
    assert ContactPolicy.from_file(as_json) == dropped
    assert "same:59s" not in {lim.key for lim in ContactPolicy.from_file(as_json).number_limits}
    off = tmp_path / "off.toml"
    off.write_text('quiet_hours = "off"\nnumber_limits = "off"\n', encoding="utf-8")
    assert ContactPolicy.from_file(off).quiet_hours is None
    assert ContactPolicy.from_file(off).number_limits == ()


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("typo.toml", "frequency_caps = { '7D' = 2 }\n", "unknown setting"),
        ("bad.toml", "quiet_hours = [\n", "cannot be parsed"),
        ("bad.json", "{", "cannot be parsed"),
        ("list.json", "[1]", "table of settings"),
        ("policy.yaml", "a: 1", ".toml or .json"),
    ],
)
def test_bad_policy_files_are_refused(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        ContactPolicy.from_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        ContactPolicy.from_file(tmp_path / "missing.toml")


def test_quiet_window_works_per_zone_set_on_many_rows() -> None:
    rng = np.random.default_rng(3)
    numbers = pd.Series(rng.choice([*CN, NYC, MOSCOW], 5000))
    verdict = quiet_window(numbers, "marketing", LATE_BEIJING)
    expected = numbers.map({CN[0]: "deferred", CN[1]: "deferred", CN[2]: "deferred", NYC: "ready", MOSCOW: "deferred"})
    assert (verdict["state"].astype(str) == expected).all()
