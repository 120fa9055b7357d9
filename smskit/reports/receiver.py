"""Status-report receiver: a thin ASGI layer over :func:`handle_push` (pure: verify, parse, decide) and
:mod:`smskit.reports.store`.

Push authentication is Huawei's "推送AKSK验证" (API reference sms_05_0064): pushes carry ``X-Sdk-Date`` and
an SDK-HMAC-SHA256 ``Authorization`` made with the push AK/SK; a changed pair takes about 5 minutes to
apply, so two pairs may be valid at once (``push_keys={ak: sk, …}``; the ``Access`` field picks the SK).

A push is answered **200 with an empty body only after its reports are committed** (group commit: the
request awaits the writer thread's commit of its batch), so every acknowledged report survives a
``kill -9``. Refusals store nothing: 404 wrong/missing token, 413 body over 1 MiB (checked while
streaming, never read unbounded), 401 bad or missing push AK/SK signature (when keys are set), 415
unsupported Content-Type, 400 malformed body. The token is part of the URL but never logged.

Usage::

    with CallbackReceiver("reports.sqlite") as rx:
        client.send(..., status_callback=rx.url)
        rx.reports()

Command line: ``smskit receive`` (:mod:`smskit.cli.receive`) prints the callback URL and serves until
SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from smskit._server import LOOPBACK, BackgroundServer, ServerLimits, raw_path, read_limited_body, warn_if_public
from smskit.auth import verify_aksk
from smskit.config import ReceiverSettings
from smskit.errors import ConfigError, ReportError
from smskit.reports.store import ReportStore
from smskit.reports.wire import StatusReport, parse_report_batch, parse_report_body, push_format

__all__ = ["MAX_BODY", "CallbackReceiver", "PushVerdict", "build_app", "handle_push"]

#: Largest push body accepted (bytes); larger ones get 413 and are not stored.
MAX_BODY = 1 << 20
_PATH = "/reports"
_log = logging.getLogger("smskit.receiver")


@dataclass(frozen=True)
class PushVerdict:
    """What to answer a push: ``status`` and a short ``text``; ``reports`` to store when it is 200."""

    status: int
    text: str = ""
    reports: tuple[StatusReport, ...] = ()


def handle_push(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    push_keys: Mapping[str, str] | None = None,
    require_body_hash: bool = False,
    now: datetime,
    max_body: int = MAX_BODY,
) -> PushVerdict:
    """Decide one push (pure): size, signature, content type, then parse. ``body=None``: over ``max_body``.

    ``path`` is the path as received (still percent-encoded): what a push signature covers.
    """
    if body is None:
        return PushVerdict(413, f"push body over {max_body} bytes refused")
    if push_keys:
        code, _ = verify_aksk(
            method,
            path,
            query,
            headers,
            body,
            secrets=push_keys,
            now=now,
            unsigned_payload=not require_body_hash,
        )
        if code is not None:  # the reference (推送AKSK验证, 接收状态报告): 401 when authentication fails
            return PushVerdict(401, f"push signature refused ({code})")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    form = push_format(content_type, body)
    if form is None:
        return PushVerdict(415, "send application/x-www-form-urlencoded or application/json")
    try:
        reports = [parse_report_body(body)] if form == "form" else parse_report_batch(body)
    except ReportError as exc:
        return PushVerdict(400, str(exc))
    return PushVerdict(200, "", tuple(reports))


def build_app(
    store: ReportStore,
    *,
    token: str | None = None,
    push_keys: Mapping[str, str] | None = None,
    require_body_hash: bool = False,
    max_body: int = MAX_BODY,
    body_timeout: float | None = ServerLimits.body_timeout,
) -> Starlette:
    """The receiver's ASGI app: ``POST /reports`` (or ``/reports/<token>`` when a token is set)."""

    async def receive(request: Request) -> Response:
        if token is not None and not hmac.compare_digest(
            str(request.path_params.get("token", "")).encode(), token.encode()
        ):
            return PlainTextResponse("Not Found", status_code=404)
        try:
            body = await read_limited_body(request, max_body, timeout=body_timeout)
        except TimeoutError:
            return PlainTextResponse("push body too slow", status_code=408, headers={"connection": "close"})
        verdict = handle_push(
            request.method,
            raw_path(request.scope),
            request.scope.get("query_string", b"").decode("latin-1"),
            request.headers,
            body,
            push_keys=push_keys,
            require_body_hash=require_body_hash,
            now=datetime.now(UTC),
            max_body=max_body,
        )
        if verdict.status != 200:
            return PlainTextResponse(verdict.text, status_code=verdict.status)
        if verdict.reports:
            await asyncio.wrap_future(store.submit(list(verdict.reports)))
        return Response(status_code=200)

    path = f"{_PATH}/{{token}}" if token is not None else _PATH
    return Starlette(routes=[Route(path, receive, methods=["POST"])])


