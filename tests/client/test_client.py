"""Client against the emulator over real loopback HTTP: both APIs × both auth schemes, error paths."""

from __future__ import annotations

import logging
import socket

import pandas as pd
import pytest

import smskit
from smskit.client import SmsItem
from smskit.errors import (
    AuthenticationError,
    ConfigError,
    DataValidationError,
    RequestError,
    ServerError,
    SmsKitError,
    TemplateError,
    TransportError,
)

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"  # ${NUM_6}
NOTIFY = "1084df3291afc97c2ee0c0af7c157be7"  # ${NUM_6} ... ${TXT_20}
NUMBERS = ["+6591234567", "+4915112345678", "+8613812345678"]


@pytest.fixture(params=[("aksk", "hex"), ("wsse", "hex"), ("wsse", "raw")], ids=["aksk", "wsse-hex", "wsse-raw"])
def auth(request) -> dict[str, str]:
    scheme, digest = request.param
    return {"auth": scheme, "wsse_digest": digest}


def test_send_accepted_each_auth(emulator, auth) -> None:
    client = emulator.client(**auth)
    res = client.send(NUMBERS, VERIFY, ["002569"], extend="camp:0")
    assert res.ok, res
    assert res.raise_for_status() is res
    frame = res.to_frame()
    assert frame["to"].tolist() == NUMBERS
    assert frame["status"].eq("000000").all()
    assert frame["sms_msg_id"].notna().all()
    assert str(frame["create_time"].dt.tz) == "UTC"
    sent = emulator.sent()
    assert sent["to"].tolist() == NUMBERS
    assert [tuple(p) for p in sent["params"]] == [("002569",)] * 3  # leading zeros survive the wire
    assert sent["extend"].eq("camp:0").all()


def test_send_batch_accepted_each_auth(emulator, auth) -> None:
    client = emulator.client(**auth)
    items = [
        SmsItem(NUMBERS[:2], VERIFY, ["123456"]),
        {"to": [NUMBERS[2]], "templateId": NOTIFY, "templateParas": ["000042", "March"]},
    ]
    res = client.send_batch(items)
    assert res.ok, res
    assert res.api == "batchSendDiffSms"
    assert res.to_frame()["to"].tolist() == NUMBERS
    sent = emulator.sent().set_index("to")
    assert sent.loc[NUMBERS[2], "template_id"] == NOTIFY
    assert tuple(sent.loc[NUMBERS[2], "params"]) == ("000042", "March")


def test_unsigned_payload_form_accepted(emulator) -> None:
    assert emulator.client(unsigned_payload=True).send(NUMBERS[0], VERIFY, ["123456"]).ok


@pytest.mark.parametrize("scheme", ["aksk", "wsse"])
def test_wrong_secret_is_authentication_error(emulator, scheme) -> None:
    client = smskit.Client(emulator.base_url, emulator.app_key, "not-the-secret", auth=scheme, sender="isms1")
    res = client.send(NUMBERS[0], VERIFY, ["123456"])
    assert not res.ok
    with pytest.raises(AuthenticationError) as info:
        res.raise_for_status()
    assert info.value.code == ("E000045" if scheme == "aksk" else "E000105")  # API reference codes (issue 11)
    assert info.value.advice
    assert emulator.sent().empty


@pytest.mark.parametrize("scheme", ["aksk", "wsse"])
def test_unknown_key(emulator, scheme) -> None:
    client = smskit.Client(emulator.base_url, "nobody", emulator.app_secret, auth=scheme, sender="isms1")
    with pytest.raises(AuthenticationError, match="E000102"):
        client.send(NUMBERS[0], VERIFY, ["123456"]).raise_for_status()


