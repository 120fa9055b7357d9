"""Signing vectors (Huawei's official AK/SK vector, WSSE hex/raw) and verification codes."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smskit.auth import (
    WSSE_AUTHORIZATION,
    aksk_authorization,
    aksk_headers,
    canonical_request,
    new_nonce,
    verify_aksk,
    verify_wsse,
    wsse_digest,
    wsse_header,
    wsse_headers,
)

AK, SK = "QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
VECTOR_PATH = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
VECTOR_QUERY = "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
VECTOR_HEADERS = {
    "content-type": "application/json",
    "host": "service.region.example.com",
    "x-sdk-date": "20191115T033655Z",
}
NOW = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
URL = "https://smsapi.ap-southeast-1.myhuaweicloud.com:443/sms/batchSendSms/v1"
SECRETS = {"app-key": "app-secret-value"}


def test_official_canonical_request_hash() -> None:
    text, signed = canonical_request("GET", VECTOR_PATH, VECTOR_QUERY, VECTOR_HEADERS, b"")
    assert signed == "content-type;host;x-sdk-date"
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )


def test_official_signature_vector() -> None:
    url = f"https://service.region.example.com{VECTOR_PATH}?{VECTOR_QUERY}"
    auth = aksk_authorization("GET", url, VECTOR_HEADERS, b"", key=AK, secret=SK)
    assert auth == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )


def test_canonical_uri_ends_with_slash_and_host_keeps_port() -> None:
    headers = aksk_headers("POST", URL, b"a=1", key="k", secret="s", content_type="x", now=NOW)
    assert headers["Host"] == "smsapi.ap-southeast-1.myhuaweicloud.com:443"
    assert headers["X-Sdk-Date"] == "20261125T080000Z"
    text, _ = canonical_request("POST", "/sms/batchSendSms/v1", "", {"host": "h", "x-sdk-date": "d"}, b"")
    assert text.split("\n")[1] == "/sms/batchSendSms/v1/"


def test_wsse_vectors() -> None:
    nonce, created, secret = (
        "ac1c911c4792492687f8f6b2264a491e",
        "2018-05-26T00:35:30Z",
        "q4Ii87BhST9vcs8wvrzN80SfD7Al",
    )
    assert wsse_digest(nonce, created, secret) == (
        "NTA0ZWE4Y2Q0ZGMyYWEwZDk0MWZmNjE4NGQxYjc1Y2YzNWYwNzgwZTdjMGU4ZDgzNmZmMGE3MWJlODA0MjBmZg=="
    )
    assert wsse_digest(nonce, created, secret, digest="raw") == "UE6ozU3Cqg2UH/YYTRt1zzXweA58Do2Db/CnG+gEIP8="
    header = wsse_header("c8RWg3ggEcyd4D3p94bf3Y7x1Ile", secret, nonce=nonce, created=created)
    assert header == (
        'UsernameToken Username="c8RWg3ggEcyd4D3p94bf3Y7x1Ile",PasswordDigest="'
        'NTA0ZWE4Y2Q0ZGMyYWEwZDk0MWZmNjE4NGQxYjc1Y2YzNWYwNzgwZTdjMGU4ZDgzNmZmMGE3MWJlODA0MjBmZg==",'
        'Nonce="ac1c911c4792492687f8f6b2264a491e",Created="2018-05-26T00:35:30Z"'
    )


def test_wsse_created_is_utc_and_naive_time_refused() -> None:
    local = datetime(2026, 11, 25, 16, 0, 0, tzinfo=UTC).astimezone(__import__("datetime").timezone(timedelta(hours=8)))
    assert 'Created="2026-11-25T16:00:00Z"' in wsse_header("k", "s", nonce="n", created=local)
    with pytest.raises(ValueError, match="timezone-aware"):
        wsse_header("k", "s", nonce="n", created=datetime(2026, 1, 1))


def test_nonces_are_fresh() -> None:
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(len(n) == 32 for n in nonces)
    h1 = wsse_headers("k", "s", content_type="x", now=NOW)["X-WSSE"]
    h2 = wsse_headers("k", "s", content_type="x", now=NOW)["X-WSSE"]
    assert h1 != h2


def _aksk(body: bytes = b"from=a", *, unsigned: bool = False, now: datetime = NOW, secret: str = SECRETS["app-key"]):
    return aksk_headers(
        "POST",
        URL,
        body,
        key="app-key",
        secret=secret,
        content_type="application/x-www-form-urlencoded",
        now=now,
        unsigned_payload=unsigned,
    )


@pytest.mark.parametrize("unsigned", [False, True])
def test_verify_aksk_accepts_both_payload_forms(unsigned: bool) -> None:
    headers = _aksk(unsigned=unsigned)
    assert verify_aksk("POST", "/sms/batchSendSms/v1", "", headers, b"from=a", secrets=SECRETS, now=NOW) == (
        None,
        "app-key",
    )


def test_verify_aksk_detects_body_tampering_only_when_hashed() -> None:
    hashed = _aksk()
    err, _ = verify_aksk("POST", "/sms/batchSendSms/v1", "", hashed, b"from=b", secrets=SECRETS, now=NOW)
    assert err == "E000045"


# Huawei's API reference, "API错误码(发送短信)" (https://support.huaweicloud.com/api-msgsms/sms_05_0050.html):
# E000041 "X-Sdk-Date为空", E000042 "X-Sdk-Date格式错误", E000045 "Authorization校验失败" (Signature);
# E000043 "Authorization格式错误" and E000044 "X-Sdk-Date过期" only from third-party copies of the table.
# Issue 11 changed these from E000027/E000110/E000101.
@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.pop("Authorization"), "E000001"),
        (lambda h: h.__setitem__("Authorization", "Basic abc"), "E000043"),
        (lambda h: h.pop("X-Sdk-Date"), "E000041"),
        (lambda h: h.__setitem__("X-Sdk-Date", " "), "E000041"),
        (lambda h: h.__setitem__("X-Sdk-Date", "2026-11-25T08:00:00Z"), "E000042"),
        (lambda h: h.__setitem__("X-Sdk-Date", "2026112T80000Z"), "E000042"),
        (lambda h: h.update(_aksk(now=NOW - timedelta(minutes=16))), "E000044"),
        (lambda h: h.update(_aksk(secret="wrong")), "E000045"),
        (lambda h: h.__setitem__("Authorization", h["Authorization"].replace("host;", "")), "E000045"),
        (lambda h: h.__setitem__("Authorization", h["Authorization"].replace("app-key", "other")), "E000102"),
    ],
    ids=[
        "missing",
        "malformed",
        "no-date",
        "blank-date",
        "iso-date",
        "unpadded-date",
        "skewed",
        "wrong-secret",
        "host-unsigned",
        "unknown-key",
    ],
)
def test_verify_aksk_error_codes(mutate, code: str) -> None:
    headers = _aksk()
    mutate(headers)
    err, _ = verify_aksk("POST", "/sms/batchSendSms/v1", "", headers, b"from=a", secrets=SECRETS, now=NOW)
    assert err == code


def test_verify_aksk_within_skew_is_accepted() -> None:
    headers = _aksk(now=NOW - timedelta(minutes=14))
    assert verify_aksk("POST", "/sms/batchSendSms/v1", "", headers, b"from=a", secrets=SECRETS, now=NOW)[0] is None


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_official_sdk_signature_verifies(content_type: str) -> None:
    """Huawei's own Python signer (huaweicloudsdkcore) is the oracle for our verifier."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    body = b'{"from":"isms1"}' if content_type == "application/json" else b"from=isms1&to=%2B6591234567"
    request = SdkRequest(
        method="POST",
        schema="https",
        host="smsapi.ap-southeast-1.myhuaweicloud.com:443",
        resource_path="/sms/batchSendSms/v1",
        header_params={"Content-Type": content_type, "X-Sdk-Date": NOW.strftime("%Y%m%dT%H%M%SZ")},
        query_params=[],
        body=body,
    )
    signed = Signer(BasicCredentials("app-key", "app-secret-value")).sign(request)
    headers = dict(signed.header_params)
    assert ("X-Sdk-Content-Sha256" in headers) == (content_type != "application/json")
    assert verify_aksk("POST", "/sms/batchSendSms/v1", "", headers, body, secrets=SECRETS, now=NOW)[0] is None


