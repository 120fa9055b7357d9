"""The emulator over real loopback HTTP: auth schemes, codes, faults, pushes, CLI, client wiring.

Requests are made with plain ``requests`` + :mod:`smskit.auth` (and Huawei's own signer) so these
tests do not depend on :class:`smskit.Client`; a few also go through ``emu.client()``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pandas as pd
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import smskit
from smskit import auth as signing
from smskit._server import BackgroundServer
from smskit.emulator import Emulator
from smskit.templates import Template

CN = "+8615512345678"
US = "+14155550100"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
PATHS = {"batchSendSms": "/sms/batchSendSms/v1", "batchSendDiffSms": "/sms/batchSendDiffSms/v1"}


def body_for(api: str, to: list[str], params: list[Any] | None = None, template_id: str = "t1", **extra: str):
    params = ["123456"] if params is None else params
    if api == "batchSendSms":
        fields = {"from": "isms1", "to": ",".join(to), "templateId": template_id, "templateParas": json.dumps(params)}
        return urlencode({**fields, **extra}).encode(), FORM
    content = [{"to": to, "templateId": template_id, "templateParas": params}]
    return json.dumps({"from": "isms1", "smsContent": content, **extra}).encode(), JSON


def post(
    emu: Emulator,
    api: str = "batchSendSms",
    to: list[str] | None = None,
    *,
    params: list[Any] | None = None,
    template_id: str = "t1",
    auth: str = "aksk",
    digest: str = "hex",
    key: str | None = None,
    secret: str | None = None,
    now: datetime | None = None,
    content_type: str | None = None,
    nonce: str | None = None,
    body: bytes | None = None,
    **extra: str,
) -> requests.Response:
    made, default_type = body_for(api, to or [CN], params, template_id, **extra)
    body = made if body is None else body
    url = emu.base_url + PATHS[api]
    key, secret, now = key or emu.app_key, secret or emu.app_secret, now or datetime.now(UTC)
    ctype = content_type or default_type
    if auth == "aksk":
        headers = signing.aksk_headers("POST", url, body, key=key, secret=secret, content_type=ctype, now=now)
    else:
        headers = signing.wsse_headers(key, secret, content_type=ctype, now=now, nonce=nonce, digest=digest)  # type: ignore[arg-type]
    return requests.post(url, data=body, headers=headers, timeout=10)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=1, delivery_rate=1.0) as emulator:
        yield emulator


class Receiver:
    """A minimal status-report receiver: records every push; /fail answers 500."""

    def __init__(self) -> None:
        self.pushes: list[dict[str, Any]] = []
        self.lock = threading.Lock()

        async def callback(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.pushes.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
            status = 500 if request.url.path == "/fail" else 200
            return Response(b"", status_code=status)

        self.app = Starlette(
            routes=[Route("/cb", callback, methods=["POST"]), Route("/fail", callback, methods=["POST"])]
        )

    def reports(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for push in self.pushes:
            if push["headers"]["content-type"].startswith(JSON):
                out.extend(json.loads(push["body"])["statusReportList"])
            else:
                out.append(dict(parse_qsl(push["body"].decode())))
        return out


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rx = Receiver()
    with BackgroundServer(rx.app, name="test-receiver") as server:
        yield rx, server.url


# -- accepted requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["batchSendSms", "batchSendDiffSms"])
@pytest.mark.parametrize("auth", ["aksk", "wsse"])
def test_both_apis_and_schemes_are_accepted(emu, api, auth):
    response = post(emu, api, [CN, US], auth=auth, extend="x1")
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == "000000"
    assert [r["originTo"] for r in data["result"]] == [CN, US]
    assert [r["countryId"] for r in data["result"]] == ["CN", "US"]
    assert data["result"][0]["createTime"].endswith("Z")
    assert data["result"][0]["total"] == 1
    sent = emu.sent()
    assert sent["to"].tolist() == [CN, US]
    assert sent["sms_msg_id"].tolist() == [r["smsMsgId"] for r in data["result"]]
    assert sent["params"].tolist() == [("123456",), ("123456",)]
    assert set(sent["api"]) == {api}
    assert set(sent["extend"]) == {"x1"}
    assert isinstance(sent["received_at"].dtype, pd.DatetimeTZDtype)
    assert str(sent["received_at"].dt.tz) == "UTC"
    assert sent["final_status"].dtype == "category"
    log = emu.requests()
    assert log[["scheme", "http_status", "code", "n_numbers"]].iloc[0].tolist() == [auth, 200, "000000", 2]


def test_unsigned_payload_form_is_accepted(emu):
    body, ctype = body_for("batchSendSms", [CN])
    url = emu.base_url + PATHS["batchSendSms"]
    headers = signing.aksk_headers(
        "POST",
        url,
        body,
        key=emu.app_key,
        secret=emu.app_secret,
        content_type=ctype,
        now=datetime.now(UTC),
        unsigned_payload=True,
    )
    assert headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert requests.post(url, data=body, headers=headers, timeout=10).json()["code"] == "000000"


@pytest.mark.parametrize("api", ["batchSendSms", "batchSendDiffSms"])
def test_huawei_official_signer_is_accepted(emu, api):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    body, ctype = body_for(api, [CN])
    host = urlsplit(emu.base_url).netloc
    request = SdkRequest(
        method="POST",
        schema="http",
        host=host,
        resource_path=PATHS[api],
        query_params=[],
        header_params={"Content-Type": ctype, "X-Sdk-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")},
        body=body,
    )
    signed = Signer(BasicCredentials(emu.app_key, emu.app_secret)).sign(request)
    headers = dict(signed.header_params)
    # The official SDK signs form bodies as UNSIGNED-PAYLOAD and JSON bodies by their hash.
    assert ("X-Sdk-Content-Sha256" in headers) == (ctype == FORM)
    response = requests.post(emu.base_url + signed.uri, data=signed.body, headers=headers, timeout=10)
    assert response.json()["code"] == "000000", response.text


def guide_style_wsse_headers(app_key: str, app_secret: str) -> dict[str, str]:
    """X-WSSE built the way the guide's Python example does: hex digest, uuid4 hex nonce, UTC Created."""
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    nonce = uuid.uuid4().hex
    digest = hashlib.sha256((nonce + created + app_secret).encode()).hexdigest()
    password = base64.b64encode(digest.encode()).decode()
    return {
        "Authorization": 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-WSSE": f'UsernameToken Username="{app_key}",PasswordDigest="{password}",Nonce="{nonce}",Created="{created}"',
        "Content-Type": FORM,
    }


