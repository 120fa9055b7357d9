"""The emulator's HTTP edge: an ASGI app that reads a request, asks the state, and writes the reply.

An "ambiguous" fault closes the connection after the request was processed and before any byte of
the response: the client sees the connection drop (``requests`` raises ``ConnectionError``,
"Remote end closed connection without response"), exactly the unknown-outcome case a client must
handle. Closing needs uvicorn's transport, reached through its ``send`` callable; under another
server the app falls back to a response cut off after its headers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from smskit._server import ServerLimits, raw_path, read_limited_body
from smskit.emulator.logic import MAX_BODY
from smskit.emulator.state import EmulatorState, Reply

__all__ = ["build_app"]

Scope = dict[str, Any]


def _transport(send: Any) -> Any:
    """uvicorn's transport behind ``send`` (``None`` under other servers)."""
    return getattr(getattr(send, "__self__", None), "transport", None)


async def _drop(send: Any) -> None:
    transport = _transport(send)
    if transport is not None:
        transport.close()
        # Let uvicorn see the connection lost before the app returns, so it writes nothing.
        for _ in range(3):
            await asyncio.sleep(0)
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
    )  # pragma: no cover - only under servers other than uvicorn


def build_app(state: EmulatorState) -> Any:
    """An ASGI application serving the two send APIs over ``state``."""

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            body = await read_limited_body(request, MAX_BODY, timeout=ServerLimits.body_timeout)
        except TimeoutError:
            response = Response(b"Request Timeout", status_code=408, headers={"connection": "close"})
            await response(scope, receive, send)
            return
        latency = state.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        reply: Reply = await run_in_threadpool(
            state.handle,
            request.method,
            raw_path(scope),
            scope.get("query_string", b"").decode("latin-1"),
            dict(request.headers),
            body,
        )
        if reply.drop:
            await _drop(send)
            return
        headers = {"connection": "close"} if body is None else None
        response = Response(reply.body, status_code=reply.status, media_type=reply.content_type, headers=headers)
        await response(scope, receive, send)

    return app
