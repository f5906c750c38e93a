"""The accepting side's bus (infra/bus.py) against a real Redis: answers on the stream as sent."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from highlightd.core.records import IncomingSms
from highlightd.infra.bus import PUBLISH_BATCH, STREAM, Bus, connect
from servers import RedisServer

pytestmark = pytest.mark.timeout(30)

# What an SMS body may hold, each packed into the script's one JSON argument and
# unpacked by Redis's cjson: quotes, backslashes, control characters (a NUL too),
# accents, characters past the BMP, a "null", an empty body.
BODIES = ['say "hi" \\ bye', "a\x00b\x01\n\t\r", "déjà vu ✓", "🦆 \U0001d518", "null", "", "[1,2]"]


async def test_published_answers_are_on_the_stream_in_order_field_for_field(
    redis_server: RedisServer,
) -> None:
    client = connect(redis_server.url)
    try:
        bus = Bus(client)
        sent = [
            IncomingSms(f"SM{n:032x}", "+15551230001", BODIES[n % len(BODIES)], 1.7e9 + n / 3)
            for n in range(PUBLISH_BATCH + 5)  # two commands
        ]
        await bus.publish_many(sent)
        entries = await client.xrange(STREAM)
    finally:
        await client.aclose()
    assert entries is not None
    got = []
    for _id, fields in entries:
        assert fields is not None
        sid, phone, body = str(fields["sid"]), str(fields["phone"]), str(fields["body"])
        got.append(IncomingSms(sid, phone, body, float(fields["received_at"])))
    assert got == sent


async def test_a_new_connection_asks_the_server_for_nothing_it_refuses_that_we_need_not(
    redis_server: RedisServer,
) -> None:
    # redis-py's defaults ask for maintenance notifications on each new connection,
    # which Valkey 9 and Redis 7 refuse; connect() does not ask. (Redis 7 also refuses
    # CLIENT SETINFO, with either: so the two are compared, not counted.)
    probe = aioredis.Redis.from_url(redis_server.url)

    async def refusals_of(client: aioredis.Redis) -> int:
        before = await _errors(probe)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
        return await _errors(probe) - before

    try:
        default = await refusals_of(aioredis.Redis.from_url(redis_server.url))
        ours = await refusals_of(connect(redis_server.url))
    finally:
        await probe.aclose()
    assert ours < default


async def _errors(client: aioredis.Redis) -> int:
    stats = await client.info("errorstats")
    return sum(int(stat["count"]) for stat in stats.values())
