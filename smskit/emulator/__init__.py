"""An embedded emulator of the Huawei Cloud SMS API, for notebooks, tests and demos.

>>> with Emulator(seed=1) as emu:  # doctest: +SKIP
...     emu.client().send("+8615512345678", "tpl-1", ["123456"])
...     emu.sent()

It is a real HTTP server (uvicorn on loopback, in a background thread) that checks AK/SK and X-WSSE
signatures, content types and parameter limits with the documented codes, gives per-number statuses
from a template catalog, pushes status reports (one per segment) to ``statusCallback``, and can
inject faults: HTTP 503 with nothing sent (``fail_rate``), or a dropped connection after the messages
were accepted (``ambiguous_rate``). ``fail_next(n, kind=…)`` injects exact faults. The rules, and the
choices made where the platform is undocumented, are in :mod:`smskit.emulator.logic`.
"""

from __future__ import annotations

import os
import secrets as _secrets
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import pandas as pd

from smskit._server import LOOPBACK, BackgroundServer, serve_forever
from smskit.emulator.app import build_app
from smskit.emulator.logic import DEFAULT_FAILURES
from smskit.emulator.push import Pusher
from smskit.emulator.state import EmulatorState, FaultKind

__all__ = ["DEFAULT_FAILURES", "Emulator"]

DEFAULT_SENDER = "isms0000000001"


def _load_templates(templates: Any) -> Mapping[str, Any] | None:
    if templates is None or isinstance(templates, Mapping):
        return templates
    from smskit.templates import load_templates

    return load_templates(os.fspath(templates))


def _rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


