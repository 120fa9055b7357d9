"""Input that fights back: whatever arrives, the emulator answers with a documented code, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smskit.auth import WSSE_AUTHORIZATION, aksk_headers, wsse_headers
from smskit.emulator import Emulator
from smskit.emulator.push import Pusher
from smskit.emulator.state import EmulatorState
from smskit.protocol import BATCH_PATH, FORM, JSON, SEND_PATH

NOW = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
CN = "+8615512345678"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def state():
    pusher = Pusher()
    yield EmulatorState(
        secrets={"k": "s"},
        templates=None,
        pusher=pusher,
        delivery_rate=1.0,
        failures={},
        fail_rate=0.0,
        ambiguous_rate=0.0,
        latency_ms=0,
        report_delay=0,
        seed=1,
    )
    pusher.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
diff_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"from": json_values, "smsContent": json_values}, optional={"statusCallback": json_values}
    ).map(lambda v: json.dumps(v).encode()),
    st.just(DEEP.encode()),
    st.just(
        json.dumps(
            {
                "from": "isms1",
                "smsContent": [{"to": [CN], "templateId": "t", "templateParas": json.loads("[" * 900 + "]" * 900)}],
            }
        ).encode()
    ),
)
form_bodies = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(
        st.sampled_from(["from", "to", "templateId", "templateParas", "statusCallback", "extend", "signature"]),
        st.text(max_size=30) | st.just(DEEP),
    ).map(lambda d: urlencode(d).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    api=st.sampled_from(["single", "diff"]),
    data=st.data(),
    content_type=st.sampled_from([FORM, JSON, "text/plain", "", "application/json; charset=é"]),
    scheme=st.sampled_from(["aksk", "wsse"]),
)
def test_signed_garbage_gets_a_coded_answer(state, api, data, content_type, scheme) -> None:
    path = SEND_PATH if api == "single" else BATCH_PATH
    body = data.draw(form_bodies if api == "single" else diff_bodies)
    if scheme == "aksk":
        headers = aksk_headers("POST", f"http://h{path}", body, key="k", secret="s", content_type=content_type, now=NOW)
    else:
        headers = wsse_headers("k", "s", content_type=content_type, now=NOW)
    reply = state.handle("POST", path, "", headers, body, now=NOW)
    assert reply.status in (200, 400)
    answer = json.loads(reply.body)
    assert answer["code"] == "000000" or answer["code"].startswith("E")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    authorization=st.one_of(st.text(max_size=80), st.just(WSSE_AUTHORIZATION)),
    wsse=st.one_of(
        st.none(),
        st.text(max_size=120),
        st.builds(
            lambda u, d, n, c: f'UsernameToken Username="{u}",PasswordDigest="{d}",Nonce="{n}",Created="{c}"',
            st.sampled_from(["k", "x", "中"]),
            st.text(max_size=60),
            st.text(max_size=10),
            st.sampled_from(["2026-11-25T08:00:00Z", "bad", "９９９９-01-01T00:00:00Z", ""]),
        ),
    ),
    sdk_date=st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_auth_headers_get_a_coded_refusal(state, authorization, wsse, sdk_date) -> None:
    headers = {"Content-Type": FORM, "Authorization": authorization}
    if wsse is not None:
        headers["X-WSSE"] = wsse
    if sdk_date is not None:
        headers["X-Sdk-Date"] = sdk_date
    reply = state.handle("POST", SEND_PATH, "", headers, b"from=a", now=NOW)
    assert reply.status in (400, 401)
    assert json.loads(reply.body)["code"].startswith("E")


def test_non_ascii_password_digest_is_e000105_over_http() -> None:
    """hmac.compare_digest refuses non-ASCII str (TypeError → HTTP 500 before issue 11)."""
    with Emulator(seed=1) as emu:
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for digest in ("é".encode("latin-1"), "密码".encode()):
            token = (
                f'UsernameToken Username="{emu.app_key}",PasswordDigest="'.encode()
                + digest
                + f'",Nonce="n-{digest.hex()}",Created="{created}"'.encode()
            )
            headers = {"Content-Type": FORM, "Authorization": WSSE_AUTHORIZATION, "X-WSSE": token}
            answer = requests.post(emu.base_url + SEND_PATH, data=b"from=isms1", headers=headers, timeout=10)
            assert (answer.status_code, answer.json()["code"]) == (401, "E000105")


def test_deeply_nested_json_is_a_coded_400_over_http() -> None:
    with Emulator(seed=1) as emu, emu.client() as client:
        url = emu.base_url + BATCH_PATH
        body = DEEP.encode()
        headers = aksk_headers(
            "POST", url, body, key=emu.app_key, secret=emu.app_secret, content_type=JSON, now=datetime.now(UTC)
        )
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        assert (answer.status_code, answer.json()["code"]) == (400, "E000000")
        form = urlencode({"from": "isms1", "to": CN, "templateId": "t", "templateParas": DEEP}).encode()
        url = emu.base_url + SEND_PATH
        headers = aksk_headers(
            "POST", url, form, key=emu.app_key, secret=emu.app_secret, content_type=FORM, now=datetime.now(UTC)
        )
        answer = requests.post(url, data=form, headers=headers, timeout=10)
        assert (answer.status_code, answer.json()["code"]) == (400, "E000503")
        assert client.send(CN, "t", ["1"]).code == "000000"  # and it still serves


def test_unauthenticated_requests_are_not_kept_without_bound(state) -> None:
    from smskit.emulator.state import MAX_UNAUTHENTICATED

    state.reset()
    signed = aksk_headers("POST", f"http://h{SEND_PATH}", b"x", key="k", secret="s", content_type=FORM, now=NOW)
    state.handle("POST", SEND_PATH, "", signed, b"x", now=NOW)  # authenticated (then refused: E000503)
    for i in range(MAX_UNAUTHENTICATED + 500):
        state.handle("POST", SEND_PATH if i % 2 else "/nowhere", "", {"Authorization": "x"}, b"", now=NOW)
    log = state.requests()
    assert len(log) == MAX_UNAUTHENTICATED + 1
    assert log["request_no"].iloc[0] == 1  # the authenticated request is kept
    assert log["code"].iloc[0] == "E000503"
    assert log["request_no"].iloc[1] == 502  # the oldest unauthenticated ones were dropped
    assert state.n_requests == MAX_UNAUTHENTICATED + 501
