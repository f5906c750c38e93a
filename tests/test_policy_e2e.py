"""The notification policy end to end: ngircd, the daemon, the fake Twilio API."""

from __future__ import annotations

import logging

import pytest

from harness import ALICE_PHONE, CHANNEL, until_metric
from highlightd.core.smstext import encoding, segments
from highlightd.store import Store
from scene import SceneFactory
from waiting import eventually

pytestmark = pytest.mark.timeout(60)


async def test_burst_of_20_mentions_costs_2_sms(scene: SceneFactory) -> None:
    async with scene(policy={"cooldown": 2}) as s:
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


async def test_mass_highlight_sends_nothing(scene: SceneFactory) -> None:
    # carol and dan are registered, never connected.
    users = {"alice": ALICE_PHONE, "carol": "+15551230002", "dan": "+15551230003"}
    async with scene(users=users) as s:
        # Registered or present: alice, bob, carol, dan, and the bot: five nicks.
        await s.bob.privmsg(CHANNEL, "alice carol dan hlbot bob: meeting now")
        await s.bob.privmsg(CHANNEL, "alice: just you")
        await s.twilio.wait_for_messages(1)
        [sms] = await s.settled(mass_highlight=3, send=1)
        assert sms.body == "[#chan] <bob> alice: just you"


async def test_user_present_and_talking_gets_nothing_until_away(scene: SceneFactory) -> None:
    async with scene(policy={"active_window": 300}) as s:
        await s.alice.privmsg(CHANNEL, "morning all")
        await s.bob.privmsg(CHANNEL, "alice: you see this anyway")
        await until_metric(s.hl, 'decision="active"')  # decided before she leaves
        await s.alice.send_raw("AWAY :lunch")
        await s.alice.expect(lambda line: line.command == "306")
        await s.bob.privmsg(CHANNEL, "alice: now you are away")
        await s.twilio.wait_for_messages(1)
        [sms] = await s.settled(active=1, send=1)
        assert sms.body == "[#chan] <bob> alice: now you are away"


async def test_long_unicode_line_is_one_ucs2_segment(scene: SceneFactory) -> None:
    async with scene() as s:
        await s.bob.privmsg(CHANNEL, "alice: " + "ça va? " * 40 + "😀")
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.body.startswith("[#chan] <bob> alice: ça va?")
        assert sms.body.endswith("…")
        assert (encoding(sms.body), segments(sms.body)) == ("UCS-2", 1)


async def test_daily_budget_holds_and_says_so_once(
    scene: SceneFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="highlightd.irc.notifier")
    async with scene(policy={"user_daily_segments": 2}) as s:
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
            held = await eventually(
                lambda: store.held.of(1), lambda held: len(held) == 3, what="the 5th held too"
            )
        finally:
            await store.close()
        assert [h.text for h in held] == [f"alice: number {n}" for n in (3, 4, 5)]
    assert len(s.twilio.messages) == 3  # no second notice, no digest before tomorrow
    warnings = [r for r in caplog.records if "daily SMS budget reached" in r.getMessage()]
    assert len(warnings) == 1
