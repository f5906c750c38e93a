"""The accepting side's outbox: SMS answers stored in SQLite, moved onto the bus."""

from __future__ import annotations

import asyncio
import logging

from highlightd.infra.bus import REDIS_DOWN, Bus
from highlightd.infra.guard import guarded
from highlightd.infra.retry import Backoff
from highlightd.store import Store

log = logging.getLogger(__name__)


class Outbox:
    """Moves accepted SMS from SQLite to the bus; a Redis outage only delays them."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self._store = store
        self._bus = bus
        self._wake = asyncio.Event()
        self._backoff = Backoff("redis (outbox)", log)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                moved = await guarded(self._flush(), log, "outbox flush", passes=REDIS_DOWN)
            except REDIS_DOWN as exc:
                await self._backoff.wait(exc)
                continue
            self._backoff.succeeded()
            if moved:
                log.debug("outbox: %d SMS put on the bus", moved)
            # A periodic sweep as well: a webhook in another process may have stored some.
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=5.0)
            except TimeoutError:
                pass

    async def _flush(self) -> int:
        moved = 0
        while batch := await self._store.received.unforwarded():
            for sms in batch:
                await self._bus.publish(sms)
                await self._store.received.mark_forwarded(sms.sid)
                moved += 1
        return moved
