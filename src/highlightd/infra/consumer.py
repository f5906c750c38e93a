"""The IRC side of the bus: one consumer in the stream's group.

It re-reads what it had taken when it stopped, takes over what a consumer that is
gone left behind (XAUTOCLAIM), and when an answer is done, confirms it to the
accepting side and acknowledges the entry in one go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from highlightd.infra.bus import (
    BLOCK_MS,
    GROUP,
    SAID_PREFIX,
    SAID_TTL,
    STREAM,
    Reply,
    keeps_cancellation,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Each answer's confirmation, then XACK of their entries: one command, one reply
# (a MULTI of SETs and an XACK cost redis-py three times as much). No rollback: a
# SET whose XACK failed leaves its entry pending, claimed again, found in the
# store, confirmed again. KEYS: the stream, then the said keys; ARGV: the TTL, the
# group, the outcomes, then the entry ids.
CONFIRM = """
local n = #KEYS - 1
for i = 1, n do
  redis.call('SET', KEYS[i + 1], ARGV[i + 2], 'EX', ARGV[1])
end
return redis.call('XACK', KEYS[1], ARGV[2], unpack(ARGV, n + 3, 2 * n + 2))
"""
# Answers per confirming command (Lua's unpack has a limit near 8,000 values).
CONFIRM_BATCH = 500


class Consumer:
    """Typed group operations under one consumer name; no retry here, callers own loops."""

    def __init__(self, client: aioredis.Redis, name: str) -> None:
        self.client = client
        self.name = name
        self._group_ready = False
        self._confirming: list[tuple[Reply, str, asyncio.Future[None]]] = []
        self._confirmer: asyncio.Task[None] | None = None
        self._confirm_script = client.register_script(CONFIRM)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From the start of the stream: a stream that outlived its group (or was made
            # by the accepting side's XADD after Redis lost its data) is read whole.
            await self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _in_group(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a group command; when the group is gone (Redis lost its data), make it again."""
        await self._ensure_group()
        try:
            return await call()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        log.info("the stream's consumer group is gone (redis lost its data); making it again")
        self._group_ready = False
        await self._ensure_group()
        return await call()

    @keeps_cancellation
    async def pending(self, after: str = "0", count: int = 100) -> list[Reply]:
        """Entries this consumer took earlier and never acknowledged, after id `after`."""
        return await self._read(after, count, block=None)

    @keeps_cancellation
    async def next(self, count: int = 10, block: float = BLOCK_MS / 1000) -> list[Reply]:
        """New entries, waiting up to `block` seconds (at most BLOCK_MS) for one."""
        return await self._read(">", count, block=max(1, min(BLOCK_MS, int(block * 1000))))

    async def _read(self, start: str, count: int, block: int | None) -> list[Reply]:
        result = await self._in_group(
            lambda: self.client.xreadgroup(
                GROUP, self.name, {STREAM: start}, count=count, block=block
            )
        )
        # RESP2 answers a list of [stream, entries], RESP3 a map of stream to entries.
        streams: Any = result.items() if isinstance(result, dict) else (result or [])
        replies = []
        for _stream, entries in streams:
            replies += await self._replies(entries)
        return replies

    @keeps_cancellation
    async def claim(
        self, min_idle: float, start: str = "0-0", count: int = 100
    ) -> tuple[str, list[Reply]]:
        """Take over entries pending on any consumer for at least min_idle seconds.

        Returns the id to go on from ("0-0" once the whole list was scanned) and the entries.
        """
        result = await self._in_group(
            lambda: self.client.xautoclaim(
                STREAM, GROUP, self.name, int(min_idle * 1000), start_id=start, count=count
            )
        )
        return str(result[0]), await self._replies(result[1])

    async def _replies(self, entries: Iterable[Any]) -> list[Reply]:
        replies = []
        for entry_id, fields in entries:
            reply = _reply(entry_id, fields) if fields else None
            if reply is None:
                # Trimmed away while pending, or not one of ours: nothing to deliver.
                if fields:
                    log.warning("stream entry %s is not an answer; dropped: %r", entry_id, fields)
                await self.client.xack(STREAM, GROUP, entry_id)
                continue
            replies.append(reply)
        return replies

    @keeps_cancellation
    async def ack(self, reply: Reply) -> None:
        """Acknowledge an entry without confirming its answer (a copy of one in hand)."""
        await self.client.xack(STREAM, GROUP, reply.entry_id)

    async def confirm(self, reply: Reply, outcome: str) -> None:
        """Tell the accepting side what became of an answer, and acknowledge its entry.

        Confirmations asked for while one batch is on its way go together in the
        next: one command, one round trip, however many answers finished meanwhile.
        """
        done = asyncio.get_running_loop().create_future()
        done.add_done_callback(_seen)  # a caller cancelled meanwhile (a stop) need not hear
        self._confirming.append((reply, outcome, done))
        if self._confirmer is None or self._confirmer.done():
            self._confirmer = asyncio.create_task(self._send_confirmations())
        await asyncio.shield(done)

    async def _send_confirmations(self) -> None:
        while self._confirming:
            batch = self._confirming[:CONFIRM_BATCH]
            del self._confirming[:CONFIRM_BATCH]
            try:
                await self._confirm_batch([(reply, outcome) for reply, outcome, _ in batch])
            except Exception as exc:
                for _reply, _outcome, done in batch:
                    done.set_exception(exc)
            else:
                for _reply, _outcome, done in batch:
                    done.set_result(None)

    @keeps_cancellation
    async def _confirm_batch(self, batch: list[tuple[Reply, str]]) -> None:
        keys = [STREAM] + [SAID_PREFIX + reply.sid for reply, _ in batch]
        args: list[str | int] = [SAID_TTL, GROUP]
        args += [outcome for _, outcome in batch]
        args += [reply.entry_id for reply, _ in batch]
        try:
            await self._confirm_script(keys, args)
        except ResponseError as exc:
            # The confirmation is written; an entry whose group is gone needs no ack.
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False


def _seen(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _reply(entry_id: str, fields: dict[str, str]) -> Reply | None:
    sid, phone = fields.get("sid", ""), fields.get("phone", "")
    try:
        received_at = float(fields.get("received_at") or 0)
    except ValueError:
        return None
    if not sid or not phone:
        return None
    return Reply(entry_id, sid, phone, fields.get("body", ""), received_at)