def _wsse(**kw):
    return wsse_headers("app-key", kw.pop("secret", "app-secret-value"), content_type="x", now=kw.pop("now", NOW), **kw)


@pytest.mark.parametrize("digest", ["hex", "raw"])
def test_verify_wsse_accepts_hex_and_raw(digest) -> None:
    assert verify_wsse(_wsse(digest=digest), secrets=SECRETS, now=NOW) == (None, "app-key")


def test_verify_wsse_accepts_upper_case_hex() -> None:
    nonce, created = "abc", "2026-11-25T08:00:00Z"
    digest = hashlib.sha256((nonce + created + "app-secret-value").encode()).hexdigest().upper()
    token = (
        f'UsernameToken Username="app-key",PasswordDigest="{base64.b64encode(digest.encode()).decode()}",'
        f'Nonce="{nonce}",Created="{created}"'
    )
    headers = {"Authorization": WSSE_AUTHORIZATION, "X-WSSE": token}
    assert verify_wsse(headers, secrets=SECRETS, now=NOW)[0] is None


def test_verify_wsse_refuses_replayed_nonce() -> None:
    seen: set[tuple[str, str]] = set()

    def nonce_seen(key: str, nonce: str) -> bool:
        hit = (key, nonce) in seen
        seen.add((key, nonce))
        return hit

    headers = _wsse(nonce="fixed-nonce")
    assert verify_wsse(headers, secrets=SECRETS, now=NOW, nonce_seen=nonce_seen)[0] is None
    assert verify_wsse(headers, secrets=SECRETS, now=NOW, nonce_seen=nonce_seen)[0] == "E000027"


