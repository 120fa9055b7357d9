"""Pure retry decisions: retry only when nothing can have been sent.

A refusal that sent nothing (connection refused, HTTP 429/5xx without an error code, a code the
catalog marks retryable) is retried with exponential backoff and full jitter. A request that may
have reached the platform (connection lost after the body was written, read timeout) is never
retried here: its recipients' outcome is *unknown*, and re-sending could message them twice.
"""

from __future__ import annotations

import random

__all__ = ["backoff", "should_retry"]


def should_retry(status: int | None, error: str | None, written: bool, *, retryable_code: bool = False) -> bool:
    """Whether a failed attempt may be repeated without risk of a duplicate message.

    ``status`` is the HTTP status (``None`` without an answer), ``error`` the platform code if the
    body had one, ``written`` whether the request may have reached the server, and
    ``retryable_code`` the catalog's verdict for ``error``.
    """
    if status is None:
        return not written
    if error:
        return retryable_code
    return status == 429 or status >= 500


def backoff(attempt: int, rng: random.Random, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): full jitter on ``base * 2**attempt``."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))
