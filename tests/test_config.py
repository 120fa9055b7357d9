"""Settings: arguments > environment > .env; secrets never in repr/str."""

from __future__ import annotations

from pathlib import Path

import pytest

from smskit.config import Settings
from smskit.errors import ConfigError

BASE = "https://smsapi.ap-southeast-1.myhuaweicloud.com:443"


def test_precedence_arguments_environment_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"SMSKIT_BASE_URL={BASE}\nSMSKIT_APP_KEY=from-file\nSMSKIT_APP_SECRET=file-secret\nSMSKIT_SENDER=isms-file\n"
    )
    env = {"SMSKIT_APP_KEY": "from-env", "SMSKIT_AUTH": "wsse"}
    s = Settings.resolve(environ=env, dotenv=dotenv, sender="isms-arg")
    assert (s.base_url, s.app_key, s.app_secret, s.sender, s.auth) == (
        BASE,
        "from-env",
        "file-secret",
        "isms-arg",
        "wsse",
    )


def test_secret_never_in_repr_or_str() -> None:
    s = Settings(base_url=BASE, app_key="k", app_secret="TOP-SECRET-VALUE")
    assert "TOP-SECRET-VALUE" not in repr(s)
    assert "TOP-SECRET-VALUE" not in str(s)


def test_missing_settings_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SMSKIT_APP_KEY, SMSKIT_APP_SECRET") as info:
        Settings.resolve(environ={"SMSKIT_BASE_URL": BASE}, dotenv=tmp_path / "none")
    assert "smskit emulator" in info.value.advice


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"auth": "basic"}, "auth must be"),
        ({"wsse_digest": "b64"}, "wsse_digest must be"),
        ({"base_url": "http://smsapi.example.com"}, "plain http"),
        ({"base_url": "ftp://x"}, "not an http"),
        ({"base_url": BASE + "/sms/batchSendSms/v1"}, "has a path"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "CA bundle"),
    ],
)
def test_invalid_settings_refused(overrides: dict, message: str) -> None:
    values = {"base_url": BASE, "app_key": "k", "app_secret": "s"} | overrides
    with pytest.raises(ConfigError, match=message):
        Settings(**values)


def test_plain_http_allowed_only_on_loopback() -> None:
    assert Settings(base_url="http://127.0.0.1:8080/", app_key="k", app_secret="s").base_url == "http://127.0.0.1:8080"
    assert Settings(base_url="http://localhost:1", app_key="k", app_secret="s").base_url == "http://localhost:1"


def test_unknown_override_refused() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.resolve(environ={}, dotenv=None, verify=False)


# -- the receiver's settings ---------------------------------------------------------------------


def test_receiver_settings_precedence_arguments_environment_dotenv(tmp_path: Path) -> None:
    from smskit.config import ReceiverSettings

    dotenv = tmp_path / ".env"
    dotenv.write_text("SMSKIT_RECEIVER_TOKEN=file-token\nSMSKIT_PUSH_AK=file-ak\nSMSKIT_PUSH_SK=file-sk\n")
    assert ReceiverSettings.resolve(environ={}, dotenv=dotenv) == ReceiverSettings("file-token", {"file-ak": "file-sk"})
    env = {"SMSKIT_RECEIVER_TOKEN": "env-token", "SMSKIT_PUSH_AK": "env-ak", "SMSKIT_PUSH_SK": "env-sk"}
    got = ReceiverSettings.resolve(environ=env, dotenv=dotenv)
    assert (got.token, got.push_keys) == ("env-token", {"env-ak": "env-sk"})  # a level's keys are not mixed
    got = ReceiverSettings.resolve(environ=env, dotenv=dotenv, token="arg-token", push_keys={"a1": "s1", "a2": "s2"})
    assert (got.token, got.push_keys) == ("arg-token", {"a1": "s1", "a2": "s2"})
    assert ReceiverSettings.resolve(environ={}, dotenv=None) == ReceiverSettings()


def test_receiver_settings_from_files_and_hidden_from_repr(tmp_path: Path) -> None:
    from smskit.config import ReceiverSettings

    keys = tmp_path / "push-keys"
    keys.write_text("# rotation: old and new pair both valid\nold-ak old-sk-123\n\nnew-ak new-sk-456\n")
    token = tmp_path / "token"
    token.write_text("tok-from-file\n")
    env = {"SMSKIT_PUSH_KEYS_FILE": str(keys), "SMSKIT_RECEIVER_TOKEN_FILE": str(token)}
    got = ReceiverSettings.resolve(environ=env, dotenv=None)
    assert got.token == "tok-from-file"
    assert got.push_keys == {"old-ak": "old-sk-123", "new-ak": "new-sk-456"}
    shown = repr(got) + str(got)
    assert "old-ak" in shown
    assert not any(secret in shown for secret in ("tok-from-file", "old-sk-123", "new-sk-456"))


@pytest.mark.parametrize(
    ("content", "env", "message"),
    [
        ("ak", {}, "expected 'AK SK'"),
        ("ak sk extra", {}, "expected 'AK SK'"),
        ("# nothing\n", {}, "no push AK/SK pair"),
        ("ak s1\nak s2\n", {}, "appears twice"),
        (None, {"SMSKIT_PUSH_AK": "ak"}, "without its SK"),
        (None, {"SMSKIT_RECEIVER_TOKEN": "a/b"}, "path segment"),
    ],
)
def test_receiver_settings_refuse_bad_keys(tmp_path: Path, content: str | None, env: dict, message: str) -> None:
    from smskit.config import ReceiverSettings

    if content is not None:
        (tmp_path / "keys").write_text(content)
        env = {"SMSKIT_PUSH_KEYS_FILE": str(tmp_path / "keys")}
    with pytest.raises(ConfigError, match=message):
        ReceiverSettings.resolve(environ=env, dotenv=None)


def test_repr_masks_the_status_callback_which_holds_the_receiver_token() -> None:
    """Issue 11: repr(settings) showed statusCallback, whose path is the receiver's secret token."""
    s = Settings(
        base_url=BASE, app_key="k", app_secret="s", status_callback="https://reports.example.com/reports/tok-SECRET"
    )
    shown = repr(s) + str(s)
    assert "tok-SECRET" not in shown
    assert "status_callback='https://reports.example.com/…'" in shown
    assert "app_key='k'" in shown
    from smskit.client import Client

    client = Client(BASE, "k", "s", status_callback="https://reports.example.com/reports/tok-SECRET")
    assert "tok-SECRET" not in repr(client) + client._repr_html_() + repr(client.settings)
