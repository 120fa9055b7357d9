"""AK/SK canonicalization is the official signer's: huaweicloudsdkcore 3.1.219 ``signer/signer.py`` is the oracle.

Both directions, on generated paths, queries, headers and bodies: a request Huawei's Signer signed is
accepted by :func:`verify_aksk` (given what a server receives: the path as sent, the query the signer
put on the URI, header values as latin-1 text), and :func:`aksk_authorization` computes the very same
``Authorization`` for the same request. Then over real HTTP, to the emulator and to the receiver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smskit.auth import aksk_authorization, verify_aksk

AK, SK = "official-ak", "official-sk-value"
NOW = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
HOST = "smsapi.example.com:443"
RESERVED = {"authorization", "host", "x-sdk-date", "x-sdk-content-sha256", "content-type"}

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
tricky = st.sampled_from(["10:00", "10.5", "a b", "a/b", "a.b", "a+b", "~x", "%41", "&", "=", "中文", "", " "])
segment = st.one_of(text, tricky)
#: How a client may write a path segment on the wire: encoded more or less, literal where allowed.
path_quoting = st.sampled_from(["", "/", "~", "+!$'()*,;=:@", "~+"])


@st.composite
def paths(draw: Any) -> str:
    segments = draw(st.lists(segment, min_size=0, max_size=4))
    safe = draw(path_quoting)
    return "/" + "/".join(quote(s, safe=safe) for s in segments) + draw(st.sampled_from(["", "/"]))


queries = st.lists(st.tuples(st.one_of(text, tricky), st.one_of(text, tricky)), max_size=6)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True).filter(lambda n: n.lower() not in RESERVED)
header_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)
extra_headers = st.dictionaries(header_names, header_values, max_size=4).filter(
    lambda h: len({k.lower() for k in h}) == len(h)
)
content_types = st.sampled_from(
    ["application/json", "application/json;charset=UTF-8", "application/x-www-form-urlencoded"]
)


def official_sign(
    method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
) -> SdkRequest:
    request = SdkRequest(
        method=method,
        schema="https",
        host=HOST,
        resource_path=path,
        header_params={**headers, "X-Sdk-Date": NOW.strftime("%Y%m%dT%H%M%SZ")},
        query_params=list(query),
        body=body,
    )
    return Signer(BasicCredentials(AK, SK)).sign(request)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=paths(),
    query=queries,
    extra=extra_headers,
    content_type=content_types,
    body=st.one_of(st.just(b""), st.binary(max_size=64)),
)
def test_official_signatures_verify_and_ours_equal_theirs(
    method: str, path: str, query: list[tuple[str, str]], extra: dict[str, str], content_type: str, body: bytes
) -> None:
    original = {"Content-Type": content_type, **extra}
    signed = official_sign(method, path, query, dict(original), body)
    received = dict(signed.header_params)  # values now as a server reads them: latin-1 text of UTF-8
    wire_query = signed.uri.partition("?")[2]  # the signer puts its canonical query on the URI
    assert verify_aksk(method, path, wire_query, received, body, secrets={AK: SK}, now=NOW) == (None, AK)

    # ours, from the same inputs (query in the caller's order; the signer added Host and maybe the hash header)
    ours = {**original, "Host": HOST, "X-Sdk-Date": NOW.strftime("%Y%m%dT%H%M%SZ")}
    if "X-Sdk-Content-Sha256" in signed.header_params:
        ours["X-Sdk-Content-Sha256"] = "UNSIGNED-PAYLOAD"
    url_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    url = f"https://{HOST}{path}" + (f"?{url_query}" if url_query else "")
    assert aksk_authorization(method, url, ours, body, key=AK, secret=SK) == signed.header_params["Authorization"]


@pytest.mark.parametrize(
    "query",
    [
        [("t", "10:00"), ("t", "10.5")],
        [("a/b", "1"), ("a.b", "2")],
        [("k", "a b")],
        [("b", "x y"), ("a", "2"), ("a", "1"), ("k~", "a+b*")],
    ],
    ids=["times", "slash-dot-keys", "space", "mixed"],
)
@pytest.mark.parametrize("path", ["/sms/batchSendSms/v1", "/a%20b/c+d/%E4%B8%AD/x%2Fy", "/v1/"])
def test_the_issue_cases(query: list[tuple[str, str]], path: str) -> None:
    """The queries issue 11 names: today's main answered 401 to them (sorting on encoded pairs)."""
    signed = official_sign("POST", path, query, {"Content-Type": "application/json"}, b'{"a":1}')
    wire_query = signed.uri.partition("?")[2]
    headers = dict(signed.header_params)
    assert verify_aksk("POST", path, wire_query, headers, b'{"a":1}', secrets={AK: SK}, now=NOW)[0] is None


