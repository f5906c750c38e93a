from __future__ import annotations

import asyncio
import logging

import pytest

from highlightd.infra.retry import Backoff

LOGGER = "highlightd.test_retry"


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    return logging.getLogger(LOGGER)


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def test_first_failure_logs_one_warning_with_the_delay(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("redis", log, initial=0.5, cap=30.0)
    assert not backoff.down
    assert backoff.failed(ConnectionRefusedError("refused")) == 0.5
    assert backoff.down
    assert records(caplog, logging.WARNING) == [
        "redis unavailable (refused); retrying in 0.5 s, doubling up to 30 s"
    ]


def test_repeated_failures_do_not_warn_again(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("irc libera", log, initial=1.0, cap=8.0)
    for _ in range(6):
        backoff.failed("timeout")
    assert len(records(caplog, logging.WARNING)) == 1
    debug = records(caplog, logging.DEBUG)
    assert len(debug) == 5
    assert debug[0] == "irc libera still unavailable (timeout); next try in 2.0 s"
    assert debug[-1] == "irc libera still unavailable (timeout); next try in 8.0 s"
    assert records(caplog, logging.INFO) == []


def test_success_after_failure_logs_one_info(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("redis", log)
    backoff.failed("down")
    backoff.failed("down")
    backoff.succeeded()
    assert not backoff.down
    info = records(caplog, logging.INFO)
    assert len(info) == 1
    assert info[0].startswith("redis is back after ")
    assert info[0].endswith(" s")
    # Staying up is silent.
    backoff.succeeded()
    backoff.succeeded()
    assert len(records(caplog, logging.INFO)) == 1


def test_success_without_failure_is_silent(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("redis", log)
    backoff.succeeded()
    assert not backoff.down
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_delays_double_up_to_the_cap() -> None:
    backoff = Backoff("x", logging.getLogger(LOGGER), initial=0.5, cap=30.0)
    delays = [backoff.failed("e") for _ in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_cap_below_a_doubling_is_reached_exactly() -> None:
    backoff = Backoff("x", logging.getLogger(LOGGER), initial=3.0, cap=10.0)
    assert [backoff.failed("e") for _ in range(4)] == [3.0, 6.0, 10.0, 10.0]


def test_success_resets_the_delay_and_the_next_failure_warns_again(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("redis", log, initial=0.5, cap=30.0)
    for _ in range(4):
        backoff.failed("e")
    backoff.succeeded()
    assert backoff.failed("again") == 0.5
    assert backoff.failed("again") == 1.0
    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == 2
    assert warnings[1] == "redis unavailable (again); retrying in 0.5 s, doubling up to 30 s"


async def test_wait_records_the_failure(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("redis", log, initial=0.0, cap=0.0)
    await backoff.wait("refused")
    assert backoff.down
    assert len(records(caplog, logging.WARNING)) == 1


async def test_wait_goes_on_with_a_swallowed_cancellation(
    caplog: pytest.LogCaptureFixture, log: logging.Logger
) -> None:
    backoff = Backoff("redis", log, initial=0.0, cap=0.0)

    async def service() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass  # what a library that turns cancellation into its own error does
        await backoff.wait("timeout")

    task = asyncio.create_task(service())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not backoff.down
    assert records(caplog, logging.WARNING) == []