def test_guide_style_wsse_client_is_accepted(emu):
    body, _ = body_for("batchSendSms", [CN])
    headers = guide_style_wsse_headers(emu.app_key, emu.app_secret)
    response = requests.post(emu.base_url + PATHS["batchSendSms"], data=body, headers=headers, timeout=10)
    assert response.json()["code"] == "000000"


@pytest.mark.parametrize("variant", ["hex", "HEX", "raw"])
def test_wsse_digest_variants_are_accepted(emu, variant):
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = uuid.uuid4().hex
    hashed = hashlib.sha256((nonce + created + emu.app_secret).encode())
    raw = {"hex": hashed.hexdigest().encode(), "HEX": hashed.hexdigest().upper().encode(), "raw": hashed.digest()}
    password = base64.b64encode(raw[variant]).decode()
    headers = {
        "Authorization": signing.WSSE_AUTHORIZATION,
        "X-WSSE": f'UsernameToken Username="{emu.app_key}",PasswordDigest="{password}",'
        f'Nonce="{nonce}",Created="{created}"',
        "Content-Type": FORM,
    }
    body, _ = body_for("batchSendSms", [CN])
    response = requests.post(emu.base_url + PATHS["batchSendSms"], data=body, headers=headers, timeout=10)
    assert response.json()["code"] == "000000"


