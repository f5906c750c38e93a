"""The accepting side's outbox: SMS answers kept in SQLite until the IRC side confirms them.

Redis may lose an answer after it went on the bus (no persistence, a restart, its
data flushed); the IRC side may be gone. So an answer leaves the outbox only when
the IRC side confirms it (said, or bounced to its sender), and goes on the bus
again when it may have been lost: at once when Redis is another one (a new run
id, or its data gone), else after `relay.republish_after` seconds. The IRC side
remembers what it did with each MessageSid, so a copy is never said twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from functools import partial

from highlightd.core.records import IncomingSms, OutboxEntry
from highlightd.infra.bus import REDIS_DOWN, Bus
from highlightd.infra.retry import Backoff
from highlightd.store import Store

log = logging.getLogger(__name__)

# How often the outbox looks for confirmations and for a Redis that lost its data.
SWEEP_INTERVAL = 1.0
PAGE = 500


class Outbox:
    """Moves accepted SMS from SQLite to the bus until they are confirmed.

    Two tasks. The publisher puts an answer the webhook just stored, handed over in
    memory, on the bus at once, with whatever else came meanwhile (one round trip);
    it never waits for the sweep. The sweep, once a SWEEP_INTERVAL, marks what the
    publisher put on the bus as published (one write), then goes through the whole
    outbox: confirmations, answers another process stored, and re-publication. It
    leaves alone what was handed over and not marked yet: the publisher's. A stop
    before that mark puts those answers on the bus again at the next start: copies,
    which the IRC side confirms without saying them.
    """

    def __init__(self, store: Store, bus: Bus, republish_after: float) -> None:
        self._store = store
        self._bus = bus
        self._republish_after = republish_after
        self._wake = asyncio.Event()  # the publisher's: answers handed over
        self._sweep_now = asyncio.Event()
        # Set while the last sweep went through: the publisher publishes only then
        # (in an outage the sweep, backing off, owns every answer).
        self._bus_ok = asyncio.Event()
        self._backoff = Backoff("redis (outbox)", log)
        self._epoch = ""
        self._fresh: list[IncomingSms] = []
        # Handed over and not marked published yet: the sweep leaves them alone.
        self._handed: set[str] = set()
        # Put on the bus, not marked so yet: (sids, epoch, when).
        self._unmarked: list[tuple[list[str], str, float]] = []

    def accepted(self, sms: IncomingSms) -> None:
        """An answer committed to the outbox just now: on the bus as soon as can be."""
        self._fresh.append(sms)
        self._handed.add(sms.sid)
        self._wake.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._publish_forever())
            await self._sweep_forever()

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            await self._bus_ok.wait()
            self._wake.clear()
            fresh, self._fresh = self._fresh, []
            epoch = self._epoch
            try:
                await self._bus.publish_many(fresh)
            except Exception as exc:
                if not isinstance(exc, REDIS_DOWN):
                    log.exception("outbox: publishing %d answer(s) failed", len(fresh))
                # The rows stay in the outbox: the sweep (now) puts them on the bus.
                self._bus_ok.clear()
                self._handed.difference_update(sms.sid for sms in fresh)
                self._sweep_now.set()
            else:
                self._unmarked.append(([sms.sid for sms in fresh], epoch, time.time()))

    async def _sweep_forever(self) -> None:
        while True:
            self._sweep_now.clear()
            try:
                await self._sweep()
            except REDIS_DOWN as exc:
                self._bus_ok.clear()  # the rows stay: the next sweep finds them
                await self._backoff.wait(exc)
                continue
            except Exception:
                # The rows stay in the outbox: the next sweep tries again.
                log.exception("outbox: sweep failed")
            else:
                self._backoff.succeeded()
                self._bus_ok.set()
            # Each SWEEP_INTERVAL: confirmations come from the IRC side, and a webhook
            # in another process may have stored some.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SWEEP_INTERVAL):
                    await self._sweep_now.wait()

    async def _mark_published(self) -> None:
        """What went on the bus since the last sweep, marked so: one write per epoch."""
        while self._unmarked:
            _, epoch, at = self._unmarked[0]
            same = list(itertools.takewhile(partial(_of_epoch, epoch), self._unmarked))
            sids = [sid for batch, _, _ in same for sid in batch]
            # As of the first batch: a re-publication may come one sweep early, not late.
            await self._store.received.published(sids, epoch, at)
            del self._unmarked[: len(same)]  # the publisher only appends meanwhile
            self._handed.difference_update(sids)

    async def _sweep(self) -> None:
        await self._mark_published()
        epoch = await self._bus.epoch()
        if self._epoch and epoch != self._epoch:
            log.warning("redis restarted or lost its data: unconfirmed answers go on the bus again")
        self._epoch = epoch
        now = time.time()
        confirmed = published = 0
        after = (float("-inf"), "")
        # What is stored while it goes is the next sweep's: under a steady stream of
        # answers it would otherwise chase them, a short page and a round trip each.
        upto = await self._store.received.newest()
        while page := await self._store.received.outbox(after, PAGE, upto):
            after = (page[-1].sms.received_at, page[-1].sms.sid)
            done = await self._bus.confirmed([entry.sms.sid for entry in page])
            if done:
                await self._store.received.confirm(list(done))
                confirmed += len(done)
            # What was handed over is the publisher's until it is marked published.
            due = [
                e.sms
                for e in page
                if e.sms.sid not in done
                and e.sms.sid not in self._handed
                and self._due(e, epoch, now)
            ]
            if due:
                await self._bus.publish_many(due)
                await self._store.received.published([sms.sid for sms in due], epoch)
                published += len(due)
        if confirmed or published:
            log.debug("outbox: %d answer(s) confirmed, %d put on the bus", confirmed, published)

    def _due(self, entry: OutboxEntry, epoch: str, now: float) -> bool:
        """Whether the bus may not hold this answer (any more)."""
        if entry.published_at is None or entry.epoch != epoch:
            return True
        if now - entry.published_at >= self._republish_after:
            log.info(
                "answer %s unconfirmed %.0f s after it went on the bus; again",
                entry.sms.sid,
                now - entry.published_at,
            )
            return True
        return False


def _of_epoch(epoch: str, unmarked: tuple[list[str], str, float]) -> bool:
    return unmarked[1] == epoch
