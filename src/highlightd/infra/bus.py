"""The Redis bus between the webhook and IRC: a stream of answers, and their confirmations.

At-least-once, end to end: the accepting side keeps each answer until the IRC side
confirms it (a key per MessageSid), and puts it on the stream again when Redis may
have lost it (another run id, or its data gone). The stream is read through a
consumer group (infra/consumer.py). Plain pub/sub would drop every answer sent
while the subscriber reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.maint_notifications import MaintNotificationsConfig

from highlightd.core.records import IncomingSms

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

STREAM = "highlightd:replies"
GROUP = "relay"
# The IRC side's confirmation of an answer, read by the accepting side: "said", "bounced"...
SAID_PREFIX = "highlightd:said:"
# A token that lives as long as this Redis's data: gone means the data went.
EPOCH_KEY = "highlightd:epoch"
HEALTH_PREFIX = "highlightd:health:"
# The accepting side reads a confirmation within seconds; a week covers a long outage of it.
SAID_TTL = 7 * 24 * 3600
STREAM_MAXLEN = 100_000
BLOCK_MS = 5_000
# Answers XADDed in order by one command: redis-py packs, sends and parses a script
# call once where a pipeline costs it that per XADD, plus the pipeline's own
# bookkeeping. ARGV: MAXLEN, then one JSON array of sid, phone, body, received_at of
# each answer: redis-py packs each argument in Python, json packs the array in C.
PUBLISH = """
local answers = cjson.decode(ARGV[2])
for i = 1, #answers, 4 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'sid', answers[i],
    'phone', answers[i + 1], 'body', answers[i + 2], 'received_at', answers[i + 3])
end
return #answers / 4
"""
_PACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# Answers per publishing command: a call stays small however long the backlog.
PUBLISH_BATCH = 200

# What a Redis outage looks like from redis-py: connection errors, timeouts, a
# server still loading its data. All are passing; anything else is a bug.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)


def connect(url: str) -> aioredis.Redis:
    """A client whose socket timeout outlasts the blocking read.

    Without maintenance notifications: redis-py asks for them on every new connection
    (CLIENT MAINT_NOTIFICATIONS), which Redis 7 and Valkey 9 refuse: a round trip and
    an exception's garbage for nothing.
    """
    return aioredis.Redis.from_url(
        url,
        socket_timeout=BLOCK_MS / 1000 + 5,
        socket_connect_timeout=5,
        health_check_interval=30,
        decode_responses=True,
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMS answer on the bus, as the webhook accepted it."""

    entry_id: str
    sid: str
    phone: str
    body: str
    received_at: float


def _discard(task: asyncio.Future[Any]) -> None:
    # An abandoned call may still fail as the client closes; nobody needs to hear it.
    if not task.cancelled():
        task.exception()


def keeps_cancellation(
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
    """The accepting side's typed operations, and health; no retry here, callers own loops."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._publish = client.register_script(PUBLISH)

    @keeps_cancellation
    async def publish_many(self, batch: list[IncomingSms]) -> None:
        """Put answers on the stream, in order: one command per PUBLISH_BATCH answers.

        A failure part way leaves some on the stream: the caller publishes them all
        again, and the IRC side confirms a copy without saying it twice.
        """
        for start in range(0, len(batch), PUBLISH_BATCH):
            fields = [
                field
                for sms in batch[start : start + PUBLISH_BATCH]
                for field in (sms.sid, sms.from_phone, sms.body, repr(sms.received_at))
            ]
            await self._publish([STREAM], [STREAM_MAXLEN, _PACK(fields)])

    @keeps_cancellation
    async def confirmed(self, sids: list[str]) -> dict[str, str]:
        """The IRC side's confirmations of these answers, by MessageSid (missing: none yet)."""
        if not sids:
            return {}
        values = await self.client.mget([SAID_PREFIX + sid for sid in sids])
        return {sid: str(v) for sid, v in zip(sids, values, strict=True) if v is not None}

    @keeps_cancellation
    async def epoch(self) -> str:
        """Which Redis, holding which data: it changes when Redis restarts or loses its keys.

        An answer put on the bus in another epoch may be gone with it.
        """
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.info("server")
            pipe.set(EPOCH_KEY, uuid.uuid4().hex, nx=True)
            pipe.get(EPOCH_KEY)
            info, _created, token = await pipe.execute()
        return f"{info.get('run_id', '')}/{token}"

    @keeps_cancellation
    async def ping(self) -> None:
        await self.client.ping()

    @keeps_cancellation
    async def set_health(self, network: str, state: str, ttl: int) -> None:
        """state: "connected", or why not (irc.network.Network.state)."""
        await self.client.set(HEALTH_PREFIX + network, state, ex=ttl)

    @keeps_cancellation
    async def health(self, networks: list[str]) -> dict[str, str]:
        """Each network's last published state; "disconnected" when none is fresh."""
        if not networks:
            return {}
        values = await self.client.mget([HEALTH_PREFIX + n for n in networks])
        return {n: str(v or "disconnected") for n, v in zip(networks, values, strict=True)}
