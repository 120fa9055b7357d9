"""Run an ASGI app under uvicorn on a background thread, bound to loopback by default.

The emulator and the status-report receiver share this: in a notebook or a test they run beside
the kernel; on the command line :func:`serve_forever` runs them in the foreground.

Slow or stalled clients cannot hold the server (:class:`ServerLimits`): a connection must send a
complete request head within ``header_timeout`` (``keep_alive`` between requests) or it is closed;
a body must arrive within ``body_timeout`` (:func:`read_limited_body` raises ``TimeoutError``, the apps
answer 408); and past ``max_connections`` open connections the oldest one still waiting for a request
head is closed to make room (the new one is refused only when none is waiting). uvicorn alone has no
head deadline, so 400 half-sent requests would otherwise keep 400 sockets open for good.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import quote

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from smskit.config import is_loopback

__all__ = ["BackgroundServer", "ServerLimits", "raw_path", "read_limited_body", "serve_forever", "warn_if_public"]

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServerLimits:
    """How long and how many: seconds to send a request head, its body, and to idle between requests,
    and the most connections kept open (well under the usual 1024 open files)."""

    header_timeout: float = 10.0
    body_timeout: float = 20.0
    keep_alive: float = 30.0
    max_connections: int = 512
    max_head_bytes: int = 16 * 1024


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and a cap on open connections."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    waiting: ClassVar[dict[_GuardedH11, None]]  # per server (see _protocol): oldest first

    @classmethod
    def bound(cls, limits: ServerLimits) -> type[_GuardedH11]:
        """A subclass for one server: its own limits and its own registry of waiting connections."""
        return type("GuardedH11", (cls,), {"limits": limits, "waiting": {}})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            victim = next(iter(self.waiting), None)
            if victim is None:
                transport.close()
                return
            victim._close()
        self._await_head(self.limits.header_timeout)

    def _await_head(self, seconds: float) -> None:
        self._stop_waiting()
        self._deadline = self.loop.call_later(seconds, self._close)
        self.waiting[self] = None

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.waiting.pop(self, None)

    def _close(self) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a complete request head arrived
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head(self.limits.keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)


def warn_if_public(host: str) -> str | None:
    """A warning text when ``host`` is not a loopback address (:func:`smskit.config.is_loopback`), else ``None``."""
    if is_loopback(host):
        return None
    return f"listening on {host}: reachable from other machines; bind 127.0.0.1 unless you mean it"


def raw_path(scope: Mapping[str, Any]) -> str:
    """The request path as the client sent it (still percent-encoded): what AK/SK signatures cover."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope["path"])


async def read_limited_body(request: Any, limit: int, *, timeout: float | None = None) -> bytes | None:
    """A starlette request's body, or ``None`` as soon as it is known to exceed ``limit`` bytes.

    The declared Content-Length is checked first; the body is then counted while it streams, so an
    oversized or lying client never makes the server buffer more than ``limit`` bytes. A body not
    complete within ``timeout`` seconds raises ``TimeoutError`` (answer 408 and close the connection).
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(timeout):
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket with TCP_NODELAY (inherited by accepted connections on Linux).

    Without it a response's head and body wait on the client's delayed ACK: ~40 ms a request.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def _config(app: Any, host: str, port: int, limits: ServerLimits, tls: tuple[str, str] | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=_GuardedH11.bound(limits),
        timeout_keep_alive=max(1, round(limits.keep_alive)),
        h11_max_incomplete_event_size=limits.max_head_bytes,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )


class BackgroundServer:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one) in a daemon thread; over HTTPS with
    ``tls=(certfile, keyfile)``.

    >>> with BackgroundServer(app) as server:  # doctest: +SKIP
    ...     requests.get(server.url)
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        name: str = "smskit-server",
        limits: ServerLimits | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.app = app
        self.tls = tls
        self.limits = limits or ServerLimits()
        self.host = host
        self._requested_port = port
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port: int = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections open right now (0 when stopped)."""
        return len(self._server.server_state.connections) if self._server is not None else 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, *, timeout: float = 10.0) -> BackgroundServer:
        if self.running:
            return self
        sock = _listen(self.host, self._requested_port)
        self._sock = sock
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(_config(self.app, self.host, self.port, self.limits, self.tls))
        self._server = server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._thread = None
        self._server = None
        self._sock = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_forever(
    app: Any, *, host: str = LOOPBACK, port: int = 0, on_ready: Any = None, limits: ServerLimits | None = None
) -> None:
    """Serve ``app`` in the foreground until SIGINT/SIGTERM; ``on_ready(port)`` runs once it listens."""
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    if on_ready is not None:
        on_ready(bound)
    server = uvicorn.Server(_config(app, host, bound, limits or ServerLimits()))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