@pytest.mark.parametrize(("scheme", "hours"), [("aksk", 0.5), ("wsse", 25)])
def test_skewed_clock(emulator, scheme, hours) -> None:
    skewed = pd.Timestamp.now(tz="UTC").to_pydatetime() - pd.Timedelta(hours=hours)
    client = emulator.client(auth=scheme, clock=lambda: skewed)
    code = "E000044" if scheme == "aksk" else "E000110"  # X-Sdk-Date expired / WSSE time out of limit (issue 11)
    with pytest.raises(AuthenticationError, match=code) as info:
        client.send(NUMBERS[0], VERIFY, ["123456"]).raise_for_status()
    assert "clock" in str(info.value).lower()


def test_params_must_be_strings_before_any_request(emulator, emulator_client) -> None:
    with pytest.raises(DataValidationError, match="leading zeros"):
        emulator_client.send(NUMBERS[0], VERIFY, [2569])
    assert emulator.requests().empty


def test_501_numbers_refused_locally(emulator, emulator_client) -> None:
    numbers = [f"+659{i:07d}" for i in range(501)]
    with pytest.raises(DataValidationError, match="at most 500"):
        emulator_client.send(numbers, VERIFY, ["123456"])
    assert emulator.requests().empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": "+65 9123 4567"}, "not E.164"),
        ({"extend": "x" * 129}, "extend"),
        ({"extend": "{bad}"}, "extend"),
        ({"status_callback": "http://x/" + "a" * 1024}, "statusCallback"),
        ({"template_id": "t" * 33}, "template_id"),
        ({"params": "123456"}, "sequence of str"),
    ],
)
def test_local_checks(emulator, emulator_client, kwargs, message) -> None:
    args = {"to": NUMBERS[0], "template_id": VERIFY, "params": ["123456"]} | kwargs
    with pytest.raises(DataValidationError, match=message):
        emulator_client.send(args.pop("to"), args.pop("template_id"), args.pop("params"), **args)
    assert emulator.requests().empty


@pytest.mark.parametrize("number", ["8615512345678", "0086155123456", "+86 15512345678", "＋8615512345678"])
def test_numbers_must_be_in_global_format(emulator, emulator_client, number) -> None:
    """'+', country code, digits: the guide's "Global number format (including the country code), for example,
    +86151****6789" (seed line 906, and every example). Nothing is guessed, nothing is sent."""
    with pytest.raises(DataValidationError, match=r"not E\.164") as info:
        emulator_client.send([NUMBERS[0], number], VERIFY, ["123456"])
    assert repr(number) in str(info.value)
    with pytest.raises(DataValidationError, match=r"not E\.164"):
        emulator_client.send_batch([SmsItem([number], VERIFY, ["123456"])])
    assert emulator.requests().empty


def test_bad_template_variables_per_number_status(emulator, emulator_client) -> None:
    res = emulator_client.send(NUMBERS[:1], VERIFY, ["12ab"])  # NUM_6 takes digits only
    assert res.code == "E000510"
    assert res.to_frame()["status"].tolist() == ["E200028"]
    with pytest.raises(SmsKitError, match="E200028"):
        res.raise_for_status()


def test_duplicate_number_same_content(emulator, emulator_client) -> None:
    res = emulator_client.send([NUMBERS[0], NUMBERS[0], NUMBERS[1]], VERIFY, ["123456"])
    assert res.code == "E000510"
    assert sorted(res.to_frame()["status"]) == ["000000", "000000", "E200041"]


def test_wrong_content_type_is_request_error(emulator) -> None:
    """A form body sent as JSON is refused with E000040 (the client itself never does this)."""
    import requests

    from smskit.auth import aksk_headers

    url = emulator.base_url + "/sms/batchSendSms/v1"
    body = b"from=isms1&to=%2B6591234567&templateId=" + VERIFY.encode()
    headers = aksk_headers(
        "POST",
        url,
        body,
        key=emulator.app_key,
        secret=emulator.app_secret,
        content_type="text/plain",
        now=pd.Timestamp.now(tz="UTC").to_pydatetime(),
    )
    payload = requests.post(url, data=body, headers=headers, timeout=5).json()
    assert payload["code"] == "E000040"
    err = smskit.codes.error_for(payload["code"], payload["description"])
    assert isinstance(err, RequestError)


