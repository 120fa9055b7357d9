"""Uplink (reply) pushes: parsing, the ISO-8859-1 repair, the unsubscribe test and the replies frame.

Field rules from Huawei's "接收上行短信:请求参数"
(https://huaweicloud.com/guide/productsdesc-bms_3aebeef18cf7a94cbc2e3f905f47e993support1) and its example
(https://huaweicloud.com/guide/productsdesc-bms_3aebeef18cf7a94cbc2e3f905f47e993support2); the repair from the
FAQ "如果上行短信呈现乱码,如何处理?" (``new String(body.getBytes("ISO-8859-1"), "UTF-8")``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smskit.errors import DataValidationError, ReportError
from smskit.reports.replies import (
    MAX_BODY_CHARS,
    REPLY_COLUMNS,
    REPLY_DTYPES,
    REPLY_INSERT,
    REPLY_SCHEMA,
    UNSUBSCRIBE_WORDS,
    Reply,
    is_unsubscribe,
    parse_reply_body,
    read_replies,
    repair_body,
    replies_frame,
    reply_row,
)

# The reference's example body (its `from` is masked with asterisks there, and kept so here).
EXAMPLE = "from=%2B86155****5172&to=201804131431201234&body=********&smsMsgId=9692b5be-c427-4525-8e73-cf4a6ac5b3f7"


def _body(*, sms_msg_id: str = "u-1", body: str = "TD", create_time: str | None = None) -> str:
    fields = {"smsMsgId": sms_msg_id, "from": "+8613800138000", "to": "1069012345", "body": body}
    if create_time is not None:
        fields["createTime"] = create_time
    return urlencode(fields)


def test_reference_example_parses() -> None:
    r = parse_reply_body(EXAMPLE.encode())
    assert r.sms_msg_id == "9692b5be-c427-4525-8e73-cf4a6ac5b3f7"
    assert (r.from_, r.to, r.body) == ("+86155****5172", "201804131431201234", "********")
    assert r.create_time is None
    assert r.raw_body is None
    assert not r.unsubscribe


def test_create_time_is_utc_and_unknown_fields_are_kept() -> None:
    r = parse_reply_body("smsMsgId=u1&from=%2B8613800138000&to=1069&body=TD&createTime=2018-02-12T15%3A30%3A20Z&x=1")
    assert r.create_time == datetime(2018, 2, 12, 15, 30, 20, tzinfo=UTC)
    assert r.extra == {"x": "1"}
    assert r.unsubscribe


@pytest.mark.parametrize("text", ["退订", "回复TD退订,谢谢", "Grüße aus Köln", "STOP 🙏"])
def test_a_body_misdecoded_as_iso_8859_1_is_repaired(text: str) -> None:
    reply = Reply("u1", "+8613800138000", "1069", text)
    garbled = reply.to_wire(garbled=True)["body"]
    assert garbled != text  # what the FAQ calls 乱码
    parsed = parse_reply_body(reply.to_body(garbled=True))
    assert parsed.body == text
    assert parsed.raw_body == garbled
    # exactly the FAQ's Java: new String(body.getBytes("ISO-8859-1"), "UTF-8")
    assert garbled.encode("iso-8859-1").decode("utf-8") == parsed.body


@pytest.mark.parametrize("text", ["café crème", "naïve", "TD", "Ã"])
def test_text_that_does_not_round_trip_is_left_alone(text: str) -> None:
    assert repair_body(text) == text
    assert parse_reply_body(Reply("u1", "+8613800138000", "1069", text).to_body()).raw_body is None


def test_repair_happens_before_the_length_check() -> None:
    text = "退" * MAX_BODY_CHARS  # 160 chars, 480 once mis-decoded
    assert parse_reply_body(Reply("u", "+8613800138000", "1069", text).to_body(garbled=True)).body == text
    with pytest.raises(ReportError, match="at most 160"):
        parse_reply_body(Reply("u", "+8613800138000", "1069", text + "x").to_body())


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("", "empty"),
        ("from=%2B86138&to=1069&body=TD", "without smsMsgId"),
        ("smsMsgId=u1&to=1069&body=TD", "without from"),
        ("smsMsgId=u1&from=%2B86138&body=TD", "without to"),
        ("smsMsgId=u1&from=%2B86138&to=1069", "without body"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=+++", "without body"),
        ("smsMsgId=" + "a" * 51 + "&from=%2B86138&to=1069&body=TD", "at most 50"),
        ("smsMsgId=u1&from=%2B" + "8" * 21 + "&to=1069&body=TD", "at most 21"),
        ("smsMsgId=u1&from=%2B86+138&to=1069&body=TD", "blanks or control"),
        ("smsMsgId=u%00&from=%2B86138&to=1069&body=TD", "blanks or control"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=T%07D", "control character U\\+0007"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=%C2%9F", "control character U\\+009F"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=TD&createTime=yesterday", "createTime"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=TD&createTime=2018-02-30T00%3A00%3A00Z", "createTime"),
        ("smsMsgId=u1&smsMsgId=u2&from=%2B86138&to=1069&body=TD", "twice"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=%FF", "not UTF-8"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=TD\nsmsMsgId=u2", "line breaks"),
        ("smsMsgId=u1&from=%2B86138&to=1069&body=" + "x" * 17000, "at most"),
    ],
)
def test_malformed_pushes_raise_report_error(body: str, match: str) -> None:
    with pytest.raises(ReportError, match=match):
        parse_reply_body(body)


def test_bytes_that_are_not_utf8_raise_report_error() -> None:
    with pytest.raises(ReportError, match="not UTF-8"):
        parse_reply_body(b"smsMsgId=u1&from=x&to=y&body=\xff")


def test_a_body_with_line_breaks_inside_is_text() -> None:
    assert parse_reply_body("smsMsgId=u1&from=%2B86138&to=1069&body=line+1%0Aline+2").body == "line 1\nline 2"


@pytest.mark.parametrize(
    "text",
    [
        "R",
        "r",
        " TD ",
        "td",
        "Td.",
        "ＴＤ",
        "Ｒ",
        "退订",
        " 退订！",
        "【退订】",
        "N",
        "T",
        "STOP",
        "Stop.",
        "stop!",
        "UNSUBSCRIBE",
        "unsubscribe",
        "S T O P",
        "Cancel",
        "END",
        "quit",
        "stopall",
        "OPT-OUT",
        "\u200bTD",
    ],
)
def test_unsubscribe_words(text: str) -> None:
    assert is_unsubscribe(text) is True


@pytest.mark.parametrize(
    "text", ["", "   ", "RT", "stop it", "please stop", "TD123", "退订了吗", "yes", "Y", "TDD", "STOP 🙏", "订退"]
)
def test_other_replies_do_not_unsubscribe(text: str) -> None:
    assert is_unsubscribe(text) is False


def test_is_unsubscribe_on_a_series_keeps_the_index_and_handles_missing() -> None:
    s = pd.Series(["TD", None, "hello", "退订", np.nan], index=list("abcde"))
    out = is_unsubscribe(s)
    assert list(out.index) == list("abcde")
    assert out.tolist() == [True, False, False, True, False]
    assert is_unsubscribe(["r", "x"]).tolist() == [True, False]


_DECOR = st.sampled_from([" ", "\t", "\u3000", ".", "!", "！", "。", "【", "】", "-", ""])


@given(word=st.sampled_from(UNSUBSCRIBE_WORDS), left=st.lists(_DECOR, max_size=3), right=st.lists(_DECOR, max_size=3))
def test_property_decorated_unsubscribe_words(word: str, left: list[str], right: list[str]) -> None:
    for variant in (word, word.lower(), word.upper()):
        assert is_unsubscribe("".join(left) + variant + "".join(right))
    full = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)  # full-width forms
    assert is_unsubscribe(full)
    assert not is_unsubscribe(word + "x")


@given(st.text(max_size=400))
def test_property_is_unsubscribe_never_raises(text: str) -> None:
    assert is_unsubscribe(text) in (True, False)


@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_property_parse_reply_body_raises_only_report_error(body: bytes | str) -> None:
    try:
        reply = parse_reply_body(body)
    except ReportError:
        return
    assert 1 <= len(reply.body) <= MAX_BODY_CHARS
    assert reply.sms_msg_id
    assert reply.from_
    assert reply.to


_FIELD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1)


@given(
    sms_msg_id=_FIELD_TEXT.filter(lambda s: len(s) <= 50 and s.isprintable()),
    sender=st.from_regex(r"\+[1-9]\d{6,14}", fullmatch=True),
    body=st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=MAX_BODY_CHARS
    ).filter(lambda s: s.strip() != ""),
    garbled=st.booleans(),
)
def test_property_round_trip_through_the_wire(sms_msg_id: str, sender: str, body: str, garbled: bool) -> None:
    sent = Reply(sms_msg_id, sender, "1069012345", body)
    try:
        got = parse_reply_body(sent.to_body(garbled=garbled))
    except ReportError:
        # only text whose Latin-1 bytes are themselves UTF-8 is ambiguous; the repair reads it as mis-decoded
        assert repair_body(body) != body
        return
    assert (got.sms_msg_id, got.from_, got.to) == (sms_msg_id, sender, "1069012345")
    assert got.body == body or (not garbled and repair_body(body) == got.body)


def test_replies_frame_columns_and_dtypes() -> None:
    received = datetime(2026, 11, 3, 2, 0, 5, tzinfo=UTC)
    frame = replies_frame(
        [
            parse_reply_body(_body(create_time="2026-11-03T02:00:00Z"), received_at=received),
            {"sms_msg_id": "u-2", "from": "+8613900139000", "to": "1069", "body": "hello"},
        ]
    )
    assert tuple(frame.columns) == REPLY_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == {c: str(t) for c, t in REPLY_DTYPES.items()}
    assert frame["unsubscribe"].tolist() == [True, False]
    assert frame["create_time"].iloc[0] == pd.Timestamp("2026-11-03T02:00:00Z")
    assert frame["received_at"].iloc[0] == pd.Timestamp(received)
    assert pd.isna(frame["create_time"].iloc[1])


def test_read_replies_from_a_log_names_bad_lines(tmp_path: Path) -> None:
    log = tmp_path / "replies.log"
    log.write_text(_body() + "\n\n" + "not a push\n" + _body(sms_msg_id="u-2", body="hi") + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="line 3") as info:
        read_replies(log)
    assert info.value.rows is not None
    assert list(info.value.rows.index) == [3]
    frame = read_replies(log, errors="skip")
    assert frame["sms_msg_id"].tolist() == ["u-1", "u-2"]
    assert frame["unsubscribe"].tolist() == [True, False]


def test_read_replies_from_a_frame_keeps_its_index_and_takes_wire_names() -> None:
    raw = pd.DataFrame(
        {"smsMsgId": ["a", "b"], "from": ["+8613800138000", "8613900139000"], "to": ["1069", "1069"]}
        | {"body": ["退订", "ok"], "createTime": ["2026-11-03T02:00:00Z", None]},
        index=[10, 20],
    )
    before = raw.copy()
    frame = read_replies(raw)
    pd.testing.assert_frame_equal(raw, before)
    assert list(frame.index) == [10, 20]
    assert tuple(frame.columns) == REPLY_COLUMNS
    assert frame["unsubscribe"].tolist() == [True, False]
    with pytest.raises(DataValidationError, match="body"):
        read_replies(raw.drop(columns="body"))


def test_reply_schema_stores_once_and_reads_back(tmp_path: Path) -> None:
    store = tmp_path / "replies.sqlite"
    received = datetime(2026, 11, 3, 2, 0, 5, tzinfo=UTC)
    garbled = parse_reply_body(Reply("u-2", "+8613900139000", "1069", "退订").to_body(garbled=True))
    with sqlite3.connect(store) as db:
        db.executescript(REPLY_SCHEMA)
        db.executemany(REPLY_INSERT, [reply_row(r, received) for r in (parse_reply_body(_body()), garbled, garbled)])
        raw_body = db.execute("SELECT raw_body FROM replies WHERE sms_msg_id='u-2'").fetchone()[0]
    db.close()
    assert raw_body == "退订".encode().decode("latin-1")
    frame = read_replies(store)
    assert frame["sms_msg_id"].tolist() == ["u-1", "u-2"]  # the re-pushed reply is stored once
    assert frame["body"].tolist() == ["TD", "退订"]
    assert frame["unsubscribe"].all()
    assert (frame["received_at"] == pd.Timestamp(received)).all()


def test_read_replies_refuses_a_store_without_replies(tmp_path: Path) -> None:
    store = tmp_path / "other.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(ReportError, match="no replies"):
        read_replies(store)
