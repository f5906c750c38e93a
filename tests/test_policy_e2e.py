"""The notification policy end to end: ngircd, the daemon, the fake Twilio API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    CHANNEL,
    Highlightd,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_metric,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.core.smstext import encoding, segments
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(60)


@dataclass
class Scene:
    hl: Highlightd
    alice: IrcTestClient
    bob: IrcTestClient
    twilio: FakeTwilio
    settings: Settings


MakeScene = Callable[..., contextlib.AbstractAsyncContextManager[Scene]]


@pytest.fixture
def scene(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> MakeScene:
    """alice (registered) and bob in #chan, highlightd with the given [policy]."""

    @contextlib.asynccontextmanager
    async def make(others: tuple[str, ...] = (), **policy: Any) -> AsyncIterator[Scene]:
        data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
        data["policy"] = {"cooldown": 0, **policy}
        settings = Settings(**data)
        await add_user(settings.storage.path, "alice", ALICE_PHONE)
        for n, nick in enumerate(others, start=2):  # registered, never connected
            await add_user(settings.storage.path, nick, f"+1555123{n:04d}")
        alice, bob = await in_channel(irc_client_factory, "alice", "bob")
        async with running(settings) as hl:
            await wait_for_bot(bob)
            # pydle learns a channel's members a WHOIS after NAMES: wait until it has.
            assert hl.daemon.irc is not None
            network = hl.daemon.irc.networks["testnet"]
            async with asyncio.timeout(10):
                while True:
                    if {"alice", "bob"} <= network.present(CHANNEL):
                        break
                    await asyncio.sleep(0.02)
            yield Scene(hl, alice, bob, fake_twilio, settings)

    return make


async def test_burst_of_20_mentions_costs_2_sms(scene: MakeScene) -> None:
    async with scene(cooldown=2) as s:
        for n in range(1, 21):
            await s.bob.privmsg(CHANNEL, f"alice: ping {n}")
        first, digest = await s.twilio.wait_for_messages(2)
        assert first.body == "[#chan] <bob> alice: ping 1"
        assert digest.body == "19 highlights: [#chan] <bob> alice: ping 20 (+18 more in #chan)"
        store = await Store.open(s.settings.storage.path)
        try:
            assert await store.held.until() == {}  # nothing left for a third SMS
        finally:
            await store.close()
        assert len(s.twilio.messages) == 2


async def test_mass_highlight_sends_nothing(scene: MakeScene) -> None:
    async with scene(others=("carol", "dan")) as s:
        # Registered or present: alice, bob, carol, dan, and the bot: five nicks.
        await s.bob.privmsg(CHANNEL, "alice carol dan hlbot bob: meeting now")
        await s.bob.privmsg(CHANNEL, "alice: just you")
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.body == "[#chan] <bob> alice: just you"


async def test_user_present_and_talking_gets_nothing_until_away(scene: MakeScene) -> None:
    async with scene() as s:
        await s.alice.privmsg(CHANNEL, "morning all")
        await s.bob.privmsg(CHANNEL, "alice: you see this anyway")
        await until_metric(s.hl, 'decision="active"')  # decided before she leaves
        await s.alice.send_raw("AWAY :lunch")
        await s.alice.expect(lambda line: line.command == "306")
        await s.bob.privmsg(CHANNEL, "alice: now you are away")
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.body == "[#chan] <bob> alice: now you are away"


async def test_long_unicode_line_is_one_ucs2_segment(scene: MakeScene) -> None:
    async with scene() as s:
        await s.bob.privmsg(CHANNEL, "alice: " + "ça va? " * 40 + "😀")
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.body.startswith("[#chan] <bob> alice: ça va?")
        assert sms.body.endswith("…")
        assert (encoding(sms.body), segments(sms.body)) == ("UCS-2", 1)


async def test_daily_budget_holds_and_says_so_once(
    scene: MakeScene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="highlightd.irc.notifier")
    async with scene(user_daily_segments=2) as s:
        for n in range(1, 5):
            await s.bob.privmsg(CHANNEL, f"alice: number {n}")
        messages = await s.twilio.wait_for_messages(3)
        assert [m.body for m in messages[:2]] == [
            "[#chan] <bob> alice: number 1",
            "[#chan] <bob> alice: number 2",
        ]
        assert messages[2].body.startswith("highlightd: today's SMS limit (2 segments)")
        await s.bob.privmsg(CHANNEL, "alice: number 5")
        store = await Store.open(s.settings.storage.path)
        try:
            async with asyncio.timeout(10):  # a guard: wait until the 5th is held too
                while True:
                    held = await store.held.of(1)
                    if len(held) == 3:
                        break
                    await asyncio.sleep(0.02)
        finally:
            await store.close()
        assert [h.text for h in held] == [f"alice: number {n}" for n in (3, 4, 5)]
    assert len(s.twilio.messages) == 3  # no second notice, no digest before tomorrow
    warnings = [r for r in caplog.records if "daily SMS budget reached" in r.getMessage()]
    assert len(warnings) == 1
