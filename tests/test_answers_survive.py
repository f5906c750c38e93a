"""200 SMS answers streamed in while something fails: each said once on IRC, none twice.

Redis without persistence SIGKILLed (it comes back empty), Redis with an append-only
file SIGKILLed, the daemon SIGKILLed, the daemon restarted under another consumer
name: the accepting side keeps every answer until the IRC side confirms it, and the
IRC side remembers what it said.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from answers import (
    COUNT,
    Tally,
    bodies,
    expected,
    outbox_empty,
    post_all,
    post_signed,
    recorded,
    redis_client,
    sid_of,
    until_gone,
)
from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    FROM_NUMBER,
    add_user,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.infra.bus import GROUP, STREAM
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer, free_port
from test_process import Output, _env

pytestmark = pytest.mark.timeout(90)

# Redis is struck once this many answers were said.
FAULT_AT = 40


def fast_settings(
    tmp_path: Path, irc: IrcServer, redis_url: str, twilio: FakeTwilio, **relay: Any
) -> Settings:
    data = settings_dict(tmp_path, irc, redis_url, twilio, web_port())
    data["networks"][0].update(send_burst=1000, send_rate=1000)
    data["relay"] = {"claim_after": 1, "republish_after": 30, **relay}
    return Settings(**data)


@pytest.mark.parametrize("appendfsync", [None, "everysec"], ids=["no-persistence", "aof"])
async def test_redis_killed_while_answers_stream_in_loses_and_repeats_none(
    tmp_path: Path,
    appendfsync: str | None,
    irc_server: IrcServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    redis = RedisServer(tmp_path / "redis", kind="redis-server", appendfsync=appendfsync)
    await redis.astart()
    try:
        # No re-publication by timer: what Redis lost is put on the bus again because
        # Redis has another run id (and, without persistence, lost its data).
        settings = fast_settings(tmp_path, irc_server, redis.url, fake_twilio, republish_after=3600)
        await add_user(settings.storage.path, "alice", ALICE_PHONE)
        [bob] = await in_channel(irc_client_factory, "bob")
        tally = Tally(bob)
        async with running(settings) as hl:
            await wait_for_bot(bob)
            posting = asyncio.create_task(post_all(hl.sms, bodies()))
            await tally.until(FAULT_AT)
            await redis.akill()
            await redis.astart()
            await posting
            await tally.until(COUNT)
            await outbox_empty(settings.storage.path)
            await tally.settle(hl.sms)
    finally:
        await redis.astop()
    assert set(tally.seen) == expected()
    assert tally.twice() == []


async def test_daemon_killed_while_answers_stream_in_loses_and_repeats_none(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
) -> None:
    stage = await killable(tmp_path, irc_server, redis_server, irc_client_factory)
    config, db, bob = stage.config, stage.db, stage.bob
    tally = Tally(bob)
    async with aiohttp.ClientSession() as http:
        post = stage.poster(http)

        async def paced(body: str) -> None:
            await post(body)
            await asyncio.sleep(0.01)  # answers keep coming in across the kill

        async with _daemon(config, tmp_path):
            await wait_for_bot(bob)
            posting = asyncio.create_task(post_all(paced, bodies(), concurrency=1))
            await tally.until(FAULT_AT)
            # Killed between two lines (the bot says one every 25 ms): the last one said
            # is recorded, the next one not written yet. A kill after a line reached the
            # server and before its record says that one line again (at-least-once).
            await recorded(db, tally.last)
        # SIGKILLed on leaving the block; posts meanwhile are refused and retried.
        await until_gone(bob, BOT)
        async with _daemon(config, tmp_path):
            await posting
            await tally.until(COUNT)
            await outbox_empty(db)
            await tally.settle(post)
    assert set(tally.seen) == expected()
    assert tally.twice() == []


async def test_restart_under_another_consumer_name_takes_over_its_pending_answers(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    # No re-publication by timer here: only taking over the old consumer's entries helps.
    first = fast_settings(
        tmp_path,
        irc_server,
        redis_server.url,
        fake_twilio,
        consumer="old-host",
        republish_after=3600,
    )
    second = first.model_copy(
        update={"relay": first.relay.model_copy(update={"consumer": "new-host"})}
    )
    await add_user(first.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    redis = redis_client(redis_server.url)
    try:
        async with running(first) as hl:
            await wait_for_bot(bob)
            await irc_server.astop()  # answers now wait, taken by "old-host"
            await post_all(hl.sms, bodies())
            async with asyncio.timeout(20):
                while True:
                    if (await _pending(redis)).get("old-host") == COUNT:
                        break
                    await asyncio.sleep(0.05)
        await irc_server.astart()
        [bob] = await in_channel(irc_client_factory, "bob")
        tally = Tally(bob)
        async with running(second) as hl:
            await wait_for_bot(bob)
            await tally.until(COUNT)
            await tally.settle(hl.sms)
            await _nothing_pending(redis)  # "old-host" holds nothing any more
    finally:
        await redis.aclose()
    assert set(tally.seen) == expected()
    assert tally.twice() == []


async def _pending(redis: Any) -> dict[str, int]:
    summary = await redis.xpending(STREAM, GROUP)
    return {c["name"]: int(c["pending"]) for c in summary["consumers"] if int(c["pending"])}


async def _nothing_pending(redis: Any) -> None:
    async with asyncio.timeout(10):
        while True:
            if not await _pending(redis):
                return
            await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Killable:
    """Where each kill test starts: the config of a `highlightd run` process (_daemon),
    alice registered, bob in the channel."""

    config: Path
    db: Path
    base_url: str
    bob: IrcTestClient

    def poster(self, http: aiohttp.ClientSession) -> Callable[[str], Awaitable[None]]:
        """Posts one of alice's answers, signed, until it is taken (post_signed)."""

        async def post(body: str) -> None:
            await post_signed(http, self.base_url, body, sid_of(body))

        return post


