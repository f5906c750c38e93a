"""--log-level and --log-format: our loggers at the level asked, libraries at WARNING."""

from __future__ import annotations

import io
import json
import logging

import pytest

from highlightd.infra.logs import LIBRARIES, LogSpec, LogSpecError, parse_level, setup


@pytest.mark.parametrize(
    ("text", "level", "libraries"),
    [
        ("debug", logging.DEBUG, ()),
        ("DEBUG", logging.DEBUG, ()),
        ("Info", logging.INFO, ()),
        ("warning", logging.WARNING, ()),
        ("error", logging.ERROR, ()),
        ("debug:pydle", logging.DEBUG, ("pydle",)),
        ("debug:pydle,redis", logging.DEBUG, ("pydle", "redis")),
        ("DEBUG:ALL", logging.DEBUG, LIBRARIES),
    ],
)
def test_parse_level(text: str, level: int, libraries: tuple[str, ...]) -> None:
    assert parse_level(text) == LogSpec(level, libraries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("verbose", "unknown log level"), ("debug:nosuchlib", "unknown library 'nosuchlib'")],
)
def test_parse_level_refuses(text: str, expected: str) -> None:
    with pytest.raises(LogSpecError, match=expected):
        parse_level(text)


@pytest.mark.usefixtures("saved_logging")
def test_debug_is_ours_only() -> None:
    setup(parse_level("debug"), stream=io.StringIO())
    assert logging.getLogger("highlightd.irc.notifier").isEnabledFor(logging.DEBUG)
    for library in ("aiosqlite", "redis", "aiohttp", "twilio"):
        logger = logging.getLogger(f"{library}.sub")
        assert not logger.isEnabledFor(logging.INFO), library
        assert logger.isEnabledFor(logging.WARNING), library


@pytest.mark.usefixtures("saved_logging")
def test_named_library_logs_at_the_level() -> None:
    setup(parse_level("debug:redis"), stream=io.StringIO())
    assert logging.getLogger("redis.connection").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)


@pytest.mark.usefixtures("saved_logging")
def test_json_format_is_one_object_per_line() -> None:
    stream = io.StringIO()
    setup(parse_level("info"), "json", stream=stream)
    log = logging.getLogger("highlightd.test")
    log.info("SMS %s to %s", "SM1", "+1•••••0001")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info"
    assert first["logger"] == "highlightd.test"
    assert first["message"] == "SMS SM1 to +1•••••0001"
    assert first["time"].endswith("+00:00")
    assert "ValueError: boom" in second["exception"]


@pytest.mark.usefixtures("saved_logging")
def test_setup_twice_keeps_one_handler_of_ours() -> None:
    setup(parse_level("info"), stream=io.StringIO())
    setup(parse_level("info"), stream=io.StringIO())
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "highlightd"]
    assert len(ours) == 1
