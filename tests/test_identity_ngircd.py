"""Whose highlights a nick reaches, on a network without accounts (ngircd): NICK into
someone's registered nick makes nobody else's phone ring, and moving or ending a
registration takes the registered phone's consent (README: "Who your highlights reach")."""

from __future__ import annotations

import pytest

from harness import ALICE_PHONE, CHANNEL, ask, code_in
from scene import Scene, SceneFactory
from servers import IrcTestClient

pytestmark = pytest.mark.timeout(60)

MALLORY_PHONE = "+12015550666"
USERS = {"alice": ALICE_PHONE, "mallory": MALLORY_PHONE}


async def renamed(s: Scene, client: IrcTestClient, new: str) -> None:
    """client takes nick new, and the bot has seen it (bob saw it after the bot)."""
    old = client.nick
    await client.send_raw(f"NICK {new}")
    await s.bob.expect(lambda line: line.command == "NICK" and line.nick == old)
    client.nick = new


async def test_nick_into_a_registered_nick_texts_only_its_owner(scene: SceneFactory) -> None:
    # alice is registered and offline; mallory registered her own nick.
    async with scene(users=USERS, clients=("bob", "mallory")) as s:
        mallory = s.clients["mallory"]
        await renamed(s, mallory, "alice")
        await s.bob.privmsg(CHANNEL, "alice: the door code is 4321")
        await s.twilio.wait_for_messages(1)
        [sms] = await s.settled(send=1)
        assert (sms.to, sms.body) == (ALICE_PHONE, "[#chan] <bob> alice: the door code is 4321")


async def test_a_rename_out_of_anothers_nick_is_not_followed(scene: SceneFactory) -> None:
    async with scene(users=USERS, clients=("bob", "mallory")) as s:
        mallory = s.clients["mallory"]
        await renamed(s, mallory, "alice")
        await renamed(s, mallory, "mal_decoy")
        await s.bob.privmsg(CHANNEL, "mal_decoy: psst")
        await s.bob.privmsg(CHANNEL, "alice: marker")
        await s.twilio.wait_for_messages(1)
        [sms] = await s.settled(send=1)
        assert (sms.to, sms.body) == (ALICE_PHONE, "[#chan] <bob> alice: marker")


async def test_mallory_talking_as_alice_does_not_make_alice_active(scene: SceneFactory) -> None:
    async with scene(users=USERS, clients=("bob", "mallory"), policy={"active_window": 300}) as s:
        mallory = s.clients["mallory"]
        await renamed(s, mallory, "alice")
        await mallory.privmsg(CHANNEL, "morning all, it is me")
        await s.bob.expect(lambda line: line.text == "morning all, it is me")
        await s.bob.privmsg(CHANNEL, "alice: are you there?")
        await s.twilio.wait_for_messages(1)
        [sms] = await s.settled(send=1)
        assert sms.to == ALICE_PHONE


async def test_holding_alice_shows_nothing_and_moves_nothing_without_her_phone(
    scene: SceneFactory,
) -> None:
    async with scene(users=USERS, clients=("bob", "mallory")) as s:
        mallory = s.clients["mallory"]
        await renamed(s, mallory, "alice")
        status = await ask(mallory, "STATUS")
        assert status.startswith("refused:") and "0001" not in status
        assert (await ask(mallory, "UNREGISTER")).startswith("refused:")
        assert (await ask(mallory, "KEYWORDS ADD door")).startswith("refused:")
        moving = await ask(mallory, f"REGISTER {MALLORY_PHONE}")
        assert "I texted a code to THAT phone" in moving
        [consent] = await s.twilio.wait_for_messages(1)
        assert consent.to == ALICE_PHONE  # the registered phone, never the new one
        assert "the phone ending 0666" in consent.body
        guess = "000000" if code_in(consent.body) != "000000" else "111111"
        assert (await ask(mallory, f"VERIFY {guess}")).startswith("wrong code")
        await s.bob.privmsg(CHANNEL, "alice: still yours")
        messages = await s.twilio.wait_for_messages(2)
        assert messages[1].to == ALICE_PHONE
        assert [m.to for m in s.twilio.messages] == [ALICE_PHONE, ALICE_PHONE]


async def test_with_the_registered_phones_code_the_move_happens(scene: SceneFactory) -> None:
    async with scene(users=USERS, clients=("bob", "mallory")) as s:
        mallory = s.clients["mallory"]
        await renamed(s, mallory, "alice")
        assert "THAT phone" in await ask(mallory, f"REGISTER {MALLORY_PHONE}")
        [consent] = await s.twilio.wait_for_messages(1)
        # alice agrees, and reads her code out to whoever asked.
        done = await ask(mallory, f"VERIFY {code_in(consent.body)}")
        assert done.startswith("done: highlights of alice on testnet now text +1•••••0666")
        await s.bob.privmsg(CHANNEL, "alice: moved")
        messages = await s.twilio.wait_for_messages(2)
        assert (messages[1].to, messages[1].body) == (MALLORY_PHONE, "[#chan] <bob> alice: moved")


async def test_unregister_takes_the_code_texted_to_the_registered_phone(
    scene: SceneFactory,
) -> None:
    async with scene() as s:
        answer = await ask(s.alice, "UNREGISTER")
        assert "I texted a code to +1•••••0001, the registered phone" in answer
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.to == ALICE_PHONE
        wrong = "000000" if code_in(sms.body) != "000000" else "111111"
        assert (await ask(s.alice, f"UNREGISTER {wrong}")).startswith("wrong code")
        assert (await ask(s.alice, f"VERIFY {code_in(sms.body)}")).startswith("wrong code")
        done = await ask(s.alice, f"UNREGISTER {code_in(sms.body)}")
        assert done == "alice is unregistered; no more SMS"
        assert "not registered" in await ask(s.alice, "STATUS")
