"""The emulator's pure rules: parsing, limits, per-number statuses, responses and status reports."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smskit import auth as signing
from smskit.emulator import logic
from smskit.emulator.logic import Outcome, Refusal
from smskit.protocol import DIFF, FORM, JSON, SINGLE
from smskit.templates import Template

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CN = "+8615512345678"
US = "+14155550100"


def form(**fields: str) -> bytes:
    base = {"from": "isms1", "to": CN, "templateId": "t1", "templateParas": '["1"]'}
    base.update(fields)
    return urlencode({k: v for k, v in base.items() if v is not None}).encode()


def diff(items: list[dict], **fields: object) -> bytes:
    return json.dumps({"from": "isms1", "smsContent": items, **fields}).encode()


def refusal(api: str, body: bytes, content_type: str | None = None) -> Refusal:
    with pytest.raises(Refusal) as info:
        logic.parse_request(api, content_type or (FORM if api == SINGLE else JSON), body)
    return info.value


CATALOG = {
    t.template_id: t
    for t in (
        Template("otp", "Your code is ${NUM_6}.", "international", "verification"),
        Template("long", "Hi ${TXT_20}, " + "x" * 200, "international", "notification"),
        Template("cn", "验证码${1}，5分钟内有效。", "mainland", "verification", None),
        Template("cn-signed", "验证码${1}。", "mainland", "verification", "smskit"),
    )
}


# -- parsing ----------------------------------------------------------------------------------------


def test_single_form_parses_every_field():
    body = form(to=f"{CN},{US}", statusCallback="https://cb.example/x", extend="e-1", signature="sig")
    req = logic.parse_request(SINGLE, "application/x-www-form-urlencoded; charset=UTF-8", body)
    assert req.api == SINGLE
    assert req.sender == "isms1"
    assert req.items == (logic.Item((CN, US), "t1", ("1",), "sig"),)
    assert (req.status_callback, req.extend, req.n_numbers) == ("https://cb.example/x", "e-1", 2)


def test_params_keep_leading_zeros():
    req = logic.parse_request(SINGLE, FORM, form(templateParas='["002569"]'))
    assert req.items[0].params == ("002569",)


def test_diff_json_parses_items():
    items = [{"to": [CN], "templateId": "a", "templateParas": ["1"]}, {"to": [US, CN], "templateId": "b"}]
    req = logic.parse_request(DIFF, "application/json;charset=UTF-8", diff(items, extend="x"))
    assert [i.to for i in req.items] == [(CN,), (US, CN)]
    assert [i.params for i in req.items] == [("1",), ()]
    assert req.extend == "x"
    assert req.n_numbers == 3


@pytest.mark.parametrize(
    ("api", "content_type"),
    [(SINGLE, "application/json"), (DIFF, FORM), (SINGLE, None), (DIFF, "text/plain")],
)
def test_wrong_content_type_is_e000040(api, content_type):
    body = form() if api == SINGLE else diff([{"to": [CN], "templateId": "a"}])
    with pytest.raises(Refusal) as info:
        logic.parse_request(api, content_type, body)
    assert info.value.code == "E000040"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"from": None}, "from"),
        ({"to": None}, "to is required"),
        ({"templateId": None}, "templateId"),
        ({"to": f"{CN};{US}"}, "characters"),
        ({"to": "+86 155"}, "characters"),
        ({"to": f"{CN},"}, "empty number"),
        ({"to": ",".join([CN] * 501)}, "501 numbers"),
        ({"to": "+" + "1" * 21}, "longer than 21"),
        ({"templateId": "t" * 33}, "longer than 32"),
        ({"templateParas": "[1]"}, "array of strings"),
        ({"templateParas": '{"a": "1"}'}, "array of strings"),
        ({"templateParas": '"1"'}, "array of strings"),
        ({"templateParas": "[not json"}, "not valid JSON"),
        ({"statusCallback": "https://x/" + "a" * 1015}, "statusCallback longer"),
        ({"statusCallback": "ftp://x"}, "http(s)"),
        ({"extend": "e" * 129}, "extend longer"),
        ({"extend": "a{b}"}, "braces"),
    ],
)
def test_single_parameter_rules_are_e000503(fields, needle):
    error = refusal(SINGLE, form(**fields))
    assert error.code == "E000503"
    assert needle in error.detail


def test_limits_themselves_are_allowed():
    body = form(
        to=",".join([CN] * 500),
        templateId="t" * 32,
        statusCallback="https://x/" + "a" * 1014,
        extend="e" * 128,
    )
    req = logic.parse_request(SINGLE, FORM, body)
    assert req.n_numbers == 500
    assert len(req.status_callback or "") == 1024


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (b"not json", "E000000", "JSON"),
        (b"[]", "E000503", "object"),
        (json.dumps({"smsContent": [{"to": [CN], "templateId": "a"}]}).encode(), "E000503", "from"),
        (diff([]), "E000503", "non-empty"),
        (diff([{"to": [CN], "templateId": "a"}] * 101), "E000503", "101 items"),
        (diff([{"to": CN, "templateId": "a"}]), "E000503", "array"),
        (diff([{"to": [CN] * 501, "templateId": "a"}]), "E000503", "501 numbers"),
        (diff([{"to": ["+86-155"], "templateId": "a"}]), "E000503", "characters"),
        (diff([{"to": [8615512345678], "templateId": "a"}]), "E000503", "characters"),
        (diff([{"to": [CN]}]), "E000503", "templateId"),
        (diff([{"to": [CN], "templateId": "a", "templateParas": [1]}]), "E000503", "strings"),
        (diff([{"to": [CN], "templateId": "a", "templateParas": "1"}]), "E000503", "strings"),
        (diff([{"to": [CN], "templateId": "a"}], extend="{x}"), "E000503", "braces"),
    ],
)
def test_diff_parameter_rules(body, code, needle):
    error = refusal(DIFF, body)
    assert error.code == code
    assert needle in error.detail


def test_diff_accepts_100_items_of_500():
    req = logic.parse_request(DIFF, JSON, diff([{"to": [CN] * 500, "templateId": "a"}] * 100))
    assert req.n_numbers == 50_000


@given(st.text(min_size=1, max_size=40))
def test_any_char_outside_digits_plus_comma_fails_whole_request(text):
    body = form(to=text)
    if re.fullmatch(r"[0-9+,]*", text):
        return
    assert refusal(SINGLE, body).code == "E000503"


@given(st.lists(st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True), min_size=1, max_size=30))
def test_valid_numbers_round_trip(numbers):
    req = logic.parse_request(SINGLE, FORM, form(to=",".join(numbers)))
    assert req.items[0].to == tuple(numbers)


# -- decisions ----------------------------------------------------------------------------------


def single(to: list[str], template_id: str = "t1", params: tuple[str, ...] = ("1",), signature=None):
    return logic.SendRequest(SINGLE, "isms1", (logic.Item(tuple(to), template_id, params, signature),))


def test_without_catalog_any_template_is_accepted():
    decisions = logic.decide(single([CN, US], "anything"), templates=None)
    assert [d.status for d in decisions] == ["000000", "000000"]
    assert [d.country_id for d in decisions] == ["CN", "US"]
    assert logic.request_code(decisions) == "000000"


def test_without_catalog_empty_param_is_e200028():
    decisions = logic.decide(single([CN], params=("1", "")), templates=None)
    assert decisions[0].status == "E200028"
    assert logic.request_code(decisions) == "E000510"


def test_duplicate_number_same_content_is_e200041():
    decisions = logic.decide(single([CN, US, CN, CN]), templates=None)
    assert [d.status for d in decisions] == ["000000", "000000", "E200041", "E200041"]


def test_same_number_different_content_is_not_a_duplicate():
    req = logic.SendRequest(
        DIFF,
        "isms1",
        (logic.Item((CN,), "a", ("1",)), logic.Item((CN,), "a", ("2",)), logic.Item((CN,), "a", ("1",))),
    )
    assert [d.status for d in logic.decide(req, templates=None)] == ["000000", "000000", "E200041"]


@pytest.mark.parametrize(
    ("template_id", "params", "signature", "status", "segments"),
    [
        ("otp", ("123456",), None, "000000", 1),
        ("otp", ("12345a",), None, "E200028", 1),
        ("otp", ("1234567",), None, "E200028", 1),
        ("otp", (), None, "E200028", 1),
        ("otp", ("1", "2"), None, "E200028", 1),
        ("missing", ("1",), None, "E200030", 1),
        ("long", ("Ann",), None, "000000", 2),
        ("cn", ("1234",), None, "E200029", 1),
        ("cn", ("1234",), "smskit", "000000", 1),
        ("cn-signed", ("1234",), None, "000000", 1),
    ],
)
def test_catalog_statuses(template_id, params, signature, status, segments):
    decision = logic.decide(single([CN], template_id, params, signature), templates=CATALOG)[0]
    assert (decision.status, decision.segments) == (status, segments)


def test_country_id_unknown_is_blank():
    """countryId comes from smskit.numbers.country_of (tests/test_numbers.py pins it to phonenumbers)."""
    decisions = logic.decide(single(["+999123", "8615512345678"]), templates=None)
    assert [d.country_id for d in decisions] == ["", "CN"]


# -- responses ------------------------------------------------------------------------------------


def test_response_body_shape():
    decisions = logic.decide(single([CN, CN]), templates=None)
    body = logic.response_body(decisions, sender="isms1", msg_ids=["a_1", "b_2"], created=NOW)
    assert body["code"] == "E000510"
    assert body["description"]
    assert body["result"][0] == {
        "originTo": CN,
        "createTime": "2026-03-01T12:00:00Z",
        "from": "isms1",
        "smsMsgId": "a_1",
        "status": "000000",
        "countryId": "CN",
        "total": 1,
    }
    assert body["result"][1]["status"] == "E200041"


def test_success_body_and_error_body():
    decisions = logic.decide(single([CN]), templates=None)
    body = logic.response_body(decisions, sender="s", msg_ids=["x_1"], created=NOW)
    assert (body["code"], body["description"]) == ("000000", "Success")
    assert logic.error_body("E000503") == {"code": "E000503", "description": "Parameter format error"}


@pytest.mark.parametrize(
    ("code", "status"),
    # the 返回值 table's HTTP column (E000510 sits in its 400 group: issue 11 changed it from 200)
    [("E000510", 400), ("E000101", 401), ("E000110", 401), ("E000620", 403), ("E000503", 400), ("E000040", 400)],
)
def test_http_status(code, status):
    assert logic.http_status(code) == status


def test_msg_id_shape_and_determinism():
    ids = [logic.new_msg_id(random.Random(7), n) for n in (1, 1)]
    assert ids[0] == ids[1]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_1", ids[0])


# -- authentication -------------------------------------------------------------------------------


def test_authenticate_picks_the_scheme():
    secrets = {"k": "s"}
    body = form()
    url = "http://127.0.0.1:1/sms/batchSendSms/v1"
    aksk = signing.aksk_headers("POST", url, body, key="k", secret="s", content_type=FORM, now=NOW)
    seen: set[tuple[str, str]] = set()

    def nonce_seen(key: str, nonce: str) -> bool:
        hit = (key, nonce) in seen
        seen.add((key, nonce))
        return hit

    args = ("POST", "/sms/batchSendSms/v1", "", aksk, body)
    assert logic.authenticate(*args, secrets=secrets, now=NOW, nonce_seen=nonce_seen) == (None, "k", "aksk")
    wsse = signing.wsse_headers("k", "s", content_type=FORM, now=NOW, nonce="n1")
    args = ("POST", "/sms/batchSendSms/v1", "", wsse, body)
    assert logic.authenticate(*args, secrets=secrets, now=NOW, nonce_seen=nonce_seen) == (None, "k", "wsse")
    replay = logic.authenticate(*args, secrets=secrets, now=NOW, nonce_seen=nonce_seen)
    assert replay == ("E000027", "k", "wsse")
    late = NOW + timedelta(minutes=16)
    args = ("POST", "/sms/batchSendSms/v1", "", aksk, body)
    assert logic.authenticate(*args, secrets=secrets, now=late, nonce_seen=nonce_seen)[0] == "E000044"  # issue 11


# -- status reports -------------------------------------------------------------------------------


def test_one_report_per_segment_sharing_the_outcome():
    reports = logic.build_reports(sms_msg_id="m_1", segments=3, outcome=Outcome("RTE_ERR", "E200027"), update_time=NOW)
    assert [r["sequence"] for r in reports] == ["1", "2", "3"]
    assert {r["total"] for r in reports} == {"3"}
    assert {(r["status"], r["orgCode"]) for r in reports} == {("RTE_ERR", "E200027")}
    assert reports[0]["updateTime"] == "2026-03-01T12:00:00Z"
    assert "extend" not in reports[0]
    assert "to" not in reports[0]


def test_extend_brings_to_into_the_report():
    (report,) = logic.build_reports(
        sms_msg_id="m_1", segments=1, outcome=Outcome("DELIVRD"), update_time=NOW, extend="e", to=CN
    )
    assert (report["extend"], report["to"], report["source"]) == ("e", CN, "2")
    assert "orgCode" not in report


def test_report_encodings():
    reports = logic.build_reports(sms_msg_id="m_1", segments=2, outcome=Outcome("DELIVRD"), update_time=NOW)
    assert dict(parse_qsl(logic.encode_report_form(reports[0]).decode())) == reports[0]
    assert json.loads(logic.encode_report_batch(reports)) == {"statusReportList": reports}
    with pytest.raises(ValueError, match="at most 50"):
        logic.encode_report_batch(reports * 26)


def test_draw_outcome_rates_and_weights():
    rng = random.Random(3)
    draws = [logic.draw_outcome(rng, delivery_rate=0.5, failures={"BLACK": 1.0, "RTE_ERR": 0.0}) for _ in range(2000)]
    statuses = [d.status for d in draws]
    assert set(statuses) == {"DELIVRD", "BLACK"}
    assert 0.45 < statuses.count("DELIVRD") / 2000 < 0.55
    assert all(logic.draw_outcome(rng, delivery_rate=1.0, failures={"BLACK": 1}).status == "DELIVRD" for _ in range(50))
    rte = logic.draw_outcome(rng, delivery_rate=0.0, failures={"RTE_ERR": 1})
    assert rte == Outcome("RTE_ERR", "E200027")


# Report sources, API reference "接收状态报告" (source: 1 短信平台自行产生, 2 短信中心返回, 3 华为平台产生) and the
# guide, seed lines 605–611: "When the Message & SMS platform does not receive the SMS status report from the
# SMSC, the platform constructs a status report that does not contain the updateTime parameter."
@pytest.mark.parametrize(
    ("status", "source", "has_time"),
    [
        ("EXPIRED", "1", False),  # built by the platform after 72 h without a carrier report
        ("DELIVRD", "2", True),
        ("UNDELIV", "2", True),
        ("RTE_ERR", "2", True),  # seed lines 829–830: status=RTE_ERR with source=2
        ("E200027", "3", True),
        ("E000628", "3", True),
    ],
)
def test_report_source_and_update_time(status, source, has_time):
    (report,) = logic.build_reports(sms_msg_id="m_1", segments=1, outcome=Outcome(status), update_time=NOW)
    assert report["source"] == source
    assert ("updateTime" in report) is has_time