# -- refused requests -----------------------------------------------------------------------------


# Codes and HTTP statuses from Huawei's API reference, "API错误码(发送短信)" (sms_05_0050) and the 返回值 tables
# (https://huaweicloud.com/guide/productsdesc-bms_1d4133ae3121de62fa250a5e0c1f5f65support4): AK/SK failures are
# E00004x in the 400 group (issue 11 changed them from E000101/E000110 at 401).
@pytest.mark.parametrize(
    ("options", "code", "http"),
    [
        ({"secret": "wrong"}, "E000045", 400),
        ({"key": "nobody"}, "E000102", 401),
        ({"now": datetime.now(UTC) - timedelta(minutes=16)}, "E000044", 400),
        ({"auth": "wsse", "secret": "wrong"}, "E000105", 401),
        ({"auth": "wsse", "key": "nobody"}, "E000102", 401),
        ({"auth": "wsse", "now": datetime.now(UTC) - timedelta(hours=25)}, "E000110", 401),
        ({"content_type": JSON}, "E000040", 400),
        ({"to": [CN] * 501}, "E000503", 400),
        ({"params": [123456]}, "E000503", 400),
        ({"template_id": "t" * 33}, "E000503", 400),
        ({"extend": "{x}"}, "E000503", 400),
    ],
)
def test_refusals_carry_the_documented_codes(emu, options, code, http):
    response = post(emu, **options)
    assert (response.status_code, response.json()["code"]) == (http, code)
    assert "result" not in response.json()
    assert emu.sent().empty
    assert emu.requests()["code"].tolist() == [code]


WSSE_OK = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'


@pytest.mark.parametrize(
    ("headers", "code", "http"),
    [
        ({"Authorization": 'Basic realm="SDP"'}, "E000008", 400),
        ({"Authorization": 'WSSE realm="SDP",profile="UsernameToken",type="AK"'}, "E000006", 400),
        ({"Authorization": 'WSSE realm="SDP",profile="UsernameToken"'}, "E000007", 400),
        ({"Authorization": WSSE_OK}, "E000020", 400),
        ({"Authorization": WSSE_OK, "X-WSSE": 'UsernameToken Nonce="n"'}, "E000021", 400),
        ({"Authorization": WSSE_OK, "X-WSSE": 'UsernameToken Username="k",Created="c"'}, "E000022", 400),
        ({"Authorization": WSSE_OK, "X-WSSE": 'UsernameToken Username="k",Nonce="n"'}, "E000023", 400),
        ({"Authorization": "SDK-HMAC-SHA256 nonsense"}, "E000043", 400),
        ({"Authorization": "SDK-HMAC-SHA256 Access=k, SignedHeaders=host;x-sdk-date, Signature=ab"}, "E000041", 400),
        (
            {
                "Authorization": "SDK-HMAC-SHA256 Access=k, SignedHeaders=host;x-sdk-date, Signature=ab",
                "X-Sdk-Date": "2026-01-01T00:00:00Z",
            },
            "E000042",
            400,
        ),
    ],
)
def test_header_faults_get_the_reference_codes_over_http(emu, headers, code, http):
    """API reference "API错误码(发送短信)" (sms_05_0050) and the 返回值 table's HTTP column (400 group)."""
    body, ctype = body_for("batchSendSms", [CN])
    url = emu.base_url + PATHS["batchSendSms"]
    response = requests.post(url, data=body, headers={"Content-Type": ctype, **headers}, timeout=10)
    assert (response.status_code, response.json()["code"]) == (http, code)
    assert emu.sent().empty


def test_skew_inside_the_windows_is_accepted(emu):
    assert post(emu, now=datetime.now(UTC) - timedelta(minutes=14)).json()["code"] == "000000"
    assert post(emu, auth="wsse", now=datetime.now(UTC) - timedelta(hours=23)).json()["code"] == "000000"


