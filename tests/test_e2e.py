"""End to end: a real IRC server, a real Redis, the daemon's real web server, a fake Twilio API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    FROM_NUMBER,
    Highlightd,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_healthz,
    until_outbox_empty,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(90)


@dataclass
class World:
    hl: Highlightd
    alice: IrcTestClient
    bob: IrcTestClient
    twilio: FakeTwilio
    irc: IrcServer
    redis: RedisServer

    async def mentioned(self) -> None:
        """bob mentions alice and her SMS goes out: her answers now go to bob."""
        await self.bob.privmsg(CHANNEL, "alice: hi")
        await self.twilio.wait_for_messages(1)


@pytest.fixture
async def world(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> AsyncIterator[World]:
    """alice (registered, with a phone) and bob in #chan, then highlightd joins."""
    data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    settings = Settings(**data)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    alice, bob = await in_channel(irc_client_factory, "alice", "bob")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        yield World(hl, alice, bob, fake_twilio, irc_server, redis_server)


async def test_mention_sends_sms_with_channel_and_sender(world: World) -> None:
    await world.bob.privmsg(CHANNEL, "alice: lunch?")
    [sms] = await world.twilio.wait_for_messages(1)
    assert sms.to == ALICE_PHONE
    assert sms.from_ == FROM_NUMBER
    assert sms.body == "[#chan] <bob> alice: lunch?"
    assert sms.status_callback == world.hl.base_url + "/twilio/status"


async def test_mention_with_irc_formatting_is_stripped(world: World) -> None:
    await world.bob.privmsg(CHANNEL, "\x02ALICE\x02, \x0304look\x03 here")
    [sms] = await world.twilio.wait_for_messages(1)
    assert sms.body == "[#chan] <bob> ALICE, look here"


async def test_no_sms_for_partial_words_or_own_lines(world: World) -> None:
    await world.bob.privmsg(CHANNEL, "also [alice] alice_ malice")
    await world.alice.privmsg(CHANNEL, "alice here, talking about myself")
    # A marker mention afterwards: when it arrives, the lines before it were decided.
    await world.bob.privmsg(CHANNEL, "ok alice")
    messages = await world.twilio.wait_for_messages(1)
    assert [m.body for m in messages] == ["[#chan] <bob> ok alice"]


async def test_sms_reply_goes_to_the_mentioner_as_private_message(world: World) -> None:
    await world.mentioned()
    await world.hl.sms("on my way")
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): on my way"


async def test_sms_reply_to_a_channel_and_to_a_nick(world: World) -> None:
    await world.mentioned()
    await world.hl.sms("#chan hello everyone")
    line = await world.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    assert line.text == "alice (SMS): hello everyone"
    await world.hl.sms("bob: direct")
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): direct"
    await world.hl.sms("@bob also direct")
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): also direct"


async def test_bad_or_missing_signature_is_403_and_says_nothing(world: World) -> None:
    await world.mentioned()
    form = {"MessageSid": "SM" + "f" * 32, "From": ALICE_PHONE, "Body": "forged"}
    assert (await world.hl.post("/twilio/sms", form, signature="bm9wZQ==")).status == 403
    assert (await world.hl.post("/twilio/sms", form, sign=False)).status == 403
    await world.hl.sms("genuine")
    line = await world.bob.expect_privmsg(from_nick=BOT)
    assert line.text == "alice (SMS): genuine"


async def test_duplicate_message_sid_is_said_once(world: World) -> None:
    await world.mentioned()
    sid = await world.hl.sms("only once")
    await world.hl.sms("only once", sid=sid)  # Twilio retrying the same webhook
    await world.hl.sms("marker")
    first = await world.bob.expect_privmsg(from_nick=BOT)
    second = await world.bob.expect_privmsg(from_nick=BOT)
    assert [first.text, second.text] == ["alice (SMS): only once", "alice (SMS): marker"]