async def killable(
    tmp_path: Path,
    irc: IrcServer,
    redis: RedisServer,
    clients: IrcClientFactory,
    send_rate: int = 40,
) -> Killable:
    port = free_port()
    config = _config(tmp_path, irc, redis, port, send_rate)
    db = tmp_path / "data" / "highlightd.sqlite3"
    await add_user(db, "alice", ALICE_PHONE)
    [bob] = await in_channel(clients, "bob")
    return Killable(config, db, f"http://127.0.0.1:{port}", bob)


def _config(
    tmp_path: Path, irc: IrcServer, redis: RedisServer, port: int, send_rate: int = 40
) -> Path:
    """One network; sending at send_rate lines a second, one at a time (a burst of 1)
    at the default rate, without flood control at a high one."""
    config = tmp_path / "highlightd.toml"
    config.write_text(
        f"""
[storage]
path = "{tmp_path / "data" / "highlightd.sqlite3"}"

[redis]
url = "{redis.url}"

[web]
port = {port}
public_url = "http://127.0.0.1:{port}"

[twilio]
account_sid = "{TEST_ACCOUNT_SID}"
auth_token = "{TEST_AUTH_TOKEN}"
from_number = "{FROM_NUMBER}"

[relay]
claim_after = 1
republish_after = 30

[[networks]]
name = "testnet"
host = "{irc.host}"
port = {irc.port}
tls = false
nick = "{BOT}"
channels = ["{CHANNEL}"]
send_burst = {1 if send_rate <= 40 else send_rate}
send_rate = {send_rate}
"""
    )
    return config


@contextlib.asynccontextmanager
async def _daemon(config: Path, cwd: Path) -> AsyncIterator[None]:
    """`highlightd run` in a process of its own, SIGKILLed when the block ends."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "highlightd",
        "run",
        "--config",
        str(config),
        cwd=cwd,
        env=_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    output = Output(proc.stderr)
    try:
        await output.wait_for("running: role all")
        yield
    finally:
        proc.kill()
        await proc.wait()
        await output.task