def test_replayed_nonce_is_refused(emu):
    assert post(emu, auth="wsse", nonce="abc123").json()["code"] == "000000"
    replay = post(emu, auth="wsse", nonce="abc123")
    assert replay.json()["code"] == "E000027"
    assert len(emu.sent()) == 1


def test_missing_authorization_is_e000001(emu):
    body, ctype = body_for("batchSendSms", [CN])
    response = requests.post(
        emu.base_url + PATHS["batchSendSms"], data=body, headers={"Content-Type": ctype}, timeout=10
    )
    assert (response.status_code, response.json()["code"]) == (400, "E000001")  # 400 group of the 返回值 table


def test_unknown_path_and_method(emu):
    assert requests.post(emu.base_url + "/sms/nothing/v1", timeout=10).status_code == 404
    response = requests.get(emu.base_url + PATHS["batchSendSms"], timeout=10)
    assert (response.status_code, response.json()["code"]) == (405, "E000027")


def test_oversized_body_is_413(emu):
    response = post(emu, body=b"to=" + b"1" * (2 * 1024 * 1024 + 10))
    assert response.status_code == 413
    assert emu.sent().empty


def test_duplicates_and_empty_params_give_per_number_statuses(emu):
    data = post(emu, to=[CN, US, CN]).json()
    assert data["code"] == "E000510"
    assert [r["status"] for r in data["result"]] == ["000000", "000000", "E200041"]
    assert emu.sent()["to"].tolist() == [CN, US]
    data = post(emu, params=[""]).json()
    assert (data["code"], data["result"][0]["status"]) == ("E000510", "E200028")


def test_catalog_statuses_and_segments_over_http():
    catalog = {
        "otp": Template("otp", "Your code is ${NUM_6}.", "international", "verification"),
        "long": Template("long", "Hi ${TXT_20}, " + "x" * 200, "international", "notification"),
    }
    with Emulator(catalog, seed=1) as emu:
        data = post(emu, "batchSendDiffSms", [CN], params=["12ab"], template_id="otp").json()
        assert (data["code"], data["result"][0]["status"]) == ("E000510", "E200028")
        data = post(emu, "batchSendDiffSms", [CN], params=["1"], template_id="gone").json()
        assert data["result"][0]["status"] == "E200030"
        data = post(emu, to=[CN], params=["Ann"], template_id="long").json()
        assert (data["code"], data["result"][0]["total"]) == ("000000", 2)
        assert emu.sent()["segments"].tolist() == [2]


@pytest.mark.parametrize("api", ["batchSendSms", "batchSendDiffSms"])
def test_blank_stand_ins_are_accepted_over_http(api):
    """Seed lines 449–450 / 1981–1982 / 5044–5045: spaces or dots replace an empty ${TXT_20}, 0 an empty
    NUM_6; ${DATE}${TIME} cannot be empty."""
    catalog = {"parcel": Template("parcel", "You have ${NUM_6} parcels at ${TXT_20} on ${DATE} ${TIME}")}
    with Emulator(catalog, seed=1) as emu:
        for txt in (" ", ".", "   "):
            data = post(emu, api, [CN], params=["0", txt, "2024/5/1", "10:30"], template_id="parcel").json()
            assert (data["code"], data["result"][0]["status"]) == ("000000", "000000")
        for params in (["", " ", "1", "1"], ["0", "", "1", "1"], ["0", " ", " ", "1"], ["0", ".", "1", "."]):
            data = post(emu, api, [CN], params=params, template_id="parcel").json()
            assert (data["code"], data["result"][0]["status"]) == ("E000510", "E200028")
    with Emulator(seed=1) as emu:  # no catalog: the variable's type is unknown, so only "" is refused
        assert post(emu, api, [CN], params=[" ", ".", "0"]).json()["code"] == "000000"
        assert post(emu, api, [CN], params=["a", ""]).json()["result"][0]["status"] == "E200028"


