"""The emulator's memory: credentials, nonces, fault settings, and the log of what it received and sent.

:meth:`EmulatorState.handle` turns one HTTP request (already read) into a :class:`Reply`, using the pure
rules of :mod:`smskit.emulator.logic`; the ASGI layer only reads the request and writes the reply.
Every mutation happens under one lock, so the state is safe to share between the server thread and
the notebook or test that inspects it. Randomness comes from generators seeded by ``seed``: faults,
message ids and delivery outcomes each have their own, so one does not shift the others.
"""

from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

import pandas as pd

from smskit.emulator import logic
from smskit.emulator.push import Pusher
from smskit.protocol import API_BY_PATH, JSON_UTF8, SUCCESS

__all__ = ["REQUEST_COLUMNS", "SENT_COLUMNS", "EmulatorState", "FaultKind", "Reply"]

FaultKind = Literal["5xx", "ambiguous"]
MAX_NONCES = 200_000
#: Requests that were not authenticated are logged in a ring of this size: anyone can send them.
MAX_UNAUTHENTICATED = 10_000

SENT_COLUMNS = (
    "sms_msg_id",
    "to",
    "template_id",
    "params",
    "signature",
    "sender",
    "extend",
    "status_callback",
    "api",
    "request_no",
    "received_at",
    "segments",
    "final_status",
    "org_code",
)
REQUEST_COLUMNS = (
    "request_no",
    "received_at",
    "method",
    "path",
    "api",
    "scheme",
    "app_key",
    "http_status",
    "code",
    "n_numbers",
    "n_accepted",
    "fault",
    "detail",
)


@dataclass(frozen=True)
class Reply:
    """What to answer: ``drop`` means close the connection without any response."""

    status: int
    body: bytes
    content_type: str = JSON_UTF8
    drop: bool = False


def _auth_failed_codes() -> frozenset[str]:
    """Request codes of failed authentication (the catalog's ``auth`` category)."""
    from smskit.codes import catalog

    table = catalog()
    return frozenset(table.loc[(table["kind"] == "request") & (table["category"] == "auth"), "code"])


_AUTH_FAILED = _auth_failed_codes()


def _json_reply(status: int, payload: Mapping[str, Any]) -> Reply:
    return Reply(status, json.dumps(payload).encode())


