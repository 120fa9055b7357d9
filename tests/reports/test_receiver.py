"""The status-report receiver over real loopback HTTP, including a kill -9 under load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from smskit.auth import aksk_headers
from smskit.reports.receiver import CallbackReceiver
from smskit.reports.store import read_store_frame
from smskit.reports.wire import REPORT_COLUMNS, StatusReport

FORM = "application/x-www-form-urlencoded"
BODY = (
    "sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2&"
    "smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=DELIVRD"
)


def test_both_push_forms_are_stored_and_answered_with_an_empty_200(tmp_path: Path) -> None:
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        assert rx.url.startswith("http://127.0.0.1:")
        assert rx.url.endswith("/reports")
        one = requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10)
        batch = {
            "statusReportList": [
                {"smsMsgId": f"b_{i}", "status": "UNDELIV", "total": 1, "sequence": 1, "to": "+8613800000000"}
                for i in range(50)
            ]
        }
        many = requests.post(rx.url, json=batch, timeout=10)
        assert (one.status_code, one.content) == (200, b"")
        assert (many.status_code, many.content) == (200, b"")
        frame = rx.reports()
    assert list(frame.columns) == list(REPORT_COLUMNS)
    assert len(frame) == 51
    assert frame["delivered"].sum() == 1
    assert set(frame.loc[~frame["delivered"], "to"]) == {"+8613800000000"}


def test_duplicates_are_stored_once(tmp_path: Path) -> None:
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        for _ in range(3):
            assert requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10).status_code == 200
        later = BODY.replace("41Z", "59Z")  # same segment and status at another time: a distinct report
        assert requests.post(rx.url, data=later, headers={"Content-Type": FORM}, timeout=10).status_code == 200
        assert len(rx.reports()) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("smsMsgId=a_1", FORM, 400),
        ("not a report", FORM, 400),
        ('{"statusReportList": [{"smsMsgId": "a"}]}', "application/json", 400),
        ("{broken", "application/json", 400),
        (BODY, "text/plain", 415),
    ],
)
def test_malformed_pushes_are_refused_and_not_stored(tmp_path: Path, body: str, content_type: str, status: int) -> None:
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        answer = requests.post(rx.url, data=body.encode(), headers={"Content-Type": content_type}, timeout=10)
        assert answer.status_code == status
        assert rx.reports().empty


def test_oversized_pushes_are_refused_while_streaming(tmp_path: Path) -> None:
    big = (BODY + "&pad=" + "x" * (1 << 20)).encode()
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        declared = requests.post(rx.url, data=big, headers={"Content-Type": FORM}, timeout=10)
        assert declared.status_code == 413

        def chunks():  # no Content-Length: the limit must hold while reading
            for i in range(0, len(big), 65536):
                yield big[i : i + 65536]

        try:
            streamed = requests.post(rx.url, data=chunks(), headers={"Content-Type": FORM}, timeout=10)
        except requests.ConnectionError:  # the server may close before the client finished sending
            pass
        else:
            assert streamed.status_code == 413
        assert requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10).status_code == 200
        assert len(rx.reports()) == 1


def test_token_is_required_in_the_path(tmp_path: Path) -> None:
    with CallbackReceiver(tmp_path / "r.sqlite", token="s3cret-tok") as rx:
        assert rx.url.endswith("/reports/s3cret-tok")
        base = rx.url.rsplit("/", 1)[0]
        for url in (base, base + "/wrong", base + "/s3cret-to", rx.url + "x"):
            assert requests.post(url, data=BODY, headers={"Content-Type": FORM}, timeout=10).status_code == 404
        assert rx.reports().empty
        assert "s3cret" not in repr(rx)
        assert requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10).status_code == 200
        assert len(rx.reports()) == 1


def test_push_signatures_are_verified_when_keys_are_set(tmp_path: Path) -> None:
    ak, sk = "push-ak", "push-sk-secret"
    with CallbackReceiver(tmp_path / "r.sqlite", push_ak=ak, push_sk=sk) as rx:
        body = BODY.encode()
        now = datetime.now(UTC)

        def post(headers: dict[str, str]) -> int:
            return requests.post(rx.url, data=body, headers=headers, timeout=10).status_code

        good = aksk_headers("POST", rx.url, body, key=ak, secret=sk, content_type=FORM, now=now)
        wrong_secret = aksk_headers("POST", rx.url, body, key=ak, secret="nope", content_type=FORM, now=now)
        wrong_key = aksk_headers("POST", rx.url, body, key="other", secret=sk, content_type=FORM, now=now)
        stale = aksk_headers("POST", rx.url, body, key=ak, secret=sk, content_type=FORM, now=now - timedelta(hours=1))
        other_body = aksk_headers("POST", rx.url, b"x=1", key=ak, secret=sk, content_type=FORM, now=now)
        assert post({"Content-Type": FORM}) == 401
        assert [post(h) for h in (wrong_secret, wrong_key, stale, other_body)] == [401] * 4
        assert rx.reports().empty
        assert post(good) == 200
        assert len(rx.reports()) == 1


def test_reports_survive_a_restart_of_the_receiver(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    with CallbackReceiver(store) as rx:
        requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10)
    with CallbackReceiver(store) as rx:
        body = StatusReport("c_1", "EXPIRED").to_body()
        requests.post(rx.url, data=body, headers={"Content-Type": FORM}, timeout=10)
        assert sorted(rx.reports()["status"].astype(str)) == ["DELIVRD", "EXPIRED"]


def _start_cli(store: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "smskit", "receive", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("SMSKIT_STATUS_CALLBACK=http://127.0.0.1:"), line
    return proc, line.split("=", 1)[1]


@pytest.mark.slow
def test_every_acknowledged_report_survives_kill_9(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    proc, url = _start_cli(store)
    acked: list[list[str]] = [[] for _ in range(4)]
    killed = threading.Event()

    def load(worker: int) -> None:
        with requests.Session() as session:
            for n in range(3000):  # bounded; the kill ends it far sooner
                if killed.is_set() and n % 10 == 0:
                    return
                sid = f"kill-{worker}-{n}"
                if n % 5 == 0:
                    items = [{"smsMsgId": f"{sid}-{k}", "status": "DELIVRD"} for k in range(10)]
                    data, ctype = json.dumps({"statusReportList": items}), "application/json"
                    ids = [i["smsMsgId"] for i in items]
                else:
                    data, ctype, ids = StatusReport(sid, "DELIVRD").to_body(), FORM, [sid]
                try:
                    answer = session.post(url, data=data, headers={"Content-Type": ctype}, timeout=5)
                except requests.RequestException:
                    return
                if answer.status_code == 200:
                    acked[worker].extend(ids)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sum(map(len, acked)) < 1500 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    killed.set()
    proc.wait(10)
    proc.stdout.close()  # type: ignore[union-attr]
    for t in threads:
        t.join(30)
    got = set(read_store_frame(store)["sms_msg_id"]) if store.exists() else set()
    sent = {sid for ids in acked for sid in ids}
    assert len(sent) >= 200
    assert sent - got == set()

    proc, url = _start_cli(store)  # restarted on the same store, it still serves and keeps everything
    try:
        assert requests.post(url, data=BODY, headers={"Content-Type": FORM}, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        proc.stdout.close()  # type: ignore[union-attr]
    final = read_store_frame(store)
    assert sent <= set(final["sms_msg_id"])
    assert BODY.split("smsMsgId=")[1].split("&")[0] in set(final["sms_msg_id"])


@pytest.mark.parametrize("push_format", ["form", "batch"])
def test_emulator_pushes_reach_the_receiver(tmp_path: Path, push_format: str) -> None:
    from smskit.emulator import Emulator

    ak, sk = "emu-push-ak", "emu-push-sk"
    numbers = [f"+861380000{n:04d}" for n in range(40)]
    with (
        CallbackReceiver(tmp_path / "r.sqlite", token="tok-123", push_ak=ak, push_sk=sk) as rx,
        Emulator(push_format=push_format, push_ak=ak, push_sk=sk, delivery_rate=0.8, seed=7) as emu,
    ):
        result = emu.client().send(numbers, "tpl-1", ["1234"], status_callback=rx.url, extend="camp:1")
        sent = result.to_frame()
        accepted = set(sent.loc[sent["status"] == "000000", "sms_msg_id"])
        assert len(accepted) >= 30
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reports = rx.reports()
            if accepted <= set(reports["sms_msg_id"]):
                break
            time.sleep(0.1)
    assert accepted <= set(reports["sms_msg_id"])
    assert set(reports["extend"]) == {"camp:1"}
    assert set(reports["to"]) <= set(numbers)
    assert 0 < reports["delivered"].mean() < 1


def test_repr_html_hides_the_token_and_counts_reports(tmp_path) -> None:
    import requests as http

    from smskit.reports.receiver import CallbackReceiver

    with CallbackReceiver(tmp_path / "r.sqlite", token="s3cret<tok>") as rx:
        http.post(rx.url, data={"smsMsgId": "m<1>", "status": "DELIVRD"}, timeout=5).raise_for_status()
        page = rx._repr_html_()
    assert "s3cret" not in page
    assert "token hidden" in page
    assert "<th>reports stored</th><td>1</td>" in page


def test_deeply_nested_json_pushes_are_a_400_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    bodies = [deep, '{"statusReportList": ' + deep + "}", '{"statusReportList": [{"smsMsgId": ' + deep + "}]}"]
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        for body in bodies:
            answer = requests.post(rx.url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
            assert answer.status_code == 400
        assert requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10).status_code == 200
        assert len(rx.reports()) == 1


# -- push authentication as Huawei does it (API reference "推送AKSK验证", sms_05_0064) --------------------


def _signed(url: str, body: bytes, key: str, secret: str, **extra: str) -> dict[str, str]:
    from urllib.parse import urlsplit

    from smskit.auth import aksk_authorization

    headers = {
        "Content-Type": FORM,
        "Host": urlsplit(url).netloc,
        "X-Sdk-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
    }
    headers.update(extra)
    headers["Authorization"] = aksk_authorization("POST", url, headers, body, key=key, secret=secret)
    return headers


def test_two_push_key_pairs_are_valid_at_once(tmp_path: Path) -> None:
    """sms_05_0064: "可采用双AK/SK的方式,即同时支持两个AK/SK生效。通过Authorization请求头中的Access字段,
    可以判断当前请求所使用的有效SK" (two pairs valid at once; Access names the SK)."""
    keys = {"old-ak": "old-sk", "new-ak": "new-sk"}
    with CallbackReceiver(tmp_path / "r.sqlite", push_keys=keys) as rx:
        for n, (ak, sk) in enumerate([*keys.items(), ("old-ak", "new-sk"), ("other", "new-sk")]):
            body = StatusReport(f"k_{n}", "DELIVRD").to_body().encode()
            status = requests.post(rx.url, data=body, headers=_signed(rx.url, body, ak, sk), timeout=10).status_code
            assert status == (200 if n < 2 else 401)
        assert sorted(rx.reports()["sms_msg_id"]) == ["k_0", "k_1"]


