"""Recording the SMS Twilio accepted: those of a moment in one write.

Each SMS sent was its own commit (one job on the database's thread, one fsync),
after the request: half of the database work per mention. The record is not what
makes the send safe (the outbox row, committed "sending" before the request, is:
a process stopped before the record looks the SMS up in Twilio's list and finds
it), so the records of LINGER seconds go in one write. Each caller still returns
only once its record is committed, so its phone stays busy until then and the
next SMS to it never sees the row "sending" by mistake.
"""

from __future__ import annotations

import asyncio

from highlightd.core.records import OutgoingSms
from highlightd.store import Store

LINGER = 0.05  # seconds: at 100 SMS/s, about five records per commit

_Record = tuple[OutgoingSms, str, str, float]


class SentRecorder:
    """Gathers sent SMS for LINGER seconds, then records them in one write."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: list[tuple[_Record, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, sms: OutgoingSms, sid: str, status: str, at: float) -> None:
        """In store.sent and off the outbox; returns once committed (or raises why not)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        done.add_done_callback(_seen)  # a caller cancelled meanwhile (a stop) need not hear
        self._waiting.append(((sms, sid, status, at), done))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        # Shielded: a caller that stops waiting leaves its record in the write.
        await asyncio.shield(done)

    async def idle(self) -> None:
        """Wait until every record asked for so far is written (or failed): before closing."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    async def _flush(self) -> None:
        while self._waiting:
            batch: list[tuple[_Record, asyncio.Future[None]]] = []
            try:
                await asyncio.sleep(LINGER)
                batch, self._waiting = self._waiting, []
                await self._store.outgoing.sent_many([record for record, _done in batch])
            except BaseException as exc:
                # Not recorded: each row stays "sending", looked up in Twilio's list later.
                failure = (
                    exc if isinstance(exc, Exception) else RuntimeError(f"not recorded: {exc!r}")
                )
                stopped = not isinstance(exc, Exception)  # and the rest with it
                if stopped:
                    batch, self._waiting = batch + self._waiting, []
                for _record, done in batch:
                    if not done.done():
                        done.set_exception(failure)
                if stopped:
                    raise
                continue
            for _record, done in batch:
                if not done.done():
                    done.set_result(None)


def _seen(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()