async def test_cr_lf_in_sms_body_cannot_inject_irc_commands(world: World) -> None:
    await world.mentioned()
    await world.hl.sms("hi\r\nJOIN #evil\r\nPRIVMSG #chan :pwned\nQUIT :bye\x00")
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): hi JOIN #evil PRIVMSG #chan :pwned QUIT :bye"
    await world.hl.sms("#chan still here")
    line = await world.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    assert line.text == "alice (SMS): still here"
    assert not [
        r
        for r in world.bob.received
        if r.nick == BOT and r.command in ("JOIN", "QUIT") and r.text != CHANNEL
    ]


async def test_long_reply_is_split_into_lines_the_server_accepts(world: World) -> None:
    await world.mentioned()
    await world.hl.sms("é" * 600)  # 1200 UTF-8 bytes: one line would be refused
    texts = []
    while sum(len(t) for t in texts) < 600:
        line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
        texts.append(line.text.removeprefix("alice (SMS): "))
    assert "".join(texts) == "é" * 600
    assert all(len(t.encode()) <= 400 for t in texts)


async def test_healthz_reports_each_network(world: World) -> None:
    body = await until_healthz(world.hl, 200)
    assert body == {"status": "ok", "redis": "up", "networks": {"testnet": "connected"}}


async def test_irc_restart_rejoins_and_delivers_reply_sent_during_outage(
    world: World, irc_client_factory: IrcClientFactory
) -> None:
    await world.mentioned()
    await world.irc.astop()
    await world.hl.sms("sent while IRC was down")
    body = await until_healthz(world.hl, 503)
    assert body["networks"] == {"testnet": "disconnected"}
    # Let the bot fail a reconnect or two, so it backs off while bob comes back first.
    await asyncio.sleep(1.5)
    await world.irc.astart()
    [bob] = await in_channel(irc_client_factory, "bob")
    await wait_for_bot(bob)
    line = await bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): sent while IRC was down"


async def test_redis_outage_loses_no_reply(world: World) -> None:
    await world.mentioned()
    await world.redis.akill()
    await world.hl.sms("accepted while redis was down")
    body = await until_healthz(world.hl, 503)
    assert body["redis"] == "down"
    await world.redis.astart()
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=40)
    assert line.text == "alice (SMS): accepted while redis was down"


async def test_unknown_sender_gets_empty_twiml_and_nothing_is_said(world: World) -> None:
    await world.mentioned()
    form = {"MessageSid": "SM" + "e" * 32, "From": "+15559990000", "Body": "#chan spam"}
    resp = await world.hl.post("/twilio/sms", form)
    assert resp.status == 200
    await world.hl.sms("#chan from alice")
    line = await world.bob.expect_privmsg(from_nick=BOT)
    assert line.text == "alice (SMS): from alice"
    assert len(world.twilio.messages) == 1  # no SMS answer to the stranger


async def test_twilio_429_is_retried_and_sent_once(world: World) -> None:
    world.twilio.fail_next(429, 20429, "Too Many Requests")
    await world.bob.privmsg(CHANNEL, "alice: busy?")
    [sms] = await world.twilio.wait_for_messages(1)
    assert sms.body == "[#chan] <bob> alice: busy?"
    assert world.twilio.requests == 2


async def test_twilio_500_is_looked_up_then_sent_once_and_the_daemon_goes_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # A 500 may come after Twilio queued the SMS: sending again blindly could text
    # twice. The sender looks in Twilio's Messages list first; here it was not
    # created, so it is sent again, once.
    world.twilio.fail_next(500, 20500, "Internal Server Error")
    await world.bob.privmsg(CHANNEL, "alice: first")
    await world.bob.privmsg(CHANNEL, "alice: second")
    first, second = await world.twilio.wait_for_messages(2)
    assert (first.body, second.body) == (
        "[#chan] <bob> alice: first",
        "[#chan] <bob> alice: second",
    )
    await until_outbox_empty(world.hl.settings.storage.path)
    assert len(world.twilio.messages) == 2
    assert world.twilio.requests == 3  # the refused POST, then each SMS once
    assert world.twilio.list_requests >= 1  # looked up before the second attempt
    [outage] = _notifier_failures(caplog)  # said once, not once per try
    assert "HTTP 500" in outage.getMessage()
    assert not any(ALICE_PHONE in r.getMessage() for r in caplog.records)


def _notifier_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "highlightd.sms.sender" and "unavailable" in r.getMessage()
    ]
