"""Deliver the emulator's status reports to each request's ``statusCallback``.

Reports are scheduled with a delay, then pushed by a small thread pool over keep-alive sessions:
one form POST per report, or (``batch=True``) ``{"statusReportList": […]}`` bodies of at most 50.
With ``push_ak``/``push_sk`` each push is signed with SDK-HMAC-SHA256, as the platform's "push AK/SK"
option does; like Huawei's example pushes (API reference "接收状态报告:请求示例") the signed headers are
``connection;content-length;content-type;host;x-sdk-date`` and the body is covered by its hash.
The platform's retry policy is undocumented: here a push that fails (connection error or non-2xx) is
retried ``attempts`` times with doubling backoff, then dropped and logged.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from smskit.auth import SDK_DATE_FORMAT, aksk_authorization
from smskit.emulator.logic import encode_report_batch, encode_report_form
from smskit.protocol import FORM, JSON, MAX_REPORTS_PER_PUSH

__all__ = ["Pusher"]


class Pusher:
    """Schedule and deliver status-report pushes; thread-safe."""

    def __init__(
        self,
        *,
        batch: bool = False,
        push_ak: str | None = None,
        push_sk: str | None = None,
        workers: int = 4,
        attempts: int = 3,
        backoff: float = 0.1,
        timeout: float = 5.0,
    ) -> None:
        if (push_ak is None) != (push_sk is None):
            raise ValueError("give both push_ak and push_sk, or neither")
        self.batch = batch
        self._push_ak = push_ak
        self._push_sk = push_sk
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str, tuple[Mapping[str, str], ...]]] = []
        self._counter = itertools.count()
        self._pending = 0
        self._closed = False
        self._log: list[dict[str, Any]] = []
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smskit-push")
        self._thread = threading.Thread(target=self._run, name="smskit-push-scheduler", daemon=True)
        self._thread.start()

    def schedule(self, url: str, reports: Sequence[Mapping[str, str]], *, delay: float = 0.0) -> None:
        """Push ``reports`` to ``url`` after ``delay`` seconds."""
        if not reports:
            return
        with self._cond:
            if self._closed:
                return
            due = time.monotonic() + max(0.0, delay)
            heapq.heappush(self._heap, (due, next(self._counter), url, tuple(reports)))
            self._pending += len(reports)
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every scheduled report was delivered or dropped; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def log(self) -> list[dict[str, Any]]:
        """One entry per push: url, n_reports, attempts, http_status, error, delivered."""
        with self._cond:
            return list(self._log)

    def clear_log(self) -> None:
        with self._cond:
            self._log.clear()

    def close(self, *, timeout: float = 5.0) -> None:
        """Stop scheduling; pushes already due finish, later ones are dropped."""
        with self._cond:
            self._closed = True
            dropped = sum(len(entry[3]) for entry in self._heap)
            self._heap.clear()
            self._pending -= dropped
            self._cond.notify_all()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=False)

    # -- internals -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                due: dict[str, list[Mapping[str, str]]] = {}
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, url, scheduled = heapq.heappop(self._heap)
                    due.setdefault(url, []).extend(scheduled)
            for url, reports in due.items():
                for chunk in self._bodies(reports):
                    self._pool.submit(self._push, url, chunk)

    def _bodies(self, reports: list[Mapping[str, str]]) -> list[list[Mapping[str, str]]]:
        if self.batch:
            return [reports[i : i + MAX_REPORTS_PER_PUSH] for i in range(0, len(reports), MAX_REPORTS_PER_PUSH)]
        return [[r] for r in reports]

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _push(self, url: str, reports: list[Mapping[str, str]]) -> None:
        if self.batch:
            body, content_type = encode_report_batch(reports), JSON
        else:
            body, content_type = encode_report_form(reports[0]), FORM
        status: int | None = None
        error = ""
        attempt = 0
        delivered = False
        try:
            for attempt in range(1, self._attempts + 1):
                headers = self._headers(url, body, content_type)
                try:
                    response = self._session().post(url, data=body, headers=headers, timeout=self._timeout)
                    status, error = response.status_code, ""
                    delivered = 200 <= status < 300
                except requests.RequestException as exc:
                    status, error = None, type(exc).__name__
                if delivered or attempt == self._attempts:
                    break
                time.sleep(self._backoff * 2 ** (attempt - 1))
        finally:
            with self._cond:
                self._log.append(
                    {
                        "url": url,
                        "n_reports": len(reports),
                        "attempts": attempt,
                        "http_status": status,
                        "error": error,
                        "delivered": delivered,
                    }
                )
                self._pending -= len(reports)
                self._cond.notify_all()

    def _headers(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        if self._push_ak is None or self._push_sk is None:
            return {"Content-Type": content_type}
        headers = {
            "Connection": "keep-alive",
            "Content-Length": str(len(body)),
            "Content-Type": content_type,
            "Host": urlsplit(url).netloc,
            "X-Sdk-Date": datetime.now(UTC).strftime(SDK_DATE_FORMAT),
        }
        headers["Authorization"] = aksk_authorization(
            "POST", url, headers, body, key=self._push_ak, secret=self._push_sk
        )
        return headers
