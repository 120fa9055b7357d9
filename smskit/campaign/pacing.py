"""Pacing in numbers per second: a thread-safe virtual-time token bucket.

The bucket starts empty and a request of ``n`` numbers may start once its ``n / rate`` seconds of
tokens have accrued on a virtual timeline shared by all senders. Measured from the campaign's
start, the achieved rate therefore never exceeds ``rate`` (there is no initial burst), and with
enough concurrency to hide latency it stays within a fraction of a percent of it.
:func:`schedule` is the pure core; :class:`TokenBucket` applies it to the clock for concurrent senders.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["TokenBucket", "schedule"]


def schedule(sizes: Sequence[int], rate: float, *, start: float = 0.0) -> list[float]:
    """Start times for requests of ``sizes`` numbers paced at ``rate`` numbers/second."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    times: list[float] = []
    t = start
    for n in sizes:
        t += n / rate
        times.append(t)
    return times


class TokenBucket:
    """Blocks ``acquire(n)`` until ``n`` numbers may be sent at ``rate`` numbers/second.

    ``rate=None`` disables pacing. Slots are handed out in call order, so concurrent threads share
    one budget.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive numbers/second, or None for unpaced")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def reserve(self, n: int) -> float:
        """Reserve a slot for ``n`` numbers; return the clock time at which it may start."""
        with self._lock:
            now = self._clock()
            if self.rate is None:
                return now
            base = now if self._next is None or self._next < now else self._next
            self._next = base + n / self.rate
            return self._next

    def acquire(self, n: int) -> float:
        """Wait for a slot for ``n`` numbers; return how long it waited."""
        start = self.reserve(n)
        wait = start - self._clock()
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)
