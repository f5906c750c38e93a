"""Verification codes under attack, end to end: ngircd, the daemon, the fake Twilio API.

The attacker has an IRC client only: REGISTER costs the operator an SMS each time.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    CHANNEL,
    add_user,
    ask,
    code_in,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(60)

BOB_PHONE = "+12015550002"
# Where SMS pumping sends codes: UK premium rate, international networks (+882).
PUMPED = [f"+44907123{n:04d}" for n in range(10)]
PUMPED += [f"+8821612{n:04d}" for n in range(5)]  # VoIP on an international network
PUMPED += [f"+88212345{n:04d}" for n in range(5)]  # not a number phonenumbers knows


MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(
    tmp_path: Path, irc_server: IrcServer, redis_server: RedisServer, fake_twilio: FakeTwilio
) -> MakeSettings:
    def make(sms: dict[str, Any] | None = None, **policy: Any) -> Settings:
        data = settings_dict(
            tmp_path, irc_server, redis_server.url, fake_twilio, web_port(), **policy
        )
        data["sms"].update(sms or {})
        return Settings(**data)

    return make


@pytest.fixture
async def strangers(irc_server: IrcServer) -> AsyncIterator[Callable[..., Any]]:
    """Connect clients from 127.0.0.2: to the server (and the bot) another host."""
    clients: list[IrcTestClient] = []

    async def connect(nick: str) -> IrcTestClient:
        client = await IrcTestClient.connect(
            irc_server.host, irc_server.port, nick, local_host="127.0.0.2"
        )
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


async def test_twenty_registers_to_pumped_numbers_text_nothing_and_highlights_still_go(
    make_settings: MakeSettings, fake_twilio: FakeTwilio, irc_client_factory: IrcClientFactory
) -> None:
    # Any country may get codes here: the number types alone must stop the pumping.
    settings = make_settings(sms={"allowed_countries": []}, global_daily_segments=5)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    pumps = [await irc_client_factory(f"pump{n}") for n in range(len(PUMPED))]
    async with running(settings) as hl:
        await wait_for_bot(bob)
        answers = [
            await ask(pump, f"REGISTER {phone}") for pump, phone in zip(pumps, PUMPED, strict=True)
        ]
        await bob.privmsg(CHANNEL, "alice: the real thing")
        [sms] = await fake_twilio.wait_for_messages(1)
        assert sms.to == ALICE_PHONE
        assert sms.body == "[#chan] <bob> alice: the real thing"
        async with hl.http.get(hl.base_url + "/metrics") as resp:
            assert 'highlightd_sms_sent_total{result="sent"} 1.0' in await resp.text()
    assert all(
        "codes go only to mobile and landline" in a or "not a number I know" in a for a in answers
    ), answers
    assert "+44•••••0000 is a premium-rate number" in answers[0]
    assert fake_twilio.requests == 1  # not one code was even tried


async def test_numbers_of_other_countries_get_no_code_by_default(
    make_settings: MakeSettings, fake_twilio: FakeTwilio, irc_client_factory: IrcClientFactory
) -> None:
    settings = make_settings()  # no defaults.region: twilio.from_number's country (US)
    [alice] = await in_channel(irc_client_factory, "alice")
    async with running(settings):
        await wait_for_bot(alice)
        answer = await ask(alice, "REGISTER +33 6 12 34 56 78")
        assert answer == "+33•••••5678 is a number in FR; codes go only to numbers in US"
        assert "I texted a code" in await ask(alice, f"REGISTER {ALICE_PHONE}")
    assert [m.to for m in fake_twilio.messages] == [ALICE_PHONE]


async def test_the_owner_of_a_phone_others_asked_for_can_still_register_it(
    make_settings: MakeSettings,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
    strangers: Callable[..., Any],
) -> None:
    settings = make_settings()
    [alice] = await in_channel(irc_client_factory, "alice")  # from 127.0.0.1
    others = [await strangers(f"mallory{n}") for n in range(4)]  # from 127.0.0.2
    async with running(settings):
        await wait_for_bot(alice)
        for mallory in others[:3]:
            assert "I texted a code" in await ask(mallory, f"REGISTER {ALICE_PHONE}")
        # Another nick on the same host is the same requester: its share is spent.
        answer = await ask(others[3], f"REGISTER {ALICE_PHONE}")
        assert answer == "+1•••••0001 had 3 codes today; try tomorrow"
        # Not alice's share: she gets her code, and it works.
        assert "I texted a code" in await ask(alice, f"REGISTER {ALICE_PHONE}")
        messages = await fake_twilio.wait_for_messages(4)
        assert messages[3].body.startswith("highlightd code for alice on testnet: ")
        verified = await ask(alice, f"VERIFY {code_in(messages[3].body)}")
        assert verified.startswith("done: highlights of alice on testnet now text +1•••••0001")
    assert len(fake_twilio.messages) == 4


async def test_register_again_within_the_codes_life_sends_nothing(
    make_settings: MakeSettings, fake_twilio: FakeTwilio, irc_client_factory: IrcClientFactory
) -> None:
    settings = make_settings()
    [alice] = await in_channel(irc_client_factory, "alice")
    async with running(settings):
        await wait_for_bot(alice)
        assert "I texted a code" in await ask(alice, f"REGISTER {ALICE_PHONE}")
        again = await ask(alice, f"REGISTER {ALICE_PHONE}")
        assert re.fullmatch(
            r"a code was sent to \+1•••••0001 at \d\d:\d\d UTC; "
            r"VERIFY it, or REGISTER again after \d\d:\d\d UTC",
            again,
        ), again
        [code_sms] = await fake_twilio.wait_for_messages(1)
        assert (await ask(alice, f"VERIFY {code_in(code_sms.body)}")).startswith("done:")
    assert len(fake_twilio.messages) == 1


async def test_codes_spend_their_own_budget_not_the_highlights(
    make_settings: MakeSettings, fake_twilio: FakeTwilio, irc_client_factory: IrcClientFactory
) -> None:
    settings = make_settings(global_daily_segments=1, daily_codes=1)
    alice, bob = await in_channel(irc_client_factory, "alice", "bob")
    async with running(settings):
        await wait_for_bot(bob)
        assert "I texted a code" in await ask(alice, f"REGISTER {ALICE_PHONE}")
        [code_sms] = await fake_twilio.wait_for_messages(1)
        assert (await ask(alice, f"VERIFY {code_in(code_sms.body)}")).startswith("done:")
        # The code did not spend the one segment everyone may use today.
        await bob.privmsg(CHANNEL, "alice: still texted?")
        messages = await fake_twilio.wait_for_messages(2)
        assert messages[1].body == "[#chan] <bob> alice: still texted?"
        # And the codes' own budget (one a day) is spent: nobody gets another.
        answer = await ask(bob, f"REGISTER {BOB_PHONE}")
        assert answer == (
            "no more codes today: the daily limit for everyone is reached; try tomorrow"
        )
    assert len(fake_twilio.messages) == 2
