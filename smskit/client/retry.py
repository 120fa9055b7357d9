"""Pure retry decisions: retry only when nothing can have been sent.

Two questions, each answered here and nowhere else:

* :func:`may_have_reached` — could a request that failed without an answer have been processed?
* :func:`should_retry` — may this attempt be repeated without risking a second message?

A refusal that sent nothing (connection refused, HTTP 429/5xx without an error code, a code the
catalog marks retryable) is retried with exponential backoff and full jitter (:func:`backoff`). A
request that may have reached the platform (connection lost after the body was written, read
timeout) is never retried here: its recipients' outcome is *unknown*, and re-sending could message
them twice.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Iterator

import requests
import urllib3.exceptions

__all__ = ["backoff", "may_have_reached", "should_retry"]

#: Raised before a single byte of the request was written (see :func:`may_have_reached`).
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.ConnectTimeoutError,  # includes NewConnectionError and NameResolutionError
    urllib3.exceptions.ProxyError,  # urllib3 raises it only before the proxy was connected
    requests.exceptions.ConnectTimeout,
    requests.exceptions.ProxyError,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    ssl.SSLCertVerificationError,  # the certificate check is part of the handshake
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: ``reason`` (urllib3), exception ``args`` (requests), causes."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        wrapped = [reason, *current.args, current.__cause__, current.__context__]
        todo.extend(e for e in wrapped if isinstance(e, BaseException))


def may_have_reached(exc: BaseException) -> bool:
    """Whether a request that failed with ``exc`` (no HTTP answer) could have been processed.

    The assumption, as in urllib3's ``Retry._is_connection_error`` / ``_is_read_error``: an error
    raised while the connection was being made — name resolution (``NameResolutionError``), the TCP
    connect (``NewConnectionError``, ``ConnectTimeoutError``, ``requests.ConnectTimeout``), reaching
    a proxy (``ProxyError``), the TLS certificate check (``ssl.SSLCertVerificationError``), or a URL
    that could not be used at all — happened before any byte of the request was written, so the
    server cannot have seen it (``False``). Everything else — a reset or a read timeout after the
    body was written, a TLS error other than certificate verification (it may come after the
    handshake, while the answer is read), an error this function does not recognise — may have
    reached the platform (``True``): re-sending could duplicate.

    Decided by ``isinstance`` on the exception and everything it wraps (``reason``, ``args``,
    ``__cause__``), never by class names.
    """
    return not any(isinstance(cause, _NOT_SENT_ERRORS) for cause in _causes(exc))


def should_retry(status: int | None, error: str | None, written: bool, *, retryable_code: bool = False) -> bool:
    """Whether a failed attempt may be repeated without risk of a duplicate message.

    ``status`` is the HTTP status (``None`` without an answer), ``error`` the platform code if the
    body had one (``000000`` or ``E000510`` when it succeeded), ``written`` whether the request may
    have reached the server (:func:`may_have_reached`), and ``retryable_code`` the catalog's verdict
    for ``error``.
    """
    if status is None:
        return not written
    if error:
        return retryable_code
    return status == 429 or status >= 500


def backoff(attempt: int, rng: random.Random, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): full jitter on ``base * 2**attempt``."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))