def test_data_catalog_is_loaded_by_the_fixture(emulator):
    # `emulator` comes from smskit.testing with data/templates.csv
    assert emulator.templates is not None
    assert len(emulator.templates) > 0
    tid = next(t.template_id for t in emulator.templates.values() if t.template_id.startswith("bfcc"))
    assert post(emulator, to=[US], template_id=tid, params=["002569"]).json()["code"] == "000000"
    assert emulator.sent()["params"].tolist() == [("002569",)]


# -- faults ---------------------------------------------------------------------------------------


def test_fail_next_5xx_sends_nothing(emu):
    emu.fail_next(2)
    for _ in range(2):
        response = post(emu)
        assert response.status_code == 503
        assert response.text == "Service Unavailable"
    assert emu.sent().empty
    assert post(emu).json()["code"] == "000000"
    assert emu.requests()["fault"].tolist()[:2] == ["5xx", "5xx"]


def test_ambiguous_records_but_drops_the_connection(emu):
    emu.fail_next(1, kind="ambiguous")
    with pytest.raises(requests.ConnectionError):
        post(emu, to=[CN, US])
    assert emu.sent()["to"].tolist() == [CN, US]
    assert post(emu).json()["code"] == "000000"


def test_runtime_fail_rate_and_latency(emu):
    emu.fail_rate = 1.0
    assert post(emu).status_code == 503
    emu.fail_rate = 0.0
    emu.latency_ms = 200
    started = time.monotonic()
    assert post(emu).status_code == 200
    assert time.monotonic() - started >= 0.2
    with pytest.raises(ValueError, match="between 0 and 1"):
        emu.ambiguous_rate = 2


def test_same_seed_same_story():
    def run() -> list[Any]:
        with Emulator(seed=42, delivery_rate=0.5, fail_rate=0.3) as emu:
            codes = [post(emu, to=[CN, US]).status_code for _ in range(8)]
            sent = emu.sent()
            return [codes, sent["sms_msg_id"].tolist(), sent["final_status"].tolist()]

    first, second = run(), run()
    assert first == second
    assert 503 in first[0]
    assert 200 in first[0]


def test_reset_forgets_everything(emu):
    post(emu)
    emu.fail_next(1)
    emu.reset()
    assert emu.sent().empty
    assert emu.requests().empty
    assert post(emu).status_code == 200


# -- status reports -------------------------------------------------------------------------------


def long_catalog() -> dict[str, Template]:
    return {"long": Template("long", "Hi ${TXT_20}, " + "x" * 200, "international", "notification")}


def test_form_pushes_one_per_segment(receiver):
    rx, url = receiver
    with Emulator(long_catalog(), seed=3, delivery_rate=1.0) as emu:
        data = post(emu, to=[CN, US], params=["Ann"], template_id="long", statusCallback=url + "/cb", extend="c7")
        assert data.json()["code"] == "000000"
        assert emu.wait_for_reports(timeout=10)
    assert len(rx.pushes) == 4
    assert all(p["headers"]["content-type"] == FORM for p in rx.pushes)
    reports = rx.reports()
    ids = {r["smsMsgId"] for r in reports}
    assert ids == {r["smsMsgId"] for r in data.json()["result"]}
    for msg_id in ids:
        mine = sorted((r for r in reports if r["smsMsgId"] == msg_id), key=lambda r: r["sequence"])
        assert [(r["sequence"], r["total"], r["status"]) for r in mine] == [
            ("1", "2", "DELIVRD"),
            ("2", "2", "DELIVRD"),
        ]
    assert {(r["extend"], r["to"]) for r in reports} == {("c7", CN), ("c7", US)}
    assert "authorization" not in rx.pushes[0]["headers"]


