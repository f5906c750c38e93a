"""Self-service end to end: users register, verify and tune highlights from IRC and SMS."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from fake_twilio import TEST_AUTH_TOKEN, FakeTwilio, twilio_signature
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    Highlightd,
    code_in,
    until_metric,
)
from scene import SceneFactory, settled
from servers import IrcTestClient

pytestmark = pytest.mark.timeout(60)


class Clock:
    """Real time, plus whatever a test adds: for codes that must expire."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Desk:
    hl: Highlightd
    alice: IrcTestClient
    bob: IrcTestClient
    twilio: FakeTwilio
    clock: Clock

    async def ask(self, client: IrcTestClient, text: str) -> str:
        """A private message to the bot; its NOTICE answer."""
        await client.privmsg(BOT, text)
        line = await client.expect(lambda line: line.command == "NOTICE" and line.nick == BOT)
        return line.text

    async def registered(self) -> None:
        """alice registers and verifies her phone, the whole way."""
        answer = await self.ask(self.alice, f"REGISTER {ALICE_PHONE}")
        assert "I texted a code to +1•••••0001" in answer
        code = code_in((await self.twilio.wait_for_messages(1))[-1].body)
        assert (await self.ask(self.alice, f"verify {code}")).startswith("done:")


@pytest.fixture
async def desk(scene: SceneFactory) -> AsyncIterator[Desk]:
    """Nobody registered yet; alice and bob in #chan with the bot."""
    clock = Clock()
    async with scene(users={}, clock=clock) as s:
        yield Desk(s.hl, s.alice, s.bob, s.twilio, clock)


async def test_register_verify_then_a_mention_texts(desk: Desk) -> None:
    await desk.bob.privmsg(CHANNEL, "alice: before")  # not registered: nothing
    await desk.registered()
    [code_sms] = desk.twilio.messages
    assert code_sms.to == ALICE_PHONE
    assert code_sms.body.startswith("highlightd code for alice on testnet: ")
    await desk.bob.privmsg(CHANNEL, "alice: after")
    messages = await desk.twilio.wait_for_messages(2)
    assert messages[1].body == "[#chan] <bob> alice: after"
    status = await desk.ask(desk.alice, "STATUS")
    assert status == "alice on testnet: +1•••••0001, SMS on"


async def test_five_wrong_codes_drop_the_registration(desk: Desk) -> None:
    await desk.ask(desk.alice, f"REGISTER {ALICE_PHONE}")
    code = code_in((await desk.twilio.wait_for_messages(1))[0].body)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [await desk.ask(desk.alice, f"VERIFY {wrong}") for _ in range(5)]
    assert answers[0] == "wrong code; 4 tries left"
    assert answers[4] == "wrong code 5 times: the registration is dropped"
    answer = await desk.ask(desk.alice, f"VERIFY {code}")
    assert answer.startswith("no registration is waiting for alice")


async def test_expired_code_is_refused(desk: Desk) -> None:
    await desk.ask(desk.alice, f"REGISTER {ALICE_PHONE}")
    code = code_in((await desk.twilio.wait_for_messages(1))[0].body)
    desk.clock.offset = 601
    assert await desk.ask(desk.alice, f"VERIFY {code}") == (
        "that code has expired; REGISTER again for a new one"
    )


async def test_another_nick_cannot_verify_alices_code(desk: Desk) -> None:
    await desk.ask(desk.alice, f"REGISTER {ALICE_PHONE}")
    code = code_in((await desk.twilio.wait_for_messages(1))[0].body)
    answer = await desk.ask(desk.bob, f"VERIFY {code}")
    assert answer.startswith("no registration is waiting for bob")
    assert (await desk.ask(desk.alice, f"VERIFY {code}")).startswith("done:")


async def test_three_codes_a_day_per_phone(desk: Desk) -> None:
    for _ in range(3):
        assert "I texted a code" in await desk.ask(desk.alice, f"REGISTER {ALICE_PHONE}")
        desk.clock.offset += 601  # past the code's life: asking again sends a new one
    # bob connects from alice's host (127.0.0.1): to the code limits, the same requester.
    assert "had 3 codes today" in await desk.ask(desk.bob, f"REGISTER {ALICE_PHONE}")
    assert len(desk.twilio.messages) == 3


async def test_keywords_and_exceptions(desk: Desk) -> None:
    await desk.registered()
    assert await desk.ask(desk.alice, "KEYWORDS ADD deploy") == "keyword deploy added"
    assert await desk.ask(desk.alice, "keywords add -staging") == "exception staging added"
    await desk.bob.privmsg(CHANNEL, "deploy on staging now")  # the exception wins
    await desk.bob.privmsg(CHANNEL, "Deploy finished")
    await desk.twilio.wait_for_messages(2)
    messages = await settled(desk.hl, desk.twilio, send=1)
    assert [m.body for m in messages[1:]] == ["[#chan] <bob> Deploy finished"]
    status = await desk.ask(desk.alice, "KEYWORDS LIST")
    assert "keywords deploy; except staging" in status