class EmulatorState:
    """Thread-safe state and request handling of one emulator."""

    def __init__(
        self,
        *,
        secrets: Mapping[str, str],
        templates: Mapping[str, Any] | None,
        pusher: Pusher,
        delivery_rate: float,
        failures: Mapping[str, float],
        fail_rate: float,
        ambiguous_rate: float,
        latency_ms: float,
        report_delay: float,
        seed: int | None,
    ) -> None:
        self.lock = threading.RLock()
        self.secrets = dict(secrets)
        self.templates = templates
        self.pusher = pusher
        self.delivery_rate = delivery_rate
        self.failures = dict(failures)
        self.fail_rate = fail_rate
        self.ambiguous_rate = ambiguous_rate
        self.latency_ms = latency_ms
        self.report_delay = report_delay
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        """Forget every request, message, nonce and queued fault; re-seed the generators."""
        with self.lock:
            seed = self._seed
            self._fault_rng = random.Random(seed)
            self._id_rng = random.Random(None if seed is None else seed + 1)
            self._outcome_rng = random.Random(None if seed is None else seed + 2)
            self._sent: list[dict[str, Any]] = []
            self._requests: list[dict[str, Any]] = []
            self._unauthenticated: deque[dict[str, Any]] = deque(maxlen=MAX_UNAUTHENTICATED)
            self._nonces: dict[tuple[str, str], None] = {}
            self._faults: deque[FaultKind] = deque()
            self._request_no = 0
            self._serial = 0

    @property
    def n_requests(self) -> int:
        """Requests received since the last reset (including unauthenticated ones no longer logged)."""
        with self.lock:
            return self._request_no

    def fail_next(self, n: int = 1, *, kind: FaultKind = "5xx") -> None:
        """Make the next ``n`` requests fail: ``"5xx"`` (503, nothing sent) or ``"ambiguous"``."""
        if kind not in ("5xx", "ambiguous"):
            raise ValueError(f"kind must be '5xx' or 'ambiguous', not {kind!r}")
        with self.lock:
            self._faults.extend([kind] * n)

    def _nonce_seen(self, key: str, nonce: str) -> bool:
        """Record a WSSE nonce; the oldest are forgotten past :data:`MAX_NONCES` to bound memory."""
        seen = (key, nonce) in self._nonces
        self._nonces[(key, nonce)] = None
        if len(self._nonces) > MAX_NONCES:
            del self._nonces[next(iter(self._nonces))]
        return seen

    def _draw_fault(self) -> FaultKind | None:
        if self._faults:
            return self._faults.popleft()
        if self.fail_rate and self._fault_rng.random() < self.fail_rate:
            return "5xx"
        if self.ambiguous_rate and self._fault_rng.random() < self.ambiguous_rate:
            return "ambiguous"
        return None

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        now: datetime | None = None,
    ) -> Reply:
        """Answer one request; ``body=None`` means it exceeded the size limit."""
        now = now or datetime.now(UTC)
        with self.lock:
            self._request_no += 1
            entry: dict[str, Any] = {
                "request_no": self._request_no,
                "received_at": now,
                "method": method,
                "path": path,
                "api": API_BY_PATH.get(unquote(path).rstrip("/")),
                "scheme": None,
                "app_key": None,
                "code": None,
                "n_numbers": 0,
                "n_accepted": 0,
                "fault": None,
                "detail": "",
            }
            reply = self._handle(entry, method, path, query, headers, body, now)
            entry["http_status"] = reply.status
            authenticated = entry["scheme"] is not None and entry["code"] not in _AUTH_FAILED
            (self._requests if authenticated else self._unauthenticated).append(entry)
            return reply

    def _refuse(self, entry: dict[str, Any], code: str, detail: str, status: int | None = None) -> Reply:
        entry["code"], entry["detail"] = code, detail
        return _json_reply(status or logic.http_status(code), logic.error_body(code))

    def _handle(
        self,
        entry: dict[str, Any],
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes | None,
        now: datetime,
    ) -> Reply:
        api = entry["api"]
        if api is None:
            return self._refuse(entry, "E000027", f"unknown path {path}", 404)
        if method != "POST":
            return self._refuse(entry, "E000027", f"{method} not allowed, use POST", 405)
        if body is None:
            return self._refuse(entry, logic.BAD_PARAM, f"body over {logic.MAX_BODY} bytes", 413)
        fault = self._draw_fault()
        entry["fault"] = fault
        if fault == "5xx":
            entry["detail"] = "injected 503"
            return Reply(503, b"Service Unavailable", "text/plain; charset=utf-8")
        reply = self._process(entry, api, method, path, query, headers, body, now)
        return Reply(reply.status, reply.body, reply.content_type, drop=fault == "ambiguous")

    def _process(
        self,
        entry: dict[str, Any],
        api: str,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        now: datetime,
    ) -> Reply:
        code, key, scheme = logic.authenticate(
            method, path, query, headers, body, secrets=self.secrets, now=now, nonce_seen=self._nonce_seen
        )
        entry["scheme"], entry["app_key"] = scheme, key
        if code is not None:
            return self._refuse(entry, code, f"{scheme} authentication failed")
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        try:
            request = logic.parse_request(api, content_type, body)
        except logic.Refusal as refusal:
            return self._refuse(entry, refusal.code, refusal.detail)
        decisions = logic.decide(request, templates=self.templates)
        msg_ids = []
        for _ in decisions:
            self._serial += 1
            msg_ids.append(logic.new_msg_id(self._id_rng, self._serial))
        payload = logic.response_body(decisions, sender=request.sender, msg_ids=msg_ids, created=now)
        entry["code"] = payload["code"]
        entry["n_numbers"] = len(decisions)
        for decision, msg_id in zip(decisions, msg_ids, strict=True):
            if decision.status == SUCCESS:
                self._accept(entry, request, decision, msg_id, now)
        return _json_reply(200, payload)

    def _accept(
        self,
        entry: dict[str, Any],
        request: logic.SendRequest,
        decision: logic.Decision,
        msg_id: str,
        now: datetime,
    ) -> None:
        outcome = logic.draw_outcome(self._outcome_rng, delivery_rate=self.delivery_rate, failures=self.failures)
        entry["n_accepted"] += 1
        self._sent.append(
            {
                "sms_msg_id": msg_id,
                "to": decision.to,
                "template_id": decision.template_id,
                "params": decision.params,
                "signature": decision.signature,
                "sender": request.sender,
                "extend": request.extend,
                "status_callback": request.status_callback,
                "api": request.api,
                "request_no": entry["request_no"],
                "received_at": now,
                "segments": decision.segments,
                "final_status": outcome.status,
                "org_code": outcome.org_code,
            }
        )
        if request.status_callback:
            # Each message gets its own carrier delay around report_delay; the report's time (whole
            # seconds, as the platform sends it) is rounded up so it is never before the acceptance.
            delay = self.report_delay * self._outcome_rng.uniform(0.5, 1.5)
            reported = now + timedelta(seconds=delay)
            if reported.microsecond:
                reported = reported.replace(microsecond=0) + timedelta(seconds=1)
            reports = logic.build_reports(
                sms_msg_id=msg_id,
                segments=decision.segments,
                outcome=outcome,
                update_time=reported,
                extend=request.extend,
                to=decision.to,
            )
            self.pusher.schedule(request.status_callback, reports, delay=delay)

    # -- views -----------------------------------------------------------------------------------

    def sent(self) -> pd.DataFrame:
        """Every accepted message, in acceptance order."""
        with self.lock:
            frame = pd.DataFrame(self._sent, columns=list(SENT_COLUMNS))
        frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
        frame["request_no"] = frame["request_no"].astype("int64")
        frame["segments"] = frame["segments"].astype("int64")
        for column in ("api", "final_status"):
            frame[column] = frame[column].astype("category")
        return frame

    def requests(self) -> pd.DataFrame:
        """Every request received, in arrival order; of those not authenticated only the latest
        :data:`MAX_UNAUTHENTICATED` are kept (their senders need no credentials)."""
        with self.lock:
            rows = sorted([*self._requests, *self._unauthenticated], key=lambda e: e["request_no"])
            frame = pd.DataFrame(rows, columns=list(REQUEST_COLUMNS))
        frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
        for column in ("request_no", "http_status", "n_numbers", "n_accepted"):
            frame[column] = frame[column].astype("int64")
        return frame
