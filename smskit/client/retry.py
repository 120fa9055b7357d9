"""Pure retry decisions: retry only when nothing can have been sent.

Three questions, each answered here and nowhere else:

* :func:`may_have_reached` — could a request that failed without an answer have been processed?
* :func:`may_have_processed` — could an answer without a documented code follow processing?
* :func:`should_retry` — may this attempt be repeated without risking a second message?
  (and :func:`retry_delay` — how long to wait first).

The policy, for every way an attempt can end (the last column is ``send_campaign``'s row state):

==================================================  ===========  ==============  =================
outcome of one attempt                              processed?   repeated here?  rows, if it stays
==================================================  ===========  ==============  =================
nothing written: connection refused, DNS, proxy     no           yes, backoff    ``unsent`` (1)
unreachable, TLS certificate, connect timeout
HTTP 429 or 503, no documented code                 no (2)       yes (3)         ``unsent`` (1)
HTTP 500, 502, 504, other 5xx, no documented code   maybe (4)    never           ``unknown`` (5)
no answer after the body was written (reset, read   maybe        never           ``unknown`` (5)
timeout, a TLS error other than the certificate)
HTTP 2xx, no documented code                        maybe        never           ``unknown`` (5)
HTTP 3xx/4xx other than 429, no documented code     no           never           ``rejected`` (6)
a documented code in the body, any HTTP status      by the code  if retryable    by the code (7)
==================================================  ===========  ==============  =================

(1) pending in the ledger: a re-run with the same ledger sends them. (2) refused before
processing. (3) waiting what ``Retry-After`` asks (seconds or an HTTP-date, at most
:data:`RETRY_AFTER_CAP` s), else exponential backoff with full jitter (:func:`backoff`). (4) a
gateway in front of the platform may answer after the platform processed the request. (5) never
re-sent automatically: status reports carrying the request's ``extend`` and ``to`` settle them
(:func:`smskit.delivery_funnel`), or ``resend_unknown=True`` re-sends them at the risk of a
duplicate. (6) the request stays pending and the run stops (every later call would be refused
alike). (7) success or partial success: each number's own status; an error code: ``rejected`` with
it (auth, permission and quota codes stop the run), repeated only when the catalog marks it
retryable.

A code is *documented* when :func:`smskit.codes.catalog` lists it; an undocumented code falls back to
the HTTP status rule, so a 503 whose body has an unknown code is refused-before-processing, never
``rejected``.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache

import requests
import urllib3.exceptions

from smskit import codes

__all__ = [
    "REFUSED_BEFORE_PROCESSING",
    "RETRY_AFTER_CAP",
    "backoff",
    "is_documented",
    "may_have_processed",
    "may_have_reached",
    "retry_after",
    "retry_delay",
    "should_retry",
]

#: The longest ``Retry-After`` wait honoured, in seconds (a longer ask is shortened to this).
RETRY_AFTER_CAP = 60.0
#: HTTP statuses that mean "refused before processing" (429: RFC 6585 §4; 503: RFC 9110 §15.6.4).
REFUSED_BEFORE_PROCESSING = (429, 503)

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


@cache
def _catalog_codes() -> frozenset[str]:
    return frozenset(codes.catalog()["code"].str.upper())


def is_documented(code: str | None) -> bool:
    """Whether ``code`` is in the platform's documented catalog (:func:`smskit.codes.catalog`)."""
    return bool(code) and str(code).strip().upper() in _catalog_codes()


def may_have_processed(status: int) -> bool:
    """Whether an HTTP answer without a documented code could come after the platform processed the request.

    ``False`` for 429 and 503 (refused before processing) and for 3xx/4xx (refused); ``True`` for any
    other 5xx (a gateway may time out or fail after forwarding) and for 2xx (it was answered, but
    not in a way that says what happened).
    """
    if status in REFUSED_BEFORE_PROCESSING:
        return False
    return not 300 <= status < 500


def should_retry(status: int | None, error: str | None, written: bool, *, retryable_code: bool = False) -> bool:
    """Whether a failed attempt may be repeated without risk of a duplicate message (the table above).

    ``status`` is the HTTP status (``None`` without an answer), ``error`` the code in the body if it
    had one (``000000`` or ``E000510`` when it succeeded), ``written`` whether the request may have
    reached the server (:func:`may_have_reached`), and ``retryable_code`` the catalog's verdict for
    ``error``. A documented code decides by the catalog; without one, only "nothing written" and
    429/503 are repeated.
    """
    if is_documented(error):
        return retryable_code
    if status is None:
        return not written
    return status in REFUSED_BEFORE_PROCESSING


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP-date), ``None`` if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    attempt: int, rng: random.Random, *, retry_after_s: float | None = None, cap: float = RETRY_AFTER_CAP
) -> float:
    """Seconds to wait before retry number ``attempt``: the server's ``Retry-After`` (capped), else :func:`backoff`."""
    if retry_after_s is not None:
        return min(cap, max(0.0, retry_after_s))
    return backoff(attempt, rng)


def backoff(attempt: int, rng: random.Random, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): full jitter on ``base * 2**attempt``."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))
