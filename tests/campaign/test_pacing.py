"""Pacing: the virtual-time bucket never exceeds the rate and shares one budget across threads."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smskit.campaign.pacing import TokenBucket, schedule


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@given(sizes=st.lists(st.integers(1, 500), min_size=1, max_size=60), rate=st.floats(1, 5000))
def test_schedule_never_exceeds_rate(sizes, rate) -> None:
    times = schedule(sizes, rate)
    sent = 0
    for size, t in zip(sizes, times, strict=True):
        sent += size
        assert sent <= rate * t + 1e-6  # by each start, no more than rate * elapsed numbers
    assert times[-1] == pytest.approx(sum(sizes) / rate)


def test_bucket_starts_empty_and_paces() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2000, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire(500) for _ in range(40)]
    assert waits[0] == pytest.approx(0.25)
    assert clock.now == pytest.approx(20000 / 2000)


def test_idle_time_is_not_banked_as_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, clock=clock, sleep=clock.sleep)
    bucket.acquire(100)
    clock.now += 60  # a long idle gap
    assert bucket.acquire(100) == pytest.approx(1.0)


def test_unpaced_never_waits() -> None:
    clock = FakeClock()
    bucket = TokenBucket(None, clock=clock, sleep=clock.sleep)
    assert sum(bucket.acquire(500) for _ in range(100)) == 0
    assert clock.now == 0


def test_threads_share_the_budget() -> None:
    bucket = TokenBucket(10_000)
    slots: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            slot = bucket.reserve(100)
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(g >= 100 / 10_000 - 1e-9 for g in gaps)


def test_bad_rate_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
