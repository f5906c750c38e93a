from __future__ import annotations

import pytest

from highlightd.core.ratelimit import TokenBucket


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def drain(bucket: TokenBucket) -> int:
    """Take every token available now; return how many there were."""
    taken = 0
    while bucket.delay() == 0:
        bucket.take()
        taken += 1
        assert taken <= 1000, "bucket never ran dry"
    return taken


def test_burst_is_available_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, 1.0, clock)
    assert drain(bucket) == 5
    assert bucket.delay() == pytest.approx(1.0)


@pytest.mark.parametrize(("rate", "expected"), [(1.0, 1.0), (2.0, 0.5), (10.0, 0.1), (0.25, 4.0)])
def test_delay_after_burst_is_one_over_rate(rate: float, expected: float) -> None:
    clock = FakeClock()
    bucket = TokenBucket(3, rate, clock)
    assert drain(bucket) == 3
    assert bucket.delay() == pytest.approx(expected)


def test_delay_shrinks_as_time_passes() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, 0.5, clock)
    bucket.take()
    assert bucket.delay() == pytest.approx(2.0)
    clock.advance(0.5)
    assert bucket.delay() == pytest.approx(1.5)
    clock.advance(1.5)
    assert bucket.delay() == 0
    bucket.take()
    assert bucket.delay() == pytest.approx(2.0)


def test_one_token_per_interval_after_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, 4.0, clock)
    assert drain(bucket) == 2
    for _ in range(10):
        clock.advance(bucket.delay())
        assert drain(bucket) == 1


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4, 1.0, clock)
    assert drain(bucket) == 4
    clock.advance(3600)
    assert drain(bucket) == 4


def test_partial_refill() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 2.0, clock)
    assert drain(bucket) == 10
    clock.advance(1.75)  # 3.5 tokens
    assert drain(bucket) == 3
    assert bucket.delay() == pytest.approx(0.25)


def test_fractional_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, 0.1, clock)
    bucket.take()
    assert bucket.delay() == pytest.approx(10.0)
    clock.advance(9.9)
    assert bucket.delay() == pytest.approx(0.1)
    assert bucket.delay() > 0
    clock.advance(0.1)
    assert bucket.delay() == pytest.approx(0, abs=1e-9)


def test_idle_time_before_first_use_does_not_exceed_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, 1.0, clock)
    clock.advance(100)
    assert drain(bucket) == 2


def test_clock_is_read_only_through_the_injected_callable() -> None:
    calls = 0

    def clock() -> float:
        nonlocal calls
        calls += 1
        return 5.0

    bucket = TokenBucket(1, 1.0, clock)
    bucket.delay()
    bucket.take()
    assert calls >= 3


@pytest.mark.parametrize(("burst", "rate"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -0.5), (0, 0.0)])
def test_invalid_arguments(burst: int, rate: float) -> None:
    with pytest.raises(ValueError, match="burst >= 1 and rate > 0"):
        TokenBucket(burst, rate, FakeClock())