def test_empty_body_with_unsigned_payload_hashes_as_empty() -> None:
    """signer.py _process_hash_payload: ``if not request.body: return _EMPTY_HASH`` before the header."""
    signed = official_sign("POST", "/x", [], {"Content-Type": "application/x-www-form-urlencoded"}, b"")
    assert signed.header_params["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    headers = dict(signed.header_params)
    assert verify_aksk("POST", "/x", "", headers, b"", secrets={AK: SK}, now=NOW)[0] is None


def test_headers_with_underscores_are_not_signed() -> None:
    """signer.py _process_signed_headers: ``if "_" in key: continue``."""
    signed = official_sign("POST", "/x", [], {"Content-Type": "application/json", "X_Trace": "1"}, b"{}")
    assert "x_trace" not in signed.header_params["Authorization"]
    ours = {"Content-Type": "application/json", "X_Trace": "1", "Host": HOST, "X-Sdk-Date": "20261125T080000Z"}
    assert (
        aksk_authorization("POST", f"https://{HOST}/x", ours, b"{}", key=AK, secret=SK)
        == (signed.header_params["Authorization"])
    )


# -- over real HTTP --------------------------------------------------------------------------------------


def _send_official(url: str, query: list[tuple[str, str]], body: bytes, content_type: str) -> requests.Response:
    """Sign with Huawei's Signer and send exactly what it signed (its URI, its headers) with requests."""
    scheme_host, _, path = url.partition("//")[2].partition("/")
    request = SdkRequest(
        method="POST",
        schema="http",
        host=scheme_host,
        resource_path="/" + path,
        header_params={"Content-Type": content_type},
        query_params=list(query),
        body=body,
    )
    signed = Signer(BasicCredentials(AK, SK)).sign(request)
    headers = {k: v for k, v in signed.header_params.items() if k.lower() != "host"}
    headers["Host"] = signed.header_params["Host"]
    return requests.post(f"http://{scheme_host}{signed.uri}", data=body, headers=headers, timeout=10)


QUERY = [("t", "10:00"), ("t", "10.5"), ("a/b", "1"), ("a.b", "2"), ("k", "a b")]


def test_official_signer_to_the_emulator_over_http() -> None:
    from smskit.emulator import Emulator

    body = b'{"from":"isms1","smsContent":[{"to":["+8615512345678"],"templateId":"t1","templateParas":["1"]}]}'
    with Emulator(app_key=AK, app_secret=SK, seed=1) as emu:
        for query in ([], QUERY):
            answer = _send_official(emu.base_url + "/sms/batchSendDiffSms/v1", query, body, "application/json")
            assert (answer.status_code, answer.json()["code"]) == (200, "000000")
        form = b"from=isms1&to=%2B8615512345678&templateId=t1&templateParas=%5B%221%22%5D"
        answer = _send_official(emu.base_url + "/sms/batchSendSms/v1", QUERY, form, "application/x-www-form-urlencoded")
        assert (answer.status_code, answer.json()["code"]) == (200, "000000")  # signed UNSIGNED-PAYLOAD
        assert emu.requests()["scheme"].tolist() == ["aksk"] * 3


def test_official_signer_to_the_receiver_over_http(tmp_path: Any) -> None:
    from smskit.reports.receiver import CallbackReceiver

    form = b"smsMsgId=m_1&status=DELIVRD&updateTime=2024-05-01T08%3A00%3A01Z"
    batch = b'{"statusReportList":[{"smsMsgId":"m_2","status":"DELIVRD"}]}'
    with CallbackReceiver(tmp_path / "r.sqlite", token="tok", push_keys={AK: SK}) as rx:
        assert _send_official(rx.url, QUERY, form, "application/x-www-form-urlencoded").status_code == 200
        assert _send_official(rx.url, [], batch, "application/json").status_code == 200
        assert sorted(rx.reports()["sms_msg_id"]) == ["m_1", "m_2"]