# The 返回值 table of 发送短信 (https://huaweicloud.com/guide/productsdesc-bms_1d4133ae3121de62fa250a5e0c1f5f65support4):
# E000006 "type属性值应该为Appkey", E000007 "未找到type属性", E000008 "Authorization中没有携带WSSE", E000021 UserName,
# E000022 Nonce, E000023 Created missing; E000024 PasswordDigest missing, E000025 Created format, E000026
# UsernameToken missing from third-party copies. Issue 11 fixed the shifted codes (type, X-WSSE fields).
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "E000001"),
        ({"Authorization": 'Basic realm="SDP"'}, "E000008"),
        ({"Authorization": 'WSSE profile="UsernameToken",type="Appkey"'}, "E000002"),
        ({"Authorization": 'WSSE realm="X",profile="UsernameToken",type="Appkey"'}, "E000004"),
        ({"Authorization": 'WSSE realm="SDP",type="Appkey"'}, "E000003"),
        ({"Authorization": 'WSSE realm="SDP",profile="Token",type="Appkey"'}, "E000005"),
        ({"Authorization": 'WSSE realm="SDP",profile="UsernameToken",type="AK"'}, "E000006"),
        ({"Authorization": 'WSSE realm="SDP",profile="UsernameToken"'}, "E000007"),
        ({"Authorization": WSSE_AUTHORIZATION}, "E000020"),
        ({"Authorization": WSSE_AUTHORIZATION, "X-WSSE": 'Token Username="app-key"'}, "E000026"),
        ({"Authorization": WSSE_AUTHORIZATION, "X-WSSE": 'UsernameToken PasswordDigest="x"'}, "E000021"),
        ({"Authorization": WSSE_AUTHORIZATION, "X-WSSE": 'UsernameToken Username="k",PasswordDigest="x"'}, "E000022"),
        (
            {"Authorization": WSSE_AUTHORIZATION, "X-WSSE": 'UsernameToken Username="k",Nonce="n",PasswordDigest="x"'},
            "E000023",
        ),
        (
            {"Authorization": WSSE_AUTHORIZATION, "X-WSSE": 'UsernameToken Username="k",Nonce="n",Created="c"'},
            "E000024",
        ),
        (
            {
                "Authorization": WSSE_AUTHORIZATION,
                "X-WSSE": 'UsernameToken Username="app-key",PasswordDigest="x",Nonce="n",Created="2026/1/2"',
            },
            "E000025",
        ),
    ],
)
def test_verify_wsse_header_codes(headers, code) -> None:
    assert verify_wsse(headers, secrets=SECRETS, now=NOW)[0] == code


def test_verify_wsse_skew_unknown_key_and_wrong_secret() -> None:
    assert verify_wsse(_wsse(now=NOW - timedelta(hours=25)), secrets=SECRETS, now=NOW)[0] == "E000110"
    assert verify_wsse(_wsse(now=NOW - timedelta(hours=23)), secrets=SECRETS, now=NOW)[0] is None
    assert verify_wsse(_wsse(), secrets={"other": "x"}, now=NOW)[0] == "E000102"
    assert verify_wsse(_wsse(secret="nope"), secrets=SECRETS, now=NOW)[0] == "E000105"


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40))
def test_aksk_round_trip(body: bytes, secret: str) -> None:
    headers = aksk_headers("POST", URL, body, key="k", secret=secret, content_type="application/json", now=NOW)
    assert verify_aksk("POST", "/sms/batchSendSms/v1", "", headers, body, secrets={"k": secret}, now=NOW)[0] is None