def test_a_signed_body_hash_must_match_the_body(tmp_path: Path) -> None:
    import hashlib

    original, tampered = BODY.encode(), BODY.replace("DELIVRD", "UNDELIV").encode()
    with CallbackReceiver(tmp_path / "r.sqlite", push_keys={"ak": "sk"}) as rx:
        headers = _signed(
            rx.url, original, "ak", "sk", **{"X-Sdk-Content-Sha256": hashlib.sha256(original).hexdigest()}
        )
        assert requests.post(rx.url, data=tampered, headers=headers, timeout=10).status_code == 401
        assert rx.reports().empty
        assert requests.post(rx.url, data=original, headers=headers, timeout=10).status_code == 200
        assert rx.reports()["status"].astype(str).tolist() == ["DELIVRD"]


@pytest.mark.parametrize("require_body_hash", [False, True])
def test_unsigned_payload_pushes_unless_a_body_hash_is_required(tmp_path: Path, require_body_hash: bool) -> None:
    """Huawei's own Python signer signs form bodies X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD (signer.py)."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    with CallbackReceiver(tmp_path / "r.sqlite", push_keys={"ak": "sk"}, require_body_hash=require_body_hash) as rx:
        netloc, path = rx.url.split("//")[1].split("/", 1)
        request = SdkRequest(
            "POST",
            "http",
            netloc,
            "/" + path,
            query_params=[],
            header_params={"Content-Type": FORM},
            body=BODY.encode(),
        )
        signed = Signer(BasicCredentials("ak", "sk")).sign(request)
        assert signed.header_params["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
        answer = requests.post(rx.url, data=BODY, headers=dict(signed.header_params), timeout=10)
        assert answer.status_code == (401 if require_body_hash else 200)
        hashed = _signed(rx.url, BODY.encode(), "ak", "sk")  # body covered by its hash: accepted either way
        assert requests.post(rx.url, data=BODY, headers=hashed, timeout=10).status_code == 200


def test_a_push_signed_like_huaweis_example_with_connection_and_content_length(tmp_path: Path) -> None:
    """接收状态报告:请求示例 (https://huaweicloud.com/guide/productsdesc-bms_e472b8868b7f702ea6983fcb806f72absupport2):
    ``SignedHeaders=connection;content-length;content-type;host;x-sdk-date`` with ``Connection: close`` and no blank
    after the commas. uvicorn must hand the hop-by-hop Connection header to the app for this to verify."""
    import socket
    from urllib.parse import urlsplit

    body = b"sequence=1&total=1&orgCode=000&updateTime=2018-04-13T06%3A31%3A46Z&source=2&smsMsgId=hw_1&status=DELIVRD"
    with CallbackReceiver(tmp_path / "r.sqlite", push_keys={"exampleAk": "exampleSk"}) as rx:
        headers = _signed(
            rx.url, body, "exampleAk", "exampleSk", Connection="close", **{"Content-Length": str(len(body))}
        )
        assert "SignedHeaders=connection;content-length;content-type;host;x-sdk-date" in headers["Authorization"]
        headers["Authorization"] = headers["Authorization"].replace(", ", ",")
        url = urlsplit(rx.url)
        head = f"POST {url.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(head.encode() + body)
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert rx.reports()["sms_msg_id"].tolist() == ["hw_1"]


# -- poison values (issue 11, item 8) ---------------------------------------------------------------------


@pytest.mark.parametrize("when", ["2300-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_times_no_frame_can_hold_are_refused_and_the_store_stays_readable(tmp_path: Path, when: str) -> None:
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        poisoned = {"smsMsgId": "p_1", "status": "DELIVRD", "updateTime": when}
        one = requests.post(rx.url, data=poisoned, timeout=10)
        batch = {"statusReportList": [{"smsMsgId": "p_2", "status": "DELIVRD", "updateTime": when}]}
        many = requests.post(rx.url, json=batch, timeout=10)
        assert (one.status_code, many.status_code) == (400, 400)
        assert "outside the times a report can carry" in one.text
        good = StatusReport("ok_1", "DELIVRD").to_body()
        assert requests.post(rx.url, data=good, headers={"Content-Type": FORM}, timeout=10).ok
        assert rx.reports()["sms_msg_id"].tolist() == ["ok_1"]


def test_a_store_an_old_version_poisoned_is_still_read(tmp_path: Path) -> None:
    import sqlite3

    import smskit
    from smskit.errors import SmsKitWarning

    store = tmp_path / "r.sqlite"
    with CallbackReceiver(store) as rx:
        requests.post(rx.url, data=BODY, headers={"Content-Type": FORM}, timeout=10).raise_for_status()
    conn = sqlite3.connect(store)  # what an old receiver wrote for updateTime=2300-01-01T00:00:00Z
    with conn:
        conn.execute(
            "INSERT INTO status_reports (sms_msg_id, status, update_time, total, sequence, received_at) "
            "VALUES ('poison_1', 'DELIVRD', '2300-01-01T00:00:00Z', 1, 1, '2024-01-01T00:00:00Z')"
        )
    conn.close()
    with pytest.warns(SmsKitWarning, match=r"skipped 1 status report.*row 2 \(poison_1\)"):
        frame = smskit.read_status_reports(store)
    assert frame["sms_msg_id"].tolist() == [BODY.split("smsMsgId=")[1].split("&")[0]]
    with CallbackReceiver(store) as rx, pytest.warns(SmsKitWarning, match="poison_1"):
        assert len(rx.reports()) == 1
