"""End to end: a real IRC server, a real Redis, the daemon's real web server, a fake Twilio API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    FROM_NUMBER,
    in_channel,
    until_healthz,
    until_outbox_empty,
    wait_for_bot,
)
from scene import Scene, SceneFactory
from servers import IrcClientFactory
from waiting import eventually

pytestmark = pytest.mark.timeout(90)

AL_PHONE = "+15551230002"


@pytest.fixture
async def world(scene: SceneFactory) -> AsyncIterator[Scene]:
    """alice (registered, with a phone) and bob in #chan, then highlightd joins."""
    async with scene() as s:
        yield s


async def test_mention_sends_sms_with_channel_and_sender(world: Scene) -> None:
    await world.bob.privmsg(CHANNEL, "alice: lunch?")
    [sms] = await world.twilio.wait_for_messages(1)
    assert sms.to == ALICE_PHONE
    assert sms.from_ == FROM_NUMBER
    assert sms.body == "[#chan] <bob> alice: lunch?"
    assert sms.status_callback == world.hl.base_url + "/twilio/status"


async def test_mention_with_irc_formatting_is_stripped(world: Scene) -> None:
    await world.bob.privmsg(CHANNEL, "\x02ALICE\x02, \x0304look\x03 here")
    [sms] = await world.twilio.wait_for_messages(1)
    assert sms.body == "[#chan] <bob> ALICE, look here"


async def test_no_sms_for_partial_words_or_own_lines(world: Scene) -> None:
    await world.bob.privmsg(CHANNEL, "also [alice] alice_ malice")
    await world.alice.privmsg(CHANNEL, "alice here, talking about myself")
    # A marker mention afterwards: when its SMS is out, the lines before it were decided.
    await world.bob.privmsg(CHANNEL, "ok alice")
    await world.twilio.wait_for_messages(1)
    messages = await world.settled(own_line=1, send=1)
    assert [m.body for m in messages] == ["[#chan] <bob> ok alice"]


async def test_no_sms_for_a_short_nick_inside_other_words(scene: SceneFactory) -> None:
    async with scene(users={"al": AL_PHONE}) as s:
        await s.bob.privmsg(CHANNEL, "also [al] al_ al- pal al2 alé")
        await s.bob.privmsg(CHANNEL, "al: the marker")
        await s.twilio.wait_for_messages(1)
        messages = await s.settled(send=1)
        assert [(m.to, m.body) for m in messages] == [(AL_PHONE, "[#chan] <bob> al: the marker")]


async def test_sms_reply_goes_to_the_mentioner_as_private_message(world: Scene) -> None:
    await world.mentioned()
    await world.hl.sms("on my way")
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): on my way"


async def test_sms_reply_to_a_channel_and_to_a_nick(world: Scene) -> None:
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


async def test_bad_or_missing_signature_is_403_and_says_nothing(world: Scene) -> None:
    await world.mentioned()
    form = {"MessageSid": "SM" + "f" * 32, "From": ALICE_PHONE, "Body": "forged"}
    assert (await world.hl.post("/twilio/sms", form, signature="bm9wZQ==")).status == 403
    assert (await world.hl.post("/twilio/sms", form, sign=False)).status == 403
    await world.hl.sms("genuine")
    line = await world.bob.expect_privmsg(from_nick=BOT)
    assert line.text == "alice (SMS): genuine"


async def test_duplicate_message_sid_is_said_once(world: Scene) -> None:
    await world.mentioned()
    sid = await world.hl.sms("only once")
    await world.hl.sms("only once", sid=sid)  # Twilio retrying the same webhook
    await world.hl.sms("marker")
    first = await world.bob.expect_privmsg(from_nick=BOT)
    second = await world.bob.expect_privmsg(from_nick=BOT)
    assert [first.text, second.text] == ["alice (SMS): only once", "alice (SMS): marker"]


async def test_cr_lf_in_sms_body_cannot_inject_irc_commands(world: Scene) -> None:
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


async def test_long_reply_is_split_into_lines_the_server_accepts(world: Scene) -> None:
    await world.mentioned()
    await world.hl.sms("é" * 600)  # 1200 UTF-8 bytes: one line would be refused
    texts: list[str] = []
    while sum(len(t) for t in texts) < 600:
        line = await world.bob.expect_privmsg(from_nick=BOT, target="bob")
        texts.append(line.text.removeprefix("alice (SMS): "))
    assert "".join(texts) == "é" * 600
    assert all(len(t.encode()) <= 400 for t in texts)


async def test_healthz_reports_each_network(world: Scene) -> None:
    body = await until_healthz(world.hl, 200)
    assert body == {"status": "ok", "redis": "up", "networks": {"testnet": "connected"}}


async def test_irc_restart_rejoins_and_delivers_reply_sent_during_outage(
    world: Scene, irc_client_factory: IrcClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="highlightd.irc.network")
    await world.mentioned()
    await world.irc.astop()
    await world.hl.sms("sent while IRC was down")
    body = await until_healthz(world.hl, 503)
    assert body["networks"] == {"testnet": "disconnected"}
    # bob must be back before the bot, or the reply goes to nobody: after two refused
    # reconnects the bot backs off for 2 s, time enough for the server and bob to return.
    await eventually(
        lambda: _refused_reconnects(caplog),
        lambda refused: refused >= 2,
        what="two refused reconnects of the bot",
    )
    await world.irc.astart()
    [bob] = await in_channel(irc_client_factory, "bob")
    await wait_for_bot(bob)
    line = await bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): sent while IRC was down"


async def test_redis_outage_loses_no_reply(world: Scene) -> None:
    await world.mentioned()
    await world.redis.akill()
    await world.hl.sms("accepted while redis was down")
    body = await until_healthz(world.hl, 503)
    assert body["redis"] == "down"
    await world.redis.astart()
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=40)
    assert line.text == "alice (SMS): accepted while redis was down"


async def test_unknown_sender_gets_empty_twiml_and_nothing_is_said(world: Scene) -> None:
    await world.mentioned()
    form = {"MessageSid": "SM" + "e" * 32, "From": "+15559990000", "Body": "#chan spam"}
    resp = await world.hl.post("/twilio/sms", form)
    assert resp.status == 200
    await world.hl.sms("#chan from alice")
    line = await world.bob.expect_privmsg(from_nick=BOT)
    assert line.text == "alice (SMS): from alice"
    assert len(world.twilio.messages) == 1  # no SMS answer to the stranger


async def test_twilio_429_is_retried_and_sent_once(world: Scene) -> None:
    world.twilio.fail_next(429, 20429, "Too Many Requests")
    await world.bob.privmsg(CHANNEL, "alice: busy?")
    [sms] = await world.twilio.wait_for_messages(1)
    assert sms.body == "[#chan] <bob> alice: busy?"
    assert world.twilio.requests == 2


async def test_twilio_500_is_looked_up_then_sent_once_and_the_daemon_goes_on(
    world: Scene, caplog: pytest.LogCaptureFixture
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


def _refused_reconnects(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name == "highlightd.irc.network" and "still unavailable" in r.getMessage()
    )
