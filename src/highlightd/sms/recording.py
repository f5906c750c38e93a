"""Recording the SMS Twilio accepted: those of a moment in one commit.

Each SMS sent was its own commit (one job on the database's thread, one fsync),
after the request: half of the database work per mention. The record is not what
makes the send safe (the outbox row, committed "sending" before the request, is:
a process stopped before the record looks the SMS up in Twilio's list and finds
it), so the records of LINGER seconds go in one commit. Each caller still returns
only once its record is committed, so its phone stays busy until then and the
next SMS to it never sees the row "sending" by mistake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from highlightd.core.records import OutgoingSms
from highlightd.store import Store
from highlightd.store.sentrecords import Accepted

LINGER = 0.05  # seconds: at 100 SMS/s, about five records per commit

_Waiting = tuple[Accepted, "asyncio.Future[None]"]


class SentRecorder:
    """Gathers sent SMS for LINGER seconds, then records them in one commit."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: list[_Waiting] = []
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
            batch: list[_Waiting] = []
            try:
                await asyncio.sleep(LINGER)
                batch, self._waiting = self._waiting, []
                outcomes = await self._store.outgoing.sent_many([r for r, _done in batch])
            except Exception as exc:
                # Not recorded: each row stays "sending", looked up in Twilio's list later.
                _settle(batch, [exc] * len(batch))
                continue
            except BaseException as exc:  # stopped: these, and the rest with them
                batch, self._waiting = batch + self._waiting, []
                _settle(batch, [RuntimeError(f"not recorded: {exc!r}")] * len(batch))
                raise
            _settle(batch, outcomes)  # a failure is one record's alone (its user removed)


def _settle(batch: list[_Waiting], outcomes: Sequence[Exception | None]) -> None:
    for (_record, done), failure in zip(batch, outcomes, strict=True):
        if done.done():
            continue
        if failure is None:
            done.set_result(None)
        else:
            done.set_exception(failure)


def _seen(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()
