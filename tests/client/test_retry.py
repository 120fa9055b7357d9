"""Retry decisions: "could it have reached the server?" over real sockets on 127.0.0.1, and should_retry."""

from __future__ import annotations

import random
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import urllib3.exceptions

import smskit
from smskit.client.retry import (
    RETRY_AFTER_CAP,
    backoff,
    is_documented,
    may_have_processed,
    may_have_reached,
    retry_after,
    retry_delay,
    should_retry,
)
from smskit.errors import TransportError

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"


class RawServer:
    """One-shot TCP server on loopback: reads a whole HTTP request, then closes, resets or hangs."""

    def __init__(self, action: str, *, tls: ssl.SSLContext | None = None) -> None:
        self.action = action
        self.tls = tls
        self.received = b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                return
        with conn:
            if self.action == "plaintext":  # a plain-HTTP answer where a TLS handshake was expected
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            while b"\r\n\r\n" not in self.received or len(self._body()) < self._length():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self.received += chunk
            if self.action == "reset":  # RST instead of FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.action == "hang":
                self.release.wait(10)

    def _body(self) -> bytes:
        return self.received.partition(b"\r\n\r\n")[2]

    def _length(self) -> int:
        for line in self.received.partition(b"\r\n\r\n")[0].split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                return int(value)
        return 0

    def close(self) -> None:
        self.release.set()
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def raw_server() -> Iterator[type[RawServer]]:
    servers: list[RawServer] = []

    def make(action: str, **kw) -> RawServer:
        servers.append(RawServer(action, **kw))
        return servers[-1]

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _failure(url: str, **kwargs) -> requests.exceptions.RequestException:
    with pytest.raises(requests.exceptions.RequestException) as info:
        requests.post(url, data=b"to=%2B6591234567", timeout=kwargs.pop("timeout", (2, 2)), **kwargs)
    return info.value


def test_closed_port_has_not_reached() -> None:
    exc = _failure(f"http://127.0.0.1:{_closed_port()}/sms/batchSendSms/v1")
    assert isinstance(exc, requests.exceptions.ConnectionError)
    assert may_have_reached(exc) is False


def test_connect_timeout_has_not_reached() -> None:
    """A listener whose accept queue is full drops new SYNs: a real connect timeout on loopback (Linux)."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            exc = _failure(f"http://127.0.0.1:{port}/x", timeout=(0.3, 2))
        finally:
            for filler in fillers:
                filler.close()
    assert isinstance(exc, requests.exceptions.ConnectTimeout)
    assert may_have_reached(exc) is False


def test_unresolvable_name_has_not_reached() -> None:
    exc = _failure("http://smskit-test.invalid/x")  # .invalid never resolves (RFC 6761)
    assert any(isinstance(c, urllib3.exceptions.NameResolutionError) for c in _chain(exc))
    assert may_have_reached(exc) is False


def test_unreachable_proxy_has_not_reached() -> None:
    proxy = f"http://127.0.0.1:{_closed_port()}"
    exc = _failure("http://smskit-test.invalid/x", proxies={"http": proxy})
    assert isinstance(exc, requests.exceptions.ProxyError)
    assert may_have_reached(exc) is False


@pytest.mark.parametrize("action", ["close", "reset"])
def test_connection_lost_after_the_body_may_have_reached(raw_server, action) -> None:
    server = raw_server(action)
    exc = _failure(f"http://127.0.0.1:{server.port}/sms/batchSendSms/v1")
    server.thread.join(5)
    assert server.received.endswith(b"to=%2B6591234567")  # the server did read the whole request
    assert may_have_reached(exc) is True


def test_read_timeout_may_have_reached(raw_server) -> None:
    server = raw_server("hang")
    exc = _failure(f"http://127.0.0.1:{server.port}/x", timeout=(2, 0.3))
    assert isinstance(exc, requests.exceptions.ReadTimeout)
    assert may_have_reached(exc) is True


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> ssl.SSLContext:
    """A TLS server context with a fresh self-signed certificate (made by the openssl command)."""
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_untrusted_certificate_has_not_reached(raw_server, self_signed) -> None:
    server = raw_server("close", tls=self_signed)
    exc = _failure(f"https://127.0.0.1:{server.port}/x")
    assert isinstance(exc, requests.exceptions.SSLError)
    assert may_have_reached(exc) is False
    assert server.received == b""


def test_other_tls_errors_count_as_may_have_reached(raw_server) -> None:
    """TLS to a plain-HTTP server fails in the handshake, but urllib3 raises the same SSLError for TLS errors
    while reading an answer; only a certificate failure proves nothing was written, so this is 'maybe'."""
    server = raw_server("plaintext")
    exc = _failure(f"https://127.0.0.1:{server.port}/x")
    assert isinstance(exc, requests.exceptions.SSLError)
    assert may_have_reached(exc) is True


def test_decided_by_type_not_by_name() -> None:
    """A class that merely shares a name with urllib3's does not count as 'not sent'."""
    fake = type("NewConnectionError", (Exception,), {})
    assert may_have_reached(requests.exceptions.ConnectionError(fake("refused"))) is True
    real = urllib3.exceptions.NewConnectionError(None, "refused")
    wrapped = urllib3.exceptions.MaxRetryError(None, "/x", real)  # type: ignore[arg-type]
    assert may_have_reached(requests.exceptions.ConnectionError(wrapped)) is False