def test_batch_pushes_are_signed_with_push_keys(receiver):
    rx, url = receiver
    with Emulator(
        seed=3, delivery_rate=0.0, failures={"RTE_ERR": 1.0}, push_format="batch", push_ak="pak", push_sk="psk"
    ) as emu:
        post(emu, "batchSendDiffSms", [f"+1415555{n:04d}" for n in range(60)], statusCallback=url + "/cb")
        assert emu.wait_for_reports(timeout=10)
        assert emu.sent()["final_status"].tolist() == ["RTE_ERR"] * 60
    assert sorted(len(json.loads(p["body"])["statusReportList"]) for p in rx.pushes) == [10, 50]  # pushed in parallel
    reports = rx.reports()
    assert {(r["status"], r["orgCode"]) for r in reports} == {("RTE_ERR", "E200027")}
    assert all("to" not in r for r in reports)
    now = datetime.now(UTC)
    for push in rx.pushes:
        code, key = signing.verify_aksk(
            "POST", "/cb", "", push["headers"], push["body"], secrets={"pak": "psk"}, now=now
        )
        assert (code, key) == (None, "pak")
        bad, _ = signing.verify_aksk("POST", "/cb", "", push["headers"], push["body"], secrets={"pak": "x"}, now=now)
        assert bad == "E000045"


def test_failed_pushes_are_retried_then_dropped(receiver):
    rx, url = receiver
    with Emulator(seed=3) as emu:
        post(emu, statusCallback=url + "/fail")
        assert emu.wait_for_reports(timeout=10)
        pushes = emu.pushes()
    assert pushes[["n_reports", "attempts", "http_status", "delivered"]].iloc[0].tolist() == [1, 3, 500, False]
    assert len(rx.pushes) == 3


def test_no_callback_no_push(emu):
    post(emu)
    assert emu.wait_for_reports(timeout=1)
    assert emu.pushes().empty


# -- wiring ---------------------------------------------------------------------------------------


def test_repr_never_shows_the_secret():
    with Emulator(app_secret="super-secret-value") as emu:
        assert "super-secret-value" not in repr(emu)
        assert emu.app_secret == "super-secret-value"
    generated = Emulator()
    assert generated.app_secret not in repr(generated)
    assert len(generated.app_secret) >= 24


@pytest.mark.parametrize(("auth", "digest"), [("aksk", "hex"), ("wsse", "hex"), ("wsse", "raw")])
def test_emulator_client_sends(emulator, auth, digest):
    client = emulator.client(auth=auth, wsse_digest=digest)
    result = client.send([CN, US], "t1", ["1234"]) if emulator.templates is None else None
    if result is None:
        tid = next(t.template_id for t in emulator.templates.values() if t.template_id.startswith("bfcc"))
        result = client.send([CN, US], tid, ["123456"])
    assert result.ok
    assert result.to_frame()["sms_msg_id"].tolist() == emulator.sent()["sms_msg_id"].tolist()


def test_emulator_client_fixture_reaches_emulator(emulator, emulator_client):
    tid = next(iter(emulator.templates)) if emulator.templates else "t1"
    emulator_client.send([CN], tid, ["1"])
    assert emulator.requests()["request_no"].tolist() == [1]


def test_session_fixture_is_reset(emulator_session):
    assert emulator_session.sent().empty
    post(emulator_session, template_id="bfccfa780ff5e8f11245b2dfbc82efae")
    assert len(emulator_session.requests()) == 1


