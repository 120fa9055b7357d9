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
