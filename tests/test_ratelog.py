"""ThrottledLog: the first event at once, then at most one line an interval, with the count."""

from __future__ import annotations

import logging

import pytest

from highlightd.infra.ratelog import ThrottledLog

LOGGER = "highlightd.test.ratelog"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttled(clock: FakeClock) -> ThrottledLog:
    return ThrottledLog(logging.getLogger(LOGGER), "request(s) refused", 60.0, clock)


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_first_event_is_logged_at_once(
    throttled: ThrottledLog, caplog: pytest.LogCaptureFixture
) -> None:
    throttled.note("bad_signature", "bad signature from 192.0.2.1")
    assert lines(caplog) == [
        "1 request(s) refused (bad_signature 1); latest: bad signature from 192.0.2.1;"
        " more are summed up here at most every 60 s"
    ]
    assert caplog.records[0].levelno == logging.WARNING


def test_a_flood_within_the_interval_is_one_line_then_one_summary(
    throttled: ThrottledLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(20_000):
        clock.now = 1000.0 + n * 0.0005  # 20,000 in 10 s
        throttled.note("bad_signature" if n % 4 else "bad_field", f"#{n}")
    assert len(lines(caplog)) == 1
    throttled.flush()  # not yet a minute since the first line
    assert len(lines(caplog)) == 1
    clock.now = 1060.0
    throttled.flush()
    assert lines(caplog)[1] == (
        "19999 request(s) refused in the last 60 s (bad_signature 15000, bad_field 4999);"
        " latest: #19999"
    )
    throttled.flush()
    clock.now = 2000.0
    throttled.flush()  # nothing new: nothing said
    assert len(lines(caplog)) == 2


def test_an_event_after_the_interval_is_logged_with_what_waited(
    throttled: ThrottledLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    throttled.note("no_signature", "a")
    clock.now += 30
    throttled.note("no_signature", "b")
    clock.now += 31
    throttled.note("too_large", "c")
    assert lines(caplog)[1] == (
        "2 request(s) refused in the last 61 s (no_signature 1, too_large 1); latest: c"
    )


def test_forced_flush_says_the_rest(
    throttled: ThrottledLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    throttled.note("bad_signature", "a")
    throttled.note("bad_signature", "b")
    clock.now += 1
    throttled.flush(force=True)
    assert lines(caplog)[1].startswith("1 request(s) refused in the last 1 s (bad_signature 1)")
