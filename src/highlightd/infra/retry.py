"""Retrying passing failures: a doubling, capped delay, logged once per state change."""

from __future__ import annotations

import asyncio
import logging
import time


class Backoff:
    """Tracks one service's up/down state; says so in the log only when it changes."""

    def __init__(
        self, what: str, logger: logging.Logger, initial: float = 0.5, cap: float = 30.0
    ) -> None:
        self.what = what
        self._log = logger
        self._initial = initial
        self._cap = cap
        self._delay = initial
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, reason: object) -> float:
        """Record a failure; return how long to wait before the next try."""
        delay = self._delay
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._log.warning(
                "%s unavailable (%s); retrying in %.1f s, doubling up to %.0f s",
                self.what,
                reason,
                delay,
                self._cap,
            )
        else:
            self._log.debug(
                "%s still unavailable (%s); next try in %.1f s", self.what, reason, delay
            )
        self._delay = min(self._delay * 2, self._cap)
        return delay

    def succeeded(self) -> None:
        if self._down_since is not None:
            self._log.info(
                "%s is back after %.1f s", self.what, time.monotonic() - self._down_since
            )
        self._down_since = None
        self._delay = self._initial

    async def wait(self, reason: object) -> None:
        """Sleep before the next try; a cancellation that the failure swallowed goes on."""
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # A library turned our cancellation into its own error (redis-py can make
            # a TimeoutError of it): retrying would keep a stopping daemon alive.
            raise asyncio.CancelledError
        await asyncio.sleep(self.failed(reason))
