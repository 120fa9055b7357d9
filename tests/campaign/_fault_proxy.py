"""A small real HTTP proxy on 127.0.0.1 that forwards to the emulator and misbehaves on demand.

Faults, one per request (``proxy.faults.extend([...])``; an empty queue forwards faithfully):

* ``"502"``, ``"504"``, ``"500"`` — forward, let the platform process it, then answer that status
  with an HTML body (a gateway that timed out or failed *after* forwarding);
* ``"reset"`` — forward, then reset the connection without answering;
* ``"503-unknown-code"`` — do not forward; answer 503 with a JSON body whose code no catalog knows;
* ``"429"`` — do not forward; answer 429 with ``Retry-After: 1``.

``proxy.log`` lists ``(fault, forwarded, upstream_status)`` per request.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FORWARDED_FAULTS = {"pass", "502", "504", "500", "reset"}


class FaultProxy:
    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults: deque[str] = deque()
        self.log: list[tuple[str, bool, int | None]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with proxy._lock:
                    fault = proxy.faults.popleft() if proxy.faults else "pass"
                upstream = (
                    proxy._forward(self.command, self.path, self.headers, body) if fault in FORWARDED_FAULTS else None
                )
                with proxy._lock:
                    proxy.log.append((fault, upstream is not None, upstream[0] if upstream else None))
                if fault == "pass" and upstream is not None:
                    status, content_type, payload = upstream
                    self._answer(status, content_type, payload)
                elif fault in {"502", "504", "500"}:
                    self._answer(int(fault), "text/html", b"<html><body>gateway error</body></html>")
                elif fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                elif fault == "503-unknown-code":
                    payload = json.dumps({"code": "E999999", "description": "an undocumented code"}).encode()
                    self._answer(503, "application/json", payload)
                elif fault == "429":
                    self._answer(429, "text/plain", b"slow down", extra={"Retry-After": "1"})
                else:
                    raise AssertionError(f"unknown fault {fault!r}")

            def _answer(
                self, status: int, content_type: str, payload: bytes, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def _forward(self, method: str, path: str, headers: object, body: bytes) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection(*self.target, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():  # type: ignore[attr-defined]
                if name.lower() not in {"connection", "content-length"}:
                    conn.putheader(name, value)  # Host unchanged: it is part of the AK/SK signature
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