def _chain(exc: BaseException) -> list[BaseException]:
    out, todo = [], [exc]
    while todo:
        e = todo.pop()
        out.append(e)
        todo += [x for x in (getattr(e, "reason", None), *e.args, e.__cause__) if isinstance(x, BaseException)]
    return out


# -- the client uses the decision ------------------------------------------------------------------


def test_client_reports_what_the_decision_says(raw_server) -> None:
    server = raw_server("close")
    client = smskit.Client(f"http://127.0.0.1:{server.port}", "k", "s", sender="isms1", max_retries=3)
    with pytest.raises(TransportError) as info:
        client.send("+6591234567", VERIFY, ["123456"])
    assert info.value.may_have_reached is True
    assert server.received.count(b"POST ") == 1  # not retried: one request reached the server

    closed = smskit.Client(f"http://127.0.0.1:{_closed_port()}", "k", "s", sender="isms1", max_retries=0)
    with pytest.raises(TransportError) as info:
        closed.send("+6591234567", VERIFY, ["123456"])
    assert info.value.may_have_reached is False


# -- should_retry and backoff (pure) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "written", "retryable_code", "expected"),
    [
        (None, None, False, False, True),  # nothing written: safe to repeat
        (None, None, True, False, False),  # may have been processed: never repeated
        (429, None, True, False, True),  # refused before processing
        (503, None, True, False, True),
        (503, "E999999", True, False, True),  # an undocumented code falls back to the status rule
        (500, None, True, False, False),  # a gateway may answer after the platform processed it
        (502, None, True, False, False),
        (504, None, True, False, False),
        (504, "E999999", True, False, False),
        (200, "000000", True, False, False),
        (400, "E000503", True, False, False),
        (403, "E000623", True, True, True),  # the catalog says a repeat could succeed
        (503, "E000623", True, False, False),  # a documented code decides, whatever the status
        (404, None, True, False, False),
    ],
)
def test_should_retry(status, error, written, retryable_code, expected) -> None:
    assert should_retry(status, error, written, retryable_code=retryable_code) is expected


@pytest.mark.parametrize(
    ("status", "processed"),
    [
        (429, False),
        (503, False),
        (400, False),
        (404, False),
        (302, False),
        (500, True),
        (502, True),
        (504, True),
        (599, True),
        (200, True),
    ],
)
def test_may_have_processed(status, processed) -> None:
    assert may_have_processed(status) is processed


def test_documented_codes_are_the_catalogs() -> None:
    assert is_documented("E000510")
    assert is_documented(" e000623 ")
    assert is_documented("000000")
    assert not is_documented("E999999")
    assert not is_documented(None)


def test_retry_after_seconds_or_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("7", now=now) == 7.0
    assert retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0  # already past
    assert retry_after("soon", now=now) is None
    assert retry_after(None) is None
    rng = random.Random(0)
    assert retry_delay(0, rng, retry_after_s=7.0) == 7.0
    assert retry_delay(0, rng, retry_after_s=3600.0) == RETRY_AFTER_CAP
    assert 0.0 <= retry_delay(2, rng) <= 2.0  # no header: the jittered backoff


def test_backoff_is_full_jitter_and_capped() -> None:
    rng = random.Random(0)
    delays = [backoff(a, rng, base=0.5, cap=4.0) for a in range(10) for _ in range(50)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert max(backoff(0, rng) for _ in range(200)) <= 0.5
