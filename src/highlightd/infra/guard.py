"""The boundary around one unit of work (a line, a command, an answer, a send, a callback).

A failure inside is logged once, with its context and traceback, and the
caller goes on with the next unit: one bad item never ends the daemon. Only
cancellation (a BaseException) passes, and whatever the caller retries itself
(`passes`, e.g. a Redis outage its own loop backs off from).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class guard:  # a lower-case name: it reads like `with open(...)`
    """`with` or `async with`: log an exception from the block with context, and swallow it."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *args: object,
        passes: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._log = logger
        self._what = what
        self._args = args
        self._passes = passes
        self.failed = False

    def __enter__(self) -> guard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, self._passes):
            return False
        self.failed = True
        self._log.error(
            self._what + " failed; going on with the next (%s: %s)",
            *self._args,
            type(exc).__name__,
            exc,
            exc_info=(type(exc), exc, tb),
        )
        return True

    async def __aenter__(self) -> guard:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self.__exit__(exc_type, exc, tb)


async def guarded(
    work: Awaitable[T],
    logger: logging.Logger,
    what: str,
    *args: object,
    passes: tuple[type[BaseException], ...] = (),
) -> T | None:
    """Await one unit of work inside a guard: its result, or None when it failed.

    Await it where it is made. For a task, guard inside the task's own coroutine:
    a task cancelled before it starts would never await `work` (a warning).
    """
    with guard(logger, what, *args, passes=passes):
        return await work
    return None