def test_5xx_is_retried_and_nothing_duplicated(emulator) -> None:
    emulator.fail_next(2, kind="5xx")
    client = emulator.client(rng=__import__("random").Random(0))
    res = client.send(NUMBERS, VERIFY, ["123456"])
    assert res.ok
    assert res.attempts == 3
    assert emulator.sent()["to"].tolist() == NUMBERS


def test_5xx_exhausted_raises_server_error(emulator) -> None:
    emulator.fail_next(5, kind="5xx")
    client = emulator.client(max_retries=1)
    with pytest.raises(ServerError) as info:
        client.send(NUMBERS, VERIFY, ["123456"])
    assert info.value.may_have_reached is False
    assert emulator.sent().empty


def test_ambiguous_drop_is_unknown_outcome_not_retried(emulator) -> None:
    emulator.fail_next(1, kind="ambiguous")
    client = emulator.client()
    with pytest.raises(TransportError) as info:
        client.send(NUMBERS, VERIFY, ["123456"])
    assert info.value.may_have_reached is True
    assert "unknown" in info.value.advice
    assert len(emulator.sent()) == len(NUMBERS)  # the platform did send them, exactly once


def test_connection_refused_means_nothing_sent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = smskit.Client(f"http://127.0.0.1:{port}", "k", "s", sender="isms1", max_retries=1)
    with pytest.raises(TransportError) as info:
        client.send(NUMBERS[0], VERIFY, ["123456"])
    assert info.value.may_have_reached is False


def test_template_error_class_from_code() -> None:
    assert isinstance(smskit.codes.error_for("E200028"), TemplateError)


def test_sender_required() -> None:
    client = smskit.Client("http://127.0.0.1:9", "k", "s")
    with pytest.raises(ConfigError, match="sender"):
        client.send(NUMBERS[0], VERIFY, ["1"])


def test_from_env_and_secret_never_shown(emulator, monkeypatch, caplog, capsys) -> None:
    monkeypatch.setenv("SMSKIT_BASE_URL", emulator.base_url)
    monkeypatch.setenv("SMSKIT_APP_KEY", emulator.app_key)
    monkeypatch.setenv("SMSKIT_APP_SECRET", emulator.app_secret)
    monkeypatch.setenv("SMSKIT_SENDER", "isms-env")
    caplog.set_level(logging.DEBUG)
    client = smskit.Client.from_env()
    res = client.send(NUMBERS[0], VERIFY, ["123456"])
    bad = smskit.Client(emulator.base_url, emulator.app_key, emulator.app_secret + "x", sender="i").send(
        NUMBERS[0], VERIFY, ["123456"]
    )
    try:
        bad.raise_for_status()
    except AuthenticationError as exc:
        error_text = str(exc) + repr(exc) + exc.advice
    texts = [
        repr(client),
        str(client),
        client._repr_html_(),
        repr(client.settings),
        repr(res),
        res._repr_html_(),
        bad._repr_html_(),
        error_text,
        caplog.text,
        *capsys.readouterr(),
        repr(emulator),
    ]
    assert res.ok
    assert emulator.sent()["sender"].tolist() == ["isms-env"]
    for text in texts:
        assert emulator.app_secret not in text


def test_default_signature_goes_into_each_batch_item(emulator) -> None:
    """batchSendDiffSms carries signatures per item; the client's default fills items without one."""
    client = emulator.client(signature="smskit-default")
    items = [SmsItem([NUMBERS[0]], VERIFY, ["123456"]), SmsItem([NUMBERS[1]], VERIFY, ["123456"], "own")]
    assert client.send_batch(items).ok
    sent = emulator.sent().set_index("to")
    assert sent.loc[NUMBERS[0], "signature"] == "smskit-default"
    assert sent.loc[NUMBERS[1], "signature"] == "own"
