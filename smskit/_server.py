"""Run an ASGI app under uvicorn on a background thread, bound to loopback by default.

The emulator and the status-report receiver share this: in a notebook or a test they run beside
the kernel; on the command line :func:`serve_forever` runs them in the foreground.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import uvicorn

from smskit.config import is_loopback

__all__ = ["BackgroundServer", "raw_path", "read_limited_body", "serve_forever", "warn_if_public"]

LOOPBACK = "127.0.0.1"


def warn_if_public(host: str) -> str | None:
    """A warning text when ``host`` is not a loopback address (:func:`smskit.config.is_loopback`), else ``None``."""
    if is_loopback(host):
        return None
    return f"listening on {host}: reachable from other machines; bind 127.0.0.1 unless you mean it"


def raw_path(scope: Mapping[str, Any]) -> str:
    """The request path as the client sent it (still percent-encoded): what AK/SK signatures cover."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope["path"])


async def read_limited_body(request: Any, limit: int) -> bytes | None:
    """A starlette request's body, or ``None`` as soon as it is known to exceed ``limit`` bytes.

    The declared Content-Length is checked first; the body is then counted while it streams, so an
    oversized or lying client never makes the server buffer more than ``limit`` bytes.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
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


def _config(app: Any, host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        **kwargs,
    )


class BackgroundServer:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one) in a daemon thread.

    >>> with BackgroundServer(app) as server:  # doctest: +SKIP
    ...     requests.get(server.url)
    """

    def __init__(self, app: Any, *, host: str = LOOPBACK, port: int = 0, name: str = "smskit-server") -> None:
        self.app = app
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
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, *, timeout: float = 10.0) -> BackgroundServer:
        if self.running:
            return self
        sock = _listen(self.host, self._requested_port)
        self._sock = sock
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(_config(self.app, self.host, self.port))
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


def serve_forever(app: Any, *, host: str = LOOPBACK, port: int = 0, on_ready: Any = None) -> None:
    """Serve ``app`` in the foreground until SIGINT/SIGTERM; ``on_ready(port)`` runs once it listens."""
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    if on_ready is not None:
        on_ready(bound)
    server = uvicorn.Server(_config(app, host, bound))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
