"""The servers' shared edge: the loopback check has one definition (config.is_loopback)."""

from __future__ import annotations

import pytest

from smskit._server import warn_if_public
from smskit.config import check_base_url, is_loopback
from smskit.errors import ConfigError


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("LocalHost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),  # noqa: S104 - the case under test
        ("::", False),
        ("192.168.1.4", False),
        ("127.0.0.1.example.com", False),  # the old warn_if_public took any "127." prefix as loopback
        ("localhost.example.com", False),
    ],
)
def test_warning_and_plain_http_follow_one_loopback_rule(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert (warn_if_public(host) is None) is loopback
    url = f"http://{'[' + host.strip('[]') + ']' if ':' in host else host}:8080"
    if loopback:
        assert check_base_url(url) == url
    else:
        with pytest.raises(ConfigError, match="plain http"):
            check_base_url(url)
