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


# -- slow and stalled clients (issue 11, item 9) -----------------------------------------------------------


def _wait_until(condition, seconds: float = 15.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _answer(sock) -> bytes:
    """What the server said before closing (a reset, when it closed with our bytes unread, is b"")."""
    try:
        return sock.recv(200)
    except ConnectionResetError:
        return b""


def test_half_sent_requests_neither_hold_the_receiver_nor_its_sockets(tmp_path) -> None:
    import contextlib
    import socket
    from urllib.parse import urlsplit

    import requests

    from smskit._server import ServerLimits
    from smskit.reports.receiver import CallbackReceiver

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    limits = ServerLimits(header_timeout=1.0, body_timeout=1.0, keep_alive=2.0, max_connections=300)
    with CallbackReceiver(tmp_path / "r.sqlite", limits=limits) as rx:
        url = urlsplit(rx.url)
        head = f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        with contextlib.ExitStack() as sockets:
            stalled = []
            for i in range(400):  # half of them stop inside the head, half inside a body they promised
                sock = sockets.enter_context(socket.create_connection((url.hostname, url.port), timeout=30))
                part = head if i % 2 else head + "Content-Length: 100000\r\n\r\nsmsMsgId="
                sock.sendall(part.encode())
                stalled.append(sock)
            assert rx.open_connections <= limits.max_connections
            genuine = requests.post(rx.url, data="smsMsgId=g_1&status=DELIVRD", headers=form, timeout=5)
            assert genuine.status_code == 200
            assert _wait_until(lambda: rx.open_connections == 0)  # every stalled socket was closed by the server
            answers = [_answer(sock) for sock in stalled]
        assert {a[:12] for a in answers} <= {b"", b"HTTP/1.1 408"}  # closed (or reset), or told 408
        assert any(a.startswith(b"HTTP/1.1 408") for a in answers)  # bodies that never finished
        again = requests.post(rx.url, data="smsMsgId=g_2&status=DELIVRD", headers=form, timeout=5)
        assert again.status_code == 200
        assert sorted(rx.reports()["sms_msg_id"]) == ["g_1", "g_2"]


def test_a_keep_alive_client_is_not_cut_between_requests(tmp_path) -> None:
    """Between requests the idle deadline is keep_alive, not the (shorter) head deadline."""
    import socket
    import time
    from urllib.parse import urlsplit

    from smskit._server import ServerLimits
    from smskit.reports.receiver import CallbackReceiver

    limits = ServerLimits(header_timeout=0.5, keep_alive=5.0)
    with CallbackReceiver(tmp_path / "r.sqlite", limits=limits) as rx:
        url = urlsplit(rx.url)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            for n in range(2):
                body = f"smsMsgId=k_{n}&status=DELIVRD"
                sock.sendall(
                    f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/x-www-form-urlencoded"
                    f"\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
                )
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
                time.sleep(1.0)  # idle past the head deadline, within keep_alive: the same socket still serves
        assert len(rx.reports()) == 2
