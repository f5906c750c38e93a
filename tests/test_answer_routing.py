"""Answers routed when they can be delivered, bounced once when they cannot, never said twice.

The web and IRC roles talk only through Redis: the accepting side re-publishes what the
IRC side has not confirmed, and the IRC side says each MessageSid once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from answers import PREFIX, outbox_empty, redis_client
from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    NETWORK,
    Highlightd,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_healthz,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.core.ircnames import nick_key
from highlightd.infra.bus import GROUP, STREAM
from highlightd.irc.answerlane import FRESH
from highlightd.store import Store
from proxy import TcpProxy
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(60)


@dataclass
class Cut:
    """highlightd reaches IRC through a proxy the test can take away; bob and carol do not."""

    hl: Highlightd
    bob: IrcTestClient
    carol: IrcTestClient
    proxy: TcpProxy
    twilio: FakeTwilio
    redis: Any

    async def link_down(self) -> None:
        await self.proxy.stop()  # the link closes, and reconnecting is refused
        await self.bob.expect(lambda line: line.command == "QUIT" and line.nick == BOT)
        await until_healthz(self.hl, 503)

    async def link_up(self) -> None:
        await self.proxy.start()
        await wait_for_bot(self.bob)

    async def taken(self, count: int) -> None:
        """Wait until the relay took `count` answers off the bus (they wait in its hands)."""
        async with asyncio.timeout(10):
            while True:
                if (await self.redis.xpending(STREAM, GROUP))["pending"] == count:
                    return
                await asyncio.sleep(0.02)


@pytest.fixture
async def cut(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> AsyncIterator[Cut]:
    proxy = TcpProxy(irc_server.host, irc_server.port)
    await proxy.start()
    data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    data["networks"][0].update(port=proxy.port)
    data["relay"] = getattr(request, "param", {})
    settings = Settings(**data)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    bob, carol = await in_channel(irc_client_factory, "bob", "carol")
    redis = redis_client(redis_server.url)
    try:
        async with running(settings) as hl:
            await wait_for_bot(bob)
            yield Cut(hl, bob, carol, proxy, fake_twilio, redis)
    finally:
        await redis.aclose()
        await proxy.stop()


async def test_nick_answer_sent_while_the_link_is_down_reaches_that_nick_not_the_mentioner(
    cut: Cut,
) -> None:
    await cut.bob.privmsg(CHANNEL, "alice: still there?")
    await cut.twilio.wait_for_messages(1)  # alice's answers now default to bob
    await cut.link_down()
    await cut.hl.sms("carol: second")
    await cut.taken(1)  # while nobody's presence is known
    await cut.link_up()
    line = await cut.carol.expect_privmsg(from_nick=BOT, target="carol")
    assert line.text == "alice (SMS): second"
    await cut.hl.sms("and to you")
    line = await cut.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): and to you"
    assert not [r.raw for r in cut.bob.received if r.nick == BOT and "second" in r.text]


@pytest.mark.parametrize("cut", [{"max_delay": 1}], indirect=True)
async def test_answer_whose_network_stays_down_past_max_delay_bounces_once(cut: Cut) -> None:
    await cut.link_down()
    await cut.hl.sms("#chan too late")
    [bounce] = await cut.twilio.wait_for_messages(1)
    assert bounce.to == ALICE_PHONE
    assert bounce.body == "highlightd: testnet unreachable for 1 s; not said: #chan too late"
    await cut.link_up()
    await cut.hl.sms("#chan in time")
    line = await cut.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    assert line.text == "alice (SMS): in time"
    assert not [r.raw for r in cut.bob.received if "too late" in r.text]
    assert len(cut.twilio.messages) == 1


async def test_answer_to_an_offline_nick_bounces_once_saying_why(cut: Cut) -> None:
    await cut.hl.sms("@dave are you there?")
    [bounce] = await cut.twilio.wait_for_messages(1, timeout=3)
    assert bounce.to == ALICE_PHONE
    assert bounce.body.startswith("highlightd: not said to dave: ")
    await cut.hl.sms("#chan marker")
    await cut.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    assert len(cut.twilio.messages) == 1


# The web and IRC roles in processes of their own, talking through Redis only


def _split(
    tmp_path: Path, irc: IrcServer, redis: RedisServer, twilio: FakeTwilio, **relay: Any
) -> Settings:
    data = settings_dict(tmp_path, irc, redis.url, twilio, web_port())
    data["relay"] = relay
    return Settings(**data)


async def _stream_length(redis: Any, length: int) -> None:
    async with asyncio.timeout(10):
        while True:
            if await redis.xlen(STREAM) >= length:
                return
            await asyncio.sleep(0.02)


async def test_answer_lost_with_redis_data_is_published_again_at_once_and_said_once(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    settings = _split(tmp_path, irc_server, redis_server, fake_twilio, republish_after=3600)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    redis = redis_client(redis_server.url)
    try:
        async with running(settings, role="web") as web:
            await web.sms("#chan said after a flush")
            await _stream_length(redis, 1)
            await redis.flushall()  # the IRC side never saw it
            await _stream_length(redis, 1)
            async with running(settings, role="irc"):
                await wait_for_bot(bob)
                line = await bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
                assert line.text == PREFIX + "said after a flush"
                await outbox_empty(settings.storage.path)
                await web.sms("#chan marker")
                line = await bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
                assert line.text == PREFIX + "marker"
    finally:
        await redis.aclose()


async def test_answer_published_again_by_timer_is_said_once_and_confirmed(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    settings = _split(tmp_path, irc_server, redis_server, fake_twilio, republish_after=0.2)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    redis = redis_client(redis_server.url)
    try:
        async with running(settings, role="web") as web:
            await web.sms("#chan once")
            await _stream_length(redis, 3)  # nobody confirms: it goes on the bus again
            async with running(settings, role="irc"):
                await wait_for_bot(bob)
                await outbox_empty(settings.storage.path)
                await web.sms("#chan marker")
                lines = [await bob.expect_privmsg(from_nick=BOT, target=CHANNEL) for _ in "ab"]
    finally:
        await redis.aclose()
    assert [line.text for line in lines] == [PREFIX + "once", PREFIX + "marker"]


async def test_consumer_name_is_kept_in_the_database_not_taken_from_the_hostname(
    tmp_path: Path,
) -> None:
    path = tmp_path / "highlightd.sqlite3"
    first = await Store.open(path)
    try:
        name = await first.relayed.consumer_name()
        assert await first.relayed.consumer_name() == name
    finally:
        await first.close()
    again = await Store.open(path)
    other = await Store.open(tmp_path / "elsewhere" / "highlightd.sqlite3")
    try:
        assert await again.relayed.consumer_name() == name
        assert await other.relayed.consumer_name() != name
    finally:
        await again.close()
        await other.close()
    assert name.startswith("irc-")


async def test_answers_held_up_by_an_outage_go_by_what_is_true_when_said(cut: Cut) -> None:
    await cut.link_down()
    await cut.hl.sms("#chan first")
    await cut.hl.sms("#chan second")
    await cut.taken(2)  # both read alice's registration when they were taken
    store = await Store.open(cut.hl.settings.storage.path)
    try:
        assert await store.users.remove(NETWORK, nick_key("alice"))  # as the CLI does
    finally:
        await store.close()
    # Older than a lookup may serve: the second, behind the first in the lane, reads again.
    await asyncio.sleep(FRESH)
    await cut.link_up()
    bounces = await cut.twilio.wait_for_messages(2)
    assert [(b.to, b.body) for b in bounces] == [
        (ALICE_PHONE, "highlightd: this number is not registered (any more)")
    ] * 2
    assert not [r.raw for r in cut.bob.received if r.nick == BOT and "(SMS)" in r.text]
