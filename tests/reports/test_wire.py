"""Pure parsing of status-report bodies (urlencoded and JSON batch)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smskit.errors import ReportError
from smskit.reports.wire import (
    StatusReport,
    parse_push,
    parse_report_batch,
    parse_report_body,
    parse_report_fields,
    push_format,
)

# The seed's examples (its PDF wrapping breaks the smsMsgId across lines; these are the real bodies).
SEED_SUCCESS = (
    "sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2&"
    "smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=DELIVRD"
)
SEED_FAILED = (
    "orgCode=E200027&sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2&"
    "smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=RTE_ERR"
)


def test_seed_success_body() -> None:
    r = parse_report_body(SEED_SUCCESS)
    assert r.sms_msg_id == "2ea20735-f856-4376-afbf-570bd70a46ee_11840135"
    assert r.status == "DELIVRD"
    assert r.delivered
    assert r.update_time == datetime(2018, 10, 31, 8, 43, 41, tzinfo=UTC)
    assert (r.total, r.sequence, r.source, r.org_code) == (1, 1, "2", None)


def test_seed_failure_body_keeps_org_code() -> None:
    r = parse_report_body(SEED_FAILED.encode())
    assert (r.status, r.org_code, r.delivered) == ("RTE_ERR", "E200027", False)


def test_seed_body_with_its_pdf_line_break_is_refused_clearly() -> None:
    broken = SEED_SUCCESS.replace("2ea20735-", "2ea20735-\n")
    with pytest.raises(ReportError, match="line breaks"):
        parse_report_body(broken)


def test_unknown_fields_are_kept_and_escapes_decoded() -> None:
    body = "smsMsgId=a_1&status=UNDELIV&statusDesc=no+such+user&to=%2B8613800000000&extend=c7%3A3&newField=x%26y"
    r = parse_report_body(body)
    assert r.status_desc == "no such user"
    assert r.to == "+8613800000000"
    assert r.extend == "c7:3"
    assert r.extra == {"newField": "x&y"}


def test_batch_push() -> None:
    doc = {
        "statusReportList": [
            {"smsMsgId": "a_1", "status": "DELIVRD", "total": 2, "sequence": 1, "updateTime": "2024-01-02T03:04:05Z"},
            {"smsMsgId": "a_1", "status": "DELIVRD", "total": "2", "sequence": "2", "extra": "kept"},
        ]
    }
    reports = parse_report_batch(json.dumps(doc).encode())
    assert [(r.sequence, r.total) for r in reports] == [(1, 2), (2, 2)]
    assert reports[0].update_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert reports[1].update_time is None
    assert reports[1].extra == {"extra": "kept"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty"),
        ("status=DELIVRD", "without smsMsgId"),
        ("smsMsgId=a_1", "without status"),
        ("smsMsgId=a_1&status=DELIVRD&status=UNDELIV", "twice"),
        ("smsMsgId=a_1&status=DELIVRD&total=x", "segment number"),
        ("smsMsgId=a_1&status=DELIVRD&total=1&sequence=2", "beyond total"),
        ("smsMsgId=a_1&status=DELIVRD&updateTime=yesterday", "not a time"),
        ("smsMsgId=a+1&status=DELIVRD", "blanks"),
        ("smsMsgId=a_1&status=DELIVRD&to=%FF", "not UTF-8"),
        ("justtext", "name=value"),
    ],
)
def test_malformed_urlencoded_bodies(body: str, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        parse_report_body(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "expected an object"),
        (b'{"statusReportList": {}}', "not a list"),
        (b'{"statusReportList": [1]}', r"statusReportList\[0\] is not an object"),
        (b'{"statusReportList": [{"smsMsgId": "a", "status": "DELIVRD"}, {"status": "X"}]}', r"\[1\]"),
        (b'{"smsMsgId": "a", "status": ["DELIVRD"]}', "expected text"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_malformed_json_bodies(body: bytes, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        parse_report_batch(body)


def test_push_format_by_content_type() -> None:
    assert push_format("application/x-www-form-urlencoded; charset=UTF-8") == "form"
    assert push_format("application/json;charset=utf-8") == "json"
    assert push_format(None, b'{"a": 1}') == "json"
    assert push_format(None, b"a=1") == "form"
    assert push_format("text/plain") is None
    with pytest.raises(ReportError, match="Content-Type"):
        parse_push("text/plain", SEED_SUCCESS.encode())
    assert parse_push("application/x-www-form-urlencoded", SEED_SUCCESS.encode())[0].status == "DELIVRD"


_ids = st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=40).filter(
    lambda s: not any(ch.isspace() for ch in s)
)
_texts = st.one_of(st.none(), st.text(max_size=30))


@given(
    st.builds(
        StatusReport,
        sms_msg_id=_ids,
        status=_ids,
        status_desc=_texts,
        org_code=_texts,
        source=st.one_of(st.none(), st.sampled_from(["1", "2", "3"])),
        update_time=st.one_of(
            st.none(),
            st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
                lambda d: d.replace(microsecond=0, tzinfo=UTC)
            ),
        ),
        total=st.just(3),
        sequence=st.integers(1, 3),
        extend=_texts,
        to=_texts,
        extra=st.dictionaries(st.sampled_from(["foo", "bar baz", "ü"]), st.text(max_size=10), max_size=2),
    )
)
def test_urlencoded_round_trip(report: StatusReport) -> None:
    assert parse_report_body(report.to_body()) == report
    assert parse_report_batch({"statusReportList": [report.to_wire()]}) == [report]


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_bodies_only_raise_report_error(body: bytes) -> None:
    for content_type in ("application/x-www-form-urlencoded", "application/json", None):
        try:
            reports = parse_push(content_type, body)
        except ReportError:
            continue
        assert all(isinstance(r, StatusReport) and r.sms_msg_id and r.status for r in reports)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@given(
    st.dictionaries(st.sampled_from(["smsMsgId", "status", "total", "sequence", "updateTime", "to", "x"]), _json_values)
)
def test_random_json_reports_only_raise_report_error(fields: dict) -> None:
    for doc in (fields, {"statusReportList": [fields]}):
        try:
            reports = parse_report_batch(json.dumps(doc).encode())
        except ReportError:
            continue
        assert [r.sms_msg_id for r in reports] == [str(fields["smsMsgId"])]


def test_fields_accept_integers_not_booleans() -> None:
    assert parse_report_fields({"smsMsgId": "a", "status": "DELIVRD", "total": 2, "sequence": 2}).sequence == 2
    with pytest.raises(ReportError):
        parse_report_fields({"smsMsgId": "a", "status": "DELIVRD", "total": True})