async def test_mute_pause_and_resume(desk: Desk) -> None:
    await desk.registered()
    assert await desk.ask(desk.alice, "MUTE #chan") == "no SMS for highlights in #chan"
    await desk.bob.privmsg(CHANNEL, "alice: muted?")
    await until_metric(desk.hl, 'decision="muted_channel"')
    await desk.ask(desk.alice, "UNMUTE #chan")
    assert (await desk.ask(desk.alice, "PAUSE 2h")).startswith("paused until ")
    await desk.bob.privmsg(CHANNEL, "alice: paused?")
    await until_metric(desk.hl, 'decision="paused"')
    assert await desk.ask(desk.alice, "RESUME") == "resumed: highlights text you again"
    await desk.bob.privmsg(CHANNEL, "alice: back?")
    messages = await desk.twilio.wait_for_messages(2)
    assert messages[1].body == "[#chan] <bob> alice: back?"


async def test_quiet_hours_in_the_users_timezone_hold_highlights(desk: Desk) -> None:
    await desk.registered()
    tokyo = dt.datetime.now(ZoneInfo("Asia/Tokyo"))
    start = (tokyo - dt.timedelta(hours=1)).strftime("%H:%M")
    end = (tokyo + dt.timedelta(hours=1)).strftime("%H:%M")
    answer = await desk.ask(desk.alice, f"QUIET {start}-{end} Asia/Tokyo")
    assert answer == f"quiet hours {start}-{end} Asia/Tokyo: kept for a digest"
    await desk.bob.privmsg(CHANNEL, "alice: at night?")
    await until_metric(desk.hl, 'decision="quiet_hours"')
    assert await desk.ask(desk.alice, "QUIET OFF") == "quiet hours off"
    assert len(desk.twilio.messages) == 1  # the code only


async def test_stop_by_sms_stops_sms_and_is_not_relayed(desk: Desk) -> None:
    await desk.registered()
    await desk.bob.privmsg(CHANNEL, "alice: hi")
    await desk.twilio.wait_for_messages(2)
    await desk.hl.sms("STOP")
    await desk.bob.privmsg(CHANNEL, "alice: still there?")
    await until_metric(desk.hl, 'decision="opted_out"')
    assert "SMS off" in await desk.ask(desk.alice, "STATUS")
    await desk.hl.sms("START")
    await desk.hl.sms("#chan back on")
    line = await desk.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    assert line.text == "alice (SMS): back on"  # STOP and START never reached IRC
    assert not [r for r in desk.bob.received if r.nick == BOT and "STOP" in r.text]


async def test_twilio_21610_marks_the_user_opted_out(desk: Desk) -> None:
    await desk.registered()
    desk.twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    await desk.bob.privmsg(CHANNEL, "alice: one")
    await until_metric(desk.hl, 'highlightd_sms_sent_total{result="failed"}')
    await desk.bob.privmsg(CHANNEL, "alice: two")
    await until_metric(desk.hl, 'decision="opted_out"')
    assert len(desk.twilio.messages) == 1  # the code only


async def test_sms_pause_and_status_are_answered_by_sms(desk: Desk) -> None:
    await desk.registered()
    await desk.bob.privmsg(CHANNEL, "alice: there?")  # a relayed answer would now go to bob
    await desk.twilio.wait_for_messages(2)
    form = {"MessageSid": "SM" + "a" * 32, "From": ALICE_PHONE, "Body": "pause 2h"}
    async with desk.hl.http.post(
        desk.hl.base_url + "/twilio/sms", data=form, headers=_signed(desk.hl, form)
    ) as resp:
        assert resp.status == 200
        twiml = await resp.text()
    assert "<Message>highlightd: paused until " in twiml
    assert "(alice on testnet)</Message>" in twiml
    async with desk.hl.http.post(  # Twilio retrying the same MessageSid: no second answer
        desk.hl.base_url + "/twilio/sms", data=form, headers=_signed(desk.hl, form)
    ) as resp:
        assert resp.status == 200
        assert "<Message" not in await resp.text()
    # Answers reach IRC in the order they came: a relayed "pause 2h" would come first.
    await desk.hl.sms("#chan after the pause")
    await desk.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    said = [r.text for r in desk.bob.received if r.command == "PRIVMSG" and r.nick == BOT]
    assert said == ["alice (SMS): after the pause"]


async def test_highlights_follow_a_nick_change(desk: Desk) -> None:
    await desk.registered()
    await desk.alice.send_raw("NICK alice_lunch")
    await desk.bob.expect(lambda line: line.command == "NICK" and line.text == "alice_lunch")
    await desk.bob.privmsg(CHANNEL, "alice_lunch: enjoy")
    messages = await desk.twilio.wait_for_messages(2)
    assert messages[1].body == "[#chan] <bob> alice_lunch: enjoy"


async def test_unknown_command_and_help_answer(desk: Desk) -> None:
    assert await desk.ask(desk.alice, "frobnicate") == "unknown command FROBNICATE; try HELP"
    assert "REGISTER" in await desk.ask(desk.alice, "help")
    assert "not registered" in await desk.ask(desk.bob, "STATUS")


def _signed(hl: Highlightd, form: dict[str, str]) -> dict[str, str]:
    return {
        "X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, hl.base_url + "/twilio/sms", form)
    }
