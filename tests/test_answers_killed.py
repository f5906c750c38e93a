"""The daemon SIGKILLed again and again while answers go out at full speed, flood control off.

A network's answers are said one at a time up to their said_sms record, and that record
is committed without an fsync of its own (a kill keeps it: it is in the OS's cache). So
a kill repeats at most the one answer the server had taken and the daemon had not
recorded, and loses none, whatever moment of the cycle it strikes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from answers import (
    Tally,
    bodies,
    expected,
    outbox_empty,
    post_all,
    until_gone,
)
from harness import BOT, wait_for_bot
from servers import IrcClientFactory, IrcServer, RedisServer
from test_answers_survive import _daemon, killable

pytestmark = pytest.mark.timeout(120)

COUNT = 300
# Killed once bob has seen this many distinct answers: a backlog is still waiting each time.
KILLS_AT = (40, 110, 180)


async def test_killed_mid_stream_repeats_at_most_one_answer_per_kill_and_loses_none(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
) -> None:
    stage = await killable(tmp_path, irc_server, redis_server, irc_client_factory, 100_000)
    config, bob = stage.config, stage.bob
    tally = Tally(bob)
    async with aiohttp.ClientSession() as http:
        post = stage.poster(http)
        posting: asyncio.Task[None] | None = None
        for at in (*KILLS_AT, None):
            async with _daemon(config, tmp_path):
                await wait_for_bot(bob)
                if posting is None:
                    posting = asyncio.create_task(post_all(post, bodies(COUNT), concurrency=16))
                if at is not None:
                    # Not waiting for anything to be recorded: the kill lands anywhere in
                    # the cycle (line written, PING, PONG, record, confirmation).
                    await tally.until(at, timeout=60)
                else:
                    await posting
                    await tally.until(COUNT, timeout=60)
                    await outbox_empty(stage.db)
                    await tally.settle(post)
            await until_gone(bob, BOT)  # SIGKILLed on leaving the block
    assert set(tally.seen) == expected(COUNT)
    repeats = sum(n - 1 for n in tally.seen.values())
    assert repeats <= len(KILLS_AT), tally.twice()
