"""The Redis bus between the webhook and IRC: a stream read through a consumer group.

At-least-once: an entry is acknowledged only after its line went out on IRC, and
a consumer first re-reads what it had pending when it stopped. Plain pub/sub
would drop every reply sent while the subscriber reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from highlightd.core.records import IncomingSms

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

STREAM = "highlightd:replies"
GROUP = "relay"
SAID_PREFIX = "highlightd:said:"
HEALTH_PREFIX = "highlightd:health:"
# Long enough to outlive any Twilio retry of the same MessageSid.
SAID_TTL = 7 * 24 * 3600
STREAM_MAXLEN = 100_000
BLOCK_MS = 5_000

# What a Redis outage looks like from redis-py: connection errors, timeouts, a
# server still loading its data. All are passing; anything else is a bug.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)


def connect(url: str) -> aioredis.Redis:
    """A client whose socket timeout outlasts the blocking read."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=BLOCK_MS / 1000 + 5,
        socket_connect_timeout=5,
        health_check_interval=30,
        decode_responses=True,
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMS answer on the bus, as the webhook accepted it."""

    entry_id: str
    sid: str
    phone: str
    body: str
    received_at: float


def default_consumer_name() -> str:
    # Stable across restarts so that a restarted relay re-reads its own pending entries.
    return f"irc-{socket.gethostname()}"


def _discard(task: asyncio.Future[Any]) -> None:
    # An abandoned call may still fail as the client closes; nobody needs to hear it.
    if not task.cancelled():
        task.exception()


def _keeps_cancellation(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run a Redis call in a task of its own, so that cancelling us always cancels us.

    redis-py 8.1 sometimes swallows a cancellation that arrives during a command
    (seen in XREADGROUP BLOCK, SET, PING) and carries on: a daemon told to stop
    would hang. Waiting through asyncio.wait keeps our own cancellation ours.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        call = asyncio.ensure_future(method(*args, **kwargs))
        try:
            await asyncio.wait({call})
        except asyncio.CancelledError:
            call.cancel()
            call.add_done_callback(_discard)
            raise
        return call.result()

    return wrapper


class Bus:
    """Typed operations on the stream; no retry here, callers own their loops."""

    def __init__(self, client: aioredis.Redis, consumer: str | None = None) -> None:
        self.client = client
        self.consumer = consumer or default_consumer_name()
        self._group_ready = False

    @_keeps_cancellation
    async def publish(self, sms: IncomingSms) -> str:
        fields: dict[Any, Any] = {
            "sid": sms.sid,
            "phone": sms.from_phone,
            "body": sms.body,
            "received_at": repr(sms.received_at),
        }
        entry_id = await self.client.xadd(STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)
        return str(entry_id)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    @_keeps_cancellation
    async def pending(self, count: int = 100) -> list[Reply]:
        """Entries delivered to this consumer earlier and never acknowledged."""
        await self._ensure_group()
        return await self._read("0", count, block=None)

    @_keeps_cancellation
    async def next(self, count: int = 10) -> list[Reply]:
        """New entries, waiting up to BLOCK_MS for one."""
        await self._ensure_group()
        return await self._read(">", count, block=BLOCK_MS)

    async def _read(self, start: str, count: int, block: int | None) -> list[Reply]:
        try:
            result = await self.client.xreadgroup(
                GROUP, self.consumer, {STREAM: start}, count=count, block=block
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                # The stream was deleted under us (FLUSHALL, a new server): make it again.
                self._group_ready = False
            raise
        replies = []
        # RESP2 answers a list of [stream, entries], RESP3 a map of stream to entries.
        streams: Any = result.items() if isinstance(result, dict) else (result or [])
        for _stream, entries in streams:
            for entry_id, fields in entries:
                if not fields:
                    # Trimmed away while pending: nothing left to deliver.
                    await self.client.xack(STREAM, GROUP, entry_id)
                    continue
                replies.append(
                    Reply(
                        entry_id=entry_id,
                        sid=fields.get("sid", ""),
                        phone=fields.get("phone", ""),
                        body=fields.get("body", ""),
                        received_at=float(fields.get("received_at") or 0),
                    )
                )
        return replies

    @_keeps_cancellation
    async def already_said(self, sid: str) -> bool:
        return bool(await self.client.exists(SAID_PREFIX + sid))

    @_keeps_cancellation
    async def done(self, reply: Reply) -> None:
        """Acknowledge an entry and remember its MessageSid as said."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(SAID_PREFIX + reply.sid, "1", ex=SAID_TTL)
            pipe.xack(STREAM, GROUP, reply.entry_id)
            await pipe.execute()

    @_keeps_cancellation
    async def ping(self) -> None:
        await self.client.ping()

    @_keeps_cancellation
    async def set_health(self, network: str, connected: bool, ttl: int) -> None:
        await self.client.set(HEALTH_PREFIX + network, "up" if connected else "down", ex=ttl)

    @_keeps_cancellation
    async def health(self, networks: list[str]) -> dict[str, bool]:
        if not networks:
            return {}
        values = await self.client.mget([HEALTH_PREFIX + n for n in networks])
        return {n: v == "up" for n, v in zip(networks, values, strict=True)}