def test_cli_prints_exports_and_serves(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSKIT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smskit", "emulator", "--port", "0", "--app-key", "cli-key", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        exports = dict(line.split("=", 1) for line in lines)
        assert list(exports) == ["SMSKIT_BASE_URL", "SMSKIT_APP_KEY", "SMSKIT_APP_SECRET"]
        assert exports["SMSKIT_BASE_URL"].startswith("http://127.0.0.1:")
        assert exports["SMSKIT_APP_KEY"] == "cli-key"
        body, ctype = body_for("batchSendSms", [CN])
        url = exports["SMSKIT_BASE_URL"] + PATHS["batchSendSms"]
        headers = signing.aksk_headers(
            "POST",
            url,
            body,
            key="cli-key",
            secret=exports["SMSKIT_APP_SECRET"],
            content_type=ctype,
            now=datetime.now(UTC),
        )
        assert requests.post(url, data=body, headers=headers, timeout=10).json()["code"] == "000000"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == 0


def test_client_retries_a_5xx_and_sends_once(emulator):
    emulator.fail_next(1)
    client = emulator.client(rng=random.Random(0))
    result = client.send([US], "bfccfa780ff5e8f11245b2dfbc82efae", ["123456"])
    assert result.ok
    assert result.attempts == 2
    assert emulator.requests()["http_status"].tolist() == [503, 200]
    assert emulator.sent()["to"].tolist() == [US]


def test_client_sees_ambiguous_as_may_have_reached(emulator):
    from smskit.errors import TransportError

    emulator.fail_next(1, kind="ambiguous")
    with pytest.raises(TransportError) as info:
        emulator.client(max_retries=0).send([US], "bfccfa780ff5e8f11245b2dfbc82efae", ["123456"])
    assert info.value.may_have_reached is True
    assert emulator.sent()["to"].tolist() == [US]


def test_repr_html_shows_counts_never_the_secret() -> None:
    with Emulator(seed=1) as emu:
        emu.client().send("+6591234567", "any-template", ["1"])
        page = emu._repr_html_()
    assert emu.app_secret not in page
    assert "<th>messages accepted</th><td>1</td>" in page
    assert "(hidden)" in page


def test_expired_reports_arrive_platform_built_over_http(tmp_path):
    """Seed lines 605–611: a report the platform constructs itself has no updateTime (source 1)."""
    from smskit.reports.receiver import CallbackReceiver

    with (
        CallbackReceiver(tmp_path / "r.sqlite") as rx,
        Emulator(seed=2, delivery_rate=0.0, failures={"EXPIRED": 1.0, "UNDELIV": 1.0}) as emu,
    ):
        numbers = [f"+86155123456{n:02d}" for n in range(20)]
        emu.client().send(numbers, "t1", ["1"], status_callback=rx.url)
        assert emu.wait_for_reports(10)
        reports = rx.reports()
    expired = reports[reports["status"] == "EXPIRED"]
    other = reports[reports["status"] != "EXPIRED"]
    assert len(expired)
    assert len(other)
    assert (expired["source"] == "1").all()
    assert expired["update_time"].isna().all()
    assert (other["source"] == "2").all()
    assert other["update_time"].notna().all()


def test_cli_takes_a_chosen_secret_from_a_file_or_the_environment_never_argv(tmp_path):
    """Issue 11: --app-secret on the command line shows in ps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSKIT_")}
    refused = subprocess.run(
        [sys.executable, "-m", "smskit", "emulator", "--app-secret", "argv-secret-value"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "--app-secret is not accepted" in refused.stderr
    assert "argv-secret-value" not in refused.stderr
    secret_file = tmp_path / "secret"
    secret_file.write_text("file-secret-value\n")
    for extra, chosen in (
        (["--app-secret-file", str(secret_file)], "file-secret-value"),
        ([], "env-secret-value"),
    ):
        run_env = {**env, "SMSKIT_EMULATOR_APP_SECRET": "env-secret-value"} if not extra else env
        proc = subprocess.Popen(
            [sys.executable, "-m", "smskit", "emulator", "--port", "0", "--app-key", "k", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=run_env,
        )
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().strip() for _ in range(2)]
            exports = dict(line.split("=", 1) for line in lines)
            assert list(exports) == ["SMSKIT_BASE_URL", "SMSKIT_APP_KEY"]  # a chosen secret is not printed
            client = smskit.Client(exports["SMSKIT_BASE_URL"], "k", chosen, sender="isms1")
            assert client.send(CN, "t1", ["1"]).code == "000000"
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(20)
            proc.stdout.close()  # type: ignore[union-attr]