class CallbackReceiver:
    """Receive status-report pushes into an SQLite store; a context manager for notebooks and tests.

    Parameters
    ----------
    store
        Path of the SQLite store (created if missing; reopening one keeps its reports).
    host, port
        Where to listen; loopback and a free port by default.
    token
        Secret path segment: the callback URL becomes ``/reports/<token>``; other paths get 404.
    push_keys
        The console's push ``{AK: SK}`` pairs (two during a rotation): when set, pushes must carry a
        valid SDK-HMAC-SHA256 signature by one of them (else 401).
    push_ak, push_sk
        Shorthand for one pair.
    public_url
        Where the platform reaches this receiver when it runs behind a reverse proxy (TLS), e.g.
        ``https://reports.example.com``: :attr:`url` is then built on it.
    limits
        Deadlines and the connection cap against slow or stalled clients (defaults: 10 s for a request
        head, 20 s for a body, 512 connections).
    require_body_hash
        With push keys: refuse pushes signed ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` (Huawei's own
        signer signs form bodies that way). Such a signature covers the method, path, query, the
        signed headers and the time, not the body, so whoever sees one push (e.g. a TLS-terminating
        proxy's logs) could replay it with another body of the same length within the 15-minute window;
        requiring a body hash closes that. It does not stop the same push being replayed unchanged
        (the store keeps a report once), nor hide it (use HTTPS), and pushes that hash their body, as
        Huawei's example pushes do, are checked either way (a signed hash must match the body).

    :meth:`from_env` takes the token and the keys from the environment or ``.env`` instead
    (:class:`smskit.config.ReceiverSettings`).
    """

    def __init__(
        self,
        store: str | os.PathLike[str] = "reports.sqlite",
        *,
        host: str = LOOPBACK,
        port: int = 0,
        token: str | None = None,
        push_keys: Mapping[str, str] | None = None,
        push_ak: str | None = None,
        push_sk: str | None = None,
        require_body_hash: bool = False,
        max_body: int = MAX_BODY,
        public_url: str | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        if (push_ak is None) != (push_sk is None):
            raise ConfigError("push_ak and push_sk go together", advice="pass both, or neither")
        keys = dict(push_keys or {})
        if push_ak is not None and push_sk is not None:
            if keys.get(push_ak, push_sk) != push_sk:
                raise ConfigError(f"push AK {push_ak!r} given twice with different SKs", advice="keep one SK per AK")
            keys[push_ak] = push_sk
        settings = ReceiverSettings(token=token, push_keys=keys)
        self.store_path = Path(store)
        self.host = host
        self._port = port
        self._token = settings.token
        self._push_keys = dict(settings.push_keys) or None
        if require_body_hash and not self._push_keys:
            raise ConfigError("require_body_hash needs push keys", advice="pass push_keys= (or push_ak/push_sk)")
        self._require_body_hash = require_body_hash
        self._public_url = public_url.rstrip("/") if public_url else None
        self._limits = limits or ServerLimits()
        self._max_body = max_body
        self._store: ReportStore | None = None
        self._server: BackgroundServer | None = None

    @classmethod
    def from_env(
        cls,
        store: str | os.PathLike[str] = "reports.sqlite",
        *,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = ".env",
        **options: Any,
    ) -> CallbackReceiver:
        """A receiver whose token and push keys resolve as arguments > environment > ``.env``.

        ``options`` are the constructor's plus ``token_file`` and ``push_keys_file``
        (see :meth:`smskit.config.ReceiverSettings.resolve`).
        """
        secret_names = ("token", "token_file", "push_ak", "push_sk", "push_keys", "push_keys_file")
        secrets = {k: options.pop(k) for k in secret_names if k in options}
        settings = ReceiverSettings.resolve(environ=environ, dotenv=dotenv, **secrets)
        return cls(store, token=settings.token, push_keys=settings.push_keys, **options)

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"CallbackReceiver({str(self.store_path)!r}, host={self.host!r}, port={self.port}, {state})"

    def _repr_html_(self) -> str:
        import html

        server = self._server
        if server is None:
            url = "(stopped)"
        else:
            url = f"{server.url}{_PATH}" + ("/… (token hidden: use rx.url)" if self._token is not None else "")
        rows = {
            "statusCallback": url,
            "store": str(self.store_path),
            "reports stored": f"{self._store.count():,}" if self._store is not None else "—",
            "push signatures": "verified" if self._push_keys else "not required",
        }
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows.items())
        return f"<b>smskit CallbackReceiver</b><table>{body}</table>"

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else self._port

    @property
    def url(self) -> str:
        """The ``statusCallback`` URL to send (includes the token when one is set); behind a reverse
        proxy, the ``public_url`` the platform reaches (docs/DEPLOY.md)."""
        if self._server is None:
            raise ConfigError("the receiver is not running", advice="use it as `with CallbackReceiver(...) as rx:`")
        suffix = f"/{self._token}" if self._token is not None else ""
        return f"{self._public_url or self._server.url}{_PATH}{suffix}"

    @property
    def open_connections(self) -> int:
        """Connections open right now (see :class:`smskit._server.ServerLimits`)."""
        return self._server.open_connections if self._server is not None else 0

    def start(self) -> CallbackReceiver:
        if self._server is not None:
            return self
        if (warning := warn_if_public(self.host)) is not None:
            _log.warning("status-report receiver %s", warning)
        self._store = ReportStore(self.store_path)
        app = build_app(
            self._store,
            token=self._token,
            push_keys=self._push_keys,
            require_body_hash=self._require_body_hash,
            max_body=self._max_body,
            body_timeout=self._limits.body_timeout,
        )
        server = BackgroundServer(app, host=self.host, port=self._port, name="smskit-receiver", limits=self._limits)
        try:
            server.start()
        except BaseException:
            self._store.close()
            self._store = None
            raise
        self._server = server
        _log.info("status-report receiver on %s%s (store %s)", server.url, _PATH, self.store_path)
        return self

    def stop(self) -> None:
        """Stop serving, then commit anything queued and close the store."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def reports(self) -> pd.DataFrame:
        """Every stored report, as :func:`smskit.read_status_reports` returns them."""
        from smskit.reports.ingest import read_status_reports

        return read_status_reports(self.store_path)

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