class Emulator:
    """The emulated platform. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    Parameters
    ----------
    templates
        A catalog path (CSV/JSON, as :func:`smskit.load_templates` reads) or a loaded mapping; ``None``
        accepts any template id and only checks that params are non-empty strings.
    delivery_rate
        Share of accepted messages whose report is ``DELIVRD``; the rest draw from ``failures``
        (weights, default :data:`DEFAULT_FAILURES`).
    fail_rate, ambiguous_rate, latency_ms
        Fault injection; settable while running (``emu.fail_rate = 0.5``).
    report_delay
        Seconds between acceptance and the status-report push.
    push_format
        ``"form"`` (one form POST per report) or ``"batch"`` (``statusReportList`` JSON, ≤ 50 per push).
    push_ak, push_sk
        Sign pushes with SDK-HMAC-SHA256 when given.
    app_key, app_secret
        The credentials it accepts; generated when not given. The secret is never in ``repr``.
    seed
        Makes faults, message ids and outcomes reproducible.
    """

    def __init__(
        self,
        templates: Any = None,
        *,
        delivery_rate: float = 0.95,
        failures: Mapping[str, float] | None = None,
        fail_rate: float = 0.0,
        ambiguous_rate: float = 0.0,
        latency_ms: float = 0,
        report_delay: float = 0.0,
        push_format: str = "form",
        push_ak: str | None = None,
        push_sk: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        sender: str = DEFAULT_SENDER,
        seed: int | None = None,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        if push_format not in ("form", "batch"):
            raise ValueError(f"push_format must be 'form' or 'batch', not {push_format!r}")
        self.app_key = app_key or f"emu-{_secrets.token_hex(8)}"
        self.__secret = app_secret or _secrets.token_urlsafe(24)
        self.sender = sender
        self._pusher_options: dict[str, Any] = {
            "batch": push_format == "batch",
            "push_ak": push_ak,
            "push_sk": push_sk,
        }
        self._state = EmulatorState(
            secrets={self.app_key: self.__secret},
            templates=_load_templates(templates),
            pusher=Pusher(**self._pusher_options),
            delivery_rate=_rate("delivery_rate", delivery_rate),
            failures=dict(DEFAULT_FAILURES if failures is None else failures),
            fail_rate=_rate("fail_rate", fail_rate),
            ambiguous_rate=_rate("ambiguous_rate", ambiguous_rate),
            latency_ms=latency_ms,
            report_delay=report_delay,
            seed=seed,
        )
        self.app = build_app(self._state)
        self._server = BackgroundServer(self.app, host=host, port=port, name="smskit-emulator")

    # -- credentials and address -----------------------------------------------------------------

    @property
    def app_secret(self) -> str:
        return self.__secret

    @property
    def base_url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def templates(self) -> Mapping[str, Any] | None:
        return self._state.templates

    def __repr__(self) -> str:
        state = "running" if self._server.running else "stopped"
        return f"Emulator(base_url={self.base_url!r}, app_key={self.app_key!r}, {state})"

    def _repr_html_(self) -> str:
        import html

        state = "running" if self._server.running else "stopped"
        rows = {
            "base_url": self.base_url,
            "app_key": self.app_key,
            "app_secret": "(hidden)",
            "state": state,
            "requests received": f"{self._state.n_requests:,}",
            "messages accepted": f"{len(self._state._sent):,}",
            "delivery / fail / ambiguous rate": f"{self.delivery_rate:.0%} / {self.fail_rate:.0%} / "
            f"{self.ambiguous_rate:.0%}",
        }
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
        return f"<b>smskit Emulator</b><table>{body}</table>"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Serve in a background thread on ``host:port`` (port 0 picks a free one)."""
        if self._state.pusher.closed:
            self._state.pusher = Pusher(**self._pusher_options)
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving; pushes not yet due are dropped."""
        self._server.stop()
        self._state.pusher.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def serve_forever(self, *, on_ready: Callable[[Emulator], None] | None = None) -> None:
        """Serve in the foreground until interrupted (the ``smskit emulator`` command)."""

        def ready(port: int) -> None:
            self._server.port = port
            if on_ready is not None:
                on_ready(self)

        try:
            serve_forever(self.app, host=self._server.host, port=self._server.port, on_ready=ready)
        finally:
            self._state.pusher.close()

    # -- clients and fault injection -------------------------------------------------------------

    def client(self, **overrides: Any) -> Any:
        """A :class:`smskit.Client` wired to this emulator (``sender`` defaults to :attr:`sender`)."""
        from smskit.client import Client

        options: dict[str, Any] = {"sender": self.sender, **overrides}
        return Client(self.base_url, self.app_key, self.app_secret, **options)

    def fail_next(self, n: int = 1, *, kind: FaultKind = "5xx") -> None:
        """Make the next ``n`` send requests fail: ``"5xx"`` (503, nothing sent) or ``"ambiguous"``
        (messages accepted, connection dropped before the response)."""
        self._state.fail_next(n, kind=kind)

    @property
    def fail_rate(self) -> float:
        return self._state.fail_rate

    @fail_rate.setter
    def fail_rate(self, value: float) -> None:
        self._state.fail_rate = _rate("fail_rate", value)

    @property
    def ambiguous_rate(self) -> float:
        return self._state.ambiguous_rate

    @ambiguous_rate.setter
    def ambiguous_rate(self, value: float) -> None:
        self._state.ambiguous_rate = _rate("ambiguous_rate", value)

    @property
    def delivery_rate(self) -> float:
        return self._state.delivery_rate

    @delivery_rate.setter
    def delivery_rate(self, value: float) -> None:
        self._state.delivery_rate = _rate("delivery_rate", value)

    @property
    def latency_ms(self) -> float:
        return self._state.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self._state.latency_ms = value

    @property
    def report_delay(self) -> float:
        return self._state.report_delay

    @report_delay.setter
    def report_delay(self, value: float) -> None:
        self._state.report_delay = value

    # -- what happened ---------------------------------------------------------------------------

    def sent(self) -> pd.DataFrame:
        """Every accepted message: sms_msg_id, to, template_id, params, signature, sender, extend,
        status_callback, api, request_no, received_at (UTC), segments, final_status, org_code."""
        return self._state.sent()

    def requests(self) -> pd.DataFrame:
        """Every request received: request_no, received_at, method, path, api, scheme, app_key,
        http_status, code, n_numbers, n_accepted, fault, detail."""
        return self._state.requests()

    def pushes(self) -> pd.DataFrame:
        """Every status-report push: url, n_reports, attempts, http_status, error, delivered."""
        columns = ["url", "n_reports", "attempts", "http_status", "error", "delivered"]
        return pd.DataFrame(self._state.pusher.log(), columns=columns)

    def wait_for_reports(self, timeout: float | None = 10.0) -> bool:
        """Block until every scheduled report was pushed (or given up on); ``False`` on timeout."""
        return self._state.pusher.wait(timeout)

    def reset(self) -> None:
        """Forget every request, message, nonce, push log entry and queued fault."""
        self._state.reset()
        self._state.pusher.clear_log()
